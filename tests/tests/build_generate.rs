//! The generator in-process (`Generator::run_in` on temporary folders, no cargo): replay,
//! adoption, check modes, the `$OUT_DIR` file, and the no-change timing over 100 migrations.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use schema_core::build::{BuildEnv, Generator, Outcome};
use schema_core::error::Error;

/// A temporary crate directory with `src/schema.rs`, run with `SCHEMA_MIGRATIONS=write`.
struct Dir {
    tmp: tempfile::TempDir,
}

impl Dir {
    fn new(schema: &str) -> Self {
        let dir = Self { tmp: tempfile::tempdir().unwrap() };
        dir.write("src/schema.rs", schema);
        dir
    }

    fn path(&self) -> &Path {
        self.tmp.path()
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.path().join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }

    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path().join(rel)).unwrap()
    }

    fn env(&self) -> BuildEnv {
        BuildEnv {
            out_dir: Some(self.path().join("out")),
            package_name: Some("app".into()),
            schema_migrations: Some("write".into()),
            ..BuildEnv::new(self.path())
        }
    }

    fn run(&self) -> Result<Outcome, Error> {
        Generator::new().run_in(&self.env())
    }

    fn run_with(&self, f: impl FnOnce(&mut BuildEnv)) -> Result<Outcome, Error> {
        let mut env = self.env();
        f(&mut env);
        Generator::new().run_in(&env)
    }

    fn files(&self) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        for sub in ["migrations", "migrations/meta"] {
            let Ok(entries) = fs::read_dir(self.path().join(sub)) else { continue };
            for e in entries {
                let p = e.unwrap().path();
                if p.is_file() {
                    out.push((p.display().to_string(), fs::read(&p).unwrap()));
                }
            }
        }
        out.sort();
        out
    }
}

fn users(extra_fields: &str) -> String {
    format!(
        "use migrate_runtime::Table;\n\n#[derive(Table)]\n#[table(name = \"users\")]\npub struct User {{\n    \
         #[column(primary_key)]\n    pub id: i64,\n    pub email: String,\n{extra_fields}}}\n\nmigrate_runtime::include_db!();\n"
    )
}

#[test]
fn first_run_writes_migration_snapshot_journal_and_out_dir_file() {
    let dir = Dir::new(&users(""));
    let out = dir.run().unwrap();
    assert_eq!(out.generated.as_deref(), Some("0000_create_users"));
    assert!(
        out.cargo_lines.contains(
            &"cargo:warning=wrote the migration migrations/0000_create_users.sql for the change in \
              src/schema.rs; review it and commit migrations/"
                .to_owned()
        ),
        "{:#?}",
        out.cargo_lines
    );
    let written: Vec<String> = out
        .written
        .iter()
        .map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string())
        .collect();
    assert_eq!(
        written,
        [
            "migrations/0000_create_users.sql",
            "migrations/meta/0000_snapshot.json",
            "migrations/meta/_journal.json"
        ]
    );
    let embedded = dir.read("out/godwit/Db.rs");
    let sql_path = dir.path().join("migrations/0000_create_users.sql");
    let hash = migrate_runtime::hash_sql(&dir.read("migrations/0000_create_users.sql"));
    let chain = migrate_runtime::chain_hash(None, &hash);
    assert!(
        embedded.contains(&format!(
            "(0, \"0000_create_users\", include_str!({:?}), \"{hash}\", \"{chain}\"),",
            sql_path.display().to_string()
        )),
        "{embedded}"
    );
    assert!(embedded.contains("<User as ::migrate_runtime::Table>::FINGERPRINT"), "{embedded}");
    // The runtime computes the same hash.
    assert_eq!(migrate_runtime::hash_sql(&dir.read("migrations/0000_create_users.sql")), hash);

    // rerun-if-changed for the schema file and the folder (cargo scans it whole), not one line
    // per migration file; env vars.
    let reruns: Vec<&String> =
        out.cargo_lines.iter().filter(|l| l.starts_with("cargo:rerun-if-changed=")).collect();
    assert_eq!(
        reruns,
        [
            &format!("cargo:rerun-if-changed={}", dir.path().join("src/schema.rs").display()),
            &format!("cargo:rerun-if-changed={}", dir.path().join("migrations").display()),
        ],
        "{:#?}",
        out.cargo_lines
    );
    for needle in [
        "cargo:rerun-if-env-changed=CI".to_owned(),
        "cargo:rerun-if-env-changed=SCHEMA_MIGRATIONS".to_owned(),
        "cargo:rerun-if-env-changed=MIGRATION_NAME".to_owned(),
        "cargo:rerun-if-env-changed=MIGRATION_ALLOW_DROP".to_owned(),
        "cargo:rerun-if-env-changed=MIGRATION_ALLOW_EDIT".to_owned(),
    ] {
        assert!(out.cargo_lines.contains(&needle), "missing {needle}: {:#?}", out.cargo_lines);
    }

    // MIGRATION_NAME without a change is pointed out, not silently ignored.
    let named = dir.run_with(|e| e.migration_name = Some("oops".into())).unwrap();
    assert!(named.generated.is_none());
    assert!(
        named
            .cargo_lines
            .iter()
            .any(|l| l.starts_with("cargo:warning=MIGRATION_NAME=\"oops\" is set but")),
        "{:#?}",
        named.cargo_lines
    );

    // A second run: nothing written, not even the OUT_DIR file.
    let before = dir.files();
    let mtime = fs::metadata(dir.path().join("out/godwit/Db.rs")).unwrap().modified().unwrap();
    let again = dir.run().unwrap();
    assert!(
        again.written.is_empty() && again.generated.is_none() && again.embedded.is_none(),
        "{again:?}"
    );
    assert!(
        out.replayed && !again.replayed,
        "a no-change run with matching hashes replays nothing"
    );
    assert_eq!(dir.files(), before);
    assert_eq!(
        fs::metadata(dir.path().join("out/godwit/Db.rs")).unwrap().modified().unwrap(),
        mtime
    );
}

#[test]
fn replay_names_the_first_migration_that_differs_from_its_snapshot() {
    let dir = Dir::new(&users(""));
    dir.run().unwrap();
    dir.write("src/schema.rs", &users("    pub bio: Option<String>,\n"));
    dir.run().unwrap();
    dir.write("src/schema.rs", &users("    pub bio: Option<String>,\n    pub age: Option<i64>,\n"));
    dir.run().unwrap();
    // Editing 0001 changes its result and, through it, every later one: even with the edit
    // allowed (MIGRATION_ALLOW_EDIT), the replay must prove the chain, and it names 0001.
    let name = "migrations/0001_add_users_bio.sql";
    dir.write(name, &dir.read(name).replace("\"bio\" TEXT", "\"bio\" BLOB"));
    let before = dir.files();
    let allow = |e: &mut BuildEnv| e.allow_edit = Some("0001_add_users_bio".into());
    let err = dir.run_with(allow).unwrap_err().report();
    assert_eq!(dir.files(), before, "nothing re-stamped");
    assert!(
        err.contains(
            "the first migration whose result differs from its snapshot is 0001_add_users_bio"
        ),
        "{err}"
    );
    assert!(err.contains("bio"), "{err}");

    // A migration whose SQL fails names itself and the statement.
    dir.write(name, "ALTER TABLE \"nope\" ADD COLUMN \"x\" TEXT;\n");
    let err = dir.run_with(allow).unwrap_err().report();
    assert!(
        err.contains("migration 0001_add_users_bio") && err.contains("no such table: nope"),
        "{err}"
    );

    // A CRLF checkout with a BOM is not an edit.
    let dir = Dir::new(&users(""));
    dir.run().unwrap();
    let p = "migrations/0000_create_users.sql";
    let original = dir.read(p);
    dir.write(p, &format!("\u{feff}{}", original.replace('\n', "\r\n")));
    let out = dir.run().unwrap();
    assert!(!out.replayed && out.written.is_empty(), "the hash matches: {out:?}");
    let embedded = dir.read("out/godwit/Db.rs");
    assert!(embedded.contains(&migrate_runtime::hash_sql(&original)), "{out:?}");
}

#[test]
fn hand_written_migrations_may_not_change_tables() {
    let dir = Dir::new(&users(""));
    dir.run().unwrap();
    dir.write("migrations/0001_sneaky.sql", "ALTER TABLE \"users\" ADD COLUMN \"x\" TEXT;\n");
    let before = dir.files();
    let err = dir.run().unwrap_err().report();
    assert!(
        err.contains("first migration whose result differs from its snapshot is 0001_sneaky"),
        "{err}"
    );
    assert!(err.contains("hand-written migration must not change tables"), "{err}");
    assert_eq!(dir.files(), before);

    // A data-only one is adopted: journal entry custom, snapshot equal to the previous one.
    dir.write(
        "migrations/0001_sneaky.sql",
        "INSERT INTO \"users\" (\"id\", \"email\") VALUES (1, 'a@b.c');\n",
    );
    let out = dir.run().unwrap();
    assert_eq!(out.adopted, ["0001_sneaky"]);
    assert!(out.generated.is_none());
    let journal = dir.read("migrations/meta/_journal.json");
    assert!(
        journal.contains(&format!(
            "\"custom\": true,\n      \"hash\": \"{}\",\n      \"idx\": 1,\n      \"tag\": \"0001_sneaky\"",
            migrate_runtime::hash_sql(&dir.read("migrations/0001_sneaky.sql"))
        )),
        "{journal}"
    );
    let s0: serde_json::Value =
        serde_json::from_str(&dir.read("migrations/meta/0000_snapshot.json")).unwrap();
    let s1: serde_json::Value =
        serde_json::from_str(&dir.read("migrations/meta/0001_snapshot.json")).unwrap();
    assert_eq!(s0["tables"], s1["tables"]);
    assert_eq!(s1["prev_id"], s0["id"]);
}

#[test]
fn check_modes_write_nothing() {
    let dir = Dir::new(&users(""));
    dir.run().unwrap();
    dir.write("src/schema.rs", &users("    pub bio: Option<String>,\n"));
    let before = dir.files();

    let err = dir.run_with(|e| {
        e.schema_migrations = None;
        e.ci = Some("true".into());
    });
    let err = err.unwrap_err().report();
    assert!(err.contains("SCHEMA_MIGRATIONS=write cargo build -p app"), "{err}");

    // A registry checkout never writes, even with SCHEMA_MIGRATIONS=write.
    let registry = tempfile::tempdir().unwrap();
    let crate_dir = registry.path().join(".cargo/registry/src/index.crates.io-0000/app-1.0.0");
    fs::create_dir_all(crate_dir.join("src")).unwrap();
    for (name, bytes) in &before {
        let rel = Path::new(name).strip_prefix(dir.path()).unwrap();
        fs::create_dir_all(crate_dir.join(rel).parent().unwrap()).unwrap();
        fs::write(crate_dir.join(rel), bytes).unwrap();
    }
    fs::write(crate_dir.join("src/schema.rs"), users("    pub bio: Option<String>,\n")).unwrap();
    let mut env = dir.env();
    env.manifest_dir = crate_dir.clone();
    let err = Generator::new().run_in(&env).unwrap_err().report();
    assert!(err.contains("downloaded dependency"), "{err}");
    assert!(!crate_dir.join("migrations/0001_add_users_bio.sql").exists());

    // `cargo package` verification never writes either.
    let staged = registry.path().join("target/package/app-0.1.0");
    fs::create_dir_all(staged.join("src")).unwrap();
    fs::write(staged.join("src/schema.rs"), users("")).unwrap();
    env.manifest_dir = staged.clone();
    let err = Generator::new().run_in(&env).unwrap_err().report();
    assert!(err.contains("cargo package"), "{err}");
    assert!(!staged.join("migrations").exists());
    assert_eq!(dir.files(), before);
}

#[test]
fn schema_errors_show_file_line_and_column() {
    let dir = Dir::new(&users("    #[column(primary_key, primary_key)]\n    pub x: i64,\n"));
    let err = dir.run().unwrap_err().report();
    assert!(err.contains("src/schema.rs:9:27: error: duplicate #[column(primary_key)]"), "{err}");
    assert!(err.contains("    | "), "the offending line is shown: {err}");

    let dir = Dir::new("this is not rust");
    let err = dir.run().unwrap_err().report();
    assert!(err.contains("src/schema.rs:1:"), "{err}");

    let dir = Dir::new(&users(""));
    let missing =
        Generator::new().schema("src/db/nope.rs").run_in(&dir.env()).unwrap_err().report();
    assert!(
        missing.contains("schema file")
            && missing.contains("nope.rs")
            && missing.contains("does not exist"),
        "{missing}"
    );
    let bad_name = Generator::new().db_name("my db").run_in(&dir.env()).unwrap_err().report();
    assert!(bad_name.contains("is not a Rust type name"), "{bad_name}");
}

#[test]
fn lint_warnings_become_cargo_warnings() {
    let two = users("").replace(
        "migrate_runtime::include_db!();",
        "#[derive(Table)]\npub struct Post {\n    #[column(primary_key)]\n    pub id: i64,\n}\n\nmigrate_runtime::include_db!();",
    );
    let dir = Dir::new(&two);
    dir.run().unwrap();
    dir.write("src/schema.rs", &users(""));
    let err = dir.run().unwrap_err().report();
    assert!(err.contains("MIGRATION_ALLOW_DROP"), "{err}");
    let out = dir.run_with(|e| e.allow_drop = Some("post".into())).unwrap();
    let warning = out
        .cargo_lines
        .iter()
        .find(|l| l.starts_with("cargo:warning=warning[L1]"))
        .expect("a lint warning");
    assert!(warning.contains("post") && !warning.contains('\n'), "{warning}");
}

/// Not a timed assertion: prints how long a build-script run takes when nothing changed, over
/// 100 committed migrations (the target is well under 100 ms).
#[test]
fn no_change_run_over_100_migrations() {
    let dir = Dir::new(&users(""));
    dir.run().unwrap();
    let mut fields = String::new();
    for i in 1..100 {
        fields.push_str(&format!("    pub c{i}: Option<i64>,\n"));
        dir.write("src/schema.rs", &users(&fields));
        let out = dir.run().unwrap();
        assert!(out.generated.is_some(), "step {i}");
    }
    let out = dir.run().unwrap();
    assert_eq!(out.migrations, 100);
    assert!(out.generated.is_none() && out.written.is_empty() && !out.replayed);
    let mut times: Vec<Duration> = (0..5)
        .map(|_| {
            let start = Instant::now();
            let out = dir.run().unwrap();
            let took = start.elapsed();
            assert!(out.written.is_empty());
            took
        })
        .collect();
    times.sort();
    println!(
        "godwit: no-change build-script run over 100 migrations: median {:?} (min {:?}, max {:?})",
        times[2], times[0], times[4]
    );
}

#[test]
fn a_view_broken_by_a_schema_change_is_a_build_error() {
    let dir = Dir::new(&users("    pub bio: Option<String>,\n"));
    dir.run().unwrap();
    dir.write(
        "migrations/0001_bios.sql",
        "CREATE VIEW \"bios\" AS SELECT \"bio\" FROM \"users\";\n",
    );
    dir.run().unwrap();
    dir.write("src/schema.rs", &users(""));
    let before = dir.files();
    let err = dir.run().unwrap_err().report();
    assert!(err.contains("view bios uses column users.bio"), "{err}");
    assert_eq!(dir.files(), before);

    // The fix the error asks for: a hand-written migration dropping the view. It is adopted
    // first, and the schema change, planned against the replay that includes it, comes next.
    dir.write("migrations/0002_drop_bios.sql", "DROP VIEW \"bios\";\n");
    let out = dir.run_with(|e| e.allow_drop = Some("users.bio".into())).unwrap();
    assert_eq!(out.adopted, ["0002_drop_bios"]);
    assert_eq!(out.generated.as_deref(), Some("0003_drop_users_bio"));
}

#[test]
fn a_view_that_no_longer_compiles_after_the_replay_is_a_build_error() {
    let dir = Dir::new(&users(""));
    dir.run().unwrap();
    dir.write(
        "migrations/0001_scratch.sql",
        "CREATE TABLE \"tmp\" (\"x\" INTEGER);\n--> statement-breakpoint\n\
         CREATE VIEW \"v\" AS SELECT \"x\" FROM \"tmp\";\n--> statement-breakpoint\nDROP TABLE \"tmp\";\n",
    );
    let err = dir.run().unwrap_err().report();
    assert!(err.contains("after migration 0001_scratch, view v no longer compiles"), "{err}");
    assert!(err.contains("caused by: ") && err.contains("tmp"), "SQLite's reason follows: {err}");
}

#[test]
fn transaction_control_in_a_hand_written_migration_is_refused_at_build_time() {
    let dir = Dir::new(&users(""));
    dir.run().unwrap();
    // The Drizzle habit: the runtime would refuse this migration on every user's machine.
    dir.write(
        "migrations/0001_backfill.sql",
        "PRAGMA foreign_keys=OFF;\n--> statement-breakpoint\nUPDATE \"users\" SET \"email\" = lower(\"email\");\n",
    );
    let before = dir.files();
    let err = dir.run().unwrap_err().report();
    assert!(
        err.contains("migration 0001_backfill")
            && err.contains("statement 1 is PRAGMA foreign_keys, which the runtime refuses"),
        "{err}"
    );
    assert!(err.contains("switches foreign keys off around it"), "{err}");
    assert_eq!(dir.files(), before);

    // The build replays through the runtime's engine, so it refuses what the runtime refuses,
    // however the statement is spelled (issue 11, problems 3 and 6b): a quoted pragma name, the
    // pragmas that change how the schema is read, transaction control in a later statement.
    for (sql, statement, what) in [
        ("PRAGMA \"locking_mode\" = EXCLUSIVE;\n", 1, "PRAGMA locking_mode"),
        ("SELECT 1;\nPRAGMA main.legacy_alter_table = ON;\n", 2, "PRAGMA legacy_alter_table"),
        ("PRAGMA writable_schema = 1;\n", 1, "PRAGMA writable_schema"),
        ("UPDATE \"users\" SET \"email\" = 'x';\nCOMMIT;\n", 2, "COMMIT"),
    ] {
        dir.write("migrations/0001_backfill.sql", sql);
        let err = dir.run().unwrap_err().report();
        assert!(
            err.contains(&format!("statement {statement} is {what}, which the runtime refuses")),
            "{sql}: {err}"
        );
    }

    // What the runtime accepts, the build accepts (problem 11: an unquoted column named `end`
    // inside a trigger body).
    dir.write(
        "migrations/0001_backfill.sql",
        "CREATE TABLE \"spans\" (\"id\" INTEGER PRIMARY KEY, \"end\" INTEGER);\n\
         --> statement-breakpoint\n\
         DROP TABLE \"spans\";\n\
         --> statement-breakpoint\n\
         CREATE TRIGGER \"users_end\" AFTER UPDATE ON \"users\" BEGIN\n  \
         UPDATE \"users\" SET \"email\" = lower(\"email\") WHERE \"id\" = NEW.\"id\" AND 1 = (SELECT 1 AS end);\n\
         END;\n",
    );
    let out = dir.run().unwrap();
    assert_eq!(out.adopted, ["0001_backfill"]);
}

#[test]
fn a_schema_without_tables_writes_no_migration() {
    let dir = Dir::new("//! nothing yet\n\nmigrate_runtime::include_db!();\n");
    let out = dir.run().unwrap();
    assert!(out.generated.is_none() && out.written.is_empty() && out.migrations == 0, "{out:?}");
    assert!(!dir.path().join("migrations").exists());
    let embedded = dir.read("out/godwit/Db.rs");
    assert!(embedded.contains("name: Db,\n    migrations: [\n    ]"), "{embedded}");
}

/// Three migrations: 0000 creates users, 0001 adds bio, 0002 rebuilds users (email becomes
/// nullable). Returns the directory.
fn three_migrations() -> Dir {
    let dir = Dir::new(&users(""));
    dir.run().unwrap();
    dir.write("src/schema.rs", &users("    pub bio: Option<String>,\n"));
    dir.run().unwrap();
    dir.write(
        "src/schema.rs",
        &users("    pub bio: Option<String>,\n")
            .replace("pub email: String,", "pub email: Option<String>,"),
    );
    let out = dir.run().unwrap();
    assert_eq!(out.generated.as_deref(), Some("0002_users_make_email_nullable"));
    let rebuild = dir.read("migrations/0002_users_make_email_nullable.sql");
    assert!(rebuild.contains("DROP TABLE \"users\""), "0002 rebuilds users:\n{rebuild}");
    dir
}

/// Issue 11, problem 1: an index added by hand to migration 1, whose table migration 2
/// rebuilds, leaves the replay's end state unchanged; the recorded hash catches it, in write
/// and check mode alike, naming the file, both short hashes and MIGRATION_ALLOW_EDIT.
#[test]
fn an_edit_that_a_later_rebuild_erases_fails_the_build() {
    let dir = three_migrations();
    let name = "migrations/0001_add_users_bio.sql";
    let original = dir.read(name);
    let edited = format!(
        "{original}--> statement-breakpoint\nCREATE INDEX \"users_bio\" ON \"users\" (\"bio\");\n"
    );
    dir.write(name, &edited);
    let before = dir.files();
    let old = migrate_runtime::hash_sql(&original);
    let new = migrate_runtime::hash_sql(&edited);
    for check in [false, true] {
        let err = dir
            .run_with(|e| {
                if check {
                    e.schema_migrations = Some("check".into());
                }
            })
            .unwrap_err()
            .report();
        for needle in [
            "0001_add_users_bio",
            "migrations/0001_add_users_bio.sql",
            &old[..7],
            &new[..7],
            "MIGRATION_ALLOW_EDIT=0001_add_users_bio",
            "Edited",
        ] {
            assert!(err.contains(needle), "check={check}: {needle:?} missing:\n{err}");
        }
        assert!(!err.contains("0000_create_users"), "only the edited file is named:\n{err}");
        assert_eq!(dir.files(), before, "nothing written");
    }
}

/// Issue 11, problem 1: a comment-only edit changes nothing the replay can see; the hash
/// catches it. Two edited files are both named.
#[test]
fn a_comment_only_edit_fails_the_build_naming_each_file() {
    let dir = three_migrations();
    for name in
        ["migrations/0000_create_users.sql", "migrations/0002_users_make_email_nullable.sql"]
    {
        dir.write(name, &format!("-- reviewed\n{}", dir.read(name)));
    }
    let err = dir.run().unwrap_err().report();
    assert!(
        err.contains("migrations/0000_create_users.sql")
            && err.contains("migrations/0002_users_make_email_nullable.sql"),
        "{err}"
    );
    assert!(!err.contains("0001_add_users_bio"), "{err}");
    assert!(
        err.contains("MIGRATION_ALLOW_EDIT=0000_create_users,0002_users_make_email_nullable"),
        "{err}"
    );
}

/// `MIGRATION_ALLOW_EDIT` re-stamps exactly the named entries (after the replay proved the
/// chain), says what that means for databases that applied the old text, and is a write: check
/// mode refuses it. A tag that is not edited is pointed out.
#[test]
fn allow_edit_restamps_the_named_entries() {
    let dir = three_migrations();
    let name = "migrations/0001_add_users_bio.sql";
    let old = migrate_runtime::hash_sql(&dir.read(name));
    let edited = format!("-- the bio column\n{}", dir.read(name));
    dir.write(name, &edited);
    let journal_before = dir.read("migrations/meta/_journal.json");
    let before = dir.files();

    // Check mode: allowed, but re-stamping is a write.
    let err = dir
        .run_with(|e| {
            e.allow_edit = Some("0001_add_users_bio".into());
            e.schema_migrations = None;
            e.ci = Some("true".into());
        })
        .unwrap_err()
        .report();
    assert!(
        err.contains("MIGRATION_ALLOW_EDIT re-stamps the edited migration 0001_add_users_bio"),
        "{err}"
    );
    assert!(err.contains("SCHEMA_MIGRATIONS=write cargo build -p app"), "{err}");
    assert_eq!(dir.files(), before);

    let out =
        dir.run_with(|e| e.allow_edit = Some("0001_add_users_bio, 0007_nope".into())).unwrap();
    assert!(out.replayed, "the replay proves the chain before a re-stamp");
    let written: Vec<String> = out
        .written
        .iter()
        .map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string())
        .collect();
    assert_eq!(written, ["migrations/meta/_journal.json"]);
    let journal = dir.read("migrations/meta/_journal.json");
    let new = migrate_runtime::hash_sql(&edited);
    assert_ne!(old, new);
    assert_eq!(journal, journal_before.replace(&old, &new), "only that entry's hash changed");
    let lines = out.cargo_lines.join("\n");
    assert!(
        lines.contains("re-stamped migrations/0001_add_users_bio.sql in the journal")
            && lines.contains("refuses to open (Edited)"),
        "{lines}"
    );
    assert!(
        lines.contains("MIGRATION_ALLOW_EDIT names 0007_nope, which is not an edited"),
        "{lines}"
    );

    // From now on the edited text is the recorded one: no error, no replay, nothing written.
    let again = dir.run().unwrap();
    assert!(again.written.is_empty() && !again.replayed, "{again:?}");
}

/// Rewrites the folder's journal as version 1 (no hashes), as an older schema-core wrote it.
fn downgrade_journal(dir: &Dir) -> String {
    let path = "migrations/meta/_journal.json";
    let mut journal: serde_json::Value = serde_json::from_str(&dir.read(path)).unwrap();
    journal["version"] = 1.into();
    for entry in journal["entries"].as_array_mut().unwrap() {
        entry.as_object_mut().unwrap().remove("hash");
    }
    let text = schema_core::model::canonical_json(&journal);
    dir.write(path, &text);
    text
}

/// A version-1 journal: check mode accepts it with a warning (the replay proves the files) and
/// writes nothing; a write-mode build upgrades it, adding the hashes and changing nothing else;
/// after that, edits are caught.
#[test]
fn a_version_1_journal_is_upgraded_by_a_write_mode_build() {
    let dir = three_migrations();
    let v2 = dir.read("migrations/meta/_journal.json");
    let v1 = downgrade_journal(&dir);
    assert!(v1.contains("\"version\": 1") && !v1.contains("hash"), "{v1}");
    let before = dir.files();

    let out = dir.run_with(|e| e.schema_migrations = Some("check".into())).unwrap();
    assert!(out.replayed && out.written.is_empty(), "{out:?}");
    let lines = out.cargo_lines.join("\n");
    assert!(
        lines.contains("cargo:warning=migrations/meta/_journal.json is version 1")
            && lines.contains("SCHEMA_MIGRATIONS=write cargo build"),
        "{lines}"
    );
    assert_eq!(dir.files(), before);

    // Version 1 has no hashes: an edit the replay cannot see is not caught (yet).
    let name = "migrations/0000_create_users.sql";
    let original = dir.read(name);
    dir.write(name, &format!("-- note\n{original}"));
    dir.run_with(|e| e.schema_migrations = Some("check".into())).unwrap();
    dir.write(name, &original);

    let out = dir.run().unwrap();
    assert!(out.replayed, "the upgrade proves the files by replay first");
    assert_eq!(out.written, [dir.path().join("migrations/meta/_journal.json")]);
    assert_eq!(dir.read("migrations/meta/_journal.json"), v2, "only version and hashes changed");
    assert!(
        out.cargo_lines
            .iter()
            .any(|l| l.contains("upgraded migrations/meta/_journal.json to version 2")),
        "{:#?}",
        out.cargo_lines
    );
    let again = dir.run().unwrap();
    assert!(again.written.is_empty() && !again.replayed, "{again:?}");
    dir.write(name, &format!("-- note\n{original}"));
    let err = dir.run().unwrap_err().report();
    assert!(err.contains("migrations/0000_create_users.sql was"), "{err}");

    // A version-1 journal whose files no longer replay to the snapshots is not upgraded.
    dir.write(name, &original);
    downgrade_journal(&dir);
    let last = "migrations/0002_users_make_email_nullable.sql";
    let rebuild = dir.read(last);
    assert!(rebuild.contains("\"bio\" TEXT"), "{rebuild}");
    dir.write(last, &rebuild.replace("\"bio\" TEXT", "\"bio\" BLOB"));
    let before = dir.files();
    let err = dir.run().unwrap_err().report();
    assert!(err.contains("differs from its snapshot is 0002_users_make_email_nullable"), "{err}");
    assert_eq!(dir.files(), before);
}

/// The replay runs the runtime's foreign-key check: a hand-written migration that leaves a row
/// pointing nowhere fails the build (as it would fail on every user's machine), naming the row,
/// its column and value.
#[test]
fn a_hand_written_migration_that_orphans_rows_fails_the_build() {
    let schema = "use migrate_runtime::Table;\n\n#[derive(Table)]\n#[table(name = \"teams\")]\npub struct Team {\n    \
                  #[column(primary_key)]\n    pub id: i64,\n}\n\n#[derive(Table)]\n#[table(name = \"members\")]\npub struct Member {\n    \
                  #[column(primary_key)]\n    pub id: i64,\n    #[column(references = Team)]\n    pub team_id: i64,\n}\n\n\
                  migrate_runtime::include_db!();\n";
    let dir = Dir::new(schema);
    dir.run().unwrap();
    dir.write(
        "migrations/0001_seed.sql",
        "INSERT INTO \"teams\" (\"id\") VALUES (1);\n--> statement-breakpoint\n\
         INSERT INTO \"members\" (\"id\", \"team_id\") VALUES (7, 1), (8, 42);\n",
    );
    let before = dir.files();
    let err = dir.run().unwrap_err().report();
    assert!(err.contains("migration 0001_seed") && err.contains("fails when replayed"), "{err}");
    assert!(err.contains("members rowid 8 -> teams (team_id = 42)"), "{err}");
    assert_eq!(dir.files(), before);
    dir.write(
        "migrations/0001_seed.sql",
        "INSERT INTO \"teams\" (\"id\") VALUES (1);\n--> statement-breakpoint\n\
         INSERT INTO \"members\" (\"id\", \"team_id\") VALUES (7, 1);\n",
    );
    assert_eq!(dir.run().unwrap().adopted, ["0001_seed"]);
}

/// A default whose text holds a line that is exactly the breakpoint cannot be written in the
/// migration file format: the parser refuses it at the attribute (before any statement is
/// generated; the generator's own check of the statements stays behind it), instead of
/// writing a file that splits inside a string literal.
#[test]
fn a_generated_statement_holding_a_breakpoint_line_is_refused() {
    let dir = Dir::new(&users(
        "    #[column(default = \"a\\n--> statement-breakpoint\\nb\")]\n    pub motto: String,\n",
    ));
    let err = dir.run().unwrap_err().report();
    assert!(
        err.contains("src/schema.rs:9:24: error: #[column(default)]: a `default` string cannot hold a line `--> statement-breakpoint`"),
        "{err}"
    );
    assert!(!err.contains("bug in schema-core"), "{err}");
    assert!(!dir.path().join("migrations").exists());
    // With spaces around it, the line is content: generated, and the default survives.
    dir.write(
        "src/schema.rs",
        &users("    #[column(default = \"a\\n --> statement-breakpoint\\nb\")]\n    pub motto: String,\n"),
    );
    assert_eq!(dir.run().unwrap().generated.as_deref(), Some("0000_create_users"));
}

/// A schema with table `table` (renamed from `from`) holding `id`, `email` and `bio` (renamed
/// from `bio_from`).
fn renamed(table: &str, from: Option<&str>, bio: &str, bio_from: Option<&str>) -> String {
    let table_attr = match from {
        Some(f) => format!("#[table(name = \"{table}\", renamed_from = \"{f}\")]"),
        None => format!("#[table(name = \"{table}\")]"),
    };
    let bio_attr =
        bio_from.map_or_else(String::new, |f| format!("    #[column(renamed_from = \"{f}\")]\n"));
    format!(
        "use migrate_runtime::Table;\n\n#[derive(Table)]\n{table_attr}\npub struct User {{\n    \
         #[column(primary_key)]\n    pub id: i64,\n    pub email: String,\n{bio_attr}    pub {bio}: Option<String>,\n}}\n\n\
         migrate_runtime::include_db!();\n"
    )
}

#[test]
fn renaming_a_column_or_table_that_a_view_or_trigger_uses_follows_sqlites_rewrite() {
    // Issue 12 problem 9: SQLite's RENAME rewrote the view and trigger text and the build's
    // proof, expecting the old text, called it a bug in schema-core.
    let dir = Dir::new(&renamed("users", None, "bio", None));
    dir.run().unwrap();
    dir.write(
        "migrations/0001_bio_view.sql",
        "CREATE VIEW \"bios\" AS SELECT \"bio\" FROM \"users\";\n--> statement-breakpoint\n\
         CREATE TRIGGER \"bio_touch\" AFTER UPDATE OF \"bio\" ON \"users\" BEGIN SELECT NEW.\"bio\"; END;\n",
    );
    dir.run().unwrap();
    dir.write("src/schema.rs", &renamed("users", None, "about", Some("bio")));
    let out = dir.run().unwrap();
    assert_eq!(out.generated.as_deref(), Some("0002_rename_users_bio_to_about"));
    dir.write("src/schema.rs", &renamed("people", Some("users"), "about", Some("bio")));
    let out = dir.run().unwrap();
    assert_eq!(out.generated.as_deref(), Some("0003_rename_users_to_people"));
    // The replay of the whole chain agrees with the snapshots: a no-change run passes.
    let out = dir.run().unwrap();
    assert_eq!(out.generated, None);
}

#[test]
fn dropping_a_table_that_has_a_trigger() {
    // Issue 12 problem 9: the trigger goes with its table; the proof expected it to stay.
    let dir = Dir::new(&users(""));
    dir.run().unwrap();
    dir.write(
        "migrations/0001_trigger.sql",
        "CREATE TRIGGER \"users_touch\" AFTER INSERT ON \"users\" BEGIN SELECT 1; END;\n",
    );
    dir.run().unwrap();
    dir.write("src/schema.rs", "use migrate_runtime::Table;\n\n#[derive(Table)]\npub struct Other {\n    #[column(primary_key)]\n    pub id: i64,\n}\n\nmigrate_runtime::include_db!();\n");
    let out = dir.run_with(|e| e.allow_drop = Some("users".into())).unwrap();
    assert_eq!(out.generated.as_deref(), Some("0002_drop_users_and_create_other"));
}

#[test]
fn a_rebuild_that_renames_a_column_a_view_uses_recreates_the_view_with_the_new_name() {
    let dir = Dir::new(&renamed("users", None, "bio", None));
    dir.run().unwrap();
    dir.write(
        "migrations/0001_bio_view.sql",
        "CREATE VIEW \"bios\" AS SELECT \"bio\" FROM \"users\" WHERE bio IS NOT NULL;\n",
    );
    dir.run().unwrap();
    dir.write(
        "src/schema.rs",
        "use migrate_runtime::Table;\n\n#[derive(Table)]\n#[table(name = \"users\")]\npub struct User {\n    \
         #[column(primary_key)]\n    pub id: i64,\n    pub email: String,\n    \
         #[column(renamed_from = \"bio\", backfill = \"''\")]\n    pub about: String,\n}\n\n\
         migrate_runtime::include_db!();\n",
    );
    let out = dir.run().unwrap();
    let tag = out.generated.unwrap();
    assert_eq!(tag, "0002_users_rename_bio_to_about_and_make_about_not_null");
    let sql = dir.read(&format!("migrations/{tag}.sql"));
    assert!(
        sql.contains(
            "CREATE VIEW \"bios\" AS SELECT \"about\" FROM \"users\" WHERE \"about\" IS NOT NULL;"
        ),
        "{sql}"
    );
    assert_eq!(dir.run().unwrap().generated, None);
}

fn counters(field: &str) -> String {
    format!(
        "use migrate_runtime::Table;\n\n#[derive(Table)]\n#[table(name = \"counters\", strict)]\npub struct Counter {{\n    \
         #[column(primary_key)]\n    pub id: i64,\n{field}}}\n\nmigrate_runtime::include_db!();\n"
    )
}

/// Deliver 5: the replayed database has no rows, so a backfill that fails only when it runs
/// (here an integer overflow on every row whose id is positive) passed the build and failed on
/// every user's database with SQLite's bare "integer overflow". The proof on representative
/// rows of the old table fails the build naming the backfill, and writes nothing.
#[test]
fn a_backfill_that_fails_on_rows_the_replay_lacks_fails_the_build_naming_it() {
    let dir = Dir::new(&counters(""));
    dir.run().unwrap();
    let before = dir.files();
    let backfill = "abs(-9223372036854775807 - \\\"id\\\")";
    dir.write(
        "src/schema.rs",
        &counters(&format!("    #[column(backfill = \"{backfill}\")]\n    pub n: i64,\n")),
    );
    let err = dir.run().unwrap_err();
    assert!(matches!(err, Error::SampleProofFailed { .. }), "{err:?}");
    let report = err.report();
    assert!(
        report.contains("fails at statement")
            && report.contains("rows of each column's own type")
            && report.contains(
                "#[column(backfill = \"abs(-9223372036854775807 - \\\"id\\\")\")] on counters.n"
            )
            && report.contains("caused by: integer overflow"),
        "{report}"
    );
    assert_eq!(dir.files(), before, "nothing is written");
    // A backfill that fits every row goes through.
    dir.write("src/schema.rs", &counters("    #[column(backfill = \"0\")]\n    pub n: i64,\n"));
    assert!(dir.run().unwrap().generated.is_some());
}

/// A backfill whose value a guard refuses on representative rows (a text for a STRICT
/// INTEGER column, which SQLite cannot tell statically) is a warning naming the backfill: the
/// migration is still written, the guard names the attribute on users' rows.
#[test]
fn a_backfill_a_guard_refuses_on_representative_rows_is_a_warning() {
    let dir = Dir::new(&counters(""));
    dir.run().unwrap();
    dir.write(
        "src/schema.rs",
        &counters("    #[column(backfill = \"lower('X')\")]\n    pub n: i64,\n"),
    );
    let out = dir.run().unwrap();
    assert!(out.generated.is_some());
    let warning = out
        .cargo_lines
        .iter()
        .find(|l| l.contains("fails on rows of each column's own type"))
        .unwrap_or_else(|| panic!("no sample-row warning in {:#?}", out.cargo_lines));
    assert!(warning.contains("fix #[column(backfill = \"..\")] on n"), "{warning}");
}

/// A `convert` left in the schema after its migration was generated is refused on the next
/// build, whose schema did not change (no plan runs there).
#[test]
fn a_convert_left_behind_fails_the_unchanged_build() {
    let dir = Dir::new(&users("    pub age: i64,\n"));
    dir.run().unwrap();
    dir.write(
        "src/schema.rs",
        &users("    #[column(convert = \"CAST(\\\"age\\\" AS TEXT)\")]\n    pub age: String,\n"),
    );
    assert!(dir.run().unwrap().generated.is_some());
    let err = dir.run().unwrap_err().report();
    assert!(err.contains("has #[column(convert") && err.contains("remove convert"), "{err}");
    dir.write("src/schema.rs", &users("    pub age: String,\n"));
    assert!(dir.run().unwrap().generated.is_none());
}

/// A struct for `users()`-style schemas: `#[derive(Table)] pub struct <name> { id }`.
fn table_struct(name: &str) -> String {
    format!(
        "#[derive(migrate_runtime::Table)]\npub struct {name} {{\n    #[column(primary_key)]\n    pub id: i64,\n}}\n"
    )
}

#[test]
fn modules_the_schema_file_declares_are_part_of_the_schema() {
    let schema = users("").replace(
        "migrate_runtime::include_db!();",
        "#[path = \"tables/billing.rs\"]\nmod more;\nmod notes;\n\nmigrate_runtime::include_db!();",
    );
    let dir = Dir::new(&schema);
    dir.write("src/tables/billing.rs", &table_struct("Invoice"));
    // `mod notes;` in the non-mod-rs file src/schema.rs lives in src/schema/notes.rs, whose own
    // `mod deeper;` is src/schema/notes/deeper/mod.rs.
    dir.write("src/schema/notes.rs", &format!("{}\nmod deeper;\n", table_struct("Note")));
    dir.write("src/schema/notes/deeper/mod.rs", &table_struct("DeepNote"));
    let out = dir.run().unwrap();
    assert_eq!(out.generated.as_deref(), Some("0000_create_deep_note_invoice_note_users"));
    let sql = dir.read("migrations/0000_create_deep_note_invoice_note_users.sql");
    for table in ["users", "invoice", "note", "deep_note"] {
        assert!(sql.contains(&format!("CREATE TABLE \"{table}\"")), "{table}: {sql}");
    }
    // The schema file's structs get a fingerprint guard; those of module files (maybe private
    // to their module) are checked by the derive against the seen list.
    let embedded = dir.read("out/godwit/Db.rs");
    assert!(embedded.contains("<User as ::migrate_runtime::Table>::FINGERPRINT"), "{embedded}");
    assert!(!embedded.contains("Invoice"), "{embedded}");
    // Every followed file is watched.
    for rel in ["src/tables/billing.rs", "src/schema/notes.rs", "src/schema/notes/deeper/mod.rs"] {
        let line = format!("cargo:rerun-if-changed={}", dir.path().join(rel).display());
        assert!(out.cargo_lines.contains(&line), "{line}: {:#?}", out.cargo_lines);
    }
    // The list of structs the derive checks against names each file.
    let seen = dir.read("out/godwit/Db.tables");
    assert_eq!(seen.lines().count(), 4, "{seen}");
    let invoice = seen.lines().find(|l| l.contains("billing.rs\tInvoice\t")).expect(&seen);
    assert!(
        invoice.ends_with("\"") && invoice.contains("\\\"name\\\": \\\"invoice\\\""),
        "{invoice}"
    );

    // An error in a module file is shown in that file.
    dir.write(
        "src/schema/notes.rs",
        "#[derive(Table)]\npub struct Note {\n    #[column(nope)]\n    pub id: i64,\n}\n",
    );
    let err = dir.run().unwrap_err().report();
    assert!(err.contains("src/schema/notes.rs:3:14: error: unknown #[column] key `nope`"), "{err}");
    // A declared module whose file is missing names the paths rustc would try.
    fs::remove_file(dir.path().join("src/schema/notes.rs")).unwrap();
    let err = dir.run().unwrap_err().report();
    assert!(
        err.contains("module `notes` is declared here but src/schema/notes.rs nor src/schema/notes/mod.rs does not exist")
            || err.contains("module `notes` is declared here but"),
        "{err}"
    );
    assert!(err.contains("src/schema.rs:"), "{err}");
}

#[test]
fn a_table_outside_the_schema_is_refused_with_its_file_and_line() {
    let dir = Dir::new(&users(""));
    dir.write(
        "src/main.rs",
        &format!("mod schema;\n\n{}\nfn main() {{}}\n", table_struct("Stray")),
    );
    let err = dir.run().unwrap_err().report();
    assert!(
        err.contains(
            "src/main.rs:4:12: error: #[derive(Table)] struct `Stray` is outside the schema: the \
             build script reads src/schema.rs and the modules it declares"
        ),
        "{err}"
    );
    assert!(
        err.contains("move it into src/schema.rs or into a module that file declares"),
        "{err}"
    );
    assert!(!dir.path().join("migrations").exists(), "nothing is written");

    // Another database's schema file (it invokes include_db!) and its modules are not strays.
    dir.write("src/main.rs", "mod schema;\nmod other;\nfn main() {}\n");
    dir.write(
        "src/other.rs",
        &format!("{}\nmod parts;\nmigrate_runtime::include_db!(OtherDb);\n", table_struct("Other")),
    );
    dir.write("src/other/parts.rs", &table_struct("Part"));
    let out = dir.run().unwrap();
    assert_eq!(out.generated.as_deref(), Some("0000_create_users"));
    // A module nobody declares with a table is refused.
    dir.write("src/orphan/mod.rs", &table_struct("Orphan"));
    let err = dir.run().unwrap_err().report();
    assert!(
        err.contains("src/orphan/mod.rs:2:12: error: #[derive(Table)] struct `Orphan`"),
        "{err}"
    );
}

#[test]
fn cfg_on_schema_items_is_refused_before_anything_is_written() {
    let dir = Dir::new(&users("    #[cfg(feature = \"extra\")]\n    pub extra: Option<i64>,\n"));
    let err = dir.run().unwrap_err().report();
    assert!(
        err.contains("src/schema.rs:9:5: error: #[cfg] on a field of a #[derive(Table)] struct"),
        "{err}"
    );
    assert!(err.contains("split the table into separate schema files or databases"), "{err}");
    assert!(!dir.path().join("migrations").exists(), "nothing is written");

    let dir = Dir::new(&users("").replace("#[derive(Table)]", "#[cfg(test)]\n#[derive(Table)]"));
    let err = dir.run().unwrap_err().report();
    assert!(err.contains("#[cfg] on a #[derive(Table)] struct"), "{err}");
    assert!(err.contains("its own schema file and database"), "{err}");

    let attr = users("").replace(
        "pub email: String,",
        "#[cfg_attr(feature = \"x\", column(unique))]\n    pub email: String,",
    );
    let err = Dir::new(&attr).run().unwrap_err().report();
    assert!(err.contains("#[cfg_attr] around a schema attribute"), "{err}");
    // A cfg_attr that is not about the schema is fine.
    let harmless = users("").replace(
        "#[derive(Table)]",
        "#[derive(Table)]\n#[cfg_attr(feature = \"serde\", derive(Debug))]",
    );
    Dir::new(&harmless).run().unwrap();

    // A table in a module declared behind #[cfg].
    let schema = users("").replace(
        "migrate_runtime::include_db!();",
        "#[cfg(feature = \"billing\")]\nmod billing;\n\nmigrate_runtime::include_db!();",
    );
    let dir = Dir::new(&schema);
    dir.write("src/schema/billing.rs", &table_struct("Invoice"));
    let err = dir.run().unwrap_err().report();
    assert!(err.contains("src/schema/billing.rs:2:12: error: #[derive(Table)] struct `Invoice` is in a module behind #[cfg]"), "{err}");
    assert!(!dir.path().join("migrations").exists(), "nothing is written");
}

#[test]
fn sql_expressions_are_checked_by_sqlite_at_their_attribute() {
    let dir = Dir::new(&users("    #[column(check = \"nope > 0\")]\n    pub karma: i64,\n"));
    let err = dir.run().unwrap_err().report();
    assert!(
        err.contains(
            "src/schema.rs:9:22: error: #[column(check)] = \"nope > 0\" is refused by SQLite in \
             table `users`: no such column: nope"
        ),
        "{err}"
    );
    assert!(!err.contains("bug in schema-core"), "{err}");
    assert!(!dir.path().join("migrations").exists(), "nothing is written");

    for (fields, needle) in [
        (
            "    #[column(default_sql = \"random() +\")]\n    pub r: i64,\n",
            "#[column(default_sql)]",
        ),
        ("    #[column(default_sql = \"email\")]\n    pub r: String,\n", "default value of column"),
        ("    #[column(backfill = \"1 +\")]\n    pub r: i64,\n", "#[column(backfill)]"),
    ] {
        let err = Dir::new(&users(fields)).run().unwrap_err().report();
        assert!(err.contains(needle) && err.contains("refused by SQLite"), "{needle}: {err}");
        assert!(!err.contains("bug in schema-core"), "{err}");
    }
    let index = users("    pub bio: Option<String>,\n").replace(
        "#[derive(Table)]",
        "#[derive(Table)]\n#[index(columns(bio), where = \"biography IS NOT NULL\")]",
    );
    let err = Dir::new(&index).run().unwrap_err().report();
    assert!(
        err.contains("#[index(where)] = \"biography IS NOT NULL\" is refused by SQLite"),
        "{err}"
    );
    let check = users("")
        .replace("#[derive(Table)]", "#[derive(Table)]\n#[check(expr = \"length(mail) > 3\")]");
    let err = Dir::new(&check).run().unwrap_err().report();
    assert!(err.contains("#[check(expr)] = \"length(mail) > 3\" is refused by SQLite in table `users`: no such column: mail"), "{err}");

    // A check left stale by a column rename names the attribute, not schema-core.
    let dir = Dir::new(&users("    #[column(check = \"karma >= 0\")]\n    pub karma: i64,\n"));
    dir.run().unwrap();
    dir.write(
        "src/schema.rs",
        &users("    #[column(renamed_from = \"karma\", check = \"karma >= 0\")]\n    pub points: i64,\n"),
    );
    let err = dir.run().unwrap_err().report();
    assert!(err.contains("#[column(check)] = \"karma >= 0\" is refused by SQLite in table `users`: no such column: karma"), "{err}");
}

#[test]
fn user_text_that_would_break_the_migration_file_is_refused_at_its_attribute() {
    for (fields, at, needle) in [
        (
            "    #[column(check = \"karma > 0 -- positive\")]\n    pub karma: i64,\n",
            "src/schema.rs:9:22",
            "check holds an SQL comment (`--`)",
        ),
        (
            "    #[column(default = \"a\\n--> statement-breakpoint\\nb\")]\n    pub s: String,\n",
            "src/schema.rs:9:24",
            "#[column(default)]: a `default` string cannot hold a line `--> statement-breakpoint`",
        ),
        (
            "    #[column(default_sql = \"0\\n--> statement-breakpoint\\nDROP TABLE users\")]\n    pub s: i64,\n",
            "src/schema.rs:9:28",
            "default_sql holds a line `--> statement-breakpoint`",
        ),
        (
            "    #[column(backfill = \"0); DROP TABLE users; --\")]\n    pub s: i64,\n",
            "src/schema.rs:9:25",
            "backfill has a `)` without its `(`",
        ),
        (
            "    #[column(name = \"a\\nb\")]\n    pub s: i64,\n",
            "src/schema.rs:9:21",
            "the column name \"a\\nb\" contains a line break",
        ),
    ] {
        let dir = Dir::new(&users(fields));
        let err = dir.run().unwrap_err().report();
        assert!(err.contains(&format!("{at}: error: {needle}")), "{needle}: {err}");
        assert!(!dir.path().join("migrations").exists(), "nothing is written");
    }
    // With spaces around it the marker is content (migration files split only at the exact
    // line), so such a default is written.
    let spaced = users(
        "    #[column(default = \"a\\n --> statement-breakpoint \\nb\")]\n    pub s: String,\n",
    );
    assert_eq!(Dir::new(&spaced).run().unwrap().generated.as_deref(), Some("0000_create_users"));
    let name = users("").replace("#[table(name = \"users\")]", "#[table(name = \"users\\n-- x\")]");
    let err = Dir::new(&name).run().unwrap_err().report();
    assert!(err.contains("the table name \"users\\n-- x\" contains a line break"), "{err}");
}

#[test]
fn a_u64_field_without_rusqlite_s_fallible_uint_is_refused_before_anything_is_written() {
    let fields = "    #[column(sql_type = \"INTEGER\")]\n    pub hits: u64,\n";
    let dir = Dir::new(&users(fields));
    dir.write("Cargo.toml", "[package]\nname = \"app\"\n\n[workspace]\n");
    let err = dir.run().unwrap_err().report();
    assert!(
        err.contains(
            "src/schema.rs:10:15: error: field `hits` is read and written through rusqlite's \
             `fallible_uint` feature, which Cargo.toml does not enable"
        ),
        "{err}"
    );
    assert!(
        err.contains("rusqlite = { version = \"0.43\", features = [\"fallible_uint\"] }"),
        "{err}"
    );
    assert!(!dir.path().join("migrations").exists(), "nothing is written");

    dir.write(
        "Cargo.toml",
        "[package]\nname = \"app\"\n\n[workspace]\n\n[dependencies]\nrusqlite = { version = \"0.43\", features = [\"fallible_uint\"] }\n",
    );
    assert_eq!(dir.run().unwrap().generated.as_deref(), Some("0000_create_users"));
}

#[test]
fn a_cfg_module_whose_file_is_absent_is_skipped() {
    let schema = users("").replace(
        "migrate_runtime::include_db!();",
        "#[cfg(feature = \"extras\")]\nmod extras;\n#[cfg(test)]\nmod tests {}\n\nmigrate_runtime::include_db!();",
    );
    let out = Dir::new(&schema).run().unwrap();
    assert_eq!(out.generated.as_deref(), Some("0000_create_users"));
}

#[test]
fn schema_wide_errors_are_shown_in_the_module_file_they_point_into() {
    let schema = users("").replace(
        "migrate_runtime::include_db!();",
        "mod billing;\n\nmigrate_runtime::include_db!();",
    );
    let dir = Dir::new(&schema);
    // `references` across files resolves: Invoice points at User of the schema file.
    dir.write(
        "src/schema/billing.rs",
        "#[derive(migrate_runtime::Table)]\npub struct Invoice {\n    #[column(primary_key)]\n    pub id: i64,\n    #[column(references = super::User)]\n    pub user_id: i64,\n}\n",
    );
    let out = dir.run().unwrap();
    assert!(out.generated.is_some());
    let sql = dir.read(&format!("migrations/{}.sql", out.generated.unwrap()));
    assert!(sql.contains("REFERENCES \"users\""), "{sql}");
    // An unknown target is shown at its line in billing.rs, not in schema.rs.
    dir.write(
        "src/schema/billing.rs",
        "#[derive(migrate_runtime::Table)]\npub struct Invoice {\n    #[column(primary_key)]\n    pub id: i64,\n    #[column(references = Customer)]\n    pub customer_id: i64,\n}\n",
    );
    let err = dir.run().unwrap_err().report();
    assert!(
        err.contains("src/schema/billing.rs:5:27: error: `Customer` is not a Table in this schema"),
        "{err}"
    );
}
