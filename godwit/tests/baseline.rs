//! `godwit baseline` run as a process: existing databases adopted (or refused) and then
//! migrated by the real runtime.

mod common;

use std::fs;
use std::path::PathBuf;

use common::App;
use rusqlite::Connection;

/// A database made without Godwit: the first `n` migration files run as plain SQL, no ledger.
fn legacy(app: &App, name: &str, n: usize) -> PathBuf {
    let path = app.dir().join(name);
    let conn = Connection::open(&path).unwrap();
    for m in &app.runtime_migrations()[..n] {
        conn.execute_batch(m.sql).unwrap();
    }
    conn.execute_batch("INSERT INTO users (email) VALUES ('a@x'), ('b@x')").unwrap();
    path
}

/// `idx, tag, hash, chain, duration_ms >= 0` of one ledger row.
type LedgerRow = (i64, String, String, String, i64);

fn has_ledger(path: &std::path::Path) -> bool {
    Connection::open(path)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = '__schema_migrations'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
        == 1
}

#[test]
fn a_matching_database_is_baselined_and_the_runtime_accepts_it() {
    let app = App::v3();
    let db = legacy(&app, "legacy.db", 3);
    let before = fs::read(&db).unwrap();
    let run = app.godwit(&["baseline", "legacy.db", "--dry-run"]);
    assert_eq!(run.code, 0, "{}", run.shown());
    assert!(run.stdout.contains("nothing was written"), "{}", run.stdout);
    assert_eq!(fs::read(&db).unwrap(), before, "a dry run writes nothing");
    let run = app.godwit(&["baseline", "legacy.db"]);
    assert_eq!(run.code, 0, "{}", run.shown());
    snap!("baseline_ok", run);
    let status = app.godwit(&["status", "--db", "legacy.db"]);
    assert_eq!(status.code, 0, "{}", status.shown());
    assert!(status.stdout.contains("3 applied, 0 pending"), "{}", status.stdout);
    let mut conn = Connection::open(&db).unwrap();
    let all = app.runtime_migrations();
    migrate_runtime::verify(&conn, &all).unwrap();
    let report = migrate_runtime::migrate(&mut conn, &all).unwrap();
    assert!(report.is_empty(), "{report:?}");
    let rows: i64 = conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0)).unwrap();
    assert_eq!(rows, 2, "every row kept");
}

#[test]
fn baselined_at_an_older_migration_the_runtime_applies_the_rest() {
    let app = App::v3();
    let db = legacy(&app, "old.db", 1);
    let run = app.godwit(&["baseline", "old.db", "--to", "0"]);
    assert_eq!(run.code, 0, "{}", run.shown());
    assert!(run.stdout.contains("2 migrations after it will be applied"), "{}", run.stdout);
    let mut conn = Connection::open(&db).unwrap();
    let report = migrate_runtime::migrate(&mut conn, &app.runtime_migrations()).unwrap();
    let tags: Vec<&str> = report.applied.iter().map(|m| m.tag).collect();
    assert_eq!(tags, ["0001_add_users_bio_and_index_users_bio", "0002_user_emails"]);
    let bio: i64 = conn
        .query_row("SELECT count(*) FROM pragma_table_info('users') WHERE name = 'bio'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(bio, 1);
}

#[test]
fn the_ledger_is_the_runtimes() {
    let app = App::v3();
    let db = legacy(&app, "legacy.db", 3);
    assert_eq!(app.godwit(&["baseline", "legacy.db"]).code, 0);
    let by_runtime = app.database("managed.db", 3);
    let ledger = |path: &PathBuf| -> (String, Vec<LedgerRow>) {
        let conn = Connection::open(path).unwrap();
        let sql = conn
            .query_row(
                "SELECT sql FROM sqlite_schema WHERE name = '__schema_migrations'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let rows = conn
            .prepare("SELECT idx, tag, hash, chain, duration_ms >= 0 FROM __schema_migrations ORDER BY idx")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        (sql, rows)
    };
    assert_eq!(ledger(&db), ledger(&by_runtime));
}

#[test]
fn a_different_schema_is_refused_showing_the_differences() {
    let app = App::v3();
    let db = legacy(&app, "drifted.db", 3);
    Connection::open(&db)
        .unwrap()
        .execute_batch("ALTER TABLE users ADD COLUMN nickname TEXT; DROP VIEW user_emails;")
        .unwrap();
    let before = fs::read(&db).unwrap();
    let run = app.godwit(&["baseline", "drifted.db"]);
    assert_eq!(run.code, 1, "{}", run.shown());
    assert!(run.stdout.contains("table users: unexpected column nickname"), "{}", run.stdout);
    assert!(run.stdout.contains("missing view user_emails"), "{}", run.stdout);
    assert!(!has_ledger(&db));
    assert_eq!(fs::read(&db).unwrap(), before, "nothing written");
    snap!("baseline_refused", run);
}

#[test]
fn an_older_database_is_refused_at_the_latest_migration() {
    let app = App::v3();
    let db = legacy(&app, "old.db", 1);
    let run = app.godwit(&["baseline", "old.db"]);
    assert_eq!(run.code, 1, "{}", run.shown());
    assert!(run.stdout.contains("missing column bio"), "{}", run.stdout);
    assert!(run.stdout.contains("--to TAG"), "{}", run.stdout);
    assert!(!has_ledger(&db));
}

#[test]
fn usage_errors_exit_2() {
    let app = App::v3();
    app.database("managed.db", 3);
    let run = app.godwit(&["baseline", "managed.db"]);
    assert_eq!(run.code, 2, "{}", run.shown());
    snap!("baseline_already_managed", run);
    legacy(&app, "legacy.db", 3);
    let run = app.godwit(&["baseline", "legacy.db", "--to", "0009_nope"]);
    assert_eq!(run.code, 2, "{}", run.shown());
    snap!("baseline_unknown_target", run);
    let run = app.godwit(&["baseline", "missing.db"]);
    assert_eq!(run.code, 2, "{}", run.shown());
    assert!(!app.dir().join("missing.db").exists());
    let run = app.godwit(&["baseline"]);
    assert_eq!(run.code, 2, "{}", run.shown());
}

#[test]
fn an_edited_folder_or_an_empty_one_is_refused() {
    let app = App::v3();
    let db = legacy(&app, "legacy.db", 3);
    let file = app.migrations().join("0001_add_users_bio_and_index_users_bio.sql");
    let text = fs::read_to_string(&file).unwrap();
    fs::write(&file, format!("{text}-- edited\n")).unwrap();
    let run = app.godwit(&["baseline", "legacy.db"]);
    assert_eq!(run.code, 1, "{}", run.shown());
    assert!(
        run.stdout.contains("0001_add_users_bio_and_index_users_bio: journal"),
        "{}",
        run.stdout
    );
    assert!(!has_ledger(&db));
    fs::create_dir(app.dir().join("empty")).unwrap();
    let run = app.godwit(&["baseline", "legacy.db", "--migrations", "empty"]);
    assert_eq!(run.code, 2, "{}", run.shown());
    assert!(run.stderr.contains("no journaled migration"), "{}", run.stderr);
}

#[test]
fn a_collation_the_migrations_never_create_is_refused() {
    let app = App::v1();
    // The same columns as 0000, but the key column has a collation: the shape comparison does
    // not see collations on unindexed columns, the baseline must.
    let db = app.dir().join("nocase.db");
    let sql = app.runtime_migrations()[0]
        .sql
        .replace("\"id\" INTEGER PRIMARY KEY", "\"id\" INTEGER COLLATE NOCASE PRIMARY KEY");
    assert!(sql.contains("COLLATE NOCASE"), "{sql}");
    Connection::open(&db).unwrap().execute_batch(&sql).unwrap();
    let run = app.godwit(&["baseline", "nocase.db"]);
    assert_eq!(run.code, 1, "{}", run.shown());
    assert!(
        run.stdout
            .contains("table users: a column collation (COLLATE), which no migration creates"),
        "{}",
        run.stdout
    );
    assert!(!has_ledger(&db));
}
