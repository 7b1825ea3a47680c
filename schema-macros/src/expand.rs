use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use schema_core::model::SqlType;
use schema_core::parse::{
    FALLIBLE_UINT_FEATURE, ParsedField, ParsedTable, needs_fallible_uint, parse_struct,
};
use syn::DeriveInput;
use syn::spanned::Spanned as _;

use crate::fallback;

pub(crate) fn derive(input: &DeriveInput) -> TokenStream {
    match parse_struct(input) {
        Ok(parsed) => {
            let mut out = expand(input, &parsed);
            out.extend(crate::seen::check(&parsed));
            out
        }
        Err(err) => fallback::expand(input, &err),
    }
}

/// How a field's type is passed as a key and whether it is a built-in integer.
enum KeyKind {
    /// A `Copy` built-in passed by value (`i64`, `bool`, `f64`, ..); `true` for integers.
    Value { integer: bool },
    /// `String`, passed as `&str`.
    Str,
    /// `Vec<u8>`, passed as `&[u8]`.
    Bytes,
    /// Anything else, passed by reference.
    Other,
}

fn key_kind(ty: &syn::Type) -> KeyKind {
    let syn::Type::Path(p) = ty else { return KeyKind::Other };
    if p.qself.is_some() {
        return KeyKind::Other;
    }
    let segments: Vec<String> = p.path.segments.iter().map(|s| s.ident.to_string()).collect();
    let last = p.path.segments.last().expect("a path has a segment");
    let plain = matches!(last.arguments, syn::PathArguments::None);
    let name = segments.last().map_or("", String::as_str);
    let prefix: Vec<&str> = segments[..segments.len() - 1].iter().map(String::as_str).collect();
    let integers = ["i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128"];
    let primitive =
        plain && (prefix.is_empty() || matches!(prefix.as_slice(), ["core" | "std", "primitive"]));
    if primitive && integers.contains(&name) {
        return KeyKind::Value { integer: true };
    }
    if primitive && matches!(name, "bool" | "f32" | "f64" | "char") {
        return KeyKind::Value { integer: false };
    }
    let in_module = |module: &str| {
        prefix.is_empty()
            || matches!(prefix.as_slice(), [k, m] if (*k == "std" || *k == "alloc") && *m == module)
    };
    if name == "String" && plain && in_module("string") {
        return KeyKind::Str;
    }
    if name == "Vec"
        && in_module("vec")
        && let syn::PathArguments::AngleBracketed(args) = &last.arguments
        && let [syn::GenericArgument::Type(syn::Type::Path(inner))] =
            args.args.iter().collect::<Vec<_>>().as_slice()
        && inner.qself.is_none()
        && inner.path.is_ident("u8")
    {
        return KeyKind::Bytes;
    }
    KeyKind::Other
}

/// `name` as a quoted SQL identifier (`"` doubled).
fn q(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The SQL of the typed operations (see `migrate_runtime::__private::TableSql`).
struct Sql {
    insert: String,
    insert_assigned: String,
    rowid_key: Option<usize>,
    select: String,
    order: String,
    get: String,
    update: String,
    update_columns: Vec<usize>,
    delete: String,
}

fn sql(parsed: &ParsedTable, key: &[usize], rowid_key: Option<usize>) -> Sql {
    let table = q(&parsed.table.name);
    let columns: Vec<String> = parsed.fields.iter().map(|f| q(&f.column)).collect();
    let insert_of = |cols: &[usize]| {
        if cols.is_empty() {
            return format!("INSERT INTO {table} DEFAULT VALUES");
        }
        let names: Vec<&str> = cols.iter().map(|&c| columns[c].as_str()).collect();
        let params: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
        format!("INSERT INTO {table} ({}) VALUES ({})", names.join(", "), params.join(", "))
    };
    let all: Vec<usize> = (0..columns.len()).collect();
    let insert = insert_of(&all);
    let insert_assigned = match rowid_key {
        Some(k) => insert_of(&all.iter().copied().filter(|&c| c != k).collect::<Vec<_>>()),
        None => String::new(),
    };
    let select = format!("SELECT {} FROM {table}", columns.join(", "));
    let where_key = |first: usize| {
        let terms: Vec<String> = key
            .iter()
            .enumerate()
            .map(|(i, &c)| format!("{} = ?{}", columns[c], first + i))
            .collect();
        format!(" WHERE {}", terms.join(" AND "))
    };
    if key.is_empty() {
        return Sql {
            insert,
            insert_assigned,
            rowid_key,
            select,
            order: String::new(),
            get: String::new(),
            update: String::new(),
            update_columns: Vec::new(),
            delete: String::new(),
        };
    }
    let order_cols: Vec<&str> = key.iter().map(|&c| columns[c].as_str()).collect();
    let order = format!(" ORDER BY {}", order_cols.join(", "));
    let get = format!("{select}{}", where_key(1));
    let rest: Vec<usize> = all.iter().copied().filter(|c| !key.contains(c)).collect();
    let (set, update_columns) = if rest.is_empty() {
        // Only key columns: nothing to write, the statement reports whether the row exists.
        (format!("{0} = {0}", columns[key[0]]), key.to_vec())
    } else {
        let set: Vec<String> =
            rest.iter().enumerate().map(|(i, &c)| format!("{} = ?{}", columns[c], i + 1)).collect();
        (set.join(", "), rest.iter().chain(key).copied().collect())
    };
    let first_key = update_columns.len() - key.len() + 1;
    let update = format!("UPDATE {table} SET {set}{}", where_key(first_key));
    let delete = format!("DELETE FROM {table}{}", where_key(1));
    Sql { insert, insert_assigned, rowid_key, select, order, get, update, update_columns, delete }
}

fn expand(input: &DeriveInput, parsed: &ParsedTable) -> TokenStream {
    let ident = &parsed.ident;
    let name = &parsed.table.name;
    let columns = parsed.fields.iter().map(|f| &f.column);
    let fingerprint = parsed.fingerprint();
    let rusqlite = quote!(::migrate_runtime::__private::rusqlite);
    let fields = parsed.fields.iter().enumerate().map(|(idx, f)| {
        let field = &f.ident;
        let ty = &f.ty;
        // Spanned on the type, so a type without `FromSql` is reported at the field.
        let get = if needs_fallible_uint(ty) {
            match wide_option_inner(ty) {
                Some(inner) => {
                    quote_spanned! {inner.span()=> __godwit_get_wide_opt::<#inner>(row, #idx)? }
                }
                None => quote_spanned! {ty.span()=> __godwit_get_wide::<#ty>(row, #idx)? },
            }
        } else {
            quote_spanned! {ty.span()=>
                #rusqlite::Row::get::<::core::primitive::usize, #ty>(row, #idx)?
            }
        };
        quote!(#field: #get)
    });
    let binds = parsed.fields.iter().enumerate().map(|(idx, f)| {
        let field = &f.ident;
        let ty = &f.ty;
        // Spanned on the type, so a type without `ToSql` is reported at the field.
        let bind = if needs_fallible_uint(ty) {
            match wide_option_inner(ty) {
                Some(inner) => quote_spanned! {inner.span()=>
                    __godwit_bind_wide_opt::<#inner>(stmt, param, &self.#field)
                },
                None => {
                    quote_spanned! {ty.span()=> __godwit_bind_wide::<#ty>(stmt, param, &self.#field) }
                }
            }
        } else {
            quote_spanned! {ty.span()=>
                #rusqlite::Statement::raw_bind_parameter::<::core::primitive::usize, &#ty>(
                    stmt, param, &self.#field,
                )
            }
        };
        quote!(#idx => #bind,)
    });

    let key: Vec<usize> = parsed
        .table
        .primary_key
        .iter()
        .map(|c| parsed.fields.iter().position(|f| &f.column == c).expect("key columns are fields"))
        .collect();
    let rowid_key = match key.as_slice() {
        [k] if !parsed.table.without_rowid
            && parsed.table.columns[*k].ty == SqlType::Integer
            && matches!(key_kind(&parsed.fields[*k].ty), KeyKind::Value { integer: true }) =>
        {
            Some(*k)
        }
        _ => None,
    };
    let assigns_rowid = match rowid_key {
        Some(k) => {
            let field = &parsed.fields[k].ident;
            quote!(self.#field == 0)
        }
        None => quote!(false),
    };
    let sql = sql(parsed, &key, rowid_key);
    let Sql { insert, insert_assigned, select, order, get, update, delete, .. } = &sql;
    let list = format!("{select}{order}");
    let rowid_key_tokens = match sql.rowid_key {
        Some(k) => quote!(::core::option::Option::Some(#k)),
        None => quote!(::core::option::Option::None),
    };
    let update_columns = &sql.update_columns;
    let without_rowid = parsed.table.without_rowid;
    let primary_key = &parsed.table.primary_key;

    let keyed = (!key.is_empty()).then(|| keyed(parsed, &key));
    let col = columns_const(input, parsed);

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
    let wide = parsed.fields.iter().any(|f| needs_fallible_uint(&f.ty)).then(wide_int_helpers);
    quote! {
        #[doc(hidden)]
        #[allow(non_upper_case_globals, unused_qualifications, clippy::all)]
        const _: () = {
            #wide

            #[automatically_derived]
            impl ::migrate_runtime::Table for #ident {
                const NAME: &'static ::core::primitive::str = #name;
                const COLUMNS: &'static [&'static ::core::primitive::str] = &[#(#columns),*];
                const PRIMARY_KEY: &'static [&'static ::core::primitive::str] =
                    &[#(#primary_key),*];
                const FINGERPRINT: &'static ::core::primitive::str = #fingerprint;
                const __SQL: &'static ::migrate_runtime::__private::TableSql =
                    &::migrate_runtime::__private::TableSql {
                        insert: #insert,
                        insert_assigned: #insert_assigned,
                        rowid_key: #rowid_key_tokens,
                        without_rowid: #without_rowid,
                        select: #select,
                        order: #order,
                        list: #list,
                        get: #get,
                        update: #update,
                        update_columns: &[#(#update_columns),*],
                        delete: #delete,
                    };

                fn from_row(
                    row: &#rusqlite::Row<'_>,
                ) -> ::core::result::Result<Self, #rusqlite::Error> {
                    ::core::result::Result::Ok(Self { #(#fields,)* })
                }

                #[inline]
                fn __bind_column(
                    &self,
                    column: ::core::primitive::usize,
                    stmt: &mut #rusqlite::Statement<'_>,
                    param: ::core::primitive::usize,
                ) -> ::core::result::Result<(), #rusqlite::Error> {
                    match column {
                        #(#binds)*
                        _ => ::core::result::Result::Err(#rusqlite::Error::InvalidColumnIndex(column)),
                    }
                }

                #[inline]
                fn __assigns_rowid(&self) -> ::core::primitive::bool {
                    #assigns_rowid
                }
            }

            #keyed

            #col

            #reference_check
        };
    }
}

/// Reading and writing `u64`/`usize` fields (also in an `Option`) through local traits whose
/// `#[diagnostic::on_unimplemented]` names rusqlite's `fallible_uint` feature, instead of the raw
/// "`u64: FromSql` is not satisfied" (rusqlite implements them only with that feature): one
/// error for reading and one for writing each such field.
fn wide_int_helpers() -> TokenStream {
    let rusqlite = quote!(::migrate_runtime::__private::rusqlite);
    let message = format!(
        "`{{Self}}` fields need rusqlite's `{FALLIBLE_UINT_FEATURE}` feature to be read and written"
    );
    let label = format!("needs rusqlite's `{FALLIBLE_UINT_FEATURE}` feature");
    let note = format!(
        "add to [dependencies] in Cargo.toml: rusqlite = {{ version = \"0.43\", features = \
         [\"{FALLIBLE_UINT_FEATURE}\"] }} (the rusqlite that migrate-runtime uses); writing a value \
         above i64::MAX then fails instead of wrapping. Or use i64."
    );
    quote! {
        #[diagnostic::on_unimplemented(message = #message, label = #label, note = #note)]
        trait __GodwitWideRead: #rusqlite::types::FromSql {}
        impl<T: #rusqlite::types::FromSql> __GodwitWideRead for T {}
        #[diagnostic::on_unimplemented(message = #message, label = #label, note = #note)]
        trait __GodwitWideWrite: #rusqlite::types::ToSql {}
        impl<T: #rusqlite::types::ToSql> __GodwitWideWrite for T {}

        #[inline]
        fn __godwit_get_wide<T: __GodwitWideRead>(
            row: &#rusqlite::Row<'_>,
            idx: ::core::primitive::usize,
        ) -> ::core::result::Result<T, #rusqlite::Error> {
            #rusqlite::Row::get::<::core::primitive::usize, T>(row, idx)
        }

        #[inline]
        fn __godwit_get_wide_opt<T: __GodwitWideRead>(
            row: &#rusqlite::Row<'_>,
            idx: ::core::primitive::usize,
        ) -> ::core::result::Result<::core::option::Option<T>, #rusqlite::Error> {
            #rusqlite::Row::get::<::core::primitive::usize, ::core::option::Option<T>>(row, idx)
        }

        #[inline]
        fn __godwit_bind_wide<T: __GodwitWideWrite>(
            stmt: &mut #rusqlite::Statement<'_>,
            param: ::core::primitive::usize,
            value: &T,
        ) -> ::core::result::Result<(), #rusqlite::Error> {
            #rusqlite::Statement::raw_bind_parameter::<::core::primitive::usize, &T>(stmt, param, value)
        }

        #[inline]
        fn __godwit_bind_wide_opt<T: __GodwitWideWrite>(
            stmt: &mut #rusqlite::Statement<'_>,
            param: ::core::primitive::usize,
            value: &::core::option::Option<T>,
        ) -> ::core::result::Result<(), #rusqlite::Error> {
            #rusqlite::Statement::raw_bind_parameter::<
                ::core::primitive::usize,
                &::core::option::Option<T>,
            >(stmt, param, value)
        }
    }
}

/// The `T` of `Option<T>` for a `u64`/`usize` field in an `Option`, else `None`.
fn wide_option_inner(ty: &syn::Type) -> Option<&syn::Type> {
    let syn::Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else { return None };
    match args.args.first() {
        Some(syn::GenericArgument::Type(inner)) if last.ident == "Option" => Some(inner),
        _ => None,
    }
}

/// The `Keyed` impl: the key type, `key()` and the key binding.
fn keyed(parsed: &ParsedTable, key: &[usize]) -> TokenStream {
    let ident = &parsed.ident;
    let rusqlite = quote!(::migrate_runtime::__private::rusqlite);
    let parts: Vec<(TokenStream, TokenStream)> = key
        .iter()
        .map(|&k| {
            let ParsedField { ident: field, ty, .. } = &parsed.fields[k];
            match key_kind(ty) {
                KeyKind::Value { .. } => (quote!(#ty), quote!(self.#field)),
                KeyKind::Str => (
                    quote!(&'a ::core::primitive::str),
                    quote!(::core::convert::AsRef::<::core::primitive::str>::as_ref(&self.#field)),
                ),
                KeyKind::Bytes => (
                    quote!(&'a [::core::primitive::u8]),
                    quote!(::core::convert::AsRef::<[::core::primitive::u8]>::as_ref(&self.#field)),
                ),
                KeyKind::Other => (quote!(&'a #ty), quote!(&self.#field)),
            }
        })
        .collect();
    let names: Vec<syn::Ident> = (0..key.len()).map(|i| format_ident!("__k{}", i)).collect();
    let binds: Vec<TokenStream> = key
        .iter()
        .zip(&names)
        .enumerate()
        .map(|(offset, (&k, name))| {
            let ty = &parsed.fields[k].ty;
            if needs_fallible_uint(ty) {
                quote_spanned!(ty.span()=> __godwit_bind_wide::<#ty>(stmt, first + #offset, &#name)?;)
            } else {
                quote!(#rusqlite::Statement::raw_bind_parameter(stmt, first + #offset, #name)?;)
            }
        })
        .collect();
    let (key_ty, key_expr, pattern) = if let [(ty, expr)] = parts.as_slice() {
        (ty.clone(), expr.clone(), quote!(__k0))
    } else {
        let tys = parts.iter().map(|p| &p.0);
        let exprs = parts.iter().map(|p| &p.1);
        (quote!((#(#tys,)*)), quote!((#(#exprs,)*)), quote!((#(#names,)*)))
    };
    quote! {
        #[automatically_derived]
        impl ::migrate_runtime::Keyed for #ident {
            type Key<'a> = #key_ty where Self: 'a;

            #[inline]
            fn key(&self) -> Self::Key<'_> {
                #key_expr
            }

            #[inline]
            fn __bind_key(
                key: Self::Key<'_>,
                stmt: &mut #rusqlite::Statement<'_>,
                first: ::core::primitive::usize,
            ) -> ::core::result::Result<(), #rusqlite::Error> {
                let #pattern = key;
                #(#binds)*
                ::core::result::Result::Ok(())
            }
        }
    }
}

/// `impl User { pub const COL: .. }`: one typed `Column` per field, with the field's visibility.
fn columns_const(input: &DeriveInput, parsed: &ParsedTable) -> TokenStream {
    let ident = &parsed.ident;
    let table = &parsed.table.name;
    let holder = format_ident!("__Godwit{}Columns", ident);
    let visibility = |field: &syn::Ident| -> syn::Visibility {
        let syn::Data::Struct(data) = &input.data else { return syn::Visibility::Inherited };
        data.fields
            .iter()
            .find(|f| f.ident.as_ref() == Some(field))
            .map_or(syn::Visibility::Inherited, |f| f.vis.clone())
    };
    let decls = parsed.fields.iter().zip(&parsed.table.columns).map(|(f, c)| {
        let field = &f.ident;
        let ty = &f.ty;
        let vis = visibility(field);
        let doc = format!("Column `{}` of table `{}`.", f.column, table);
        let marker = sql_type_marker(c.ty);
        quote! {
            #[doc = #doc]
            #vis #field: ::migrate_runtime::Column<#ident, #ty, ::migrate_runtime::sql_type::#marker>,
        }
    });
    let inits = parsed.fields.iter().enumerate().map(|(idx, f)| {
        let field = &f.ident;
        let column = &f.column;
        quote!(#field: ::migrate_runtime::Column::__new(#column, #idx),)
    });
    let vis = &input.vis;
    let holder_doc = format!("The columns of table `{table}`, as `{ident}::COL`.");
    let const_doc = format!(
        "The columns of table `{table}`: one typed `migrate_runtime::Column` per field, for \
         filters (`{ident}::COL.<field>.eq(value)`) and raw SQL (`Display` quotes the name)."
    );
    quote! {
        #[doc = #holder_doc]
        #[allow(non_camel_case_types, dead_code)]
        #[derive(Clone, Copy, Debug)]
        pub struct #holder {
            #(#decls)*
        }

        #[allow(dead_code)]
        impl #ident {
            #[doc = #const_doc]
            #vis const COL: #holder = #holder { #(#inits)* };
        }
    }
}

/// The `migrate_runtime::sql_type` marker of a column's SQL type (it decides which typed
/// filters compile on the column).
fn sql_type_marker(ty: SqlType) -> syn::Ident {
    let name = match ty {
        SqlType::Integer => "Integer",
        SqlType::Real => "Real",
        SqlType::Text => "Text",
        SqlType::Blob => "Blob",
        SqlType::Numeric => "Numeric",
        SqlType::Any => "Any",
    };
    format_ident!("{}", name)
}
