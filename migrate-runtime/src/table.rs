//! The `Table` trait that `#[derive(Table)]` implements, the `Keyed` trait of tables with a
//! primary key, and the typed [`Column`] handles.

use std::fmt;
use std::marker::PhantomData;

/// A struct that maps to one SQL table; implemented by `#[derive(Table)]`.
///
/// Besides this impl, the derive gives the struct an inherent constant `COL` with one typed
/// [`Column`] per field (`User::COL.email`), for [filters](crate::Filter) and raw SQL, and, when
/// the table has a primary key, an impl of [`Keyed`].
///
/// ```
/// use migrate_runtime::Table;
///
/// #[derive(Table)]
/// #[table(name = "users")]
/// pub struct User {
///     #[column(primary_key)]
///     pub id: i64,
///     #[column(name = "full_name")]
///     pub name: String,
/// }
///
/// assert_eq!(User::NAME, "users");
/// assert_eq!(User::COLUMNS, &["id", "full_name"]);
/// assert_eq!(User::PRIMARY_KEY, &["id"]);
/// assert_eq!(User::COL.name.name(), "full_name");
/// // Display quotes the identifier, ready for raw SQL.
/// assert_eq!(format!("SELECT {} FROM users", User::COL.name), r#"SELECT "full_name" FROM users"#);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a Table",
    label = "`{Self}` does not derive Table",
    note = "add #[derive(Table)] to `{Self}`, or make `references` name a struct that has it"
)]
pub trait Table: Sized {
    /// The SQL table name.
    const NAME: &'static str;
    /// The SQL column names, in declaration order.
    const COLUMNS: &'static [&'static str];
    /// The SQL names of the primary-key columns, in key order; empty when the table has none.
    const PRIMARY_KEY: &'static [&'static str];
    /// The canonical JSON of the table as the derive parsed it (foreign-key targets as the Rust
    /// type names the user wrote). The build script embeds the JSON it parsed from the schema
    /// file and checks at compile time that the two are equal.
    const FINGERPRINT: &'static str;

    /// The SQL of the typed operations, quoted and built at compile time by the derive.
    #[doc(hidden)]
    const __SQL: &'static crate::__private::TableSql;

    /// Builds a value from a row whose columns are [`Self::COLUMNS`], in that order.
    ///
    /// # Errors
    /// A column is missing or holds a value of another type.
    fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self>;

    /// Binds the value of column number `column` (an index into [`Self::COLUMNS`]) to the
    /// 1-based parameter `param` of `stmt`.
    #[doc(hidden)]
    fn __bind_column(
        &self,
        column: usize,
        stmt: &mut rusqlite::Statement<'_>,
        param: usize,
    ) -> rusqlite::Result<()>;

    /// `true` when the table's primary key is a rowid alias (a single `INTEGER PRIMARY KEY` of
    /// a built-in integer type in a rowid table) and this row's key is 0: the typed `insert`
    /// then lets SQLite assign it.
    #[doc(hidden)]
    fn __assigns_rowid(&self) -> bool;

    /// A [`Query`](crate::Query) over this table: filters, order, limit and offset, then
    /// `list`, `first`, `count` or `exists` on any [`Crud`](crate::Crud) connection.
    ///
    /// ```
    /// use migrate_runtime::Table;
    ///
    /// #[derive(Table)]
    /// pub struct User {
    ///     #[column(primary_key)]
    ///     pub id: i64,
    ///     pub name: String,
    ///     pub age: i64,
    /// }
    ///
    /// let adults = User::query().filter(User::COL.age.ge(18)).order_by(User::COL.name.asc());
    /// assert_eq!(
    ///     adults.to_sql(),
    ///     r#"SELECT "id", "name", "age" FROM "user" WHERE "age" >= ?1 ORDER BY "name" ASC"#
    /// );
    /// ```
    #[must_use]
    fn query<'a>() -> crate::Query<'a, Self> {
        crate::Query::new()
    }
}

/// A [`Table`] with a primary key: the typed `get`, `update` and `delete` of
/// [`Crud`](crate::Crud) need it. Implemented by `#[derive(Table)]` for every struct with
/// `#[column(primary_key)]` or `#[primary_key(..)]`.
///
/// `Key` is how a key is passed: the key field's type for `i64`, `bool`, floats and other
/// `Copy` built-ins, `&str` for a `String`, `&[u8]` for a `Vec<u8>`, `&T` for any other type,
/// and a tuple of those, in key order, for a composite key.
///
/// ```
/// use migrate_runtime::{Keyed, Table};
///
/// #[derive(Table)]
/// #[primary_key(owner, slug)]
/// pub struct Page {
///     pub owner: i64,
///     pub slug: String,
///     pub body: String,
/// }
///
/// let page = Page { owner: 7, slug: "intro".into(), body: String::new() };
/// let key: (i64, &str) = page.key();
/// assert_eq!(key, (7, "intro"));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no primary key",
    label = "`{Self}` has no primary key",
    note = "get, update and delete find a row by its primary key: add #[column(primary_key)] to \
            a field of `{Self}` or #[primary_key(a, b)] to the struct (a schema change)"
)]
pub trait Keyed: Table {
    /// The primary key, as passed to `get` and `delete`.
    type Key<'a>: Copy
    where
        Self: 'a;

    /// This row's primary key.
    fn key(&self) -> Self::Key<'_>;

    /// Binds `key` to the parameters `first`, `first + 1`, ... of `stmt`, in key order.
    #[doc(hidden)]
    fn __bind_key(
        key: Self::Key<'_>,
        stmt: &mut rusqlite::Statement<'_>,
        first: usize,
    ) -> rusqlite::Result<()>;
}

/// A typed handle to one column of table `T` whose field has Rust type `V`: the derive makes
/// one per field, as `T::COL.<field>`.
///
/// It names the column in raw SQL ([`name`](Self::name), or `Display`, which writes the quoted
/// identifier), builds [filters](crate::Filter) (`eq`, `ne`, `gt`, `ge`, `lt`, `le`, `in_`,
/// `like`, `is_null`, `is_not_null`) that only accept values of the field's type, and
/// [order keys](crate::Order) (`asc`, `desc`), so a misspelt column or a value of the wrong
/// type does not compile.
///
/// ```
/// use migrate_runtime::Table;
///
/// #[derive(Table)]
/// pub struct Note {
///     #[column(primary_key)]
///     pub id: i64,
///     #[column(name = "select")]
///     pub title: String,
/// }
///
/// let title = Note::COL.title;
/// assert_eq!((title.name(), title.index()), ("select", 1));
/// assert_eq!(title.to_string(), "\"select\"");
/// let sql = format!("SELECT count(*) FROM note WHERE {title} = ?1");
/// assert_eq!(sql, r#"SELECT count(*) FROM note WHERE "select" = ?1"#);
/// ```
///
/// The third parameter is the column's SQL type as a marker of [`sql_type`]: the derive sets it
/// from the schema (`sql_type = ".."` included), and it decides which filters compile: no order
/// comparison on a BLOB column, `like` only on a TEXT one (see [`Filter`](crate::Filter)).
pub struct Column<T, V, S = sql_type::Any> {
    name: &'static str,
    index: usize,
    marker: ColumnMarker<T, V, S>,
}

/// Ties a [`Column`] to its table, field type and SQL type without owning any of them.
type ColumnMarker<T, V, S> = PhantomData<fn() -> (T, V, S)>;

/// The SQL type of a [`Column`], as a type: the derive writes `Column<User, String, Text>` for a
/// TEXT column. The traits [`Ordered`](sql_type::Ordered) and [`Textual`](sql_type::Textual)
/// say which filters a column of that type takes.
pub mod sql_type {
    mod sealed {
        pub trait Sealed {}
    }

    /// The column's SQL type, one of the markers of this module (sealed).
    pub trait SqlType: sealed::Sealed {
        /// The SQL name, as in the `CREATE TABLE`.
        const NAME: &'static str;
    }

    /// SQL types whose values have a useful order, so `gt`/`ge`/`lt`/`le` compile: every type
    /// but BLOB.
    #[diagnostic::on_unimplemented(
        message = "a `{Self}` column cannot be compared with `gt`, `ge`, `lt` or `le`",
        label = "the column is `{Self}`",
        note = "SQLite orders BLOBs byte by byte, which is rarely what a filter means: compare \
                with `eq`/`ne`/`in_`, or write the SQL yourself"
    )]
    pub trait Ordered: SqlType {}

    /// SQL types that `like` applies to: TEXT only.
    #[diagnostic::on_unimplemented(
        message = "`like` needs a TEXT column, this one is `{Self}`",
        label = "the column is `{Self}`",
        note = "LIKE matches text patterns: use `eq`, `in_` or a comparison on this column"
    )]
    pub trait Textual: SqlType {}

    macro_rules! markers {
        ($($(#[$doc:meta])* $name:ident = $sql:literal;)*) => {$(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
            pub enum $name {}

            impl sealed::Sealed for $name {}

            impl SqlType for $name {
                const NAME: &'static str = $sql;
            }
        )*};
    }

    markers! {
        /// `INTEGER`.
        Integer = "INTEGER";
        /// `REAL`.
        Real = "REAL";
        /// `TEXT`.
        Text = "TEXT";
        /// `BLOB`.
        Blob = "BLOB";
        /// `NUMERIC`.
        Numeric = "NUMERIC";
        /// `ANY` (STRICT tables), and the default of a hand-written `Column`.
        Any = "ANY";
    }

    impl Ordered for Integer {}
    impl Ordered for Real {}
    impl Ordered for Text {}
    impl Ordered for Numeric {}
    impl Ordered for Any {}
    impl Textual for Text {}
}

impl<T, V, S> Column<T, V, S> {
    /// Used by the derive.
    #[doc(hidden)]
    #[must_use]
    pub const fn __new(name: &'static str, index: usize) -> Self {
        Column { name, index, marker: PhantomData }
    }

    /// The SQL column name, unquoted.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The column's position in [`Table::COLUMNS`] (and in the struct's fields).
    #[must_use]
    pub const fn index(&self) -> usize {
        self.index
    }
}

impl<T, V, S> Clone for Column<T, V, S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T, V, S> Copy for Column<T, V, S> {}

impl<T, V, S> fmt::Debug for Column<T, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Column").field("name", &self.name).field("index", &self.index).finish()
    }
}

/// Writes the column name as a quoted SQL identifier (`"name"`, inner `"` doubled).
impl<T, V, S> fmt::Display for Column<T, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&migrate_engine::quote_ident(self.name))
    }
}
