//! One run of the generator (see the module docs of [`crate::build`]).

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::plan::{self, PlanInput, Severity};
use crate::{introspect, parse};

use super::embed::{self, Embedded, Guard};
use super::folder::{Folder, JOURNAL_FILE, display_name};
use super::format::{
    Journal, JournalEntry, Snapshot, migration_text, sanitize_name, snapshot_file_name, tag,
    unsplittable_statement,
};
use super::mode::{BuildEnv, Mode, WATCHED_ENV};
use super::replay::LazyReplay;
use super::sources::{self, SchemaSources};
use super::{Generator, edits, replay};

/// What a successful run did.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Hand-written migrations adopted by this run (their tags).
    pub adopted: Vec<String>,
    /// The tag of the migration this run generated, if the schema changed.
    pub generated: Option<String>,
    /// Every file written in the migrations folder, in write order.
    pub written: Vec<PathBuf>,
    /// The `$OUT_DIR` file, when it was (re)written.
    pub embedded: Option<PathBuf>,
    /// The `cargo:` lines (rerun-if-changed, rerun-if-env-changed, warnings).
    pub cargo_lines: Vec<String>,
    /// How many migrations the database type embeds.
    pub migrations: usize,
    /// Whether this run replayed the migrations (only to prove something new: a schema change,
    /// an adoption, a version-1 journal's upgrade, an allowed edit; a run whose journal hashes
    /// vouch for every file and that changes nothing does not).
    pub replayed: bool,
}

/// A file to write: its final path and content.
struct PendingFile {
    path: PathBuf,
    content: String,
}

impl Generator {
    /// The whole run; `lines` receives the `cargo:` lines even when the run fails.
    pub(super) fn execute(
        &self,
        env: &BuildEnv,
        lines: &mut Vec<String>,
    ) -> Result<Outcome, Error> {
        let schema_path = env.manifest_dir.join(&self.schema);
        let dir = env.manifest_dir.join(&self.migrations);
        lines.push(rerun(&schema_path));
        lines.push(rerun(&dir));
        for name in WATCHED_ENV {
            lines.push(format!("cargo:rerun-if-env-changed={name}"));
        }
        if !embed::is_type_name(&self.db_name) {
            return Err(Error::InvalidConfig {
                message: format!(
                    "db_name({:?}) is not a Rust type name; use a name like \"Db\" or \"PulseDb\"",
                    self.db_name
                ),
            });
        }
        let mode = env.mode()?;

        // 1. The schema file and the modules it declares; no stray struct elsewhere.
        let schema_sources = SchemaSources::read(&env.manifest_dir, &self.schema)?;
        lines.extend(schema_sources.paths().skip(1).map(rerun));
        let located = schema_sources.parse()?;
        let new_schema = schema_sources.resolve(&located)?;
        sources::refuse_strays(&env.manifest_dir, &self.schema, &schema_sources)?;
        sources::check_fallible_uint(&env.manifest_dir, &schema_sources, &located)?;

        // 2. The folder and its recorded hashes.
        let folder = Folder::read(&dir)?;
        let hashes = edits::check(&folder, &self.migrations, &env.allow_edit_list(), mode, lines)?;

        // 3. The replay, only when something must be proven.
        let adopting = folder.pending_adoption();
        let old_schema = folder.latest_snapshot().map(Snapshot::schema).unwrap_or_default();
        let changed = old_schema.to_canonical_json() != new_schema.to_canonical_json();
        let mut replay = LazyReplay::new(&folder);
        if changed || !adopting.is_empty() || hashes.journal_stale() {
            replay.get()?;
        }

        // 4. Adoption of hand-written migrations, 5. the schema change.
        let mut generated = None;
        if changed {
            sources::check_expressions(&schema_sources, &located, &new_schema)?;
            let dependents = introspect::dependents(&replay.get()?.conn)?;
            let allow_drop = env.allow_drop_list();
            let input = PlanInput {
                old: &old_schema,
                new: &new_schema,
                dependents: &dependents,
                allow_drop: &allow_drop,
            };
            let plan = plan::plan(&input)
                .map_err(|findings| Error::Plan { schema: self.schema.clone(), findings })?;
            for finding in &plan.findings {
                let level = match finding.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                    Severity::Info => "note",
                };
                lines.push(format!(
                    "cargo:warning={level}[{}]: {}",
                    finding.code,
                    finding.message.replace(['\n', '\r'], " ")
                ));
            }
            if !plan.is_empty() {
                generated = Some(plan);
            }
        } else {
            // No plan runs, so a `convert` left behind after its migration goes unseen there.
            let findings = plan::unused_converts(&old_schema, &new_schema);
            if !findings.is_empty() {
                return Err(Error::Plan { schema: self.schema.clone(), findings });
            }
        }
        if generated.is_none()
            && let Some(name) = env.migration_name.as_deref().filter(|n| !n.trim().is_empty())
        {
            lines.push(format!(
                "cargo:warning=MIGRATION_NAME={name:?} is set but the schema in {} did not change, so \
                 no migration was generated",
                self.schema.display()
            ));
        }

        if let Mode::Check(reason) = mode {
            let mut what = Vec::new();
            if !adopting.is_empty() {
                let files: Vec<String> =
                    adopting.iter().map(|m| display_name(&folder.dir, &m.path)).collect();
                what.push(format!(
                    "the hand-written migration {} is not in the journal yet",
                    files.join(", ")
                ));
            }
            if let Some(plan) = &generated {
                what.push(format!(
                    "the schema in {} changed since the latest snapshot (migration `{}` is pending)",
                    self.schema.display(),
                    plan.name()
                ));
            }
            if !hashes.restamp.is_empty() {
                let tags: Vec<&str> = hashes.restamp.iter().map(|e| e.tag.as_str()).collect();
                what.push(format!(
                    "MIGRATION_ALLOW_EDIT re-stamps the edited migration {} in the journal",
                    tags.join(", ")
                ));
            }
            if !what.is_empty() {
                return Err(Error::PendingChange {
                    what: what.join("; and "),
                    reason: reason.describe(),
                    command: env.write_command(),
                    folder: self.migrations.clone(),
                    pending_sql: generated.as_ref().map_or_else(String::new, |plan| {
                        migration_text(&plan.header_comments(), &plan.render())
                    }),
                });
            }
        }

        // Everything this run writes, journal last. Every entry records its file's hash: an
        // upgrade of a version-1 journal or a re-stamp (edits not allowed failed above).
        let mut journal = Journal {
            entries: folder.migrations[..folder.journaled]
                .iter()
                .map(|m| JournalEntry { hash: Some(m.hash.clone()), ..m.entry.clone() })
                .collect(),
            ..Journal::default()
        };
        let mut prev_id = folder.latest_snapshot().map(|s| s.id.clone());
        let mut files: Vec<PendingFile> = Vec::new();
        let mut outcome = Outcome::default();
        for m in adopting {
            let snapshot = Snapshot::new(prev_id.as_deref(), &old_schema);
            files.push(PendingFile {
                path: folder.meta_dir().join(snapshot_file_name(m.entry.idx)),
                content: snapshot.to_json(),
            });
            prev_id = Some(snapshot.id);
            journal.entries.push(JournalEntry {
                idx: m.entry.idx,
                tag: m.entry.tag.clone(),
                custom: true,
                hash: Some(m.hash.clone()),
            });
            outcome.adopted.push(m.entry.tag.clone());
        }
        let mut new_sql: Option<(String, PathBuf, String)> = None; // (tag, path, text)
        if let Some(plan) = &generated {
            let idx = u32::try_from(folder.migrations.len()).unwrap_or(u32::MAX);
            let name = env
                .migration_name
                .as_deref()
                .map(sanitize_name)
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| {
                    let n = sanitize_name(&plan.name());
                    if n.is_empty() { "migration".to_owned() } else { n }
                });
            let tag = tag(idx, &name);
            let statements = plan.render();
            if let Some(statement) = unsplittable_statement(&statements) {
                return Err(Error::UnsplittableStatement { tag, statement });
            }
            let text = migration_text(&plan.header_comments(), &statements);
            for warning in replay::prove(replay.get()?, &tag, &text, &new_schema, plan)? {
                lines.push(format!("cargo:warning={}", warning.replace(['\n', '\r'], " ")));
            }
            let snapshot = Snapshot::new(prev_id.as_deref(), &new_schema);
            let sql_path = dir.join(format!("{tag}.sql"));
            files.insert(0, PendingFile { path: sql_path.clone(), content: text.clone() });
            files.push(PendingFile {
                path: folder.meta_dir().join(snapshot_file_name(idx)),
                content: snapshot.to_json(),
            });
            journal.entries.push(JournalEntry {
                idx,
                tag: tag.clone(),
                custom: false,
                hash: Some(migrate_engine::hash_sql(&text)),
            });
            new_sql = Some((tag.clone(), sql_path, text));
            outcome.generated = Some(tag);
        }
        let journal_stale = mode == Mode::Write && hashes.journal_stale();
        if !files.is_empty() || journal_stale {
            files.push(PendingFile {
                path: folder.meta_dir().join(JOURNAL_FILE),
                content: journal.to_json(),
            });
            write_all(&files)?;
            outcome.written.extend(files.iter().map(|f| f.path.clone()));
            // Tell the developer: the build wrote files they should review and commit.
            let folder_shown = self.migrations.display();
            for tag in &outcome.adopted {
                lines.push(format!(
                    "cargo:warning=adopted the hand-written migration {folder_shown}/{tag}.sql \
                     (journal entry and snapshot written); commit {folder_shown}/"
                ));
            }
            if let Some(tag) = &outcome.generated {
                lines.push(format!(
                    "cargo:warning=wrote the migration {folder_shown}/{tag}.sql for the change in {}; \
                     review it and commit {folder_shown}/",
                    self.schema.display()
                ));
            }
            if hashes.legacy {
                lines.push(format!(
                    "cargo:warning=upgraded {folder_shown}/meta/{JOURNAL_FILE} to version 2 (each \
                     entry records its file's hash, so any edit to a committed migration fails the \
                     build); commit it"
                ));
            }
            for edit in &hashes.restamp {
                lines.push(format!(
                    "cargo:warning=re-stamped {folder_shown}/{}.sql in the journal (MIGRATION_ALLOW_EDIT): \
                     every database that applied its old text refuses to open (Edited); commit \
                     {folder_shown}/ and unset MIGRATION_ALLOW_EDIT",
                    edit.tag
                ));
            }
        }
        outcome.replayed = replay.ran();
        // 6. The `$OUT_DIR` file.
        let mut sources: Vec<(u32, String, PathBuf, String)> = folder
            .migrations
            .iter()
            .map(|m| (m.entry.idx, m.entry.tag.clone(), m.path.clone(), m.hash.clone()))
            .collect();
        if let Some((tag, path, text)) = &new_sql {
            let idx = u32::try_from(sources.len()).unwrap_or(u32::MAX);
            sources.push((idx, tag.clone(), path.clone(), migrate_engine::hash_sql(text)));
        }
        let mut chains: Vec<String> = Vec::with_capacity(sources.len());
        for (_, _, _, hash) in &sources {
            let next = migrate_engine::chain_hash(chains.last().map(String::as_str), hash);
            chains.push(next);
        }
        let embedded: Vec<Embedded<'_>> = sources
            .iter()
            .zip(&chains)
            .map(|((idx, tag, path, hash), chain)| Embedded { idx: *idx, tag, path, hash, chain })
            .collect();
        // Structs of module files may be private to their module: the derive checks them
        // against the seen list instead.
        let fingerprints: Vec<(String, String)> = located
            .iter()
            .filter(|l| l.file == 0)
            .map(|l| (l.rust_path.clone(), l.parsed.fingerprint()))
            .collect();
        let guards: Vec<Guard<'_>> = fingerprints
            .iter()
            .map(|(rust_path, fingerprint)| Guard { rust_path, fingerprint })
            .collect();
        outcome.migrations = embedded.len();
        if let Some(out_dir) = &env.out_dir {
            let content = embed::render(&self.db_name, &self.schema, &embedded, &guards);
            let path = out_dir.join("godwit").join(format!("{}.rs", self.db_name));
            if write_if_changed(&path, &content)? {
                outcome.embedded = Some(path);
            }
            let seen = out_dir.join("godwit").join(format!(
                "{}.{}",
                self.db_name,
                parse::SEEN_LIST_EXTENSION
            ));
            write_if_changed(&seen, &sources::seen_list(&schema_sources, &located))?;
        }
        Ok(outcome)
    }
}

fn rerun(path: &Path) -> String {
    format!("cargo:rerun-if-changed={}", path.display())
}

/// Writes every file to a temporary sibling, then renames them into place in order (the journal
/// last), so a failure leaves at worst stray temporary files, never a half-written migration.
fn write_all(files: &[PendingFile]) -> Result<(), Error> {
    let mut temps = Vec::with_capacity(files.len());
    for f in files {
        let parent = f.path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(parent).map_err(|source| Error::Io {
            action: "create",
            path: parent.to_path_buf(),
            source,
        })?;
        let file_name =
            f.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let temp = parent.join(format!(".{file_name}.godwit-tmp"));
        if let Err(source) = fs::write(&temp, &f.content) {
            for t in &temps {
                let _ = fs::remove_file(t);
            }
            return Err(Error::Io { action: "write", path: temp, source });
        }
        temps.push(temp);
    }
    for (f, temp) in files.iter().zip(&temps) {
        fs::rename(temp, &f.path).map_err(|source| Error::Io {
            action: "rename",
            path: temp.clone(),
            source,
        })?;
    }
    Ok(())
}

/// Writes `content` to `path` unless it already holds exactly that. Returns whether it wrote.
fn write_if_changed(path: &Path, content: &str) -> Result<bool, Error> {
    if fs::read(path).is_ok_and(|old| old == content.as_bytes()) {
        return Ok(false);
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|source| Error::Io {
            action: "create",
            path: parent.to_path_buf(),
            source,
        })?;
    }
    fs::write(path, content).map_err(|source| Error::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    })?;
    Ok(true)
}
