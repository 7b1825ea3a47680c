//! The foreign-key check after the migrations: scoped by the authorizer's write targets, never
//! skipped, and comparing violations across renames and rebuilds.

mod common;

use std::time::Duration;

use common::{PARENT_CHILD, apply_with, db, one, value};
use migrate_engine::{CheckPhase, Error, FkViolation, Recorder};
use rusqlite::Connection;

fn violations(result: Result<migrate_engine::Outcome, Error>) -> Vec<FkViolation> {
    match result {
        Err(Error::ForeignKeyViolation { violations, .. }) => violations,
        other => panic!("expected foreign key violations, got {other:?}"),
    }
}

fn children(conn: &Connection) -> i64 {
    value(conn, "SELECT count(*) FROM c")
}

fn parents(conn: &Connection) -> i64 {
    value(conn, "SELECT count(*) FROM p")
}

/// A plain orphan: refused, the violation names the column and the value.
#[test]
fn a_new_orphan_is_refused_with_its_column_and_value() {
    let mut conn = db(PARENT_CHILD);
    let v = violations(one(&mut conn, "DELETE FROM p WHERE id = 2;"));
    assert_eq!(v.len(), 1);
    assert_eq!((v[0].table.as_str(), v[0].rowid, v[0].parent.as_str()), ("c", Some(20), "p"));
    assert_eq!(
        (v[0].columns.clone(), v[0].values.clone()),
        (vec!["pid".to_owned()], vec!["2".to_owned()])
    );
    assert_eq!(v[0].to_string(), "c rowid 20 -> p (pid = 2)");
    assert_eq!(parents(&conn), 2, "rolled back");
}

/// Problem 4: bracket- and backtick-quoted, schema-qualified targets are the table itself.
#[test]
fn quoted_qualified_delete_targets_are_in_the_scope() {
    let setup = "CREATE TABLE accounts (id INTEGER PRIMARY KEY);\n\
        CREATE TABLE entries (id INTEGER PRIMARY KEY, account_id INTEGER REFERENCES accounts (id));\n\
        CREATE TABLE u1 (x); CREATE TABLE u2 (x); CREATE TABLE u3 (x); CREATE TABLE u4 (x);\n\
        INSERT INTO accounts VALUES (1), (2); INSERT INTO entries VALUES (1, 1), (2, 2);";
    for sql in [
        "DELETE FROM [main].[accounts] WHERE id = 1;",
        "DELETE FROM `main`.`accounts` WHERE id = 1;",
        "DELETE FROM \"main\" . \"accounts\" WHERE id = 1;",
        "WITH gone AS (SELECT 1 AS id) DELETE FROM accounts WHERE id IN gone;",
        "UPDATE [accounts] SET id = 5 WHERE id = 1;",
        "REPLACE INTO `accounts` (id) SELECT 1 + 10;\nDELETE FROM main.accounts WHERE id = 1;",
    ] {
        let mut conn = db(setup);
        let v = violations(one(&mut conn, sql));
        assert_eq!(v.len(), 1, "{sql}");
        assert_eq!(
            (v[0].table.as_str(), v[0].values.clone()),
            ("entries", vec!["1".to_owned()]),
            "{sql}"
        );
        let n: i64 = value(&conn, "SELECT count(*) FROM accounts");
        assert_eq!(n, 2, "{sql}: rolled back");
    }
}

/// Problem 9a: dropping and recreating a parent with identical text reuses its root page, so its
/// `sqlite_schema` entry looks untouched; the authorizer saw the DROP.
#[test]
fn a_parent_dropped_and_recreated_with_identical_text_is_checked() {
    let mut conn = db(PARENT_CHILD);
    let sql: String = value(&conn, "SELECT sql FROM sqlite_schema WHERE name = 'p'");
    let root: i64 = value(&conn, "SELECT rootpage FROM sqlite_schema WHERE name = 'p'");
    let v = violations(one(&mut conn, &format!("DROP TABLE p;\n{sql};\n")));
    assert_eq!(v.len(), 2);
    // The hole the old schema-diff scope had: same text, same root page.
    conn.execute_batch(&format!("BEGIN; DROP TABLE p; {sql};")).unwrap();
    let again: i64 = value(&conn, "SELECT rootpage FROM sqlite_schema WHERE name = 'p'");
    conn.execute_batch("ROLLBACK").unwrap();
    assert_eq!(again, root);
}

/// Problem 9b: a trigger created, fired and dropped inside the migration: its body's DELETE is
/// seen when the INSERT that fires it is prepared.
#[test]
fn a_trigger_created_and_dropped_inside_the_migration_is_checked() {
    let mut conn = db(PARENT_CHILD);
    let v = violations(one(
        &mut conn,
        "CREATE TRIGGER purge AFTER INSERT ON log BEGIN DELETE FROM p WHERE id = 1; END;\n\
         INSERT INTO log VALUES ('go');\nDROP TRIGGER purge;\n",
    ));
    assert_eq!((v.len(), v[0].rowid), (1, Some(10)));
    assert_eq!(parents(&conn), 2);
}

/// Problem 9c: a TEMP trigger deleting from `main.p` (the main schema holds no trigger at all).
#[test]
fn a_temp_trigger_writing_to_main_is_checked() {
    let mut conn = db(PARENT_CHILD);
    let v = violations(one(
        &mut conn,
        "CREATE TEMP TRIGGER purge AFTER INSERT ON log BEGIN DELETE FROM main.p; END;\n\
         INSERT INTO log VALUES ('go');\n",
    ));
    assert_eq!(v.len(), 2);
    assert_eq!(parents(&conn), 2);
}

/// Problem 9d: a pre-existing orphan is not new when its child table is renamed, when its parent
/// is renamed, or when a rebuild renumbers the foreign keys.
#[test]
fn old_violations_are_not_new_across_renames_and_rebuilds() {
    let orphan = format!("{PARENT_CHILD}INSERT INTO c VALUES (30, 99);");
    // Child renamed (and a parent row added, so the check runs over c2).
    let mut conn = db(&orphan);
    one(&mut conn, "INSERT INTO p VALUES (3);\nALTER TABLE c RENAME TO c2;").unwrap();
    let n: i64 = value(&conn, "SELECT count(*) FROM c2");
    assert_eq!(n, 3);
    // Parent renamed: the child's reference follows (legacy_alter_table is off), the orphan
    // now points at p2.
    let mut conn = db(&orphan);
    one(&mut conn, "ALTER TABLE p RENAME TO p2;").unwrap();
    let sql: String = value(&conn, "SELECT sql FROM sqlite_schema WHERE name = 'c'");
    assert!(sql.contains("\"p2\""), "{sql}");
    // A rebuild of the child that adds a foreign key after the existing one: SQLite numbers them
    // from the last, so the orphan's fk id goes from 0 to 1.
    let mut conn = db(&orphan);
    one(
        &mut conn,
        "CREATE TABLE u0 (id INTEGER PRIMARY KEY);\n\
         CREATE TABLE new_c (id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p (id), uid INTEGER REFERENCES u0 (id));\n\
         INSERT INTO new_c (id, pid) SELECT id, pid FROM c;\nDROP TABLE c;\nALTER TABLE new_c RENAME TO c;",
    )
    .unwrap();
    let fk: i64 = value(&conn, "SELECT fkid FROM pragma_foreign_key_check('c')");
    assert_eq!(fk, 1, "the id moved");
    // A new orphan next to the old one is still refused, and only it is listed.
    let mut conn = db(&orphan);
    let v = violations(one(&mut conn, "ALTER TABLE c RENAME TO c2;\nDELETE FROM p WHERE id = 1;"));
    assert_eq!((v.len(), v[0].table.as_str(), v[0].rowid), (1, "c2", Some(10)));
}

/// Counts its calls; on the second run of step 0 it writes an orphan, as a non-deterministic
/// migration (or recorder) could.
struct SneakyRecorder {
    calls: usize,
}

impl Recorder for SneakyRecorder {
    fn after_step(&mut self, conn: &Connection, i: usize, _: Duration) -> rusqlite::Result<()> {
        self.calls += 1;
        if i == 0 && self.calls == 2 {
            conn.execute_batch("INSERT INTO c VALUES (40, 77)")?;
        }
        Ok(())
    }
}

/// Problem 5: the re-applied run is checked again; what is committed is what was checked.
#[test]
fn the_reapplied_run_is_checked_again() {
    let orphan = format!("{PARENT_CHILD}INSERT INTO c VALUES (30, 99);");
    // The first check finds the pre-existing orphan only; the second run adds a new one.
    let mut conn = db(&orphan);
    let mut recorder = SneakyRecorder { calls: 0 };
    let v = violations(apply_with(
        &mut conn,
        &[("0001_m", "INSERT INTO p VALUES (3);")],
        &mut recorder,
    ));
    assert_eq!(recorder.calls, 2, "the recorder is called again for the second run");
    assert_eq!((v.len(), v[0].rowid, v[0].values.clone()), (1, Some(40), vec!["77".to_owned()]));
    assert_eq!(children(&conn), 3);
    // Without the sneaky write the same run commits, once.
    let mut conn = db(&orphan);
    let mut recorder = SneakyRecorder { calls: 10 };
    let outcome =
        apply_with(&mut conn, &[("0001_m", "INSERT INTO p VALUES (3);")], &mut recorder).unwrap();
    assert_eq!(outcome.applied.len(), 1);
    assert_eq!(parents(&conn), 3);
}

/// Problem 5: a baseline that cannot be checked is a refusal, not a warning. Before the run the
/// child references a parent column that is not unique ("foreign key mismatch"); the migration
/// makes it unique while an orphan exists.
#[test]
fn a_baseline_that_cannot_be_checked_is_a_refusal() {
    let mut conn = db("CREATE TABLE p (id INTEGER PRIMARY KEY, code TEXT);\n\
         CREATE TABLE c (id INTEGER PRIMARY KEY, pcode TEXT REFERENCES p (code));\n\
         INSERT INTO p VALUES (1, 'a'); INSERT INTO c VALUES (1, 'a'), (2, 'zz');");
    let err = one(&mut conn, "CREATE UNIQUE INDEX p_code ON p (code);").unwrap_err();
    let Error::ForeignKeyCheck { phase, source, .. } = &err else { panic!("{err:?}") };
    assert_eq!(*phase, CheckPhase::Before);
    assert!(source.to_string().contains("foreign key mismatch"), "{source}");
    let indexes: i64 = value(&conn, "SELECT count(*) FROM sqlite_schema WHERE type = 'index'");
    assert_eq!(indexes, 0, "rolled back");
}

/// A run that leaves a foreign key that cannot be enforced is refused (phase After).
#[test]
fn a_result_that_cannot_be_checked_is_a_refusal() {
    let mut conn = db("CREATE TABLE p (id INTEGER PRIMARY KEY, code TEXT);");
    let err =
        one(&mut conn, "CREATE TABLE c (id INTEGER PRIMARY KEY, pcode TEXT REFERENCES p (code));")
            .unwrap_err();
    assert!(matches!(err, Error::ForeignKeyCheck { phase: CheckPhase::After, .. }), "{err:?}");
}

/// Problem 10: a caller's `legacy_alter_table = ON` does not apply inside the run: the child's
/// reference follows the renamed parent, and the caller's setting is back afterwards.
#[test]
fn a_callers_legacy_alter_table_does_not_leak_into_the_run() {
    let mut conn = db(PARENT_CHILD);
    conn.pragma_update(None, "legacy_alter_table", true).unwrap();
    one(&mut conn, "ALTER TABLE p RENAME TO q;").unwrap();
    let sql: String = value(&conn, "SELECT sql FROM sqlite_schema WHERE name = 'c'");
    assert!(sql.contains("REFERENCES \"q\""), "{sql}");
    let legacy: i64 = value(&conn, "PRAGMA legacy_alter_table");
    assert_eq!(legacy, 1, "the caller's setting is restored");
    conn.execute_batch("PRAGMA foreign_keys = ON; INSERT INTO c VALUES (30, 1);").unwrap();
}
