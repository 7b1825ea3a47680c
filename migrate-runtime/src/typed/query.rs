//! The query builder: a filter, an order, a limit and an offset, run as a list, a first row, a
//! count or an existence test.

use std::fmt::{self, Write as _};
use std::marker::PhantomData;

use rusqlite::Statement;

use migrate_engine::quote_ident;

use super::filter::{Filter, Param};
use super::{Crud, Operation, collect_rows, data_error};
use crate::Result;
use crate::table::{Column, Table};

/// The direction of one [`Order`] key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Direction {
    /// Smallest first (`ASC`).
    Asc,
    /// Largest first (`DESC`).
    Desc,
}

/// Where `NULL`s sort in one [`Order`] key. Without one, SQLite puts `NULL` first in `ASC` and
/// last in `DESC` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Nulls {
    /// `NULLS FIRST`.
    First,
    /// `NULLS LAST`.
    Last,
}

/// One key of a [`Query`]'s order: made by [`Column::asc`] and [`Column::desc`], optionally
/// with [`nulls_first`](Self::nulls_first) or [`nulls_last`](Self::nulls_last).
///
/// ```
/// use migrate_runtime::Table;
///
/// #[derive(Table)]
/// pub struct Task {
///     #[column(primary_key)]
///     pub id: i64,
///     pub due: Option<i64>,
///     pub title: String,
/// }
///
/// let query = Task::query()
///     .order_by(Task::COL.due.asc().nulls_last())
///     .order_by(Task::COL.title.desc());
/// assert!(query.to_sql().ends_with(r#"ORDER BY "due" ASC NULLS LAST, "title" DESC"#));
/// ```
pub struct Order<T> {
    column: usize,
    direction: Direction,
    nulls: Option<Nulls>,
    marker: PhantomData<fn() -> T>,
}

impl<T> Order<T> {
    /// `NULL`s before every value.
    #[must_use]
    pub fn nulls_first(mut self) -> Self {
        self.nulls = Some(Nulls::First);
        self
    }

    /// `NULL`s after every value.
    #[must_use]
    pub fn nulls_last(mut self) -> Self {
        self.nulls = Some(Nulls::Last);
        self
    }

    /// The key's direction.
    #[must_use]
    pub fn direction(&self) -> Direction {
        self.direction
    }

    fn render(&self, names: &[&str], out: &mut String) {
        out.push_str(&quote_ident(names[self.column]));
        out.push_str(match self.direction {
            Direction::Asc => " ASC",
            Direction::Desc => " DESC",
        });
        out.push_str(match self.nulls {
            None => "",
            Some(Nulls::First) => " NULLS FIRST",
            Some(Nulls::Last) => " NULLS LAST",
        });
    }
}

impl<T> Clone for Order<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Order<T> {}

impl<T> fmt::Debug for Order<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Order")
            .field("column", &self.column)
            .field("direction", &self.direction)
            .field("nulls", &self.nulls)
            .finish()
    }
}

impl<T, V, S> Column<T, V, S> {
    /// This column as an ascending [`Order`] key.
    #[must_use]
    pub fn asc(self) -> Order<T> {
        Order { column: self.index(), direction: Direction::Asc, nulls: None, marker: PhantomData }
    }

    /// This column as a descending [`Order`] key.
    #[must_use]
    pub fn desc(self) -> Order<T> {
        Order { column: self.index(), direction: Direction::Desc, nulls: None, marker: PhantomData }
    }
}

/// What a [`Query`] is rendered as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// `SELECT every column ..`.
    Rows,
    /// `SELECT count(*) ..`.
    Count,
    /// `SELECT EXISTS (..)`.
    Exists,
}

/// A query over table `T`, made by [`Table::query`]: [`filter`](Self::filter)s (joined with
/// `AND`), [`order_by`](Self::order_by) keys, a [`limit`](Self::limit) and an
/// [`offset`](Self::offset), then run on any [`Crud`] connection with [`list`](Self::list),
/// [`first`](Self::first), [`count`](Self::count) or [`exists`](Self::exists). Running takes
/// `&self`, so one query can be counted and then listed.
///
/// Every value (the filter's, the limit and the offset) is a bound parameter, so a query of one
/// shape is one prepared statement, reused from the connection's cache for every page. Without
/// an `order_by`, rows come in primary-key order (a table without a key: SQLite's scan order);
/// with one, in exactly the given order (add the key as a last key for a stable page order).
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
///     pub age: i64,
/// }
///
/// # let conn = Connection::open_in_memory()?;
/// # conn.execute_batch(r#"CREATE TABLE "user" ("id" INTEGER PRIMARY KEY, "name" TEXT NOT NULL,
/// #     "age" INTEGER NOT NULL)"#)?;
/// for (id, name, age) in [(1, "ada", 36), (2, "alan", 41), (3, "grace", 29)] {
///     conn.insert(&User { id, name: name.into(), age })?;
/// }
/// let over_30 = User::query().filter(User::COL.age.gt(30));
/// assert_eq!(over_30.count(&conn)?, 2);
/// let names: Vec<String> = over_30
///     .order_by(User::COL.age.desc())
///     .limit(10)
///     .list(&conn)?
///     .into_iter()
///     .map(|u| u.name)
///     .collect();
/// assert_eq!(names, ["alan", "ada"]);
/// assert!(!User::query().filter(User::COL.name.like("z%")).exists(&conn)?);
/// # Ok::<(), migrate_runtime::Error>(())
/// ```
pub struct Query<'a, T> {
    filter: Option<Filter<'a, T>>,
    order: Vec<Order<T>>,
    limit: Option<u64>,
    offset: Option<u64>,
}

impl<'a, T: Table> Query<'a, T> {
    /// A query matching every row (see [`Table::query`]).
    #[must_use]
    pub fn new() -> Self {
        Query { filter: None, order: Vec::new(), limit: None, offset: None }
    }

    /// Keeps only the rows matching `filter` (and every earlier filter).
    #[must_use]
    pub fn filter(mut self, filter: Filter<'a, T>) -> Self {
        self.filter = Some(match self.filter.take() {
            Some(earlier) => earlier.and(filter),
            None => filter,
        });
        self
    }

    /// Adds an order key after the earlier ones (`User::COL.name.asc()`).
    #[must_use]
    pub fn order_by(mut self, key: Order<T>) -> Self {
        self.order.push(key);
        self
    }

    /// At most `n` rows.
    #[must_use]
    pub fn limit(mut self, n: u64) -> Self {
        self.limit = Some(n);
        self
    }

    /// Skips the first `n` rows (of the order).
    #[must_use]
    pub fn offset(mut self, n: u64) -> Self {
        self.offset = Some(n);
        self
    }

    /// The `SELECT` that [`list`](Self::list) runs, with `?1`, `?2`, .. for the values.
    #[must_use]
    pub fn to_sql(&self) -> String {
        self.render(Shape::Rows, self.limit).0
    }

    /// The matching rows, in the query's order.
    ///
    /// # Errors
    /// [`Error::Data`](crate::Error::Data) ([`Operation::Query`]): a filter value that does not
    /// convert, or a stored value that does not fit its field (naming the column).
    pub fn list<C: Crud + ?Sized>(&self, conn: &C) -> Result<Vec<T>> {
        self.list_as(conn, Operation::Query, self.limit)
    }

    /// The first matching row in the query's order, if any (the query with `LIMIT 1`).
    ///
    /// # Errors
    /// As [`list`](Self::list).
    pub fn first<C: Crud + ?Sized>(&self, conn: &C) -> Result<Option<T>> {
        let limit = Some(self.limit.map_or(1, |n| n.min(1)));
        Ok(self.list_as(conn, Operation::Query, limit)?.into_iter().next())
    }

    /// How many rows match (within the limit and offset, when there are any).
    ///
    /// # Errors
    /// [`Error::Data`](crate::Error::Data) ([`Operation::Count`]): a filter value that does not
    /// convert, or SQLite's error.
    pub fn count<C: Crud + ?Sized>(&self, conn: &C) -> Result<u64> {
        let n: i64 = self.scalar(conn, Shape::Count, Operation::Count)?;
        Ok(u64::try_from(n).unwrap_or_default())
    }

    /// Whether any row matches (SQLite stops at the first).
    ///
    /// # Errors
    /// As [`count`](Self::count), with [`Operation::Exists`].
    pub fn exists<C: Crud + ?Sized>(&self, conn: &C) -> Result<bool> {
        self.scalar(conn, Shape::Exists, Operation::Exists)
    }

    pub(crate) fn list_as<C: Crud + ?Sized>(
        &self,
        conn: &C,
        operation: Operation,
        limit: Option<u64>,
    ) -> Result<Vec<T>> {
        let (sql, params, page) = self.render(Shape::Rows, limit);
        conn.__with_statement(&sql, |stmt| {
            bind::<T>(stmt, &params, page, operation)?;
            collect_rows(stmt, operation)
        })
        .map_err(|e| data_error::<T>(operation, None, e))?
    }

    fn scalar<C, R>(&self, conn: &C, shape: Shape, operation: Operation) -> Result<R>
    where
        C: Crud + ?Sized,
        R: rusqlite::types::FromSql,
    {
        let (sql, params, page) = self.render(shape, self.limit);
        conn.__with_statement(&sql, |stmt| {
            bind::<T>(stmt, &params, page, operation)?;
            let mut rows = stmt.raw_query();
            let row = rows.next().map_err(|e| data_error::<T>(operation, None, e))?;
            let row = row.ok_or_else(|| {
                data_error::<T>(operation, None, rusqlite::Error::QueryReturnedNoRows)
            })?;
            row.get(0).map_err(|e| data_error::<T>(operation, None, e))
        })
        .map_err(|e| data_error::<T>(operation, None, e))?
    }

    /// The statement of `shape`, its filter values, and the bound `LIMIT`/`OFFSET` if any.
    fn render(&self, shape: Shape, limit: Option<u64>) -> (String, Vec<Param<'_>>, Option<Page>) {
        let sql = T::__SQL;
        let table = quote_ident(T::NAME);
        let page = (limit.is_some() || self.offset.is_some()).then(|| Page {
            limit: limit.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX)),
            offset: self.offset.map_or(0, |n| i64::try_from(n).unwrap_or(i64::MAX)),
        });
        let mut out = String::with_capacity(sql.select.len() + 96);
        match (shape, page.is_some()) {
            (Shape::Rows, _) => out.push_str(sql.select),
            (Shape::Count, false) => {
                let _ = write!(out, "SELECT count(*) FROM {table}");
            }
            (Shape::Count, true) => {
                let _ = write!(out, "SELECT count(*) FROM (SELECT 1 FROM {table}");
            }
            (Shape::Exists, _) => {
                let _ = write!(out, "SELECT EXISTS (SELECT 1 FROM {table}");
            }
        }
        let params = match &self.filter {
            Some(filter) => {
                out.push_str(" WHERE ");
                filter.render(T::COLUMNS, &mut out)
            }
            None => Vec::new(),
        };
        // The order only matters for the rows, or for which rows a page holds.
        if shape == Shape::Rows || page.is_some() {
            if self.order.is_empty() {
                out.push_str(sql.order);
            } else {
                out.push_str(" ORDER BY ");
                for (i, key) in self.order.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    key.render(T::COLUMNS, &mut out);
                }
            }
        }
        if page.is_some() {
            let _ = write!(out, " LIMIT ?{} OFFSET ?{}", params.len() + 1, params.len() + 2);
        }
        if shape == Shape::Exists || (shape == Shape::Count && page.is_some()) {
            out.push(')');
        }
        (out, params, page)
    }
}

impl<T: Table> Default for Query<'_, T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> fmt::Debug for Query<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Query")
            .field("filter", &self.filter)
            .field("order", &self.order)
            .field("limit", &self.limit)
            .field("offset", &self.offset)
            .finish()
    }
}

/// The bound `LIMIT` (`-1`: none) and `OFFSET` of a query.
#[derive(Debug, Clone, Copy)]
struct Page {
    limit: i64,
    offset: i64,
}

fn bind<T: Table>(
    stmt: &mut Statement<'_>,
    params: &[Param<'_>],
    page: Option<Page>,
    operation: Operation,
) -> Result<()> {
    for (i, param) in params.iter().enumerate() {
        stmt.raw_bind_parameter(i + 1, param.value)
            .map_err(|e| data_error::<T>(operation, Some(param.column), e))?;
    }
    if let Some(page) = page {
        let n = params.len();
        stmt.raw_bind_parameter(n + 1, page.limit)
            .and_then(|()| stmt.raw_bind_parameter(n + 2, page.offset))
            .map_err(|e| data_error::<T>(operation, None, e))?;
    }
    Ok(())
}
