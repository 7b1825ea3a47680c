//! The build.rs entry point: folder checks, replay, generation, `$OUT_DIR` embedding.
//!
//! ```no_run
//! // build.rs, with the defaults: src/schema.rs, migrations/, type `Db`
//! schema_core::build::generate();
//! ```
//!
//! ```no_run
//! // build.rs of a crate with two databases
//! use schema_core::build::Generator;
//! Generator::new().schema("src/db/app.rs").migrations("migrations/app").db_name("AppDb").run();
//! Generator::new().schema("src/db/pulse.rs").migrations("migrations/pulse").db_name("PulseDb").run();
//! ```
//!
//! What one run does, in order (nothing is written unless every step succeeds):
//! 1. parses the schema file and the modules it declares with the derive's parser, and refuses
//!    a `#[derive(Table)]` struct elsewhere in the crate's `src/` (see `sources.rs`);
//! 2. reads `migrations/` and `migrations/meta/` and checks the folder is whole and linear
//!    ([`folder`]), and that every committed file still has the hash its journal entry records
//!    ([`edits`]): an edit fails the build naming each edited file, even one the replay cannot
//!    see (a comment, an index a later rebuild drops), unless `MIGRATION_ALLOW_EDIT` names it;
//! 3. when something must be proven (a schema change, an adoption, a version-1 journal, an
//!    allowed edit), replays every migration into an in-memory SQLite through the engine the
//!    runtime applies them with (`migrate_engine::apply_checked`: foreign keys off, one
//!    transaction per migration, the same statement policy from SQLite's authorizer, the same
//!    foreign-key, view and schema checks, the normalised text executed), and checks the
//!    result against the latest snapshot; on a difference it names the first migration whose
//!    result differs from its own snapshot ([`replay`]). A build that changes nothing and whose
//!    hashes all match does not replay;
//! 4. adopts hand-written `.sql` files with the next index (journal entry `"custom": true`,
//!    snapshot equal to the previous one: they may change data, views and triggers, not tables);
//! 5. diffs the parsed schema against the latest snapshot; on a change plans, lints (warnings
//!    become `cargo:warning`s), renders, proves the SQL on representative rows of the old
//!    tables ([`crate::plan::sample_rows`], in a transaction rolled back after: SQLite's own
//!    error there fails the build naming the attribute, a guard about a `backfill` or `convert`
//!    is a warning) and on the replayed database, and writes `NNNN_name.sql`, its snapshot and
//!    the journal entry (journal last; temporary files renamed into place); without a change,
//!    a `convert` left in the schema is an error ([`crate::plan::unused_converts`]);
//! 6. writes `$OUT_DIR/godwit/<Db>.rs` for `migrate_runtime::include_db!` (only when its content
//!    changed): every migration through `include_str!` with its hash and hash chain, and a
//!    compile-time guard per `#[derive(Table)]` struct that the derive saw what the build script
//!    parsed; and `$OUT_DIR/godwit/<Db>.tables`, the structs it parsed, against which the derive
//!    refuses a struct in `src/` that no database's build saw.
//!
//! In check mode ([`Mode`]) steps 4 and 5 write nothing and fail the build instead, with the
//! command to run locally.
//!
//! The journal (`meta/_journal.json`, version 2) records each file's hash (SHA-256 of the text
//! with a BOM removed and CRLF turned into LF). A version-1 journal (no hashes) is proven by
//! replay; a write-mode build upgrades it, changing nothing but the version and the hashes, and
//! a check-mode build accepts it with a `cargo:warning` asking for that write-mode build (CI
//! must not write). `MIGRATION_ALLOW_EDIT=<tag>[,<tag>]` re-stamps edited entries on purpose
//! (a write, so check mode fails instead): every database that already applied the old text
//! then refuses to open (`Edited`), so use it only for a migration no database has applied.
//!
//! Environment variables (each also emitted as `cargo:rerun-if-env-changed`):
//!
//! | variable | effect |
//! |---|---|
//! | `CI` | set to anything but empty, `0` or `false`: check mode |
//! | `SCHEMA_MIGRATIONS` | `write` forces writing (even under `CI`), `check` forces check mode |
//! | `MIGRATION_NAME` | the name of the migration this build generates (sanitised to `[a-z0-9_]`) |
//! | `MIGRATION_ALLOW_DROP` | comma-separated `table` or `table.column` drops to acknowledge |
//! | `MIGRATION_ALLOW_EDIT` | comma-separated tags of edited migrations to re-stamp in the journal |
//!
//! A crate built from a registry or git checkout, or by `cargo package`, is always in check mode.
//!
//! Editors: rust-analyzer runs build scripts too (`cargo check` on save), so a schema saved
//! half-way through an edit can become a migration. To generate only from your own
//! `cargo build`, give the editor check mode, e.g. in VS Code settings
//! `"rust-analyzer.cargo.extraEnv": { "SCHEMA_MIGRATIONS": "check" }` and the same for
//! `rust-analyzer.check.extraEnv`; the editor then shows the pending change as a build error
//! until you build.

pub mod edits;
pub mod embed;
pub mod folder;
pub mod format;
mod generate;
mod mode;
pub mod replay;
mod sources;

use std::path::PathBuf;

pub use generate::Outcome;
pub use mode::{BuildEnv, CheckReason, Mode, WATCHED_ENV};

use crate::error::Error;

/// Runs the generator with the defaults (`src/schema.rs`, `migrations/`, type `Db`); on error
/// prints the error and exits the build script with status 1.
///
/// ```no_run
/// // in build.rs's `fn main`
/// schema_core::build::generate();
/// ```
pub fn generate() {
    Generator::new().run();
}

/// Configures one database: its schema file, migrations folder and generated type name.
/// Paths are relative to the crate's `CARGO_MANIFEST_DIR`.
///
/// ```no_run
/// schema_core::build::Generator::new()
///     .schema("src/db/schema.rs")
///     .migrations("migrations/pulse")
///     .db_name("PulseDb")
///     .run();
/// ```
#[derive(Debug, Clone)]
pub struct Generator {
    schema: PathBuf,
    migrations: PathBuf,
    db_name: String,
}

impl Default for Generator {
    fn default() -> Self {
        Self::new()
    }
}

impl Generator {
    /// The defaults: `src/schema.rs`, `migrations/`, type `Db`.
    #[must_use]
    pub fn new() -> Self {
        Self {
            schema: "src/schema.rs".into(),
            migrations: "migrations".into(),
            db_name: "Db".into(),
        }
    }

    /// The schema file holding the `#[derive(Table)]` structs (relative to the manifest dir).
    #[must_use]
    pub fn schema(mut self, path: impl Into<PathBuf>) -> Self {
        self.schema = path.into();
        self
    }

    /// The migrations folder (relative to the manifest dir).
    #[must_use]
    pub fn migrations(mut self, path: impl Into<PathBuf>) -> Self {
        self.migrations = path.into();
        self
    }

    /// The name of the generated type (`include_db!(PulseDb)` includes it).
    #[must_use]
    pub fn db_name(mut self, name: impl Into<String>) -> Self {
        self.db_name = name.into();
        self
    }

    /// Runs from a build script: prints `cargo:` lines; on error prints the error to stderr
    /// (shown by cargo) and exits with status 1.
    pub fn run(&self) {
        let env = match BuildEnv::from_process() {
            Ok(env) => env,
            Err(e) => fail(&e),
        };
        let mut lines = Vec::new();
        let result = self.execute(&env, &mut lines);
        for line in &lines {
            println!("{line}");
        }
        if let Err(e) = result {
            fail(&e);
        }
    }

    /// Runs in `env` without printing or exiting; the `cargo:` lines are in
    /// [`Outcome::cargo_lines`].
    ///
    /// # Errors
    /// Any [`Error`] the build would fail with.
    pub fn run_in(&self, env: &BuildEnv) -> Result<Outcome, Error> {
        let mut lines = Vec::new();
        let mut outcome = self.execute(env, &mut lines)?;
        outcome.cargo_lines = lines;
        Ok(outcome)
    }
}

/// Prints a build error so cargo shows it, then exits the build script.
fn fail(error: &Error) -> ! {
    eprintln!("\nerror: {}\n", error.report());
    std::process::exit(1);
}
