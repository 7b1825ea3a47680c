//! The on-disk formats of a migrations folder: the journal, the snapshots, migration tags and
//! the hashes the runtime checks. Pure: no I/O.

use std::collections::BTreeMap;

use migrate_engine::{BREAKPOINT, chunks, sha256_hex};
use serde::{Deserialize, Serialize};

use crate::model::{Schema, Table, canonical_json};

/// The format version of `meta/_journal.json` this crate writes: version 2, each entry records
/// its file's hash.
pub const JOURNAL_VERSION: u32 = 2;

/// The journal version before hashes: still read, and upgraded to [`JOURNAL_VERSION`] by a
/// write-mode build.
pub const LEGACY_JOURNAL_VERSION: u32 = 1;

/// The format version of `meta/NNNN_snapshot.json`.
pub const SNAPSHOT_VERSION: u32 = 1;

/// The only dialect a journal may name.
pub const DIALECT: &str = "sqlite";

/// The longest name part of a tag (after `NNNN_`).
pub const MAX_NAME_LEN: usize = 60;

/// `meta/_journal.json`: the ordered list of migrations, each with its file's hash.
///
/// ```
/// use schema_core::build::format::{Journal, JournalEntry};
/// let mut journal = Journal::default();
/// let hash = migrate_engine::hash_sql("CREATE TABLE \"users\" (\"id\" INTEGER PRIMARY KEY);\n");
/// journal.entries.push(JournalEntry {
///     idx: 0,
///     tag: "0000_create_users".into(),
///     custom: false,
///     hash: Some(hash.clone()),
/// });
/// assert_eq!(
///     journal.to_json(),
///     format!(
///         "{{\n  \"dialect\": \"sqlite\",\n  \"entries\": [\n    {{\n      \"custom\": false,\n      \
///          \"hash\": \"{hash}\",\n      \"idx\": 0,\n      \"tag\": \"0000_create_users\"\n    }}\n  ],\n  \
///          \"version\": 2\n}}\n"
///     )
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    /// Format version: [`JOURNAL_VERSION`], or [`LEGACY_JOURNAL_VERSION`] as read from an old
    /// folder.
    pub version: u32,
    /// Always [`DIALECT`].
    pub dialect: String,
    /// One entry per migration, in index order.
    pub entries: Vec<JournalEntry>,
}

impl Default for Journal {
    fn default() -> Self {
        Self { version: JOURNAL_VERSION, dialect: DIALECT.to_owned(), entries: Vec::new() }
    }
}

impl Journal {
    /// The canonical JSON of the journal (sorted keys, two spaces, trailing newline).
    #[must_use]
    pub fn to_json(&self) -> String {
        canonical_json(self)
    }
}

/// One journal entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// The migration's index, starting at 0.
    pub idx: u32,
    /// The file stem, `NNNN_name`.
    pub tag: String,
    /// `true` for a hand-written migration the build adopted.
    #[serde(default)]
    pub custom: bool,
    /// [`migrate_engine::hash_sql`] of the file when it was generated or adopted (or re-stamped with
    /// `MIGRATION_ALLOW_EDIT`); always set in a version-2 journal, absent in version 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
}

/// `meta/NNNN_snapshot.json`: the schema after a migration, chained to the previous snapshot.
///
/// ```
/// use schema_core::build::format::Snapshot;
/// use schema_core::model::Schema;
/// let first = Snapshot::new(None, &Schema::default());
/// let second = Snapshot::new(Some(&first.id), &Schema::default());
/// assert_eq!(second.prev_id.as_deref(), Some(first.id.as_str()));
/// assert_ne!(first.id, second.id); // the id covers prev_id
/// assert!(first.id_is_valid());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Format version ([`SNAPSHOT_VERSION`]).
    pub version: u32,
    /// Lowercase hex SHA-256 of the canonical JSON of everything else (version, prev_id, tables).
    pub id: String,
    /// The previous snapshot's id; `None` (JSON `null`) for the first.
    pub prev_id: Option<String>,
    /// The schema's tables, by SQL name.
    pub tables: BTreeMap<String, Table>,
}

/// The chain fields of a snapshot file, read without parsing its tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotHeader {
    /// [`Snapshot::id`].
    pub id: String,
    /// [`Snapshot::prev_id`].
    pub prev_id: Option<String>,
}

impl SnapshotHeader {
    /// Reads `id` and `prev_id` from the canonical text of a version-1 snapshot (as this crate
    /// writes it) by looking at its first lines only; `None` when the text is not in that exact
    /// form (then parse it fully with `serde_json`).
    ///
    /// ```
    /// use schema_core::build::format::{Snapshot, SnapshotHeader};
    /// use schema_core::model::Schema;
    /// let first = Snapshot::new(None, &Schema::default());
    /// let second = Snapshot::new(Some(&first.id), &Schema::default());
    /// let header = SnapshotHeader::from_canonical(&second.to_json()).unwrap();
    /// assert_eq!((header.id, header.prev_id), (second.id, second.prev_id));
    /// assert!(SnapshotHeader::from_canonical("{\"id\": \"x\"}").is_none());
    /// ```
    #[must_use]
    pub fn from_canonical(text: &str) -> Option<Self> {
        let rest = text.strip_prefix("{\n  \"id\": \"")?;
        let (id, rest) = rest.split_once("\",\n  \"prev_id\": ")?;
        let (prev, _) = rest.split_once(",\n")?;
        let is_hex = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
        let prev_id = match prev {
            "null" => None,
            quoted => Some(quoted.strip_prefix('"')?.strip_suffix('"')?.to_owned()),
        };
        let version_ok = text.ends_with(&format!("\n  \"version\": {SNAPSHOT_VERSION}\n}}\n"));
        (is_hex(id) && prev_id.as_deref().is_none_or(is_hex) && version_ok)
            .then(|| Self { id: id.to_owned(), prev_id })
    }
}

/// What a snapshot id is computed over.
#[derive(Serialize)]
struct SnapshotContent<'a> {
    version: u32,
    prev_id: Option<&'a str>,
    tables: &'a BTreeMap<String, Table>,
}

impl Snapshot {
    /// A snapshot of `schema` following the snapshot `prev_id`, with its id computed.
    #[must_use]
    pub fn new(prev_id: Option<&str>, schema: &Schema) -> Self {
        let mut snapshot = Self {
            version: SNAPSHOT_VERSION,
            id: String::new(),
            prev_id: prev_id.map(str::to_owned),
            tables: schema.tables.clone(),
        };
        snapshot.id = snapshot.computed_id();
        snapshot
    }

    /// The id this snapshot's content hashes to.
    #[must_use]
    pub fn computed_id(&self) -> String {
        let content = SnapshotContent {
            version: self.version,
            prev_id: self.prev_id.as_deref(),
            tables: &self.tables,
        };
        sha256_hex(canonical_json(&content).as_bytes())
    }

    /// Whether [`Snapshot::id`] matches the content (the file was not edited by hand).
    #[must_use]
    pub fn id_is_valid(&self) -> bool {
        self.id == self.computed_id()
    }

    /// The schema this snapshot records.
    #[must_use]
    pub fn schema(&self) -> Schema {
        Schema { tables: self.tables.clone() }
    }

    /// The canonical JSON of the snapshot (sorted keys, two spaces, trailing newline).
    #[must_use]
    pub fn to_json(&self) -> String {
        canonical_json(self)
    }
}

/// Whether `text` has the form of a recorded hash: 64 lowercase hex digits.
///
/// ```
/// use schema_core::build::format::is_hash;
/// assert!(is_hash(&migrate_engine::hash_sql("SELECT 1;")));
/// assert!(!is_hash("E3B0") && !is_hash(&"A".repeat(64)));
/// ```
#[must_use]
pub fn is_hash(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The text of a generated migration file: header comment lines, then the statements joined by
/// [`BREAKPOINT`] lines (each ending in `;`), then a trailing newline. Its
/// [`migrate_engine::chunks`] are the statements (see [`unsplittable_statement`] for
/// the one case where they cannot be).
///
/// ```
/// use schema_core::build::format::migration_text;
/// let text = migration_text(
///     &["-- godwit: allow-drop users".to_owned()],
///     &["DROP TABLE \"users\"".to_owned(), "SELECT 1;".to_owned()],
/// );
/// assert_eq!(
///     text,
///     "-- godwit: allow-drop users\nDROP TABLE \"users\";\n--> statement-breakpoint\nSELECT 1;\n"
/// );
/// let chunks: Vec<&str> = migrate_engine::chunks(&text).map(str::trim).collect();
/// assert_eq!(chunks, ["-- godwit: allow-drop users\nDROP TABLE \"users\";", "SELECT 1;"]);
/// ```
#[must_use]
pub fn migration_text(header: &[String], statements: &[String]) -> String {
    let mut out = String::new();
    for line in header {
        let line = line.trim_end();
        if line.starts_with("--") {
            out.push_str(line);
        } else {
            out.push_str("-- ");
            out.push_str(line);
        }
        out.push('\n');
    }
    let statements: Vec<String> = statements
        .iter()
        .map(|s| {
            let s = s.trim();
            if s.ends_with(';') { s.to_owned() } else { format!("{s};") }
        })
        .collect();
    out.push_str(&statements.join(&format!("\n{BREAKPOINT}\n")));
    out.push('\n');
    out
}

/// The 1-based number of the first statement holding a line that is exactly [`BREAKPOINT`]
/// (say inside a string default or a check's text): the file format would read that line as
/// a separator, so [`migration_text`] cannot hold the statement.
///
/// ```
/// use schema_core::build::format::unsplittable_statement;
/// let ok = ["CREATE TABLE t(x)".to_owned()];
/// assert_eq!(unsplittable_statement(&ok), None);
/// let bad = ["SELECT 1".to_owned(), "SELECT '\n--> statement-breakpoint\n'".to_owned()];
/// assert_eq!(unsplittable_statement(&bad), Some(2));
/// ```
#[must_use]
pub fn unsplittable_statement(statements: &[String]) -> Option<usize> {
    statements.iter().position(|s| chunks(s).nth(1).is_some()).map(|i| i + 1)
}

/// Sanitises a migration name to `[a-z0-9_]`: letters lowercased, every other character becomes
/// `_`, runs of `_` collapse, leading and trailing `_` are removed, at most 60 characters.
///
/// ```
/// use schema_core::build::format::sanitize_name;
/// assert_eq!(sanitize_name("Add users' bio!"), "add_users_bio");
/// assert_eq!(sanitize_name("__x--y__"), "x_y");
/// assert_eq!(sanitize_name(&"a".repeat(80)).len(), 60);
/// ```
#[must_use]
pub fn sanitize_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    out.truncate(MAX_NAME_LEN);
    while out.ends_with('_') {
        out.pop();
    }
    out
}

/// The index as written in file names: four digits, more past 9999.
///
/// ```
/// use schema_core::build::format::format_idx;
/// assert_eq!(format_idx(3), "0003");
/// assert_eq!(format_idx(12345), "12345");
/// ```
#[must_use]
pub fn format_idx(idx: u32) -> String {
    format!("{idx:04}")
}

/// The tag of a migration: `NNNN_name`.
///
/// ```
/// use schema_core::build::format::tag;
/// assert_eq!(tag(1, "add_users_bio"), "0001_add_users_bio");
/// ```
#[must_use]
pub fn tag(idx: u32, name: &str) -> String {
    format!("{}_{name}", format_idx(idx))
}

/// The file name of the snapshot written after migration `idx`: `NNNN_snapshot.json`.
///
/// ```
/// use schema_core::build::format::snapshot_file_name;
/// assert_eq!(snapshot_file_name(7), "0007_snapshot.json");
/// ```
#[must_use]
pub fn snapshot_file_name(idx: u32) -> String {
    format!("{}_snapshot.json", format_idx(idx))
}

/// Parses the index of a name that starts with `NNNN_` and ends with `suffix`. Returns the index
/// and whether the digits are written canonically (four digits, more only past 9999).
///
/// ```
/// use schema_core::build::format::parse_indexed;
/// assert_eq!(parse_indexed("0003_add_bio.sql", ".sql"), Some((3, true)));
/// assert_eq!(parse_indexed("003_add_bio.sql", ".sql"), Some((3, false)));
/// assert_eq!(parse_indexed("add_bio.sql", ".sql"), None);
/// ```
#[must_use]
pub fn parse_indexed(file_name: &str, suffix: &str) -> Option<(u32, bool)> {
    let stem = file_name.strip_suffix(suffix)?;
    let (digits, rest) = stem.split_once('_')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || rest.is_empty() {
        return None;
    }
    let idx: u32 = digits.parse().ok()?;
    Some((idx, digits == format_idx(idx)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Column, SqlType};

    fn users() -> Schema {
        let mut schema = Schema::default();
        let mut t = Table::new("users");
        t.columns.push(Column::new("id", SqlType::Integer));
        t.primary_key = vec!["id".into()];
        schema.insert(t);
        schema
    }

    #[test]
    fn snapshot_json_is_canonical_and_round_trips() {
        let snap = Snapshot::new(None, &users());
        let json = snap.to_json();
        assert!(json.starts_with("{\n  \"id\": \""), "{json}");
        assert!(json.contains("\"prev_id\": null"));
        assert!(json.ends_with("\"version\": 1\n}\n"));
        let back: Snapshot = serde_json::from_str(&json).unwrap();
        assert_eq!(back, snap);
        assert!(back.id_is_valid());
        assert_eq!(back.to_json(), json);
    }

    #[test]
    fn snapshot_id_covers_tables_and_prev_id() {
        let a = Snapshot::new(None, &users());
        let b = Snapshot::new(None, &Schema::default());
        let c = Snapshot::new(Some("x"), &users());
        assert_ne!(a.id, b.id);
        assert_ne!(a.id, c.id);
        let mut edited = a.clone();
        edited.tables.clear();
        assert!(!edited.id_is_valid());
    }

    #[test]
    fn intent_fields_do_not_reach_snapshots() {
        let mut schema = users();
        let t = schema.tables.get_mut("users").unwrap();
        t.renamed_from = Some("people".into());
        t.columns[0].backfill = Some("1".into());
        assert_eq!(Snapshot::new(None, &schema).id, Snapshot::new(None, &users()).id);
    }

    #[test]
    fn migration_text_chunks_are_the_statements() {
        let stmts = vec![
            "CREATE TABLE \"a\" (\n  \"x\" INTEGER\n)".to_owned(),
            "CREATE INDEX i ON a(x);".into(),
            // A breakpoint-like line that is not exactly the breakpoint stays in its statement.
            "INSERT INTO a VALUES ('\n  --> statement-breakpoint\n')".into(),
        ];
        assert_eq!(unsplittable_statement(&stmts), None);
        let text = migration_text(&[], &stmts);
        let chunks: Vec<&str> = chunks(&text).map(str::trim).collect();
        assert_eq!(
            chunks,
            [
                "CREATE TABLE \"a\" (\n  \"x\" INTEGER\n);",
                "CREATE INDEX i ON a(x);",
                "INSERT INTO a VALUES ('\n  --> statement-breakpoint\n');"
            ]
        );
    }

    #[test]
    fn names_are_sanitised() {
        assert_eq!(sanitize_name("Create Users"), "create_users");
        assert_eq!(sanitize_name("été"), "t");
        assert_eq!(sanitize_name("!!!"), "");
        let long = sanitize_name(&format!("{}_b", "a".repeat(59)));
        assert_eq!(long, "a".repeat(59));
    }
}
