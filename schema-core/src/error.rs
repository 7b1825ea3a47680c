//! The crate error type.
//!
//! Every message is lowercase and says what is wrong, where (file, table, column) and how to fix
//! it. Build-script errors are shown to the developer as they are, so they span several lines.

#[cfg(feature = "planner")]
use std::fmt::Write as _;
use std::path::PathBuf;

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in schema-core, mostly in the build script.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A required environment variable is not set (the build script runs outside cargo).
    #[error("environment variable {name} is not set; schema_core::build runs from a build script")]
    MissingEnv {
        /// The variable.
        name: &'static str,
    },

    /// An environment variable has a value the generator does not understand.
    #[error("environment variable {name}={value:?} is not valid: expected {expected}")]
    InvalidEnv {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// What it may hold.
        expected: &'static str,
    },

    /// The `Generator` was configured with something unusable.
    #[error("invalid schema_core::build::Generator configuration: {message}")]
    InvalidConfig {
        /// What is wrong and how to fix it.
        message: String,
    },

    /// Reading or writing a file failed.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// `read`, `write`, `list`, `rename`, ...
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The schema file does not exist.
    #[error(
        "schema file {} does not exist\n  fix: create it, or point the build script at yours: \
         schema_core::build::Generator::new().schema(\"src/db/schema.rs\").run()",
        path.display()
    )]
    SchemaFileMissing {
        /// The path that was looked up.
        path: PathBuf,
    },

    /// The schema file does not parse, or its tables are invalid (each error with its
    /// `file:line:column`).
    #[cfg(feature = "build")]
    #[error("{}", render_syn(path, source_text, error))]
    Schema {
        /// The schema file.
        path: PathBuf,
        /// Its text (for the line under each error).
        source_text: String,
        /// The parser's errors, combined.
        error: syn::Error,
    },

    /// A JSON file in `meta/` is malformed.
    #[error(
        "{} is not a valid {what}\n  fix: restore it from version control \
         (files in meta/ are written by the build and not meant to be edited)",
        path.display()
    )]
    Json {
        /// `journal` or `snapshot`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },

    /// A journal or snapshot has a format version or dialect this crate does not read.
    #[error("{} has {found}, but this version of schema-core reads {expected}\n  fix: upgrade schema-core", path.display())]
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
        /// What it says (`version 2`, `dialect "postgres"`).
        found: String,
        /// What is supported.
        expected: String,
    },

    /// The migrations folder is not whole or not linear (missing files, duplicate indexes,
    /// stray files, a forked snapshot chain, a malformed journal).
    #[error("migrations folder {}: {problem}\n  fix: {fix}", folder.display())]
    Folder {
        /// The migrations folder.
        folder: PathBuf,
        /// What is wrong, naming the files.
        problem: String,
        /// How to fix it.
        fix: String,
    },

    /// Replaying the committed migrations does not give the schema their snapshots record.
    #[cfg(feature = "build")]
    #[error(
        "replaying the migrations does not give the schema recorded in the snapshots; the first \
         migration whose result differs from its snapshot is {tag} ({}):\n{}\n  fix: {fix}",
        path.display(),
        bullets(differences)
    )]
    ReplayMismatch {
        /// The tag of the first migration whose result differs from its own snapshot.
        tag: String,
        /// Its file.
        path: PathBuf,
        /// Each difference, human-readable.
        differences: Vec<String>,
        /// How to fix it.
        fix: String,
    },

    /// Committed migration files differ from the hashes the journal records for them (an edit,
    /// even one the replay cannot see, such as a comment or an index a later rebuild drops).
    #[cfg(feature = "build")]
    #[error(
        "migration files in {}/ differ from the hashes meta/_journal.json records for them:\n{}\n  \
         fix: restore them from version control, and write a data, view or index change as a new \
         hand-written migration instead. If an edit is deliberate and no database has applied the \
         old text yet, build once with MIGRATION_ALLOW_EDIT={} to re-stamp the journal (the replay \
         still proves the migrations): every database that already applied the old text refuses \
         to open afterwards (Edited)",
        folder.display(),
        edited_list(folder, edits),
        edits.iter().map(|e| e.tag.as_str()).collect::<Vec<_>>().join(",")
    )]
    EditedMigrations {
        /// The migrations folder (as configured, relative to the crate).
        folder: PathBuf,
        /// Each edited file, in index order.
        edits: Vec<crate::build::folder::EditedFile>,
    },

    /// A committed migration fails when replayed into an empty database: the engine the runtime
    /// uses refused or failed it (a statement error, new foreign-key violations, a broken
    /// schema), so the runtime would fail it too.
    #[cfg(feature = "build")]
    #[error(
        "migration {tag} ({}) fails when replayed into an empty database, as it would on every \
         user's machine\n  fix: correct the SQL (or restore the file from version control if it \
         was generated)",
        path.display()
    )]
    ReplayFailed {
        /// The migration's tag.
        tag: String,
        /// Its file.
        path: PathBuf,
        /// The engine's error (naming the statement), with SQLite's below it.
        #[source]
        source: Box<migrate_engine::Error>,
    },

    /// A migration holds a statement the runtime's statement policy refuses (transaction
    /// control, a savepoint, ATTACH/DETACH, a pragma outside the allow-list), as SQLite's
    /// authorizer reported it while preparing the statement.
    #[cfg(feature = "build")]
    #[error(
        "migration {tag} ({}) statement {statement} is {what}, which the runtime refuses:\n    \
         {first_line}\n  fix: remove it; the runner applies all pending migrations in one \
         transaction, switches foreign keys off around it and owns the connection's settings, \
         so migrations need neither transaction control nor those pragmas",
        path.display()
    )]
    Refused {
        /// The migration's tag.
        tag: String,
        /// Its file.
        path: PathBuf,
        /// 1-based number of the statement, as SQLite splits the file.
        statement: usize,
        /// The statement's first line.
        first_line: String,
        /// What was refused (`COMMIT`, `PRAGMA foreign_keys`, ...).
        what: String,
    },

    /// A view no longer compiles after a migration (the runtime would refuse to apply it).
    #[cfg(feature = "build")]
    #[error(
        "after migration {tag}, view {view} no longer compiles\n  fix: the view (from a \
         hand-written migration) uses a table or column that is gone; recreate it in a \
         hand-written migration that matches the new schema, or keep what it uses"
    )]
    BrokenView {
        /// The migration after which the view fails.
        tag: String,
        /// The view.
        view: String,
        /// SQLite's error when preparing `SELECT * FROM view`.
        #[source]
        source: Box<rusqlite::Error>,
    },

    /// The planner refused the schema change (each finding names the table, column and the
    /// attribute that resolves it).
    #[cfg(feature = "planner")]
    #[error(
        "the schema change in {} cannot be turned into a safe migration; nothing was written:\n{}",
        schema.display(),
        findings_list(findings)
    )]
    Plan {
        /// The schema file (as configured, relative to the crate).
        schema: PathBuf,
        /// Every finding of the plan, errors first.
        findings: Vec<crate::plan::Finding>,
    },

    /// The generated SQL does not run on the replayed database, or does not yield the new schema
    /// (a bug in schema-core; nothing was written).
    #[cfg(feature = "build")]
    #[error(
        "the generated migration {tag} does not {}; nothing was written (this is a bug in \
         schema-core, please report it with your schema):{}\n  generated sql:\n{}",
        if differences.is_empty() { "run" } else { "yield the new schema" },
        if differences.is_empty() { String::new() } else { format!("\n{}", bullets(differences)) },
        indent(sql)
    )]
    ProofFailed {
        /// The tag the migration would have had.
        tag: String,
        /// The generated SQL.
        sql: String,
        /// The engine's error when the migration did not run.
        #[source]
        source: Option<Box<migrate_engine::Error>>,
        /// How the result differs from the new schema.
        differences: Vec<String>,
    },

    /// The generated migration is right, but the replayed database holds rows (inserted by
    /// hand-written migrations) that it would leave with dangling foreign keys: the runtime
    /// would refuse it on databases holding such rows.
    #[cfg(feature = "build")]
    #[error(
        "the generated migration {tag} leaves rows of the replayed database with foreign keys \
         that point nowhere (rows your hand-written migrations inserted); nothing was written\n  \
         fix: delete or correct those rows in a hand-written migration first (it is adopted \
         before the schema change), or change the foreign key"
    )]
    ProofViolations {
        /// The tag the migration would have had.
        tag: String,
        /// The engine's error, listing each violation with its column and value.
        #[source]
        source: Box<migrate_engine::Error>,
    },

    /// The generated migration runs on the replayed database, but on representative rows of
    /// the old tables (see [`crate::plan::sample_rows`]) a statement fails with SQLite's own
    /// error and no guard's message: every user's database holding such rows would fail it
    /// without saying what to fix. SQLite's error is the source.
    #[cfg(feature = "build")]
    #[error(
        "the generated migration {tag} fails at statement {statement} on {rows} of the old tables, \
         which users' databases can hold (the replayed database has none); nothing was written\n  \
         fix: {fix}"
    )]
    SampleProofFailed {
        /// The tag the migration would have had.
        tag: String,
        /// 1-based number of the failing statement in the migration.
        statement: usize,
        /// Which representative rows: `rows of each column's own type` or `rows holding other
        /// storage classes`.
        rows: &'static str,
        /// What to change: the attributes whose expressions the failing statement computes.
        fix: String,
        /// SQLite's error.
        #[source]
        source: Box<rusqlite::Error>,
    },

    /// A generated statement holds a line that is exactly the statement breakpoint (inside a
    /// string default, a check or a `where` text): the file format would split it there.
    #[cfg(feature = "build")]
    #[error(
        "the generated migration {tag}: statement {statement} holds a line that is exactly \
         `{}`, which the migration file format reads as a statement separator; nothing was \
         written\n  fix: change that text in your schema (a `default`, `default_sql`, `check` \
         or `where` value) so that no line of it is exactly the breakpoint",
        migrate_engine::BREAKPOINT
    )]
    UnsplittableStatement {
        /// The tag the migration would have had.
        tag: String,
        /// 1-based number of the statement.
        statement: usize,
    },

    /// Check mode (CI, `SCHEMA_MIGRATIONS=check`, registry or package builds) and the schema has
    /// changed since the latest snapshot, or a hand-written migration waits to be adopted.
    #[error(
        "{what}, but {reason}\n  fix: run `{command}` locally and commit the files it writes in {}{}",
        folder.display(),
        if pending_sql.is_empty() {
            String::new()
        } else {
            format!("\n  the pending migration would be:\n{}", indent(pending_sql))
        }
    )]
    PendingChange {
        /// What would have been written.
        what: String,
        /// Why nothing may be written.
        reason: &'static str,
        /// The command to run locally.
        command: String,
        /// The migrations folder.
        folder: PathBuf,
        /// The SQL the pending migration would hold (empty when only an adoption is pending).
        pending_sql: String,
    },

    /// An SQLite error outside replaying a particular migration.
    #[cfg(feature = "build")]
    #[error("sqlite error in the build-time replay database")]
    Sqlite(#[from] rusqlite::Error),
}

impl Error {
    /// The message followed by every underlying cause, one `caused by:` line each: what the build
    /// script prints (the [`std::fmt::Display`] message never repeats its source).
    ///
    /// ```
    /// use schema_core::error::Error;
    /// let e = Error::Io {
    ///     action: "read",
    ///     path: "migrations/meta/_journal.json".into(),
    ///     source: std::io::Error::other("disk on fire"),
    /// };
    /// assert_eq!(e.to_string(), "cannot read migrations/meta/_journal.json");
    /// assert_eq!(e.report(), "cannot read migrations/meta/_journal.json\n  caused by: disk on fire");
    /// ```
    #[must_use]
    pub fn report(&self) -> String {
        let mut out = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            out.push_str("\n  caused by: ");
            out.push_str(&c.to_string().replace('\n', "\n    "));
            cause = c.source();
        }
        out
    }
}

/// Renders each combined `syn` error as `path:line:column: message`, with the source line and a
/// caret under the column.
#[cfg(feature = "build")]
fn render_syn(path: &std::path::Path, source_text: &str, error: &syn::Error) -> String {
    let mut out = format!("errors in schema file {}:", path.display());
    let lines: Vec<&str> = source_text.lines().collect();
    for e in error.clone() {
        let start = e.span().start();
        let _ =
            write!(out, "\n{}:{}:{}: error: {}", path.display(), start.line, start.column + 1, e);
        if let Some(line) = start.line.checked_sub(1).and_then(|i| lines.get(i)) {
            let _ = write!(
                out,
                "\n    |\n{:>3} | {line}\n    | {}^",
                start.line,
                " ".repeat(start.column)
            );
        }
    }
    out
}

/// `  - item` lines.
#[cfg(feature = "build")]
fn bullets(items: &[String]) -> String {
    items.iter().map(|d| format!("  - {d}")).collect::<Vec<_>>().join("\n")
}

/// `  - tag: folder/tag.sql was <recorded>, is now <actual>` lines.
#[cfg(feature = "build")]
fn edited_list(folder: &std::path::Path, edits: &[crate::build::folder::EditedFile]) -> String {
    use migrate_engine::short as short_hash;
    let lines: Vec<String> = edits
        .iter()
        .map(|e| {
            let path = folder.join(format!("{}.sql", e.tag));
            format!(
                "  - {}: {} was {} when recorded, is now {}",
                e.tag,
                path.display().to_string().replace('\\', "/"),
                short_hash(&e.recorded),
                short_hash(&e.actual)
            )
        })
        .collect();
    lines.join("\n")
}

/// Indents every line by four spaces.
fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
}

#[cfg(feature = "planner")]
fn findings_list(findings: &[crate::plan::Finding]) -> String {
    use crate::plan::Severity;
    let mut sorted: Vec<&crate::plan::Finding> = findings.iter().collect();
    sorted.sort_by_key(|f| !matches!(f.severity, Severity::Error));
    let mut out = String::new();
    for f in sorted {
        let level = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "note",
        };
        if !out.is_empty() {
            out.push('\n');
        }
        let _ = write!(out, "  {level}[{}]: {}", f.code, f.message.replace('\n', "\n    "));
    }
    out
}
