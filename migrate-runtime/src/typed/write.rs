//! The statements of the writes beyond the derive's own: chosen-column updates, upserts and
//! inserts that leave columns to their defaults. Built at run time from the typed columns, every
//! identifier quoted, every value a parameter.

use std::fmt::Write as _;

use migrate_engine::quote_ident;

use crate::table::{Column, Table};

/// A set of columns of table `T`: one [`Column`], a tuple of up to 12 (of any field types), or
/// an array, slice or `Vec` of columns of one type. Used by
/// [`Crud::update_columns`](crate::Crud::update_columns),
/// [`Crud::upsert_on`](crate::Crud::upsert_on) and
/// [`Crud::insert_with_defaults`](crate::Crud::insert_with_defaults); a column of another table
/// does not compile.
///
/// ```
/// use migrate_runtime::{ColumnList, Table};
///
/// #[derive(Table)]
/// pub struct User {
///     #[column(primary_key)]
///     pub id: i64,
///     pub name: String,
///     pub age: i64,
/// }
///
/// let mut columns = Vec::new();
/// (User::COL.age, User::COL.name).push_indexes(&mut columns);
/// assert_eq!(columns, [2, 1]);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a list of columns of `{T}`",
    label = "expected columns of `{T}`",
    note = "pass `{T}::COL.<field>`, a tuple of them, or an array of columns of one type; a \
            column of another table does not belong here"
)]
pub trait ColumnList<T> {
    /// Appends the columns' indexes (into [`Table::COLUMNS`]) to `out`, in order.
    fn push_indexes(&self, out: &mut Vec<usize>);
}

impl<T, V, S> ColumnList<T> for Column<T, V, S> {
    fn push_indexes(&self, out: &mut Vec<usize>) {
        out.push(self.index());
    }
}

impl<T, C: ColumnList<T>> ColumnList<T> for [C] {
    fn push_indexes(&self, out: &mut Vec<usize>) {
        self.iter().for_each(|c| c.push_indexes(out));
    }
}

impl<T, C: ColumnList<T>, const N: usize> ColumnList<T> for [C; N] {
    fn push_indexes(&self, out: &mut Vec<usize>) {
        self.as_slice().push_indexes(out);
    }
}

impl<T, C: ColumnList<T>> ColumnList<T> for Vec<C> {
    fn push_indexes(&self, out: &mut Vec<usize>) {
        self.as_slice().push_indexes(out);
    }
}

impl<T, C: ColumnList<T> + ?Sized> ColumnList<T> for &C {
    fn push_indexes(&self, out: &mut Vec<usize>) {
        (**self).push_indexes(out);
    }
}

macro_rules! tuples {
    ($($name:ident)+) => {
        impl<T, $($name: ColumnList<T>),+> ColumnList<T> for ($($name,)+) {
            #[allow(non_snake_case)]
            fn push_indexes(&self, out: &mut Vec<usize>) {
                let ($($name,)+) = self;
                $($name.push_indexes(out);)+
            }
        }
    };
}

tuples!(A);
tuples!(A B);
tuples!(A B C);
tuples!(A B C D);
tuples!(A B C D E);
tuples!(A B C D E F);
tuples!(A B C D E F G);
tuples!(A B C D E F G H);
tuples!(A B C D E F G H I);
tuples!(A B C D E F G H I J);
tuples!(A B C D E F G H I J K);
tuples!(A B C D E F G H I J K L);

/// The indexes of `columns`, sorted, without duplicates.
pub(crate) fn indexes<T>(columns: &(impl ColumnList<T> + ?Sized)) -> Vec<usize> {
    let mut out = Vec::new();
    columns.push_indexes(&mut out);
    out.sort_unstable();
    out.dedup();
    out
}

/// A statement and the columns it binds, in parameter order.
pub(crate) struct Bound {
    pub(crate) sql: String,
    pub(crate) columns: Vec<usize>,
}

/// `INSERT INTO t (columns) VALUES (?1, ..)`, or `DEFAULT VALUES` when there are none.
pub(crate) fn insert_of<T: Table>(columns: &[usize]) -> String {
    let table = quote_ident(T::NAME);
    if columns.is_empty() {
        return format!("INSERT INTO {table} DEFAULT VALUES");
    }
    let mut out = format!("INSERT INTO {table} (");
    for (i, &c) in columns.iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        let _ = write!(out, "{sep}{}", quote_ident(T::COLUMNS[c]));
    }
    out.push_str(") VALUES (");
    for i in 1..=columns.len() {
        let sep = if i == 1 { "" } else { ", " };
        let _ = write!(out, "{sep}?{i}");
    }
    out.push(')');
    out
}

/// `UPDATE t SET chosen = ?1, .. WHERE key = ?n ..`. With no chosen column it writes nothing
/// (`SET key = key`) and only reports whether the row exists.
pub(crate) fn update_of<T: Table>(chosen: &[usize]) -> Bound {
    let key = key_indexes::<T>();
    let mut out = format!("UPDATE {} SET ", quote_ident(T::NAME));
    let mut columns = Vec::with_capacity(chosen.len() + key.len());
    if chosen.is_empty() {
        let first = quote_ident(T::COLUMNS[key[0]]);
        let _ = write!(out, "{first} = {first}");
    }
    for (i, &c) in chosen.iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        let _ = write!(out, "{sep}{} = ?{}", quote_ident(T::COLUMNS[c]), i + 1);
        columns.push(c);
    }
    out.push_str(" WHERE ");
    for (i, &k) in key.iter().enumerate() {
        let sep = if i == 0 { "" } else { " AND " };
        columns.push(k);
        let _ = write!(out, "{sep}{} = ?{}", quote_ident(T::COLUMNS[k]), columns.len());
    }
    Bound { sql: out, columns }
}

/// `INSERT .. ON CONFLICT (target) DO UPDATE SET c = excluded.c, .. RETURNING <rowid>`: every
/// inserted column that is neither in the target nor in the primary key is overwritten. With
/// none left, the update writes a column with its own value (`SET "c" = "c"`), so `RETURNING`
/// still names the existing row. An empty target is any uniqueness (SQLite 3.35).
pub(crate) fn upsert_of<T: Table>(inserted: &[usize], target: &[usize]) -> String {
    let key = key_indexes::<T>();
    let mut out = insert_of::<T>(inserted);
    out.push_str(" ON CONFLICT");
    if !target.is_empty() {
        out.push_str(" (");
        for (i, &c) in target.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            let _ = write!(out, "{sep}{}", quote_ident(T::COLUMNS[c]));
        }
        out.push(')');
    }
    out.push_str(" DO UPDATE SET ");
    let set: Vec<usize> =
        inserted.iter().copied().filter(|c| !target.contains(c) && !key.contains(c)).collect();
    if set.is_empty() {
        let same = quote_ident(T::COLUMNS[target.first().or(key.first()).copied().unwrap_or(0)]);
        let _ = write!(out, "{same} = {same}");
    }
    for (i, &c) in set.iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        let name = quote_ident(T::COLUMNS[c]);
        let _ = write!(out, "{sep}{name} = excluded.{name}");
    }
    if let Some(rowid) = rowid_name::<T>() {
        let _ = write!(out, " RETURNING {rowid}");
    }
    out
}

/// The indexes of the primary-key columns, in key order.
pub(crate) fn key_indexes<T: Table>() -> Vec<usize> {
    T::PRIMARY_KEY.iter().filter_map(|k| T::COLUMNS.iter().position(|c| c == k)).collect()
}

/// How to name the rowid in a `RETURNING`: the rowid-alias key column, else the first of
/// `rowid`, `_rowid_`, `oid` that no column shadows; `None` for a WITHOUT ROWID table (or all
/// three shadowed).
fn rowid_name<T: Table>() -> Option<String> {
    let sql = T::__SQL;
    if sql.without_rowid {
        return None;
    }
    if let Some(k) = sql.rowid_key {
        return Some(quote_ident(T::COLUMNS[k]));
    }
    ["rowid", "_rowid_", "oid"]
        .into_iter()
        .find(|alias| !T::COLUMNS.iter().any(|c| c.eq_ignore_ascii_case(alias)))
        .map(str::to_owned)
}
