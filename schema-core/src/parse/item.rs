//! One `DeriveInput` -> [`ParsedTable`]: the shape checks, field by field, then the rules that
//! look across fields (section 7 of the design). Errors go to the [`Ctxt`].

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream};
use quote::ToTokens as _;
use syn::ext::IdentExt as _;
use syn::{Data, DeriveInput, Fields, Ident, LitStr};

use super::attr::{self, Action, ColumnAttrs, RefTarget, StructAttrs};
use super::ctxt::{Ctxt, RenameClaim, check_renames};
use super::sqltext;
use super::ty::{self, Kind};
use super::{ExprSite, ParsedField, ParsedTable, Reference, Spans};
use crate::model::{Check, Column, DefaultValue, FkAction, ForeignKey, Index, SqlType, Table};

/// The default table name of a struct: its name in snake_case. A `_` goes before an uppercase
/// letter that follows a lowercase letter or a digit, or that starts a word after an acronym;
/// everything is then lowercased. No pluralisation.
///
/// ```
/// use schema_core::parse::snake_case;
/// assert_eq!(snake_case("User"), "user");
/// assert_eq!(snake_case("UserProfile"), "user_profile");
/// assert_eq!(snake_case("HTTPRequest"), "http_request");
/// assert_eq!(snake_case("Oauth2Token"), "oauth2_token");
/// assert_eq!(snake_case("already_snake"), "already_snake");
/// ```
#[must_use]
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            if let Some(&prev) = i.checked_sub(1).and_then(|p| chars.get(p)) {
                let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
                if prev.is_lowercase()
                    || prev.is_ascii_digit()
                    || (prev.is_uppercase() && next_lower)
                {
                    out.push('_');
                }
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A field after its own checks.
struct FieldInfo<'a> {
    field: &'a syn::Field,
    ident: Ident,
    column: Column,
    /// Where the column name comes from (the `name` literal or the field ident).
    name_span: Span,
    kind: Kind,
    attrs: ColumnAttrs,
}

pub(crate) fn parse(cx: &Ctxt, input: &DeriveInput) -> Option<ParsedTable> {
    let generic = check_generics(cx, input);
    reject_cfg(cx, &input.attrs, Cfg::Struct);
    let fields = named_fields(cx, input);
    let sattrs = attr::struct_attrs(cx, &input.attrs);
    let fields = fields?;
    if generic {
        // The fields' types name the parameters; their errors would only repeat this one.
        return None;
    }

    let (table_name, name_span) = match &sattrs.name {
        Some(lit) => (lit.value(), lit.span()),
        None => (snake_case(&input.ident.unraw().to_string()), input.ident.span()),
    };
    check_name(cx, name_span, "table", &table_name);
    let mut table = Table::new(table_name.clone());
    table.strict = sattrs.strict.is_some();
    table.without_rowid = sattrs.without_rowid.is_some();
    if let Some(lit) = &sattrs.renamed_from {
        table.renamed_from = renamed_from(cx, lit, "table", &table_name);
    }

    let infos: Vec<FieldInfo<'_>> = fields.iter().map(|f| field(cx, f, table.strict)).collect();
    check_duplicate_columns(cx, &infos);
    check_column_renames(cx, &infos);
    let by_field: HashMap<String, &FieldInfo<'_>> =
        infos.iter().map(|f| (f.ident.unraw().to_string(), f)).collect();
    let lookup = |ident: &Ident, what: &str| -> Option<&FieldInfo<'_>> {
        let found = by_field.get(&ident.unraw().to_string()).copied();
        if found.is_none() {
            let known: Vec<String> = infos.iter().map(|f| f.ident.unraw().to_string()).collect();
            let known_refs: Vec<&str> = known.iter().map(String::as_str).collect();
            let hint = attr::suggest(&ident.unraw().to_string(), &known_refs)
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            cx.error_spanned_by(
                ident,
                format_args!(
                    "no field `{}` in `{}`{hint} ({what} takes Rust field names)",
                    ident.unraw(),
                    input.ident
                ),
            );
        }
        found
    };

    primary_key(cx, &sattrs, &infos, &lookup, &mut table);
    autoincrement(cx, &infos, &mut table);
    let no_key =
        sattrs.primary_key.is_none() && infos.iter().all(|f| f.attrs.primary_key.is_none());
    if let (Some(span), true) = (sattrs.without_rowid, no_key) {
        cx.error_at(
            span,
            "without_rowid needs a primary key: add #[column(primary_key)] to a field or \
             #[primary_key(a, b)] to the struct",
        );
    }

    let mut spans = Spans {
        name: Some(name_span),
        renamed_from: sattrs.renamed_from.as_ref().map(LitStr::span),
        indexes: Vec::new(),
        exprs: Vec::new(),
    };
    indexes(cx, &sattrs, &infos, &lookup, &mut table, &mut spans);
    checks(cx, &sattrs, &mut table, &mut spans);
    for info in &infos {
        let name = &info.column.name;
        let sites = [
            (&info.attrs.default_sql, ExprSite::DefaultSql(name.clone())),
            (&info.attrs.backfill, ExprSite::Backfill(name.clone())),
            (&info.attrs.convert, ExprSite::Convert(name.clone())),
            (&info.attrs.check, ExprSite::ColumnCheck(name.clone())),
        ];
        for (lit, site) in sites {
            if let Some(lit) = lit {
                spans.exprs.push((site, lit.span()));
            }
        }
    }
    let references = foreign_keys(cx, &sattrs, &infos, &lookup, &mut table);

    let parsed_fields = infos
        .iter()
        .map(|f| ParsedField {
            ident: f.ident.clone(),
            ty: f.field.ty.clone(),
            column: f.column.name.clone(),
        })
        .collect();
    table.columns = infos.into_iter().map(|f| f.column).collect();
    if cx.has_errors() {
        return None;
    }
    Some(ParsedTable {
        rust_name: input.ident.unraw().to_string(),
        table,
        ident: input.ident.clone(),
        fields: parsed_fields,
        references,
        spans,
    })
}

/// Reports generic parameters; `true` if there were any.
fn check_generics(cx: &Ctxt, input: &DeriveInput) -> bool {
    for param in &input.generics.params {
        match param {
            syn::GenericParam::Lifetime(_) => cx.error_spanned_by(
                param,
                "#[derive(Table)] does not support lifetime parameters; use owned field types \
                 such as String and Vec<u8>",
            ),
            _ => cx.error_spanned_by(
                param,
                "#[derive(Table)] does not support generic parameters: a table has one fixed \
                 set of column types; use concrete field types",
            ),
        }
    }
    if let Some(where_clause) = &input.generics.where_clause {
        cx.error_spanned_by(
            where_clause,
            "#[derive(Table)] does not support a where clause; remove it",
        );
    }
    !input.generics.params.is_empty() || input.generics.where_clause.is_some()
}

fn named_fields<'a>(cx: &Ctxt, input: &'a DeriveInput) -> Option<Vec<&'a syn::Field>> {
    match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) if named.named.is_empty() => {
                cx.error_spanned_by(named, "a table needs at least one column: add a named field");
                None
            }
            Fields::Named(named) => Some(named.named.iter().collect()),
            Fields::Unnamed(unnamed) => {
                cx.error_spanned_by(
                    unnamed,
                    "tuple structs have no column names; use named fields: struct User { id: i64 }",
                );
                None
            }
            Fields::Unit => {
                cx.error_spanned_by(
                    &input.ident,
                    "a table needs at least one column: give the struct named fields",
                );
                None
            }
        },
        Data::Enum(e) => {
            cx.error_spanned_by(
                e.enum_token,
                "#[derive(Table)] needs a struct with named fields; an enum has no fixed columns \
                 (store it in a column with sql_type and rusqlite's FromSql and ToSql instead)",
            );
            None
        }
        Data::Union(u) => {
            cx.error_spanned_by(
                u.union_token,
                "#[derive(Table)] needs a struct with named fields; unions are not supported",
            );
            None
        }
    }
}

/// Table, column and index names: non-empty, no NUL, not `sqlite_`-prefixed.
fn check_name(cx: &Ctxt, span: Span, what: &str, name: &str) {
    if name.trim().is_empty() {
        cx.error_at(span, format_args!("the {what} name is empty; give it a name"));
    } else if name.contains('\0') {
        cx.error_at(span, format_args!("the {what} name contains a NUL character; remove it"));
    } else if let Some(problem) = sqltext::name_problem(name) {
        cx.error_at(
            span,
            format_args!(
                "the {what} name {name:?} {problem}; names are written into migration file \
                 comments and build messages, one per line, so remove it"
            ),
        );
    } else if name.get(..7).is_some_and(|p| p.eq_ignore_ascii_case("sqlite_")) {
        cx.error_at(
            span,
            format_args!(
                "the {what} name `{name}` starts with `sqlite_`, which SQLite reserves for \
                 itself; choose another name"
            ),
        );
    }
}

/// An SQL expression attribute: [`non_empty`], and nothing that breaks the statement around it
/// or the migration file (see [`sqltext::expr_problem`]).
fn sql_expr(cx: &Ctxt, lit: &LitStr, what: &str) -> Option<String> {
    let value = non_empty(cx, lit, what)?;
    if let Some(problem) = sqltext::expr_problem(&value, what) {
        cx.error_spanned_by(lit, problem);
        return None;
    }
    Some(value)
}

/// Where a `#[cfg]` was found, for the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cfg {
    Struct,
    Field,
}

/// The attributes (besides `derive`) that belong to the schema.
const SCHEMA_ATTRS: [&str; 6] =
    [attr::TABLE, attr::COLUMN, attr::INDEX, attr::PRIMARY_KEY, attr::CHECK, attr::FOREIGN_KEY];

/// `#[cfg]` on a schema item, or `#[cfg_attr]` carrying a schema attribute: the build script
/// reads the file without evaluating cfg, so it would plan a schema the compiler does not build.
fn reject_cfg(cx: &Ctxt, attrs: &[syn::Attribute], at: Cfg) {
    for attr in attrs {
        if attr.path().is_ident("cfg") {
            let message = match at {
                Cfg::Struct => {
                    "#[cfg] on a #[derive(Table)] struct: the build script reads the schema \
                     without evaluating cfg, so its migrations cannot follow it; remove the \
                     #[cfg], and put a table that exists only in some builds in its own schema \
                     file and database (Generator::new().schema(\"src/extra.rs\").db_name(\"ExtraDb\"))"
                }
                Cfg::Field => {
                    "#[cfg] on a field of a #[derive(Table)] struct: the build script reads the \
                     schema without evaluating cfg, so a column cannot depend on it; remove the \
                     #[cfg], or split the table into separate schema files or databases"
                }
            };
            cx.error_spanned_by(attr, message);
        } else if attr.path().is_ident("cfg_attr") && cfg_attr_carries_schema(attr) {
            cx.error_spanned_by(
                attr,
                "#[cfg_attr] around a schema attribute: the build script reads the schema without \
                 evaluating cfg, so it would see other attributes than the compiler; write the \
                 attribute without cfg_attr (or split the schema into separate schema files or \
                 databases)",
            );
        }
    }
}

/// The attributes a `#[cfg_attr(pred, a, b)]` applies (`a`, `b`); empty if it does not parse.
fn cfg_attr_metas(attr: &syn::Attribute) -> Vec<syn::Meta> {
    attr.parse_args_with(syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated)
        .map(|metas| metas.into_iter().skip(1).collect())
        .unwrap_or_default()
}

/// Whether `meta` is `derive(.., Table, ..)`.
pub(crate) fn meta_derives_table(meta: &syn::Meta) -> bool {
    meta.path().is_ident("derive")
        && meta.require_list().is_ok_and(|list| {
            list.parse_args_with(
                syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
            )
            .is_ok_and(|paths| {
                paths.iter().any(|p| p.segments.last().is_some_and(|s| s.ident == "Table"))
            })
        })
}

/// Whether `#[cfg_attr(pred, ..)]` applies `derive(Table)`.
pub(crate) fn cfg_attr_derives_table(attr: &syn::Attribute) -> bool {
    attr.path().is_ident("cfg_attr") && cfg_attr_metas(attr).iter().any(meta_derives_table)
}

/// Whether `#[cfg_attr(pred, ..)]` applies `derive(Table)` or one of [`SCHEMA_ATTRS`].
fn cfg_attr_carries_schema(attr: &syn::Attribute) -> bool {
    cfg_attr_metas(attr).iter().any(|meta| {
        meta_derives_table(meta) || SCHEMA_ATTRS.iter().any(|name| meta.path().is_ident(name))
    })
}

fn non_empty(cx: &Ctxt, lit: &LitStr, what: &str) -> Option<String> {
    let value = lit.value();
    if value.trim().is_empty() {
        cx.error_spanned_by(
            lit,
            format_args!("{what} is empty; give an SQL expression or remove it"),
        );
        None
    } else if value.contains('\0') {
        cx.error_spanned_by(lit, format_args!("{what} contains a NUL character; remove it"));
        None
    } else {
        Some(value)
    }
}

fn renamed_from(cx: &Ctxt, lit: &LitStr, what: &str, current: &str) -> Option<String> {
    let old = lit.value();
    if old == current {
        cx.error_spanned_by(
            lit,
            format_args!(
                "renamed_from = \"{old}\" is the {what}'s current name; renamed_from takes the \
                 old SQL name, so remove it (or fix the old name)"
            ),
        );
        return None;
    }
    if let Some(problem) = sqltext::name_problem(&old) {
        cx.error_spanned_by(
            lit,
            format_args!("renamed_from {problem}; it must be the {what}'s old SQL name"),
        );
        return None;
    }
    if old.trim().is_empty() || old.contains('\0') {
        cx.error_spanned_by(
            lit,
            format_args!(
                "renamed_from must be the {what}'s old SQL name; this one is empty or contains NUL"
            ),
        );
        return None;
    }
    Some(old)
}

fn field<'a>(cx: &Ctxt, field: &'a syn::Field, strict: bool) -> FieldInfo<'a> {
    let ident = field.ident.clone().expect("named field");
    reject_cfg(cx, &field.attrs, Cfg::Field);
    let attrs = attr::column_attrs(cx, &field.attrs);
    let (name, name_span) = match &attrs.name {
        Some(lit) => (lit.value(), lit.span()),
        None => (ident.unraw().to_string(), ident.span()),
    };
    check_name(cx, name_span, "column", &name);

    let (nullable, inner) = ty::unwrap_option(&field.ty);
    let kind = ty::classify(inner);
    let sql_type = match &attrs.sql_type {
        Some(lit) => match ty::parse_sql_type(lit) {
            Ok(t) => Some(t),
            Err(msg) => {
                cx.error_spanned_by(lit, msg);
                None
            }
        },
        None => {
            if kind.sql_type().is_none() {
                missing_sql_type(cx, inner, kind);
            }
            kind.sql_type()
        }
    };
    if let (Some(t), Some(lit)) = (sql_type, &attrs.sql_type) {
        if t == SqlType::Any && !strict {
            cx.error_spanned_by(
                lit,
                "sql_type = \"ANY\" needs #[table(strict)]: outside a STRICT table a column \
                 declared ANY has NUMERIC affinity and rewrites text like '0123' as 123",
            );
        } else if t == SqlType::Numeric && strict {
            cx.error_spanned_by(
                lit,
                "a STRICT table does not accept NUMERIC columns; use INTEGER, REAL, TEXT, BLOB \
                 or ANY (or remove #[table(strict)])",
            );
        }
    }

    let mut column = Column::new(name, sql_type.unwrap_or(SqlType::Blob));
    column.nullable = nullable;
    column.unique = attrs.unique.is_some();

    if let (Some(_), Some(sql)) = (&attrs.default, &attrs.default_sql) {
        cx.error_spanned_by(
            sql,
            "default and default_sql cannot both be set: keep default for a Rust literal or \
             default_sql for an SQL expression",
        );
    } else if let Some(expr) = &attrs.default {
        if let Some(t) = sql_type {
            match ty::render_default(expr, kind, t) {
                Ok(sql) => column.default = Some(DefaultValue::Literal(sql)),
                Err(msg) => cx.error_spanned_by(expr, format_args!("#[column(default)]: {msg}")),
            }
        }
    } else if let Some(lit) = &attrs.default_sql {
        column.default = sql_expr(cx, lit, "default_sql").map(DefaultValue::Sql);
    }
    if let Some(lit) = &attrs.backfill {
        if nullable {
            cx.error_spanned_by(
                lit,
                format_args!(
                    "backfill only applies to NOT NULL columns and `{ident}` is an Option; \
                     remove backfill (or make the field non-optional)"
                ),
            );
        } else {
            column.backfill = sql_expr(cx, lit, "backfill");
        }
    }
    if let Some(lit) = &attrs.convert {
        column.convert = sql_expr(cx, lit, "convert");
    }
    if let Some(lit) = &attrs.check {
        column.check = sql_expr(cx, lit, "check");
    }
    if let Some(lit) = &attrs.renamed_from {
        column.renamed_from = renamed_from(cx, lit, "column", &column.name);
    }
    if let (Some(span), true) = (attrs.primary_key, nullable) {
        cx.error_at(
            span,
            format_args!(
                "primary_key on an Option field: primary key columns are NOT NULL; change \
                 `{ident}` to the inner type {}",
                inner.to_token_stream()
            ),
        );
    }
    if let (Some(unique), Some(_)) = (attrs.unique, attrs.index) {
        cx.error_at(
            unique,
            "unique and index on one column: UNIQUE already creates an index; remove `index`",
        );
    }
    if attrs.references.is_none() {
        for action in [&attrs.on_delete, &attrs.on_update].into_iter().flatten() {
            cx.error_spanned_by(
                &action.lit,
                "on_delete/on_update need a foreign key: add references = Type to this #[column]",
            );
        }
    }
    FieldInfo { field, ident, column, name_span, kind, attrs }
}

fn missing_sql_type(cx: &Ctxt, ty: &syn::Type, kind: Kind) {
    let written = ty.to_token_stream().to_string().replace(' ', "");
    if kind == Kind::WideInt {
        cx.error_spanned_by(
            ty,
            format_args!(
                "`{written}` has no exact SQLite type (SQLite integers are 64-bit signed): use \
                 i64, or add #[column(sql_type = \"INTEGER\")] if every value fits in i64 \
                 (or sql_type = \"TEXT\")"
            ),
        );
    } else {
        cx.error_spanned_by(
            ty,
            format_args!(
                "`{written}` has no built-in SQL type: add #[column(sql_type = \"TEXT\")] (or \
                 INTEGER, REAL, BLOB, NUMERIC) and implement rusqlite's FromSql and ToSql for it"
            ),
        );
    }
}

/// SQLite compares names ASCII case-insensitively: `Email` and `email` clash.
fn check_duplicate_columns(cx: &Ctxt, infos: &[FieldInfo<'_>]) {
    let mut seen: HashMap<String, &FieldInfo<'_>> = HashMap::new();
    for info in infos {
        let key = info.column.name.to_ascii_lowercase();
        if let Some(first) = seen.get(&key) {
            cx.error_at(
                info.name_span,
                format_args!(
                    "duplicate column name `{}`: field `{}` already maps to `{}` and SQLite names \
                     are case-insensitive; rename one with #[column(name = \"..\")]",
                    info.column.name,
                    first.ident.unraw(),
                    first.column.name
                ),
            );
        } else {
            seen.insert(key, info);
        }
    }
}

/// A rename's old name must be gone: not the current name of a column that is not itself being
/// renamed (a swap `a <-> b` is fine), and not claimed by two fields.
fn check_column_renames(cx: &Ctxt, infos: &[FieldInfo<'_>]) {
    let claims: Vec<RenameClaim<'_>> = infos
        .iter()
        .map(|info| RenameClaim {
            name: &info.column.name,
            renamed_from: info.column.renamed_from.as_deref(),
            owner: format!("field `{}`", info.ident.unraw()),
            span: info
                .attrs
                .renamed_from
                .as_ref()
                .map_or_else(|| info.ident.span(), |lit| lit.span()),
        })
        .collect();
    check_renames(cx, "column", "field", &claims);
}

type Lookup<'l, 'a> = dyn Fn(&Ident, &str) -> Option<&'l FieldInfo<'a>> + 'l;

/// Field idents -> SQL column names; `None` if any is unknown or repeated.
fn columns_of<'l, 'a: 'l>(
    cx: &Ctxt,
    idents: &[Ident],
    lookup: &Lookup<'l, 'a>,
    what: &str,
) -> Option<Vec<&'l FieldInfo<'a>>> {
    let mut out: Vec<&FieldInfo<'_>> = Vec::new();
    let mut ok = true;
    for ident in idents {
        match lookup(ident, what) {
            Some(info) if out.iter().any(|o| o.ident == info.ident) => {
                ok = false;
                cx.error_spanned_by(
                    ident,
                    format_args!(
                        "field `{}` is listed twice in {what}; list it once",
                        ident.unraw()
                    ),
                );
            }
            Some(info) => out.push(info),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn primary_key<'l, 'a: 'l>(
    cx: &Ctxt,
    sattrs: &StructAttrs,
    infos: &'l [FieldInfo<'a>],
    lookup: &Lookup<'l, 'a>,
    table: &mut Table,
) {
    let mut flagged = infos.iter().filter(|f| f.attrs.primary_key.is_some());
    let first = flagged.next();
    for extra in flagged {
        cx.error_at(
            extra.attrs.primary_key.expect("filtered"),
            format_args!(
                "only one field can have #[column(primary_key)]; for a composite key write \
                 #[primary_key({}, {})] on the struct",
                first.expect("one before").ident.unraw(),
                extra.ident.unraw()
            ),
        );
    }
    match (&sattrs.primary_key, first) {
        (Some((tokens, _)), Some(_)) => cx.error_spanned_by(
            tokens,
            "the primary key is declared twice: remove #[column(primary_key)] from the field or \
             this #[primary_key(..)]",
        ),
        (Some((_, idents)), None) => {
            if let Some(cols) = columns_of(cx, idents, lookup, "#[primary_key(..)]") {
                for (info, ident) in cols.iter().zip(idents) {
                    if info.column.nullable {
                        cx.error_spanned_by(
                            ident,
                            format_args!(
                                "primary key field `{}` is an Option: primary key columns are NOT \
                                 NULL; use the inner type",
                                ident.unraw()
                            ),
                        );
                    }
                }
                table.primary_key = cols.iter().map(|c| c.column.name.clone()).collect();
            }
        }
        (None, Some(info)) => table.primary_key = vec![info.column.name.clone()],
        (None, None) => {}
    }
}

fn autoincrement(cx: &Ctxt, infos: &[FieldInfo<'_>], table: &mut Table) {
    for info in infos {
        let Some(span) = info.attrs.autoincrement else { continue };
        let sole_key = table.primary_key.len() == 1 && table.primary_key[0] == info.column.name;
        if table.without_rowid {
            cx.error_at(
                span,
                "autoincrement cannot be used with without_rowid: a WITHOUT ROWID table has no \
                 rowid to increment; remove one of them",
            );
        } else if !sole_key {
            cx.error_at(
                span,
                "autoincrement needs the column to be the table's only primary key: write \
                 #[column(primary_key, autoincrement)] on an i64 field",
            );
        } else if info.column.ty != SqlType::Integer || !is_integer_kind(info.kind, &info.attrs) {
            cx.error_at(
                span,
                format_args!(
                    "autoincrement needs an INTEGER primary key, but `{}` is `{}` ({}); make it \
                     an i64",
                    info.ident.unraw(),
                    info.field.ty.to_token_stream().to_string().replace(' ', ""),
                    info.column.ty.as_sql()
                ),
            );
        } else {
            table.autoincrement = true;
        }
    }
}

fn is_integer_kind(kind: Kind, attrs: &ColumnAttrs) -> bool {
    matches!(kind, Kind::Int { .. }) || attrs.sql_type.is_some()
}

fn indexes<'l, 'a: 'l>(
    cx: &Ctxt,
    sattrs: &StructAttrs,
    infos: &'l [FieldInfo<'a>],
    lookup: &Lookup<'l, 'a>,
    table: &mut Table,
    spans: &mut Spans,
) {
    let mut list: Vec<(Index, TokenStream, bool)> = Vec::new();
    for attr in &sattrs.indexes {
        let Some(idents) = &attr.columns else { continue };
        let Some(cols) = columns_of(cx, idents, lookup, "#[index(columns(..))]") else { continue };
        let columns: Vec<String> = cols.iter().map(|c| c.column.name.clone()).collect();
        let unique = attr.unique.is_some();
        let (name, span, explicit) = match &attr.name {
            Some(lit) => {
                check_name(cx, lit.span(), "index", &lit.value());
                (lit.value(), lit.to_token_stream(), true)
            }
            None => (index_name(&table.name, &columns, unique), attr.tokens.clone(), false),
        };
        let where_clause = attr.where_clause.as_ref().and_then(|w| sql_expr(cx, w, "where"));
        if let (Some(_), Some(lit)) = (&where_clause, &attr.where_clause) {
            spans.exprs.push((ExprSite::IndexWhere(name.clone()), lit.span()));
        }
        list.push((Index { name, columns, unique, where_clause }, span, explicit));
    }
    for info in infos {
        if let Some(span) = info.attrs.index {
            let columns = vec![info.column.name.clone()];
            let name = index_name(&table.name, &columns, false);
            let tokens = quote::quote_spanned!(span=> index);
            list.push((Index { name, columns, unique: false, where_clause: None }, tokens, false));
        }
    }
    let mut seen = std::collections::HashSet::new();
    for (index, span, explicit) in &list {
        if !seen.insert(index.name.to_ascii_lowercase()) {
            let fix = if *explicit {
                "choose another name"
            } else {
                "give one of them a name: #[index(columns(..), name = \"..\")]"
            };
            cx.error_spanned_by(
                span,
                format_args!("index name `{}` is used twice in this table; {fix}", index.name),
            );
        }
    }
    for (index, span, _) in list {
        table.indexes.push(index);
        spans.indexes.push(span);
    }
}

/// `<table>_<col>.._idx`, or `.._key` for a unique index.
fn index_name(table: &str, columns: &[String], unique: bool) -> String {
    let suffix = if unique { "key" } else { "idx" };
    format!("{table}_{}_{suffix}", columns.join("_"))
}

fn checks(cx: &Ctxt, sattrs: &StructAttrs, table: &mut Table, spans: &mut Spans) {
    let mut names: HashMap<String, ()> = HashMap::new();
    for attr in &sattrs.checks {
        let Some(lit) = attr.expr.as_ref() else { continue };
        let Some(expr) = sql_expr(cx, lit, "#[check(expr)]") else {
            continue;
        };
        let name = match &attr.name {
            Some(lit) => {
                let name = lit.value();
                if name.trim().is_empty() || name.contains('\0') {
                    cx.error_spanned_by(
                        lit,
                        "the check name is empty or contains NUL; fix or remove `name`",
                    );
                    continue;
                }
                if let Some(problem) = sqltext::name_problem(&name) {
                    cx.error_spanned_by(
                        lit,
                        format_args!("the check name {problem}; fix or remove `name`"),
                    );
                    continue;
                }
                if names.insert(name.to_ascii_lowercase(), ()).is_some() {
                    cx.error_spanned_by(
                        lit,
                        format_args!(
                            "check name `{name}` is used twice; give each check its own name"
                        ),
                    );
                    continue;
                }
                Some(name)
            }
            None => None,
        };
        spans.exprs.push((ExprSite::TableCheck(table.checks.len()), lit.span()));
        table.checks.push(Check { name, expr });
    }
}

fn foreign_keys<'l, 'a: 'l>(
    cx: &Ctxt,
    sattrs: &StructAttrs,
    infos: &'l [FieldInfo<'a>],
    lookup: &Lookup<'l, 'a>,
    table: &mut Table,
) -> Vec<Reference> {
    let mut refs = Vec::new();
    let mut push = |table: &mut Table,
                    cols: Vec<&FieldInfo<'_>>,
                    target: &RefTarget,
                    to: Vec<Ident>,
                    on_delete: &Option<Action>,
                    on_update: &Option<Action>| {
        for action in [on_delete, on_update].into_iter().flatten() {
            check_action(cx, action, &cols);
        }
        refs.push(Reference {
            foreign_key: table.foreign_keys.len(),
            target: target.path.clone(),
            to: to.clone(),
        });
        table.foreign_keys.push(ForeignKey {
            columns: cols.iter().map(|c| c.column.name.clone()).collect(),
            ref_table: path_string(&target.path),
            ref_columns: to.iter().map(|i| i.unraw().to_string()).collect(),
            on_delete: on_delete.as_ref().map(|a| a.action),
            on_update: on_update.as_ref().map(|a| a.action),
        });
    };
    for attr in &sattrs.foreign_keys {
        let (Some(idents), Some(target)) = (&attr.columns, &attr.references) else { continue };
        let Some(cols) = columns_of(cx, idents, lookup, "#[foreign_key(columns(..))]") else {
            continue;
        };
        if let Some(to) = attr.to.as_ref().filter(|to| to.len() != idents.len()) {
            cx.error_spanned_by(
                &attr.tokens,
                format_args!(
                    "#[foreign_key] has {} column(s) but to(..) names {}; give one target field \
                     per column",
                    idents.len(),
                    to.len()
                ),
            );
            continue;
        }
        push(
            table,
            cols,
            target,
            attr.to.clone().unwrap_or_default(),
            &attr.on_delete,
            &attr.on_update,
        );
    }
    for info in infos {
        let Some((_, target)) = &info.attrs.references else { continue };
        let to = target.field.clone().into_iter().collect();
        push(table, vec![info], target, to, &info.attrs.on_delete, &info.attrs.on_update);
    }
    refs
}

/// `SET NULL` on a NOT NULL column, or `SET DEFAULT` on a NOT NULL column without a default,
/// would fail when the parent row goes away.
fn check_action(cx: &Ctxt, action: &Action, cols: &[&FieldInfo<'_>]) {
    for col in cols {
        let bad = match action.action {
            FkAction::SetNull => !col.column.nullable,
            FkAction::SetDefault => !col.column.nullable && col.column.default.is_none(),
            _ => false,
        };
        if bad {
            let fix = if action.action == FkAction::SetNull {
                format!("make `{}` an Option or choose another action", col.ident.unraw())
            } else {
                format!("give `{}` a default or choose another action", col.ident.unraw())
            };
            cx.error_spanned_by(
                &action.lit,
                format_args!(
                    "\"{}\" would store NULL in the NOT NULL column `{}` when the parent row is \
                     deleted or updated; {fix}",
                    action.action.as_attr(),
                    col.column.name
                ),
            );
        }
    }
}

/// `Team`, `crate::db::Team`, `::x::Team`: segments joined by `::`.
pub(crate) fn path_string(path: &syn::Path) -> String {
    let segs: Vec<String> = path.segments.iter().map(|s| s.ident.unraw().to_string()).collect();
    let lead = if path.leading_colon.is_some() { "::" } else { "" };
    format!("{lead}{}", segs.join("::"))
}
