//! The one error type of the runtime.

use std::fmt;
use std::path::PathBuf;

use migrate_engine::short;

/// Everything that can stop [`migrate`](crate::migrate), [`verify`](crate::verify) or a
/// generated `Db::open_and_migrate`.
///
/// The refusals (every variant up to and including [`Error::ForeignKeysStillOn`]) are detected
/// before anything is written: the database is left exactly as it was. [`Error::Apply`] (a
/// statement that fails or is refused, a new foreign-key violation, a broken view, ...; see
/// [`ApplyError`](crate::ApplyError)) rolls the whole run back: the database is again exactly as
/// it was, and `foreign_keys` is restored.
///
/// Every variant caused by another error (SQLite's, as a rule) reaches it through
/// [`std::error::Error::source`] and does not repeat it in its message; print the chain (e.g.
/// `anyhow`'s `{:#}`, or a loop over `source()`) to see both.
///
/// ```
/// use migrate_runtime::{ApplyError, Error, Migration, chain_hash, hash_sql, rusqlite::Connection};
///
/// fn one(sql: &'static str) -> [Migration; 1] {
///     let hash: &'static str = Box::leak(hash_sql(sql).into_boxed_str());
///     let chain: &'static str = Box::leak(chain_hash(None, hash).into_boxed_str());
///     [Migration { idx: 0, tag: "0000_create_t", sql, hash, chain }]
/// }
///
/// let mut conn = Connection::open_in_memory()?;
/// migrate_runtime::migrate(&mut conn, &one("CREATE TABLE \"t\" (\"a\");\n"))?;
/// // The file was edited after it shipped: refused, nothing changes.
/// let err = migrate_runtime::migrate(&mut conn, &one("CREATE TABLE \"t\" (\"a\", \"b\");\n"))
///     .unwrap_err();
/// assert!(matches!(err, Error::Edited { ref tag, .. } if tag == "0000_create_t"));
/// assert!(err.to_string().starts_with("migration 0000_create_t was edited after it was applied"));
///
/// // A migration may not end the runner's transaction: SQLite's authorizer refuses the COMMIT as
/// // it is prepared, and the whole run rolls back.
/// let mut fresh = Connection::open_in_memory()?;
/// let err = migrate_runtime::migrate(&mut fresh, &one("CREATE TABLE \"t\" (\"a\");\nCOMMIT;\n"))
///     .unwrap_err();
/// assert!(matches!(
///     err,
///     Error::Apply(ApplyError::Refused { statement: 2, ref what, .. }) if what == "COMMIT"
/// ));
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An applied migration's text differs from the one this binary embeds.
    #[error(
        "migration {tag} was edited after it was applied: the database recorded hash {}, this \
         binary embeds {}; restore the file to the text that was applied and put the change in \
         a new migration",
        short(stored_hash),
        short(embedded_hash)
    )]
    Edited {
        /// The migration's tag, e.g. `0001_add_users_bio`.
        tag: String,
        /// The hash in the ledger (the text that was applied).
        stored_hash: String,
        /// The hash of the text in this binary.
        embedded_hash: String,
    },

    /// The database has applied a migration this binary does not have: the database is newer
    /// than the application (or a migration file was deleted).
    #[error(
        "the database is newer than this application: it has applied migration {tag} (hash \
         {stored_hash}) which this binary does not contain; run a newer build of the \
         application, or restore the deleted migration file"
    )]
    UnknownApplied {
        /// The ledger's tag of the unknown migration.
        tag: String,
        /// Its index.
        idx: u32,
        /// Its stored hash.
        stored_hash: String,
    },

    /// The ledger and this binary disagree about which migration has a given index (two
    /// branches both added a migration with that number).
    #[error(
        "migration number {idx} is {stored_tag} (hash {}) in the database but {embedded_tag} \
         (hash {}) in this binary: the migration histories diverged; keep the applied \
         migration under its number and renumber the other after the last one",
        short(stored_hash),
        short(embedded_hash)
    )]
    Diverged {
        /// The index both claim.
        idx: u32,
        /// The tag in the ledger.
        stored_tag: String,
        /// The hash in the ledger.
        stored_hash: String,
        /// The tag in this binary.
        embedded_tag: String,
        /// The hash in this binary.
        embedded_hash: String,
    },

    /// A migration this binary has is not applied, but a later one is (a branch merge put it
    /// before an applied migration, or its ledger row was deleted).
    #[error(
        "migration {tag} is not applied but the later migration {applied_tag} is: it was ordered \
         before an applied migration (a branch merge?) or its ledger row was deleted; renumber it \
         after the last applied migration so it runs next"
    )]
    OutOfOrder {
        /// The unapplied migration.
        tag: String,
        /// The first applied migration that comes after it.
        applied_tag: String,
    },

    /// The ledger's chain value disagrees with the migrations it lists (the ledger was edited
    /// by hand).
    #[error(
        "the migration ledger __schema_migrations is inconsistent at {tag}: {detail}; it was \
         changed outside the runner, restore it from a backup"
    )]
    LedgerCorrupt {
        /// The row where the inconsistency shows.
        tag: String,
        /// What is wrong.
        detail: String,
    },

    /// The database has tables but no ledger: it was not created by these migrations.
    #[error(
        "the database has tables ({}) but no __schema_migrations ledger, so it was not created by \
         these migrations; open a new file, or move the data into a database created by the \
         application",
        tables.join(", ")
    )]
    Unmanaged {
        /// Some of the tables found (at most five).
        tables: Vec<String>,
    },

    /// The embedded migration list itself is malformed (only possible when migrations are built
    /// by hand rather than by the build script).
    #[error("invalid embedded migration {tag}: {detail}")]
    InvalidMigrations {
        /// The offending migration.
        tag: String,
        /// What is wrong.
        detail: String,
    },

    /// The connection is inside a transaction; migrations need to manage their own.
    #[error(
        "the connection is inside a transaction: migrations need their own transaction and must \
         switch foreign keys off outside it; commit or roll back first"
    )]
    InTransaction,

    /// The SQLite library is older than 3.35.5.
    #[error(
        "sqlite {found} is too old: migrations need sqlite 3.35.5 or newer; build with the bundled \
         sqlite (migrate-runtime's default feature \"bundled\")"
    )]
    SqliteTooOld {
        /// The version found, e.g. `3.31.1`.
        found: String,
    },

    /// `PRAGMA foreign_keys = OFF` did not take effect, so a table rebuild would cascade into
    /// child tables.
    #[error(
        "could not switch foreign keys off (foreign_keys still reads 1): applying now could delete \
         or null rows of child tables; make sure the connection is not in a transaction and \
         that SQLite was not built with foreign keys forced on"
    )]
    ForeignKeysStillOn,

    /// Applying failed, and everything was rolled back: a statement failed or was refused
    /// (transaction control, a pragma the runner owns, ...: SQLite's authorizer refuses it as it
    /// is prepared, so nothing of it runs), or the checks after the migrations found new
    /// foreign-key violations, a foreign key that cannot be checked, a broken view or schema. The
    /// engine's error, message and source as they are.
    #[error(transparent)]
    Apply(#[from] migrate_engine::Error),

    /// The progress callback ([`Options::progress`](crate::Options::progress)) returned
    /// [`Control::Cancel`](crate::Control::Cancel): the running statement was interrupted and
    /// the whole run rolled back; the database is exactly as before (a later open applies the
    /// same migrations again).
    #[error(
        "migrating was cancelled by the progress callback at migration {tag} statement \
         {statement}; nothing was applied"
    )]
    Cancelled {
        /// The migration that was running.
        tag: String,
        /// 1-based number of its statement that was running (or had just ended).
        statement: usize,
    },

    /// Verify-only mode (or [`verify`](crate::verify)): the database is behind this binary.
    #[error(
        "the database is behind this application: {count} migration(s) pending, first {first}; \
         open it read-write with open_and_migrate to apply them"
    )]
    Pending {
        /// Number of pending migrations.
        count: usize,
        /// The first pending tag.
        first: String,
    },

    /// Another connection held the database lock for longer than the busy timeout, so the
    /// migrations could not start; nothing was applied.
    #[error(
        "the database is locked by another connection (gave up after {waited_ms} ms); nothing \
         was applied; close the other writer or raise the busy timeout (Options::busy_timeout)"
    )]
    Busy {
        /// How long the runner waited.
        waited_ms: u64,
        /// SQLite's `SQLITE_BUSY`.
        #[source]
        source: rusqlite::Error,
    },

    /// The backup before applying could not be written.
    #[error("could not back up the database to {}; nothing was applied", path.display())]
    Backup {
        /// Where the backup was to go.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },

    /// The database file could not be opened (missing directory, permissions, or a missing file
    /// in verify-only mode).
    #[error("could not open the database {}", path.display())]
    Open {
        /// The path given.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },

    /// A typed data-access operation ([`Crud`](crate::Crud)) failed: SQLite refused the
    /// statement (a constraint, a lock), or a value did not convert to or from its field.
    #[error(
        "could not {operation} {}{}",
        migrate_engine::quote_ident(table),
        column.map(|c| format!(", column {}", migrate_engine::quote_ident(c))).unwrap_or_default()
    )]
    Data {
        /// What was being done.
        operation: crate::typed::Operation,
        /// The SQL table name.
        table: &'static str,
        /// The column whose value failed, when known.
        column: Option<&'static str>,
        /// SQLite's (or the conversion's) error.
        #[source]
        source: rusqlite::Error,
    },

    /// Any other SQLite error, with the phase it happened in and the migration(s) it concerns.
    #[error("sqlite error {phase}{}", tag.as_ref().map(|t| format!(" (migration {t})")).unwrap_or_default())]
    Sqlite {
        /// What the runner (or the caller) was doing.
        phase: Phase,
        /// The migration, or the run's migrations (`0003_a..0005_c`), when there is one.
        tag: Option<String>,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
}

/// Where an [`Error::Sqlite`] happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Phase {
    /// Configuring the connection (busy timeout, `foreign_keys = ON`).
    Configure,
    /// Reading the ledger (the start-up check, [`status`](crate::status)).
    ReadLedger,
    /// Switching foreign keys off before a run, reading them back, or restoring them.
    ForeignKeys,
    /// Setting `journal_mode=WAL`.
    JournalMode,
    /// Taking the write lock (`BEGIN IMMEDIATE`).
    Lock,
    /// Creating the ledger table. (A failing insert of a ledger row happens inside the engine's
    /// run: [`ApplyError::Sqlite`](crate::ApplyError::Sqlite) with the engine's `Record` phase.)
    RecordLedger,
    /// `COMMIT`.
    Commit,
    /// Beginning or committing a [`Database::transaction`](crate::Database::transaction).
    Transaction,
    /// A statement of the caller's own: a `rusqlite::Error` converted into this error with `?`
    /// (e.g. inside a [`Database::transaction`](crate::Database::transaction) closure).
    Caller,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Configure => "while configuring the connection",
            Phase::ReadLedger => "while reading the migration ledger",
            Phase::ForeignKeys => "while switching foreign keys off or back on",
            Phase::JournalMode => "while setting journal_mode=WAL",
            Phase::Lock => "while taking the write lock (BEGIN IMMEDIATE)",
            Phase::RecordLedger => "while creating the migration ledger",
            Phase::Commit => "while committing the migrations",
            Phase::Transaction => "while beginning or committing a transaction",
            Phase::Caller => "in a statement of the application",
        })
    }
}

/// A `rusqlite::Error` of the caller's own, e.g. a `?` on `tx.execute(..)` inside
/// [`Database::transaction`](crate::Database::transaction): [`Error::Sqlite`] with
/// [`Phase::Caller`]. The runner itself never converts this way; it names its phase.
impl From<rusqlite::Error> for Error {
    fn from(source: rusqlite::Error) -> Self {
        Error::Sqlite { phase: Phase::Caller, tag: None, source }
    }
}

/// `.phase(Phase::X)` on a `rusqlite::Result`: the error as [`Error::Sqlite`] with its phase.
pub(crate) trait PhaseExt<T> {
    /// The error in `phase`, with no migration.
    fn phase(self, phase: Phase) -> Result<T>;
    /// The error in `phase`, for the migration(s) `tag`.
    fn phase_of(self, phase: Phase, tag: &str) -> Result<T>;
}

impl<T> PhaseExt<T> for rusqlite::Result<T> {
    fn phase(self, phase: Phase) -> Result<T> {
        self.map_err(|source| Error::Sqlite { phase, tag: None, source })
    }

    fn phase_of(self, phase: Phase, tag: &str) -> Result<T> {
        self.map_err(|source| Error::Sqlite { phase, tag: Some(tag.to_owned()), source })
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_crosses_threads() {
        fn send_sync<T: Send + Sync + 'static>() {}
        send_sync::<Error>();
    }

    #[test]
    fn a_phase_error_names_its_phase_and_tag_but_not_its_source() {
        let source = rusqlite::Error::InvalidQuery;
        let text = source.to_string();
        let err = Err::<(), _>(source).phase_of(Phase::Commit, "0001_a..0002_b").unwrap_err();
        assert_eq!(
            err.to_string(),
            "sqlite error while committing the migrations (migration 0001_a..0002_b)"
        );
        assert_eq!(std::error::Error::source(&err).map(ToString::to_string), Some(text));
    }
}
