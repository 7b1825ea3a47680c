//! `godwit status` run as a process on real folders and databases.

mod common;

use std::fs;

use common::{App, short_hash};

#[test]
fn folder_only_lists_every_migration() {
    let app = App::v3();
    let run = app.godwit(&["status"]);
    assert_eq!(run.code, 0, "{}", run.shown());
    snap!("status_folder_only", run);
}

#[test]
fn up_to_date_database_shows_times_and_durations() {
    let app = App::v3();
    app.database("app.db", 3);
    let run = app.godwit(&["status", "--db", "app.db"]);
    assert_eq!(run.code, 0, "{}", run.shown());
    assert_eq!(run.stdout.matches("applied 20").count(), 3, "{}", run.stdout);
    snap!("status_up_to_date", run);
}

#[test]
fn pending_migrations_are_a_finding() {
    let app = App::v3();
    app.database("app.db", 1);
    let run = app.godwit(&["status", "--db", "app.db"]);
    assert_eq!(run.code, 1, "{}", run.shown());
    snap!("status_pending", run);
}

#[test]
fn a_database_without_ledger_has_everything_pending() {
    let app = App::v2();
    rusqlite::Connection::open(app.dir().join("fresh.db"))
        .unwrap()
        .execute_batch("CREATE TABLE legacy (x)")
        .unwrap();
    let run = app.godwit(&["status", "--db", "fresh.db"]);
    assert_eq!(run.code, 1, "{}", run.shown());
    assert!(run.stdout.contains("0 applied, 2 pending"), "{}", run.stdout);
    assert!(run.stdout.contains("has 1 table but no ledger"), "{}", run.stdout);
    snap!("status_unmanaged", run);
}

#[test]
fn edited_migration_shows_both_hashes() {
    let app = App::v3();
    app.database("app.db", 3);
    let file = app.migrations().join("0002_user_emails.sql");
    let applied = short_hash(&file);
    fs::write(&file, format!("{}-- an edit after release\n", common::CUSTOM_SQL)).unwrap();
    let now = short_hash(&file);
    let run = app.godwit(&["status", "--db", "app.db"]);
    assert_eq!(run.code, 1, "{}", run.shown());
    let out = &run.stdout;
    assert!(
        out.contains(&format!("edited: the database applied {applied}, the file is now {now}")),
        "{out}"
    );
    assert!(out.contains(&format!("journal {applied}, file {now}")), "{out}");
    snap!("status_edited", run);
}

#[test]
fn ledger_rows_unknown_to_the_folder_are_listed() {
    let app = App::v2();
    let db = app.database("app.db", 2);
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "INSERT INTO __schema_migrations VALUES (2, '0002_from_the_future', ?1, 'c', 0, 5)",
            [migrate_engine::hash_sql("SELECT 1;")],
        )
        .unwrap();
    let run = app.godwit(&["status", "--db", "app.db"]);
    assert_eq!(run.code, 1, "{}", run.shown());
    let stored = migrate_engine::short(&migrate_engine::hash_sql("SELECT 1;")).to_owned();
    let line =
        format!("0002_from_the_future  stored {stored}  applied 1970-01-01T00:00:00.000Z in 5 ms");
    assert!(run.stdout.contains(&line), "{}", run.stdout);
    snap!("status_unknown_row", run);
}

#[test]
fn a_file_waiting_for_adoption_is_a_finding() {
    let app = App::v2();
    fs::write(app.migrations().join("0002_seed.sql"), "SELECT 1;\n").unwrap();
    let run = app.godwit(&["status"]);
    assert_eq!(run.code, 1, "{}", run.shown());
    assert!(run.stdout.contains("the next `cargo build` adopts it"), "{}", run.stdout);
}

#[test]
fn a_missing_database_is_never_created() {
    let app = App::v1();
    let run = app.godwit(&["status", "--db", "nope.db"]);
    assert_eq!(run.code, 2, "{}", run.shown());
    assert!(!app.dir().join("nope.db").exists());
    snap!("status_missing_db", run);
}

#[test]
fn the_database_is_opened_read_only() {
    let app = App::v2();
    let db = app.database("app.db", 1);
    let before = fs::read(&db).unwrap();
    let run = app.godwit(&["status", "--db", "app.db"]);
    assert_eq!(run.code, 1, "{}", run.shown());
    assert_eq!(fs::read(&db).unwrap(), before, "status wrote to the database");
}

#[test]
fn usage_errors_exit_2() {
    let app = App::v1();
    let run = app.godwit(&["status", "--bogus"]);
    assert_eq!(run.code, 2, "{}", run.shown());
    let run = app.godwit(&["status", "--migrations", "elsewhere"]);
    assert_eq!(run.code, 2, "{}", run.shown());
    snap!("status_missing_folder", run);
}

#[test]
fn help_documents_exit_codes() {
    let app = App::v1();
    let run = app.godwit(&["status", "--help"]);
    assert_eq!(run.code, 0, "{}", run.shown());
    snap!("status_help", run);
}

#[test]
fn a_missing_folder_names_the_folders_build_rs_generates() {
    let app = App::v1();
    fs::write(
        app.dir().join("build.rs"),
        "fn main() {\n    schema_core::build::Generator::new().migrations(\"db/main\").run();\n    \
         schema_core::build::Generator::new().migrations(\"db/cache\").run();\n}\n",
    )
    .unwrap();
    let run = app.godwit(&["status", "--migrations", "db"]);
    assert_eq!(run.code, 2, "{}", run.shown());
    assert!(
        run.stderr.contains("this crate's build.rs generates db/main, db/cache: pass --migrations"),
        "{}",
        run.stderr
    );
}
