//! The schema model: plain data that the parser produces, the planner diffs and the snapshots
//! store.
//!
//! Names in the model are always SQL names (the table and column names as they are in the
//! database), never Rust identifiers. The model holds *structure* only, with exceptions that
//! are *intent* and never serialised: [`Table::renamed_from`], [`Column::renamed_from`],
//! [`Column::backfill`] and [`Column::convert`]. They steer one diff and are meaningless in a snapshot, so the canonical
//! JSON leaves them out (a stale `renamed_from` left in the source changes nothing).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A whole database schema: its tables, keyed by SQL table name.
///
/// ```
/// use schema_core::model::{Column, Schema, SqlType, Table};
///
/// let mut schema = Schema::default();
/// let mut users = Table::new("users");
/// users.columns.push(Column::new("id", SqlType::Integer));
/// users.primary_key = vec!["id".into()];
/// schema.insert(users);
/// assert!(schema.table("users").is_some());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    /// Tables by SQL name; a `BTreeMap` so iteration and JSON are in a stable order.
    pub tables: BTreeMap<String, Table>,
}

impl Schema {
    /// Adds (or replaces) a table under its own name.
    ///
    /// ```
    /// # use schema_core::model::{Schema, Table};
    /// let mut s = Schema::default();
    /// s.insert(Table::new("t"));
    /// assert_eq!(s.tables.len(), 1);
    /// ```
    pub fn insert(&mut self, table: Table) {
        self.tables.insert(table.name.clone(), table);
    }

    /// The table with this exact SQL name.
    ///
    /// ```
    /// # use schema_core::model::{Schema, Table};
    /// let mut s = Schema::default();
    /// s.insert(Table::new("t"));
    /// assert!(s.table("t").is_some() && s.table("T").is_none());
    /// ```
    #[must_use]
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.get(name)
    }

    /// The canonical JSON of the schema: sorted keys, two-space indentation, trailing newline.
    /// Identical input always gives identical bytes.
    ///
    /// ```
    /// # use schema_core::model::Schema;
    /// assert_eq!(Schema::default().to_canonical_json(), "{\n  \"tables\": {}\n}\n");
    /// ```
    #[must_use]
    pub fn to_canonical_json(&self) -> String {
        canonical_json(self)
    }
}

/// A table: columns in declaration order plus its table-level constraints.
///
/// ```
/// use schema_core::model::Table;
/// let t = Table::new("users");
/// assert_eq!(t.name, "users");
/// assert!(t.columns.is_empty() && !t.strict);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// SQL name of the table.
    pub name: String,
    /// Intent, not structure: the SQL name this table had before (`#[table(renamed_from)]`).
    #[serde(skip)]
    pub renamed_from: Option<String>,
    /// Columns in declaration order.
    pub columns: Vec<Column>,
    /// Primary-key column names in key order; empty when the table has none (plain rowid).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub primary_key: Vec<String>,
    /// `AUTOINCREMENT` on the single `INTEGER PRIMARY KEY` column.
    #[serde(default, skip_serializing_if = "is_false")]
    pub autoincrement: bool,
    /// Indexes (from `#[index]` and `#[column(index)]`), in declaration order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<Index>,
    /// Foreign keys, single-column and composite, in declaration order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign_keys: Vec<ForeignKey>,
    /// Table-level CHECK constraints (`#[check]`), in declaration order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
    /// `STRICT` table option.
    #[serde(default, skip_serializing_if = "is_false")]
    pub strict: bool,
    /// `WITHOUT ROWID` table option.
    #[serde(default, skip_serializing_if = "is_false")]
    pub without_rowid: bool,
}

impl Table {
    /// An empty table with this SQL name.
    ///
    /// ```
    /// # use schema_core::model::Table;
    /// assert_eq!(Table::new("t").name, "t");
    /// ```
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into(), ..Self::default() }
    }

    /// The column with this exact SQL name.
    ///
    /// ```
    /// # use schema_core::model::{Column, SqlType, Table};
    /// let mut t = Table::new("t");
    /// t.columns.push(Column::new("a", SqlType::Text));
    /// assert_eq!(t.column("a").unwrap().ty, SqlType::Text);
    /// ```
    #[must_use]
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The canonical JSON of this table alone (the derive's fingerprint format).
    ///
    /// ```
    /// # use schema_core::model::Table;
    /// assert!(Table::new("t").to_canonical_json().contains("\"name\": \"t\""));
    /// ```
    #[must_use]
    pub fn to_canonical_json(&self) -> String {
        canonical_json(self)
    }
}

/// A column.
///
/// ```
/// use schema_core::model::{Column, SqlType};
/// let c = Column::new("email", SqlType::Text);
/// assert!(!c.nullable && c.default.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// SQL name of the column.
    pub name: String,
    /// Canonical SQL type.
    #[serde(rename = "type")]
    pub ty: SqlType,
    /// `true` for `Option<T>` fields; `false` renders `NOT NULL`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub nullable: bool,
    /// The column's `DEFAULT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<DefaultValue>,
    /// Column-level `UNIQUE`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unique: bool,
    /// Column-level `CHECK (expr)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    /// Intent, not structure: SQL expression filling existing rows when this column becomes
    /// NOT NULL on a table that may hold rows. Never becomes the column's default.
    #[serde(skip)]
    pub backfill: Option<String>,
    /// Intent, not structure: the SQL name this column had before.
    #[serde(skip)]
    pub renamed_from: Option<String>,
    /// Intent, not structure: SQL expression over the old row computing this column's new
    /// value in the migration that changes its type (`datetime("created_at", 'unixepoch')`).
    /// Its result must still convert exactly to the new type. Never reaches a snapshot.
    #[serde(skip)]
    pub convert: Option<String>,
}

impl Column {
    /// A NOT NULL column with no default and no constraints.
    ///
    /// ```
    /// # use schema_core::model::{Column, SqlType};
    /// assert_eq!(Column::new("a", SqlType::Blob).name, "a");
    /// ```
    #[must_use]
    pub fn new(name: impl Into<String>, ty: SqlType) -> Self {
        Self {
            name: name.into(),
            ty,
            nullable: false,
            default: None,
            unique: false,
            check: None,
            backfill: None,
            renamed_from: None,
            convert: None,
        }
    }
}

/// The canonical SQL types Godwit emits. No other type name ever reaches SQL.
///
/// ```
/// use schema_core::model::SqlType;
/// assert_eq!(SqlType::Integer.as_sql(), "INTEGER");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum SqlType {
    /// `INTEGER` (integer affinity).
    Integer,
    /// `REAL` (real affinity).
    Real,
    /// `TEXT` (text affinity).
    Text,
    /// `BLOB` (no affinity).
    Blob,
    /// `NUMERIC` (numeric affinity).
    Numeric,
    /// `ANY` (STRICT tables only).
    Any,
}

impl SqlType {
    /// The type name as written in SQL.
    ///
    /// ```
    /// # use schema_core::model::SqlType;
    /// assert_eq!(SqlType::Any.as_sql(), "ANY");
    /// ```
    #[must_use]
    pub fn as_sql(self) -> &'static str {
        match self {
            Self::Integer => "INTEGER",
            Self::Real => "REAL",
            Self::Text => "TEXT",
            Self::Blob => "BLOB",
            Self::Numeric => "NUMERIC",
            Self::Any => "ANY",
        }
    }

    /// Parses a canonical type name, ASCII case-insensitively.
    ///
    /// ```
    /// # use schema_core::model::SqlType;
    /// assert_eq!(SqlType::from_sql("text"), Some(SqlType::Text));
    /// assert_eq!(SqlType::from_sql("VARCHAR"), None);
    /// ```
    #[must_use]
    pub fn from_sql(name: &str) -> Option<Self> {
        [Self::Integer, Self::Real, Self::Text, Self::Blob, Self::Numeric, Self::Any]
            .into_iter()
            .find(|t| t.as_sql().eq_ignore_ascii_case(name))
    }
}

/// A column default.
///
/// ```
/// use schema_core::model::DefaultValue;
/// let d = DefaultValue::Literal("'free'".into());
/// assert_eq!(d.as_sql(), "'free'");
/// assert!(d.is_constant());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DefaultValue {
    /// A constant literal, already rendered as SQL (`'free'` with quotes doubled, `1`, `-1.5`,
    /// `NULL`, `X'00'`). From `#[column(default = ..)]`.
    Literal(String),
    /// An SQL expression from `#[column(default_sql = "..")]`, rendered as `DEFAULT (expr)`
    /// unless it is a bare `CURRENT_TIME`/`CURRENT_DATE`/`CURRENT_TIMESTAMP` keyword.
    Sql(String),
}

impl DefaultValue {
    /// The SQL text of the default (a literal as is, an expression without parentheses).
    ///
    /// ```
    /// # use schema_core::model::DefaultValue;
    /// assert_eq!(DefaultValue::Sql("CURRENT_TIMESTAMP".into()).as_sql(), "CURRENT_TIMESTAMP");
    /// ```
    #[must_use]
    pub fn as_sql(&self) -> &str {
        match self {
            Self::Literal(s) | Self::Sql(s) => s,
        }
    }

    /// Whether `ALTER TABLE ADD COLUMN` accepts it (a literal; never an expression).
    ///
    /// ```
    /// # use schema_core::model::DefaultValue;
    /// assert!(!DefaultValue::Sql("(1+1)".into()).is_constant());
    /// ```
    #[must_use]
    pub fn is_constant(&self) -> bool {
        matches!(self, Self::Literal(_))
    }
}

/// An index (`CREATE [UNIQUE] INDEX name ON table(columns) [WHERE ..]`).
///
/// ```
/// use schema_core::model::Index;
/// let i = Index { name: "users_email_idx".into(), columns: vec!["email".into()], unique: true, where_clause: None };
/// assert!(i.unique);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// SQL name of the index (given, or derived from the table and columns).
    pub name: String,
    /// Indexed column SQL names, in order.
    pub columns: Vec<String>,
    /// `UNIQUE` index.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unique: bool,
    /// Partial-index predicate (SQL), without the `WHERE` keyword.
    #[serde(default, rename = "where", skip_serializing_if = "Option::is_none")]
    pub where_clause: Option<String>,
}

/// A foreign key, single-column or composite.
///
/// ```
/// use schema_core::model::{FkAction, ForeignKey};
/// let fk = ForeignKey {
///     columns: vec!["team_id".into()],
///     ref_table: "teams".into(),
///     ref_columns: vec!["id".into()],
///     on_delete: Some(FkAction::Cascade),
///     on_update: None,
/// };
/// assert_eq!(fk.on_delete.unwrap().as_sql(), "CASCADE");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKey {
    /// Child column SQL names.
    pub columns: Vec<String>,
    /// Parent table SQL name (after resolution; the derive's fingerprint keeps the Rust type
    /// name the user wrote, see the parser).
    pub ref_table: String,
    /// Parent column SQL names (the parent's primary key unless `to(..)` was given).
    pub ref_columns: Vec<String>,
    /// `ON DELETE` action; `None` renders no clause (SQLite's NO ACTION).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_delete: Option<FkAction>,
    /// `ON UPDATE` action; `None` renders no clause.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_update: Option<FkAction>,
}

/// A foreign-key action.
///
/// ```
/// use schema_core::model::FkAction;
/// assert_eq!(FkAction::from_attr("set null"), Some(FkAction::SetNull));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FkAction {
    /// `CASCADE`
    #[serde(rename = "cascade")]
    Cascade,
    /// `SET NULL`
    #[serde(rename = "set null")]
    SetNull,
    /// `SET DEFAULT`
    #[serde(rename = "set default")]
    SetDefault,
    /// `RESTRICT`
    #[serde(rename = "restrict")]
    Restrict,
    /// `NO ACTION`
    #[serde(rename = "no action")]
    NoAction,
}

impl FkAction {
    /// All actions, in the order the attribute documentation lists them.
    pub const ALL: [Self; 5] =
        [Self::Cascade, Self::SetNull, Self::SetDefault, Self::Restrict, Self::NoAction];

    /// The SQL spelling (`SET NULL`).
    ///
    /// ```
    /// # use schema_core::model::FkAction;
    /// assert_eq!(FkAction::NoAction.as_sql(), "NO ACTION");
    /// ```
    #[must_use]
    pub fn as_sql(self) -> &'static str {
        match self {
            Self::Cascade => "CASCADE",
            Self::SetNull => "SET NULL",
            Self::SetDefault => "SET DEFAULT",
            Self::Restrict => "RESTRICT",
            Self::NoAction => "NO ACTION",
        }
    }

    /// The attribute spelling (`"set null"`).
    ///
    /// ```
    /// # use schema_core::model::FkAction;
    /// assert_eq!(FkAction::SetDefault.as_attr(), "set default");
    /// ```
    #[must_use]
    pub fn as_attr(self) -> &'static str {
        match self {
            Self::Cascade => "cascade",
            Self::SetNull => "set null",
            Self::SetDefault => "set default",
            Self::Restrict => "restrict",
            Self::NoAction => "no action",
        }
    }

    /// Parses the attribute spelling, exactly (`"cascade"`, `"set null"`, ...).
    ///
    /// ```
    /// # use schema_core::model::FkAction;
    /// assert_eq!(FkAction::from_attr("CASCADE"), None);
    /// ```
    #[must_use]
    pub fn from_attr(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_attr() == s)
    }
}

/// A table-level CHECK constraint.
///
/// ```
/// use schema_core::model::Check;
/// let c = Check { name: Some("positive".into()), expr: "karma >= 0".into() };
/// assert_eq!(c.expr, "karma >= 0");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// Constraint name (`CONSTRAINT "name" CHECK (..)`), if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The SQL expression, without the surrounding parentheses.
    pub expr: String,
}

/// Serialises any model value as canonical JSON: object keys sorted by this function itself
/// (byte order), two-space indentation, `": "` after each key, a trailing newline; strings and
/// numbers escaped and printed by `serde_json`.
///
/// The output does not depend on `serde_json`'s features: a crate in the build graph that
/// enables `serde_json/preserve_order` (which keeps maps in insertion order) changes nothing, so
/// snapshot ids and fingerprints stay the same in every host crate.
///
/// ```
/// # use schema_core::model::{canonical_json, Check};
/// let json = canonical_json(&Check { name: None, expr: "a > 0".into() });
/// assert_eq!(json, "{\n  \"expr\": \"a > 0\"\n}\n");
/// let nested = serde_json::json!({ "b": [1, {}], "a": { "y": [], "x": null } });
/// assert_eq!(
///     canonical_json(&nested),
///     "{\n  \"a\": {\n    \"x\": null,\n    \"y\": []\n  },\n  \"b\": [\n    1,\n    {}\n  ]\n}\n"
/// );
/// ```
#[must_use]
pub fn canonical_json<T: Serialize>(value: &T) -> String {
    // Infallible for the model's types: string keys, no non-finite floats.
    let value = serde_json::to_value(value).expect("model values serialise to JSON");
    let mut out = String::new();
    write_canonical(&value, 0, &mut out);
    out.push('\n');
    out
}

/// Appends `value` as pretty JSON at nesting depth `depth`, object keys sorted.
fn write_canonical(value: &serde_json::Value, depth: usize, out: &mut String) {
    use serde_json::Value;
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    };
    match value {
        Value::Object(map) if !map.is_empty() => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                out.push_str(&json_scalar(key));
                out.push_str(": ");
                write_canonical(item, depth + 1, out);
            }
            newline(out, depth);
            out.push('}');
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                write_canonical(item, depth + 1, out);
            }
            newline(out, depth);
            out.push(']');
        }
        Value::Object(_) => out.push_str("{}"),
        Value::Array(_) => out.push_str("[]"),
        scalar => out.push_str(&json_scalar(scalar)),
    }
}

/// `serde_json`'s compact text of a string, number, bool or null.
fn json_scalar<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).expect("JSON scalars serialise")
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_false(b: &bool) -> bool {
    !*b
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The printer gives exactly serde_json's pretty output of a sorted map (the format every
    /// committed snapshot already has), for nested objects, arrays, empties and escapes.
    #[test]
    fn canonical_json_equals_serde_json_pretty_of_sorted_maps() {
        let value = serde_json::json!({
            "zeta": [1, -2, 3.5, true, null, "a\"b\\c\n\u{1}é", [], {}],
            "alpha": { "nested": { "b": [[1], [{}]], "a": "x" }, "empty": {} },
            "Mid": 18_446_744_073_709_551_615_u64,
            "": "empty key",
        });
        let sorted = |v: &serde_json::Value| -> String {
            // Without preserve_order, serde_json's map is a BTreeMap: its pretty output is the
            // reference.
            let mut s = serde_json::to_string_pretty(v).unwrap();
            s.push('\n');
            s
        };
        assert_eq!(canonical_json(&value), sorted(&value));
        let mut users = Table::new("users");
        users.columns.push(Column::new("id", SqlType::Integer));
        users.primary_key = vec!["id".into()];
        users.checks.push(Check { name: Some("c\"1".into()), expr: "id > 0".into() });
        let mut schema = Schema::default();
        schema.insert(users);
        let json = serde_json::to_value(&schema).unwrap();
        assert_eq!(schema.to_canonical_json(), sorted(&json));
    }
}
