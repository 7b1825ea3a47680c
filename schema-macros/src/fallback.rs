use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

/// The user's errors plus a `Table` impl anyway, so that code using the type as a `Table` does
/// not add spurious secondary errors (thiserror's `fallback.rs`).
pub(crate) fn expand(input: &DeriveInput, error: &syn::Error) -> TokenStream {
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let error = error.to_compile_error();
    quote! {
        #error

        #[allow(unused_qualifications)]
        #[automatically_derived]
        impl #impl_generics ::migrate_runtime::Table for #ident #ty_generics #where_clause {
            const NAME: &'static ::core::primitive::str = "";
            const COLUMNS: &'static [&'static ::core::primitive::str] = &[];
            const PRIMARY_KEY: &'static [&'static ::core::primitive::str] = &[];
            const FINGERPRINT: &'static ::core::primitive::str = "";
            const __SQL: &'static ::migrate_runtime::__private::TableSql =
                &::migrate_runtime::__private::TableSql {
                    insert: "",
                    insert_assigned: "",
                    rowid_key: ::core::option::Option::None,
                    without_rowid: false,
                    select: "",
                    order: "",
                    list: "",
                    get: "",
                    update: "",
                    update_columns: &[],
                    delete: "",
                };

            fn from_row(
                _row: &::migrate_runtime::__private::rusqlite::Row<'_>,
            ) -> ::core::result::Result<Self, ::migrate_runtime::__private::rusqlite::Error> {
                ::core::unreachable!()
            }

            fn __bind_column(
                &self,
                _column: ::core::primitive::usize,
                _stmt: &mut ::migrate_runtime::__private::rusqlite::Statement<'_>,
                _param: ::core::primitive::usize,
            ) -> ::core::result::Result<(), ::migrate_runtime::__private::rusqlite::Error> {
                ::core::unreachable!()
            }

            fn __assigns_rowid(&self) -> ::core::primitive::bool {
                ::core::unreachable!()
            }
        }
    }
}
