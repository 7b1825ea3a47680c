//! End-to-end: real `cargo build` runs of temporary application crates whose build.rs calls
//! `schema_core::build`. Builds share one target directory and are serialised.

use tests::e2e::{DEFAULT_MAIN_RS, TempCrate};

const USERS_V1: &str = r#"use migrate_runtime::Table;

#[derive(Table)]
#[table(name = "users")]
pub struct User {
    #[column(primary_key, autoincrement)]
    pub id: i64,
    #[column(unique)]
    pub email: String,
}

migrate_runtime::include_db!();
"#;

const USERS_V2: &str = r#"use migrate_runtime::Table;

#[derive(Table)]
#[table(name = "users")]
pub struct User {
    #[column(primary_key, autoincrement)]
    pub id: i64,
    #[column(unique)]
    pub email: String,
    pub bio: Option<String>,
}

migrate_runtime::include_db!();
"#;

fn stdout(out: &std::process::Output) -> String {
    assert!(out.status.success(), "binary failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_migration_appears_exactly_when_the_schema_changes() {
    let app = TempCrate::new("godwit_e2e_cycle", USERS_V1);
    app.build_write(&[]).assert_success();
    assert_eq!(app.migrations("migrations"), ["0000_create_users.sql"]);
    let sql = app.read("migrations/0000_create_users.sql");
    assert!(sql.starts_with("CREATE TABLE \"users\""), "{sql}");
    assert!(sql.ends_with(";\n"), "{sql:?}");
    let journal = app.read("migrations/meta/_journal.json");
    let hash = migrate_runtime::hash_sql(&sql);
    assert_eq!(
        journal,
        format!(
            "{{\n  \"dialect\": \"sqlite\",\n  \"entries\": [\n    {{\n      \"custom\": false,\n      \
             \"hash\": \"{hash}\",\n      \"idx\": 0,\n      \"tag\": \"0000_create_users\"\n    }}\n  ],\n  \
             \"version\": 2\n}}\n"
        )
    );
    let snapshot: serde_json::Value =
        serde_json::from_str(&app.read("migrations/meta/0000_snapshot.json")).unwrap();
    assert_eq!(snapshot["version"], 1);
    assert!(snapshot["prev_id"].is_null());
    assert_eq!(snapshot["id"].as_str().unwrap().len(), 64);
    assert!(snapshot["tables"]["users"].is_object());

    let db = app.path().join("app.db");
    let db = db.to_str().unwrap();
    let out = stdout(&app.run(&[db]));
    assert!(out.contains("tables: users\n") && out.contains("applied: 1\n"), "{out}");

    // No change: the build writes nothing and every byte stays.
    let before = app.files("migrations");
    app.build_write(&[]).assert_success();
    app.build(&[("CI", "true")]).assert_success();
    assert_eq!(app.files("migrations"), before);

    // An unrelated source edit does not rerun the build script (settle the env first: a changed
    // CI or SCHEMA_MIGRATIONS does rerun it).
    app.build_write(&[]).assert_success();
    app.write("src/main.rs", &format!("{DEFAULT_MAIN_RS}\n// an unrelated edit\n"));
    let verbose = app.build_args(&["-v"], &[("SCHEMA_MIGRATIONS", "write")]);
    verbose.assert_success();
    assert!(
        !verbose.stderr.contains("build-script-build`"),
        "the build script reran:\n{}",
        verbose.stderr
    );
    assert!(verbose.stderr.contains("godwit_e2e_cycle"), "{}", verbose.stderr);

    // A schema change: exactly one new migration, which upgrades the existing database.
    app.write("src/schema.rs", USERS_V2);
    app.build_write(&[]).assert_success();
    assert_eq!(app.migrations("migrations"), ["0000_create_users.sql", "0001_add_users_bio.sql"]);
    let snap1: serde_json::Value =
        serde_json::from_str(&app.read("migrations/meta/0001_snapshot.json")).unwrap();
    assert_eq!(snap1["prev_id"], snapshot["id"]);
    assert_eq!(app.read("migrations/0000_create_users.sql"), sql, "an old migration was rewritten");
    let out = stdout(&app.run(&[db]));
    assert!(out.contains("applied: 2\n"), "{out}");

    let before = app.files("migrations");
    app.build_write(&[]).assert_success();
    assert_eq!(app.files("migrations"), before);
}

#[test]
fn check_mode_fails_on_a_pending_change_and_writes_nothing() {
    let app = TempCrate::new("godwit_e2e_check", USERS_V1);
    // CI=true without SCHEMA_MIGRATIONS=write: even the first migration is not written.
    app.build(&[("CI", "true")]).assert_failure().assert_stderr_contains(&[
        "CI is set",
        "SCHEMA_MIGRATIONS=write cargo build -p godwit_e2e_check",
    ]);
    assert!(!app.exists("migrations"));

    app.build_write(&[]).assert_success();
    app.write("src/schema.rs", USERS_V2);
    let before = app.files("migrations");
    for env in
        [[("CI", "1"), ("SCHEMA_MIGRATIONS", "")], [("CI", ""), ("SCHEMA_MIGRATIONS", "check")]]
    {
        app.build(&env).assert_failure().assert_stderr_contains(&[
            "the schema in src/schema.rs changed since the latest snapshot (migration `add_users_bio` is pending)",
            "fix: run `SCHEMA_MIGRATIONS=write cargo build -p godwit_e2e_check` locally",
            "the pending migration would be:",
            "ALTER TABLE \"users\" ADD COLUMN \"bio\" TEXT;",
        ]);
        assert_eq!(app.files("migrations"), before);
    }
    // CI=false and CI=0 are not CI.
    app.build(&[("CI", "false")]).assert_success();
    assert_eq!(app.migrations("migrations").len(), 2);
}

#[test]
fn folder_errors_name_the_files_and_the_fix() {
    let app = TempCrate::new("godwit_e2e_folder", USERS_V1);
    app.build_write(&[]).assert_success();
    let base = app.files("migrations");
    let restore = |files: &std::collections::BTreeMap<String, Vec<u8>>| {
        let _ = std::fs::remove_dir_all(app.path().join("migrations"));
        for (name, bytes) in files {
            app.write(&format!("migrations/{name}"), std::str::from_utf8(bytes).unwrap());
        }
    };

    // Main branch: 0001_add_users_bio.
    app.write("src/schema.rs", USERS_V2);
    app.build_write(&[]).assert_success();
    let main = app.files("migrations");
    // A parallel branch, from 0000: 0001_add_users_karma.
    restore(&base);
    app.write(
        "src/schema.rs",
        &USERS_V1.replace(
            "pub email: String,",
            "pub email: String,\n    #[column(default = 0)]\n    pub karma: i64,",
        ),
    );
    app.build_write(&[]).assert_success();
    let branch = app.files("migrations");
    assert!(branch.contains_key("0001_add_users_karma.sql"), "{:?}", branch.keys());
    app.write("src/schema.rs", USERS_V2);

    // A naive merge: both 0001 files, main's journal and snapshot.
    restore(&main);
    app.write(
        "migrations/0001_add_users_karma.sql",
        std::str::from_utf8(&branch["0001_add_users_karma.sql"]).unwrap(),
    );
    app.build_write(&[]).assert_failure().assert_stderr_contains(&[
        "two migrations have index 0001: 0001_add_users_bio.sql and 0001_add_users_karma.sql",
        "0001_add_users_bio.sql is the one in the journal. If 0001_add_users_karma.sql is a \
         hand-written migration, rename it to the next free index, 0002_add_users_karma.sql",
        "if it was generated on a branch merged in parallel, delete it",
    ]);

    // The merge renumbered by hand: 0002 with the branch's snapshot, chained to 0000.
    restore(&main);
    app.write(
        "migrations/0002_add_users_karma.sql",
        std::str::from_utf8(&branch["0001_add_users_karma.sql"]).unwrap(),
    );
    app.write(
        "migrations/meta/0002_snapshot.json",
        std::str::from_utf8(&branch["meta/0001_snapshot.json"]).unwrap(),
    );
    let karma_hash = migrate_runtime::hash_sql(
        std::str::from_utf8(&branch["0001_add_users_karma.sql"]).unwrap(),
    );
    let journal = app.read("migrations/meta/_journal.json").replace(
        "\"tag\": \"0001_add_users_bio\"\n    }",
        &format!(
            "\"tag\": \"0001_add_users_bio\"\n    }},\n    {{\n      \"custom\": false,\n      \
             \"hash\": \"{karma_hash}\",\n      \"idx\": 2,\n      \"tag\": \"0002_add_users_karma\"\n    }}"
        ),
    );
    app.write("migrations/meta/_journal.json", &journal);
    app.build_write(&[]).assert_failure().assert_stderr_contains(&[
        "the snapshot chain forks: meta/0002_snapshot.json (0002_add_users_karma.sql) was generated on top of \
         meta/0000_snapshot.json, not on top of meta/0001_snapshot.json (0001_add_users_bio.sql)",
        "delete your branch's migration 0002_add_users_karma.sql, its snapshot meta/0002_snapshot.json and its journal entry",
    ]);

    // A journal entry without its .sql / snapshot.
    restore(&main);
    app.remove("migrations/0001_add_users_bio.sql");
    app.build_write(&[]).assert_failure().assert_stderr_contains(&[
        "the journal lists 0001_add_users_bio.sql but the file is missing",
    ]);
    restore(&main);
    app.remove("migrations/meta/0001_snapshot.json");
    app.build_write(&[])
        .assert_failure()
        .assert_stderr_contains(&["its snapshot meta/0001_snapshot.json is missing"]);

    // A stray .sql file; other files are ignored.
    restore(&main);
    app.write("migrations/seed.sql", "INSERT INTO users (email) VALUES ('a@b.c');\n");
    app.build_write(&[])
        .assert_failure()
        .assert_stderr_contains(&["seed.sql is not a migration file name"]);
    app.remove("migrations/seed.sql");
    app.write("migrations/README.md", "# migrations\n");
    app.build_write(&[]).assert_success();

    // An edited generated migration: its recorded hash names it; allowed, the replay still
    // proves it and names it too.
    restore(&main);
    app.write(
        "migrations/0001_add_users_bio.sql",
        &app.read("migrations/0001_add_users_bio.sql").replace("\"bio\" TEXT", "\"bio\" INTEGER"),
    );
    app.build_write(&[]).assert_failure().assert_stderr_contains(&[
        "migrations/0001_add_users_bio.sql was",
        "MIGRATION_ALLOW_EDIT=0001_add_users_bio",
    ]);
    app.build_write(&[("MIGRATION_ALLOW_EDIT", "0001_add_users_bio")])
        .assert_failure()
        .assert_stderr_contains(&[
            "the first migration whose result differs from its snapshot is 0001_add_users_bio",
            "was edited after it was generated",
        ]);
    restore(&main);
    app.build_write(&[]).assert_success();
    assert_eq!(app.files("migrations"), main);
}

#[test]
fn a_hand_written_migration_is_adopted_before_the_schema_change() {
    let app = TempCrate::new("godwit_e2e_custom", USERS_V1);
    app.build_write(&[]).assert_success();
    app.write(
        "migrations/0001_seed_and_view.sql",
        "INSERT INTO \"users\" (\"email\") VALUES ('ada@example.com');\n--> statement-breakpoint\n\
         CREATE VIEW \"user_emails\" AS SELECT \"email\" FROM \"users\";\n",
    );
    // Check mode refuses to adopt.
    app.build(&[("CI", "true")]).assert_failure().assert_stderr_contains(&[
        "the hand-written migration 0001_seed_and_view.sql is not in the journal yet",
        "SCHEMA_MIGRATIONS=write cargo build",
    ]);
    assert!(!app.exists("migrations/meta/0001_snapshot.json"));

    // Adoption and a schema change that rebuilds the table under the view, in one build.
    app.write(
        "src/schema.rs",
        &USERS_V2
            .replace("    #[column(unique)]\n    pub email: String,", "    pub email: String,"),
    );
    app.build_write(&[]).assert_success();
    let migrations = app.migrations("migrations");
    assert_eq!(migrations.len(), 3, "{migrations:?}");
    assert_eq!(migrations[1], "0001_seed_and_view.sql");
    assert!(migrations[2].starts_with("0002_"), "{migrations:?}");
    let journal: serde_json::Value =
        serde_json::from_str(&app.read("migrations/meta/_journal.json")).unwrap();
    assert_eq!(journal["entries"][1]["custom"], true);
    assert_eq!(journal["entries"][2]["custom"], false);
    let s0: serde_json::Value =
        serde_json::from_str(&app.read("migrations/meta/0000_snapshot.json")).unwrap();
    let s1: serde_json::Value =
        serde_json::from_str(&app.read("migrations/meta/0001_snapshot.json")).unwrap();
    assert_eq!(s1["tables"], s0["tables"]);
    assert_eq!(s1["prev_id"], s0["id"]);
    let sql2 = app.read(&format!("migrations/{}", migrations[2]));
    assert!(sql2.contains("user_emails"), "the rebuild must drop and recreate the view:\n{sql2}");

    let db = app.path().join("app.db");
    let out = stdout(&app.run(&[db.to_str().unwrap()]));
    assert!(out.contains("applied: 3\n"), "{out}");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let email: String =
        conn.query_row("SELECT \"email\" FROM \"user_emails\"", [], |r| r.get(0)).unwrap();
    assert_eq!(email, "ada@example.com");

    let before = app.files("migrations");
    app.build(&[("CI", "true")]).assert_success();
    assert_eq!(app.files("migrations"), before);
}

#[test]
fn two_databases_in_one_crate() {
    let app = TempCrate::bare("godwit_e2e_two_dbs");
    app.write(
        "build.rs",
        "fn main() {\n    schema_core::build::Generator::new().schema(\"src/db/app.rs\").migrations(\"migrations/app\").db_name(\"AppDb\").run();\n    \
         schema_core::build::Generator::new().schema(\"src/db/pulse.rs\").migrations(\"migrations/pulse\").db_name(\"PulseDb\").run();\n}\n",
    );
    app.write("src/db/app.rs", &USERS_V1.replace("include_db!()", "include_db!(AppDb)"));
    app.write(
        "src/db/pulse.rs",
        "use migrate_runtime::Table;\n\n#[derive(Table)]\npub struct Heartbeat {\n    #[column(primary_key)]\n    pub at: i64,\n    pub ok: bool,\n}\n\n// A struct in an inline module: its guard names it `probes::Probe`.\npub mod probes {\n    use migrate_runtime::Table;\n\n    #[derive(Table)]\n    pub struct Probe {\n        #[column(primary_key)]\n        pub id: i64,\n        #[column(references = super::Heartbeat, on_delete = \"cascade\")]\n        pub at: i64,\n    }\n}\n\nmigrate_runtime::include_db!(PulseDb);\n",
    );
    app.write(
        "src/main.rs",
        "mod db {\n    pub mod app;\n    pub mod pulse;\n}\n\nfn main() {\n    let app = db::app::AppDb::open_in_memory_and_migrate().unwrap();\n    \
         let pulse = db::pulse::PulseDb::open_in_memory_and_migrate().unwrap();\n    \
         let n: i64 = app.conn().query_row(\"SELECT count(*) FROM users\", [], |r| r.get(0)).unwrap();\n    \
         let m: i64 = pulse.conn().query_row(\"SELECT count(*) FROM heartbeat\", [], |r| r.get(0)).unwrap();\n    \
         println!(\"ok {n} {m}\");\n}\n",
    );
    app.build_write(&[]).assert_success();
    assert_eq!(app.migrations("migrations/app"), ["0000_create_users.sql"]);
    let pulse = app.migrations("migrations/pulse");
    assert_eq!(pulse.len(), 1, "{pulse:?}");
    assert!(pulse[0].starts_with("0000_create_heartbeat"), "{pulse:?}");
    let sql = app.read(&format!("migrations/pulse/{}", pulse[0]));
    assert!(
        sql.contains("CREATE TABLE \"probe\"") && sql.contains("REFERENCES \"heartbeat\""),
        "{sql}"
    );
    let out = stdout(&app.run(&[]));
    assert_eq!(out.trim(), "ok 0 0");
}

#[test]
fn a_field_behind_cfg_is_refused_before_anything_is_written() {
    let schema = USERS_V1.replace(
        "    pub email: String,\n",
        "    pub email: String,\n    #[cfg(any())]\n    pub secret: String,\n",
    );
    let app = TempCrate::new("godwit_e2e_cfg", &schema);
    app.build_write(&[]).assert_failure().assert_stderr_contains(&[
        "src/schema.rs:10:5: error: #[cfg] on a field of a #[derive(Table)] struct",
        "split the table into separate schema files or databases",
    ]);
    assert!(!app.exists("migrations"), "no migration is left behind");
}

#[test]
fn every_table_struct_of_the_crate_is_seen_by_the_build_or_refused() {
    let schema = USERS_V1.replace(
        "migrate_runtime::include_db!();",
        "#[path = \"tables/billing.rs\"]\nmod more;\n\nmigrate_runtime::include_db!();",
    );
    let app = TempCrate::new("godwit_e2e_sources", &schema);
    app.write(
        "src/tables/billing.rs",
        "#[derive(migrate_runtime::Table)]\n#[allow(dead_code)]\nstruct Invoice {\n    #[column(primary_key)]\n    id: i64,\n}\n",
    );
    app.build_write(&[]).assert_success();
    assert_eq!(app.migrations("migrations"), ["0000_create_invoice_users.sql"]);
    let db = app.path().join("app.db");
    let out = stdout(&app.run(&[db.to_str().unwrap()]));
    assert!(out.contains("tables: invoice,users\n"), "{out}");

    // Settle: the files the first build wrote are newer than its build-script run.
    app.build_write(&[]).assert_success();
    // A struct in main.rs: the build script does not rerun (main.rs is not part of the schema),
    // and the derive refuses it.
    let stray = format!(
        "{DEFAULT_MAIN_RS}\n#[derive(migrate_runtime::Table)]\npub struct Stray {{\n    #[column(primary_key)]\n    pub id: i64,\n}}\n"
    );
    app.write("src/main.rs", &stray);
    app.build_write(&[]).assert_failure().assert_stderr_contains(&[
        "#[derive(Table)] struct `Stray` is outside the schema: the build script reads \
         src/schema.rs, src/tables/billing.rs",
        "move it into a schema file or into a module one declares",
    ]);
    // When the build script runs, it refuses it too, with its file and line.
    app.build_write(&[("MIGRATION_NAME", "rerun")]).assert_failure().assert_stderr_contains(&[
        "src/main.rs:23:12: error: #[derive(Table)] struct `Stray` is outside the schema",
    ]);
    assert_eq!(app.migrations("migrations"), ["0000_create_invoice_users.sql"]);

    // Outside src/ (an integration test's fixture) a struct is not the build's business.
    app.write("src/main.rs", DEFAULT_MAIN_RS);
    app.write(
        "tests/fixture.rs",
        "#[derive(migrate_runtime::Table)]\npub struct Fixture {\n    #[column(primary_key)]\n    pub id: i64,\n}\n\n#[test]\nfn named() {\n    assert_eq!(<Fixture as migrate_runtime::Table>::NAME, \"fixture\");\n}\n",
    );
    app.build_args(&["--quiet", "--tests"], &[("SCHEMA_MIGRATIONS", "write")]).assert_success();

    // A struct the build script saw differently (here: its recorded entry altered, as an
    // attribute macro rewriting the struct would) fails at the derive.
    let list = seen_list_of(&app);
    let original = std::fs::read_to_string(&list).unwrap();
    std::fs::write(&list, original.replace("\\\"invoice\\\"", "\\\"invoices\\\"")).unwrap();
    app.write("src/main.rs", &format!("{DEFAULT_MAIN_RS}// touched\n"));
    app.build_write(&[]).assert_failure().assert_stderr_contains(&[
        "#[derive(Table)] struct `Invoice` differs from what the build script parsed in \
         src/tables/billing.rs",
    ]);
    std::fs::write(&list, original).unwrap();
}

/// The `$OUT_DIR/godwit/Db.tables` of `app`'s last build.
fn seen_list_of(app: &TempCrate) -> std::path::PathBuf {
    let build = tests::e2e::shared_target_dir().join("debug").join("build");
    let crate_dir = std::fs::canonicalize(app.path()).unwrap();
    std::fs::read_dir(build)
        .unwrap()
        .flatten()
        .map(|e| e.path().join("out/godwit/Db.tables"))
        .find(|p| {
            std::fs::read_to_string(p).is_ok_and(|t| t.contains(&*crate_dir.to_string_lossy()))
        })
        .expect("the build wrote a seen list")
}

#[test]
fn schema_and_planner_errors_are_readable_and_write_nothing() {
    let app = TempCrate::new("godwit_e2e_errors", USERS_V1);
    app.build_write(&[]).assert_success();
    let before = app.files("migrations");

    // A syn error: file:line:column and the offending line.
    app.write("src/schema.rs", &USERS_V1.replace("#[column(unique)]", "#[column(uniqe)]"));
    app.build_write(&[])
        .assert_failure()
        .assert_stderr_contains(&["src/schema.rs:8:14: error:", "uniqe"]);

    // A NOT NULL column without default or backfill.
    app.write(
        "src/schema.rs",
        &USERS_V1.replace("pub email: String,", "pub email: String,\n    pub name: String,"),
    );
    app.build_write(&[]).assert_failure().assert_stderr_contains(&["users", "name", "backfill"]);
    assert_eq!(app.files("migrations"), before);

    // A column renamed without renamed_from.
    app.write("src/schema.rs", &USERS_V1.replace("pub email: String,", "pub mail: String,"));
    app.build_write(&[]).assert_failure().assert_stderr_contains(&[
        "users",
        "email",
        "renamed_from",
    ]);
    assert_eq!(app.files("migrations"), before);

    // With renamed_from it is a rename.
    app.write(
        "src/schema.rs",
        &USERS_V1.replace(
            "pub email: String,",
            "#[column(renamed_from = \"email\")]\n    pub mail: String,",
        ),
    );
    app.build_write(&[]).assert_success();
    let migrations = app.migrations("migrations");
    assert_eq!(migrations.len(), 2);
    let sql = app.read(&format!("migrations/{}", migrations[1]));
    assert!(sql.contains("RENAME COLUMN \"email\" TO \"mail\""), "{sql}");
}

#[test]
fn migration_name_and_allow_drop() {
    let two_tables = USERS_V1.replace(
        "migrate_runtime::include_db!();",
        "#[derive(Table)]\npub struct Post {\n    #[column(primary_key)]\n    pub id: i64,\n}\n\nmigrate_runtime::include_db!();",
    );
    let app = TempCrate::new("godwit_e2e_names", &two_tables);
    app.build_write(&[("MIGRATION_NAME", "Initial Schema!")]).assert_success();
    assert_eq!(app.migrations("migrations"), ["0000_initial_schema.sql"]);

    // Dropping a table needs MIGRATION_ALLOW_DROP.
    app.write("src/schema.rs", USERS_V1);
    app.build_write(&[]).assert_failure().assert_stderr_contains(&["post", "MIGRATION_ALLOW_DROP"]);
    assert_eq!(app.migrations("migrations").len(), 1);
    // The lint warning of the acknowledged drop is shown by cargo.
    // (`cargo build --quiet` hides build-script warnings, so this build is not quiet.)
    app.build_args(&[], &[("SCHEMA_MIGRATIONS", "write"), ("MIGRATION_ALLOW_DROP", "post")])
        .assert_success()
        .assert_stderr_contains(&["warning[L1]", "table post is dropped"]);
    let migrations = app.migrations("migrations");
    assert_eq!(migrations.len(), 2);
    let sql = app.read(&format!("migrations/{}", migrations[1]));
    assert!(sql.starts_with("--"), "the acknowledgement is a header comment:\n{sql}");
    assert!(sql.contains("DROP TABLE \"post\""), "{sql}");
}
