//! Edit detection: each journal entry (version 2) records its file's hash; a committed file
//! that no longer has it fails the build unless `MIGRATION_ALLOW_EDIT` names it.

use std::path::Path;

use crate::error::Error;

use super::folder::{EditedFile, Folder, JOURNAL_FILE, JournalVersion};
use super::mode::Mode;

/// What a run must do about the journal's recorded hashes.
#[derive(Debug, Clone, Default)]
pub struct HashCheck {
    /// Edited migrations that `MIGRATION_ALLOW_EDIT` names: their entries get the new hash.
    pub restamp: Vec<EditedFile>,
    /// The journal is version 1 (no hashes): prove the files by replay, and in write mode
    /// rewrite it as version 2.
    pub legacy: bool,
}

impl HashCheck {
    /// Whether the journal's hashes cannot vouch for the files (a version-1 journal, or entries
    /// about to be re-stamped): the replay must prove them, and a write-mode run rewrites the
    /// journal with the files' hashes.
    #[must_use]
    pub fn journal_stale(&self) -> bool {
        self.legacy || !self.restamp.is_empty()
    }
}

/// Compares every journaled file with its recorded hash.
///
/// `shown_folder` is the folder as configured (for messages), `allow` the `MIGRATION_ALLOW_EDIT`
/// tags. Pushes `cargo:warning` lines for a version-1 journal in check mode and for allowed tags
/// that are not edited.
///
/// # Errors
/// [`Error::EditedMigrations`] naming every edited file when one of them is not allowed.
pub fn check(
    folder: &Folder,
    shown_folder: &Path,
    allow: &[String],
    mode: Mode,
    lines: &mut Vec<String>,
) -> Result<HashCheck, Error> {
    let edited = folder.edited();
    if edited.iter().any(|e| !allow.contains(&e.tag)) {
        return Err(Error::EditedMigrations { folder: shown_folder.to_path_buf(), edits: edited });
    }
    for tag in allow.iter().filter(|tag| !edited.iter().any(|e| e.tag == **tag)) {
        lines.push(format!(
            "cargo:warning=MIGRATION_ALLOW_EDIT names {tag}, which is not an edited migration of \
             {}: nothing to re-stamp there (unset the variable once the journal is re-stamped)",
            shown_folder.display()
        ));
    }
    let legacy = folder.journal_version == JournalVersion::Legacy;
    if legacy && let Mode::Check(_) = mode {
        lines.push(format!(
            "cargo:warning={}/meta/{JOURNAL_FILE} is version 1 (no hashes, so edits to committed \
             migrations are only caught when they change the replayed schema): run a write-mode \
             build (`SCHEMA_MIGRATIONS=write cargo build`) once and commit the upgraded journal",
            shown_folder.display()
        ));
    }
    Ok(HashCheck { restamp: edited, legacy })
}
