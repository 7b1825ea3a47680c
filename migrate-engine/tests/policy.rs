//! The statement policy, decided by SQLite's authorizer: what is refused, what is not, and the
//! statement numbers of refusals and failures.

mod common;

use common::{db, one, refused, value};
use migrate_engine::Error;

/// Everything the old lexer refused is still refused, with SQLite's statement numbers (the old
/// `sql::scan_finds_transaction_control`).
#[test]
fn transaction_control_savepoints_and_attach_are_refused() {
    let cases: &[(&str, usize, &str)] = &[
        ("CREATE TABLE a(x);\nCOMMIT;", 2, "COMMIT"),
        ("begin immediate;", 1, "BEGIN"),
        ("END TRANSACTION", 1, "COMMIT"),
        ("ROLLBACK", 1, "ROLLBACK"),
        ("\u{feff}COMMIT", 1, "COMMIT"),
        ("SAVEPOINT s; RELEASE s;", 1, "SAVEPOINT"),
        ("RELEASE s", 1, "RELEASE"),
        ("ROLLBACK TO s", 1, "ROLLBACK TO"),
        ("ATTACH ':memory:' AS y", 1, "ATTACH"),
        ("DETACH y", 1, "DETACH"),
        ("PRAGMA foreign_keys = OFF;", 1, "PRAGMA foreign_keys"),
        ("pragma main.foreign_keys=0", 1, "PRAGMA foreign_keys"),
        ("PRAGMA \"main\".journal_mode=delete", 1, "PRAGMA journal_mode"),
        (
            "CREATE TABLE a(x);\n--> statement-breakpoint\nPRAGMA [cache_size] = 10;",
            2,
            "PRAGMA cache_size",
        ),
    ];
    for &(sql, statement, what) in cases {
        let mut conn = db("");
        assert_eq!(refused(one(&mut conn, sql)), (statement, what.to_owned()), "{sql}");
        let tables: i64 = value(&conn, "SELECT count(*) FROM sqlite_schema");
        assert_eq!(tables, 0, "{sql}: nothing stays");
    }
}

/// Problem 3: a quoted pragma name is the same pragma; the mode does not outlive the run.
#[test]
fn quoted_and_qualified_pragma_names_are_refused() {
    for sql in [
        "PRAGMA \"locking_mode\" = EXCLUSIVE",
        "PRAGMA main.\"locking_mode\" = EXCLUSIVE",
        "PRAGMA `locking_mode` = EXCLUSIVE",
        "PRAGMA [LOCKING_MODE] = EXCLUSIVE",
        "pragma \"main\".[locking_mode]=exclusive",
    ] {
        let mut conn = db("");
        assert_eq!(refused(one(&mut conn, sql)), (1, "PRAGMA locking_mode".to_owned()), "{sql}");
        let mode: String = value(&conn, "PRAGMA locking_mode");
        assert_eq!(mode, "normal", "{sql}");
    }
}

/// Problem 6b: the settings that change how later statements behave are refused.
#[test]
fn legacy_alter_table_and_writable_schema_are_refused() {
    for (sql, what) in [
        ("PRAGMA legacy_alter_table = ON", "PRAGMA legacy_alter_table"),
        ("PRAGMA main.legacy_alter_table=1", "PRAGMA legacy_alter_table"),
        ("PRAGMA writable_schema = ON", "PRAGMA writable_schema"),
        ("PRAGMA \"writable_schema\" = RESET", "PRAGMA writable_schema"),
        // Reading it through the table-valued function is refused too: fail closed.
        ("SELECT * FROM pragma_legacy_alter_table", "PRAGMA legacy_alter_table"),
    ] {
        let mut conn = db("");
        assert_eq!(refused(one(&mut conn, sql)), (1, what.to_owned()), "{sql}");
    }
    // The leak the issue describes: nothing of step 1 reaches step 2.
    let mut conn = db("CREATE TABLE p (id INTEGER PRIMARY KEY);");
    let err = common::apply(
        &mut conn,
        &[("0001_a", "PRAGMA legacy_alter_table = ON;"), ("0002_b", "ALTER TABLE p RENAME TO q;")],
    )
    .unwrap_err();
    assert!(matches!(&err, Error::Refused { tag, .. } if tag == "0001_a"), "{err:?}");
}

/// The allow-list: read-only introspection (also as table-valued functions), and the settings
/// that are the database's content.
#[test]
fn introspection_and_content_pragmas_are_allowed() {
    let mut conn = db("CREATE TABLE t (a INTEGER, b TEXT); CREATE TABLE cols (name TEXT);");
    one(
        &mut conn,
        "INSERT INTO cols SELECT name FROM pragma_table_info('t');\n\
         PRAGMA table_info(t);\nPRAGMA main.index_list('t');\nPRAGMA foreign_key_check;\n\
         PRAGMA quick_check;\nPRAGMA defer_foreign_keys = ON;\nPRAGMA user_version = 7;\n\
         PRAGMA application_id = 42;\nSELECT * FROM pragma_foreign_key_list('t');\nPRAGMA optimize;",
    )
    .unwrap();
    let n: i64 = value(&conn, "SELECT count(*) FROM cols");
    assert_eq!(n, 2);
    let v: i64 = value(&conn, "PRAGMA user_version");
    assert_eq!(v, 7);
}

/// Trigger bodies, strings, comments and quoted keywords are not statements (the old
/// `sql::scan_accepts_trigger_bodies_strings_and_comments`, minus `legacy_alter_table`, which is
/// now refused).
#[test]
fn trigger_bodies_strings_and_comments_are_accepted() {
    for sql in [
        "CREATE TABLE t(x); CREATE TABLE u(y); CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET x = CASE WHEN 1 THEN 2 ELSE 3 END; DELETE FROM u; END;\nCREATE TABLE z(a);",
        "CREATE TABLE t(x); CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END",
        "CREATE TABLE t(x); INSERT INTO t VALUES ('COMMIT; BEGIN');",
        "-- COMMIT;\nCREATE TABLE \"begin\"(x); /* ROLLBACK; */",
        "CREATE TABLE [end](x);",
        "PRAGMA defer_foreign_keys = ON",
        "\u{feff}CREATE TABLE t(x);",
        "",
        "-- only a comment\n",
    ] {
        let mut conn = db("");
        one(&mut conn, sql).unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    }
}

/// Problem 11: a trigger body with an unquoted column named `end` is SQL, so it runs.
#[test]
fn a_trigger_body_with_a_column_named_end_is_accepted() {
    let mut conn = db("");
    one(
        &mut conn,
        "CREATE TABLE ev (id INTEGER PRIMARY KEY, start INTEGER, end INTEGER);\n\
         --> statement-breakpoint\n\
         CREATE TRIGGER ev_end AFTER INSERT ON ev BEGIN\n\
           UPDATE ev SET end = start + 1 WHERE id = NEW.id;\n\
         END;\n\
         --> statement-breakpoint\n\
         INSERT INTO ev (id, start) VALUES (1, 5);\n",
    )
    .unwrap();
    let end: i64 = value(&conn, "SELECT end FROM ev WHERE id = 1");
    assert_eq!(end, 6);
}

/// VACUUM has no authorizer action; inside the runner's transaction it fails at once with SQLite's
/// own error, which names it.
#[test]
fn vacuum_fails_with_sqlites_own_error() {
    let mut conn = db("");
    let err = one(&mut conn, "CREATE TABLE a(x);\n--> statement-breakpoint\nVACUUM;").unwrap_err();
    let Error::Statement { statement, first_line, source, .. } = &err else {
        panic!("expected a statement error, got {err:?}")
    };
    assert_eq!((*statement, first_line.as_str()), (2, "VACUUM;"));
    assert!(source.to_string().contains("cannot VACUUM from within a transaction"), "{source}");
    let mut conn = db("");
    assert!(matches!(one(&mut conn, "VACUUM INTO 'x.db'"), Err(Error::Statement { .. })));
}

/// The statement numbers are SQLite's, across chunks; empty and comment-only statements do not
/// count (the old `sql::statement_count_agrees_with_sqlite`, now through the engine).
#[test]
fn statement_numbers_are_sqlites_across_chunks() {
    let sql = "-- header: allow-drop x\n\
        CREATE TABLE \"t;1\" (\"a\" TEXT DEFAULT 'x;y', \"b\" INTEGER);\n\
        --> statement-breakpoint\n\
        /* a comment; with a semicolon */ INSERT INTO \"t;1\" (\"a\") VALUES ('it''s; fine'), ('z');\n\
        CREATE TABLE [br;ack] (`x;y`);\n\
        CREATE TABLE \"log\" (\"m\" TEXT);\n\
        CREATE TRIGGER \"tr\" AFTER INSERT ON \"t;1\" WHEN CASE WHEN NEW.\"b\" IS NULL THEN 1 ELSE 0 END\n\
        BEGIN\n\
          INSERT INTO \"log\" VALUES (CASE NEW.\"a\" WHEN 'a' THEN 'begin' ELSE 'end' END);\n\
          UPDATE \"log\" SET \"m\" = 'commit;' WHERE \"m\" IS NULL;\n\
        END;\n\
        --> statement-breakpoint\n\
        ;;\n\
        CREATE VIEW \"v\" AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) SELECT i FROM n;\n\
        SELECT 'end;' -- trailing comment; here\n\
        ;\n\
        -- only a comment\n";
    let mut conn = db("");
    one(&mut conn, sql).unwrap();
    // The same text plus a failing statement: it is the eighth.
    for (tail, first_line) in [
        (
            "--> statement-breakpoint\n-- c\nINSERT INTO nope VALUES (1);\n",
            "INSERT INTO nope VALUES (1);",
        ),
        ("INSERT INTO \"log\" VALUES (1, 2);", "INSERT INTO \"log\" VALUES (1, 2);"),
        ("SAVEPOINT x;", "SAVEPOINT x;"),
    ] {
        let mut conn = db("");
        let err = one(&mut conn, &format!("{sql}{tail}")).unwrap_err();
        match &err {
            Error::Statement { statement, first_line: line, .. }
            | Error::Refused { statement, first_line: line, .. } => {
                assert_eq!((*statement, line.as_str()), (8, first_line), "{err:?}");
            }
            other => panic!("{other:?}"),
        }
    }
}

/// A failing statement: its number, its first line, SQLite's error as the source (and not in the
/// message), and nothing of the run stays.
#[test]
fn a_failing_statement_names_itself_and_rolls_back() {
    let mut conn = db("");
    let err =
        one(&mut conn, "CREATE TABLE a(x);\n\n-- why\nINSERT INTO nope\nVALUES (1);").unwrap_err();
    let Error::Statement { tag, statement, first_line, source } = &err else { panic!("{err:?}") };
    assert_eq!((tag.as_str(), *statement, first_line.as_str()), ("0001_m", 2, "INSERT INTO nope"));
    assert!(source.to_string().contains("no such table: nope"), "{source}");
    let message = err.to_string();
    assert_eq!(
        message,
        "migration 0001_m failed at statement 2 (INSERT INTO nope); nothing was applied"
    );
    let tables: i64 = value(&conn, "SELECT count(*) FROM sqlite_schema");
    assert_eq!(tables, 0);
}
