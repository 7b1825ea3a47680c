//! Checking the ledger against the embedded migrations, and applying what is pending.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use migrate_engine::{ProgressHook, Step, chain_hash, hash_sql, short, tags_of};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use crate::error::{Error, Phase, PhaseExt, Result};
use crate::{Backup, Migration, Options};

/// The ledger table's name.
pub const LEDGER_TABLE: &str = migrate_engine::ledger::TABLE;

const CREATE_LEDGER: &str = migrate_engine::ledger::CREATE;

const INSERT_LEDGER_ROW: &str = migrate_engine::ledger::INSERT_ROW;

const MIN_SQLITE: i32 = 3_035_005;

/// One row of the ledger table `__schema_migrations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// The migration's index.
    pub idx: u32,
    /// The migration's tag (file stem), e.g. `0000_create_users`.
    pub tag: String,
    /// Hex SHA-256 of the applied text (normalised).
    pub hash: String,
    /// The chain value up to and including this migration.
    pub chain: String,
    /// When it was applied, Unix milliseconds.
    pub applied_at_ms: i64,
    /// How long applying it took, milliseconds.
    pub duration_ms: i64,
}

/// What a run of [`migrate`](crate::migrate) did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// The migrations this run applied, in order (empty when the database was up to date, or
    /// when another process applied them first).
    pub applied: Vec<AppliedMigration>,
    /// The backup written before applying, if one was asked for and written.
    pub backup: Option<PathBuf>,
}

impl Report {
    /// `true` when this run applied nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.applied.is_empty()
    }
}

/// A migration applied by a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedMigration {
    /// Its index.
    pub idx: u32,
    /// Its tag.
    pub tag: &'static str,
    /// How long its statements took.
    pub duration: Duration,
}

/// The state of every migration, from [`status`](crate::status).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// One entry per embedded migration, in order.
    pub migrations: Vec<MigrationStatus>,
    /// Ledger rows this binary has no migration for (the database is newer than the binary).
    pub unknown: Vec<LedgerEntry>,
}

impl Status {
    /// `true` when every embedded migration is applied unchanged and the ledger holds nothing
    /// else.
    #[must_use]
    pub fn is_up_to_date(&self) -> bool {
        self.unknown.is_empty()
            && self.migrations.iter().all(|m| matches!(m.state, MigrationState::Applied { .. }))
    }

    /// The migrations not applied yet.
    pub fn pending(&self) -> impl Iterator<Item = &MigrationStatus> {
        self.migrations.iter().filter(|m| m.state == MigrationState::Pending)
    }

    /// The applied migrations (unchanged ones).
    pub fn applied(&self) -> impl Iterator<Item = &MigrationStatus> {
        self.migrations.iter().filter(|m| matches!(m.state, MigrationState::Applied { .. }))
    }
}

/// One line per migration, e.g. `applied  0000_create_users  3f2a9c1  at 1732300000000 (4 ms)`,
/// then one per unknown ledger row.
///
/// ```
/// use migrate_runtime::{Migration, chain_hash, hash_sql, rusqlite::Connection};
///
/// const SQL: &str = "CREATE TABLE \"t\" (\"x\");\n";
/// let hash: &'static str = Box::leak(hash_sql(SQL).into_boxed_str());
/// let chain: &'static str = Box::leak(chain_hash(None, hash).into_boxed_str());
/// let migrations = [Migration { idx: 0, tag: "0000_create_t", sql: SQL, hash, chain }];
/// let conn = Connection::open_in_memory()?;
/// let status = migrate_runtime::status(&conn, &migrations)?;
/// assert_eq!(status.to_string(), format!("pending  0000_create_t  {}\n", &hash[..7]));
/// # Ok::<(), migrate_runtime::Error>(())
/// ```
impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for m in &self.migrations {
            match &m.state {
                MigrationState::Applied { applied_at_ms, duration_ms } => writeln!(
                    f,
                    "applied  {}  {}  at {applied_at_ms} ({duration_ms} ms)",
                    m.tag,
                    short(m.hash)
                )?,
                MigrationState::Pending => writeln!(f, "pending  {}  {}", m.tag, short(m.hash))?,
                MigrationState::Edited { stored_hash, .. } => writeln!(
                    f,
                    "edited   {}  {} (applied {})",
                    m.tag,
                    short(m.hash),
                    short(stored_hash)
                )?,
                MigrationState::Replaced { stored_tag, stored_hash } => writeln!(
                    f,
                    "conflict {}  {} (the database has {stored_tag} {})",
                    m.tag,
                    short(m.hash),
                    short(stored_hash)
                )?,
            }
        }
        for r in &self.unknown {
            writeln!(f, "unknown  {}  {} (newer than this binary)", r.tag, short(&r.hash))?;
        }
        Ok(())
    }
}

/// One embedded migration in a [`Status`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// Its index.
    pub idx: u32,
    /// Its tag.
    pub tag: &'static str,
    /// The hash of its embedded text.
    pub hash: &'static str,
    /// Applied, pending, or in conflict with the ledger.
    pub state: MigrationState,
}

/// Where an embedded migration stands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MigrationState {
    /// Applied, with the same text.
    Applied {
        /// When, Unix milliseconds.
        applied_at_ms: i64,
        /// How long it took, milliseconds.
        duration_ms: i64,
    },
    /// Not applied.
    Pending,
    /// Applied, but the text was edited since (the ledger's hash differs).
    Edited {
        /// The hash recorded when it was applied.
        stored_hash: String,
        /// When, Unix milliseconds.
        applied_at_ms: i64,
    },
    /// The ledger has another migration under this index.
    Replaced {
        /// The tag in the ledger.
        stored_tag: String,
        /// The hash in the ledger.
        stored_hash: String,
    },
}

/// How a run treats the journal mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JournalPolicy {
    /// Switch a file to `journal_mode=WAL` (once the ledger check refused nothing, so an edited,
    /// unknown or out-of-order history writes nothing): [`Database::open`](crate::Database::open)
    /// on a file.
    Wal,
    /// Leave the caller's journal mode alone: [`migrate`](crate::migrate), in-memory databases.
    Keep,
}

/// The checks on the connection and the library that come before anything else.
fn preconditions(conn: &Connection, autocommit: Autocommit) -> Result<()> {
    if autocommit == Autocommit::Required && !conn.is_autocommit() {
        return Err(Error::InTransaction);
    }
    check_sqlite_version(rusqlite::version_number(), rusqlite::version())
}

/// Whether a caller may be inside a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Autocommit {
    /// A run that applies: it needs its own transaction.
    Required,
    /// A read-only check: any transaction of the caller's is fine.
    Optional,
}

pub(crate) fn check_sqlite_version(number: i32, text: &str) -> Result<()> {
    if number < MIN_SQLITE {
        return Err(Error::SqliteTooOld { found: text.to_owned() });
    }
    Ok(())
}

/// What the one start-up read of the ledger found.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Head {
    /// There is no ledger table.
    NoLedger,
    /// The ledger table exists and is empty.
    Empty,
    /// The ledger's last row.
    Last(HeadRow),
    /// The read proves nothing (only the precise check can tell).
    Unproven,
}

/// The ledger's last row, and whether every row's index and tag are the embedded ones.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HeadRow {
    /// The chain value of the last row: it stands for every hash up to it.
    chain: String,
    /// Every `(idx, tag)` of the ledger equals the embedded list's, in index order (so the row
    /// count and the last index are equal too).
    rows_match: bool,
}

/// The start-up read, one pass over the ledger's rows in rowid order: the chain of the row with
/// the largest index (SQLite documents that a bare column next to a single `max()` comes from
/// the row holding the maximum), that index, the sum of the indexes, the row count, and every
/// tag in index order joined by newlines, compared with `?1` (about 45 µs at 1,000 migrations;
/// were the scan's order ever not the rowid order, the comparison would fail and the precise
/// check run: never a wrong "up to date"). One statement without subqueries: its preparation is
/// a small part of a fresh connection's start-up.
const HEAD: &str = "SELECT \"chain\", max(\"idx\"), sum(\"idx\"), count(*), \
     group_concat(\"tag\", char(10)) IS ?1 FROM \"__schema_migrations\" NOT INDEXED";

/// The embedded tags joined as [`HEAD`] joins the ledger's, when that comparison (with the count,
/// the last index and the sum of the indexes) proves every `(idx, tag)` pair equal: the indexes
/// are consecutive (as the build script writes them; of `count` distinct integers up to `last`,
/// only `last - count + 1 ..= last` reach their sum, so the ledger's indexes are exactly the
/// embedded ones) and no tag contains the separator (then both sides split into the same `count`
/// tags). `None` otherwise: the fast path does not apply.
fn joined_tags(migrations: &[Migration]) -> Option<String> {
    let consecutive = migrations.windows(2).all(|w| w[0].idx.checked_add(1) == Some(w[1].idx));
    if !consecutive || migrations.iter().any(|m| m.tag.contains('\n')) {
        return None;
    }
    let mut out = String::with_capacity(migrations.iter().map(|m| m.tag.len() + 1).sum());
    for (i, m) in migrations.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(m.tag);
    }
    Some(out)
}

/// The one read of an up-to-date start-up, never hashing: the last row's chain (which covers
/// every hash up to it) and the indexes and tags of every row (which the chain does not cover: a
/// renamed migration file changes its tag only).
fn read_head(conn: &Connection, migrations: &[Migration]) -> Result<Head> {
    let mut stmt = match conn.prepare_cached(HEAD) {
        Ok(stmt) => stmt,
        Err(e) if is_no_such_table(&e) => return Ok(Head::NoLedger),
        Err(e) => return Err(e).phase(Phase::ReadLedger),
    };
    let joined = joined_tags(migrations);
    let read = stmt.query_row([joined.as_deref()], |r| {
        Ok((
            r.get::<_, Option<String>>(0)?,
            r.get::<_, Option<i64>>(1)?,
            r.get::<_, Option<i64>>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, bool>(4)?,
        ))
    });
    let (chain, last, sum, count, tags_equal) = match read {
        Ok(read) => read,
        // `sum` overflows only on a ledger edited by hand (indexes near 2^63): no proof, the
        // precise check names the problem.
        Err(e) if is_overflow(&e) => return Ok(Head::Unproven),
        Err(e) => return Err(e).phase(Phase::ReadLedger),
    };
    let Some(chain) = chain else { return Ok(Head::Empty) };
    let rows_match = match (migrations.first(), migrations.last()) {
        (Some(f), Some(l)) => {
            let (f_idx, l_idx) = (i128::from(f.idx), i128::from(l.idx));
            let expected_sum = (f_idx + l_idx) * (l_idx - f_idx + 1) / 2;
            joined.is_some()
                && tags_equal
                && last == Some(i64::from(l.idx))
                && sum.map(i128::from) == Some(expected_sum)
                && usize::try_from(count).ok() == Some(migrations.len())
        }
        _ => false,
    };
    Ok(Head::Last(HeadRow { chain, rows_match }))
}

fn is_overflow(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(_, Some(msg)) if msg.contains("integer overflow"))
}

fn is_no_such_table(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(_, Some(msg)) if msg.starts_with("no such table"))
}

fn ledger_exists(conn: &Connection) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1",
            [LEDGER_TABLE],
            |_| Ok(()),
        )
        .optional()
        .phase(Phase::ReadLedger)?
        .is_some())
}

/// Every ledger row, by index, or `None` when the table does not exist.
fn read_ledger(conn: &Connection) -> Result<Option<Vec<LedgerEntry>>> {
    if !ledger_exists(conn)? {
        return Ok(None);
    }
    let mut stmt = conn
        .prepare(
            "SELECT \"idx\", \"tag\", \"hash\", \"chain\", \"applied_at\", \"duration_ms\" \
             FROM \"__schema_migrations\" ORDER BY \"idx\"",
        )
        .phase(Phase::ReadLedger)?;
    let rows = stmt
        .query_map([], |r| {
            Ok(LedgerEntry {
                idx: r.get(0)?,
                tag: r.get(1)?,
                hash: r.get(2)?,
                chain: r.get(3)?,
                applied_at_ms: r.get(4)?,
                duration_ms: r.get(5)?,
            })
        })
        .and_then(Iterator::collect)
        .phase(Phase::ReadLedger)?;
    Ok(Some(rows))
}

/// Some user tables of a database, at most five.
fn user_tables(conn: &Connection) -> Result<Vec<String>> {
    conn.prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
         ORDER BY name LIMIT 5",
    )
    .and_then(|mut stmt| stmt.query_map([], |r| r.get(0))?.collect())
    .phase(Phase::ReadLedger)
}

/// Checks the embedded list itself: indexes increase, tags are unique, hashes and chains are
/// those of the text.
fn validate_embedded(migrations: &[Migration]) -> Result<()> {
    let mut prev: Option<&Migration> = None;
    let mut tags = std::collections::HashSet::new();
    for m in migrations {
        let bad = |detail: String| Error::InvalidMigrations { tag: m.tag.to_owned(), detail };
        if let Some(p) = prev
            && m.idx <= p.idx
        {
            return Err(bad(format!("index {} does not come after {} ({})", m.idx, p.idx, p.tag)));
        }
        if !tags.insert(m.tag) {
            return Err(bad("the tag appears twice".to_owned()));
        }
        let hash = hash_sql(m.sql);
        if hash != m.hash {
            return Err(bad(format!(
                "embedded hash {} is not the hash of its text ({})",
                short(m.hash),
                short(&hash)
            )));
        }
        let chain = chain_hash(prev.map(|p| p.chain), m.hash);
        if chain != m.chain {
            return Err(bad(format!(
                "embedded chain {} is not the chain of the migrations up to it ({})",
                short(m.chain),
                short(&chain)
            )));
        }
        prev = Some(m);
    }
    Ok(())
}

/// What the database needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// Nothing: every migration is applied.
    UpToDate,
    /// The migrations from index `first` of the embedded slice are pending; `applied` is the
    /// number of ledger rows.
    Pending { first: usize, applied: usize },
}

/// Compares the whole ledger with the embedded list; the precise refusal, or what is pending.
fn compare(
    conn: &Connection,
    ledger: Option<Vec<LedgerEntry>>,
    migrations: &[Migration],
) -> Result<Plan> {
    let Some(rows) = ledger else {
        if migrations.is_empty() {
            return Ok(Plan::UpToDate);
        }
        let tables = user_tables(conn)?;
        if !tables.is_empty() {
            return Err(Error::Unmanaged { tables });
        }
        return Ok(Plan::Pending { first: 0, applied: 0 });
    };
    let mut applied = vec![false; migrations.len()];
    for row in &rows {
        let Ok(i) = migrations.binary_search_by_key(&row.idx, |m| m.idx) else {
            return Err(Error::UnknownApplied {
                tag: row.tag.clone(),
                idx: row.idx,
                stored_hash: row.hash.clone(),
            });
        };
        let m = &migrations[i];
        if m.tag != row.tag {
            return Err(Error::Diverged {
                idx: row.idx,
                stored_tag: row.tag.clone(),
                stored_hash: row.hash.clone(),
                embedded_tag: m.tag.to_owned(),
                embedded_hash: m.hash.to_owned(),
            });
        }
        if m.hash != row.hash {
            return Err(Error::Edited {
                tag: row.tag.clone(),
                stored_hash: row.hash.clone(),
                embedded_hash: m.hash.to_owned(),
            });
        }
        applied[i] = true;
    }
    // Everything before the last applied migration must be applied.
    let first = applied.iter().rposition(|&a| a).map_or(0, |last| last + 1);
    if let Some(gap) = applied[..first].iter().position(|&a| !a) {
        let later = applied[gap..].iter().position(|&a| a).map_or(gap, |p| p + gap);
        return Err(Error::OutOfOrder {
            tag: migrations[gap].tag.to_owned(),
            applied_tag: migrations[later].tag.to_owned(),
        });
    }
    // Same tags and hashes in the same order: the chains can only differ if the ledger was
    // edited by hand.
    for row in &rows {
        if let Ok(i) = migrations.binary_search_by_key(&row.idx, |m| m.idx)
            && migrations[i].chain != row.chain
        {
            return Err(Error::LedgerCorrupt {
                tag: row.tag.clone(),
                detail: format!(
                    "its chain value {} is not {}, the chain of the migrations up to it",
                    short(&row.chain),
                    short(migrations[i].chain)
                ),
            });
        }
    }
    if first == migrations.len() {
        Ok(Plan::UpToDate)
    } else {
        Ok(Plan::Pending { first, applied: rows.len() })
    }
}

/// The fast check, then the precise one on a mismatch.
fn check(conn: &Connection, migrations: &[Migration]) -> Result<Plan> {
    match (read_head(conn, migrations)?, migrations.last()) {
        (Head::NoLedger, None) => return Ok(Plan::UpToDate),
        (Head::Last(head), Some(last)) if head.rows_match && head.chain == last.chain => {
            return Ok(Plan::UpToDate);
        }
        _ => {}
    }
    // The precise comparison reads several things: one read transaction makes them one
    // snapshot (another process may be committing its migrations meanwhile). Dropping it ends
    // it (it wrote nothing).
    let snapshot = if conn.is_autocommit() {
        Some(
            Transaction::new_unchecked(conn, TransactionBehavior::Deferred)
                .phase(Phase::ReadLedger)?,
        )
    } else {
        None
    };
    let ledger = read_ledger(conn)?;
    let plan = compare(conn, ledger, migrations)?;
    drop(snapshot);
    validate_embedded(migrations)?;
    Ok(plan)
}

/// The connection with foreign keys switched off for a run; dropping it switches them back on
/// if they were on (after the run's transaction ended: inside one the pragma is a no-op).
struct ForeignKeysOff<'c> {
    conn: &'c mut Connection,
    restore_on: bool,
}

impl ForeignKeysOff<'_> {
    /// Switches foreign keys off (it must happen outside any transaction: inside one the pragma
    /// is silently ignored) and reads the setting back.
    fn switch(conn: &mut Connection) -> Result<ForeignKeysOff<'_>> {
        let read = |conn: &Connection| -> Result<i64> {
            conn.pragma_query_value(None, "foreign_keys", |r| r.get(0)).phase(Phase::ForeignKeys)
        };
        let fk_was = read(conn)?;
        if fk_was != 0 {
            conn.execute_batch("PRAGMA foreign_keys = OFF").phase(Phase::ForeignKeys)?;
        }
        let guard = ForeignKeysOff { restore_on: fk_was != 0, conn };
        if read(&guard)? != 0 {
            return Err(Error::ForeignKeysStillOn);
        }
        Ok(guard)
    }
}

impl std::ops::Deref for ForeignKeysOff<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl std::ops::DerefMut for ForeignKeysOff<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn
    }
}

impl Drop for ForeignKeysOff<'_> {
    fn drop(&mut self) {
        if self.restore_on
            && let Err(e) = self.conn.execute_batch("PRAGMA foreign_keys = ON")
        {
            log::error!("could not switch foreign keys back on: {e}");
        }
    }
}

/// The run's `BEGIN IMMEDIATE` transaction, rolled back when dropped without [`commit`]
/// (an error, a panic).
///
/// Not a [`rusqlite::Transaction`]: the engine installs SQLite's authorizer for the run, which
/// rusqlite allows only through `&mut Connection`, and a `Transaction` holds a shared borrow of
/// the connection for its whole life. This holds the `&mut` and lends it out.
///
/// [`commit`]: WriteLock::commit
struct WriteLock<'c> {
    conn: &'c mut Connection,
    open: bool,
}

impl<'c> WriteLock<'c> {
    /// `BEGIN IMMEDIATE`: waits for the write lock up to the busy timeout ([`Error::Busy`]).
    fn begin(conn: &'c mut Connection) -> Result<Self> {
        let waiting = Instant::now();
        conn.execute_batch("BEGIN IMMEDIATE").map_err(|e| busy(e, waiting, Phase::Lock))?;
        Ok(WriteLock { conn, open: true })
    }

    fn commit(mut self, tags: &str) -> Result<()> {
        self.conn.execute_batch("COMMIT").phase_of(Phase::Commit, tags)?;
        self.open = false;
        Ok(())
    }
}

impl std::ops::Deref for WriteLock<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl std::ops::DerefMut for WriteLock<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn
    }
}

impl Drop for WriteLock<'_> {
    fn drop(&mut self) {
        if self.open
            && !self.conn.is_autocommit()
            && let Err(e) = self.conn.execute_batch("ROLLBACK")
        {
            log::error!("could not roll back the migration transaction: {e}");
        }
    }
}

/// [`Error::Busy`] for a lock that was not granted in time, else the error in `phase`.
fn busy(source: rusqlite::Error, since: Instant, phase: Phase) -> Error {
    match source {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DatabaseBusy => {
            Error::Busy {
                waited_ms: u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX),
                source,
            }
        }
        source => Error::Sqlite { phase, tag: None, source },
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Writes the backup with `VACUUM INTO`.
fn backup(
    conn: &Connection,
    target: &Backup,
    first_pending: &Migration,
) -> Result<Option<PathBuf>> {
    let path = match target {
        Backup::Off => return Ok(None),
        Backup::To(path) => path.clone(),
        Backup::Beside => {
            let Some(db) = conn.path().filter(|p| !p.is_empty()) else {
                return Ok(None);
            };
            let base = format!("{db}.bak-{:04}", first_pending.idx);
            let mut path = PathBuf::from(&base);
            let mut n = 2;
            while path.exists() {
                path = PathBuf::from(format!("{base}-{n}"));
                n += 1;
            }
            path
        }
    };
    let Some(text) = path.to_str() else {
        return Err(Error::Backup { path, source: rusqlite::Error::InvalidPath(PathBuf::new()) });
    };
    match conn.execute("VACUUM INTO ?1", [text]) {
        Ok(_) => {
            log::info!("backed up the database to {}", path.display());
            Ok(Some(path))
        }
        Err(source) => Err(Error::Backup { path, source }),
    }
}

/// See [`crate::migrate_with`]: preflight, lock, apply (with the engine's checks), commit.
pub(crate) fn migrate_with(
    conn: &mut Connection,
    migrations: &[Migration],
    options: &Options,
    journal: JournalPolicy,
) -> Result<Report> {
    let plan = preflight(conn, migrations)?;
    // Only now that nothing is refused: the journal mode is a write when it changes.
    if journal == JournalPolicy::Wal {
        set_wal(conn, options.busy_timeout)?;
    }
    let (first, applied) = match plan {
        Plan::UpToDate => {
            log::debug!("database is up to date ({} migrations)", migrations.len());
            return Ok(Report::default());
        }
        Plan::Pending { first, applied } => (first, applied),
    };
    if options.verify_only {
        return Err(Error::Pending {
            count: migrations.len() - first,
            first: migrations[first].tag.to_owned(),
        });
    }
    let mut report = Report::default();
    if applied > 0 {
        report.backup = backup(conn, &options.backup, &migrations[first])?;
    }
    log::trace!("switching foreign keys off");
    let mut foreign_keys = ForeignKeysOff::switch(conn)?;
    let mut lock = WriteLock::begin(&mut foreign_keys)?;
    let Some(pending) = pending_under_lock(&lock, migrations)? else {
        log::debug!("another connection applied the pending migrations first");
        return Ok(report);
    };
    let steps: Vec<Step<'_>> = pending.iter().map(|m| Step { tag: m.tag, sql: m.sql }).collect();
    let tags = tags_of(&steps);
    report.applied = apply(&mut lock, pending, &steps, &tags, options.progress.as_ref())?;
    commit(lock, &tags, &report)?;
    Ok(report)
}

/// Phase 1, before anything is written: the connection and the library, and the ledger against
/// the embedded list (one read when up to date).
fn preflight(conn: &Connection, migrations: &[Migration]) -> Result<Plan> {
    preconditions(conn, Autocommit::Required)?;
    log::trace!("checking the ledger");
    check(conn, migrations)
}

/// Phase 2, holding the write lock: the ledger read again (another process may have applied some
/// or all of it meanwhile, so concurrent processes never apply a migration twice); `None` when
/// nothing is left.
fn pending_under_lock<'m>(
    conn: &Connection,
    migrations: &'m [Migration],
) -> Result<Option<&'m [Migration]>> {
    log::trace!("re-reading the ledger under the lock");
    let ledger = read_ledger(conn)?;
    match compare(conn, ledger, migrations)? {
        Plan::UpToDate => Ok(None),
        Plan::Pending { first, .. } => Ok(Some(&migrations[first..])),
    }
}

/// Writes the ledger rows inside the engine's savepoint, all at once after the last step (so a
/// run the engine rolls back and applies again records each row once).
///
/// Not one row after each step: every step changes the schema, so a statement prepared once
/// would be prepared again by SQLite (the schema cookie changed) before every row, about 45,000
/// instructions each; after the last step one prepared statement inserts them all.
struct LedgerRecorder<'m> {
    pending: &'m [Migration],
    /// Each step's duration, by index into `pending`.
    durations: Vec<Duration>,
}

impl<'m> LedgerRecorder<'m> {
    fn new(pending: &'m [Migration]) -> Self {
        Self { pending, durations: vec![Duration::ZERO; pending.len()] }
    }
}

impl migrate_engine::Recorder for LedgerRecorder<'_> {
    fn after_step(
        &mut self,
        conn: &Connection,
        i: usize,
        duration: Duration,
    ) -> rusqlite::Result<()> {
        self.durations[i] = duration;
        if i + 1 < self.pending.len() {
            return Ok(());
        }
        let mut insert = conn.prepare(INSERT_LEDGER_ROW)?;
        let applied_at = now_ms();
        for (m, duration) in self.pending.iter().zip(&self.durations) {
            let ms = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
            insert.execute(params![m.idx, m.tag, m.hash, m.chain, applied_at, ms])?;
        }
        Ok(())
    }
}

/// Phase 3: the ledger table, then the engine: every pending migration's statements under its
/// policy, each followed by its ledger row, and the checks (foreign keys, views, the schema).
fn apply(
    conn: &mut Connection,
    pending: &[Migration],
    steps: &[Step<'_>],
    tags: &str,
    progress: Option<&ProgressHook>,
) -> Result<Vec<AppliedMigration>> {
    conn.execute_batch(CREATE_LEDGER).phase_of(Phase::RecordLedger, tags)?;
    let mut recorder = LedgerRecorder::new(pending);
    let outcome = match progress {
        Some(hook) => migrate_engine::apply_checked_with_progress(conn, steps, &mut recorder, hook),
        None => migrate_engine::apply_checked(conn, steps, &mut recorder),
    }
    .map_err(|e| match e {
        migrate_engine::Error::Cancelled { tag, statement } => {
            log::info!("migrating was cancelled at {tag} statement {statement}");
            Error::Cancelled { tag, statement }
        }
        other => Error::Apply(other),
    })?;
    Ok(pending
        .iter()
        .zip(outcome.applied)
        .map(|(m, a)| AppliedMigration { idx: m.idx, tag: m.tag, duration: a.duration })
        .collect())
}

/// Phase 4: `COMMIT`; foreign keys are restored after it, as the caller's guard drops.
fn commit(lock: WriteLock<'_>, tags: &str, report: &Report) -> Result<()> {
    log::trace!("COMMIT");
    lock.commit(tags)?;
    for m in &report.applied {
        log::info!("applied migration {} in {} ms", m.tag, m.duration.as_millis());
    }
    log::info!("applied {} migration(s): {tags}", report.applied.len());
    Ok(())
}

/// Switches the file to `journal_mode=WAL` unless it already is. The switch takes an exclusive
/// lock without consulting the busy handler (SQLite returns `SQLITE_BUSY` at once while another
/// connection reads), so it is retried until the busy timeout.
fn set_wal(conn: &Connection, timeout: Duration) -> Result<()> {
    let mode: String =
        conn.pragma_query_value(None, "journal_mode", |r| r.get(0)).phase(Phase::JournalMode)?;
    if mode.eq_ignore_ascii_case("wal") {
        return Ok(());
    }
    log::trace!("setting journal_mode=WAL (was {mode})");
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0)) {
            Ok(mode) => {
                if !mode.eq_ignore_ascii_case("wal") {
                    log::warn!("journal_mode is {mode}, not wal");
                }
                return Ok(());
            }
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy && start.elapsed() < timeout =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            Err(e) => return Err(busy(e, start, Phase::JournalMode)),
        }
    }
}

/// See [`crate::verify`].
pub(crate) fn verify(conn: &Connection, migrations: &[Migration]) -> Result<()> {
    preconditions(conn, Autocommit::Optional)?;
    match check(conn, migrations)? {
        Plan::UpToDate => Ok(()),
        Plan::Pending { first, .. } => Err(Error::Pending {
            count: migrations.len() - first,
            first: migrations[first].tag.to_owned(),
        }),
    }
}

/// See [`crate::status`].
pub(crate) fn status(conn: &Connection, migrations: &[Migration]) -> Result<Status> {
    let rows = read_ledger(conn)?.unwrap_or_default();
    let mut by_idx: HashMap<u32, &LedgerEntry> = rows.iter().map(|r| (r.idx, r)).collect();
    let mut out = Vec::with_capacity(migrations.len());
    for m in migrations {
        let state = match by_idx.remove(&m.idx) {
            None => MigrationState::Pending,
            Some(r) if r.tag != m.tag => {
                MigrationState::Replaced { stored_tag: r.tag.clone(), stored_hash: r.hash.clone() }
            }
            Some(r) if r.hash != m.hash => MigrationState::Edited {
                stored_hash: r.hash.clone(),
                applied_at_ms: r.applied_at_ms,
            },
            Some(r) => MigrationState::Applied {
                applied_at_ms: r.applied_at_ms,
                duration_ms: r.duration_ms,
            },
        };
        out.push(MigrationStatus { idx: m.idx, tag: m.tag, hash: m.hash, state });
    }
    let mut unknown: Vec<LedgerEntry> = by_idx.into_values().cloned().collect();
    unknown.sort_by_key(|r| r.idx);
    Ok(Status { migrations: out, unknown })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_sqlite_is_refused() {
        let e = check_sqlite_version(3_035_004, "3.35.4").unwrap_err();
        assert!(matches!(e, Error::SqliteTooOld { .. }));
        assert!(e.to_string().contains("3.35.4"), "{e}");
        check_sqlite_version(3_035_005, "3.35.5").unwrap();
        check_sqlite_version(rusqlite::version_number(), rusqlite::version()).unwrap();
    }

    fn list(items: &[(u32, &'static str)]) -> Vec<Migration> {
        let mut out: Vec<Migration> = Vec::new();
        for &(idx, tag) in items {
            let sql: &'static str =
                Box::leak(format!("CREATE TABLE \"t{idx}\" (\"x\");\n").into_boxed_str());
            let hash: &'static str = Box::leak(hash_sql(sql).into_boxed_str());
            let chain: &'static str =
                Box::leak(chain_hash(out.last().map(|m| m.chain), hash).into_boxed_str());
            out.push(Migration { idx, tag, sql, hash, chain });
        }
        out
    }

    #[test]
    fn the_fast_path_applies_only_where_it_proves_every_row() {
        let consecutive = list(&[(0, "0000_a"), (1, "0001_b")]);
        assert_eq!(joined_tags(&consecutive).as_deref(), Some("0000_a\n0001_b"));
        // A gap, or a tag holding the separator: no proof, the precise check decides.
        assert_eq!(joined_tags(&list(&[(0, "0000_a"), (2, "0002_b")])), None);
        assert_eq!(joined_tags(&list(&[(0, "0000_a\nb")])), None);
        for m in [consecutive, list(&[(0, "0000_a"), (2, "0002_b")]), list(&[(0, "a\nb")])] {
            let mut conn = Connection::open_in_memory().unwrap();
            migrate_with(&mut conn, &m, &Options::default(), JournalPolicy::Keep).unwrap();
            let Head::Last(head) = read_head(&conn, &m).unwrap() else { panic!("a head row") };
            assert_eq!(head.rows_match, joined_tags(&m).is_some());
            assert!(matches!(check(&conn, &m).unwrap(), Plan::UpToDate));
            // One migration fewer in the binary than in the ledger: never up to date.
            if m.len() > 1 {
                assert!(matches!(check(&conn, &m[..1]), Err(Error::UnknownApplied { .. })));
            }
        }
        let empty = Connection::open_in_memory().unwrap();
        assert_eq!(read_head(&empty, &[]).unwrap(), Head::NoLedger);
        empty.execute_batch(CREATE_LEDGER).unwrap();
        assert_eq!(read_head(&empty, &[]).unwrap(), Head::Empty);
    }

    #[test]
    fn the_fast_path_proves_the_indexes_with_their_sum_and_never_trusts_a_hand_edited_ledger() {
        let m = list(&[(0, "0000_a"), (1, "0001_b"), (2, "0002_c")]);
        let up_to_date = || {
            let mut conn = Connection::open_in_memory().unwrap();
            migrate_with(&mut conn, &m, &Options::default(), JournalPolicy::Keep).unwrap();
            conn
        };
        let proven = |conn: &Connection| match read_head(conn, &m).unwrap() {
            Head::Last(head) => head.rows_match,
            _ => false,
        };
        assert!(proven(&up_to_date()));
        // Same count, last index, tags in order and chain; another first index: the sum differs.
        for edit in [
            "UPDATE __schema_migrations SET idx = -1 WHERE idx = 0",
            "UPDATE __schema_migrations SET idx = -5 WHERE idx = 0",
            // Two tags swapped between indexes (renamed files): the joined tags differ.
            "UPDATE __schema_migrations SET tag = 'spare' WHERE idx = 0;\
             UPDATE __schema_migrations SET tag = '0000_a' WHERE idx = 1;\
             UPDATE __schema_migrations SET tag = '0001_b' WHERE idx = 0;",
        ] {
            let conn = up_to_date();
            conn.execute_batch(edit).unwrap();
            assert!(!proven(&conn), "{edit}");
            assert!(check(&conn, &m).is_err(), "{edit}");
        }
        // Indexes near 2^63 make `sum` overflow: no proof, and the precise check refuses.
        let conn = up_to_date();
        conn.execute_batch(
            "UPDATE __schema_migrations SET idx = 9223372036854775807 WHERE idx = 2;\
             UPDATE __schema_migrations SET idx = 9223372036854775806 WHERE idx = 1;",
        )
        .unwrap();
        assert_eq!(read_head(&conn, &m).unwrap(), Head::Unproven);
        assert!(check(&conn, &m).is_err());
    }

    #[test]
    fn the_ledger_rows_are_written_once_when_the_engine_applies_twice() {
        // A violation that was already there makes the engine roll back and apply again: the
        // rows written after the last step of the first pass are rolled back with it.
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "PRAGMA foreign_keys = OFF; CREATE TABLE p (id INTEGER PRIMARY KEY); \
             CREATE TABLE c (id INTEGER PRIMARY KEY, p INTEGER REFERENCES p(id)); \
             INSERT INTO c VALUES (1, 99);",
        )
        .unwrap();
        let m = list(&[(0, "0000_a"), (1, "0001_b"), (2, "0002_c")]);
        // The run touches most tables (the three new ones): the whole database is checked.
        let err = migrate_with(&mut conn, &m, &Options::default(), JournalPolicy::Keep);
        assert!(matches!(err, Err(Error::Unmanaged { .. })), "{err:?}");
        conn.execute_batch(CREATE_LEDGER).unwrap();
        let report = migrate_with(&mut conn, &m, &Options::default(), JournalPolicy::Keep).unwrap();
        assert_eq!(report.applied.len(), 3);
        let rows: Vec<(u32, String)> = conn
            .prepare("SELECT idx, tag FROM __schema_migrations ORDER BY idx")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(rows, [(0, "0000_a".into()), (1, "0001_b".into()), (2, "0002_c".into())]);
        assert!(matches!(check(&conn, &m).unwrap(), Plan::UpToDate));
    }

    #[test]
    fn foreign_keys_that_stay_on_are_detected_and_left_as_they_were() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        let fk = |conn: &Connection| -> i64 {
            conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap()
        };
        // Inside a transaction the pragma is a silent no-op: exactly what the read-back catches.
        conn.execute_batch("BEGIN").unwrap();
        let err = ForeignKeysOff::switch(&mut conn).err().expect("still on must be refused");
        assert!(matches!(err, Error::ForeignKeysStillOn));
        assert!(err.to_string().contains("foreign keys off"), "{err}");
        conn.execute_batch("COMMIT").unwrap();
        assert_eq!(fk(&conn), 1);
        // Outside a transaction: off while the guard lives, on again after.
        let guard = ForeignKeysOff::switch(&mut conn).unwrap();
        assert_eq!(fk(&guard), 0);
        drop(guard);
        assert_eq!(fk(&conn), 1);
    }

    #[test]
    fn a_write_lock_dropped_without_commit_rolls_back() {
        let mut conn = Connection::open_in_memory().unwrap();
        let lock = WriteLock::begin(&mut conn).unwrap();
        lock.execute_batch("CREATE TABLE t(x)").unwrap();
        drop(lock);
        assert!(conn.is_autocommit());
        let n: i64 =
            conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 0);
        let lock = WriteLock::begin(&mut conn).unwrap();
        lock.execute_batch("CREATE TABLE t(x)").unwrap();
        lock.commit("0000_t").unwrap();
        let n: i64 =
            conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 1);
    }
}
