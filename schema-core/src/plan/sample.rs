//! Representative rows: the old rows a migration must handle, for proving it on more than the
//! (usually empty) replayed database.
//!
//! The build proves a new migration by applying it to a copy of the replayed database. With no
//! rows, a backfill, a conversion or a guard never runs. [`sample_rows`] gives `INSERT`
//! statements of rows of every storage class each old column admits; the build inserts them
//! into a copy (foreign keys off), applies the migration there too, and sorts the outcome with
//! [`classify_failure`]: a raw SQLite error means users' rows would fail unreadably, which the
//! build refuses.

use std::collections::BTreeSet;

use super::sql::quote_ident as q;
use crate::model::{Column, Schema, SqlType, Table};

/// What a [`SampleRow`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SampleKind {
    /// Every value is what the app itself writes: its column type's own storage class
    /// (NUMERIC and ANY: integer), or NULL in nullable columns.
    Typed,
    /// Some values are of another storage class that the old column still holds on a
    /// non-STRICT table (a REAL in an INTEGER column, a blob in a TEXT column, ..), as old
    /// rows can after raw SQL or an earlier type change.
    OtherClass,
}

/// The storage class of a sample value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SampleValue {
    /// `NULL`.
    Null,
    /// An integer.
    Integer,
    /// A real.
    Real,
    /// A text.
    Text,
    /// A blob.
    Blob,
}

/// One representative row of an old table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleRow {
    /// The table (its old SQL name).
    pub table: String,
    /// Typed or of other storage classes.
    pub kind: SampleKind,
    /// `INSERT OR IGNORE INTO "t" ("a", ..) VALUES (..);` (a row that a CHECK or UNIQUE
    /// constraint refuses is skipped).
    pub sql: String,
}

/// How a migration failed on a database holding [`sample_rows`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// A guard refused stored data (a value that does not convert exactly, a duplicate for a
    /// new UNIQUE, a row violating a new CHECK): depends on the user's rows, fine to ship.
    Data,
    /// A guard refused what the user's `backfill` or `convert` expression computed: probably
    /// wrong for every database; worth a warning naming that attribute.
    Expression,
    /// SQLite's own error (`cannot store TEXT value in INTEGER column`, `CHECK constraint
    /// failed`): users' rows would fail without a readable message; the build should refuse.
    Raw,
}

/// Sorts the error message of a migration that failed on sample rows: SQLite's message alone
/// (a guard's `RAISE` text), without the failing statement, which holds the guards' text.
///
/// ```
/// use schema_core::plan::{FailureKind, classify_failure};
/// assert_eq!(classify_failure("cannot store TEXT value in INTEGER column t.v"), FailureKind::Raw);
/// assert_eq!(
///     classify_failure("cannot convert table \"t\" column \"v\" to INTEGER: value 'a' does not \
///                       convert exactly (the row with rowid 1); change or delete the row first, or \
///                       compute the new value with #[column(convert = \"<sql expr>\")] on v"),
///     FailureKind::Data
/// );
/// ```
#[must_use]
pub fn classify_failure(message: &str) -> FailureKind {
    if !(message.contains("#[column(") || message.contains("#[check(")) {
        FailureKind::Raw
    } else if message.contains("(computed by #[column(")
        || message.contains("the backfill gives NULL")
    {
        FailureKind::Expression
    } else {
        FailureKind::Data
    }
}

/// Representative rows for every table of `old` (the schema the database has before the
/// migration), parents first, so foreign keys point at sample parent rows.
///
/// Per table: a [`SampleKind::Typed`] row with every value set, one with NULL in every nullable
/// column, and on non-STRICT tables one [`SampleKind::OtherClass`] row per storage class
/// (integer, real, text, blob) putting that class into every column whose affinity keeps it.
/// Primary keys stay distinct and non-NULL (an `INTEGER PRIMARY KEY` always integer); foreign
/// keys copy the first sample row of their parent; UNIQUE columns get distinct values.
///
/// How the build uses them: on a copy of the replayed database (`VACUUM INTO` or the backup
/// API), with `PRAGMA foreign_keys = OFF`, run every `sql` (ignore errors: a row that does not
/// fit is skipped), delete what `pragma_foreign_key_check` then reports (a parent refused by a
/// CHECK), and apply the new migration with the runner's protocol; a failure whose
/// [`classify_failure`] is [`FailureKind::Raw`] fails the build, [`FailureKind::Expression`] is
/// a warning. Run the [`SampleKind::Typed`] rows alone first, then all of them, so a data guard
/// on an odd storage class does not hide the rest of the proof.
///
/// ```
/// use schema_core::model::{Column, Schema, SqlType, Table};
/// use schema_core::plan::{SampleKind, sample_rows};
/// let mut t = Table::new("t");
/// t.columns.push(Column::new("v", SqlType::Integer));
/// let mut s = Schema::default();
/// s.insert(t);
/// let rows = sample_rows(&s);
/// assert_eq!(rows[0].sql, "INSERT OR IGNORE INTO \"t\" (\"v\") VALUES (1);");
/// assert!(rows.iter().any(|r| r.kind == SampleKind::OtherClass && r.sql.contains("X'")));
/// ```
#[must_use]
pub fn sample_rows(old: &Schema) -> Vec<SampleRow> {
    let mut out = Vec::new();
    for t in parents_first(old) {
        for (kind, classes) in row_plans(t) {
            let values: Vec<String> = t
                .columns
                .iter()
                .enumerate()
                .map(|(k, c)| value_sql(old, t, c, classes[k], out.len() + 1))
                .collect();
            out.push(SampleRow {
                table: t.name.clone(),
                kind,
                sql: format!(
                    "INSERT OR IGNORE INTO {} ({}) VALUES ({});",
                    q(&t.name),
                    t.columns.iter().map(|c| q(&c.name)).collect::<Vec<_>>().join(", "),
                    values.join(", ")
                ),
            });
        }
    }
    out
}

fn parents_first(s: &Schema) -> Vec<&Table> {
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut out = Vec::new();
    while out.len() < s.tables.len() {
        let next = s
            .tables
            .values()
            .find(|t| {
                !done.contains(t.name.as_str())
                    && t.foreign_keys.iter().all(|fk| {
                        fk.ref_table == t.name
                            || s.table(&fk.ref_table).is_none()
                            || done.contains(fk.ref_table.as_str())
                    })
            })
            .or_else(|| s.tables.values().find(|t| !done.contains(t.name.as_str())))
            .expect("a table is left");
        done.insert(next.name.as_str());
        out.push(next);
    }
    out
}

/// The storage class of `c`'s own type (what the app writes).
fn own_class(ty: SqlType) -> SampleValue {
    match ty {
        SqlType::Real => SampleValue::Real,
        SqlType::Text => SampleValue::Text,
        SqlType::Blob => SampleValue::Blob,
        SqlType::Integer | SqlType::Numeric | SqlType::Any => SampleValue::Integer,
    }
}

/// Whether a column of `t` keeps a value of `class` as that class.
fn admits(t: &Table, c: &Column, class: SampleValue) -> bool {
    if is_rowid_alias(t, c) {
        return class == SampleValue::Integer;
    }
    if t.strict {
        return c.ty == SqlType::Any || own_class(c.ty) == class;
    }
    match c.ty {
        SqlType::Integer | SqlType::Numeric | SqlType::Blob | SqlType::Any => true,
        SqlType::Real => class != SampleValue::Integer,
        SqlType::Text => matches!(class, SampleValue::Text | SampleValue::Blob),
    }
}

fn is_rowid_alias(t: &Table, c: &Column) -> bool {
    !t.without_rowid
        && t.primary_key.len() == 1
        && t.primary_key[0] == c.name
        && c.ty == SqlType::Integer
}

fn in_foreign_key(t: &Table, c: &Column) -> bool {
    t.foreign_keys.iter().any(|fk| fk.columns.contains(&c.name))
}

/// `(kind, class per column)` for each row of `t`.
fn row_plans(t: &Table) -> Vec<(SampleKind, Vec<SampleValue>)> {
    let own: Vec<SampleValue> = t.columns.iter().map(|c| own_class(c.ty)).collect();
    let mut plans = vec![(SampleKind::Typed, own.clone())];
    let in_key = |c: &Column| t.primary_key.contains(&c.name);
    if t.columns.iter().any(|c| c.nullable && !in_key(c)) {
        let nulls = t
            .columns
            .iter()
            .zip(&own)
            .map(|(c, o)| if c.nullable && !in_key(c) { SampleValue::Null } else { *o })
            .collect();
        plans.push((SampleKind::Typed, nulls));
    }
    if !t.strict || t.columns.iter().any(|c| c.ty == SqlType::Any) {
        for class in [SampleValue::Integer, SampleValue::Real, SampleValue::Text, SampleValue::Blob]
        {
            let row: Vec<SampleValue> = t
                .columns
                .iter()
                .zip(&own)
                .map(|(c, o)| if !in_foreign_key(t, c) && admits(t, c, class) { class } else { *o })
                .collect();
            if row != own && !plans.iter().any(|(_, p)| p == &row) {
                plans.push((SampleKind::OtherClass, row));
            }
        }
    }
    plans
}

/// The SQL literal of a sample value of `class` for column `c`, distinct per `serial`.
fn value_sql(s: &Schema, t: &Table, c: &Column, class: SampleValue, serial: usize) -> String {
    // A foreign-key column takes its parent's first sample row's value.
    if class != SampleValue::Null
        && let Some((parent, ref_col)) = t.foreign_keys.iter().find_map(|fk| {
            let k = fk.columns.iter().position(|x| x == &c.name)?;
            let parent = s.table(&fk.ref_table)?;
            let refs =
                if fk.ref_columns.is_empty() { &parent.primary_key } else { &fk.ref_columns };
            Some((parent, parent.column(refs.get(k)?)?))
        })
    {
        let first = parents_first(s)
            .iter()
            .take_while(|x| x.name != parent.name)
            .map(|x| row_plans(x).len())
            .sum::<usize>()
            + 1;
        return literal(own_class(ref_col.ty), first);
    }
    literal(class, serial)
}

fn literal(class: SampleValue, serial: usize) -> String {
    match class {
        SampleValue::Null => "NULL".to_string(),
        SampleValue::Integer => serial.to_string(),
        SampleValue::Real => format!("{serial}.5"),
        SampleValue::Text => format!("'sample {serial}'"),
        SampleValue::Blob => {
            let hex: String =
                format!("blob {serial}").bytes().map(|b| format!("{b:02X}")).collect();
            format!("X'{hex}'")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Column, ForeignKey};

    fn schema() -> Schema {
        let mut p = Table::new("p");
        p.columns.push(Column::new("id", SqlType::Integer));
        p.primary_key = vec!["id".into()];
        let mut c = Table::new("c");
        c.strict = true;
        c.columns.push(Column::new("id", SqlType::Integer));
        let mut pid = Column::new("p_id", SqlType::Integer);
        pid.nullable = true;
        c.columns.push(pid);
        c.columns.push(Column::new("v", SqlType::Text));
        c.primary_key = vec!["id".into()];
        c.foreign_keys.push(ForeignKey {
            columns: vec!["p_id".into()],
            ref_table: "p".into(),
            ref_columns: vec!["id".into()],
            on_delete: None,
            on_update: None,
        });
        let mut s = Schema::default();
        s.insert(p);
        s.insert(c);
        s
    }

    #[test]
    fn parents_come_first_and_children_point_at_them() {
        let rows = sample_rows(&schema());
        assert_eq!(rows[0].sql, "INSERT OR IGNORE INTO \"p\" (\"id\") VALUES (1);");
        // An INTEGER PRIMARY KEY only takes integers: p has one row.
        assert_eq!(rows.iter().filter(|r| r.table == "p").count(), 1);
        let child: Vec<&str> =
            rows.iter().filter(|r| r.table == "c").map(|r| r.sql.as_str()).collect();
        assert_eq!(
            child,
            [
                "INSERT OR IGNORE INTO \"c\" (\"id\", \"p_id\", \"v\") VALUES (2, 1, 'sample 2');",
                "INSERT OR IGNORE INTO \"c\" (\"id\", \"p_id\", \"v\") VALUES (3, NULL, 'sample 3');",
            ]
        );
    }

    #[test]
    fn failures_are_sorted_by_who_can_fix_them() {
        assert_eq!(classify_failure("CHECK constraint failed: x"), FailureKind::Raw);
        assert_eq!(
            classify_failure(
                "cannot fill table \"t\" column \"a\": the backfill gives NULL (the row with rowid 1); \
                 fix #[column(backfill = \"..\")] on a so it never gives NULL"
            ),
            FailureKind::Expression
        );
    }
}
