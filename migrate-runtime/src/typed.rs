//! Typed data access: the `#[derive(Table)]` struct reads and writes its own rows.
//!
//! [`Crud`] adds `insert`, `get`, `list`, `find`, `update` and `delete` to a
//! [`rusqlite::Connection`] (and so to a [`rusqlite::Transaction`], which dereferences to one),
//! to [`Database`] and to the generated `Db`. [`Database::transaction`] runs a closure in one
//! transaction, committing on `Ok` and rolling back on `Err`.
//!
//! Every statement is built by the derive at compile time with quoted identifiers, takes its
//! values as bound parameters, and is prepared once per connection (`prepare_cached`) or per
//! transaction ([`Tx`]). Errors are [`Error::Data`], naming the operation, the table and, when
//! it is known, the column. See [`Crud`] for the design.

use std::fmt::{self, Write as _};
use std::marker::PhantomData;

use rusqlite::types::ToSql;
use rusqlite::{Connection, Statement, Transaction, TransactionBehavior};

use migrate_engine::quote_ident;

use crate::table::{Column, Keyed, Table};
use crate::{Database, Error, Phase, Result};

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
        })
    }
}

/// A value that can be compared with a column whose field has Rust type `V`: `V` itself, `&V`,
/// `&str` for `String`, `&[u8]` for `Vec<u8>`, and, for an `Option<V>` column, `None` or any of
/// those for `V`. A value of another type does not compile.
///
/// ```compile_fail
/// use migrate_runtime::Table;
///
/// #[derive(Table)]
/// pub struct User {
///     #[column(primary_key)]
///     pub id: i64,
///     pub email: String,
/// }
///
/// let filter = User::COL.id.eq("not a number"); // error: `&str` is not a value of an i64 column
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be compared with a column of type `{V}`",
    label = "not a value of a `{V}` column",
    note = "pass a `{V}`, a reference to one, or for String and Vec<u8> columns a &str or &[u8]"
)]
pub trait ColumnValue<V>: ToSql {}

impl<V: ToSql> ColumnValue<V> for V {}
impl<V: ToSql> ColumnValue<V> for &V {}
impl ColumnValue<String> for &str {}
impl ColumnValue<Vec<u8>> for &[u8] {}
impl<V: ToSql> ColumnValue<Option<V>> for V {}
impl<V: ToSql> ColumnValue<Option<V>> for &V {}
impl ColumnValue<Option<String>> for &str {}
impl ColumnValue<Option<Vec<u8>>> for &[u8] {}

/// An equality filter on the columns of table `T`, for [`Crud::find`]: made by
/// [`Column::eq`] and joined with [`Filter::and`]. `NULL` matches `None` (the SQL is
/// `"column" IS ?`, which SQLite answers from an index like `=`).
///
/// ```
/// use migrate_runtime::Table;
///
/// #[derive(Table)]
/// pub struct User {
///     #[column(primary_key)]
///     pub id: i64,
///     pub email: String,
///     pub team_id: Option<i64>,
/// }
///
/// let filter = User::COL.team_id.eq(None).and(User::COL.email.eq("ada@example.com"));
/// assert_eq!(filter.to_sql_condition(), r#""team_id" IS ?1 AND "email" IS ?2"#);
/// ```
pub struct Filter<'a, T> {
    terms: Vec<(usize, Box<dyn ToSql + 'a>)>,
    marker: PhantomData<fn() -> T>,
}

impl<T, V> Column<T, V> {
    /// The filter "this column equals `value`" (`NULL` equals `None`).
    ///
    /// ```
    /// use migrate_runtime::Table;
    ///
    /// #[derive(Table)]
    /// pub struct Tag {
    ///     #[column(primary_key)]
    ///     pub name: String,
    ///     pub uses: u32,
    /// }
    ///
    /// let by_name = Tag::COL.name.eq("rust");
    /// let unused = Tag::COL.uses.eq(0);
    /// # let _ = (by_name, unused);
    /// ```
    #[must_use]
    pub fn eq<'a>(self, value: impl ColumnValue<V> + 'a) -> Filter<'a, T> {
        Filter { terms: vec![(self.index(), Box::new(value))], marker: PhantomData }
    }
}

impl<'a, T: Table> Filter<'a, T> {
    /// Both filters must hold.
    #[must_use]
    pub fn and(mut self, other: Filter<'a, T>) -> Self {
        self.terms.extend(other.terms);
        self
    }

    /// The SQL condition, with parameters `?1`, `?2`, .. in term order.
    #[must_use]
    pub fn to_sql_condition(&self) -> String {
        let mut out = String::new();
        for (i, (column, _)) in self.terms.iter().enumerate() {
            if i > 0 {
                out.push_str(" AND ");
            }
            out.push_str(&quote_ident(T::COLUMNS[*column]));
            let _ = write!(out, " IS ?{}", i + 1);
        }
        out
    }
}

impl<T> fmt::Debug for Filter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Filter")
            .field("columns", &self.terms.iter().map(|t| t.0).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn data_error<T: Table>(
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

fn collect_rows<T: Table>(stmt: &mut Statement<'_>, operation: Operation) -> Result<Vec<T>> {
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(|e| data_error::<T>(operation, None, e))? {
        out.push(T::from_row(row).map_err(|e| read_error::<T>(operation, e))?);
    }
    Ok(out)
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
/// - **Filters.** [`find`](Self::find) takes a [`Filter`] built from the typed columns
///   (`User::COL.email.eq(..)`): a column of another table or a value of another type does not
///   compile; `None` matches `NULL`.
/// - **Order.** Rows come back in primary-key order (a table without a key: SQLite's scan
///   order).
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

    /// The rows matching `filter`, in primary-key order.
    ///
    /// # Errors
    /// [`Error::Data`]: a filter value that does not convert, or a stored value that does not
    /// fit its field (naming the column).
    fn find<T: Table>(&self, filter: Filter<'_, T>) -> Result<Vec<T>> {
        let sql = T::__SQL;
        let mut text = String::with_capacity(sql.select.len() + sql.order.len() + 64);
        text.push_str(sql.select);
        text.push_str(" WHERE ");
        text.push_str(&filter.to_sql_condition());
        text.push_str(sql.order);
        self.__with_statement(&text, |stmt| {
            for (i, (column, value)) in filter.terms.iter().enumerate() {
                stmt.raw_bind_parameter(i + 1, value)
                    .map_err(|e| data_error::<T>(Operation::Find, Some(*column), e))?;
            }
            collect_rows(stmt, Operation::Find)
        })
        .map_err(|e| data_error::<T>(Operation::Find, None, e))?
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
