//! The planner: diff two schemas into an ordered plan, lint it, render it as SQLite SQL. Pure:
//! no I/O, and the same input always gives byte-identical output.
//!
//! ```
//! use schema_core::model::{Column, Schema, SqlType, Table};
//! use schema_core::plan::{plan, PlanInput};
//!
//! let old = Schema::default();
//! let mut new = Schema::default();
//! let mut users = Table::new("users");
//! users.columns.push(Column::new("id", SqlType::Integer));
//! users.primary_key = vec!["id".into()];
//! new.insert(users);
//!
//! let plan = plan(&PlanInput { old: &old, new: &new, dependents: &[], allow_drop: &[] }).unwrap();
//! assert_eq!(plan.name(), "create_users");
//! assert!(plan.render()[0].starts_with("CREATE TABLE \"users\""));
//! ```
//!
//! The rules it follows are those of `correctness.md` (R9-R23, R25-R29, R33-R37): in-place
//! `ALTER TABLE` only when it is provably safe whatever the data and the foreign-key setting,
//! otherwise the hardened 12-step rebuild with explicit column lists, kept rowids and
//! AUTOINCREMENT counters, dependent views and triggers dropped and recreated, and exact type
//! conversions guarded inside the migration.
//!
//! # The SQL it emits
//!
//! Identifiers are always `"quoted"` (with `"` doubled), string literals `'quoted'`. The
//! migration never contains `PRAGMA`, `BEGIN`/`COMMIT` or `OR IGNORE`: the runner switches
//! foreign keys off outside its transaction.
//!
//! - `CREATE TABLE "t" (..) [WITHOUT ROWID][, STRICT];` one column per line, single-column
//!   primary key inline (`PRIMARY KEY [AUTOINCREMENT]`), then `PRIMARY KEY (..)`,
//!   `FOREIGN KEY (..) REFERENCES "p" (..) [ON UPDATE ..] [ON DELETE ..]`, `[CONSTRAINT "n"]
//!   CHECK (..)`; the same text for a fresh create and inside a rebuild.
//! - `CREATE [UNIQUE] INDEX "i" ON "t" (..) [WHERE ..];` and `DROP INDEX "i";`
//! - `ALTER TABLE "t" ADD COLUMN <def> [REFERENCES ..];` only when safe whatever the data
//!   (nullable or a non-NULL literal default; no UNIQUE, no CHECK, no key, no expression default; a new
//!   foreign-key column only with a NULL default).
//! - `ALTER TABLE "t" DROP COLUMN "c";` only when the column is in no key, UNIQUE, CHECK of
//!   another column or the table, foreign key (either side); its indexes are dropped first.
//!   Every column drop, in place or in a rebuild, needs `MIGRATION_ALLOW_DROP=t.c` (whether the
//!   column holds data cannot be known at build time), recorded in the file header; see
//!   [`DropTarget`] for quoting names with spaces, dots, commas or quotes.
//! - `ALTER TABLE "t" RENAME COLUMN "a" TO "b";` and `ALTER TABLE "a" RENAME TO "b";` only from
//!   `renamed_from` (a case-only table rename goes through `__rename_<name>`); table renames
//!   run after every change to kept tables, so SQLite rewrites all references at once.
//!   Renames are solved as one permutation, for columns and for tables: a declared rename
//!   applies whenever the old schema has the old name, even when it also has the new one;
//!   drops run first (freeing names), a rename onto a name another rename frees runs after it
//!   (shifts), a cycle (a swap) goes through a temporary name (`__godwit_<column>`,
//!   `__rename_<table>`). A rebuilt table renames in place first the columns other tables'
//!   foreign keys reference (SQLite rewrites the children's `REFERENCES`), then copies.
//!   SQLite refuses the ADD, DROP and RENAME COLUMN forms for a column named `rowid`, `oid` or
//!   `_rowid_` on a rowid table, so those changes rebuild.
//! - `DROP TABLE "t";` children first, only with `MIGRATION_ALLOW_DROP`.
//! - The rebuild, in this order: guards (below); `DROP VIEW`/`DROP TRIGGER` of the dependents;
//!   `CREATE TABLE "temp"."__godwit_seq" AS SELECT "seq" FROM "sqlite_sequence" ..` (AUTOINCREMENT);
//!   `CREATE TABLE "__new_t" (..)`; `INSERT INTO "__new_t" ([rowid, ]"a", ..) SELECT [rowid,
//!   ]"a", coalesce("b", <backfill>), CAST("c" AS T), CAST((<convert>) AS T), <backfill> FROM
//!   "t"`; `DROP TABLE "t"`; `ALTER TABLE "__new_t" RENAME TO "t"`; `UPDATE`/`INSERT INTO
//!   "sqlite_sequence"` to the old high-water mark and `DROP TABLE "temp"."__godwit_seq"`; the
//!   indexes; the dependents again, with their exact original text, in original order. A
//!   dependent that names a column renamed in this migration is recreated with the new name
//!   (only the references to that column change) when it uses only the rebuilt table and every
//!   mention is a plain column reference; otherwise the plan is refused (L10) asking to split.
//!   The rowid is copied through an alias no column shadows (`rowid`, `_rowid_` or `oid`).
//! - Type changes (and a table becoming STRICT), STRICT or not: the copy stores `CAST(<old value
//!   or convert> AS T)`, so every old row gets the new type's storage class, behind a guard that
//!   the value converts exactly (see [`inexact`]: no saturating casts at 2^63, 2^53 checked,
//!   blobs becoming TEXT must be valid UTF-8). A backfill is cast the same way unless it is a
//!   literal of the type already, and guarded the same way; a literal that cannot convert
//!   (`'x'` for INTEGER) is refused at plan time (L2).
//! - Guards: `CREATE TABLE "temp"."__godwit_guard" ("msg" TEXT)` with a `BEFORE INSERT` temp
//!   trigger that runs `RAISE(ABORT, NEW."msg")`, then one `INSERT INTO "temp"."__godwit_guard"
//!   SELECT '<message naming table, column>' || quote(<value>) || <the row> .. FROM "t" WHERE
//!   <violation> LIMIT 1` per check: a value that does not convert exactly to a new type, a
//!   backfill that gives NULL, a duplicate for a new UNIQUE or primary key, a row violating a
//!   new CHECK (these two over the copied values, `FROM (SELECT <copy> AS "a", ..) AS "t"`);
//!   then `DROP TABLE "temp"."__godwit_guard"`. A violation aborts the migration before any
//!   change. Each message names the row ([`row_label`]) and the attribute that resolves it
//!   (`convert`, `backfill`, `check`).

mod convert;
mod diff;
mod lint;
mod naming;
mod render;
mod sample;
pub mod sql;

use std::fmt;

use crate::model::{Column, Index, Schema, SqlType, Table};

pub use convert::{converted, inexact, literal_converts, row_label, unused_converts};
pub use diff::plan;
pub use sample::{FailureKind, SampleKind, SampleRow, SampleValue, classify_failure, sample_rows};

/// The kind of a schema object the planner does not model but must keep alive around rebuilds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    /// `CREATE VIEW`.
    View,
    /// `CREATE TRIGGER`.
    Trigger,
}

impl ObjectKind {
    /// `VIEW` or `TRIGGER`, as used in `DROP VIEW` / `DROP TRIGGER`.
    ///
    /// ```
    /// # use schema_core::plan::ObjectKind;
    /// assert_eq!(ObjectKind::View.as_sql(), "VIEW");
    /// ```
    #[must_use]
    pub fn as_sql(self) -> &'static str {
        match self {
            Self::View => "VIEW",
            Self::Trigger => "TRIGGER",
        }
    }
}

/// A view or trigger found in the (replayed) database, as `sqlite_schema` holds it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DbObject {
    /// View or trigger.
    pub kind: ObjectKind,
    /// Its name.
    pub name: String,
    /// `sqlite_schema.tbl_name`: the view's own name, or the table a trigger is on.
    pub tbl_name: String,
    /// The exact `CREATE ...` text; recreated byte for byte.
    pub sql: String,
    /// The tables of the database this object uses, as SQLite resolves its text (found by
    /// renaming each table inside a savepoint and seeing which texts SQLite rewrites), or
    /// `None` when that could not be asked; the planner then scans the text for the names,
    /// which may also match a keyword (`BEGIN`) or an alias.
    pub references: Option<Vec<String>>,
}

/// What the planner diffs.
#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    /// The schema the database has now (the latest snapshot, with no intent fields).
    pub old: &'a Schema,
    /// The schema wanted (from the source, with `renamed_from` and `backfill` intent).
    pub new: &'a Schema,
    /// Views and triggers in the replayed database, in `sqlite_schema` order.
    pub dependents: &'a [DbObject],
    /// `MIGRATION_ALLOW_DROP` entries, each `table` or `table.column` as [`DropTarget::parse_list`]
    /// reads them (names with a space, dot, comma or quote in double quotes).
    pub allow_drop: &'a [String],
}

/// How serious a [`Finding`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The plan is refused.
    Error,
    /// The plan is produced; the user should look.
    Warning,
    /// For review only.
    Info,
}

/// A lint finding with a stable code (`L1`..`L15`, see `correctness.md` section 5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Finding {
    /// Stable code, e.g. `"L13"`.
    pub code: &'static str,
    /// Error, warning or info.
    pub severity: Severity,
    /// Lowercase message naming the table, the column and the attribute that resolves it.
    pub message: String,
}

impl Finding {
    pub(crate) fn error(code: &'static str, message: String) -> Self {
        Self { code, severity: Severity::Error, message }
    }
    pub(crate) fn warning(code: &'static str, message: String) -> Self {
        Self { code, severity: Severity::Warning, message }
    }
    pub(crate) fn info(code: &'static str, message: String) -> Self {
        Self { code, severity: Severity::Info, message }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "note",
        };
        write!(f, "{level}[{}]: {}", self.code, self.message)
    }
}

/// One step of a plan. Each renders to one or more SQL statements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `CREATE TABLE`.
    CreateTable(Table),
    /// `DROP TABLE` (acknowledged with `MIGRATION_ALLOW_DROP`).
    DropTable {
        /// The table.
        table: String,
    },
    /// `ALTER TABLE .. RENAME TO ..` (through a temporary name when only the case changes).
    RenameTable {
        /// Old name.
        from: String,
        /// New name.
        to: String,
        /// The temporary name a case-only rename goes through (SQLite refuses `user` -> `User`).
        via: Option<String>,
    },
    /// `ALTER TABLE .. ADD COLUMN ..`, only when provably safe (R21).
    AddColumn {
        /// The table.
        table: String,
        /// The column.
        column: Column,
        /// Inline `REFERENCES` clause for a new nullable foreign-key column.
        references: Option<crate::model::ForeignKey>,
    },
    /// `ALTER TABLE .. DROP COLUMN ..`, only when provably safe (R22).
    DropColumn {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// `ALTER TABLE .. RENAME COLUMN .. TO ..` from a declared `renamed_from`.
    RenameColumn {
        /// The table.
        table: String,
        /// Old name.
        from: String,
        /// New name.
        to: String,
    },
    /// `CREATE [UNIQUE] INDEX`.
    CreateIndex {
        /// The table.
        table: String,
        /// The index.
        index: Index,
    },
    /// `DROP INDEX`.
    DropIndex {
        /// The table it was on.
        table: String,
        /// The index.
        name: String,
    },
    /// The 12-step table rebuild (R9-R19).
    RebuildTable(Box<Rebuild>),
}

/// Everything a table rebuild needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rebuild {
    /// The table as wanted (its final name).
    pub table: Table,
    /// The temporary name of the new table (`__new_<table>`, free case-insensitively).
    pub temp_name: String,
    /// `(new column, source expression over the old table)`; new columns absent here take
    /// their default.
    pub copy: Vec<(String, String)>,
    /// The rowid alias copied explicitly (rowid tables without INTEGER PRIMARY KEY), if any.
    pub copy_rowid: Option<&'static str>,
    /// Checks run before anything changes, each failing the migration with a readable message.
    pub guards: Vec<Guard>,
    /// An SQL text expression over the old table naming one row in guard messages
    /// (`'the row with rowid ' || "_rowid_"`); see [`row_label`].
    pub row_label: String,
    /// Keep the AUTOINCREMENT high-water mark.
    pub keep_sequence: bool,
    /// Views and triggers dropped before and recreated after, in `sqlite_schema` order.
    pub dependents: Vec<DbObject>,
    /// What changed, for naming: added, dropped and renamed columns, and whether anything else
    /// changed.
    pub summary: RebuildSummary,
}

/// A data check run inside the migration before a rebuild copies anything: when a row
/// violates it, the migration fails (changing nothing) with a message that names the table, the
/// column, the offending value, the row (its rowid or primary key) and the attribute that
/// resolves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guard {
    /// Every value of `value` converts exactly to `to` (converting it and back gives it again,
    /// compared without saturating casts; a blob becoming TEXT must be valid UTF-8).
    Convert {
        /// The new column name (for the message).
        column: String,
        /// The SQL expression over the old table whose values are converted.
        value: String,
        /// Where the value comes from, which decides the attribute the message names.
        origin: ValueOrigin,
        /// The new type.
        to: SqlType,
        /// Only rows matching this SQL condition over the old table are checked (a backfill of
        /// a nullable column only fills its NULLs).
        only_where: Option<String>,
        /// The old column's type when the old table is STRICT and `value` is its stored value:
        /// every value then has that type's storage class (no blob needs the UTF-8 check).
        strict_from: Option<SqlType>,
    },
    /// The copy expression of a NOT NULL column never gives NULL (a backfill that yields NULL).
    NotNull {
        /// The new column name.
        column: String,
        /// The copy expression over the old table.
        expr: String,
    },
    /// No row violates a new CHECK constraint. Evaluated over the copied (converted, renamed,
    /// backfilled) values, so it holds exactly when the new table accepts every row.
    Check {
        /// The column of a column-level CHECK.
        column: Option<String>,
        /// The CHECK expression, over the new column names.
        expr: String,
    },
    /// The copied values are unique (a new UNIQUE column or primary key), compared after the
    /// copy converts them.
    Unique {
        /// The new column names (all of them copied).
        columns: Vec<String>,
        /// `UNIQUE` or `PRIMARY KEY`.
        constraint: &'static str,
    },
}

/// Where the values a [`Guard::Convert`] checks come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueOrigin {
    /// The old column's stored values (a type change without `convert`).
    Stored,
    /// The column's `#[column(convert = "..")]` expression.
    Convert,
    /// The column's `#[column(backfill = "..")]` expression.
    Backfill,
}

/// What a rebuild changes, used to name the migration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RebuildSummary {
    /// Columns added.
    pub added: Vec<String>,
    /// Columns dropped.
    pub dropped: Vec<String>,
    /// Columns renamed `(from, to)`.
    pub renamed: Vec<(String, String)>,
    /// Anything else changed (types, constraints, options).
    pub altered: bool,
    /// What else changed, as phrases for the migration name, in the order found:
    /// `make_title_not_null`, `price_to_integer`, `change_primary_key`, `make_strict`, ...
    pub changes: Vec<String>,
}

/// An ordered migration plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The steps, in execution order.
    pub steps: Vec<Step>,
    /// Warnings and notes (errors make [`plan`] return `Err`).
    pub findings: Vec<Finding>,
    /// Acknowledged destructive drops (`table` or `table.column`, quoted as in
    /// `MIGRATION_ALLOW_DROP`), for the file header.
    pub acknowledged: Vec<String>,
}

impl Plan {
    /// Whether the plan does nothing.
    ///
    /// ```
    /// # use schema_core::plan::Plan;
    /// assert!(Plan::default().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The SQL statements, in order, each ending with `;`.
    #[must_use]
    pub fn render(&self) -> Vec<String> {
        self.steps.iter().flat_map(render::step).collect()
    }

    /// Comment lines for the top of the migration file, one per acknowledged drop, in the
    /// `MIGRATION_ALLOW_DROP` spelling: `-- godwit: allow-drop users`, `-- godwit: allow-drop
    /// users.timezone`, `-- godwit: allow-drop "my table"."a,b"`.
    #[must_use]
    pub fn header_comments(&self) -> Vec<String> {
        self.acknowledged.iter().map(|a| format!("-- godwit: allow-drop {a}")).collect()
    }

    /// Every identifier rename the plan performs, in execution order: `(from, to)` for each
    /// `ALTER TABLE .. RENAME TO ..` and `.. RENAME COLUMN ..`, temporary names included, and
    /// the column renames a rebuild's copy makes.
    ///
    /// ```
    /// # use schema_core::plan::{Plan, Step};
    /// let p = Plan { steps: vec![Step::RenameTable { from: "a".into(), to: "b".into(), via: None }], ..Plan::default() };
    /// assert_eq!(p.renames(), [("a".to_string(), "b".to_string())]);
    /// ```
    #[must_use]
    pub fn renames(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for s in &self.steps {
            match s {
                Step::RenameTable { from, to, via: Some(tmp) } => {
                    out.push((from.clone(), tmp.clone()));
                    out.push((tmp.clone(), to.clone()));
                }
                Step::RenameTable { from, to, via: None } | Step::RenameColumn { from, to, .. } => {
                    out.push((from.clone(), to.clone()));
                }
                Step::RebuildTable(r) => out.extend(r.summary.renamed.iter().cloned()),
                _ => {}
            }
        }
        out
    }

    /// The tables the plan drops (`DROP TABLE`), whose triggers go with them.
    #[must_use]
    pub fn dropped_tables(&self) -> Vec<String> {
        self.steps
            .iter()
            .filter_map(|s| match s {
                Step::DropTable { table } => Some(table.clone()),
                _ => None,
            })
            .collect()
    }

    /// Whether SQLite's `RENAME` statements of this plan can have turned the view or trigger
    /// text `before` into `after`: the same tokens, except identifiers that the plan's renames
    /// (applied in order) map from the old spelling to the new one. The build's proof uses it
    /// to accept the text SQLite rewrote.
    ///
    /// ```
    /// # use schema_core::plan::{Plan, Step};
    /// let p = Plan { steps: vec![Step::RenameColumn { table: "t".into(), from: "a".into(), to: "b".into() }], ..Plan::default() };
    /// assert!(p.rewrites_to("CREATE VIEW v AS SELECT a FROM t", "CREATE VIEW v AS SELECT \"b\" FROM t"));
    /// assert!(!p.rewrites_to("CREATE VIEW v AS SELECT a FROM t", "CREATE VIEW v AS SELECT c FROM t"));
    /// ```
    #[must_use]
    pub fn rewrites_to(&self, before: &str, after: &str) -> bool {
        let renames = self.renames();
        let apply = |name: &str| {
            let mut cur = name.to_string();
            for (from, to) in &renames {
                if cur.eq_ignore_ascii_case(from) {
                    cur.clone_from(to);
                }
            }
            cur
        };
        let (a, b) = (sql::tokenize(before), sql::tokenize(after));
        a.len() == b.len()
            && a.iter().zip(&b).all(|(x, y)| {
                x.normalised() == y.normalised()
                    || match (x.ident(), y.ident()) {
                        (Some(x), Some(y)) => apply(x).eq_ignore_ascii_case(y),
                        _ => false,
                    }
            })
    }

    /// A descriptive name derived from the steps (`create_users`, `add_users_bio`,
    /// `rename_users_name_to_full_name`, and for a rebuild what it changes:
    /// `tasks_make_title_not_null`, `users_name_to_integer`, ...): `[a-z0-9_]`, runs of `_`
    /// collapsed, at most 60 characters, cut only between whole parts or words (see
    /// [`sanitise_name`]).
    #[must_use]
    pub fn name(&self) -> String {
        naming::name(&self.steps)
    }
}

/// What one `MIGRATION_ALLOW_DROP` entry acknowledges: a table, or one column of a table.
///
/// Entries are separated by commas; a name holding a space, a dot, a comma or a double quote is
/// written in double quotes with inner quotes doubled, like an SQL identifier:
/// `MIGRATION_ALLOW_DROP='"my table"."a,b",users.bio,sessions'`.
///
/// ```
/// use schema_core::plan::DropTarget;
/// let t = DropTarget::column("my table", "a,b");
/// assert_eq!(t.to_string(), "\"my table\".\"a,b\"");
/// assert_eq!(DropTarget::parse_list("\"my table\".\"a,b\", users.bio ,sessions"),
///            Ok(vec![t, DropTarget::column("users", "bio"), DropTarget::table("sessions")]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DropTarget {
    /// The table (its old or new name).
    pub table: String,
    /// The column, for a column drop.
    pub column: Option<String>,
}

impl DropTarget {
    /// A table drop.
    #[must_use]
    pub fn table(table: &str) -> Self {
        Self { table: table.to_string(), column: None }
    }

    /// A column drop.
    #[must_use]
    pub fn column(table: &str, column: &str) -> Self {
        Self { table: table.to_string(), column: Some(column.to_string()) }
    }

    /// Whether this entry acknowledges dropping `column` of `table` (or the whole table when
    /// `column` is `None`); names compare ASCII case-insensitively, as SQLite's do.
    #[must_use]
    pub fn matches(&self, table: &str, column: Option<&str>) -> bool {
        self.table.eq_ignore_ascii_case(table)
            && match (&self.column, column) {
                (None, None) => true,
                (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                _ => false,
            }
    }

    /// Parses a whole `MIGRATION_ALLOW_DROP` value: comma-separated entries, each `table` or
    /// `table.column`, names optionally in double quotes; blank entries are skipped.
    ///
    /// # Errors
    ///
    /// A message naming the entry that is not `table` or `table.column` (an unterminated
    /// quote, a stray character after a quoted name, an empty name).
    pub fn parse_list(value: &str) -> Result<Vec<Self>, String> {
        let mut out = Vec::new();
        let mut parts: Vec<String> = Vec::new();
        let mut cur = String::new();
        let mut chars = value.chars().peekable();
        let mut entry = String::new();
        let finish = |parts: &mut Vec<String>,
                      cur: &mut String,
                      entry: &str,
                      out: &mut Vec<Self>| {
            let last = std::mem::take(cur);
            let blank = parts.is_empty() && last.trim().is_empty();
            parts.push(last);
            let names: Vec<String> = std::mem::take(parts);
            if blank {
                return Ok(());
            }
            let bad = || {
                format!(
                    "MIGRATION_ALLOW_DROP entry `{}` is not `table` or `table.column` (quote names holding a \
                     space, dot, comma or quote: \"my table\".\"a,b\")",
                    entry.trim()
                )
            };
            let names: Vec<String> =
                names.iter().map(|n| unquote(n.trim())).collect::<Option<_>>().ok_or_else(bad)?;
            if names.iter().any(String::is_empty) {
                return Err(bad());
            }
            match names.as_slice() {
                [t] => out.push(Self::table(t)),
                [t, c] => out.push(Self::column(t, c)),
                _ => return Err(bad()),
            }
            Ok(())
        };
        while let Some(c) = chars.next() {
            match c {
                '"' => {
                    cur.push('"');
                    entry.push('"');
                    loop {
                        match chars.next() {
                            Some('"') if chars.peek() == Some(&'"') => {
                                chars.next();
                                cur.push_str("\"\"");
                                entry.push_str("\"\"");
                            }
                            Some('"') => {
                                cur.push('"');
                                entry.push('"');
                                break;
                            }
                            Some(other) => {
                                cur.push(other);
                                entry.push(other);
                            }
                            None => {
                                return Err(format!(
                                    "MIGRATION_ALLOW_DROP entry `{}` has an unterminated double quote",
                                    entry.trim()
                                ));
                            }
                        }
                    }
                }
                '.' => {
                    parts.push(std::mem::take(&mut cur));
                    entry.push('.');
                }
                ',' => {
                    finish(&mut parts, &mut cur, &entry, &mut out)?;
                    entry.clear();
                }
                other => {
                    cur.push(other);
                    entry.push(other);
                }
            }
        }
        finish(&mut parts, &mut cur, &entry, &mut out)?;
        Ok(out)
    }
}

/// A name as written in `MIGRATION_ALLOW_DROP`: bare, or in double quotes with `""` inside.
fn unquote(s: &str) -> Option<String> {
    if let Some(inner) = s.strip_prefix('"') {
        let inner = inner.strip_suffix('"')?;
        let mut out = String::new();
        let mut chars = inner.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '"' && chars.next() != Some('"') {
                return None;
            }
            out.push(c);
        }
        Some(out)
    } else if s.contains('"') {
        None
    } else {
        Some(s.to_string())
    }
}

/// A name for `MIGRATION_ALLOW_DROP`: bare when it is a plain word, else double-quoted.
fn quote_drop_name(name: &str) -> String {
    let plain = !name.is_empty()
        && name.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || c == '_'
                || c == '$'
                || (!c.is_ascii() && !c.is_whitespace())
        });
    if plain { name.to_string() } else { sql::quote_ident(name) }
}

impl fmt::Display for DropTarget {
    /// The entry as a user writes it in `MIGRATION_ALLOW_DROP` (and as the file header records
    /// it): `users`, `users.bio`, `"my table"."a,b"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&quote_drop_name(&self.table))?;
        if let Some(c) = &self.column {
            write!(f, ".{}", quote_drop_name(c))?;
        }
        Ok(())
    }
}

/// The DDL of a fresh database for `schema`: every table (parents first, ties by name) followed
/// by its indexes. Identical to what a plan from the empty schema renders.
///
/// ```
/// use schema_core::model::{Column, Schema, SqlType, Table};
/// let mut s = Schema::default();
/// let mut t = Table::new("t");
/// t.columns.push(Column::new("a", SqlType::Text));
/// s.insert(t);
/// assert_eq!(schema_core::plan::create_statements(&s), ["CREATE TABLE \"t\" (\n\t\"a\" TEXT NOT NULL\n);"]);
/// ```
#[must_use]
pub fn create_statements(schema: &Schema) -> Vec<String> {
    diff::create_steps(schema).iter().flat_map(render::step).collect()
}

/// Sanitises a migration name: lowercase ASCII `[a-z0-9_]`, other characters become `_`, runs
/// of `_` collapse, no leading or trailing `_`, at most 60 characters, never cut inside a word:
/// at the last `_and_` that keeps at least 20 characters, else at the last `_` (a single word
/// longer than 60 characters is cut at 60).
///
/// ```
/// # use schema_core::plan::sanitise_name;
/// assert_eq!(sanitise_name("Add Users: Bio!"), "add_users_bio");
/// let long = "tasks_make_title_not_null_and_make_description_not_null_and_add_due";
/// assert_eq!(sanitise_name(long), "tasks_make_title_not_null_and_make_description_not_null");
/// ```
#[must_use]
pub fn sanitise_name(raw: &str) -> String {
    let mut out = String::new();
    for c in raw.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let mut out = out.trim_matches('_').to_string();
    const MAX: usize = 60;
    if out.len() > MAX {
        // `out` is ASCII: every index is a char boundary.
        let boundary = |p: usize| out.as_bytes().get(p) == Some(&b'_');
        let by_part = (20..=MAX).rev().find(|&p| out[p..].starts_with("_and_"));
        let by_word = (1..=MAX).rev().find(|&p| boundary(p));
        out.truncate(by_part.or(by_word).unwrap_or(MAX));
        out = out.trim_end_matches('_').to_string();
    }
    out
}
