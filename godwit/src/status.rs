//! `godwit status`: every migration of the folder, and with a database, each one's state there.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use migrate_engine::short;
use schema_core::build::folder::{Folder, Migration};

use crate::error::Error;
use crate::ledger::{self, LedgerRow};
use crate::time::iso8601_utc;
use crate::{Outcome, Report};

/// The arguments of `godwit status`.
#[derive(Debug, Clone)]
pub struct StatusArgs {
    /// The migrations folder.
    pub migrations: PathBuf,
    /// The database to compare with the folder (opened read-only).
    pub db: Option<PathBuf>,
}

/// Where one migration of the folder stands in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DbState {
    /// The ledger records it with the file's hash.
    Applied { at_ms: i64, duration_ms: i64 },
    /// Not in the ledger.
    Pending,
    /// Not in the ledger, but a later migration is: the runtime refuses this database.
    PendingOutOfOrder,
    /// The ledger records another text under this tag.
    Edited { stored: String },
    /// The ledger records another tag at this index.
    Conflict { tag: String },
}

/// The counts of the summary line.
#[derive(Debug, Default)]
struct Counts {
    applied: usize,
    pending: usize,
    edited: usize,
    unknown: usize,
    conflicts: usize,
    waiting: usize,
    edited_in_folder: usize,
}

/// Runs `godwit status`: lists every migration of the folder (tag, kind, short hash) and, with
/// a database, whether each is applied (ISO-8601 UTC time and duration), pending, or edited
/// (stored and file short hashes), then the ledger rows the folder does not have.
///
/// Findings (exit code 1): a migration pending in the database, edited (in the database or
/// since its journal entry), a ledger row unknown to the folder or at an index the folder gives
/// another tag, and a hand-written file the next build has yet to adopt.
///
/// # Errors
/// The folder is not whole, the database is missing or unreadable.
pub fn status(args: &StatusArgs) -> Result<Report, Error> {
    if !args.migrations.is_dir() {
        return Err(Error::no_folder(&args.migrations));
    }
    let folder = Folder::read(&args.migrations).map_err(Error::folder(&args.migrations))?;
    let mut unmanaged = None;
    let ledger = match &args.db {
        Some(path) => {
            let conn = ledger::open_read_only(path)?;
            let rows = ledger::read(&conn, path)?;
            if rows.is_none() {
                unmanaged = Some(ledger::user_tables(&conn, path)?);
            }
            Some(rows.unwrap_or_default())
        }
        None => None,
    };
    let mut text = String::new();
    let mut counts = Counts::default();
    let total = folder.migrations.len();
    let _ = write!(
        text,
        "migrations: {} ({total} migration{})",
        args.migrations.display(),
        plural(total)
    );
    match &args.db {
        Some(db) => {
            let _ = writeln!(text, ", database: {}", db.display());
        }
        None => text.push('\n'),
    }
    let rows: BTreeMap<u32, &LedgerRow> =
        ledger.iter().flatten().map(|row| (row.idx, row)).collect();
    migration_lines(&mut text, &folder, ledger.as_ref().map(|_| &rows), &mut counts);
    unknown_lines(&mut text, &folder, &rows, &mut counts);
    match unmanaged {
        Some(0) => {
            text.push_str("the database is empty: the app's first open applies everything\n")
        }
        Some(tables) => {
            let _ = writeln!(
                text,
                "the database has {tables} table{} but no ledger (__schema_migrations): it predates \
                 Godwit; adopt it with `godwit baseline` once its schema matches a migration",
                plural(tables)
            );
        }
        None => {}
    }
    let outcome = summarise(&mut text, &counts, ledger.is_some());
    Ok(Report { text, outcome })
}

/// One line per migration of the folder (continuation lines for further notes); `rows` is
/// the ledger by index when a database was given.
fn migration_lines(
    text: &mut String,
    folder: &Folder,
    rows: Option<&BTreeMap<u32, &LedgerRow>>,
    counts: &mut Counts,
) {
    let last_applied = rows.and_then(|rows| rows.keys().next_back().copied());
    let width = folder.migrations.iter().map(|m| m.entry.tag.len()).max().unwrap_or(0);
    let indent = " ".repeat(width + 24);
    for (i, m) in folder.migrations.iter().enumerate() {
        let journaled = i < folder.journaled;
        let kind = if !journaled || m.entry.custom { "custom" } else { "generated" };
        let _ = write!(text, "  {:width$}  {kind:9}  {}  ", m.entry.tag, short(&m.hash));
        let mut notes = Vec::new();
        if let Some(rows) = rows {
            let state = db_state(m, rows.get(&m.entry.idx).copied(), last_applied);
            notes.push(describe_state(&state, m, counts));
        }
        if !journaled {
            counts.waiting += 1;
            notes.push("not in the journal yet: the next `cargo build` adopts it".to_owned());
        } else if let Some(recorded) = m.entry.hash.as_ref().filter(|h| **h != m.hash) {
            counts.edited_in_folder += 1;
            notes.push(format!(
                "file edited since its journal entry (journal {}, file {}): the build refuses it \
                 unless MIGRATION_ALLOW_EDIT={} is set",
                short(recorded),
                short(&m.hash),
                m.entry.tag
            ));
        } else if rows.is_none() {
            notes.push("in the journal".to_owned());
        }
        let _ = writeln!(text, "{}", notes.join(&format!("\n{indent}")));
    }
}

/// The ledger rows at indexes the folder does not have.
fn unknown_lines(
    text: &mut String,
    folder: &Folder,
    rows: &BTreeMap<u32, &LedgerRow>,
    counts: &mut Counts,
) {
    let known: Vec<u32> = folder.migrations.iter().map(|m| m.entry.idx).collect();
    let unknown: Vec<&LedgerRow> =
        rows.values().copied().filter(|row| !known.contains(&row.idx)).collect();
    if unknown.is_empty() {
        return;
    }
    counts.unknown = unknown.len();
    text.push_str("ledger rows unknown to the folder (the database is newer than it):\n");
    for row in unknown {
        let _ = writeln!(
            text,
            "  {}  stored {}  applied {} in {} ms",
            row.tag,
            short(&row.hash),
            iso8601_utc(row.applied_at_ms),
            row.duration_ms
        );
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The state of folder migration `m` given the ledger row at its index.
fn db_state(m: &Migration, row: Option<&LedgerRow>, last_applied: Option<u32>) -> DbState {
    match row {
        None if last_applied.is_some_and(|last| last > m.entry.idx) => DbState::PendingOutOfOrder,
        None => DbState::Pending,
        Some(row) if row.tag != m.entry.tag => DbState::Conflict { tag: row.tag.clone() },
        Some(row) if row.hash != m.hash => DbState::Edited { stored: row.hash.clone() },
        Some(row) => DbState::Applied { at_ms: row.applied_at_ms, duration_ms: row.duration_ms },
    }
}

/// The text of a state, counted.
fn describe_state(state: &DbState, m: &Migration, counts: &mut Counts) -> String {
    match state {
        DbState::Applied { at_ms, duration_ms } => {
            counts.applied += 1;
            format!("applied {} in {duration_ms} ms", iso8601_utc(*at_ms))
        }
        DbState::Pending => {
            counts.pending += 1;
            "pending".to_owned()
        }
        DbState::PendingOutOfOrder => {
            counts.pending += 1;
            "pending, but a later migration is applied: the runtime refuses this database \
             (renumber this migration after the applied ones)"
                .to_owned()
        }
        DbState::Edited { stored } => {
            counts.edited += 1;
            format!(
                "edited: the database applied {}, the file is now {} (restore the file from \
                 version control; the runtime refuses this database)",
                short(stored),
                short(&m.hash)
            )
        }
        DbState::Conflict { tag } => {
            counts.conflicts += 1;
            format!("conflict: the database applied {tag} at this index")
        }
    }
}

/// Appends the summary line; whether anything needs attention.
fn summarise(text: &mut String, counts: &Counts, with_db: bool) -> Outcome {
    let mut parts = Vec::new();
    if with_db {
        parts.push(format!("{} applied", counts.applied));
        parts.push(format!("{} pending", counts.pending));
        parts.push(format!("{} edited", counts.edited));
        parts.push(format!("{} unknown to the folder", counts.unknown));
        if counts.conflicts > 0 {
            parts.push(format!("{} in conflict", counts.conflicts));
        }
    }
    if counts.waiting > 0 {
        parts.push(format!("{} waiting for adoption", counts.waiting));
    }
    if counts.edited_in_folder > 0 {
        parts.push(format!("{} edited since journaled", counts.edited_in_folder));
    }
    let findings = counts.pending
        + counts.edited
        + counts.unknown
        + counts.conflicts
        + counts.waiting
        + counts.edited_in_folder;
    if parts.is_empty() {
        parts.push("nothing pending in the folder".to_owned());
    }
    let _ = writeln!(text, "{}", parts.join(", "));
    if findings == 0 { Outcome::Clean } else { Outcome::Findings }
}
