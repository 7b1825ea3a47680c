//! The findings about one kept table, as named values: the diff classifies a table's changes
//! into [`Lint`]s first and turns them into [`Finding`]s (with their stable codes and
//! messages) in one place.

use super::{Finding, ObjectKind};
use crate::model::SqlType;

/// `view` or `trigger`, for messages.
pub(super) fn kind_word(k: ObjectKind) -> &'static str {
    match k {
        ObjectKind::View => "view",
        ObjectKind::Trigger => "trigger",
    }
}

/// A foreign key's `ON UPDATE` and `ON DELETE` actions, as SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FkActions {
    pub on_update: &'static str,
    pub on_delete: &'static str,
}

/// One thing the diff found about a kept table (named by the table it is reported on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Lint {
    /// L3: a declared column rename.
    ColumnRenamed { from: String, to: String },
    /// L2: a column changes type.
    TypeChanged { column: String, from: SqlType, to: SqlType },
    /// L3: a column becomes NOT NULL, existing NULLs get the backfill.
    NotNullBackfilled { column: String },
    /// L2 error: a column becomes NOT NULL and nothing fills existing NULLs.
    NotNullNeedsBackfill { column: String },
    /// L4: a column drops NOT NULL.
    NotNullDropped { column: String },
    /// L2: a column becomes UNIQUE.
    BecomesUnique { column: String },
    /// L4: a column drops UNIQUE.
    UniqueDropped { column: String },
    /// L2: a column gets a new CHECK.
    ColumnCheckAdded { column: String, expr: String },
    /// L4: a column's CHECK goes.
    ColumnCheckDropped { column: String, expr: String },
    /// L2: the primary key changes.
    PrimaryKeyChanged { columns: Vec<String> },
    /// L9: WITHOUT ROWID is added or removed.
    WithoutRowidChanged { added: bool },
    /// L2: a new table CHECK.
    TableCheckAdded { expr: String },
    /// L4: a table CHECK goes.
    TableCheckDropped { expr: String },
    /// L4: a foreign key keeps its columns but changes its actions.
    ForeignKeyActionsChanged {
        columns: Vec<String>,
        parent: String,
        old: FkActions,
        new: FkActions,
    },
    /// L4: a foreign key goes.
    ForeignKeyDropped { columns: Vec<String>, parent: String },
    /// L2 error: a new NOT NULL column with no value for existing rows.
    AddedWithoutValue { column: String },
    /// L14: a new column with an expression default.
    AddedWithExpressionDefault { column: String },
    /// L2: a new column with a CHECK.
    AddedWithCheck { column: String },
    /// L2: a new foreign key over existing columns.
    ForeignKeyAdded { columns: Vec<String>, parent: String },
    /// L1: an acknowledged column drop.
    ColumnDropAcknowledged { column: String, key: String },
    /// L13 error: a dropped column next to an added one of the same type.
    ColumnDropLooksLikeRename { column: String, added: String, key: String },
    /// L13: an added column's `renamed_from` names no column of the old table.
    RenamedFromMissing { column: String, from: String },
    /// L1 error: a column is dropped while another column is renamed onto its name.
    ColumnDropReplacedByRename { column: String, from: String, key: String },
    /// L1 error: a column drop without `MIGRATION_ALLOW_DROP` (`key` is its spelling there).
    ColumnDropped { column: String, key: String },
    /// L10 error: a view or trigger uses a dropped column.
    DependentUsesDroppedColumn { kind: ObjectKind, name: String, column: String },
    /// L4: a unique index goes.
    UniqueIndexDropped { name: String },
    /// L2: a new unique index.
    UniqueIndexAdded { name: String },
    /// L10 error: a dependent recreated around the rebuild names a column renamed in place.
    StaleDependent { kind: ObjectKind, name: String, table: String, from: String, to: String },
    /// L12 error: a backfill or convert (`attr`) names a column that is renamed in place before
    /// the copy (another table's foreign key references it), so the copy reads it by its new
    /// name.
    BackfillUsesKeyRenamedFirst { attr: &'static str, column: String, from: String, to: String },
    /// L2 error: a literal `backfill` or `convert` (`attr`) that does not convert exactly to the
    /// column's type, so it would fail on every row.
    LiteralDoesNotConvert { column: String, attr: &'static str, value: String, to: SqlType },
    /// L2 error: a `convert` on a column whose type does not change.
    ConvertUnused { column: String, convert: String, ty: SqlType },
    /// L2 error: a `convert` on a new column, which has no old values.
    ConvertOnNewColumn { column: String, convert: String },
    /// L9 note: the rebuild copies the hidden rowid.
    RowidKept,
    /// L9: columns named rowid, _rowid_ and oid hide the rowid, so the rebuild renumbers it.
    RowidRenumbered,
    /// L9 note: the rebuild keeps the AUTOINCREMENT counter.
    SequenceKept,
    /// L6 note: the table is rebuilt, with what is recreated around it.
    Rebuilt { indexes: Vec<String>, dependents: Vec<String> },
    /// L5 note: children with ON DELETE actions that would fire with foreign keys on.
    CascadeHazard { children: Vec<String> },
}

impl Lint {
    /// The finding for this lint on table `t` (its new name).
    #[allow(clippy::too_many_lines)]
    pub(super) fn finding(&self, t: &str) -> Finding {
        match self {
            Self::ColumnRenamed { from, to } => Finding::warning(
                "L3",
                format!(
                    "table {t}: column {from} is renamed to {to} (renamed_from): binaries built for the old schema will break"
                ),
            ),
            Self::TypeChanged { column, from, to } => Finding::warning(
                "L2",
                format!(
                    "table {t}: column {column} changes type from {} to {}: the migration fails if a stored value does \
                     not convert exactly",
                    from.as_sql(),
                    to.as_sql()
                ),
            ),
            Self::NotNullBackfilled { column } => Finding::warning(
                "L3",
                format!(
                    "table {t}: column {column} becomes NOT NULL; existing NULLs get the backfill"
                ),
            ),
            Self::NotNullNeedsBackfill { column } => Finding::error(
                "L2",
                format!(
                    "table {t}: column {column} becomes NOT NULL but existing rows may hold NULL: add \
                     #[column(backfill = \"<sql expr>\")] to fill them (a default only applies to new rows)"
                ),
            ),
            Self::NotNullDropped { column } => Finding::warning(
                "L4",
                format!("table {t}: column {column} drops its NOT NULL constraint"),
            ),
            Self::BecomesUnique { column } => Finding::warning(
                "L2",
                format!(
                    "table {t}: column {column} becomes UNIQUE: the migration fails on duplicate values"
                ),
            ),
            Self::UniqueDropped { column } => Finding::warning(
                "L4",
                format!("table {t}: column {column} drops its UNIQUE constraint"),
            ),
            Self::ColumnCheckAdded { column, expr } => Finding::warning(
                "L2",
                format!(
                    "table {t}: column {column} gets CHECK ({expr}): the migration fails on rows that violate it"
                ),
            ),
            Self::ColumnCheckDropped { column, expr } => {
                Finding::warning("L4", format!("table {t}: column {column} drops CHECK ({expr})"))
            }
            Self::PrimaryKeyChanged { columns } => Finding::warning(
                "L2",
                format!(
                    "table {t}: the primary key changes to ({}): the migration fails on duplicate or NULL keys",
                    columns.join(", ")
                ),
            ),
            Self::WithoutRowidChanged { added } => Finding::warning(
                "L9",
                format!("table {t}: WITHOUT ROWID is {}", if *added { "added" } else { "removed" }),
            ),
            Self::TableCheckAdded { expr } => Finding::warning(
                "L2",
                format!(
                    "table {t}: new CHECK ({expr}): the migration fails on rows that violate it"
                ),
            ),
            Self::TableCheckDropped { expr } => {
                Finding::warning("L4", format!("table {t}: CHECK ({expr}) is dropped"))
            }
            Self::ForeignKeyActionsChanged { columns, parent, old, new } => Finding::warning(
                "L4",
                format!(
                    "table {t}: foreign key ({}) to {parent} changes its actions from ON UPDATE {} ON DELETE {} to \
                     ON UPDATE {} ON DELETE {}",
                    columns.join(", "),
                    old.on_update,
                    old.on_delete,
                    new.on_update,
                    new.on_delete
                ),
            ),
            Self::ForeignKeyDropped { columns, parent } => Finding::warning(
                "L4",
                format!("table {t}: foreign key ({}) to {parent} is dropped", columns.join(", ")),
            ),
            Self::AddedWithoutValue { column } => Finding::error(
                "L2",
                format!(
                    "table {t}: new NOT NULL column {column} has no value for existing rows: add #[column(backfill = \
                     \"<sql expr>\")] or a default"
                ),
            ),
            Self::AddedWithExpressionDefault { column } => Finding::warning(
                "L14",
                format!(
                    "table {t}: new column {column} has an expression default: every existing row gets the value it \
                     has when the migration runs (use backfill to choose another)"
                ),
            ),
            Self::AddedWithCheck { column } => Finding::warning(
                "L2",
                format!(
                    "table {t}: new column {column} has a CHECK: the migration fails on rows that violate it"
                ),
            ),
            Self::ForeignKeyAdded { columns, parent } => Finding::warning(
                "L2",
                format!(
                    "table {t}: new foreign key ({}) to {parent}: the migration fails on rows without a parent",
                    columns.join(", ")
                ),
            ),
            Self::ColumnDropAcknowledged { column, key } => Finding::warning(
                "L1",
                format!(
                    "table {t}: column {column} is dropped with its data (acknowledged by MIGRATION_ALLOW_DROP={key})"
                ),
            ),
            Self::ColumnDropLooksLikeRename { column, added, key } => Finding::error(
                "L13",
                format!(
                    "table {t}: column {column} is dropped and column {added} is added with the same type: if it was renamed, add \
                     #[column(renamed_from = \"{column}\")] to {added}; to really drop {column} and its data, set \
                     MIGRATION_ALLOW_DROP={key}{}",
                    super::diff::quoting_note(key)
                ),
            ),
            Self::RenamedFromMissing { column, from } => Finding::warning(
                "L13",
                format!(
                    "table {t}: column {column} has renamed_from = \"{from}\", but the old table has no column {from}: \
                     {column} is added as a new column (check the old name)"
                ),
            ),
            Self::ColumnDropReplacedByRename { column, from, key } => Finding::error(
                "L1",
                format!(
                    "table {t}: column {from} is renamed to {column} (renamed_from) while the old table also has a \
                     column {column}, which is dropped with its data in every database this migration runs on: set \
                     MIGRATION_ALLOW_DROP={key} to confirm{}, or add #[column(renamed_from = \"{column}\")] to the \
                     field the old {column} became",
                    super::diff::quoting_note(key)
                ),
            ),
            Self::ColumnDropped { column, key } => Finding::error(
                "L1",
                format!(
                    "table {t}: column {column} is dropped, which deletes its data in every database this migration \
                     runs on (adding the field back later does not bring the values back): set \
                     MIGRATION_ALLOW_DROP={key} to confirm{}, or add #[column(renamed_from = \"{column}\")] to the \
                     field it became",
                    super::diff::quoting_note(key)
                ),
            ),
            Self::DependentUsesDroppedColumn { kind, name, column } => Finding::error(
                "L10",
                format!(
                    "{} {name} uses column {t}.{column}, which this migration drops: drop or change {name} in a custom \
                     migration first",
                    kind_word(*kind)
                ),
            ),
            Self::UniqueIndexDropped { name } => {
                Finding::warning("L4", format!("table {t}: unique index {name} is dropped"))
            }
            Self::UniqueIndexAdded { name } => Finding::warning(
                "L2",
                format!(
                    "table {t}: new unique index {name}: the migration fails on duplicate values"
                ),
            ),
            Self::StaleDependent { kind, name, table, from, to } => Finding::error(
                "L10",
                format!(
                    "{} {name} must be recreated around the rebuild of table {t}, but this migration also renames \
                     column {table}.{from} to {to}: split the change into two migrations, the rename first",
                    kind_word(*kind)
                ),
            ),
            Self::BackfillUsesKeyRenamedFirst { attr, column, from, to } => Finding::error(
                "L12",
                format!(
                    "table {t}: the {attr} of column {column} uses column {from}, which this migration renames to \
                     {to} before the copy (a foreign key of another table references it, so SQLite must rewrite \
                     that reference): write {to} in #[column({attr} = ..)]"
                ),
            ),
            Self::LiteralDoesNotConvert { column, attr, value, to } => Finding::error(
                "L2",
                format!(
                    "table {t}: column {column}: #[column({attr} = \"{value}\")] gives {value}, which does not convert \
                     exactly to {}, so the migration would fail on every row: give a value of type {}",
                    to.as_sql(),
                    to.as_sql()
                ),
            ),
            Self::ConvertUnused { column, convert, ty } => {
                super::convert::unused_convert_finding(t, column, convert, *ty)
            }
            Self::ConvertOnNewColumn { column, convert } => Finding::error(
                "L2",
                format!(
                    "table {t}: new column {column} has #[column(convert = \"{convert}\")], but a new column has no \
                     old values to convert: remove convert (use backfill to fill existing rows)"
                ),
            ),
            Self::RowidKept => Finding::info(
                "L9",
                format!("table {t} has no INTEGER PRIMARY KEY: the rebuild keeps every rowid"),
            ),
            Self::RowidRenumbered => Finding::warning(
                "L9",
                format!(
                    "table {t}: columns named rowid, _rowid_ and oid hide the rowid, so the rebuild renumbers it"
                ),
            ),
            Self::SequenceKept => Finding::info(
                "L9",
                format!("table {t} uses AUTOINCREMENT: the rebuild keeps its counter"),
            ),
            Self::Rebuilt { indexes, dependents } => {
                let mut note = format!("table {t} is rebuilt (create, copy, drop, rename)");
                if !indexes.is_empty() {
                    note.push_str(&format!("; indexes recreated: {}", indexes.join(", ")));
                }
                if !dependents.is_empty() {
                    note.push_str(&format!(
                        "; views and triggers recreated: {}",
                        dependents.join(", ")
                    ));
                }
                Finding::info("L6", note)
            }
            Self::CascadeHazard { children } => Finding::info(
                "L5",
                format!(
                    "table {t} is rebuilt while {} reference it: safe only with foreign keys off during the \
                     migration, as the runner does (hosts that ignore PRAGMA foreign_keys would lose those rows)",
                    children.join(", ")
                ),
            ),
        }
    }
}
