//! Reading a migrations folder and checking that it is whole and linear.

use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::error::Error;

use super::format::{
    self, DIALECT, JOURNAL_VERSION, Journal, JournalEntry, LEGACY_JOURNAL_VERSION,
    SNAPSHOT_VERSION, Snapshot, SnapshotHeader, is_hash, parse_indexed, snapshot_file_name,
};
use migrate_engine::hash_sql;

/// The journal's file name inside `meta/`.
pub const JOURNAL_FILE: &str = "_journal.json";

/// One migration of a checked folder.
#[derive(Debug, Clone)]
pub struct Migration {
    /// The journal entry.
    pub entry: JournalEntry,
    /// Absolute path of the `.sql` file.
    pub path: PathBuf,
    /// The file's text, as read.
    pub sql: String,
    /// [`migrate_engine::hash_sql`] of [`Migration::sql`] (what the journal entry must record).
    pub hash: String,
    /// The snapshot after this migration; `None` for a hand-written migration the build is about
    /// to adopt (its snapshot is the previous one's schema).
    pub snapshot: Option<SnapshotFile>,
}

/// A snapshot file of a checked folder: its chain fields, and its text for a full parse when
/// needed (only the latest snapshot is parsed on the common path).
#[derive(Debug, Clone)]
pub struct SnapshotFile {
    /// Absolute path.
    pub path: PathBuf,
    /// `id` and `prev_id`.
    pub header: SnapshotHeader,
    text: String,
}

impl SnapshotFile {
    /// Parses the whole snapshot.
    ///
    /// # Errors
    /// [`Error::Json`] or [`Error::UnsupportedFormat`].
    pub fn parse(&self) -> Result<Snapshot, Error> {
        parse_snapshot(&self.path, &self.text)
    }
}

/// A migrations folder, read and checked.
#[derive(Debug, Clone)]
pub struct Folder {
    /// The folder (absolute).
    pub dir: PathBuf,
    /// Journaled migrations in index order, then hand-written ones waiting for adoption.
    pub migrations: Vec<Migration>,
    /// How many of [`Folder::migrations`] are in the journal.
    pub journaled: usize,
    /// Every file the folder's checks looked at (for `cargo:rerun-if-changed`).
    pub watched: Vec<PathBuf>,
    /// The journal's format: whether its entries record hashes.
    pub journal_version: JournalVersion,
    /// The latest journaled snapshot, parsed and with its id checked.
    latest: Option<Snapshot>,
}

/// The format of a folder's journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalVersion {
    /// Version 1: entries without hashes (upgraded by a write-mode build).
    Legacy,
    /// Version 2: each entry records its file's hash (also what an empty folder gets).
    Hashed,
}

/// A committed migration whose file no longer has the hash its journal entry records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditedFile {
    /// The migration's tag.
    pub tag: String,
    /// The hash the journal records.
    pub recorded: String,
    /// The hash of the file as it is now.
    pub actual: String,
}

impl Folder {
    /// The `meta/` directory.
    #[must_use]
    pub fn meta_dir(&self) -> PathBuf {
        self.dir.join("meta")
    }

    /// The hand-written migrations waiting to be adopted.
    #[must_use]
    pub fn pending_adoption(&self) -> &[Migration] {
        &self.migrations[self.journaled..]
    }

    /// The latest journaled snapshot.
    #[must_use]
    pub fn latest_snapshot(&self) -> Option<&Snapshot> {
        self.latest.as_ref()
    }

    /// The journaled migrations whose file differs from the hash their entry records (none for
    /// a version-1 journal, which records no hashes).
    #[must_use]
    pub fn edited(&self) -> Vec<EditedFile> {
        self.migrations[..self.journaled]
            .iter()
            .filter_map(|m| {
                let recorded = m.entry.hash.as_ref()?;
                (*recorded != m.hash).then(|| EditedFile {
                    tag: m.entry.tag.clone(),
                    recorded: recorded.clone(),
                    actual: m.hash.clone(),
                })
            })
            .collect()
    }

    /// Reads and checks the folder `dir`. A missing folder is an empty one.
    ///
    /// # Errors
    /// [`Error::Folder`] for every structural problem (naming the files and the fix),
    /// [`Error::Json`]/[`Error::UnsupportedFormat`] for bad meta files, [`Error::Io`].
    pub fn read(dir: &Path) -> Result<Self, Error> {
        let meta = dir.join("meta");
        let mut watched = vec![dir.to_path_buf(), meta.clone()];
        let sql_files = list_indexed(dir, ".sql", &mut watched)?;
        let snapshot_files = list_indexed(&meta, "_snapshot.json", &mut watched)?;
        let journal_path = meta.join(JOURNAL_FILE);
        let journal = read_journal(&journal_path)?;
        if journal.is_some() {
            watched.push(journal_path.clone());
        }
        let err = |problem: String, fix: String| Error::Folder {
            folder: dir.to_path_buf(),
            problem,
            fix,
        };

        // Stray `.sql` files: not `NNNN_name.sql`, or an index written non-canonically.
        if let Some(file) = sql_files.stray.first() {
            return Err(err(
                format!("{} is not a migration file name", display_name(dir, file)),
                "migration files are named `NNNN_name.sql` with a four-digit index (`0003_seed_plans.sql`); \
                 rename the file, or move it out of the migrations folder"
                    .into(),
            ));
        }

        // `.sql` files without a journal: `meta/` is missing, not a hand-written first migration.
        if journal.is_none() && !sql_files.by_idx.is_empty() {
            return Err(missing_journal(dir, &meta, &sql_files));
        }

        let journal = journal.unwrap_or_default();

        // Two migrations with one index.
        let next_free = sql_files.by_idx.keys().max().map_or(0, |max| max + 1);
        for (idx, files) in &sql_files.by_idx {
            if files.len() > 1 {
                let journaled_tag = journal.entries.get(*idx as usize).map(|e| e.tag.as_str());
                let names: Vec<String> = files.iter().map(|f| display_name(dir, f)).collect();
                let others: Vec<&String> =
                    names.iter().filter(|n| Some(file_stem(n)) != journaled_tag).collect();
                let renamed = |name: &str| {
                    let stem = file_stem(name);
                    let rest = stem.split_once('_').map_or(stem, |(_, rest)| rest);
                    format!("{}_{rest}.sql", format::format_idx(next_free))
                };
                let fix = match (journaled_tag, others.as_slice()) {
                    (Some(tag), [other]) => format!(
                        "{tag}.sql is the one in the journal. If {other} is a hand-written \
                         migration, rename it to the next free index, {}, and run `cargo build` \
                         again (the build adopts it); if it was generated on a branch merged in \
                         parallel, delete it (and its snapshot if you copied one) and run `cargo \
                         build` again, which regenerates that schema change as the next migration",
                        renamed(other)
                    ),
                    (Some(tag), _) => format!(
                        "{tag}.sql is the one in the journal. Rename each hand-written one of {} \
                         to the next free index ({} first), or delete the ones generated on a \
                         branch merged in parallel, and run `cargo build` again",
                        join_list(&others),
                        renamed(others[0])
                    ),
                    (None, _) => format!(
                        "keep one of them and rename the others to the next free indexes (the \
                         first to {}), then run `cargo build` again",
                        renamed(&names[1])
                    ),
                };
                return Err(err(
                    format!(
                        "two migrations have index {}: {}",
                        format::format_idx(*idx),
                        names.join(" and ")
                    ),
                    fix,
                ));
            }
        }

        // The journal: version, dialect, consecutive indexes, tags, hashes.
        let journal_version = match journal.version {
            JOURNAL_VERSION => JournalVersion::Hashed,
            LEGACY_JOURNAL_VERSION => JournalVersion::Legacy,
            other => {
                return Err(Error::UnsupportedFormat {
                    path: journal_path,
                    found: format!("version {other}"),
                    expected: format!("version {JOURNAL_VERSION} (or {LEGACY_JOURNAL_VERSION})"),
                });
            }
        };
        if journal.dialect != DIALECT {
            return Err(Error::UnsupportedFormat {
                path: journal_path,
                found: format!("dialect {:?}", journal.dialect),
                expected: format!("dialect {DIALECT:?}"),
            });
        }
        // Two entries with one index: what a merge of two branches' journals leaves.
        let mut by_idx: BTreeMap<u32, Vec<&str>> = BTreeMap::new();
        for entry in &journal.entries {
            by_idx.entry(entry.idx).or_default().push(&entry.tag);
        }
        if let Some((idx, tags)) = by_idx.iter().find(|(_, tags)| tags.len() > 1) {
            return Err(err(
                format!(
                    "meta/{JOURNAL_FILE} has {} entries with idx {idx}: {} (a merge of two branches \
                     that both generated a migration?)",
                    tags.len(),
                    tags.join(", ")
                ),
                "keep the main branch's entry; delete your branch's migration (its .sql file, its \
                 snapshot and its journal entry) and run `cargo build`: the build regenerates your \
                 schema change on top of the merged one"
                    .into(),
            ));
        }
        for (i, entry) in journal.entries.iter().enumerate() {
            let expected_idx = u32::try_from(i).unwrap_or(u32::MAX);
            let well_formed = entry.idx == expected_idx
                && parse_indexed(&format!("{}.sql", entry.tag), ".sql") == Some((entry.idx, true));
            if !well_formed {
                return Err(err(
                    format!(
                        "meta/{JOURNAL_FILE} entry #{i} (idx {}, tag {:?}) is out of order: entry #{i} \
                         must have idx {i} and a tag `{}_name`",
                        entry.idx,
                        entry.tag,
                        format::format_idx(expected_idx)
                    ),
                    "restore meta/_journal.json from version control; if a merge left it this way, \
                     keep the entries of the main branch and run `cargo build` again"
                        .into(),
                ));
            }
            let hash_ok = match journal_version {
                JournalVersion::Hashed => entry.hash.as_deref().is_some_and(is_hash),
                JournalVersion::Legacy => true,
            };
            if !hash_ok {
                return Err(err(
                    format!(
                        "meta/{JOURNAL_FILE} entry #{i} ({}) has {}: a version-{JOURNAL_VERSION} \
                         journal records each file's hash (64 lowercase hex digits)",
                        entry.tag,
                        entry.hash.as_deref().map_or_else(
                            || "no \"hash\"".to_owned(),
                            |h| format!("the malformed hash {h:?}")
                        )
                    ),
                    "restore meta/_journal.json from version control; if a merge left it this way, \
                     take the entry (with its hash) from the branch that generated the migration"
                        .into(),
                ));
            }
        }

        // Every journal entry has its `.sql` and snapshot; snapshots chain linearly.
        let mut migrations = Vec::with_capacity(journal.entries.len());
        let mut prev: Option<(String, PathBuf)> = None; // (id, path) of the previous snapshot
        let mut ids: BTreeMap<String, PathBuf> = BTreeMap::new();
        for entry in &journal.entries {
            let sql_path = dir.join(format!("{}.sql", entry.tag));
            let snap_path = meta.join(snapshot_file_name(entry.idx));
            let has_sql = sql_files.by_idx.get(&entry.idx).is_some_and(|f| f.contains(&sql_path));
            if !has_sql {
                let renamed = sql_files.by_idx.get(&entry.idx).and_then(|f| f.first());
                let problem = match renamed {
                    Some(other) => format!(
                        "the journal lists {} but the folder has {} instead",
                        display_name(dir, &sql_path),
                        display_name(dir, other)
                    ),
                    None => format!(
                        "the journal lists {} but the file is missing",
                        display_name(dir, &sql_path)
                    ),
                };
                return Err(err(
                    problem,
                    "restore the file from version control (a migration's name is fixed once it is \
                     committed); if you meant to delete an unapplied migration, delete its journal \
                     entry and snapshot too"
                        .into(),
                ));
            }
            if !snapshot_files.by_idx.contains_key(&entry.idx) {
                return Err(err(
                    format!(
                        "the journal lists {} but its snapshot {} is missing",
                        entry.tag,
                        display_name(dir, &snap_path)
                    ),
                    "restore the snapshot from version control".into(),
                ));
            }
            let sql = read_to_string(&sql_path)?;
            let text = read_to_string(&snap_path)?;
            let header = match SnapshotHeader::from_canonical(&text) {
                Some(header) => header,
                None => {
                    let full = parse_snapshot(&snap_path, &text)?;
                    SnapshotHeader { id: full.id, prev_id: full.prev_id }
                }
            };
            watched.push(sql_path.clone());
            watched.push(snap_path.clone());
            let expected_prev = prev.as_ref().map(|(id, _)| id.as_str());
            if header.prev_id.as_deref() != expected_prev {
                return Err(fork_error(
                    dir,
                    entry,
                    &snap_path,
                    &header,
                    prev.as_ref(),
                    &ids,
                    &journal,
                ));
            }
            ids.insert(header.id.clone(), snap_path.clone());
            prev = Some((header.id.clone(), snap_path.clone()));
            let snapshot = SnapshotFile { path: snap_path, header, text };
            let mut entry = entry.clone();
            if journal_version == JournalVersion::Legacy {
                entry.hash = None; // version 1 records none; whatever is there is not trusted
            }
            migrations.push(Migration {
                hash: hash_sql(&sql),
                entry,
                path: sql_path,
                sql,
                snapshot: Some(snapshot),
            });
        }
        let journaled = migrations.len();
        let latest = match migrations.last().and_then(|m| m.snapshot.as_ref()) {
            Some(file) => {
                let snapshot = file.parse()?;
                if !snapshot.id_is_valid() || snapshot.id != file.header.id {
                    return Err(edited_snapshot(dir, &file.path));
                }
                Some(snapshot)
            }
            None => None,
        };

        // Snapshots with no journal entry.
        for (idx, files) in &snapshot_files.by_idx {
            if *idx as usize >= journaled {
                let snapshots =
                    join_list(&files.iter().map(|f| display_name(dir, f)).collect::<Vec<_>>());
                // A generated migration whose journal entry never got written (an interrupted
                // build, or a journal merge that kept only one side).
                if let Some(sql) = sql_files.by_idx.get(idx).and_then(|f| f.first()) {
                    return Err(err(
                        format!(
                            "{} and {snapshots} are not in the journal (an interrupted build, or a \
                             merge that dropped the journal entry?)",
                            display_name(dir, sql)
                        ),
                        format!(
                            "if {0} is a migration generated on another branch, add its entry to \
                             meta/_journal.json as the merge should have; otherwise delete both files \
                             and run `cargo build` again to regenerate it",
                            display_name(dir, sql)
                        ),
                    ));
                }
                return Err(err(
                    format!(
                        "{snapshots} has no journal entry (left over from a deleted, merged or \
                         interrupted migration?)"
                    ),
                    "delete it and run `cargo build` again".into(),
                ));
            }
        }
        if let Some(file) = snapshot_files.stray.first() {
            return Err(err(
                format!("{} is not a snapshot file name", display_name(dir, file)),
                "snapshots are named `meta/NNNN_snapshot.json`; remove the file from meta/".into(),
            ));
        }

        // `.sql` files not in the journal: the next indexes are hand-written migrations to adopt.
        let mut next = u32::try_from(journaled).unwrap_or(u32::MAX);
        for (idx, files) in &sql_files.by_idx {
            let path = &files[0];
            if (*idx as usize) < journaled {
                continue; // journaled (checked above)
            }
            if *idx != next {
                return Err(err(
                    format!(
                        "{} is not in the journal and its index is not the next one ({})",
                        display_name(dir, path),
                        format::format_idx(next)
                    ),
                    format!(
                        "a hand-written migration must take the next free index: rename it to \
                         {}_{}.sql",
                        format::format_idx(next),
                        file_stem(&display_name(dir, path)).split_once('_').map_or("", |(_, n)| n)
                    ),
                ));
            }
            let file_name =
                path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let tag = file_name.trim_end_matches(".sql").to_owned();
            let sql = read_to_string(path)?;
            watched.push(path.clone());
            let hash = hash_sql(&sql);
            migrations.push(Migration {
                entry: JournalEntry { idx: *idx, tag, custom: true, hash: Some(hash.clone()) },
                path: path.clone(),
                sql,
                hash,
                snapshot: None,
            });
            next += 1;
        }

        Ok(Self { dir: dir.to_path_buf(), migrations, journaled, watched, journal_version, latest })
    }
}

/// The error for `.sql` files without a journal: `meta/` (or its journal) was deleted or never
/// committed. Without it the build cannot tell generated migrations from hand-written ones.
fn missing_journal(dir: &Path, meta: &Path, sql_files: &Indexed) -> Error {
    let files: Vec<String> =
        sql_files.by_idx.values().flatten().map(|f| display_name(dir, f)).collect();
    let shown = match files.as_slice() {
        [one] => one.clone(),
        [first, rest @ ..] => format!("{first} and {} more", rest.len()),
        [] => String::new(),
    };
    let missing = if meta.is_dir() {
        format!("meta/{JOURNAL_FILE} is missing")
    } else {
        "meta/ is missing".to_owned()
    };
    Error::Folder {
        folder: dir.to_path_buf(),
        problem: format!(
            "{missing}, so {shown} has no journal entry and snapshot; the build cannot replay or \
             extend migrations without them"
        ),
        fix: format!(
            "restore meta/ from version control (`git checkout -- {}`): the build writes it next \
             to every migration, so commit it with them",
            dir.join("meta").display()
        ),
    }
}

/// The error for a snapshot whose id does not match its content.
pub(crate) fn edited_snapshot(dir: &Path, path: &Path) -> Error {
    Error::Folder {
        folder: dir.to_path_buf(),
        problem: format!(
            "{} was edited: its id does not match its content",
            display_name(dir, path)
        ),
        fix:
            "restore it from version control; snapshots are written by the build and describe the \
              schema after their migration"
                .into(),
    }
}

/// The error for a snapshot whose `prev_id` is not the previous snapshot's id.
fn fork_error(
    dir: &Path,
    entry: &JournalEntry,
    snap_path: &Path,
    snapshot: &SnapshotHeader,
    prev: Option<&(String, PathBuf)>,
    ids: &BTreeMap<String, PathBuf>,
    journal: &Journal,
) -> Error {
    let this = format!("{} ({}.sql)", display_name(dir, snap_path), entry.tag);
    let prev_entry = entry.idx.checked_sub(1).and_then(|i| journal.entries.get(i as usize));
    let (problem, fix) = match (prev, prev_entry) {
        (Some((_, prev_path)), Some(prev_entry)) => {
            let base = snapshot.prev_id.as_ref().and_then(|p| ids.get(p));
            let base_text = match base {
                Some(b) => format!("on top of {}", display_name(dir, b)),
                None => "on top of a snapshot this folder does not have".to_owned(),
            };
            (
                format!(
                    "the snapshot chain forks: {this} was generated {base_text}, not on top of {} \
                     ({}.sql); the two migrations were generated on separate branches",
                    display_name(dir, prev_path),
                    prev_entry.tag
                ),
                format!(
                    "keep the migration that is already on the main branch; delete your branch's \
                     migration {}.sql, its snapshot {} and its journal entry, then run \
                     `cargo build`: the build regenerates your schema change on top of the merged one",
                    entry.tag,
                    display_name(dir, snap_path)
                ),
            )
        }
        _ => (
            format!("{this} is the first snapshot but has a prev_id"),
            "restore the snapshot from version control".to_owned(),
        ),
    };
    Error::Folder { folder: dir.to_path_buf(), problem, fix }
}

/// Files of one directory whose names parse as `NNNN_*<suffix>`.
#[derive(Default)]
struct Indexed {
    by_idx: BTreeMap<u32, Vec<PathBuf>>,
    /// Files ending in the suffix that are not canonically indexed.
    stray: Vec<PathBuf>,
}

fn list_indexed(dir: &Path, suffix: &str, watched: &mut Vec<PathBuf>) -> Result<Indexed, Error> {
    let mut out = Indexed::default();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(out),
        Err(source) => return Err(Error::Io { action: "list", path: dir.to_path_buf(), source }),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| Error::Io {
            action: "list",
            path: dir.to_path_buf(),
            source,
        })?;
        let is_file = entry.file_type().is_ok_and(|t| t.is_file() || t.is_symlink());
        if is_file {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    for name in names {
        if !name.ends_with(suffix) || name.starts_with('.') {
            continue;
        }
        let path = dir.join(&name);
        let parsed = if suffix == ".sql" {
            parse_indexed(&name, suffix)
        } else {
            // `NNNN_snapshot.json`: the stem before the suffix is the index alone.
            let digits = &name[..name.len() - suffix.len()];
            digits
                .parse::<u32>()
                .ok()
                .filter(|_| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
                .map(|idx| (idx, digits == format::format_idx(idx)))
        };
        match parsed {
            Some((idx, true)) => out.by_idx.entry(idx).or_default().push(path),
            _ => {
                watched.push(path.clone());
                out.stray.push(path);
            }
        }
    }
    Ok(out)
}

fn read_to_string(path: &Path) -> Result<String, Error> {
    fs::read_to_string(path).map_err(|source| Error::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    })
}

fn read_journal(path: &Path) -> Result<Option<Journal>, Error> {
    match fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map(Some).map_err(|source| Error::Json {
            what: "journal",
            path: path.to_path_buf(),
            source,
        }),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Io { action: "read", path: path.to_path_buf(), source }),
    }
}

fn parse_snapshot(path: &Path, text: &str) -> Result<Snapshot, Error> {
    // Check the version before the shape, so a future format says "upgrade" rather than "invalid".
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(text)
        && let Some(v) = map.get("version")
        && v.as_u64() != Some(u64::from(SNAPSHOT_VERSION))
    {
        return Err(Error::UnsupportedFormat {
            path: path.to_path_buf(),
            found: format!("version {v}"),
            expected: format!("version {SNAPSHOT_VERSION}"),
        });
    }
    serde_json::from_str(text).map_err(|source| Error::Json {
        what: "snapshot",
        path: path.to_path_buf(),
        source,
    })
}

/// A file's path relative to the migrations folder (`0001_x.sql`, `meta/0001_snapshot.json`).
pub(crate) fn display_name(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir).unwrap_or(path).to_string_lossy().replace('\\', "/")
}

fn file_stem(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name).trim_end_matches(".sql")
}

fn join_list(items: &[impl AsRef<str>]) -> String {
    items.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Column, Schema, SqlType, Table};

    fn schema(tables: &[&str]) -> Schema {
        let mut s = Schema::default();
        for name in tables {
            let mut t = Table::new(*name);
            t.columns.push(Column::new("id", SqlType::Integer));
            t.primary_key = vec!["id".into()];
            s.insert(t);
        }
        s
    }

    /// Writes a well-formed folder with one migration per entry of `tags`, table `t<i>` each.
    fn write_folder(dir: &Path, tags: &[&str]) -> Vec<Snapshot> {
        let meta = dir.join("meta");
        fs::create_dir_all(&meta).unwrap();
        let mut journal = Journal::default();
        let mut prev: Option<String> = None;
        let mut names = Vec::new();
        let mut snaps = Vec::new();
        for (i, tag) in tags.iter().enumerate() {
            let idx = u32::try_from(i).unwrap();
            names.push(format!("t{i}"));
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let snap = Snapshot::new(prev.as_deref(), &schema(&refs));
            let sql = format!("CREATE TABLE \"t{i}\" (\"id\" INTEGER PRIMARY KEY);\n");
            fs::write(dir.join(format!("{tag}.sql")), &sql).unwrap();
            fs::write(meta.join(snapshot_file_name(idx)), snap.to_json()).unwrap();
            journal.entries.push(JournalEntry {
                idx,
                tag: (*tag).to_owned(),
                custom: false,
                hash: Some(hash_sql(&sql)),
            });
            prev = Some(snap.id.clone());
            snaps.push(snap);
        }
        fs::write(meta.join(JOURNAL_FILE), journal.to_json()).unwrap();
        snaps
    }

    fn folder_error(dir: &Path) -> String {
        match Folder::read(dir) {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn missing_folder_is_empty() {
        let tmp = tempfile::tempdir().unwrap();
        let f = Folder::read(&tmp.path().join("migrations")).unwrap();
        assert!(f.migrations.is_empty() && f.latest_snapshot().is_none());
    }

    #[test]
    fn whole_folder_reads_and_ignores_other_files() {
        let tmp = tempfile::tempdir().unwrap();
        let snaps = write_folder(tmp.path(), &["0000_create_t0", "0001_create_t1"]);
        fs::write(tmp.path().join("README.md"), "notes").unwrap();
        fs::write(tmp.path().join(".gitattributes"), "*.sql eol=lf").unwrap();
        fs::write(tmp.path().join("meta/notes.txt"), "x").unwrap();
        let f = Folder::read(tmp.path()).unwrap();
        assert_eq!(f.journaled, 2);
        assert!(f.pending_adoption().is_empty());
        assert_eq!(f.latest_snapshot().unwrap().id, snaps[1].id);
        assert!(f.watched.contains(&tmp.path().join("0001_create_t1.sql")));
        assert!(f.watched.contains(&tmp.path().join("meta/0001_snapshot.json")));
    }

    #[test]
    fn journal_entry_without_sql_or_snapshot() {
        let tmp = tempfile::tempdir().unwrap();
        write_folder(tmp.path(), &["0000_a", "0001_b"]);
        fs::remove_file(tmp.path().join("0001_b.sql")).unwrap();
        let e = folder_error(tmp.path());
        assert!(e.contains("the journal lists 0001_b.sql but the file is missing"), "{e}");
        assert!(e.contains("fix: restore the file from version control"), "{e}");

        let tmp = tempfile::tempdir().unwrap();
        write_folder(tmp.path(), &["0000_a", "0001_b"]);
        fs::remove_file(tmp.path().join("meta/0001_snapshot.json")).unwrap();
        let e = folder_error(tmp.path());
        assert!(e.contains("its snapshot meta/0001_snapshot.json is missing"), "{e}");
    }

    #[test]
    fn two_migrations_with_one_index() {
        let tmp = tempfile::tempdir().unwrap();
        write_folder(tmp.path(), &["0000_a", "0001_b"]);
        fs::write(tmp.path().join("0001_theirs.sql"), "SELECT 1;").unwrap();
        let e = folder_error(tmp.path());
        assert!(
            e.contains("two migrations have index 0001: 0001_b.sql and 0001_theirs.sql"),
            "{e}"
        );
        // A hand-written file on a taken number is renamed, not deleted.
        assert!(
            e.contains(
                "0001_b.sql is the one in the journal. If 0001_theirs.sql is a hand-written \
                 migration, rename it to the next free index, 0002_theirs.sql, and run `cargo \
                 build` again (the build adopts it)"
            ),
            "{e}"
        );
        assert!(e.contains("if it was generated on a branch merged in parallel, delete it"), "{e}");
    }

    #[test]
    fn a_missing_meta_folder_is_named_not_taken_for_hand_written_migrations() {
        let tmp = tempfile::tempdir().unwrap();
        write_folder(tmp.path(), &["0000_create_users", "0001_add_users_bio"]);
        fs::remove_dir_all(tmp.path().join("meta")).unwrap();
        let e = folder_error(tmp.path());
        assert!(
            e.contains(
                "meta/ is missing, so 0000_create_users.sql and 1 more has no journal entry and \
                 snapshot"
            ),
            "{e}"
        );
        assert!(e.contains("fix: restore meta/ from version control (`git checkout -- "), "{e}");
        assert!(!e.contains("hand-written"), "{e}");

        let tmp = tempfile::tempdir().unwrap();
        write_folder(tmp.path(), &["0000_create_users"]);
        fs::remove_file(tmp.path().join("meta").join(JOURNAL_FILE)).unwrap();
        let e = folder_error(tmp.path());
        assert!(
            e.contains("meta/_journal.json is missing, so 0000_create_users.sql has no"),
            "{e}"
        );
    }

    #[test]
    fn forked_snapshot_chain_names_both_files() {
        let tmp = tempfile::tempdir().unwrap();
        let snaps = write_folder(tmp.path(), &["0000_a", "0001_main", "0002_mine"]);
        // 0002 was generated on a branch on top of 0000, not 0001.
        let forked = Snapshot::new(Some(&snaps[0].id), &snaps[2].schema());
        fs::write(tmp.path().join("meta/0002_snapshot.json"), forked.to_json()).unwrap();
        let e = folder_error(tmp.path());
        assert!(e.contains("the snapshot chain forks"), "{e}");
        assert!(e.contains("meta/0002_snapshot.json (0002_mine.sql) was generated on top of meta/0000_snapshot.json, not on top of meta/0001_snapshot.json (0001_main.sql)"), "{e}");
        assert!(e.contains("delete your branch's migration 0002_mine.sql"), "{e}");
    }

    #[test]
    fn edited_snapshot_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let snaps = write_folder(tmp.path(), &["0000_a"]);
        let mut edited = snaps[0].clone();
        edited.tables.clear();
        fs::write(tmp.path().join("meta/0000_snapshot.json"), edited.to_json()).unwrap();
        let e = folder_error(tmp.path());
        assert!(e.contains("meta/0000_snapshot.json was edited"), "{e}");
    }

    #[test]
    fn stray_sql_files() {
        for name in ["seed.sql", "003_x.sql", "0001.sql"] {
            let tmp = tempfile::tempdir().unwrap();
            write_folder(tmp.path(), &["0000_a"]);
            fs::write(tmp.path().join(name), "SELECT 1;").unwrap();
            let e = folder_error(tmp.path());
            assert!(e.contains(&format!("{name} is not a migration file name")), "{name}: {e}");
        }
    }

    #[test]
    fn next_index_sql_waits_for_adoption_others_are_errors() {
        let tmp = tempfile::tempdir().unwrap();
        write_folder(tmp.path(), &["0000_a"]);
        fs::write(tmp.path().join("0001_seed.sql"), "INSERT INTO t0 VALUES (1);").unwrap();
        fs::write(tmp.path().join("0002_view.sql"), "CREATE VIEW v AS SELECT 1;").unwrap();
        let f = Folder::read(tmp.path()).unwrap();
        let tags: Vec<&str> = f.pending_adoption().iter().map(|m| m.entry.tag.as_str()).collect();
        assert_eq!(tags, ["0001_seed", "0002_view"]);
        assert!(f.pending_adoption().iter().all(|m| m.entry.custom && m.snapshot.is_none()));

        fs::remove_file(tmp.path().join("0001_seed.sql")).unwrap();
        let e = folder_error(tmp.path());
        assert!(
            e.contains(
                "0002_view.sql is not in the journal and its index is not the next one (0001)"
            ),
            "{e}"
        );
        assert!(e.contains("rename it to 0001_view.sql"), "{e}");
    }

    #[test]
    fn snapshot_without_journal_entry() {
        let tmp = tempfile::tempdir().unwrap();
        let snaps = write_folder(tmp.path(), &["0000_a"]);
        fs::write(tmp.path().join("meta/0001_snapshot.json"), snaps[0].to_json()).unwrap();
        let e = folder_error(tmp.path());
        assert!(e.contains("meta/0001_snapshot.json has no journal entry"), "{e}");
    }

    #[test]
    fn sql_and_snapshot_without_journal_entry() {
        let tmp = tempfile::tempdir().unwrap();
        let snaps = write_folder(tmp.path(), &["0000_a"]);
        fs::write(tmp.path().join("0001_b.sql"), "SELECT 1;").unwrap();
        let next = Snapshot::new(Some(&snaps[0].id), &snaps[0].schema());
        fs::write(tmp.path().join("meta/0001_snapshot.json"), next.to_json()).unwrap();
        let e = folder_error(tmp.path());
        assert!(e.contains("0001_b.sql and meta/0001_snapshot.json are not in the journal"), "{e}");
        assert!(e.contains("otherwise delete both files"), "{e}");
    }

    #[test]
    fn merged_journal_with_two_entries_for_one_index() {
        let tmp = tempfile::tempdir().unwrap();
        write_folder(tmp.path(), &["0000_a", "0001_main"]);
        let journal = fs::read_to_string(tmp.path().join("meta/_journal.json")).unwrap();
        let mut parsed: Journal = serde_json::from_str(&journal).unwrap();
        parsed.entries.push(JournalEntry {
            idx: 1,
            tag: "0001_mine".into(),
            custom: false,
            hash: Some(hash_sql("")),
        });
        fs::write(tmp.path().join("meta/_journal.json"), parsed.to_json()).unwrap();
        let e = folder_error(tmp.path());
        assert!(e.contains("has 2 entries with idx 1: 0001_main, 0001_mine"), "{e}");
        assert!(e.contains("keep the main branch's entry"), "{e}");
    }

    #[test]
    fn malformed_and_future_journals() {
        let tmp = tempfile::tempdir().unwrap();
        write_folder(tmp.path(), &["0000_a"]);
        fs::write(tmp.path().join("meta/_journal.json"), "{ not json").unwrap();
        let e = folder_error(tmp.path());
        assert!(e.contains("meta/_journal.json is not a valid journal"), "{e}");

        let journal = Journal { version: 3, ..Journal::default() };
        fs::write(tmp.path().join("meta/_journal.json"), journal.to_json()).unwrap();
        let e = folder_error(tmp.path());
        assert!(
            e.contains("has version 3, but this version of schema-core reads version 2 (or 1)"),
            "{e}"
        );

        let mut journal = Journal::default();
        journal.entries.push(JournalEntry {
            idx: 1,
            tag: "0001_a".into(),
            custom: false,
            hash: Some(hash_sql("")),
        });
        fs::write(tmp.path().join("meta/_journal.json"), journal.to_json()).unwrap();
        let e = folder_error(tmp.path());
        assert!(e.contains("is out of order"), "{e}");
    }

    #[test]
    fn version_2_entries_need_a_well_formed_hash() {
        for hash in [None, Some("abc"), Some(&"A".repeat(64)[..])] {
            let tmp = tempfile::tempdir().unwrap();
            write_folder(tmp.path(), &["0000_a"]);
            let path = tmp.path().join("meta/_journal.json");
            let mut journal: Journal =
                serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
            journal.entries[0].hash = hash.map(str::to_owned);
            fs::write(&path, journal.to_json()).unwrap();
            let e = folder_error(tmp.path());
            assert!(e.contains("entry #0 (0000_a) has"), "{hash:?}: {e}");
            assert!(e.contains("records each file's hash"), "{hash:?}: {e}");
        }
    }

    #[test]
    fn edited_files_and_version_1_journals() {
        let tmp = tempfile::tempdir().unwrap();
        write_folder(tmp.path(), &["0000_a", "0001_b", "0002_c"]);
        let f = Folder::read(tmp.path()).unwrap();
        assert_eq!(f.journal_version, JournalVersion::Hashed);
        assert!(f.edited().is_empty());
        let recorded = f.migrations[1].hash.clone();
        // CRLF and a BOM are not edits; a comment is.
        let sql = fs::read_to_string(tmp.path().join("0000_a.sql")).unwrap();
        fs::write(tmp.path().join("0000_a.sql"), format!("\u{feff}{}", sql.replace('\n', "\r\n")))
            .unwrap();
        fs::write(tmp.path().join("0001_b.sql"), format!("-- hi\n{}", f.migrations[1].sql))
            .unwrap();
        let edited = Folder::read(tmp.path()).unwrap().edited();
        assert_eq!(
            edited,
            [EditedFile {
                tag: "0001_b".into(),
                recorded,
                actual: hash_sql(&format!("-- hi\n{}", f.migrations[1].sql)),
            }]
        );

        // Version 1: no hashes, nothing detected, the entries read as they are.
        let path = tmp.path().join("meta/_journal.json");
        let mut journal: Journal =
            serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        journal.version = 1;
        for e in &mut journal.entries {
            e.hash = None;
        }
        fs::write(&path, journal.to_json()).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"version\": 1") && !text.contains("hash"), "{text}");
        let f = Folder::read(tmp.path()).unwrap();
        assert_eq!(f.journal_version, JournalVersion::Legacy);
        assert!(f.edited().is_empty() && f.migrations.iter().all(|m| m.entry.hash.is_none()));
    }
}
