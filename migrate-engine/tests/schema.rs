//! The schema checks after the migrations: views compile, and SQLite's own check of triggers and
//! views, unless the schema was already broken before the run.

mod common;

use common::{db, one, value};
use migrate_engine::Error;

#[test]
fn a_broken_view_is_refused() {
    let mut conn = db("CREATE TABLE t (a, b); CREATE VIEW \"my view\" AS SELECT b FROM t;");
    let err = one(&mut conn, "DROP TABLE t;\nCREATE TABLE t (a);").unwrap_err();
    let Error::BrokenView { view, tags, .. } = &err else { panic!("{err:?}") };
    assert_eq!((view.as_str(), tags.as_str()), ("my view", "0001_m"));
    let sql: String = value(&conn, "SELECT sql FROM sqlite_schema WHERE name = 't'");
    assert!(sql.contains('b'), "rolled back: {sql}");
}

#[test]
fn a_trigger_left_pointing_at_a_dropped_table_is_refused() {
    let mut conn = db("CREATE TABLE t (a); CREATE TABLE audit (a);\n\
         CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO audit VALUES (NEW.a); END;");
    let err = one(&mut conn, "DROP TABLE audit;").unwrap_err();
    let Error::BrokenSchema { source, .. } = &err else { panic!("{err:?}") };
    assert!(source.to_string().contains("audit"), "{source}");
}

#[test]
fn a_schema_broken_before_the_run_is_not_the_runs_doing() {
    let mut conn = db("CREATE TABLE t (a); CREATE TABLE audit (a);\n\
         CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO audit VALUES (NEW.a); END;\n\
         PRAGMA legacy_alter_table = ON; DROP TABLE audit; PRAGMA legacy_alter_table = OFF;");
    one(&mut conn, "CREATE TABLE other (x);").unwrap();
}

/// A schema without views or triggers resolves trivially: a run that creates a trigger naming a
/// missing table is checked.
#[test]
fn a_new_trigger_naming_a_missing_table_is_refused() {
    let mut conn = db("");
    let err = one(
        &mut conn,
        "CREATE TABLE t (a);\nCREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO gone VALUES (1); END;",
    )
    .unwrap_err();
    assert!(matches!(err, Error::BrokenSchema { .. }), "{err:?}");
}
