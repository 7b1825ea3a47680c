//! `#[derive(Table)]` for Godwit. Use it through `migrate_runtime::Table`.

use proc_macro::TokenStream;

/// Derives `migrate_runtime::Table`; see the workspace README for the attribute reference.
#[proc_macro_derive(Table, attributes(table, column, index, primary_key, check, foreign_key))]
pub fn derive_table(input: TokenStream) -> TokenStream {
    let _ = input;
    TokenStream::new()
}
