//! Typed data access: the `#[derive(Table)]` struct reads and writes its own rows.
//!
//! [`Crud`] adds `insert`, `get`, `list`, `find`, `update` and `delete`, and `insert_many`,
//! `upsert`, `upsert_on`, `update_columns` and `insert_with_defaults`, to a
//! [`rusqlite::Connection`] (and so to a [`rusqlite::Transaction`], which dereferences to one),
//! to [`Database`] and to the generated `Db`. [`Query`] (`User::query()`) filters, orders,
//! pages, counts and tests for rows; [`Filter`] is its condition. [`Database::transaction`]
//! runs a closure in one transaction, committing on `Ok` and rolling back on `Err`.
//!
//! Every statement quotes its identifiers and takes its values as bound parameters; the fixed
//! ones are built by the derive at compile time, the others (filters, orders, chosen columns)
//! from the typed columns at run time. Each is prepared once per connection
//! (`prepare_cached`) or per transaction ([`Tx`]). Errors are [`Error::Data`], naming the
//! operation, the table and, when it is known, the column. See [`Crud`] for the design.

use std::fmt;

use rusqlite::{Connection, Statement, Transaction, TransactionBehavior};

use crate::table::{Keyed, Table};
use crate::{Database, Error, Phase, Result};

mod filter;
mod query;
mod write;

pub use filter::{ColumnValue, Filter, Nullable};
pub use query::{Direction, Nulls, Order, Query};
pub use write::ColumnList;

/// The SQL of one table's typed operations; written by the derive (not a public API).
#[doc(hidden)]
#[derive(Debug)]
pub struct TableSql {
    /// `INSERT INTO t (every column) VALUES (?1, ..)`.
    pub insert: &'static str,
    /// The same without the rowid-alias key column (empty when there is none).
    pub insert_assigned: &'static str,
    /// Index of the rowid-alias key column, if the table has one.
    pub rowid_key: Option<usize>,
    /// `true` for a WITHOUT ROWID table.
    pub without_rowid: bool,
    /// `SELECT every column FROM t`.
    pub select: &'static str,
    /// ` ORDER BY key columns` (empty without a key).
    pub order: &'static str,
    /// `select` + `order`.
    pub list: &'static str,
    /// `select` + ` WHERE key = ?1 ..` (empty without a key).
    pub get: &'static str,
    /// `UPDATE t SET non-key = ?1, .. WHERE key = ?n ..` (empty without a key).
    pub update: &'static str,
    /// The columns `update` binds, in parameter order.
    pub update_columns: &'static [usize],
    /// `DELETE FROM t WHERE key = ?1 ..` (empty without a key).
    pub delete: &'static str,
}

/// The typed operation that failed, as named by [`Error::Data`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// [`Crud::insert`].
    Insert,
    /// [`Crud::get`].
    Get,
    /// [`Crud::list`].
    List,
    /// [`Crud::find`].
    Find,
    /// [`Crud::update`].
    Update,
    /// [`Crud::delete`].
    Delete,
    /// [`Query::list`] and [`Query::first`].
    Query,
    /// [`Query::count`].
    Count,
    /// [`Query::exists`].
    Exists,
    /// [`Crud::insert_many`].
    InsertMany,
    /// [`Crud::upsert`] and [`Crud::upsert_on`].
    Upsert,
    /// [`Crud::update_columns`].
    UpdateColumns,
    /// [`Crud::insert_with_defaults`].
    InsertWithDefaults,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Insert => "insert into",
            Operation::Get => "get from",
            Operation::List => "list",
            Operation::Find => "find in",
            Operation::Update => "update",
            Operation::Delete => "delete from",
            Operation::Query => "query",
            Operation::Count => "count the rows of",
            Operation::Exists => "look for rows in",
            Operation::InsertMany => "insert rows into",
            Operation::Upsert => "upsert into",
            Operation::UpdateColumns => "update columns of",
            Operation::InsertWithDefaults => "insert with defaults into",
        })
    }
}

pub(crate) fn data_error<T: Table>(
    operation: Operation,
    column: Option<usize>,
    source: rusqlite::Error,
) -> Error {
    Error::Data {
        operation,
        table: T::NAME,
        column: column.and_then(|c| T::COLUMNS.get(c).copied()),
        source,
    }
}

/// Maps an error of [`Table::from_row`] (whose columns are [`Table::COLUMNS`] in order) to the
/// column it names.
fn read_error<T: Table>(operation: Operation, source: rusqlite::Error) -> Error {
    let column = match &source {
        rusqlite::Error::InvalidColumnType(i, ..)
        | rusqlite::Error::FromSqlConversionFailure(i, ..)
        | rusqlite::Error::IntegralValueOutOfRange(i, ..)
        | rusqlite::Error::InvalidColumnIndex(i) => Some(*i),
        _ => None,
    };
    data_error::<T>(operation, column, source)
}

fn bind_columns<T: Table>(
    row: &T,
    stmt: &mut Statement<'_>,
    columns: impl Iterator<Item = usize>,
    operation: Operation,
) -> Result<()> {
    for (i, column) in columns.enumerate() {
        row.__bind_column(column, stmt, i + 1)
            .map_err(|e| data_error::<T>(operation, Some(column), e))?;
    }
    Ok(())
}

pub(crate) fn collect_rows<T: Table>(
    stmt: &mut Statement<'_>,
    operation: Operation,
) -> Result<Vec<T>> {
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(|e| data_error::<T>(operation, None, e))? {
        out.push(T::from_row(row).map_err(|e| read_error::<T>(operation, e))?);
    }
    Ok(out)
}

/// The columns an insert of `row` writes: all but `left_out` and, when SQLite assigns it, the
/// rowid-alias key.
fn inserted_columns<T: Table>(row: &T, left_out: &[usize]) -> Vec<usize> {
    let skip = if row.__assigns_rowid() { T::__SQL.rowid_key } else { None };
    (0..T::COLUMNS.len()).filter(|c| Some(*c) != skip && !left_out.contains(c)).collect()
}

/// Whether [`Crud::insert_many`] runs in a transaction of its own or a savepoint of the
/// caller's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Own,
    Savepoint,
}

impl Scope {
    fn begin(self) -> &'static str {
        match self {
            Scope::Own => "BEGIN IMMEDIATE",
            Scope::Savepoint => "SAVEPOINT godwit_insert_many",
        }
    }

    fn commit(self) -> &'static str {
        match self {
            Scope::Own => "COMMIT",
            Scope::Savepoint => "RELEASE godwit_insert_many",
        }
    }

    fn rollback(self) -> &'static str {
        match self {
            Scope::Own => "ROLLBACK",
            Scope::Savepoint => "ROLLBACK TO godwit_insert_many; RELEASE godwit_insert_many",
        }
    }
}

/// The rows of [`Crud::insert_many`], through one statement per insert shape.
fn insert_rows<'r, C, T>(conn: &C, rows: impl IntoIterator<Item = &'r T>) -> Result<usize>
where
    C: Crud + ?Sized,
    T: Table + 'r,
{
    let op = Operation::InsertMany;
    let sql = T::__SQL;
    conn.__with_statement(sql.insert, |full| {
        if sql.rowid_key.is_none() {
            return insert_each(rows, full, None);
        }
        conn.__with_statement(sql.insert_assigned, |assigned| {
            insert_each(rows, full, Some(assigned))
        })
        .map_err(|e| data_error::<T>(op, None, e))?
    })
    .map_err(|e| data_error::<T>(op, None, e))?
}

fn insert_each<'r, T: Table + 'r>(
    rows: impl IntoIterator<Item = &'r T>,
    full: &mut Statement<'_>,
    mut assigned: Option<&mut Statement<'_>>,
) -> Result<usize> {
    let mut n = 0;
    for row in rows {
        match assigned.as_deref_mut() {
            Some(stmt) if row.__assigns_rowid() => insert_one(row, stmt, T::__SQL.rowid_key)?,
            _ => insert_one(row, full, None)?,
        }
        n += 1;
    }
    Ok(n)
}

/// Binds every column of `row` but `skip` and runs `stmt`.
fn insert_one<T: Table>(row: &T, stmt: &mut Statement<'_>, skip: Option<usize>) -> Result<()> {
    let op = Operation::InsertMany;
    bind_columns(row, stmt, (0..T::COLUMNS.len()).filter(|c| Some(*c) != skip), op)?;
    stmt.raw_execute().map_err(|e| data_error::<T>(op, None, e))?;
    Ok(())
}

/// [`Crud::upsert`] and [`Crud::upsert_on`] with the conflict target's column indexes.
fn upsert_row<C, T>(conn: &C, row: &T, target: &[usize]) -> Result<i64>
where
    C: Crud + ?Sized,
    T: Table,
{
    let op = Operation::Upsert;
    let columns = inserted_columns(row, &[]);
    let sql = write::upsert_of::<T>(&columns, target);
    conn.__with_statement(&sql, |stmt| {
        bind_columns(row, stmt, columns.iter().copied(), op)?;
        let mut rows = stmt.raw_query();
        let returned = rows.next().map_err(|e| data_error::<T>(op, None, e))?;
        match returned {
            Some(r) => r.get(0).map_err(|e| data_error::<T>(op, None, e)),
            None => Ok(0),
        }
    })
    .map_err(|e| data_error::<T>(op, None, e))?
}

/// Typed reads and writes of `#[derive(Table)]` rows, for a [`Connection`], a
/// [`Transaction`] (through its `Deref` to `Connection`), a [`Database`], the generated `Db`,
/// and the [`Tx`] of [`Database::transaction`].
///
/// ```
/// use migrate_runtime::{Crud, Table};
/// # use migrate_runtime::rusqlite::Connection;
///
/// #[derive(Debug, PartialEq, Table)]
/// #[table(name = "users")]
/// pub struct User {
///     #[column(primary_key, autoincrement)]
///     pub id: i64,
///     #[column(unique)]
///     pub email: String,
///     pub bio: Option<String>,
/// }
///
/// # let conn = Connection::open_in_memory()?;
/// # conn.execute_batch(r#"CREATE TABLE "users" ("id" INTEGER PRIMARY KEY AUTOINCREMENT,
/// #     "email" TEXT NOT NULL UNIQUE, "bio" TEXT)"#)?;
/// // An id of 0 lets SQLite assign one; insert returns it.
/// let id = conn.insert(&User { id: 0, email: "ada@example.com".into(), bio: None })?;
/// let mut ada = conn.get::<User>(id)?.expect("just inserted");
/// ada.bio = Some("analyst".into());
/// assert!(conn.update(&ada)?);
/// assert_eq!(conn.find(User::COL.email.eq("ada@example.com"))?, [ada]);
/// assert!(conn.delete::<User>(id)?);
/// assert!(conn.list::<User>()?.is_empty());
/// # Ok::<(), migrate_runtime::Error>(())
/// ```
///
/// How it works:
/// - **Statements.** The derive writes each statement at compile time, every identifier quoted
///   (`"` doubled), every value a bound parameter. A statement is prepared once: cached on the
///   connection (`prepare_cached`), or, inside [`Database::transaction`], kept by the [`Tx`],
///   which finds it again without hashing or allocating (100,000 inserts in one transaction run
///   within a few percent of one reused rusqlite statement: figure 8 of `cargo run --release -p
///   bench`, see BENCHMARKS.md). rusqlite's cache keeps 16 statements by
///   default; an application using more raises it with
///   `Connection::set_prepared_statement_cache_capacity`.
/// - **Keys.** [`get`](Self::get) and [`delete`](Self::delete) take the primary key as
///   [`Keyed::Key`]: the value for `i64` and other `Copy` built-ins, `&str` for `String`,
///   `&[u8]` for `Vec<u8>`, `&T` otherwise, a tuple in key order for a composite key. They,
///   and [`update`](Self::update), only compile for a table with a primary key.
/// - **New rows.** A rowid-alias key (a single `INTEGER PRIMARY KEY`) of `0` means "let SQLite
///   assign it" (see [`insert`](Self::insert)).
/// - **Filters and queries.** [`find`](Self::find) takes a [`Filter`] built from the typed
///   columns (`User::COL.age.gt(30).or(..)`), and [`Query`] (`User::query()`) adds an order,
///   a limit and an offset, `count` and `exists`: a column of another table, a value of
///   another type, an order comparison on a BLOB column, `like` on a column that is not TEXT
///   or `is_null` on a NOT NULL column does not compile; `eq(None)` matches `NULL`.
/// - **Order.** Rows come back in primary-key order (a table without a key: SQLite's scan
///   order), or a [`Query`]'s own.
/// - **Writes of many rows, of some columns, of defaults.** [`insert_many`](Self::insert_many)
///   reuses one statement, all or nothing; [`upsert`](Self::upsert) and
///   [`upsert_on`](Self::upsert_on) write `ON CONFLICT .. DO UPDATE`;
///   [`update_columns`](Self::update_columns) writes only the columns named;
///   [`insert_with_defaults`](Self::insert_with_defaults) leaves the columns named to their
///   SQL `DEFAULT`. Plain [`insert`](Self::insert) writes every field, a `None` as `NULL`.
/// - **Errors.** [`Error::Data`] names the operation, the table and, when a value failed to
///   convert in either direction, the column; SQLite's own message (a `UNIQUE` or `CHECK`
///   failure, a lock) is its source.
///
/// Implement it for your own wrapper by returning its connection from
/// [`connection`](Self::connection).
pub trait Crud {
    /// The connection the operations run on.
    fn connection(&self) -> &Connection;

    /// Runs `f` on the prepared statement for `sql`. The default uses the connection's
    /// statement cache; [`Tx`] keeps its own.
    #[doc(hidden)]
    fn __with_statement<R>(
        &self,
        sql: &str,
        f: impl FnOnce(&mut Statement<'_>) -> Result<R>,
    ) -> rusqlite::Result<Result<R>> {
        let mut stmt = self.connection().prepare_cached(sql)?;
        Ok(f(&mut stmt))
    }

    /// Inserts `row` and returns its rowid.
    ///
    /// When the primary key is a rowid alias (a single `INTEGER PRIMARY KEY` field of a
    /// built-in integer type, with or without `autoincrement`) and the row's key is `0`, the key
    /// is left out and SQLite assigns it: the returned rowid is the new key. Any other key is
    /// stored as given (so a key of 0 itself cannot be inserted this way). A WITHOUT ROWID
    /// table has no rowid: the key is the row's own and 0 is returned.
    ///
    /// # Errors
    /// [`Error::Data`]: a value that does not convert (naming its column), or a constraint
    /// (`UNIQUE`, `NOT NULL`, `CHECK`, foreign key) that SQLite reports.
    fn insert<T: Table>(&self, row: &T) -> Result<i64> {
        let sql = T::__SQL;
        let assigned = row.__assigns_rowid();
        let text = if assigned { sql.insert_assigned } else { sql.insert };
        let skip = if assigned { sql.rowid_key } else { None };
        self.__with_statement(text, |stmt| {
            let columns = (0..T::COLUMNS.len()).filter(|c| Some(*c) != skip);
            bind_columns(row, stmt, columns, Operation::Insert)?;
            stmt.raw_execute().map_err(|e| data_error::<T>(Operation::Insert, None, e))?;
            Ok(())
        })
        .map_err(|e| data_error::<T>(Operation::Insert, None, e))??;
        Ok(if sql.without_rowid { 0 } else { self.connection().last_insert_rowid() })
    }

    /// The row with primary key `key` (a tuple for a composite key), if there is one.
    ///
    /// # Errors
    /// [`Error::Data`]: a stored value that does not fit its field (naming the column).
    fn get<T: Keyed>(&self, key: T::Key<'_>) -> Result<Option<T>> {
        self.__with_statement(T::__SQL.get, |stmt| {
            T::__bind_key(key, stmt, 1).map_err(|e| data_error::<T>(Operation::Get, None, e))?;
            let mut rows = stmt.raw_query();
            match rows.next().map_err(|e| data_error::<T>(Operation::Get, None, e))? {
                Some(row) => {
                    Ok(Some(T::from_row(row).map_err(|e| read_error::<T>(Operation::Get, e))?))
                }
                None => Ok(None),
            }
        })
        .map_err(|e| data_error::<T>(Operation::Get, None, e))?
    }

    /// Every row of the table, in primary-key order.
    ///
    /// # Errors
    /// [`Error::Data`]: a stored value that does not fit its field (naming the column).
    fn list<T: Table>(&self) -> Result<Vec<T>> {
        self.__with_statement(T::__SQL.list, |stmt| collect_rows(stmt, Operation::List))
            .map_err(|e| data_error::<T>(Operation::List, None, e))?
    }

    /// The rows matching `filter`, in primary-key order: `T::query().filter(filter).list(..)`
    /// (see [`Query`] for order, limit, count and exists).
    ///
    /// # Errors
    /// [`Error::Data`]: a filter value that does not convert, or a stored value that does not
    /// fit its field (naming the column).
    fn find<T: Table>(&self, filter: Filter<'_, T>) -> Result<Vec<T>> {
        Query::new().filter(filter).list_as(self, Operation::Find, None)
    }

    /// Writes every non-key field of `row` to the row with `row`'s primary key. Returns whether
    /// such a row existed (`false`: nothing was written).
    ///
    /// # Errors
    /// [`Error::Data`]: a value that does not convert (naming its column), or a constraint.
    fn update<T: Keyed>(&self, row: &T) -> Result<bool> {
        let sql = T::__SQL;
        self.__with_statement(sql.update, |stmt| {
            bind_columns(row, stmt, sql.update_columns.iter().copied(), Operation::Update)?;
            let changed =
                stmt.raw_execute().map_err(|e| data_error::<T>(Operation::Update, None, e))?;
            Ok(changed > 0)
        })
        .map_err(|e| data_error::<T>(Operation::Update, None, e))?
    }

    /// Deletes the row with primary key `key`. Returns whether there was one.
    ///
    /// # Errors
    /// [`Error::Data`]: a constraint (a foreign key that restricts the delete).
    fn delete<T: Keyed>(&self, key: T::Key<'_>) -> Result<bool> {
        self.__with_statement(T::__SQL.delete, |stmt| {
            T::__bind_key(key, stmt, 1).map_err(|e| data_error::<T>(Operation::Delete, None, e))?;
            let changed =
                stmt.raw_execute().map_err(|e| data_error::<T>(Operation::Delete, None, e))?;
            Ok(changed > 0)
        })
        .map_err(|e| data_error::<T>(Operation::Delete, None, e))?
    }

    /// Inserts every row of `rows` with one prepared statement (two when some rows let SQLite
    /// assign their rowid-alias key, see [`insert`](Self::insert)), all or nothing: on a
    /// connection outside a transaction it runs in its own (`BEGIN IMMEDIATE` .. `COMMIT`);
    /// inside one (a [`Tx`], a [`rusqlite::Transaction`]) in a savepoint of the caller's
    /// transaction, which the caller still commits. Returns how many rows it inserted.
    ///
    /// ```
    /// use migrate_runtime::{Crud, Table};
    /// # use migrate_runtime::rusqlite::Connection;
    ///
    /// #[derive(Table)]
    /// pub struct Point {
    ///     #[column(primary_key)]
    ///     pub id: i64,
    ///     pub x: f64,
    /// }
    ///
    /// # let conn = Connection::open_in_memory()?;
    /// # conn.execute_batch(r#"CREATE TABLE "point" ("id" INTEGER PRIMARY KEY, "x" REAL NOT NULL)"#)?;
    /// let points: Vec<Point> = (1..=100).map(|id| Point { id, x: id as f64 / 2.0 }).collect();
    /// assert_eq!(conn.insert_many(&points)?, 100);
    /// // A failing row (a duplicate key) leaves nothing behind.
    /// assert!(conn.insert_many(&[Point { id: 101, x: 0.0 }, Point { id: 1, x: 0.0 }]).is_err());
    /// assert_eq!(Point::query().count(&conn)?, 100);
    /// # Ok::<(), migrate_runtime::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Data`] ([`Operation::InsertMany`]), after the rollback of every row: a value
    /// that does not convert (naming its column), a constraint, or the transaction's begin or
    /// commit.
    fn insert_many<'r, T: Table + 'r>(
        &self,
        rows: impl IntoIterator<Item = &'r T>,
    ) -> Result<usize> {
        let op = Operation::InsertMany;
        let conn = self.connection();
        let scope = if conn.is_autocommit() { Scope::Own } else { Scope::Savepoint };
        conn.execute_batch(scope.begin()).map_err(|e| data_error::<T>(op, None, e))?;
        match insert_rows(self, rows) {
            Ok(n) => {
                if let Err(e) = conn.execute_batch(scope.commit()) {
                    let _ = conn.execute_batch(scope.rollback());
                    return Err(data_error::<T>(op, None, e));
                }
                Ok(n)
            }
            Err(err) => {
                // The row's error is the one to report; a failing rollback leaves the caller's
                // transaction (or SQLite, on close) to roll back.
                let _ = conn.execute_batch(scope.rollback());
                Err(err)
            }
        }
    }

    /// Inserts `row`, or, when a row with its primary key exists, overwrites that row's other
    /// columns with `row`'s (`INSERT .. ON CONFLICT (key) DO UPDATE SET c = excluded.c, ..`).
    /// Returns the row's rowid (0 for a WITHOUT ROWID table). A rowid-alias key of 0 is
    /// assigned as by [`insert`](Self::insert), so that row is always new.
    ///
    /// ```
    /// use migrate_runtime::{Crud, Table};
    /// # use migrate_runtime::rusqlite::Connection;
    ///
    /// #[derive(Debug, PartialEq, Table)]
    /// pub struct Setting {
    ///     #[column(primary_key)]
    ///     pub key: String,
    ///     pub value: String,
    /// }
    ///
    /// # let conn = Connection::open_in_memory()?;
    /// # conn.execute_batch(r#"CREATE TABLE "setting" ("key" TEXT PRIMARY KEY, "value" TEXT NOT NULL)"#)?;
    /// conn.upsert(&Setting { key: "theme".into(), value: "dark".into() })?;
    /// conn.upsert(&Setting { key: "theme".into(), value: "light".into() })?;
    /// assert_eq!(conn.get::<Setting>("theme")?.map(|s| s.value).as_deref(), Some("light"));
    /// # Ok::<(), migrate_runtime::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Data`] ([`Operation::Upsert`]): a value that does not convert (naming its
    /// column), or a constraint other than the key's.
    fn upsert<T: Keyed>(&self, row: &T) -> Result<i64> {
        upsert_row(self, row, &write::key_indexes::<T>())
    }

    /// [`upsert`](Self::upsert) on another uniqueness: inserts `row`, or, when it conflicts with
    /// a row on the `conflict` columns (which must be exactly the columns of a `UNIQUE`
    /// constraint or index, or the primary key), overwrites that row's columns that are neither
    /// in `conflict` nor in the primary key. An empty `conflict` means any uniqueness.
    ///
    /// ```
    /// use migrate_runtime::{Crud, Table};
    /// # use migrate_runtime::rusqlite::Connection;
    ///
    /// #[derive(Debug, PartialEq, Table)]
    /// pub struct User {
    ///     #[column(primary_key)]
    ///     pub id: i64,
    ///     #[column(unique)]
    ///     pub email: String,
    ///     pub name: String,
    /// }
    ///
    /// # let conn = Connection::open_in_memory()?;
    /// # conn.execute_batch(r#"CREATE TABLE "user" ("id" INTEGER PRIMARY KEY,
    /// #     "email" TEXT NOT NULL UNIQUE, "name" TEXT NOT NULL)"#)?;
    /// let id = conn.upsert_on(&User { id: 0, email: "ada@x.org".into(), name: "Ada".into() }, User::COL.email)?;
    /// let again = conn.upsert_on(&User { id: 0, email: "ada@x.org".into(), name: "Ada L.".into() }, User::COL.email)?;
    /// assert_eq!(id, again); // the same row, renamed
    /// assert_eq!(conn.get::<User>(id)?.map(|u| u.name).as_deref(), Some("Ada L."));
    /// # Ok::<(), migrate_runtime::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Data`] ([`Operation::Upsert`]): `conflict` is not a uniqueness of the table
    /// (SQLite: "ON CONFLICT clause does not match any PRIMARY KEY or UNIQUE constraint"), a
    /// value that does not convert, or another constraint.
    fn upsert_on<T: Table>(&self, row: &T, conflict: impl ColumnList<T>) -> Result<i64> {
        let mut target = Vec::new();
        conflict.push_indexes(&mut target);
        upsert_row(self, row, &target)
    }

    /// Writes only the `columns` of `row` (a column, or a tuple of them) to the row with `row`'s
    /// primary key: `UPDATE t SET a = ?1, b = ?2 WHERE key = ?3`. Returns whether such a row
    /// existed. Naming a key column writes the value it already has.
    ///
    /// ```
    /// use migrate_runtime::{Crud, Table};
    /// # use migrate_runtime::rusqlite::Connection;
    ///
    /// #[derive(Debug, PartialEq, Table)]
    /// pub struct User {
    ///     #[column(primary_key)]
    ///     pub id: i64,
    ///     pub name: String,
    ///     pub visits: i64,
    /// }
    ///
    /// # let conn = Connection::open_in_memory()?;
    /// # conn.execute_batch(r#"CREATE TABLE "user" ("id" INTEGER PRIMARY KEY,
    /// #     "name" TEXT NOT NULL, "visits" INTEGER NOT NULL)"#)?;
    /// conn.insert(&User { id: 1, name: "ada".into(), visits: 0 })?;
    /// // A stale copy: only `visits` is written, so the name is kept.
    /// let stale = User { id: 1, name: "old name".into(), visits: 5 };
    /// assert!(conn.update_columns(&stale, User::COL.visits)?);
    /// assert_eq!(conn.get::<User>(1)?, Some(User { id: 1, name: "ada".into(), visits: 5 }));
    /// # Ok::<(), migrate_runtime::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Data`] ([`Operation::UpdateColumns`]): a value that does not convert (naming
    /// its column), or a constraint.
    fn update_columns<T: Keyed>(&self, row: &T, columns: impl ColumnList<T>) -> Result<bool> {
        let op = Operation::UpdateColumns;
        let bound = write::update_of::<T>(&write::indexes(&columns));
        self.__with_statement(&bound.sql, |stmt| {
            bind_columns(row, stmt, bound.columns.iter().copied(), op)?;
            let changed = stmt.raw_execute().map_err(|e| data_error::<T>(op, None, e))?;
            Ok(changed > 0)
        })
        .map_err(|e| data_error::<T>(op, None, e))?
    }

    /// Inserts `row` but leaves the `defaulted` columns out of the statement, so SQLite fills
    /// them: with the column's `DEFAULT` (`#[column(default = ..)]` or `default_sql`, e.g.
    /// `CURRENT_TIMESTAMP`), else `NULL`. The fields of `row` for those columns are ignored (read
    /// the row back with [`get`](Self::get) to see what SQLite stored). A rowid-alias key of 0 is
    /// assigned as by [`insert`](Self::insert). Returns the rowid.
    ///
    /// The rule is explicit on purpose: [`insert`](Self::insert) always writes every field (a
    /// `None` is stored as `NULL`, never replaced by a default), and a default applies only to
    /// the columns named here.
    ///
    /// ```
    /// use migrate_runtime::{Crud, Table};
    /// # use migrate_runtime::rusqlite::Connection;
    ///
    /// #[derive(Debug, PartialEq, Table)]
    /// pub struct Task {
    ///     #[column(primary_key)]
    ///     pub id: i64,
    ///     pub title: String,
    ///     #[column(default = "todo")]
    ///     pub status: String,
    /// }
    ///
    /// # let conn = Connection::open_in_memory()?;
    /// # conn.execute_batch(r#"CREATE TABLE "task" ("id" INTEGER PRIMARY KEY,
    /// #     "title" TEXT NOT NULL, "status" TEXT NOT NULL DEFAULT 'todo')"#)?;
    /// let task = Task { id: 0, title: "write docs".into(), status: String::new() };
    /// let id = conn.insert_with_defaults(&task, Task::COL.status)?;
    /// assert_eq!(conn.get::<Task>(id)?.map(|t| t.status).as_deref(), Some("todo"));
    /// # Ok::<(), migrate_runtime::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Data`] ([`Operation::InsertWithDefaults`]): a value that does not convert
    /// (naming its column), or a constraint (a left-out NOT NULL column without a default
    /// fails on `NOT NULL`).
    fn insert_with_defaults<T: Table>(
        &self,
        row: &T,
        defaulted: impl ColumnList<T>,
    ) -> Result<i64> {
        let op = Operation::InsertWithDefaults;
        let left_out = write::indexes(&defaulted);
        let columns = inserted_columns(row, &left_out);
        self.__with_statement(&write::insert_of::<T>(&columns), |stmt| {
            bind_columns(row, stmt, columns.iter().copied(), op)?;
            stmt.raw_execute().map_err(|e| data_error::<T>(op, None, e))?;
            Ok(())
        })
        .map_err(|e| data_error::<T>(op, None, e))??;
        Ok(if T::__SQL.without_rowid { 0 } else { self.connection().last_insert_rowid() })
    }
}

impl Crud for Connection {
    fn connection(&self) -> &Connection {
        self
    }
}

impl Crud for Database {
    fn connection(&self) -> &Connection {
        self.conn()
    }
}

/// How many statements a [`Tx`] keeps prepared; more distinct statements in one transaction
/// fall back to the connection's cache.
const TX_STATEMENTS: usize = 32;

/// The transaction [`Database::transaction`] passes to its closure: [`Crud`] operations,
/// with their statements kept prepared for the whole transaction, and, through `Deref`, the
/// [`rusqlite::Transaction`] for raw SQL.
///
/// It cannot commit or roll back itself: the closure's `Ok` or `Err` decides.
pub struct Tx<'t> {
    tx: &'t Transaction<'t>,
    statements: std::cell::RefCell<Vec<(Box<str>, Statement<'t>)>>,
}

impl<'t> Tx<'t> {
    /// Wraps a [`rusqlite::Transaction`] you manage yourself, so its [`Crud`] operations keep
    /// their statements prepared ([`Database::transaction`] does this for you). The transaction
    /// can only be committed once the `Tx` is gone.
    ///
    /// ```
    /// use migrate_runtime::rusqlite::Connection;
    /// use migrate_runtime::{Crud, Table, Tx};
    ///
    /// #[derive(Table)]
    /// pub struct Event {
    ///     #[column(primary_key)]
    ///     pub id: i64,
    /// }
    ///
    /// let mut conn = Connection::open_in_memory()?;
    /// conn.execute_batch(r#"CREATE TABLE "event" ("id" INTEGER PRIMARY KEY)"#)?;
    /// let tx = conn.transaction()?;
    /// {
    ///     let typed = Tx::new(&tx);
    ///     for id in 1..=1000 {
    ///         typed.insert(&Event { id })?;
    ///     }
    /// }
    /// tx.commit()?;
    /// assert_eq!(conn.list::<Event>()?.len(), 1000);
    /// # Ok::<(), migrate_runtime::Error>(())
    /// ```
    #[must_use]
    pub fn new(tx: &'t Transaction<'t>) -> Self {
        Tx { tx, statements: std::cell::RefCell::new(Vec::new()) }
    }
}

impl<'t> std::ops::Deref for Tx<'t> {
    type Target = Transaction<'t>;

    fn deref(&self) -> &Transaction<'t> {
        self.tx
    }
}

impl fmt::Debug for Tx<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tx").field("statements", &self.statements.borrow().len()).finish()
    }
}

impl Crud for Tx<'_> {
    fn connection(&self) -> &Connection {
        self.tx
    }

    fn __with_statement<R>(
        &self,
        sql: &str,
        f: impl FnOnce(&mut Statement<'_>) -> Result<R>,
    ) -> rusqlite::Result<Result<R>> {
        // The statement is taken out while `f` runs, so nothing is borrowed across user code.
        let found = {
            let mut statements = self.statements.borrow_mut();
            let at = statements.iter().rposition(|(key, _)| **key == *sql);
            at.map(|i| statements.swap_remove(i))
        };
        let (key, mut stmt) = match found {
            Some(entry) => entry,
            None => (Box::from(sql), self.tx.prepare(sql)?),
        };
        let result = f(&mut stmt);
        let mut statements = self.statements.borrow_mut();
        if statements.len() < TX_STATEMENTS {
            statements.push((key, stmt));
        }
        Ok(result)
    }
}

impl Database {
    /// Runs `f` in one transaction (`BEGIN IMMEDIATE`, so a writer never fails half-way on a
    /// lock upgrade): commits when it returns `Ok`, rolls back when it returns `Err` or panics.
    /// The generated `Db` has it too (through `DerefMut`). `f` gets a [`Tx`]: the [`Crud`]
    /// operations with their statements kept prepared, and the [`rusqlite::Transaction`] for
    /// raw SQL.
    ///
    /// ```
    /// use migrate_runtime::{Crud, Database, Error, Options, Table};
    ///
    /// #[derive(Table)]
    /// pub struct Event {
    ///     #[column(primary_key)]
    ///     pub id: i64,
    /// }
    ///
    /// let mut db = Database::open_in_memory(&[], &Options::new())?;
    /// db.conn().execute_batch(r#"CREATE TABLE "event" ("id" INTEGER PRIMARY KEY)"#)?;
    /// db.transaction(|tx| {
    ///     tx.insert(&Event { id: 1 })?;
    ///     tx.execute(r#"INSERT INTO "event" ("id") VALUES (2)"#, [])?;
    ///     Ok::<_, Error>(())
    /// })?;
    /// // A closure that fails leaves nothing behind.
    /// let failed = db.transaction(|tx| {
    ///     tx.insert(&Event { id: 3 })?;
    ///     tx.insert(&Event { id: 1 }) // duplicate key: rolls back the whole closure
    /// });
    /// assert!(failed.is_err());
    /// assert_eq!(db.list::<Event>()?.len(), 2);
    /// # Ok::<(), Error>(())
    /// ```
    ///
    /// # Errors
    /// `f`'s error (after the rollback), or [`Error::Sqlite`] ([`Phase::Transaction`], converted into `E`) when the
    /// transaction cannot begin or commit.
    pub fn transaction<R, E>(
        &mut self,
        f: impl FnOnce(&Tx<'_>) -> std::result::Result<R, E>,
    ) -> std::result::Result<R, E>
    where
        E: From<Error>,
    {
        let tx =
            self.conn_mut().transaction_with_behavior(TransactionBehavior::Immediate).map_err(
                |source| E::from(Error::Sqlite { phase: Phase::Transaction, tag: None, source }),
            )?;
        // The Tx (and its statements) ends before COMMIT, so no statement is left running.
        let result = f(&Tx::new(&tx));
        match result {
            Ok(value) => {
                tx.commit().map_err(|source| {
                    E::from(Error::Sqlite { phase: Phase::Transaction, tag: None, source })
                })?;
                Ok(value)
            }
            Err(err) => {
                // The closure's error is the one to report; a failing ROLLBACK (the connection
                // is gone) leaves SQLite to roll back when it closes.
                let _ = tx.rollback();
                Err(err)
            }
        }
    }
}
