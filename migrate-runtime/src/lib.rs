//! Godwit's runtime: the embedded migrations of a generated `Db` type, and
//! `Db::open_and_migrate`, which brings any database from any older version to the current one in
//! one all-or-nothing transaction, or refuses with a precise error, changing nothing.
//!
//! An application normally uses the generated type (see [`include_db!`]):
//!
//! ```
//! mod schema {
//!     // src/schema.rs: the build script wrote the `Db` type into OUT_DIR.
//! #   /*
//!     migrate_runtime::include_db!();
//! #   */
//! #   migrate_runtime::__define_db! { name: Db, migrations: [] }
//! }
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("app.db");
//!
//! // src/main.rs
//! let db = schema::Db::open_and_migrate(&path)?;
//! let conn: &migrate_runtime::rusqlite::Connection = db.conn();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The same engine is available without the macro, over a slice of [`Migration`]s:
//!
//! ```
//! use migrate_runtime::{Migration, chain_hash, hash_sql, rusqlite::Connection};
//!
//! const SQL: &str = "CREATE TABLE \"users\" (\"id\" INTEGER PRIMARY KEY, \"name\" TEXT NOT NULL);\n";
//! let hash: &'static str = Box::leak(hash_sql(SQL).into_boxed_str());
//! let chain: &'static str = Box::leak(chain_hash(None, hash).into_boxed_str());
//! let migrations = [Migration { idx: 0, tag: "0000_create_users", sql: SQL, hash, chain }];
//!
//! let mut conn = Connection::open_in_memory()?;
//! let report = migrate_runtime::migrate(&mut conn, &migrations)?;
//! assert_eq!(report.applied.len(), 1);
//! // A second run finds the database up to date with one indexed read and writes nothing.
//! assert!(migrate_runtime::migrate(&mut conn, &migrations)?.is_empty());
//! migrate_runtime::verify(&conn, &migrations)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! What a run does:
//! - it refuses, before writing anything, when an applied migration was edited, when the database
//!   has applied a migration this binary does not know (it is newer), when an unapplied migration
//!   is ordered before an applied one (or was renamed), when the caller is inside a transaction,
//!   when SQLite is older than 3.35.5;
//! - otherwise it switches foreign keys off (outside any transaction, and checks that they are
//!   off), begins one `BEGIN IMMEDIATE` transaction, reads the ledger again under the lock (so
//!   concurrent processes never apply a migration twice), and hands the pending migrations to
//!   [`migrate_engine::apply_checked`], the engine the build script replays with: it executes the
//!   normalised text (the text the hash covers) under a statement policy decided by SQLite's
//!   authorizer (transaction control, savepoints, ATTACH and the pragmas the runner owns are
//!   refused as they are prepared, `legacy_alter_table` and `writable_schema` are forced off for
//!   the run), records each migration in `__schema_migrations`, checks that no new foreign-key
//!   violation appeared and that every view and trigger still resolves; then the run commits.
//!   Any failure rolls everything back ([`Error::Apply`]); the previous `foreign_keys` setting is
//!   restored on success and failure alike.
//! - with [`Options::progress`], a callback sees migration `i` of `n`, statement `j` of `m` and the
//!   rows a table rebuild has copied, and may cancel: the run is rolled back
//!   ([`Error::Cancelled`]). Each applied migration is logged (`log`, `info`) after the commit.
//!
//! The ledger is the table `__schema_migrations(idx INTEGER PRIMARY KEY, tag TEXT NOT NULL UNIQUE,
//! hash TEXT NOT NULL, chain TEXT NOT NULL, applied_at INTEGER NOT NULL, duration_ms INTEGER NOT
//! NULL)`, created inside the first write transaction (never by a read-only open). `chain` folds
//! every hash up to its row ([`chain_hash`]), so start-up compares the last row's chain, the
//! first and last index, the row count and every tag (a renamed file changes only its tag) with
//! the embedded ones in one read, never hashing: an up-to-date open writes nothing. Only on a
//! mismatch is the whole ledger read, to name the exact problem or the pending migrations.
//!
//! # Features, SQLite builds and the minimum SQLite
//!
//! - `bundled` (default): SQLite is compiled from source (rusqlite's `bundled`), the version this
//!   crate is tested with.
//! - `derive` (default): re-exports `#[derive(Table)]` as `migrate_runtime::Table`, next to the
//!   [`Table`] trait of the same name. The derive is a proc-macro that reads the schema at compile
//!   time; without it the runtime's graph holds no schema model, planner, serde or `syn` with
//!   `full` (the trait can still be implemented by hand, though the build script's generated code
//!   is meant for the derive).
//!
//! **System SQLite**: depend on the runtime without `bundled`; rusqlite then links the system's
//! `libsqlite3` (found by `pkg-config`, or `SQLITE3_LIB_DIR`):
//!
//! ```toml
//! migrate-runtime = { version = "0.1", default-features = false, features = ["derive"] }
//! ```
//!
//! **SQLCipher**: the same, plus rusqlite's SQLCipher build in the application's own manifest
//! (cargo unifies the features of the one rusqlite):
//!
//! ```toml
//! migrate-runtime = { version = "0.1", default-features = false, features = ["derive"] }
//! rusqlite = { version = "0.43", features = ["bundled-sqlcipher"] }
//! ```
//!
//! Open the connection yourself, set the key (`PRAGMA key`) before anything else reads the file,
//! and hand it to [`Database::from_connection`] or [`migrate`].
//!
//! **Minimum SQLite**: a run refuses a SQLite older than 3.35.5 ([`Error::SqliteTooOld`]): the
//! ledger, the engine's checks (`sqlite_schema` 3.33, `pragma_table_xinfo` 3.26, the table-valued
//! `pragma_foreign_key_check(?)`, the authorizer) and `ALTER TABLE .. DROP COLUMN` (3.35; 3.35.5
//! fixed its bugs) need it. Some migrations the build
//! script writes need more, and then fail at their statement (rolled back, nothing applied) on an
//! older library: a `STRICT` table needs 3.37.0, and a table rebuild with a data guard (a type
//! conversion, a new `NOT NULL`, `CHECK` or `UNIQUE` over existing rows) raises its message with
//! `RAISE(ABORT, <expression>)`, which needs 3.47.0. The bundled SQLite is newer than all of
//! these; with a system SQLite, use 3.47.0 or newer.
//!
//! The structs that define the tables also read and write their rows: see [`Crud`] (`insert`,
//! `get`, `list`, `find`, `update`, `delete` on a connection, a `Database` or the generated `Db`)
//! and [`Database::transaction`].

pub use rusqlite;
/// `#[derive(Table)]` (feature `derive`, on by default): the same name as the [`Table`] trait,
/// so `use migrate_runtime::Table;` brings both.
#[cfg(feature = "derive")]
pub use schema_macros::Table;

mod table;
pub use table::{Column, Keyed, Table};

mod typed;
pub use table::sql_type;
pub use typed::{
    ColumnList, ColumnValue, Crud, Direction, Filter, Nullable, Nulls, Operation, Order, Query, Tx,
};

mod error;
mod macros;
mod migrate;

pub use error::{Error, Phase, Result};
pub use migrate::{
    AppliedMigration, LEDGER_TABLE, LedgerEntry, MigrationState, MigrationStatus, Report, Status,
};
/// The migration engine the runtime applies with (and the build script replays with): the file
/// format, the statement policy, the checked apply. Its error arrives as [`Error::Apply`].
pub use migrate_engine;
/// Why applying failed ([`Error::Apply`]): a statement that failed or was refused, a new
/// foreign-key violation, a foreign key that cannot be checked, a broken view or schema.
pub use migrate_engine::Error as ApplyError;
pub use migrate_engine::{
    BREAKPOINT as STATEMENT_BREAKPOINT, CheckPhase, Control, FkViolation, Progress, ProgressHook,
    Rows, chain_hash, hash_sql, normalise as normalise_sql, quote_ident,
};

#[doc(hidden)]
pub mod __private;

/// The workspace README's code blocks, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::PhaseExt as _;
use crate::migrate::JournalPolicy;

/// One embedded migration. The build script generates these (with `hash` and `chain` computed at
/// build time, so start-up never hashes); see [`hash_sql`] and [`chain_hash`] to build them by
/// hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// The index, from 0 (the `NNNN` of the file name).
    pub idx: u32,
    /// The tag: the file stem, e.g. `0000_create_users`.
    pub tag: &'static str,
    /// The SQL text: statements separated by lines equal to [`STATEMENT_BREAKPOINT`].
    pub sql: &'static str,
    /// Lowercase hex SHA-256 of the normalised text ([`hash_sql`]).
    pub hash: &'static str,
    /// The chain value up to this migration ([`chain_hash`]).
    pub chain: &'static str,
}

/// Where [`Options::backup`] writes the copy of the database taken before applying.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backup {
    /// No backup (the default).
    #[default]
    Off,
    /// Next to the database file: `<file>.bak-<NNNN>` where `NNNN` is the index of the first
    /// migration about to be applied (`-2`, `-3`, ... is appended if that file exists). Skipped
    /// for an in-memory database.
    Beside,
    /// This exact path; it must not exist yet.
    To(PathBuf),
}

/// How [`Database::open`] (and the generated `Db::open_with`) opens and migrates.
///
/// ```
/// use std::time::Duration;
/// use migrate_runtime::{Backup, Options};
///
/// let options = Options::new().busy_timeout(Duration::from_secs(10)).backup(Backup::Beside);
/// assert_eq!(options.get_busy_timeout(), Duration::from_secs(10));
/// ```
#[derive(Debug, Clone)]
pub struct Options {
    busy_timeout: Duration,
    backup: Backup,
    verify_only: bool,
    pub(crate) progress: Option<ProgressHook>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            busy_timeout: Duration::from_secs(5),
            backup: Backup::Off,
            verify_only: false,
            progress: None,
        }
    }
}

impl Options {
    /// The defaults: busy timeout 5 s, no backup, read-write.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// How long to wait for another connection's lock (`busy_timeout`). Default 5 s.
    #[must_use]
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Back up the database with `VACUUM INTO` before applying pending migrations. A backup is
    /// written only when something is pending and the database already holds applied
    /// migrations (a brand-new database has nothing to lose).
    #[must_use]
    pub fn backup(mut self, backup: Backup) -> Self {
        self.backup = backup;
        self
    }

    /// Verify only: open the file read-only, set no journal mode, and fail with
    /// [`Error::Pending`] instead of applying anything. Nothing is ever written.
    #[must_use]
    pub fn verify_only(mut self, verify_only: bool) -> Self {
        self.verify_only = verify_only;
        self
    }

    /// Report progress while pending migrations are applied (nothing is called when the database
    /// is up to date): migration `i` of `n`, statement `j` of `m`, and for a statement that
    /// copies rows (a table rebuild's `INSERT INTO .. SELECT`) rows done of rows expected (see
    /// [`Rows`] for how they are estimated). The callback runs at each statement's start (at
    /// most every 100 ms), while it runs (at most every 100 ms) and at its end (always: the last
    /// call of a run is its last statement at 100%). Returning [`Control::Cancel`] interrupts the
    /// statement and rolls the whole run back ([`Error::Cancelled`]): the database is exactly as
    /// before.
    ///
    /// The callback must be `Send + 'static` (SQLite's progress handler holds it); share state
    /// with it through an `Arc`. Counting the rows a copy expects costs one `count(*)` of its
    /// source, paid only when a callback is set. For another interval, pass a
    /// [`ProgressHook`] with [`ProgressHook::every`] to [`Options::progress_hook`].
    ///
    /// ```
    /// use migrate_runtime::{Control, Database, Options};
    ///
    /// let options = Options::new().progress(|p| {
    ///     let percent = (p.statement_fraction() * 100.0) as u32;
    ///     eprint!("\r{}/{} {} {percent}%", p.migration, p.migrations, p.tag);
    ///     Control::Continue
    /// });
    /// let db = Database::open_in_memory(&[], &options)?;
    /// # Ok::<(), migrate_runtime::Error>(())
    /// ```
    #[must_use]
    pub fn progress(self, callback: impl FnMut(&Progress<'_>) -> Control + Send + 'static) -> Self {
        self.progress_hook(ProgressHook::new(callback))
    }

    /// [`Options::progress`] with a hook built by the caller (e.g. another throttle interval).
    #[must_use]
    pub fn progress_hook(mut self, hook: ProgressHook) -> Self {
        self.progress = Some(hook);
        self
    }

    /// The configured busy timeout.
    #[must_use]
    pub fn get_busy_timeout(&self) -> Duration {
        self.busy_timeout
    }

    /// The configured backup.
    #[must_use]
    pub fn get_backup(&self) -> &Backup {
        &self.backup
    }

    /// Whether verify-only mode is on.
    #[must_use]
    pub fn is_verify_only(&self) -> bool {
        self.verify_only
    }
}

/// An open, migrated (or verified) database: the connection, configured with
/// `journal_mode=WAL` (files only), `foreign_keys=ON` and the busy timeout.
#[derive(Debug)]
pub struct Database {
    conn: Connection,
    report: Report,
}

impl Database {
    /// Opens (creating it if needed, unless verify-only) the database at `path` and migrates it
    /// with `migrations`.
    ///
    /// # Errors
    /// Any [`Error`]: a refusal (nothing written), or a failed apply (rolled back).
    pub fn open(
        path: impl AsRef<Path>,
        migrations: &[Migration],
        options: &Options,
    ) -> Result<Self> {
        let flags = if options.verify_only {
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
        } else {
            OpenFlags::default()
        };
        let path = path.as_ref();
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|source| Error::Open { path: path.to_owned(), source })?;
        Self::from_connection(conn, migrations, options)
    }

    /// Opens a private in-memory database and applies `migrations`.
    ///
    /// ```
    /// use migrate_runtime::{Database, Options};
    ///
    /// let db = Database::open_in_memory(&[], &Options::new())?;
    /// let fk: i64 = db.conn().query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
    /// assert_eq!(fk, 1);
    /// # Ok::<(), migrate_runtime::Error>(())
    /// ```
    ///
    /// # Errors
    /// Any [`Error`].
    pub fn open_in_memory(migrations: &[Migration], options: &Options) -> Result<Self> {
        let conn = Connection::open_in_memory()
            .map_err(|source| Error::Open { path: PathBuf::from(":memory:"), source })?;
        Self::from_connection(conn, migrations, options)
    }

    /// Applies the connection policy to `conn`, then migrates it (or verifies it).
    ///
    /// The connection's own settings are the caller's, with two exceptions while migrations run:
    /// `foreign_keys` is off (and restored after), and `legacy_alter_table` and
    /// `writable_schema` are forced off by the engine (and restored after), so a caller's
    /// `legacy_alter_table = ON` cannot make a migration's `ALTER TABLE .. RENAME` leave child
    /// tables pointing at the old name.
    ///
    /// # Errors
    /// Any [`Error`].
    pub fn from_connection(
        mut conn: Connection,
        migrations: &[Migration],
        options: &Options,
    ) -> Result<Self> {
        conn.busy_timeout(options.busy_timeout).phase(Phase::Configure)?;
        let in_memory = conn.path().is_none_or(str::is_empty);
        conn.pragma_update(None, "foreign_keys", true).phase(Phase::Configure)?;
        let report = if options.verify_only {
            migrate::verify(&conn, migrations)?;
            Report::default()
        } else {
            // journal_mode=WAL is set once the migrations are known not to be refused, so a
            // refusal writes nothing.
            let journal = if in_memory { JournalPolicy::Keep } else { JournalPolicy::Wal };
            migrate::migrate_with(&mut conn, migrations, options, journal)?
        };
        Ok(Database { conn, report })
    }

    /// The connection.
    #[must_use]
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The connection, mutably (for transactions).
    #[must_use]
    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// The connection, giving up the wrapper.
    #[must_use]
    pub fn into_inner(self) -> Connection {
        self.conn
    }

    /// What opening did: the migrations applied and the backup written.
    #[must_use]
    pub fn report(&self) -> &Report {
        &self.report
    }
}

/// Brings the database on `conn` up to date with `migrations` (see the crate documentation for
/// what a run does). Uses the connection as it is: no journal mode or busy timeout is set (the
/// caller's policy stays), and `foreign_keys` ends as it was.
///
/// # Errors
/// Any [`Error`]: a refusal (nothing written), or a failed apply (rolled back).
pub fn migrate(conn: &mut Connection, migrations: &[Migration]) -> Result<Report> {
    migrate::migrate_with(conn, migrations, &Options::default(), JournalPolicy::Keep)
}

/// [`migrate`] with options (backup, verify-only; the busy timeout is not applied here: set it
/// on the connection).
///
/// # Errors
/// Any [`Error`].
pub fn migrate_with(
    conn: &mut Connection,
    migrations: &[Migration],
    options: &Options,
) -> Result<Report> {
    migrate::migrate_with(conn, migrations, options, JournalPolicy::Keep)
}

/// Checks, reading only, that the database is exactly up to date with `migrations`: `Ok` after
/// one indexed read when it is, else the precise [`Error`] ([`Error::Pending`] when it is merely
/// behind).
///
/// # Errors
/// [`Error::Pending`], a refusal variant, or a SQLite error.
pub fn verify(conn: &Connection, migrations: &[Migration]) -> Result<()> {
    migrate::verify(conn, migrations)
}

/// The state of every migration (applied with its time and duration, pending, edited, replaced)
/// and any ledger rows this binary does not know. Reads only, and reports conflicts instead of
/// failing on them.
///
/// # Errors
/// A SQLite error reading the ledger.
pub fn status(conn: &Connection, migrations: &[Migration]) -> Result<Status> {
    migrate::status(conn, migrations)
}
