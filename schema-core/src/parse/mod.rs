//! The shared `syn` parser: `#[derive(Table)]` structs -> the schema [model](crate::model).
//!
//! The derive macro (`schema-macros`) and the build script both parse through this module, so
//! they cannot disagree about what a struct means. [`parse_struct`] reads one struct,
//! [`parse_file`] every `#[derive(Table)]` struct of a source file (inline `mod` blocks
//! included), and [`resolve`] joins them into a [`Schema`], turning the Rust type names of
//! `references = Type` into SQL table names.
//!
//! Every user mistake is a [`syn::Error`] spanned on the offending token, and all mistakes of a
//! struct (or of a file) are reported together.
//!
//! # Attribute reference
//!
//! On the struct:
//! - `#[table(name = "..", renamed_from = "..", strict, without_rowid)]`: the SQL name, the old
//!   SQL name for a rename, the `STRICT` and `WITHOUT ROWID` options (`without_rowid` needs a
//!   primary key).
//! - `#[index(columns(a, b), unique, name = "..", where = "..")]`: `columns` is required, the
//!   rest optional; `where` makes a partial index.
//! - `#[primary_key(a, b)]`: a (composite) primary key; not together with
//!   `#[column(primary_key)]`.
//! - `#[check(name = "..", expr = "..")]`: a table CHECK; `name` optional.
//! - `#[foreign_key(columns(a, b), references = Type, to(x, y), on_delete = "..", on_update =
//!   "..")]`: `to` defaults to the target's primary key and must have as many fields as
//!   `columns`.
//!
//! On a field, `#[column(..)]` with:
//! - `name = ".."`, `renamed_from = "<old SQL name>"`;
//! - `primary_key` (not on an `Option`), `autoincrement` (only on the single integer primary
//!   key of a rowid table), `unique`, `index` (not with `unique`, which already indexes);
//! - `default = <Rust literal>` of the field's type (strings render as `'..'` with quotes
//!   doubled, bools as `1`/`0`, numbers as written, byte strings as `X'..'`), or
//!   `default_sql = "<SQL expression>"`, not both;
//! - `backfill = "<SQL expression>"` (NOT NULL fields only; fills existing rows when the column
//!   is added or becomes NOT NULL, never the default);
//! - `convert = "<SQL expression>"`: in the migration that changes the field's type, the new
//!   value computed from the old row (old column names; `datetime("created_at", 'unixepoch')`
//!   turns epoch seconds into a timestamp text). Without it the old value is converted
//!   exactly or the migration fails naming it; the result of `convert` must convert exactly
//!   too. Never stored in a snapshot; on a column whose type does not change it is a build
//!   error (remove it once its migration is generated);
//! - `sql_type = "INTEGER" | "REAL" | "TEXT" | "BLOB" | "NUMERIC" | "ANY"` (any ASCII case;
//!   `ANY` only in a `strict` table, `NUMERIC` not in one; other names such as `STRING` or
//!   `VARCHAR` are rejected with the affinity SQLite would give them);
//! - `references = Type` (its primary key) or `references = "Type::field"`, with `on_delete` /
//!   `on_update` = `"cascade" | "set null" | "set default" | "restrict" | "no action"` (`set
//!   null` needs an `Option` field, `set default` a nullable field or a default);
//! - `check = "<SQL expression>"`.
//!
//! Types: `i8`..`i64`, `u8`..`u32` and `bool` are `INTEGER`; `f32`, `f64` are `REAL`; `String`
//! is `TEXT`; `Vec<u8>` is `BLOB`; `Option<T>` is nullable, anything else `NOT NULL`. `u64`,
//! `usize`, `isize`, `i128`, `u128` and every other type need `sql_type` (and rusqlite's
//! `FromSql` and `ToSql`, with which the derive reads and writes rows).
//!
//! # Naming rules
//!
//! - **Table name**: `#[table(name = "..")]`, else the snake_case of the struct name (see
//!   [`snake_case`]: `UserProfile` -> `user_profile`, `HTTPRequest` -> `http_request`). No
//!   pluralisation.
//! - **Column name**: `#[column(name = "..")]`, else the field name (`r#type` -> `type`).
//! - **Derived index names**: `<table>_<column>[_<column>..]_idx` for a plain index and
//!   `<table>_<column>[_<column>..]_key` for a unique one, from SQL names. Two indexes that
//!   would get the same name (e.g. a partial and a full index on one column) must be given a
//!   `name`.
//! - `#[index(columns(..))]`, `#[primary_key(..)]` and `#[foreign_key(columns(..), to(..))]` take
//!   Rust **field** names; `renamed_from` takes the old **SQL** name.
//!
//! # Order in the model
//!
//! Columns follow field order. Indexes: the struct's `#[index]` attributes in order, then the
//! fields' `#[column(index)]` in field order. Foreign keys: the struct's `#[foreign_key]`
//! attributes in order, then the fields' `#[column(references)]` in field order.
//!
//! # Example
//!
//! ```
//! use schema_core::parse::{parse_file, resolve};
//!
//! let source = r#"
//!     #[derive(Table)]
//!     pub struct Team {
//!         #[column(primary_key)]
//!         pub id: i64,
//!     }
//!
//!     #[derive(Table)]
//!     #[table(name = "users")]
//!     pub struct User {
//!         #[column(primary_key, autoincrement)]
//!         pub id: i64,
//!         #[column(references = Team, on_delete = "cascade")]
//!         pub team_id: Option<i64>,
//!     }
//! "#;
//! let tables = parse_file(source)?;
//! // Unresolved: the foreign key still names the Rust type.
//! assert_eq!(tables[1].table.foreign_keys[0].ref_table, "Team");
//! let schema = resolve(&tables)?;
//! let fk = &schema.table("users").unwrap().foreign_keys[0];
//! assert_eq!((fk.ref_table.as_str(), fk.ref_columns.as_slice()), ("team", &["id".to_owned()][..]));
//! # Ok::<(), syn::Error>(())
//! ```

mod attr;
mod ctxt;
mod item;
mod resolve;
mod sqltext;
mod ty;

// The tests check error locations, which need proc-macro2's `span-locations` (on with "build").
#[cfg(all(test, feature = "build"))]
mod tests;

use proc_macro2::{Span, TokenStream};

use crate::model::{Schema, Table};

pub use item::snake_case;

/// The rusqlite feature that gives `u64` and `usize` their `FromSql` and `ToSql` (writing a
/// value above `i64::MAX` then fails instead of wrapping).
pub const FALLIBLE_UINT_FEATURE: &str = "fallible_uint";

/// Whether a field of type `ty` (`u64`, `usize`, or either in an `Option`) is read and written
/// through rusqlite's [`FALLIBLE_UINT_FEATURE`].
///
/// ```
/// use schema_core::parse::needs_fallible_uint;
/// assert!(needs_fallible_uint(&syn::parse_quote!(u64)));
/// assert!(needs_fallible_uint(&syn::parse_quote!(Option<usize>)));
/// assert!(!needs_fallible_uint(&syn::parse_quote!(u32)));
/// ```
#[must_use]
pub fn needs_fallible_uint(ty: &syn::Type) -> bool {
    let (_, inner) = ty::unwrap_option(ty);
    matches!(inner, syn::Type::Path(p) if p.qself.is_none()
        && (p.path.is_ident("u64") || p.path.is_ident("usize")))
}

/// The extension of the files in which the build script lists the structs it parsed:
/// `$OUT_DIR/godwit/<Db>.tables`, one [`seen_entry`] line per `#[derive(Table)]` struct. The
/// derive refuses a struct in `src/` that no such list names (when the crate's build script
/// wrote any), or whose entry differs from its own, so a struct the build script cannot see, or
/// sees differently, fails the build.
pub const SEEN_LIST_EXTENSION: &str = "tables";

/// The line of a seen list ([`SEEN_LIST_EXTENSION`]) for the struct `parsed` in `file` (its
/// canonical path): `<file>\t<struct name>\t<fingerprint as a JSON string>`, on one line.
///
/// ```
/// let input: syn::DeriveInput = syn::parse_quote! { struct Note { id: i64 } };
/// let parsed = schema_core::parse::parse_struct(&input)?;
/// let line = schema_core::parse::seen_entry(std::path::Path::new("/app/src/schema.rs"), &parsed);
/// assert!(line.starts_with("/app/src/schema.rs\tNote\t\"{"));
/// assert!(!line.contains('\n'));
/// # Ok::<(), syn::Error>(())
/// ```
#[must_use]
pub fn seen_entry(file: &std::path::Path, parsed: &ParsedTable) -> String {
    let fingerprint = serde_json::Value::String(parsed.fingerprint()).to_string();
    format!("{}\t{}\t{fingerprint}", file.to_string_lossy(), parsed.rust_name)
}

/// One parsed `#[derive(Table)]` struct.
///
/// `table` is **unresolved**: in its foreign keys `ref_table` is the Rust type name as written
/// (`"Team"`, `"crate::db::Team"`) and `ref_columns` are Rust field names from `to(..)` or
/// `"Type::field"`, or empty for "the target's primary key". [`resolve`] produces the SQL names.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ParsedTable {
    /// The struct's name (`User`).
    pub rust_name: String,
    /// The table (unresolved, see above).
    pub table: Table,
    /// The struct's identifier, with its span.
    pub ident: syn::Ident,
    /// The fields in declaration order, one per column of `table.columns`.
    pub fields: Vec<ParsedField>,
    /// The `references` targets, one per foreign key of `table.foreign_keys`.
    pub references: Vec<Reference>,
    pub(crate) spans: Spans,
}

/// A struct field and the column it maps to.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ParsedField {
    /// The field's identifier.
    pub ident: syn::Ident,
    /// The field's type as written.
    pub ty: syn::Type,
    /// The SQL column name.
    pub column: String,
}

/// The target of one foreign key, as the user wrote it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Reference {
    /// Index into `table.foreign_keys`.
    pub foreign_key: usize,
    /// The referenced struct's path (`Team`); for `references = "Team::id"` its tokens carry
    /// the string literal's span. `Self` means the struct itself.
    pub target: syn::Path,
    /// The referenced fields (`to(..)` or the `field` of `"Type::field"`); empty means the
    /// target's primary key.
    pub to: Vec<syn::Ident>,
}

/// Spans kept for schema-level errors in [`resolve`].
#[derive(Debug, Clone, Default)]
pub(crate) struct Spans {
    /// The table name (`name = ".."` literal, else the struct ident).
    pub(crate) name: Option<Span>,
    /// The `renamed_from = ".."` literal.
    pub(crate) renamed_from: Option<Span>,
    /// One per index of `table.indexes`: the attribute or the `name` literal.
    pub(crate) indexes: Vec<TokenStream>,
    /// The literal of every SQL expression attribute, for the build script's SQLite checks.
    pub(crate) exprs: Vec<(ExprSite, Span)>,
}

/// Which attribute of a table holds an SQL expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExprSite {
    /// `#[check(expr = "..")]`: the position in `table.checks`.
    TableCheck(usize),
    /// `#[column(check = "..")]` of the column with this SQL name.
    ColumnCheck(String),
    /// `#[column(default_sql = "..")]` of the column with this SQL name.
    DefaultSql(String),
    /// `#[column(backfill = "..")]` of the column with this SQL name.
    Backfill(String),
    /// `#[column(convert = "..")]` of the column with this SQL name.
    Convert(String),
    /// `#[index(where = "..")]` of the index with this name.
    IndexWhere(String),
}

impl ExprSite {
    /// The attribute as the user writes it, for messages (the build script's SQLite checks).
    #[cfg_attr(not(feature = "build"), allow(dead_code))]
    pub(crate) fn attr(&self) -> &'static str {
        match self {
            Self::TableCheck(_) => "#[check(expr)]",
            Self::ColumnCheck(_) => "#[column(check)]",
            Self::DefaultSql(_) => "#[column(default_sql)]",
            Self::Backfill(_) => "#[column(backfill)]",
            Self::Convert(_) => "#[column(convert)]",
            Self::IndexWhere(_) => "#[index(where)]",
        }
    }
}

impl ParsedTable {
    /// The canonical JSON of the unresolved table. The derive's `Table::FINGERPRINT` and the
    /// build script's compile-time guard both use it, so a difference between what the two
    /// parsed (a field behind `#[cfg]`, say) fails the build.
    ///
    /// ```
    /// let input: syn::DeriveInput = syn::parse_quote! {
    ///     struct Note { #[column(primary_key)] id: i64, body: String }
    /// };
    /// let parsed = schema_core::parse::parse_struct(&input)?;
    /// assert!(parsed.fingerprint().contains("\"name\": \"note\""));
    /// # Ok::<(), syn::Error>(())
    /// ```
    #[must_use]
    pub fn fingerprint(&self) -> String {
        self.table.to_canonical_json()
    }
}

/// Parses one `#[derive(Table)]` item.
///
/// # Errors
/// Every mistake in the struct and its attributes, combined into one `syn::Error` (its
/// [`to_compile_error`](syn::Error::to_compile_error) emits each one at its own span).
///
/// ```
/// let input: syn::DeriveInput = syn::parse_quote! {
///     #[table(name = "users")]
///     #[index(columns(email), unique)]
///     struct User {
///         #[column(primary_key, autoincrement)]
///         id: i64,
///         email: String,
///         #[column(default = "free")]
///         plan: String,
///         bio: Option<String>,
///     }
/// };
/// let parsed = schema_core::parse::parse_struct(&input)?;
/// let t = &parsed.table;
/// assert_eq!(t.name, "users");
/// assert_eq!(t.primary_key, ["id"]);
/// assert_eq!(t.indexes[0].name, "users_email_key");
/// assert_eq!(t.column("plan").unwrap().default.as_ref().unwrap().as_sql(), "'free'");
/// assert!(t.column("bio").unwrap().nullable);
/// # Ok::<(), syn::Error>(())
/// ```
pub fn parse_struct(input: &syn::DeriveInput) -> syn::Result<ParsedTable> {
    let cx = ctxt::Ctxt::new();
    let parsed = item::parse(&cx, input);
    cx.check()?;
    Ok(parsed.expect("a struct without errors is a table"))
}

/// Parses every item with `#[derive(.., Table, ..)]` in a source file, including those in
/// inline `mod` blocks, in source order. `#[cfg]` cannot be evaluated here, so a `#[cfg]` on a
/// table, on one of its fields or on an inline module holding tables, and a `#[cfg_attr]`
/// carrying a schema attribute, are errors (the build script would plan another schema than
/// the compiler builds). `mod name;` declarations are not followed (the build script follows
/// them).
///
/// # Errors
/// A syntax error in the file, or the mistakes of every struct, combined.
///
/// ```
/// let tables = schema_core::parse::parse_file("
///     #[derive(Debug, Table)]
///     struct A { x: i64 }
///     struct NotATable { y: i64 }
///     mod inner {
///         #[derive(migrate_runtime::Table)]
///         struct B { y: String }
///     }
/// ")?;
/// let names: Vec<_> = tables.iter().map(|t| t.table.name.as_str()).collect();
/// assert_eq!(names, ["a", "b"]);
/// # Ok::<(), syn::Error>(())
/// ```
pub fn parse_file(source: &str) -> syn::Result<Vec<ParsedTable>> {
    let file = syn::parse_file(source)?;
    parse_items(&file.items)
}

/// [`parse_file`] for the items of an already parsed file.
///
/// # Errors
/// The mistakes of every struct, combined; a `#[derive(Table)]` struct inside an inline `mod`
/// that carries `#[cfg]`.
pub fn parse_items(items: &[syn::Item]) -> syn::Result<Vec<ParsedTable>> {
    parse_items_under(items, false)
}

/// [`parse_items`] of a module file; `under_cfg` when its `mod` declaration carries `#[cfg]`
/// (every table in it is then refused).
pub(crate) fn parse_items_under(
    items: &[syn::Item],
    under_cfg: bool,
) -> syn::Result<Vec<ParsedTable>> {
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    collect_items(items, under_cfg, &mut inputs, &mut errors);
    let mut tables = Vec::new();
    for input in &inputs {
        match parse_struct(input) {
            Ok(t) => tables.push(t),
            Err(e) => errors.push(e),
        }
    }
    ctxt::combine(errors)?;
    Ok(tables)
}

/// The `#[derive(Table)]` items of `items` and of their inline modules; `under_cfg` when an
/// enclosing inline module has `#[cfg]` (its tables are refused: the build script cannot
/// evaluate it).
fn collect_items(
    items: &[syn::Item],
    under_cfg: bool,
    out: &mut Vec<syn::DeriveInput>,
    errors: &mut Vec<syn::Error>,
) {
    for item in items {
        let input: syn::DeriveInput = match item {
            syn::Item::Struct(s) if derives_table(&s.attrs) => s.clone().into(),
            syn::Item::Enum(e) if derives_table(&e.attrs) => e.clone().into(),
            syn::Item::Union(u) if derives_table(&u.attrs) => u.clone().into(),
            syn::Item::Mod(m @ syn::ItemMod { content: Some((_, items)), .. }) => {
                collect_items(items, under_cfg || has_cfg(&m.attrs), out, errors);
                continue;
            }
            _ => continue,
        };
        if under_cfg {
            errors.push(cfg_module_error(&input.ident));
        } else {
            out.push(input);
        }
    }
}

/// Whether the attributes hold a `#[cfg(..)]`.
pub(crate) fn has_cfg(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| a.path().is_ident("cfg"))
}

/// The error for a `#[derive(Table)]` struct in a module behind `#[cfg]`.
pub(crate) fn cfg_module_error(ident: &syn::Ident) -> syn::Error {
    syn::Error::new(
        ident.span(),
        format_args!(
            "#[derive(Table)] struct `{ident}` is in a module behind #[cfg]: the build script \
             reads the schema without evaluating cfg, so its migrations cannot follow it; remove \
             the #[cfg] from the module, or put tables that exist only in some builds in their \
             own schema file and database"
        ),
    )
}

/// `#[derive(Table)]`, `#[derive(Debug, migrate_runtime::Table)]`, `#[cfg_attr(.., derive(Table))]`...
pub(crate) fn derives_table(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| item::cfg_attr_derives_table(a) || item::meta_derives_table(&a.meta))
}

/// Joins parsed tables into a schema: resolves `references` (Rust type names -> SQL table
/// names, an empty `to` -> the target's primary key, field names -> SQL column names) and checks
/// what only the whole schema can show.
///
/// # Errors
/// Combined: a `references` target that is not a table of this schema (or is ambiguous), a
/// target without a primary key, a column-count mismatch, an unknown target field, a parent key
/// that is neither the primary key nor unique (SQLite's `foreign key mismatch`), table names
/// equal up to ASCII case, and index names that clash with each other or with table names.
///
/// ```
/// let tables = schema_core::parse::parse_file("
///     #[derive(Table)] struct Team { #[column(primary_key)] id: i64 }
///     #[derive(Table)] struct Player { #[column(references = Coach)] coach_id: i64 }
/// ")?;
/// let err = schema_core::parse::resolve(&tables).unwrap_err();
/// assert!(err.to_string().contains("`Coach` is not a Table in this schema"));
/// # Ok::<(), syn::Error>(())
/// ```
pub fn resolve(tables: &[ParsedTable]) -> syn::Result<Schema> {
    resolve::resolve(tables)
}
