use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use schema_core::parse::{ParsedTable, parse_struct};
use syn::DeriveInput;
use syn::spanned::Spanned as _;

use crate::fallback;

pub(crate) fn derive(input: &DeriveInput) -> TokenStream {
    match parse_struct(input) {
        Ok(parsed) => expand(&parsed),
        Err(err) => fallback::expand(input, &err),
    }
}

fn expand(parsed: &ParsedTable) -> TokenStream {
    let ident = &parsed.ident;
    let name = &parsed.table.name;
    let columns = parsed.fields.iter().map(|f| &f.column);
    let fingerprint = parsed.fingerprint();
    let rusqlite = quote!(::migrate_runtime::__private::rusqlite);
    let fields = parsed.fields.iter().enumerate().map(|(idx, f)| {
        let field = &f.ident;
        let ty = &f.ty;
        // Spanned on the type, so a type without `FromSql` is reported at the field.
        let get = quote_spanned! {ty.span()=>
            #rusqlite::Row::get::<::core::primitive::usize, #ty>(row, #idx)?
        };
        quote!(#field: #get)
    });
    // `references = NotATable` fails here, at the user's token, through the trait's
    // `#[diagnostic::on_unimplemented]` message.
    let targets = parsed
        .references
        .iter()
        .filter(|r| !r.target.is_ident("Self"))
        .map(|r| {
            let path = &r.target;
            quote_spanned!(path.span()=> __godwit_assert_table::<#path>();)
        })
        .collect::<Vec<_>>();
    let reference_check = (!targets.is_empty()).then(|| {
        quote! {
            fn __godwit_assert_table<T: ::migrate_runtime::Table>() {}

            #[allow(dead_code)]
            fn __godwit_references() {
                #(#targets)*
            }
        }
    });
    quote! {
        #[doc(hidden)]
        #[allow(non_upper_case_globals, unused_qualifications, clippy::all)]
        const _: () = {
            #[automatically_derived]
            impl ::migrate_runtime::Table for #ident {
                const NAME: &'static ::core::primitive::str = #name;
                const COLUMNS: &'static [&'static ::core::primitive::str] = &[#(#columns),*];
                const FINGERPRINT: &'static ::core::primitive::str = #fingerprint;

                fn from_row(
                    row: &#rusqlite::Row<'_>,
                ) -> ::core::result::Result<Self, #rusqlite::Error> {
                    ::core::result::Result::Ok(Self { #(#fields,)* })
                }
            }

            #reference_check
        };
    }
}
