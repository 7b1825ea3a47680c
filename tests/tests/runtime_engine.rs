//! The runtime applies through `migrate_engine` (issue 11): each problem the engine fixes, once
//! end to end through `migrate_runtime::migrate` (or `Database::from_connection`) on a real file,
//! proving the runtime runs the engine and nothing of its own. The engine's own tests cover the
//! cases in depth.

mod runtime_support;

use migrate_runtime::rusqlite::Connection;
use migrate_runtime::{ApplyError, Database, Error, Migration, Options};
use runtime_support::migrations;

/// A database file in its own temp dir, migrated with `base` through `migrate_runtime::migrate`.
struct Db {
    _dir: tempfile::TempDir,
    conn: Connection,
}

fn db(base: &[(&str, &str)]) -> Db {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = Connection::open(dir.path().join("app.db")).unwrap();
    conn.pragma_update(None, "foreign_keys", true).unwrap();
    migrate_runtime::migrate(&mut conn, migrations(base)).unwrap();
    Db { _dir: dir, conn }
}

impl Db {
    fn migrate(&mut self, m: &[Migration]) -> Result<migrate_runtime::Report, Error> {
        migrate_runtime::migrate(&mut self.conn, m)
    }

    fn count(&self, sql: &str) -> i64 {
        self.conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    fn ledger_len(&self) -> i64 {
        self.count("SELECT count(*) FROM \"__schema_migrations\"")
    }
}

/// The new violations of a refused run, as `(child, rowid, parent)`, sorted.
fn violations(err: &Error) -> Vec<(String, Option<i64>, String)> {
    let Error::Apply(ApplyError::ForeignKeyViolation { violations, .. }) = err else {
        panic!("expected ForeignKeyViolation, got {err:?}")
    };
    let mut out: Vec<_> =
        violations.iter().map(|v| (v.table.clone(), v.rowid, v.parent.clone())).collect();
    out.sort();
    out
}

/// Tables nobody touches, so the foreign-key check after a small run is scoped (it reads the
/// whole database once a run touches half the tables).
const UNRELATED: &str = "CREATE TABLE \"u1\" (\"x\");\n--> statement-breakpoint\nCREATE TABLE \"u2\" (\"x\");\n--> statement-breakpoint\nCREATE TABLE \"u3\" (\"x\");\n--> statement-breakpoint\nCREATE TABLE \"u4\" (\"x\");\n";

const ACCOUNTS: &str = "CREATE TABLE \"accounts\" (\"id\" INTEGER PRIMARY KEY);\n--> statement-breakpoint\nCREATE TABLE \"entries\" (\"id\" INTEGER PRIMARY KEY, \"account_id\" INTEGER REFERENCES \"accounts\" (\"id\"));\n--> statement-breakpoint\nINSERT INTO \"accounts\" VALUES (1), (2);\n--> statement-breakpoint\nINSERT INTO \"entries\" VALUES (10, 1), (20, 2);\n";

/// Problem 2: a CRLF checkout executes the normalised text, so a multi-line string literal
/// stores `\n`, the text the hash covers.
#[test]
fn a_crlf_migration_stores_lf_in_rows() {
    let mut d = db(&[]);
    let crlf = "CREATE TABLE \"notes\" (\"body\" TEXT);\r\n--> statement-breakpoint\r\nINSERT INTO \"notes\" VALUES ('first line\r\nsecond line');\r\n";
    let m = migrations(&[("0000_notes", crlf)]);
    assert_eq!(m[0].hash, migrations(&[("0000_notes", &crlf.replace("\r\n", "\n"))])[0].hash);
    d.migrate(m).unwrap();
    let body: String = d.conn.query_row("SELECT body FROM notes", [], |r| r.get(0)).unwrap();
    assert_eq!(body, "first line\nsecond line");
}

/// Problem 4: write targets come from SQLite, so a bracket- or backtick-quoted, schema-qualified
/// DELETE of a parent puts it in the foreign-key check's scope.
#[test]
fn a_quoted_qualified_delete_of_a_parent_is_checked() {
    let base = [("0000_accounts", ACCOUNTS), ("0001_unrelated", UNRELATED)];
    for delete in [
        "DELETE FROM [main].[accounts] WHERE [id] = 1;\n",
        "DELETE FROM `main`.`accounts` WHERE `id` = 1;\n",
        "DELETE FROM main . \"accounts\" WHERE id = 1;\n",
    ] {
        let mut d = db(&base);
        let err = d.migrate(migrations(&[base[0], base[1], ("0002_delete", delete)])).unwrap_err();
        assert_eq!(violations(&err), [("entries".into(), Some(10), "accounts".into())], "{delete}");
        assert!(err.to_string().contains("entries rowid 10 -> accounts (account_id = 1)"), "{err}");
        assert_eq!(d.count("SELECT count(*) FROM accounts"), 2, "rolled back");
        assert_eq!(d.ledger_len(), 2);
    }
}

/// Problem 6: one breakpoint rule (the whole line, nothing around it). A spaced breakpoint line
/// inside a comment is comment, so the DELETE it seems to separate never runs; inside a string
/// literal it is content.
#[test]
fn a_spaced_breakpoint_line_is_content_not_a_split() {
    let base = [(
        "0000_t",
        "CREATE TABLE \"t\" (\"v\" TEXT);\n--> statement-breakpoint\nINSERT INTO \"t\" VALUES ('keep');\n",
    )];
    let mut d = db(&base);
    let comment = "/* a note\n  --> statement-breakpoint\nDELETE FROM \"t\"; -- */\nCREATE TABLE \"u\" (\"x\");\n";
    d.migrate(migrations(&[base[0], ("0001_comment", comment)])).unwrap();
    assert_eq!(d.count("SELECT count(*) FROM t"), 1, "the commented-out DELETE did not run");
    assert_eq!(d.count("SELECT count(*) FROM sqlite_schema WHERE name = 'u'"), 1);
    let literal = "INSERT INTO \"t\" VALUES ('a\n --> statement-breakpoint \nb');\n";
    d.migrate(migrations(&[base[0], ("0001_comment", comment), ("0002_literal", literal)]))
        .unwrap();
    let v: String =
        d.conn.query_row("SELECT v FROM t WHERE v <> 'keep'", [], |r| r.get(0)).unwrap();
    assert_eq!(v, "a\n --> statement-breakpoint \nb");
}

/// Problem 9: orphans the old scope guessing missed, and old violations it counted as new.
#[test]
fn the_foreign_key_check_sees_what_the_run_really_did() {
    let base = [("0000_accounts", ACCOUNTS), ("0001_unrelated", UNRELATED)];
    // The parent dropped and recreated with identical text (its root page is reused).
    let recreate = "DROP TABLE \"accounts\";\n--> statement-breakpoint\nCREATE TABLE \"accounts\" (\"id\" INTEGER PRIMARY KEY);\n--> statement-breakpoint\nINSERT INTO \"accounts\" VALUES (2);\n";
    let mut d = db(&base);
    let err = d.migrate(migrations(&[base[0], base[1], ("0002_recreate", recreate)])).unwrap_err();
    assert_eq!(violations(&err), [("entries".into(), Some(10), "accounts".into())]);
    assert_eq!(d.count("SELECT count(*) FROM accounts"), 2, "rolled back");
    // A TEMP trigger (invisible in main's schema) deleting from main.accounts.
    let temp_trigger = "CREATE TEMP TABLE \"poke\" (\"id\" INTEGER);\n--> statement-breakpoint\nCREATE TEMP TRIGGER \"poke_ai\" AFTER INSERT ON \"poke\" BEGIN DELETE FROM main.\"accounts\" WHERE \"id\" = NEW.\"id\"; END;\n--> statement-breakpoint\nINSERT INTO \"poke\" VALUES (2);\n--> statement-breakpoint\nDROP TABLE \"poke\";\n";
    let err = d.migrate(migrations(&[base[0], base[1], ("0002_temp", temp_trigger)])).unwrap_err();
    assert_eq!(violations(&err), [("entries".into(), Some(20), "accounts".into())]);
    assert_eq!(d.count("SELECT count(*) FROM accounts"), 2, "rolled back");
    // A violation that was already there, in a child the run renames, is not new.
    d.conn
        .execute_batch("PRAGMA foreign_keys = OFF; INSERT INTO entries VALUES (30, 99);")
        .unwrap();
    let rename = "ALTER TABLE \"entries\" RENAME TO \"ledger_entries\";\n";
    let report =
        d.migrate(migrations(&[base[0], base[1], ("0002_rename_entries", rename)])).unwrap();
    assert_eq!(report.applied.len(), 1);
    assert_eq!(d.count("SELECT count(*) FROM pragma_foreign_key_check"), 1);
}

/// Problem 10: a caller's connection with `legacy_alter_table=ON` does not make a RENAME leave
/// the child pointing at the old name; the caller's setting is back afterwards.
#[test]
fn a_callers_legacy_alter_table_does_not_reach_the_migrations() {
    let dir = tempfile::tempdir().unwrap();
    let conn = Connection::open(dir.path().join("app.db")).unwrap();
    conn.pragma_update(None, "legacy_alter_table", true).unwrap();
    let m = migrations(&[
        (
            "0000_p_c",
            "CREATE TABLE \"p\" (\"id\" INTEGER PRIMARY KEY);\n--> statement-breakpoint\nCREATE TABLE \"c\" (\"id\" INTEGER PRIMARY KEY, \"pid\" INTEGER REFERENCES \"p\" (\"id\"));\n",
        ),
        ("0001_rename_p", "ALTER TABLE \"p\" RENAME TO \"q\";\n"),
    ]);
    let db = Database::from_connection(conn, m, &Options::new()).unwrap();
    assert_eq!(db.report().applied.len(), 2);
    let child: String = db
        .conn()
        .query_row("SELECT sql FROM sqlite_schema WHERE name = 'c'", [], |r| r.get(0))
        .unwrap();
    assert!(child.contains("REFERENCES \"q\""), "{child}");
    db.conn().execute_batch("INSERT INTO q VALUES (1); INSERT INTO c VALUES (1, 1);").unwrap();
    let legacy: i64 = db.conn().query_row("PRAGMA legacy_alter_table", [], |r| r.get(0)).unwrap();
    assert_eq!(legacy, 1, "the caller's setting is restored");
}
