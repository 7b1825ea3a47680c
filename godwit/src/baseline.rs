//! `godwit baseline`: adopt an existing database by recording migrations 0..N as applied,
//! after proving its schema is exactly what they create.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use migrate_engine::{chain_hash, short};
use rusqlite::{Connection, OpenFlags, params};
use schema_core::build::folder::{Folder, Migration};
use schema_core::introspect;

use crate::error::Error;
use crate::expected;
use crate::pull::read::unmodelled_differences;
use crate::{Outcome, Report};

/// The arguments of `godwit baseline`.
#[derive(Debug, Clone)]
pub struct BaselineArgs {
    /// The database to adopt (must exist; it is the only file this command writes).
    pub db: PathBuf,
    /// The migrations folder.
    pub migrations: PathBuf,
    /// The last migration the database already has, by tag or index; the folder's last
    /// journaled migration by default.
    pub to: Option<String>,
    /// Prove, print what would be recorded, and write nothing.
    pub dry_run: bool,
}

/// Records the folder's migrations `0..=N` as applied in an existing database that has no
/// Godwit ledger yet, after proving, inside one `BEGIN IMMEDIATE` transaction, that the
/// database's schema is exactly the one they create: its tables equal snapshot N (created in
/// a fresh in-memory database and introspected the same way) and its views and triggers equal
/// those of the migrations replayed up to N. The ledger rows are the runtime's: the file's hash,
/// the hash chain, `applied_at` now in Unix milliseconds, `duration_ms` 0. The next
/// `open_and_migrate` then applies only what comes after N.
///
/// A database whose schema differs is refused (a finding, exit 1) with the differences, and
/// nothing is written; so is a folder whose migrations up to N were edited since journaled.
///
/// # Errors
/// The database is missing, unreadable or already has ledger rows; the folder is missing,
/// not whole, empty, or has no migration `--to` names.
pub fn baseline(args: &BaselineArgs) -> Result<Report, Error> {
    if !args.migrations.is_dir() {
        return Err(Error::no_folder(&args.migrations));
    }
    let folder = Folder::read(&args.migrations).map_err(Error::folder(&args.migrations))?;
    let journaled = &folder.migrations[..folder.journaled];
    let prefix = target(journaled, args)?;
    let mut text = String::new();
    let edited: Vec<&Migration> =
        prefix.iter().filter(|m| m.entry.hash.as_ref().is_some_and(|h| *h != m.hash)).collect();
    if !edited.is_empty() {
        text.push_str(
            "refused: migrations edited since their journal entry (restore them first):\n",
        );
        for m in edited {
            let recorded = m.entry.hash.as_deref().unwrap_or_default();
            let _ = writeln!(
                text,
                "  {}: journal {}, file {}",
                m.entry.tag,
                short(recorded),
                short(&m.hash)
            );
        }
        return Ok(Report { text, outcome: Outcome::Findings });
    }
    let expected = expected::after(&folder, prefix)?;
    if let Some(why) = &expected.views_skipped {
        let _ = writeln!(text, "refused: the migrations up to the baseline do not replay: {why}");
        return Ok(Report { text, outcome: Outcome::Findings });
    }
    let mut conn = open_read_write(&args.db)?;
    let last = prefix.last().expect("target returns a non-empty prefix");
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(Error::db(&args.db))?;
    if let Some(rows) = ledger_rows(&tx).map_err(Error::db(&args.db))?.filter(|n| *n > 0) {
        return Err(Error::AlreadyManaged { path: args.db.clone(), rows });
    }
    let actual = introspect::describe(&tx).map_err(Error::db(&args.db))?;
    let mut differences = introspect::differences(&expected.shape, &actual);
    differences.extend(unmodelled_differences(&tx).map_err(Error::db(&args.db))?);
    if !differences.is_empty() {
        let _ = writeln!(
            text,
            "refused: {} is not at {} (expected: what migrations 0..{} create, found: the \
             database); nothing was written:",
            args.db.display(),
            last.entry.tag,
            last.entry.idx
        );
        for d in &differences {
            let _ = writeln!(text, "  {d}");
        }
        text.push_str(
            "bring the database to that schema first, or baseline at the migration it matches \
             (--to TAG)\n",
        );
        return Ok(Report { text, outcome: Outcome::Findings });
    }
    if args.dry_run {
        let _ = writeln!(
            text,
            "dry run: {}'s schema equals {}; `godwit baseline` would record {} migration{} as \
             applied ({}..{}); nothing was written",
            args.db.display(),
            last.entry.tag,
            prefix.len(),
            if prefix.len() == 1 { "" } else { "s" },
            prefix[0].entry.tag,
            last.entry.tag
        );
        return Ok(Report { text, outcome: Outcome::Clean });
    }
    record(&tx, prefix).map_err(Error::db(&args.db))?;
    tx.commit().map_err(Error::db(&args.db))?;
    let pending = journaled.len() - prefix.len() + folder.pending_adoption().len();
    let _ = writeln!(
        text,
        "baselined {}: its schema equals {}; recorded {} migration{} as applied ({}..{})",
        args.db.display(),
        last.entry.tag,
        prefix.len(),
        if prefix.len() == 1 { "" } else { "s" },
        prefix[0].entry.tag,
        last.entry.tag
    );
    let _ = writeln!(
        text,
        "{pending} migration{} after it will be applied by the app's next open",
        if pending == 1 { "" } else { "s" }
    );
    Ok(Report { text, outcome: Outcome::Clean })
}

/// The journaled migrations up to and including the one `--to` names (all by default).
fn target<'a>(journaled: &'a [Migration], args: &BaselineArgs) -> Result<&'a [Migration], Error> {
    if journaled.is_empty() {
        return Err(Error::NothingToBaseline { dir: args.migrations.clone() });
    }
    let Some(to) = args.to.as_deref() else { return Ok(journaled) };
    let position = journaled
        .iter()
        .position(|m| m.entry.tag == to || to.parse::<u32>().is_ok_and(|idx| idx == m.entry.idx));
    match position {
        Some(p) => Ok(&journaled[..=p]),
        None => Err(Error::UnknownTarget {
            to: to.to_owned(),
            dir: args.migrations.clone(),
            last: journaled.last().map(|m| m.entry.tag.clone()).unwrap_or_default(),
        }),
    }
}

/// Opens an existing database for writing (never creates one).
fn open_read_write(path: &Path) -> Result<Connection, Error> {
    if !path.is_file() {
        return Err(Error::NoDatabase { path: path.to_path_buf() });
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(Error::db(path))?;
    conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(Error::db(path))?;
    Ok(conn)
}

/// How many ledger rows there are, `None` without a ledger table.
fn ledger_rows(conn: &Connection) -> rusqlite::Result<Option<i64>> {
    let exists: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = '__schema_migrations')",
        [],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(None);
    }
    conn.query_row("SELECT count(*) FROM \"__schema_migrations\"", [], |r| r.get(0)).map(Some)
}

/// Creates the ledger and records `prefix` as the runtime records applied migrations.
fn record(conn: &Connection, prefix: &[Migration]) -> rusqlite::Result<()> {
    conn.execute_batch(migrate_engine::ledger::CREATE)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let mut insert = conn.prepare(migrate_engine::ledger::INSERT_ROW)?;
    let mut chain: Option<String> = None;
    for m in prefix {
        let next = chain_hash(chain.as_deref(), &m.hash);
        insert.execute(params![m.entry.idx, m.entry.tag, m.hash, next, now, 0])?;
        chain = Some(next);
    }
    Ok(())
}
