//! Helpers shared by the engine's integration tests.

#![allow(dead_code)]

use migrate_engine::{Error, Outcome, Recorder, Step, apply_checked};
use rusqlite::Connection;

/// An in-memory database with foreign keys off, as the callers prepare it.
pub fn db(setup: &str) -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
    conn.execute_batch(setup).unwrap();
    conn
}

/// Applies `(tag, sql)` steps the way the callers do: BEGIN IMMEDIATE, the engine, COMMIT on
/// success and ROLLBACK on error (after checking the engine left the transaction open).
pub fn apply(conn: &mut Connection, steps: &[(&str, &str)]) -> Result<Outcome, Error> {
    apply_with(conn, steps, &mut ())
}

/// [`apply`] with a recorder.
pub fn apply_with(
    conn: &mut Connection,
    steps: &[(&str, &str)],
    recorder: &mut dyn Recorder,
) -> Result<Outcome, Error> {
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    let steps: Vec<Step<'_>> = steps.iter().map(|&(tag, sql)| Step { tag, sql }).collect();
    let result = apply_checked(conn, &steps, recorder);
    assert!(!conn.is_autocommit(), "the engine never ends the caller's transaction");
    // The engine released its savepoint on every path.
    assert!(conn.execute_batch("RELEASE \"godwit_run\"").is_err(), "savepoint left behind");
    if result.is_ok() {
        conn.execute_batch("COMMIT").unwrap();
    } else {
        conn.execute_batch("ROLLBACK").unwrap();
    }
    result
}

/// One step.
pub fn one(conn: &mut Connection, sql: &str) -> Result<Outcome, Error> {
    apply(conn, &[("0001_m", sql)])
}

/// A single integer or text from a query.
pub fn value<T: rusqlite::types::FromSql>(conn: &Connection, sql: &str) -> T {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// `what` of a refusal, or a panic naming the error.
pub fn refused(result: Result<Outcome, Error>) -> (usize, String) {
    match result {
        Err(Error::Refused { statement, what, .. }) => (statement, what),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Parent `p`, child `c` (`pid` references `p`), and unrelated tables so that touching one
/// or two tables keeps the foreign-key check scoped (at least half the tables touched means a
/// whole-database pass).
pub const PARENT_CHILD: &str = "\
    CREATE TABLE p (id INTEGER PRIMARY KEY);\n\
    CREATE TABLE c (id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p (id));\n\
    CREATE TABLE log (m TEXT);\n\
    CREATE TABLE u1 (x); CREATE TABLE u2 (x); CREATE TABLE u3 (x); CREATE TABLE u4 (x);\n\
    INSERT INTO p VALUES (1), (2);\n\
    INSERT INTO c VALUES (10, 1), (20, 2);\n";
