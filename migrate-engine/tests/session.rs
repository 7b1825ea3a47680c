//! What the engine owns for the call and gives back on every path: the connection settings, the
//! authorizer, its savepoint; and what it expects of the caller.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use common::{PARENT_CHILD, apply, db, one, value};
use migrate_engine::{Error, Recorder, Step, apply_checked};
use rusqlite::Connection;

fn flags(conn: &Connection) -> (i64, i64) {
    (value(conn, "PRAGMA legacy_alter_table"), value(conn, "PRAGMA writable_schema"))
}

/// A caller's settings are forced off during the run and restored after it, on success and on
/// error.
#[test]
fn settings_are_restored_on_success_and_on_error() {
    let mut conn = db(PARENT_CHILD);
    conn.execute_batch("PRAGMA legacy_alter_table = ON; PRAGMA writable_schema = ON").unwrap();
    struct Seen(Vec<(i64, i64)>);
    impl Recorder for Seen {
        fn after_step(&mut self, conn: &Connection, _: usize, _: Duration) -> rusqlite::Result<()> {
            self.0.push(flags(conn));
            Ok(())
        }
    }
    let mut seen = Seen(Vec::new());
    common::apply_with(&mut conn, &[("0001_a", "CREATE TABLE x (a);")], &mut seen).unwrap();
    assert_eq!(seen.0, [(0, 0)], "off during the run");
    assert_eq!(flags(&conn), (1, 1));
    assert!(matches!(one(&mut conn, "COMMIT"), Err(Error::Refused { .. })));
    assert_eq!(flags(&conn), (1, 1));
    assert!(matches!(one(&mut conn, "INSERT INTO nope VALUES (1)"), Err(Error::Statement { .. })));
    assert_eq!(flags(&conn), (1, 1));
}

/// A panic inside the run (here in the recorder) still restores the settings and removes the
/// authorizer: afterwards the connection runs what the policy refuses.
#[test]
fn a_panic_restores_the_connection() {
    struct Panics;
    impl Recorder for Panics {
        fn after_step(&mut self, _: &Connection, _: usize, _: Duration) -> rusqlite::Result<()> {
            panic!("recorder failed");
        }
    }
    let mut conn = db("");
    conn.execute_batch("PRAGMA legacy_alter_table = ON").unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    let steps = [Step { tag: "0001_a", sql: "CREATE TABLE x (a);" }];
    let result = catch_unwind(AssertUnwindSafe(|| apply_checked(&mut conn, &steps, &mut Panics)));
    assert!(result.is_err());
    // The savepoint was rolled back and released while unwinding.
    let tables: i64 = value(&conn, "SELECT count(*) FROM sqlite_schema");
    assert_eq!(tables, 0);
    conn.execute_batch("ROLLBACK").unwrap();
    assert_eq!(flags(&conn), (1, 0));
    conn.execute_batch("BEGIN; SAVEPOINT s; RELEASE s; PRAGMA cache_size = 10; COMMIT").unwrap();
}

/// The engine's own error paths leave the caller's earlier work in its transaction alone.
#[test]
fn an_error_rolls_back_to_the_engines_savepoint_only() {
    let mut conn = db("CREATE TABLE ledger (tag TEXT);");
    conn.execute_batch("BEGIN IMMEDIATE; INSERT INTO ledger VALUES ('caller');").unwrap();
    let steps = [Step {
        tag: "0001_a",
        sql: "CREATE TABLE x (a);\nINSERT INTO ledger VALUES ('m');\nBEGIN;",
    }];
    let err = apply_checked(&mut conn, &steps, &mut ()).unwrap_err();
    assert!(matches!(err, Error::Refused { statement: 3, .. }), "{err:?}");
    let rows: Vec<String> = {
        let mut stmt = conn.prepare("SELECT tag FROM ledger").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
    };
    assert_eq!(rows, ["caller"]);
    conn.execute_batch("COMMIT").unwrap();
}

/// The caller must have begun a transaction and switched foreign keys off.
#[test]
fn the_callers_preconditions_are_checked() {
    let mut conn = db("");
    let steps = [Step { tag: "0001_a", sql: "CREATE TABLE x (a);" }];
    assert!(matches!(apply_checked(&mut conn, &steps, &mut ()), Err(Error::NotInTransaction)));
    conn.execute_batch("PRAGMA foreign_keys = ON; BEGIN").unwrap();
    assert!(matches!(apply_checked(&mut conn, &steps, &mut ()), Err(Error::ForeignKeysOn)));
    conn.execute_batch("ROLLBACK; PRAGMA foreign_keys = OFF; BEGIN").unwrap();
    // Nothing to apply: nothing is read or written.
    assert_eq!(apply_checked(&mut conn, &[], &mut ()).unwrap().applied, []);
    conn.execute_batch("ROLLBACK").unwrap();
}

/// Problem 3 on a real file: the refused `locking_mode` does not hold another connection out.
#[test]
fn a_refused_locking_mode_leaves_a_file_database_shared() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let mut conn = Connection::open(&path).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = OFF; CREATE TABLE t (x);").unwrap();
    let err = apply(
        &mut conn,
        &[
            ("0001_a", "INSERT INTO t VALUES (1);"),
            ("0002_b", "PRAGMA \"locking_mode\" = EXCLUSIVE;\nINSERT INTO t VALUES (2);"),
        ],
    )
    .unwrap_err();
    assert!(matches!(&err, Error::Refused { tag, statement: 1, .. } if tag == "0002_b"), "{err:?}");
    let other = Connection::open(&path).unwrap();
    other.execute_batch("INSERT INTO t VALUES (3)").unwrap();
    let n: i64 = value(&other, "SELECT count(*) FROM t");
    assert_eq!(n, 1);
}

/// The recorder runs after each step inside the savepoint, outside the policy; its error stops
/// the run with its phase and tag.
#[test]
fn the_recorder_runs_after_each_step_and_its_error_stops_the_run() {
    struct Ledger;
    impl Recorder for Ledger {
        fn after_step(&mut self, conn: &Connection, i: usize, _: Duration) -> rusqlite::Result<()> {
            conn.execute("INSERT INTO ledger VALUES (?1)", [i64::try_from(i).unwrap()])?;
            Ok(())
        }
    }
    let mut conn = db("CREATE TABLE ledger (i INTEGER NOT NULL UNIQUE);");
    let outcome = common::apply_with(
        &mut conn,
        &[("0001_a", "CREATE TABLE a (x);"), ("0002_b", "CREATE TABLE b (x);")],
        &mut Ledger,
    )
    .unwrap();
    let tags: Vec<&str> = outcome.applied.iter().map(|a| a.tag.as_str()).collect();
    assert_eq!(tags, ["0001_a", "0002_b"]);
    let n: i64 = value(&conn, "SELECT count(*) FROM ledger");
    assert_eq!(n, 2);
    let err = common::apply_with(&mut conn, &[("0003_c", "CREATE TABLE c (x);")], &mut Ledger)
        .unwrap_err();
    let Error::Sqlite { phase, tag, .. } = &err else { panic!("{err:?}") };
    assert_eq!((*phase, tag.as_deref()), (migrate_engine::Phase::Record, Some("0003_c")));
}

/// A trigger's `RAISE(ROLLBACK, ..)` (or an I/O error) ends the caller's transaction inside the
/// statement: SQLite rolled everything back, the error is the statement's, and the connection is
/// in autocommit (the caller checks before rolling back).
#[test]
fn a_statement_that_rolls_back_the_transaction_is_the_statements_error() {
    let mut conn = db("CREATE TABLE keep (x); INSERT INTO keep VALUES (1);");
    conn.execute_batch("PRAGMA legacy_alter_table = ON").unwrap();
    conn.execute_batch("BEGIN IMMEDIATE; INSERT INTO keep VALUES (2);").unwrap();
    let sql = "CREATE TABLE t (x);\n\
               CREATE TRIGGER no BEFORE INSERT ON t BEGIN SELECT RAISE(ROLLBACK, 'not today'); END;\n\
               INSERT INTO t VALUES (1);\nCREATE TABLE later (y);";
    let err = apply_checked(&mut conn, &[Step { tag: "0001_a", sql }], &mut ()).unwrap_err();
    let Error::Statement { statement, source, .. } = &err else { panic!("{err:?}") };
    assert_eq!(*statement, 3);
    assert!(source.to_string().contains("not today"), "{source}");
    assert!(conn.is_autocommit());
    let n: i64 = value(&conn, "SELECT count(*) FROM keep");
    assert_eq!(n, 1, "the whole transaction was rolled back");
    assert_eq!(flags(&conn), (1, 0), "settings restored");
}
