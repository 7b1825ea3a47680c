//! The one error type of the crate.

use std::path::PathBuf;

/// Why a command could not run (exit code 2). Findings are not errors: they are in the
/// [`crate::Report`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database file does not exist; godwit never creates one.
    #[error("no database at {}; godwit opens databases read-only and never creates one: check the path", path.display())]
    NoDatabase {
        /// The path given.
        path: PathBuf,
    },
    /// SQLite could not open the database read-only, or failed reading it.
    #[error("cannot read the database {}", path.display())]
    Database {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The database has no ledger table (`godwit diff` needs one).
    #[error(
        "{} has no ledger table __schema_migrations: no Godwit migration was ever applied to it \
         (an existing database is adopted with a baseline; `godwit status --db` shows every \
         migration as pending)",
        path.display()
    )]
    NotManaged {
        /// The database file.
        path: PathBuf,
    },
    /// The ledger's latest migration is not in the folder.
    #[error(
        "the database {} records {tag} (index {idx}) as its latest migration, but the folder {} \
         has no such migration: the database is newer than this folder, or from another app \
         (check out the branch that has {tag}.sql)",
        db.display(),
        folder.display()
    )]
    UnknownHead {
        /// The database file.
        db: PathBuf,
        /// The migrations folder.
        folder: PathBuf,
        /// The ledger's latest index.
        idx: u32,
        /// The ledger's latest tag.
        tag: String,
    },
    /// The migrations folder could not be read or is not whole (the build would refuse it too).
    #[error("cannot use the migrations folder (the build would refuse it too)")]
    Folder {
        /// The folder.
        dir: PathBuf,
        /// The folder check's error (names the files and the fix).
        #[source]
        source: Box<schema_core::error::Error>,
    },
    /// The migrations folder does not exist.
    #[error("no migrations folder at {}: {hint}", dir.display())]
    NoFolder {
        /// The folder given.
        dir: PathBuf,
        /// What to do: the folders `build.rs` in the current directory configures, if any.
        hint: String,
    },
    /// `godwit new` was given a name with no letter or digit.
    #[error("the migration name {name:?} has no letter or digit; use a name like \"seed_plans\"")]
    InvalidName {
        /// The name given.
        name: String,
    },
    /// `godwit new` found a file already holding the index it would write.
    #[error(
        "{} already exists with index {idx}: write your SQL there, or adopt it with `cargo build` \
         before starting another",
        path.display()
    )]
    MigrationExists {
        /// The existing file.
        path: PathBuf,
        /// The index.
        idx: String,
    },
    /// A file could not be read or written.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// `read`, `write`, ...
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// `godwit check` could not run the generator (unreadable files, bad configuration).
    #[error("cannot run the check for {}", manifest_dir.display())]
    Check {
        /// The crate's directory.
        manifest_dir: PathBuf,
        /// The generator's error.
        #[source]
        source: Box<schema_core::error::Error>,
    },
    /// `godwit baseline` found a ledger with rows: the database is already managed.
    #[error(
        "{} already records {rows} migration(s) in __schema_migrations: it is managed by Godwit \
         already, there is nothing to baseline (`godwit status --db` shows where it stands)",
        path.display()
    )]
    AlreadyManaged {
        /// The database.
        path: PathBuf,
        /// How many ledger rows it has.
        rows: i64,
    },
    /// `godwit baseline` found no journaled migration.
    #[error(
        "the migrations folder {} has no journaled migration to baseline at: run `cargo build` \
         first (after `godwit pull`) so the first migration exists",
        dir.display()
    )]
    NothingToBaseline {
        /// The folder.
        dir: PathBuf,
    },
    /// `godwit baseline --to` names no journaled migration.
    #[error(
        "--to {to}: the folder {} has no journaled migration with that tag or index (its last is {last})",
        dir.display()
    )]
    UnknownTarget {
        /// What `--to` said.
        to: String,
        /// The folder.
        dir: PathBuf,
        /// The folder's last journaled tag.
        last: String,
    },
    /// `godwit pull` would overwrite a file.
    #[error("{} already exists; godwit pull never overwrites a file: pass another --out", path.display())]
    OutputExists {
        /// The file.
        path: PathBuf,
    },
    /// The schema file `godwit pull` wrote does not parse with the derive's parser: a bug in
    /// `godwit pull` (the database's names or SQL are not the user's mistake).
    #[error(
        "the structs godwit pull generated do not parse ({message}); this is a bug in godwit pull, please report it with the database's schema (`sqlite3 DB .schema`)"
    )]
    PulledSchema {
        /// The parser's message.
        message: String,
    },
    /// `godwit check` cannot read the generator configuration from `build.rs`.
    #[error("cannot tell which databases {} checks: {message}", path.display())]
    BuildScript {
        /// The build script.
        path: PathBuf,
        /// What it does that `godwit check` cannot follow.
        message: String,
    },
    /// The in-memory database that builds the expected schema failed.
    #[error("cannot build the expected schema in memory")]
    Expected {
        /// The error.
        #[source]
        source: Box<schema_core::error::Error>,
    },
}

impl Error {
    /// [`Error::Database`] for `path`.
    pub(crate) fn db(path: &std::path::Path) -> impl FnOnce(rusqlite::Error) -> Self + '_ {
        move |source| Self::Database { path: path.to_path_buf(), source }
    }

    /// [`Error::NoFolder`] for `dir`, with the folders the current directory's `build.rs`
    /// generates (when it names any) as the hint.
    pub(crate) fn no_folder(dir: &std::path::Path) -> Self {
        let folders: Vec<String> = std::fs::read_to_string("build.rs")
            .ok()
            .and_then(|source| crate::buildrs::detect(&source).ok())
            .unwrap_or_default()
            .into_iter()
            .map(|c| c.migrations.unwrap_or_else(|| "migrations".to_owned()))
            .filter(|f| std::path::Path::new(f) != dir)
            .collect();
        let hint = if folders.is_empty() {
            "run `cargo build` once to create it, or pass --migrations with the folder your \
             build.rs uses"
                .to_owned()
        } else {
            format!("this crate's build.rs generates {}: pass --migrations", folders.join(", "))
        };
        Self::NoFolder { dir: dir.to_path_buf(), hint }
    }

    /// [`Error::Folder`] for `dir`.
    pub(crate) fn folder(
        dir: &std::path::Path,
    ) -> impl FnOnce(schema_core::error::Error) -> Self + '_ {
        move |source| Self::Folder { dir: dir.to_path_buf(), source: Box::new(source) }
    }
}
