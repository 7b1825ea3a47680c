//! `#[derive(Table)]` for Godwit. Use it through `migrate_runtime::Table`, which re-exports it.
//!
//! The struct is parsed by `schema_core::parse`, the same code the build script runs over the
//! schema file, and the derive emits the `migrate_runtime::Table` impl: the SQL table and column
//! names, the fingerprint the build script checks at compile time, `from_row`, and the quoted
//! SQL and parameter binding of the typed operations (`migrate_runtime::Crud`). A struct with a
//! primary key also gets `migrate_runtime::Keyed` (its key type), and every struct an inherent
//! constant `COL` with one typed `migrate_runtime::Column` per field (`User::COL.email`), with
//! the field's visibility. `COL` is the only name the derive adds to the struct's namespace.
//!
//! Every field type needs rusqlite's `FromSql` and `ToSql`; the built-in types have them
//! (`u64` and `usize` with rusqlite's `fallible_uint` feature, which the error names).
//!
//! In a crate whose build script runs `schema_core::build`, a struct in `src/` that the build
//! script did not parse (outside every schema file and the modules it declares) is a compile
//! error: no migration would create its table.

mod expand;
mod fallback;
mod seen;

use proc_macro::TokenStream;

/// Derives `migrate_runtime::Table`. See `schema_core::parse` for the attribute reference:
/// `#[table(..)]`, `#[index(..)]`, `#[primary_key(..)]`, `#[check(..)]`,
/// `#[foreign_key(..)]` on the struct and `#[column(..)]` on fields.
#[proc_macro_derive(Table, attributes(table, column, index, primary_key, check, foreign_key))]
pub fn derive_table(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::derive(&input).into()
}
