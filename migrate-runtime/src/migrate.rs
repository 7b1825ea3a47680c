//! Checking the ledger against the embedded migrations, and applying what is pending.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::fallible_iterator::FallibleIterator;
use rusqlite::{Batch, Connection, OptionalExtension, params};

use crate::error::{Error, FkViolation, Result};
use crate::hash::{chain_hash, hash_sql};
use crate::sql;
use crate::{Backup, Migration, Options};

/// The ledger table's name.
pub const LEDGER_TABLE: &str = "__schema_migrations";

const CREATE_LEDGER: &str = "CREATE TABLE IF NOT EXISTS \"__schema_migrations\" (\"idx\" INTEGER PRIMARY KEY, \
     \"tag\" TEXT NOT NULL UNIQUE, \"hash\" TEXT NOT NULL, \"chain\" TEXT NOT NULL, \
     \"applied_at\" INTEGER NOT NULL, \"duration_ms\" INTEGER NOT NULL)";

const HEAD: &str = "SELECT \"idx\", \"chain\", (SELECT count(*) FROM \"__schema_migrations\") \
     FROM \"__schema_migrations\" ORDER BY \"idx\" DESC LIMIT 1";

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
        use crate::hash::short;
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

/// The checks that come before anything else.
fn preflight(conn: &Connection, need_autocommit: bool) -> Result<()> {
    if need_autocommit && !conn.is_autocommit() {
        return Err(Error::InTransaction);
    }
    check_sqlite_version(rusqlite::version_number(), rusqlite::version())
}

pub(crate) fn check_sqlite_version(number: i32, text: &str) -> Result<()> {
    if number < MIN_SQLITE {
        return Err(Error::SqliteTooOld { found: text.to_owned() });
    }
    Ok(())
}

/// The ledger's last row and row count, or `None` when the ledger table does not exist.
fn read_head(conn: &Connection) -> Result<Option<Option<(i64, String, i64)>>> {
    let mut stmt = match conn.prepare(HEAD) {
        Ok(stmt) => stmt,
        Err(e) if is_no_such_table(&e) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let head = stmt.query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).optional()?;
    Ok(Some(head))
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
        .optional()?
        .is_some())
}

/// Every ledger row, by index, or `None` when the table does not exist.
fn read_ledger(conn: &Connection) -> Result<Option<Vec<LedgerEntry>>> {
    if !ledger_exists(conn)? {
        return Ok(None);
    }
    let mut stmt = conn.prepare(
        "SELECT \"idx\", \"tag\", \"hash\", \"chain\", \"applied_at\", \"duration_ms\" \
         FROM \"__schema_migrations\" ORDER BY \"idx\"",
    )?;
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
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Some(rows))
}

/// Some user tables of a database, at most five.
fn user_tables(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
         ORDER BY name LIMIT 5",
    )?;
    let names = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(names)
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
                crate::hash::short(m.hash),
                crate::hash::short(&hash)
            )));
        }
        let chain = chain_hash(prev.map(|p| p.chain), m.hash);
        if chain != m.chain {
            return Err(bad(format!(
                "embedded chain {} is not the chain of the migrations up to it ({})",
                crate::hash::short(m.chain),
                crate::hash::short(&chain)
            )));
        }
        prev = Some(m);
    }
    Ok(())
}

/// What the database needs.
enum Plan {
    /// Nothing: every migration is applied.
    UpToDate,
    /// These migrations (indexes into the embedded slice) are pending; `applied` is the number of
    /// ledger rows.
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
                    crate::hash::short(&row.chain),
                    crate::hash::short(migrations[i].chain)
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
    let head = read_head(conn)?;
    if let (Some(Some((idx, chain, count))), Some(last)) = (&head, migrations.last())
        && *idx == i64::from(last.idx)
        && chain == last.chain
        && usize::try_from(*count).ok() == Some(migrations.len())
    {
        return Ok(Plan::UpToDate);
    }
    if head.is_none() && migrations.is_empty() {
        return Ok(Plan::UpToDate);
    }
    // The precise comparison reads several things: one read transaction makes them one
    // snapshot (another process may be committing its migrations meanwhile).
    let read_tx =
        if conn.is_autocommit() { Some(Tx::begin(conn, "BEGIN DEFERRED")?) } else { None };
    let ledger = read_ledger(conn)?;
    let plan = compare(conn, ledger, migrations)?;
    drop(read_tx);
    validate_embedded(migrations)?;
    Ok(plan)
}

/// Restores `foreign_keys` when dropped.
struct FkGuard<'c> {
    conn: &'c Connection,
    restore_on: bool,
}

impl Drop for FkGuard<'_> {
    fn drop(&mut self) {
        if self.restore_on
            && let Err(e) = self.conn.execute_batch("PRAGMA foreign_keys = ON")
        {
            log::error!("could not switch foreign keys back on: {e}");
        }
    }
}

/// Switches foreign keys off (it must happen outside any transaction: inside one the pragma is
/// silently ignored) and reads the setting back; the guard switches them on again if they were.
fn foreign_keys_off(conn: &Connection) -> Result<FkGuard<'_>> {
    let fk_was: i64 = conn.pragma_query_value(None, "foreign_keys", |r| r.get(0))?;
    let guard = FkGuard { conn, restore_on: fk_was != 0 };
    if fk_was != 0 {
        conn.execute_batch("PRAGMA foreign_keys = OFF")?;
    }
    let fk_now: i64 = conn.pragma_query_value(None, "foreign_keys", |r| r.get(0))?;
    if fk_now != 0 {
        return Err(Error::ForeignKeysStillOn);
    }
    Ok(guard)
}

/// [`Error::Busy`] for a lock that was not granted in time, else the error itself.
fn busy(e: Error, since: Instant) -> Error {
    match e {
        Error::Sqlite(rusqlite::Error::SqliteFailure(f, _))
            if f.code == rusqlite::ErrorCode::DatabaseBusy =>
        {
            Error::Busy {
                waited_ms: u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX),
            }
        }
        e => e,
    }
}

/// Restores `legacy_alter_table` when dropped.
struct LegacyAlterGuard<'c> {
    conn: &'c Connection,
    was: i64,
}

impl Drop for LegacyAlterGuard<'_> {
    fn drop(&mut self) {
        let now: rusqlite::Result<i64> =
            self.conn.pragma_query_value(None, "legacy_alter_table", |r| r.get(0));
        if now.as_ref().is_ok_and(|now| *now != self.was)
            && let Err(e) = self.conn.pragma_update(None, "legacy_alter_table", self.was)
        {
            log::error!("could not restore legacy_alter_table: {e}");
        }
    }
}

/// Rolls back when dropped without a commit.
struct Tx<'c> {
    conn: &'c Connection,
    done: bool,
}

impl<'c> Tx<'c> {
    fn begin(conn: &'c Connection, begin: &str) -> Result<Self> {
        conn.execute_batch(begin)?;
        Ok(Tx { conn, done: false })
    }

    fn commit(mut self) -> Result<()> {
        self.conn.execute_batch("COMMIT")?;
        self.done = true;
        Ok(())
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if !self.done
            && !self.conn.is_autocommit()
            && let Err(e) = self.conn.execute_batch("ROLLBACK")
        {
            log::error!("could not roll back the migration transaction: {e}");
        }
    }
}

/// Every row of `pragma_foreign_key_check`.
fn fk_check(conn: &Connection) -> rusqlite::Result<Vec<FkViolation>> {
    let mut stmt = conn.prepare("SELECT * FROM pragma_foreign_key_check")?;
    stmt.query_map([], |r| {
        Ok(FkViolation { table: r.get(0)?, rowid: r.get(1)?, parent: r.get(2)?, fk_id: r.get(3)? })
    })?
    .collect::<rusqlite::Result<Vec<_>>>()
}

/// What the statements of a run wrote, for the scope of the foreign-key check.
#[derive(Debug, Default)]
struct Written {
    /// Tables whose rows were written, lower-cased.
    tables: BTreeSet<String>,
    /// A statement wrote something the runner could not attribute to a table.
    unknown: bool,
}

impl Written {
    fn record(&mut self, writes: sql::Writes) {
        match writes {
            sql::Writes::Nothing => {}
            sql::Writes::Table(name) => {
                self.tables.insert(name.to_ascii_lowercase());
            }
            sql::Writes::Unknown => self.unknown = true,
        }
    }
}

/// The user tables of `sqlite_schema` (lower-cased name to root page and SQL) and whether any
/// trigger exists: enough to tell which tables a run changed.
#[derive(Debug, PartialEq, Eq)]
struct TableEntries {
    tables: BTreeMap<String, (i64, Option<String>)>,
    triggers: bool,
}

impl TableEntries {
    fn read(conn: &Connection) -> rusqlite::Result<Self> {
        let mut stmt = conn.prepare_cached(
            "SELECT type, lower(name), rootpage, sql FROM sqlite_schema \
             WHERE type IN ('table', 'trigger') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
        )?;
        let mut entries = Self { tables: BTreeMap::new(), triggers: false };
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            if row.get_ref(0)?.as_str()? == "trigger" {
                entries.triggers = true;
            } else {
                entries.tables.insert(row.get(1)?, (row.get(2)?, row.get(3)?));
            }
        }
        Ok(entries)
    }
}

/// Which tables the foreign-key check after a run must read.
#[derive(Debug)]
enum CheckScope {
    /// The whole database.
    All,
    /// These tables (lower-cased names): the ones the run touched and their children.
    Tables(Vec<String>),
}

fn check_scope(
    conn: &Connection,
    before: &TableEntries,
    written: &Written,
) -> rusqlite::Result<CheckScope> {
    let after = TableEntries::read(conn)?;
    if written.unknown || before.triggers || after.triggers {
        return Ok(CheckScope::All);
    }
    let mut touched = written.tables.clone();
    for (name, entry) in &after.tables {
        if before.tables.get(name) != Some(entry) {
            touched.insert(name.clone());
        }
    }
    touched.extend(before.tables.keys().filter(|n| !after.tables.contains_key(*n)).cloned());
    // When most tables were touched (a first install creates all of them), one pass over the
    // database is cheaper than a pass per table.
    if touched.len() * 2 >= after.tables.len() {
        return Ok(CheckScope::All);
    }
    let mut parents_of =
        conn.prepare_cached("SELECT DISTINCT lower(\"table\") FROM pragma_foreign_key_list(?1)")?;
    let mut scope = Vec::new();
    for name in after.tables.keys() {
        if touched.contains(name) {
            scope.push(name.clone());
            continue;
        }
        let parents: Vec<String> =
            parents_of.query_map([name], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        if parents.iter().any(|p| touched.contains(p)) {
            scope.push(name.clone());
        }
    }
    Ok(CheckScope::Tables(scope))
}

/// The rows of `pragma_foreign_key_check` in `scope`; with `existing`, only over the tables it
/// lists (the state before a run has no tables the run created).
fn fk_check_in(
    conn: &Connection,
    scope: &CheckScope,
    existing: Option<&TableEntries>,
) -> rusqlite::Result<Vec<FkViolation>> {
    let CheckScope::Tables(tables) = scope else { return fk_check(conn) };
    let mut stmt = conn.prepare_cached("SELECT * FROM pragma_foreign_key_check(?1)")?;
    let mut out = Vec::new();
    for table in tables {
        if existing.is_some_and(|e| !e.tables.contains_key(table)) {
            continue;
        }
        let rows = stmt.query_map([table], |r| {
            Ok(FkViolation {
                table: r.get(0)?,
                rowid: r.get(1)?,
                parent: r.get(2)?,
                fk_id: r.get(3)?,
            })
        })?;
        for row in rows {
            out.push(row?);
        }
    }
    Ok(out)
}

/// The violations in `after` that are not in `before` (as multisets).
fn new_violations(before: Vec<FkViolation>, after: Vec<FkViolation>) -> Vec<FkViolation> {
    let mut seen: HashMap<FkViolation, usize> = HashMap::new();
    for v in before {
        *seen.entry(v).or_default() += 1;
    }
    let mut out = Vec::new();
    for v in after {
        match seen.get_mut(&v) {
            Some(n) if *n > 0 => *n -= 1,
            _ => out.push(v),
        }
    }
    out
}

/// `"` + name with `"` doubled + `"`.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Every view must still compile.
fn check_views(conn: &Connection, tags: &str) -> Result<()> {
    let views: Vec<String> = {
        let mut stmt =
            conn.prepare("SELECT name FROM sqlite_schema WHERE type = 'view' ORDER BY name")?;
        stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?
    };
    for view in views {
        let probe = format!("SELECT * FROM {} LIMIT 0", quote_ident(&view));
        let result = conn.prepare(&probe).and_then(|mut s| s.raw_query().next().map(|_| ()));
        if let Err(source) = result {
            return Err(Error::BrokenView { tags: tags.to_owned(), view, source });
        }
    }
    Ok(())
}

/// SQLite's own schema check: `ALTER TABLE .. RENAME` re-resolves every view and trigger of the
/// schema and fails on one that names a missing table or column. Run on a throw-away table inside
/// a savepoint that is rolled back, so it leaves nothing behind.
fn schema_probe(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("SAVEPOINT \"godwit_probe\"")?;
    let result = conn.execute_batch(
        "CREATE TABLE \"__godwit_probe\" (\"x\");\n\
         ALTER TABLE \"__godwit_probe\" RENAME TO \"__godwit_probe_renamed\";",
    );
    conn.execute_batch("ROLLBACK TO \"godwit_probe\"; RELEASE \"godwit_probe\"")?;
    result
}

/// [`schema_probe`] when the schema has a view or trigger (there is nothing to check otherwise,
/// and the probe costs a re-read of the whole schema).
fn probe_if_needed(conn: &Connection) -> rusqlite::Result<()> {
    let any: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type IN ('view', 'trigger'))",
        [],
        |r| r.get(0),
    )?;
    if any { schema_probe(conn) } else { Ok(()) }
}

/// Runs every pending migration and records each in the ledger (inside the caller's transaction).
fn apply_pending(
    conn: &Connection,
    pending: &[Migration],
    written: &mut Written,
) -> Result<Vec<AppliedMigration>> {
    conn.execute_batch(CREATE_LEDGER)?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO \"__schema_migrations\" (\"idx\", \"tag\", \"hash\", \"chain\", \"applied_at\", \
         \"duration_ms\") VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let mut applied = Vec::with_capacity(pending.len());
    for m in pending {
        let start = Instant::now();
        run_statements(conn, m, written)?;
        let duration = start.elapsed();
        let ms = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        insert.execute(params![m.idx, m.tag, m.hash, m.chain, now_ms(), ms])?;
        log::debug!("ran migration {} in {} ms", m.tag, ms);
        applied.push(AppliedMigration { idx: m.idx, tag: m.tag, duration });
    }
    Ok(applied)
}

/// Runs every statement of one migration.
fn run_statements(conn: &Connection, m: &Migration, written: &mut Written) -> Result<()> {
    let mut number = 0;
    // A byte-order mark is not SQL (and not part of the hash).
    let text = m.sql.strip_prefix('\u{feff}').unwrap_or(m.sql);
    for chunk in sql::chunks(text) {
        let mut batch = Batch::new(conn, chunk);
        let mut offset = 0;
        loop {
            let fail = |number: usize, first_line: String, source| Error::Statement {
                tag: m.tag.to_owned(),
                statement: number,
                first_line,
                source,
            };
            let mut stmt = match batch.next() {
                Ok(Some(stmt)) => stmt,
                Ok(None) => break,
                Err(source) => {
                    let rest = chunk.get(offset..).unwrap_or(chunk);
                    return Err(fail(number + 1, sql::first_line(rest), source));
                }
            };
            number += 1;
            let text = stmt.expanded_sql().unwrap_or_default();
            offset += text.len();
            if let Some(keyword) = sql::forbidden_statement(&text) {
                return Err(Error::TransactionControl {
                    tag: m.tag.to_owned(),
                    statement: number,
                    keyword,
                });
            }
            if !stmt.readonly() {
                written.record(sql::writes(&text));
            }
            let mut rows = stmt.raw_query();
            loop {
                match rows.next() {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(source) => return Err(fail(number, sql::first_line(&text), source)),
                }
            }
            drop(rows);
            if conn.is_autocommit() {
                return Err(Error::TransactionControl {
                    tag: m.tag.to_owned(),
                    statement: number,
                    keyword: "a statement that ended the transaction",
                });
            }
        }
    }
    Ok(())
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn tags_of(pending: &[Migration]) -> String {
    match pending {
        [] => String::new(),
        [one] => one.tag.to_owned(),
        [first, .., last] => format!("{}..{}", first.tag, last.tag),
    }
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

/// See [`crate::migrate_with`].
pub(crate) fn migrate_with(
    conn: &mut Connection,
    migrations: &[Migration],
    options: &Options,
    wal: bool,
) -> Result<Report> {
    let conn: &Connection = conn;
    preflight(conn, true)?;
    log::trace!("checking the ledger");
    let plan = check(conn, migrations)?;
    if let Plan::Pending { first, .. } = plan
        && !options.verify_only
    {
        scan_all(&migrations[first..])?;
    }
    // Only now that nothing is refused: the journal mode is a write when it changes.
    if wal {
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

    // Foreign keys off outside the transaction (inside it the pragma is a no-op).
    log::trace!("switching foreign keys off");
    let _fk = foreign_keys_off(conn)?;
    // A migration may switch legacy_alter_table on around a RENAME; it is a connection setting
    // that would outlive the run, so it is put back as it was.
    let _legacy = LegacyAlterGuard {
        conn,
        was: conn.pragma_query_value(None, "legacy_alter_table", |r| r.get(0))?,
    };

    log::trace!("BEGIN IMMEDIATE");
    let waiting = Instant::now();
    let tx = Tx::begin(conn, "BEGIN IMMEDIATE").map_err(|e| busy(e, waiting))?;
    log::trace!("re-reading the ledger under the lock");
    // Another process may have applied some or all of it meanwhile: decide again under the lock.
    let ledger = read_ledger(conn)?;
    let first = match compare(conn, ledger, migrations)? {
        Plan::UpToDate => {
            log::debug!("another connection applied the pending migrations first");
            return Ok(report);
        }
        Plan::Pending { first, .. } => first,
    };
    let pending = &migrations[first..];
    scan_all(pending)?;
    let tags = tags_of(pending);
    // Views and triggers that were already broken are not this run's doing: check only when the
    // schema resolved before.
    let probe_before = match probe_if_needed(conn) {
        Ok(()) => true,
        Err(e) => {
            log::warn!(
                "the schema has a view or trigger that does not resolve before migrating: {e}"
            );
            false
        }
    };
    // The foreign-key check runs once, after the migrations, and only over the tables the run
    // touched (schema changed, rows written, or dropped) and their children, so a large
    // unrelated table costs nothing; statements the runner cannot read, and triggers (which may
    // write anywhere), widen it to the whole database. Only when the check finds something is
    // the state before the run needed (violations that were already there are not this run's
    // doing): the savepoint is rolled back, the baseline read, and, if nothing is new, the
    // migrations are applied again.
    let before = TableEntries::read(conn)?;
    conn.execute_batch("SAVEPOINT \"godwit_run\"")?;
    let mut written = Written::default();
    report.applied = apply_pending(conn, pending, &mut written)?;
    let scope = check_scope(conn, &before, &written)?;
    let after = fk_check_in(conn, &scope, None);
    if !matches!(&after, Ok(rows) if rows.is_empty()) {
        conn.execute_batch("ROLLBACK TO \"godwit_run\"")?;
        match fk_check_in(conn, &scope, Some(&before)) {
            // A schema whose foreign keys cannot be checked at all ("foreign key mismatch")
            // before the run: the check after it is skipped as well.
            Err(e) => log::warn!("foreign keys cannot be checked before migrating: {e}"),
            Ok(baseline) => {
                let after = after
                    .map_err(|source| Error::ForeignKeyMismatch { tags: tags.clone(), source })?;
                let violations = new_violations(baseline, after);
                if !violations.is_empty() {
                    return Err(Error::ForeignKeyViolation { tags, violations });
                }
            }
        }
        report.applied = apply_pending(conn, pending, &mut Written::default())?;
    }
    conn.execute_batch("RELEASE \"godwit_run\"")?;
    check_views(conn, &tags)?;
    if probe_before {
        probe_if_needed(conn)
            .map_err(|source| Error::BrokenSchema { tags: tags.clone(), source })?;
    }
    log::trace!("COMMIT");
    tx.commit()?;
    for m in &report.applied {
        log::info!("applied migration {} in {} ms", m.tag, m.duration.as_millis());
    }
    log::info!("applied {} migration(s): {tags}", report.applied.len());
    Ok(report)
}

/// Switches the file to `journal_mode=WAL` unless it already is. The switch takes an exclusive
/// lock without consulting the busy handler (SQLite returns `SQLITE_BUSY` at once while another
/// connection reads), so it is retried until the busy timeout.
fn set_wal(conn: &Connection, timeout: Duration) -> Result<()> {
    let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0))?;
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
            Err(e) => return Err(busy(e.into(), start)),
        }
    }
}

fn scan_all(pending: &[Migration]) -> Result<()> {
    for m in pending {
        if let Some(f) = sql::scan(m.sql) {
            return Err(Error::TransactionControl {
                tag: m.tag.to_owned(),
                statement: f.statement,
                keyword: f.keyword,
            });
        }
    }
    Ok(())
}

/// See [`crate::verify`].
pub(crate) fn verify(conn: &Connection, migrations: &[Migration]) -> Result<()> {
    preflight(conn, false)?;
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

    #[test]
    fn new_violations_are_a_multiset_difference() {
        let v = |t: &str, r| FkViolation {
            table: t.into(),
            rowid: Some(r),
            parent: "p".into(),
            fk_id: 0,
        };
        let out = new_violations(
            vec![v("a", 1), v("b", 2)],
            vec![v("a", 1), v("b", 2), v("b", 3), v("a", 1)],
        );
        assert_eq!(out, vec![v("b", 3), v("a", 1)]);
    }

    #[test]
    fn foreign_keys_that_stay_on_are_detected_and_left_as_they_were() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        // Inside a transaction the pragma is a silent no-op: exactly what the read-back catches.
        conn.execute_batch("BEGIN").unwrap();
        let err = foreign_keys_off(&conn).err().expect("still on must be refused");
        assert!(matches!(err, Error::ForeignKeysStillOn));
        assert!(err.to_string().contains("foreign keys off"), "{err}");
        conn.execute_batch("COMMIT").unwrap();
        let fk: i64 = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
        assert_eq!(fk, 1);
        // Outside a transaction: off while the guard lives, on again after.
        let guard = foreign_keys_off(&conn).unwrap();
        let fk: i64 = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
        assert_eq!(fk, 0);
        drop(guard);
        let fk: i64 = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
        assert_eq!(fk, 1);
    }

    #[test]
    fn quoting_doubles_quotes() {
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
    }
}
