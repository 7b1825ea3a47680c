//! `godwit diff`: drift between a live database and the schema its ledger says it has.

use std::fmt::Write as _;
use std::path::PathBuf;

use migrate_engine::short;
use schema_core::build::folder::{Folder, Migration};
use schema_core::introspect::{self, DbShape};

use crate::error::Error;
use crate::expected;
use crate::ledger::{self, LedgerRow};
use crate::pull::read::unmodelled_differences;
use crate::{Outcome, Report};

/// The arguments of `godwit diff`.
#[derive(Debug, Clone)]
pub struct DiffArgs {
    /// The database (opened read-only).
    pub db: PathBuf,
    /// The migrations folder.
    pub migrations: PathBuf,
}

/// Compares the live database with the schema of the last migration its ledger records:
/// tables, columns, keys, indexes, foreign keys, checks, STRICT and WITHOUT ROWID against that
/// migration's snapshot (created in a fresh in-memory database and introspected the same way);
/// views and triggers, which snapshots do not hold, against a replay of the folder's migrations
/// up to that one (through migrate-engine, as the build replays them). Every difference is a
/// finding, and so is a ledger hash that differs from its file (the replay then shows the
/// file's views and triggers, not what the database ran).
///
/// # Errors
/// The database is missing, unreadable or has no ledger; the folder is not whole or lacks the
/// ledger's last migration.
pub fn diff(args: &DiffArgs) -> Result<Report, Error> {
    if !args.migrations.is_dir() {
        return Err(Error::no_folder(&args.migrations));
    }
    let conn = ledger::open_read_only(&args.db)?;
    let rows = ledger::read(&conn, &args.db)?
        .ok_or_else(|| Error::NotManaged { path: args.db.clone() })?;
    let folder = Folder::read(&args.migrations).map_err(Error::folder(&args.migrations))?;
    let mut text = String::new();
    let Some(head) = rows.last() else {
        let _ = writeln!(
            text,
            "database: {}, empty ledger: compared with the empty schema",
            args.db.display()
        );
        let actual = introspect::describe(&conn).map_err(Error::db(&args.db))?;
        let differences = introspect::differences(&DbShape::default(), &actual);
        return Ok(finish(text, &[], &differences));
    };
    let position = folder
        .migrations
        .iter()
        .position(|m| m.entry.idx == head.idx && m.entry.tag == head.tag)
        .ok_or_else(|| Error::UnknownHead {
            db: args.db.clone(),
            folder: args.migrations.clone(),
            idx: head.idx,
            tag: head.tag.clone(),
        })?;
    let applied = &folder.migrations[..=position];
    let _ = writeln!(
        text,
        "database: {}, ledger at {} (index {})",
        args.db.display(),
        head.tag,
        head.idx
    );
    let edited = edited_notes(applied, &rows);
    let expected = expected::after(&folder, applied)?;
    match &expected.views_skipped {
        None => {
            let _ = writeln!(
                text,
                "compared: tables with the snapshot of {}, views and triggers with the folder's \
                 migrations replayed up to it",
                head.tag
            );
        }
        Some(why) => {
            let _ = writeln!(
                text,
                "compared: tables with the snapshot of {}; views and triggers not compared: {why}",
                head.tag
            );
        }
    }
    let mut actual = introspect::describe(&conn).map_err(Error::db(&args.db))?;
    if expected.views_skipped.is_some() {
        actual.views.clear();
        actual.triggers.clear();
    }
    let mut differences = introspect::differences(&expected.shape, &actual);
    differences.extend(unmodelled_differences(&conn).map_err(Error::db(&args.db))?);
    Ok(finish(text, &edited, &differences))
}

/// The report's findings and outcome.
fn finish(mut text: String, edited: &[String], differences: &[String]) -> Report {
    for note in edited {
        let _ = writeln!(text, "{note}");
    }
    if differences.is_empty() {
        text.push_str("no drift\n");
    } else {
        let n = differences.len();
        let _ = writeln!(text, "drift ({n} difference{}):", if n == 1 { "" } else { "s" });
        for d in differences {
            let _ = writeln!(text, "  {d}");
        }
    }
    let outcome = if differences.is_empty() && edited.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Findings
    };
    Report { text, outcome }
}

/// A note per applied migration whose ledger hash differs from its file's.
fn edited_notes(applied: &[Migration], rows: &[LedgerRow]) -> Vec<String> {
    applied
        .iter()
        .filter_map(|m| {
            let row = rows.iter().find(|r| r.idx == m.entry.idx)?;
            (row.hash != m.hash).then(|| {
                format!(
                    "edited: the database applied {} as {}, the file is now {} (`godwit status` \
                     lists every migration)",
                    m.entry.tag,
                    short(&row.hash),
                    short(&m.hash)
                )
            })
        })
        .collect()
}
