//! `godwit new`: the next hand-written migration file.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write as _};
use std::path::PathBuf;

use schema_core::build::folder::Folder;
use schema_core::build::format::{format_idx, parse_indexed, sanitize_name, tag};

use crate::error::Error;
use crate::{Outcome, Report};

/// The arguments of `godwit new`.
#[derive(Debug, Clone)]
pub struct NewArgs {
    /// The migration's name (sanitised to `[a-z0-9_]`, at most 60 characters).
    pub name: String,
    /// The migrations folder (must exist).
    pub migrations: PathBuf,
}

/// Writes `NNNN_<name>.sql` in the folder: the index after the journal's last entry and any
/// hand-written file waiting for adoption, the name sanitised as the build sanitises
/// `MIGRATION_NAME`. The file holds only [`header`]; the next `cargo build` adopts it.
///
/// # Errors
/// The folder is missing or not whole, the name has no letter or digit, a file with that index
/// already exists (the file is created with `create_new`, so a race cannot overwrite one either).
pub fn new_migration(args: &NewArgs) -> Result<Report, Error> {
    let name = sanitize_name(&args.name);
    if name.is_empty() {
        return Err(Error::InvalidName { name: args.name.clone() });
    }
    let dir = &args.migrations;
    if !dir.is_dir() {
        return Err(Error::no_folder(dir));
    }
    let folder = Folder::read(dir).map_err(Error::folder(dir))?;
    let idx = u32::try_from(folder.migrations.len()).unwrap_or(u32::MAX);
    if let Some(existing) = file_with_index(dir, idx)? {
        return Err(Error::MigrationExists { path: existing, idx: format_idx(idx) });
    }
    let tag = tag(idx, &name);
    let path = dir.join(format!("{tag}.sql"));
    let mut file = match OpenOptions::new().write(true).create_new(true).open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            return Err(Error::MigrationExists { path, idx: format_idx(idx) });
        }
        Err(source) => return Err(Error::Io { action: "create", path, source }),
    };
    file.write_all(header(&tag).as_bytes()).map_err(|source| Error::Io {
        action: "write",
        path: path.clone(),
        source,
    })?;
    let text = format!(
        "wrote {}\nwrite your SQL in it, then run `cargo build`: the build adopts it as migration {}\n",
        path.display(),
        format_idx(idx)
    );
    Ok(Report { text, outcome: Outcome::Clean })
}

/// The first `.sql` file of `dir` whose name starts with index `idx` (in any spelling).
fn file_with_index(dir: &std::path::Path, idx: u32) -> Result<Option<PathBuf>, Error> {
    let entries = fs::read_dir(dir).map_err(|source| Error::Io {
        action: "read",
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| Error::Io {
            action: "read",
            path: dir.to_path_buf(),
            source,
        })?;
        let file_name = entry.file_name();
        let file_name = file_name.to_string_lossy();
        if parse_indexed(&file_name, ".sql").is_some_and(|(i, _)| i == idx) {
            return Ok(Some(entry.path()));
        }
    }
    Ok(None)
}

/// The header comment of a new hand-written migration: what it may hold and what happens next.
///
/// ```
/// let h = godwit::new_header("0003_seed_plans");
/// assert!(h.starts_with("-- 0003_seed_plans: a hand-written migration"));
/// // No line is a statement breakpoint.
/// assert!(h.lines().all(|l| l != "--> statement-breakpoint"));
/// ```
#[must_use]
pub fn header(tag: &str) -> String {
    format!(
        "-- {tag}: a hand-written migration (written by `godwit new`).\n\
         --\n\
         -- The next `cargo build` adopts it: a journal entry with \"custom\": true and a snapshot\n\
         -- equal to the previous one. After that, never edit it: databases that applied it\n\
         -- refuse a changed file.\n\
         --\n\
         -- It may hold: data changes (INSERT, UPDATE, DELETE), views and triggers\n\
         -- (CREATE/DROP VIEW, CREATE/DROP TRIGGER).\n\
         -- It must not hold: table, column or index changes (CREATE/ALTER/DROP TABLE, CREATE\n\
         -- INDEX): declare those in your #[derive(Table)] structs, whose snapshot the build\n\
         -- checks every migration against; nor transaction control (BEGIN, COMMIT, SAVEPOINT):\n\
         -- the runtime applies all pending migrations in one transaction.\n\
         --\n\
         -- Separate statements with a line holding only `--> statement-breakpoint`.\n"
    )
}
