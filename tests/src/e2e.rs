//! Temporary application crates built with a real `cargo build`, for end-to-end tests of the
//! build script (`schema_core::build`) and the generated `Db` type.
//!
//! Every crate depends on this workspace's `schema-core` and `migrate-runtime` by path, uses a
//! copy of the workspace `Cargo.lock`, builds `--offline`, and shares one target directory (so
//! the dependencies compile once per test run). Builds are serialised with a process-wide lock.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Serialises every cargo invocation of this process (they share one target directory).
static BUILD_LOCK: Mutex<()> = Mutex::new(());

/// Environment variables the build script reads; cleared before each build so the caller's
/// environment (CI sets `CI=true`) does not leak in.
const BUILD_ENV: [&str; 5] =
    ["CI", "SCHEMA_MIGRATIONS", "MIGRATION_NAME", "MIGRATION_ALLOW_DROP", "MIGRATION_ALLOW_EDIT"];

/// The workspace root (`/work/main`).
#[must_use]
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// The target directory shared by every temporary crate: `<target>/tmp/godwit-e2e`, next to the
/// running test binary's target directory.
#[must_use]
pub fn shared_target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("GODWIT_E2E_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    // The test binary lives in <target>/<profile>/deps/.
    let exe = std::env::current_exe().expect("current_exe");
    let target =
        exe.ancestors().nth(3).map_or_else(|| workspace_root().join("target"), Path::to_path_buf);
    target.join("tmp").join("godwit-e2e")
}

/// The default build script: `schema_core::build::generate()`.
pub const DEFAULT_BUILD_RS: &str = "fn main() {\n    schema_core::build::generate();\n}\n";

/// A `main.rs` that opens (creating or upgrading) the database file given as the first argument
/// with the default `Db`, then prints `tables: a,b,...` and `applied: N` (rows of the ledger).
pub const DEFAULT_MAIN_RS: &str = r#"mod schema;

fn main() {
    let path = std::env::args().nth(1).expect("usage: app <db file>");
    let db = match schema::Db::open_and_migrate(&path) {
        Ok(db) => db,
        Err(e) => {
            eprintln!("migrate error: {e}");
            std::process::exit(2);
        }
    };
    let conn = db.conn();
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '__schema_migrations' ORDER BY name")
        .unwrap();
    let tables: Vec<String> = stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    let applied: i64 = conn.query_row("SELECT count(*) FROM __schema_migrations", [], |r| r.get(0)).unwrap();
    println!("tables: {}", tables.join(","));
    println!("applied: {applied}");
}
"#;

/// The result of one `cargo build`.
#[derive(Debug)]
pub struct Build {
    /// Whether cargo succeeded.
    pub success: bool,
    /// cargo's stdout.
    pub stdout: String,
    /// cargo's stderr (compiler and build-script errors, warnings).
    pub stderr: String,
}

impl Build {
    /// Panics with the output unless the build succeeded.
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        assert!(self.success, "cargo build failed:\n{}", self.stderr);
        self
    }

    /// Panics with the output unless the build failed.
    #[track_caller]
    pub fn assert_failure(&self) -> &Self {
        assert!(!self.success, "cargo build unexpectedly succeeded:\n{}", self.stderr);
        self
    }

    /// Panics unless stderr contains every one of `needles`.
    #[track_caller]
    pub fn assert_stderr_contains(&self, needles: &[&str]) -> &Self {
        for needle in needles {
            assert!(self.stderr.contains(needle), "stderr lacks {needle:?}:\n{}", self.stderr);
        }
        self
    }
}

/// A temporary application crate, under `<shared target>/crates/`, removed on drop.
#[derive(Debug)]
pub struct TempCrate {
    dir: PathBuf,
    name: String,
}

impl Drop for TempCrate {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

impl TempCrate {
    /// A crate named `name` (a valid package name, unique per test) with the default build
    /// script and `main.rs`, and `schema` as `src/schema.rs` (which should end with
    /// `migrate_runtime::include_db!();`).
    #[must_use]
    pub fn new(name: &str, schema: &str) -> Self {
        let krate = Self::bare(name);
        krate.write("build.rs", DEFAULT_BUILD_RS);
        krate.write("src/main.rs", DEFAULT_MAIN_RS);
        krate.write("src/schema.rs", schema);
        krate
    }

    /// A crate with only its `Cargo.toml` and `Cargo.lock`.
    #[must_use]
    pub fn bare(name: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir =
            shared_target_dir().join("crates").join(format!("{name}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create crate dir");
        let root = workspace_root();
        let manifest = format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
             [workspace]\n\n\
             [dependencies]\nmigrate-runtime = {{ path = {:?} }}\n\n\
             [build-dependencies]\nschema-core = {{ path = {:?} }}\n",
            root.join("migrate-runtime").to_string_lossy(),
            root.join("schema-core").to_string_lossy(),
        );
        let krate = Self { dir, name: name.to_owned() };
        krate.write("Cargo.toml", &manifest);
        fs::copy(root.join("Cargo.lock"), krate.path().join("Cargo.lock"))
            .expect("copy Cargo.lock");
        krate
    }

    /// The crate's directory.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The package name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Writes a file (creating directories), path relative to the crate.
    pub fn write(&self, rel: &str, content: &str) {
        let path = self.path().join(rel);
        fs::create_dir_all(path.parent().expect("file has a parent")).expect("create dirs");
        fs::write(path, content).expect("write file");
    }

    /// Reads a file, path relative to the crate.
    #[must_use]
    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path().join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    /// Whether a file exists, path relative to the crate.
    #[must_use]
    pub fn exists(&self, rel: &str) -> bool {
        self.path().join(rel).exists()
    }

    /// Removes a file, path relative to the crate.
    pub fn remove(&self, rel: &str) {
        fs::remove_file(self.path().join(rel)).unwrap_or_else(|e| panic!("remove {rel}: {e}"));
    }

    /// Every file under `rel` (recursively) with its bytes, keyed by path relative to `rel`.
    #[must_use]
    pub fn files(&self, rel: &str) -> BTreeMap<String, Vec<u8>> {
        fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
            let Ok(entries) = fs::read_dir(dir) else { return };
            for entry in entries {
                let path = entry.expect("dir entry").path();
                if path.is_dir() {
                    walk(base, &path, out);
                } else {
                    let key = path
                        .strip_prefix(base)
                        .expect("under base")
                        .to_string_lossy()
                        .replace('\\', "/");
                    out.insert(key, fs::read(&path).expect("read file"));
                }
            }
        }
        let base = self.path().join(rel);
        let mut out = BTreeMap::new();
        walk(&base, &base, &mut out);
        out
    }

    /// The migration file names (`NNNN_*.sql`) of the folder `rel`, sorted.
    #[must_use]
    pub fn migrations(&self, rel: &str) -> Vec<String> {
        self.files(rel).into_keys().filter(|k| k.ends_with(".sql") && !k.contains('/')).collect()
    }

    /// `cargo build --offline --quiet` with the build script's variables cleared, then `env` set.
    #[must_use]
    pub fn build(&self, env: &[(&str, &str)]) -> Build {
        self.build_args(&["--quiet"], env)
    }

    /// `cargo build --offline <args>` with the build script's variables cleared, then `env` set.
    #[must_use]
    pub fn build_args(&self, args: &[&str], env: &[(&str, &str)]) -> Build {
        let _guard = lock();
        let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        cmd.arg("build")
            .arg("--offline")
            .args(args)
            .arg("--manifest-path")
            .arg(self.path().join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", shared_target_dir())
            .env("CARGO_TERM_COLOR", "never")
            .current_dir(self.path());
        for name in BUILD_ENV {
            cmd.env_remove(name);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run cargo");
        Build {
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// [`TempCrate::build`] with `SCHEMA_MIGRATIONS=write` (tests run under `CI=true`), plus `env`.
    #[must_use]
    pub fn build_write(&self, env: &[(&str, &str)]) -> Build {
        let mut all = vec![("SCHEMA_MIGRATIONS", "write")];
        all.extend_from_slice(env);
        self.build(&all)
    }

    /// Runs the crate's binary (built by the last [`TempCrate::build`]) with `args`.
    #[must_use]
    pub fn run(&self, args: &[&str]) -> Output {
        let exe = shared_target_dir().join("debug").join(format!(
            "{}{}",
            self.name,
            std::env::consts::EXE_SUFFIX
        ));
        Command::new(&exe)
            .args(args)
            .current_dir(self.path())
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", exe.display()))
    }
}

fn lock() -> MutexGuard<'static, ()> {
    BUILD_LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}
