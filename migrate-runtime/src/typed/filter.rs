//! Filters: conditions on the typed columns of one table, rendered with quoted identifiers and
//! bound values.

use std::fmt::{self, Write as _};
use std::marker::PhantomData;

use rusqlite::types::ToSql;

use migrate_engine::quote_ident;

use crate::table::sql_type::{Ordered, Textual};
use crate::table::{Column, Table};

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

/// The field type of a nullable column: `Option<V>`. [`Column::is_null`] and
/// [`Column::is_not_null`] need it, so they do not compile on a NOT NULL column.
#[diagnostic::on_unimplemented(
    message = "the column is NOT NULL: its field is `{Self}`, not an `Option`",
    label = "`is_null`/`is_not_null` need a nullable column",
    note = "a NOT NULL column is never NULL, so the filter would match nothing (or everything)"
)]
pub trait Nullable {}

impl<V> Nullable for Option<V> {}

/// A bound value and the column it is compared with (named by a conversion error).
pub(crate) struct Param<'f> {
    pub(crate) column: usize,
    pub(crate) value: &'f dyn ToSql,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// `IS`: equality where `NULL` equals `NULL`.
    Is,
    /// `IS NOT`.
    IsNot,
    Gt,
    Ge,
    Lt,
    Le,
    Like,
}

impl Op {
    fn sql(self) -> &'static str {
        match self {
            Op::Is => "IS",
            Op::IsNot => "IS NOT",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Like => "LIKE",
        }
    }
}

/// Whether an `IS NULL` test is negated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Nullness {
    Null,
    NotNull,
}

/// The condition tree of a [`Filter`].
enum Expr<'a> {
    Compare { column: usize, op: Op, value: Box<dyn ToSql + 'a> },
    Null { column: usize, test: Nullness },
    In { column: usize, values: Vec<Box<dyn ToSql + 'a>> },
    And(Vec<Expr<'a>>),
    Or(Vec<Expr<'a>>),
    Not(Box<Expr<'a>>),
}

impl<'a> Expr<'a> {
    /// Renders the condition, numbering parameters from `params.len() + 1`.
    fn render<'f>(&'f self, names: &[&str], out: &mut String, params: &mut Vec<Param<'f>>) {
        match self {
            Expr::Compare { column, op, value } => {
                params.push(Param { column: *column, value: &**value });
                let _ =
                    write!(out, "{} {} ?{}", quote_ident(names[*column]), op.sql(), params.len());
            }
            Expr::Null { column, test } => {
                out.push_str(&quote_ident(names[*column]));
                out.push_str(match test {
                    Nullness::Null => " IS NULL",
                    Nullness::NotNull => " IS NOT NULL",
                });
            }
            // `x IN ()` is SQLite's extension; a constant false is plain SQL and means the same.
            Expr::In { values, .. } if values.is_empty() => out.push('0'),
            Expr::In { column, values } => {
                out.push_str(&quote_ident(names[*column]));
                out.push_str(" IN (");
                for (i, value) in values.iter().enumerate() {
                    params.push(Param { column: *column, value: &**value });
                    let sep = if i == 0 { "" } else { ", " };
                    let _ = write!(out, "{sep}?{}", params.len());
                }
                out.push(')');
            }
            Expr::And(terms) | Expr::Or(terms) => {
                let joiner = if matches!(self, Expr::And(_)) { " AND " } else { " OR " };
                for (i, term) in terms.iter().enumerate() {
                    if i > 0 {
                        out.push_str(joiner);
                    }
                    // Every nested AND/OR is parenthesised: the SQL reads as the Rust was built.
                    let nested = matches!(term, Expr::And(_) | Expr::Or(_));
                    if nested {
                        out.push('(');
                    }
                    term.render(names, out, params);
                    if nested {
                        out.push(')');
                    }
                }
            }
            Expr::Not(inner) => {
                out.push_str("NOT (");
                inner.render(names, out, params);
                out.push(')');
            }
        }
    }

    fn columns(&self, out: &mut Vec<usize>) {
        match self {
            Expr::Compare { column, .. } | Expr::Null { column, .. } | Expr::In { column, .. } => {
                out.push(*column);
            }
            Expr::And(terms) | Expr::Or(terms) => terms.iter().for_each(|t| t.columns(out)),
            Expr::Not(inner) => inner.columns(out),
        }
    }
}

/// A condition on the columns of table `T`, for [`Crud::find`](crate::Crud::find) and
/// [`Query::filter`](crate::Query::filter): built from the typed columns (`User::COL.age.gt(30)`)
/// and combined with [`and`](Self::and), [`or`](Self::or) and [`not`](Self::not). Every value
/// is a bound parameter; every identifier is quoted.
///
/// | method | SQL | a `NULL` column |
/// |---|---|---|
/// | [`eq(v)`](Column::eq) | `"c" IS ?` | matches `eq(None)` only |
/// | [`ne(v)`](Column::ne) | `"c" IS NOT ?` | matches `ne(Some(..))`, not `ne(None)` |
/// | [`gt`](Column::gt) [`ge`](Column::ge) [`lt`](Column::lt) [`le`](Column::le) | `>` `>=` `<` `<=` | never matches |
/// | [`in_(values)`](Column::in_) | `"c" IN (?, ..)`; no values: `0` (matches nothing) | never matches |
/// | [`like(p)`](Column::like) (TEXT columns) | `"c" LIKE ?` | never matches |
/// | [`is_null`](Column::is_null), [`is_not_null`](Column::is_not_null) (`Option` fields) | `IS NULL`, `IS NOT NULL` | as named |
///
/// `eq` and `ne` compare like Rust's `==` and `!=` on the field (`None == None`); the order
/// comparisons, `IN` and `LIKE` follow SQL: a `NULL` on either side is unknown and matches
/// nothing, and so is its [`not`](Self::not) (`NOT (age > 30)` does not match a `NULL` age;
/// write `.or(col.is_null())` to include it).
///
/// `and` and `or` nest as they are written: every nested group is parenthesised, so
/// `a.or(b).and(c)` is `(a OR b) AND c`.
///
/// ```
/// use migrate_runtime::Table;
///
/// #[derive(Table)]
/// pub struct User {
///     #[column(primary_key)]
///     pub id: i64,
///     pub email: String,
///     pub age: i64,
///     pub team_id: Option<i64>,
/// }
///
/// let filter = User::COL.team_id.eq(None).and(User::COL.email.eq("ada@example.com"));
/// assert_eq!(filter.to_sql_condition(), r#""team_id" IS ?1 AND "email" IS ?2"#);
///
/// let filter = User::COL.age.lt(18).or(User::COL.age.gt(65)).and(User::COL.team_id.is_not_null());
/// assert_eq!(
///     filter.to_sql_condition(),
///     r#"("age" < ?1 OR "age" > ?2) AND "team_id" IS NOT NULL"#
/// );
/// let filter = User::COL.email.like("%@example.com").not();
/// assert_eq!(filter.to_sql_condition(), r#"NOT ("email" LIKE ?1)"#);
/// assert_eq!(User::COL.id.in_([1, 2, 3]).to_sql_condition(), r#""id" IN (?1, ?2, ?3)"#);
/// assert_eq!(User::COL.id.in_(Vec::<i64>::new()).to_sql_condition(), "0");
/// ```
///
/// A comparison the column's type cannot make does not compile: an order comparison on a BLOB
/// column, `like` on a column that is not TEXT, `is_null` on a NOT NULL column (its field is
/// not an `Option`), a value of another type, a column of another table:
///
/// ```compile_fail
/// use migrate_runtime::Table;
///
/// #[derive(Table)]
/// pub struct File {
///     #[column(primary_key)]
///     pub id: i64,
///     pub digest: Vec<u8>,
/// }
///
/// let newer = File::COL.digest.gt(vec![0u8; 32]); // error: a Blob column cannot be compared
/// ```
pub struct Filter<'a, T> {
    expr: Expr<'a>,
    marker: PhantomData<fn() -> T>,
}

impl<'a, T> Filter<'a, T> {
    fn new(expr: Expr<'a>) -> Self {
        Filter { expr, marker: PhantomData }
    }

    /// Both filters must hold (`a AND b`).
    #[must_use]
    pub fn and(self, other: Filter<'a, T>) -> Self {
        Filter::new(match (self.expr, other.expr) {
            (Expr::And(mut a), Expr::And(b)) => {
                a.extend(b);
                Expr::And(a)
            }
            (Expr::And(mut a), b) => {
                a.push(b);
                Expr::And(a)
            }
            (a, b) => Expr::And(vec![a, b]),
        })
    }

    /// Either filter holds (`a OR b`).
    #[must_use]
    pub fn or(self, other: Filter<'a, T>) -> Self {
        Filter::new(match (self.expr, other.expr) {
            (Expr::Or(mut a), Expr::Or(b)) => {
                a.extend(b);
                Expr::Or(a)
            }
            (Expr::Or(mut a), b) => {
                a.push(b);
                Expr::Or(a)
            }
            (a, b) => Expr::Or(vec![a, b]),
        })
    }

    /// The filter does not hold (`NOT (a)`; SQL's three-valued logic: a comparison with `NULL`
    /// is unknown, and so is its negation, see [`Filter`]). Also `!filter`.
    #[must_use]
    #[allow(clippy::should_implement_trait)] // it is implemented too; this one needs no import
    pub fn not(self) -> Self {
        Filter::new(Expr::Not(Box::new(self.expr)))
    }

    /// Appends the condition to `out` (parameters from `?1`) and returns its values in
    /// parameter order.
    pub(crate) fn render<'f>(&'f self, names: &[&str], out: &mut String) -> Vec<Param<'f>> {
        let mut params = Vec::new();
        self.expr.render(names, out, &mut params);
        params
    }
}

impl<'a, T: Table> Filter<'a, T> {
    /// The SQL condition, with parameters `?1`, `?2`, .. in the order the values were given.
    #[must_use]
    pub fn to_sql_condition(&self) -> String {
        let mut out = String::new();
        self.render(T::COLUMNS, &mut out);
        out
    }
}

impl<T> std::ops::Not for Filter<'_, T> {
    type Output = Self;

    fn not(self) -> Self {
        Filter::not(self)
    }
}

impl<T> fmt::Debug for Filter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut columns = Vec::new();
        self.expr.columns(&mut columns);
        f.debug_struct("Filter").field("columns", &columns).finish_non_exhaustive()
    }
}

impl<T, V, S> Column<T, V, S> {
    fn compare<'a>(self, op: Op, value: impl ToSql + 'a) -> Filter<'a, T> {
        Filter::new(Expr::Compare { column: self.index(), op, value: Box::new(value) })
    }

    /// The filter "this column equals `value`" (`"c" IS ?`: `NULL` equals `None`).
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
        self.compare(Op::Is, value)
    }

    /// The filter "this column differs from `value`" (`"c" IS NOT ?`, like Rust's `!=`: a
    /// `NULL` column differs from every value but `None`).
    #[must_use]
    pub fn ne<'a>(self, value: impl ColumnValue<V> + 'a) -> Filter<'a, T> {
        self.compare(Op::IsNot, value)
    }

    /// The filter "this column is one of `values`" (`"c" IN (?, ..)`, one parameter per value;
    /// at most 32,766 parameters per statement). No values matches nothing; a `NULL` column
    /// never matches (use [`is_null`](Self::is_null)).
    ///
    /// ```
    /// use migrate_runtime::Table;
    ///
    /// #[derive(Table)]
    /// pub struct Tag {
    ///     #[column(primary_key)]
    ///     pub name: String,
    /// }
    ///
    /// let wanted = ["rust", "sqlite"];
    /// let filter = Tag::COL.name.in_(wanted);
    /// assert_eq!(filter.to_sql_condition(), r#""name" IN (?1, ?2)"#);
    /// ```
    #[must_use]
    pub fn in_<'a, I>(self, values: I) -> Filter<'a, T>
    where
        I: IntoIterator,
        I::Item: ColumnValue<V> + 'a,
    {
        let values =
            values.into_iter().map(|v| Box::new(v) as Box<dyn ToSql + 'a>).collect::<Vec<_>>();
        Filter::new(Expr::In { column: self.index(), values })
    }

    /// The filter "this column is greater than `value`" (`>`; SQLite's order: numbers, then
    /// text by the column's collation). A `NULL` on either side matches nothing. Not on BLOB
    /// columns.
    #[must_use]
    pub fn gt<'a>(self, value: impl ColumnValue<V> + 'a) -> Filter<'a, T>
    where
        S: Ordered,
    {
        self.compare(Op::Gt, value)
    }

    /// The filter "this column is at least `value`" (`>=`); see [`gt`](Self::gt).
    #[must_use]
    pub fn ge<'a>(self, value: impl ColumnValue<V> + 'a) -> Filter<'a, T>
    where
        S: Ordered,
    {
        self.compare(Op::Ge, value)
    }

    /// The filter "this column is less than `value`" (`<`); see [`gt`](Self::gt).
    #[must_use]
    pub fn lt<'a>(self, value: impl ColumnValue<V> + 'a) -> Filter<'a, T>
    where
        S: Ordered,
    {
        self.compare(Op::Lt, value)
    }

    /// The filter "this column is at most `value`" (`<=`); see [`gt`](Self::gt).
    #[must_use]
    pub fn le<'a>(self, value: impl ColumnValue<V> + 'a) -> Filter<'a, T>
    where
        S: Ordered,
    {
        self.compare(Op::Le, value)
    }

    /// The filter "this column matches the LIKE `pattern`" (`%` any run of characters, `_` one
    /// character; SQLite's LIKE ignores the case of ASCII letters). TEXT columns only; the
    /// pattern is a bound value.
    ///
    /// ```
    /// use migrate_runtime::Table;
    ///
    /// #[derive(Table)]
    /// pub struct User {
    ///     #[column(primary_key)]
    ///     pub id: i64,
    ///     pub email: String,
    /// }
    ///
    /// let at_example = User::COL.email.like("%@example.com");
    /// assert_eq!(at_example.to_sql_condition(), r#""email" LIKE ?1"#);
    /// ```
    #[must_use]
    pub fn like<'a>(self, pattern: impl Into<String>) -> Filter<'a, T>
    where
        S: Textual,
    {
        self.compare(Op::Like, pattern.into())
    }

    /// The filter "this column is `NULL`" (`IS NULL`). Only on nullable columns (`Option`
    /// fields): on a NOT NULL column it would match nothing, so it does not compile.
    #[must_use]
    pub fn is_null<'a>(self) -> Filter<'a, T>
    where
        V: Nullable,
    {
        Filter::new(Expr::Null { column: self.index(), test: Nullness::Null })
    }

    /// The filter "this column is not `NULL`" (`IS NOT NULL`). Only on nullable columns.
    #[must_use]
    pub fn is_not_null<'a>(self) -> Filter<'a, T>
    where
        V: Nullable,
    {
        Filter::new(Expr::Null { column: self.index(), test: Nullness::NotNull })
    }
}
