//! Shared fixtures of the CLI tests: a real crate directory whose migrations folder the real
//! generator writes, real SQLite files migrated by the real runtime, and the binary run as a
//! process with its output filtered for snapshots.

#![allow(dead_code)] // each test binary uses its own subset

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use schema_core::build::format::Journal;
use schema_core::build::{BuildEnv, Generator};

/// The first schema: one table.
pub const SCHEMA_V1: &str = r#"use migrate_runtime::Table;

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

/// The second schema: a nullable column and an index more.
pub const SCHEMA_V2: &str = r#"use migrate_runtime::Table;

#[derive(Table)]
#[table(name = "users")]
#[index(columns(bio))]
pub struct User {
    #[column(primary_key, autoincrement)]
    pub id: i64,
    #[column(unique)]
    pub email: String,
    pub bio: Option<String>,
}

migrate_runtime::include_db!();
"#;

/// The hand-written migration adopted after v2: a view and a trigger.
pub const CUSTOM_SQL: &str = "CREATE VIEW \"user_emails\" AS SELECT \"email\" FROM \"users\";\n\
--> statement-breakpoint\n\
CREATE TRIGGER \"users_lower\" AFTER INSERT ON \"users\" BEGIN UPDATE \"users\" SET \"email\" = lower(\"email\") WHERE \"id\" = NEW.\"id\"; END;\n";

/// A crate directory in a temp dir: `Cargo.toml`, `src/schema.rs`, `migrations/`.
pub struct App {
    pub tmp: tempfile::TempDir,
}

impl App {
    /// An app whose migrations folder holds 0000 (v1) only.
    pub fn v1() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir_all(tmp.path().join("src")).unwrap();
        fs::write(
            tmp.path().join("Cargo.toml"),
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2024\"\n",
        )
        .unwrap();
        let app = Self { tmp };
        app.write_schema(SCHEMA_V1);
        app.generate();
        app
    }

    /// 0000 (v1), 0001 (v2).
    pub fn v2() -> Self {
        let app = Self::v1();
        app.write_schema(SCHEMA_V2);
        app.generate();
        app
    }

    /// 0000 (v1), 0001 (v2), 0002 the hand-written view and trigger, adopted.
    pub fn v3() -> Self {
        let app = Self::v2();
        fs::write(app.migrations().join("0002_user_emails.sql"), CUSTOM_SQL).unwrap();
        app.generate();
        app
    }

    pub fn dir(&self) -> &Path {
        self.tmp.path()
    }

    pub fn migrations(&self) -> PathBuf {
        self.dir().join("migrations")
    }

    pub fn write_schema(&self, text: &str) {
        fs::write(self.dir().join("src/schema.rs"), text).unwrap();
    }

    /// Runs the real generator in write mode, as `cargo build` would.
    pub fn generate(&self) {
        let mut env = BuildEnv::new(self.dir());
        env.schema_migrations = Some("write".into());
        Generator::new().run_in(&env).unwrap();
    }

    /// The folder's migrations as the runtime embeds them (leaked: the runtime's type holds
    /// `&'static str`s).
    pub fn runtime_migrations(&self) -> Vec<migrate_runtime::Migration> {
        let journal: Journal = serde_json::from_str(
            &fs::read_to_string(self.migrations().join("meta/_journal.json")).unwrap(),
        )
        .unwrap();
        let mut chain: Option<String> = None;
        journal
            .entries
            .iter()
            .map(|e| {
                let sql =
                    fs::read_to_string(self.migrations().join(format!("{}.sql", e.tag))).unwrap();
                let hash = migrate_runtime::hash_sql(&sql);
                let next = migrate_runtime::chain_hash(chain.as_deref(), &hash);
                chain = Some(next.clone());
                migrate_runtime::Migration {
                    idx: e.idx,
                    tag: leak(e.tag.clone()),
                    sql: leak(sql),
                    hash: leak(hash),
                    chain: leak(next),
                }
            })
            .collect()
    }

    /// A database file `name` in the app dir with the first `n` migrations applied by the
    /// runtime.
    pub fn database(&self, name: &str, n: usize) -> PathBuf {
        let path = self.dir().join(name);
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        let all = self.runtime_migrations();
        migrate_runtime::migrate(&mut conn, &all[..n]).unwrap();
        path
    }

    /// The `godwit` binary, run in the app dir.
    pub fn godwit(&self, args: &[&str]) -> Run {
        let output = Command::cargo_bin("godwit")
            .unwrap()
            .current_dir(self.dir())
            .env_remove("MIGRATION_NAME")
            .env_remove("MIGRATION_ALLOW_DROP")
            .env_remove("MIGRATION_ALLOW_EDIT")
            .env_remove("CI")
            .args(args)
            .output()
            .unwrap();
        Run {
            code: output.status.code().expect("exited"),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// One run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The exit code and both streams, as a snapshot shows them.
    pub fn shown(&self) -> String {
        format!("exit: {}\n--- stdout\n{}--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

/// Snapshots `run` with times, durations and hashes filtered (they vary, or follow the
/// renderer's exact text; tests assert the hashes that matter directly).
#[macro_export]
macro_rules! snap {
    ($name:expr, $run:expr) => {{
        let mut settings = insta::Settings::clone_current();
        settings.add_filter(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", "[TIME]");
        settings.add_filter(r"in \d+ ms", "in [N] ms");
        settings.add_filter(r"\b[0-9a-f]{7}\b", "[HASH]");
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| insta::assert_snapshot!($name, $run.shown()));
    }};
}

/// The hash of a file, short, as the CLI prints it.
pub fn short_hash(path: &Path) -> String {
    migrate_engine::short(&migrate_engine::hash_sql(&fs::read_to_string(path).unwrap())).to_owned()
}
