//! `godwit check` run as a process: the build's check mode without cargo.

mod common;

use std::fs;

use common::{App, SCHEMA_V2};

/// Every file of the migrations folder with its content, to prove check mode wrote nothing.
fn folder_files(app: &App) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for dir in [app.migrations(), app.migrations().join("meta")] {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                out.push((path.display().to_string(), fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn up_to_date_crate_passes() {
    let app = App::v3();
    let run = app.godwit(&["check"]);
    assert_eq!(run.code, 0, "{}", run.shown());
    snap!("check_up_to_date", run);
}

#[test]
fn a_schema_change_fails_showing_the_pending_sql_and_writes_nothing() {
    let app = App::v1();
    app.write_schema(SCHEMA_V2);
    let before = folder_files(&app);
    let run = app.godwit(&["check"]);
    assert_eq!(run.code, 1, "{}", run.shown());
    assert!(run.stdout.contains("ALTER TABLE \"users\" ADD COLUMN \"bio\" TEXT"), "{}", run.stdout);
    assert!(run.stdout.contains("SCHEMA_MIGRATIONS=write cargo build -p app"), "{}", run.stdout);
    assert_eq!(folder_files(&app), before);
    snap!("check_pending", run);
}

#[test]
fn an_edited_migration_fails() {
    let app = App::v2();
    let file = app.migrations().join("0000_create_users.sql");
    let text = fs::read_to_string(&file).unwrap();
    fs::write(&file, format!("{text}-- edited\n")).unwrap();
    let run = app.godwit(&["check", "--manifest-path", "."]);
    assert_eq!(run.code, 1, "{}", run.shown());
    assert!(run.stdout.contains("MIGRATION_ALLOW_EDIT"), "{}", run.stdout);
    assert!(run.stdout.contains("0000_create_users"), "{}", run.stdout);
}

#[test]
fn a_file_waiting_for_adoption_fails() {
    let app = App::v2();
    fs::write(app.migrations().join("0002_seed.sql"), "SELECT 1;\n").unwrap();
    let run = app.godwit(&["check"]);
    assert_eq!(run.code, 1, "{}", run.shown());
    assert!(run.stdout.contains("0002_seed.sql is not in the journal yet"), "{}", run.stdout);
}

#[test]
fn a_schema_error_is_a_finding() {
    let app = App::v1();
    app.write_schema(&SCHEMA_V2.replace("pub bio: Option<String>", "pub bio: u64"));
    let run = app.godwit(&["check"]);
    assert_eq!(run.code, 1, "{}", run.shown());
    assert!(run.stdout.contains("sql_type"), "{}", run.stdout);
}

#[test]
fn generator_options_are_mirrored() {
    let app = App::v2();
    // Move the crate's files where a configured Generator would look.
    fs::create_dir_all(app.dir().join("src/db")).unwrap();
    fs::rename(app.dir().join("src/schema.rs"), app.dir().join("src/db/app.rs")).unwrap();
    fs::create_dir_all(app.dir().join("db")).unwrap();
    fs::rename(app.migrations(), app.dir().join("db/app")).unwrap();
    let outside = tempfile::tempdir().unwrap();
    let manifest = app.dir().join("Cargo.toml");
    let args = [
        "check",
        "--manifest-path",
        manifest.to_str().unwrap(),
        "--schema",
        "src/db/app.rs",
        "--migrations",
        "db/app",
        "--db-name",
        "AppDb",
    ];
    let run = assert_cmd::Command::cargo_bin("godwit")
        .unwrap()
        .current_dir(outside.path())
        .args(args)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    // With the defaults the schema file is missing: the check cannot run.
    let run = app.godwit(&["check"]);
    assert_eq!(run.code, 2, "{}", run.shown());
    assert!(run.stderr.contains("src/schema.rs"), "{}", run.stderr);
    let run = app.godwit(&[
        "check",
        "--schema",
        "src/db/app.rs",
        "--migrations",
        "db/app",
        "--db-name",
        "not a type",
    ]);
    assert_eq!(run.code, 2, "{}", run.shown());
    snap!("check_bad_db_name", run);
}

#[test]
fn every_database_of_build_rs_is_checked() {
    let app = App::v2();
    // A second database in the same crate, configured in build.rs as the app's build runs it.
    fs::create_dir_all(app.dir().join("src/db")).unwrap();
    fs::write(
        app.dir().join("src/db/pulse.rs"),
        "use migrate_runtime::Table;\n\n#[derive(Table)]\npub struct Beat {\n    \
         #[column(primary_key)]\n    pub id: i64,\n}\n\nmigrate_runtime::include_db!(PulseDb);\n",
    )
    .unwrap();
    let pulse = schema_core::build::Generator::new()
        .schema("src/db/pulse.rs")
        .migrations("migrations/pulse")
        .db_name("PulseDb");
    let mut env = schema_core::build::BuildEnv::new(app.dir());
    env.schema_migrations = Some("write".into());
    pulse.run_in(&env).unwrap();
    fs::write(
        app.dir().join("build.rs"),
        "use schema_core::build::Generator;\n\nfn main() {\n    schema_core::build::generate();\n    \
         Generator::new()\n        .schema(\"src/db/pulse.rs\")\n        .migrations(\"migrations/pulse\")\n        \
         .db_name(\"PulseDb\")\n        .run();\n}\n",
    )
    .unwrap();
    let run = app.godwit(&["check"]);
    assert_eq!(run.code, 0, "{}", run.shown());
    snap!("check_two_databases", run);

    // A change in the second database's structs fails the check, naming that database.
    fs::write(
        app.dir().join("src/db/pulse.rs"),
        "use migrate_runtime::Table;\n\n#[derive(Table)]\npub struct Beat {\n    \
         #[column(primary_key)]\n    pub id: i64,\n    pub bpm: Option<i64>,\n}\n\nmigrate_runtime::include_db!(PulseDb);\n",
    )
    .unwrap();
    let run = app.godwit(&["check"]);
    assert_eq!(run.code, 1, "{}", run.shown());
    assert!(
        run.stdout.contains("PulseDb (src/db/pulse.rs, migrations/pulse):\n  error:"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("ADD COLUMN \"bpm\" INTEGER"), "{}", run.stdout);

    // A computed path cannot be followed: the flags are asked for.
    fs::write(
        app.dir().join("build.rs"),
        "fn main() {\n    let dir = std::env::var(\"DB\").unwrap();\n    \
         schema_core::build::Generator::new().migrations(dir).run();\n}\n",
    )
    .unwrap();
    let run = app.godwit(&["check"]);
    assert_eq!(run.code, 2, "{}", run.shown());
    assert!(run.stderr.contains("pass --migrations"), "{}", run.stderr);
    // The flags override build.rs.
    let run = app.godwit(&["check", "--migrations", "migrations"]);
    assert_eq!(run.code, 0, "{}", run.shown());
}
