//! The `Table` trait that `#[derive(Table)]` implements.

/// A struct that maps to one SQL table; implemented by `#[derive(Table)]`.
///
/// ```
/// use migrate_runtime::Table;
///
/// #[derive(Table)]
/// #[table(name = "users")]
/// pub struct User {
///     #[column(primary_key)]
///     pub id: i64,
///     pub name: String,
/// }
///
/// assert_eq!(User::NAME, "users");
/// assert_eq!(User::COLUMNS, &["id", "name"]);
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
    /// The canonical JSON of the table as the derive parsed it (foreign-key targets as the Rust
    /// type names the user wrote). The build script embeds the JSON it parsed from the schema
    /// file and checks at compile time that the two are equal.
    const FINGERPRINT: &'static str;

    /// Builds a value from a row whose columns are [`Self::COLUMNS`], in that order.
    ///
    /// # Errors
    /// A column is missing or holds a value of another type.
    fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self>;
}
