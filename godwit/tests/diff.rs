//! `godwit diff` run as a process: drift between real databases and their migrations.

mod common;

use std::fs;

use common::App;

fn sql(app: &App, db: &str, batch: &str) {
    rusqlite::Connection::open(app.dir().join(db)).unwrap().execute_batch(batch).unwrap();
}

#[test]
fn an_up_to_date_database_has_no_drift() {
    let app = App::v3();
    app.database("app.db", 3);
    let run = app.godwit(&["diff", "app.db"]);
    assert_eq!(run.code, 0, "{}", run.shown());
    snap!("diff_no_drift", run);
}

#[test]
fn compares_with_the_ledgers_last_migration_not_the_folders() {
    let app = App::v3();
    app.database("old.db", 1);
    let run = app.godwit(&["diff", "old.db"]);
    assert_eq!(run.code, 0, "{}", run.shown());
    assert!(run.stdout.contains("ledger at 0000_create_users (index 0)"), "{}", run.stdout);
}

#[test]
fn out_of_band_changes_are_drift() {
    let app = App::v3();
    app.database("app.db", 3);
    sql(
        &app,
        "app.db",
        "ALTER TABLE users ADD COLUMN nickname TEXT;\n\
         CREATE INDEX users_email_nick ON users(email, nickname);\n\
         DROP INDEX \"users_bio_idx\";\n\
         DROP VIEW user_emails;\n\
         DROP TRIGGER users_lower; CREATE TRIGGER users_lower AFTER INSERT ON users BEGIN SELECT 1; END;\n\
         CREATE TABLE scratch (x);",
    );
    let run = app.godwit(&["diff", "app.db"]);
    assert_eq!(run.code, 1, "{}", run.shown());
    for expected in [
        "table users: unexpected column nickname",
        "unexpected table scratch",
        "missing view user_emails",
        "trigger users_lower",
    ] {
        assert!(run.stdout.contains(expected), "{expected}: {}", run.stdout);
    }
    snap!("diff_drift", run);
}

#[test]
fn an_edited_migration_is_reported() {
    let app = App::v3();
    app.database("app.db", 3);
    let file = app.migrations().join("0002_user_emails.sql");
    fs::write(&file, common::CUSTOM_SQL.replace("SELECT \"email\"", "SELECT \"id\", \"email\""))
        .unwrap();
    let run = app.godwit(&["diff", "app.db"]);
    assert_eq!(run.code, 1, "{}", run.shown());
    assert!(run.stdout.contains("edited: the database applied 0002_user_emails"), "{}", run.stdout);
    assert!(run.stdout.contains("view user_emails: expected"), "{}", run.stdout);
}

#[test]
fn a_database_newer_than_the_folder_is_refused() {
    let app = App::v2();
    app.database("app.db", 2);
    fs::remove_file(app.migrations().join("0001_add_users_bio_and_index_users_bio.sql")).unwrap();
    fs::remove_file(app.migrations().join("meta/0001_snapshot.json")).unwrap();
    let journal = app.migrations().join("meta/_journal.json");
    let mut j: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&journal).unwrap()).unwrap();
    j["entries"].as_array_mut().unwrap().truncate(1);
    fs::write(&journal, serde_json::to_string_pretty(&j).unwrap()).unwrap();
    let run = app.godwit(&["diff", "app.db"]);
    assert_eq!(run.code, 2, "{}", run.shown());
    snap!("diff_newer_database", run);
}

#[test]
fn unmanaged_and_missing_databases_exit_2() {
    let app = App::v1();
    sql(&app, "legacy.db", "CREATE TABLE users (id INTEGER PRIMARY KEY)");
    let run = app.godwit(&["diff", "legacy.db"]);
    assert_eq!(run.code, 2, "{}", run.shown());
    snap!("diff_unmanaged", run);
    let run = app.godwit(&["diff", "missing.db"]);
    assert_eq!(run.code, 2, "{}", run.shown());
    assert!(!app.dir().join("missing.db").exists());
    let run = app.godwit(&["diff"]);
    assert_eq!(run.code, 2, "{}", run.shown());
}

#[test]
fn a_folder_that_no_longer_replays_compares_tables_only() {
    let app = App::v3();
    app.database("app.db", 3);
    fs::write(app.migrations().join("0002_user_emails.sql"), "INSERT INTO nowhere VALUES (1);\n")
        .unwrap();
    let run = app.godwit(&["diff", "app.db"]);
    assert_eq!(run.code, 1, "{}", run.shown());
    assert!(
        run.stdout.contains("views and triggers not compared: replaying 0002_user_emails failed"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("no such table: nowhere"), "{}", run.stdout);
    assert!(run.stdout.contains("no drift"), "{}", run.stdout);
}

#[test]
fn clauses_the_shape_cannot_see_are_drift_too() {
    let app = App::v1();
    app.database("app.db", 1);
    // Rebuild the table out of band with an ON CONFLICT clause and a collation.
    sql(
        &app,
        "app.db",
        "CREATE TABLE users2 (\"id\" INTEGER COLLATE NOCASE PRIMARY KEY AUTOINCREMENT NOT NULL, \
         \"email\" TEXT NOT NULL ON CONFLICT REPLACE UNIQUE);\n\
         DROP TABLE users; ALTER TABLE users2 RENAME TO users;",
    );
    let run = app.godwit(&["diff", "app.db"]);
    assert_eq!(run.code, 1, "{}", run.shown());
    assert!(run.stdout.contains("table users: a column collation (COLLATE)"), "{}", run.stdout);
    assert!(run.stdout.contains("table users: an ON CONFLICT clause"), "{}", run.stdout);
}
