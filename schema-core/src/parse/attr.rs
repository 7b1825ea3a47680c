//! Raw attributes -> typed attribute values. Every mistake goes to the [`Ctxt`] and parsing goes
//! on, so the user sees every bad attribute at once; nothing here knows about other fields.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens as _;
use syn::ext::IdentExt as _;
use syn::meta::ParseNestedMeta;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned as _;
use syn::{Attribute, Expr, ExprLit, Ident, Lit, LitStr, Token};

use super::ctxt::Ctxt;
use crate::model::FkAction;

pub(crate) const TABLE: &str = "table";
pub(crate) const INDEX: &str = "index";
pub(crate) const PRIMARY_KEY: &str = "primary_key";
pub(crate) const CHECK: &str = "check";
pub(crate) const FOREIGN_KEY: &str = "foreign_key";
pub(crate) const COLUMN: &str = "column";

const TABLE_KEYS: &[&str] = &["name", "renamed_from", "strict", "without_rowid"];
const INDEX_KEYS: &[&str] = &["columns", "unique", "name", "where"];
const CHECK_KEYS: &[&str] = &["name", "expr"];
const FOREIGN_KEY_KEYS: &[&str] = &["columns", "references", "to", "on_delete", "on_update"];
const COLUMN_KEYS: &[&str] = &[
    "name",
    "primary_key",
    "autoincrement",
    "unique",
    "index",
    "default",
    "default_sql",
    "backfill",
    "convert",
    "sql_type",
    "references",
    "on_delete",
    "on_update",
    "renamed_from",
    "check",
];

/// The target of `references = Type` or `references = "Type::field"`.
#[derive(Debug, Clone)]
pub(crate) struct RefTarget {
    /// The struct's path; for the string form its tokens carry the literal's span.
    pub(crate) path: syn::Path,
    /// The field of `"Type::field"`.
    pub(crate) field: Option<Ident>,
}

/// A foreign-key action with the literal it came from.
#[derive(Debug, Clone)]
pub(crate) struct Action {
    pub(crate) action: FkAction,
    pub(crate) lit: LitStr,
}

/// `#[table(..)]` plus the other struct-level attributes.
#[derive(Default)]
pub(crate) struct StructAttrs {
    pub(crate) name: Option<LitStr>,
    pub(crate) renamed_from: Option<LitStr>,
    pub(crate) strict: Option<Span>,
    pub(crate) without_rowid: Option<Span>,
    pub(crate) indexes: Vec<IndexAttr>,
    pub(crate) primary_key: Option<(TokenStream, Vec<Ident>)>,
    pub(crate) checks: Vec<CheckAttr>,
    pub(crate) foreign_keys: Vec<ForeignKeyAttr>,
}

/// `#[index(columns(..), unique, name = "..", where = "..")]`.
pub(crate) struct IndexAttr {
    pub(crate) tokens: TokenStream,
    pub(crate) columns: Option<Vec<Ident>>,
    pub(crate) unique: Option<Span>,
    pub(crate) name: Option<LitStr>,
    pub(crate) where_clause: Option<LitStr>,
}

/// `#[check(name = "..", expr = "..")]`.
pub(crate) struct CheckAttr {
    pub(crate) name: Option<LitStr>,
    pub(crate) expr: Option<LitStr>,
}

/// `#[foreign_key(columns(..), references = Type, to(..), on_delete = "..", on_update = "..")]`.
pub(crate) struct ForeignKeyAttr {
    pub(crate) tokens: TokenStream,
    pub(crate) columns: Option<Vec<Ident>>,
    pub(crate) references: Option<RefTarget>,
    pub(crate) to: Option<Vec<Ident>>,
    pub(crate) on_delete: Option<Action>,
    pub(crate) on_update: Option<Action>,
}

/// `#[column(..)]` on one field (several `#[column]` attributes merge).
#[derive(Default)]
pub(crate) struct ColumnAttrs {
    pub(crate) name: Option<LitStr>,
    pub(crate) primary_key: Option<Span>,
    pub(crate) autoincrement: Option<Span>,
    pub(crate) unique: Option<Span>,
    pub(crate) index: Option<Span>,
    pub(crate) default: Option<Expr>,
    pub(crate) default_sql: Option<LitStr>,
    pub(crate) backfill: Option<LitStr>,
    pub(crate) convert: Option<LitStr>,
    pub(crate) sql_type: Option<LitStr>,
    pub(crate) references: Option<(Span, RefTarget)>,
    pub(crate) on_delete: Option<Action>,
    pub(crate) on_update: Option<Action>,
    pub(crate) renamed_from: Option<LitStr>,
    pub(crate) check: Option<LitStr>,
}

fn attr_name(attr: &Attribute) -> Option<String> {
    attr.path().get_ident().map(ToString::to_string)
}

/// Parses the struct-level attributes; `#[column]` on the struct is an error.
pub(crate) fn struct_attrs(cx: &Ctxt, attrs: &[Attribute]) -> StructAttrs {
    let mut out = StructAttrs::default();
    for attr in attrs {
        match attr_name(attr).as_deref() {
            Some(TABLE) => table_attr(cx, attr, &mut out),
            Some(INDEX) => out.indexes.push(index_attr(cx, attr)),
            Some(PRIMARY_KEY) => primary_key_attr(cx, attr, &mut out),
            Some(CHECK) => out.checks.push(check_attr(cx, attr)),
            Some(FOREIGN_KEY) => out.foreign_keys.push(foreign_key_attr(cx, attr)),
            Some(COLUMN) => cx.error_spanned_by(
                attr,
                "#[column(..)] goes on a field; table options go in #[table(..)]",
            ),
            _ => {}
        }
    }
    out
}

/// Parses the `#[column]` attributes of one field; struct-level attributes there are errors.
pub(crate) fn column_attrs(cx: &Ctxt, attrs: &[Attribute]) -> ColumnAttrs {
    let mut out = ColumnAttrs::default();
    for attr in attrs {
        match attr_name(attr).as_deref() {
            Some(COLUMN) => column_attr(cx, attr, &mut out),
            Some(PRIMARY_KEY) => cx.error_spanned_by(
                attr,
                "#[primary_key(..)] goes on the struct; on a field write #[column(primary_key)]",
            ),
            Some(INDEX) => cx.error_spanned_by(
                attr,
                "#[index(..)] goes on the struct; on a field write #[column(index)]",
            ),
            Some(CHECK) => cx.error_spanned_by(
                attr,
                "#[check(..)] goes on the struct; on a field write #[column(check = \"..\")]",
            ),
            Some(FOREIGN_KEY) => cx.error_spanned_by(
                attr,
                "#[foreign_key(..)] goes on the struct; on a field write #[column(references = Type)]",
            ),
            Some(TABLE) => cx.error_spanned_by(
                attr,
                "#[table(..)] goes on the struct; on a field write #[column(..)]",
            ),
            _ => {}
        }
    }
    out
}

fn table_attr(cx: &Ctxt, attr: &Attribute, out: &mut StructAttrs) {
    each_key(cx, attr, TABLE, TABLE_KEYS, |key, meta| {
        match key {
            // #[table(name = "users")]
            "name" => set(cx, meta, TABLE, &mut out.name, lit_str(cx, meta, TABLE)?),
            // #[table(renamed_from = "old_users")]
            "renamed_from" => {
                set(cx, meta, TABLE, &mut out.renamed_from, lit_str(cx, meta, TABLE)?);
            }
            // #[table(strict)]
            "strict" => set(cx, meta, TABLE, &mut out.strict, flag(cx, meta, TABLE)?),
            // #[table(without_rowid)]
            _ => set(cx, meta, TABLE, &mut out.without_rowid, flag(cx, meta, TABLE)?),
        }
        Ok(())
    });
}

fn index_attr(cx: &Ctxt, attr: &Attribute) -> IndexAttr {
    let mut index = IndexAttr {
        tokens: attr.to_token_stream(),
        columns: None,
        unique: None,
        name: None,
        where_clause: None,
    };
    let seen = each_key(cx, attr, INDEX, INDEX_KEYS, |key, meta| {
        match key {
            // #[index(columns(email, name))]
            "columns" => set(cx, meta, INDEX, &mut index.columns, idents(cx, meta, INDEX)?),
            // #[index(.., unique)]
            "unique" => set(cx, meta, INDEX, &mut index.unique, flag(cx, meta, INDEX)?),
            // #[index(.., name = "users_email_idx")]
            "name" => set(cx, meta, INDEX, &mut index.name, lit_str(cx, meta, INDEX)?),
            // #[index(.., where = "deleted_at IS NULL")]
            _ => set(cx, meta, INDEX, &mut index.where_clause, lit_str(cx, meta, INDEX)?),
        }
        Ok(())
    });
    if !seen.contains(&"columns") {
        cx.error_spanned_by(attr, "#[index] needs the indexed fields: #[index(columns(a, b))]");
    }
    index
}

fn primary_key_attr(cx: &Ctxt, attr: &Attribute, out: &mut StructAttrs) {
    // #[primary_key(a, b)]
    let syn::Meta::List(list) = &attr.meta else {
        cx.error_spanned_by(
            attr,
            "#[primary_key] needs the key's fields: #[primary_key(a, b)] \
             (for one column write #[column(primary_key)] on the field)",
        );
        return;
    };
    let fields = match list.parse_args_with(Punctuated::<Expr, Token![,]>::parse_terminated) {
        Ok(exprs) => field_names(cx, exprs, PRIMARY_KEY),
        Err(err) => {
            cx.syn_error(err);
            return;
        }
    };
    let Some(fields) = fields else { return };
    if fields.is_empty() {
        cx.error_spanned_by(
            attr,
            "#[primary_key()] is empty: name the key's fields, #[primary_key(a, b)]",
        );
        return;
    }
    if out.primary_key.is_some() {
        cx.error_spanned_by(
            attr,
            "duplicate #[primary_key(..)] attribute; list every key field in one",
        );
        return;
    }
    out.primary_key = Some((attr.to_token_stream(), fields));
}

fn check_attr(cx: &Ctxt, attr: &Attribute) -> CheckAttr {
    let mut check = CheckAttr { name: None, expr: None };
    let seen = each_key(cx, attr, CHECK, CHECK_KEYS, |key, meta| {
        match key {
            // #[check(name = "karma_positive", ..)]
            "name" => set(cx, meta, CHECK, &mut check.name, lit_str(cx, meta, CHECK)?),
            // #[check(expr = "karma >= 0")]
            _ => set(cx, meta, CHECK, &mut check.expr, lit_str(cx, meta, CHECK)?),
        }
        Ok(())
    });
    if !seen.contains(&"expr") {
        cx.error_spanned_by(
            attr,
            "#[check] needs an SQL expression: #[check(expr = \"karma >= 0\")]",
        );
    }
    check
}

fn foreign_key_attr(cx: &Ctxt, attr: &Attribute) -> ForeignKeyAttr {
    let mut fk = ForeignKeyAttr {
        tokens: attr.to_token_stream(),
        columns: None,
        references: None,
        to: None,
        on_delete: None,
        on_update: None,
    };
    let seen = each_key(cx, attr, FOREIGN_KEY, FOREIGN_KEY_KEYS, |key, meta| {
        match key {
            // #[foreign_key(columns(a, b), ..)]
            "columns" => {
                set(cx, meta, FOREIGN_KEY, &mut fk.columns, idents(cx, meta, FOREIGN_KEY)?);
            }
            // #[foreign_key(.., references = Team)]
            "references" => {
                let target = reference(cx, meta, FOREIGN_KEY)?;
                if target.as_ref().is_some_and(|t| t.field.is_some()) {
                    cx.error_spanned_by(
                        &meta.path,
                        "#[foreign_key(references = ..)] takes a struct name; name the target \
                         fields with to(..): references = Team, to(a, b)",
                    );
                }
                set(cx, meta, FOREIGN_KEY, &mut fk.references, target);
            }
            // #[foreign_key(.., to(x, y))]
            "to" => set(cx, meta, FOREIGN_KEY, &mut fk.to, idents(cx, meta, FOREIGN_KEY)?),
            // #[foreign_key(.., on_delete = "cascade")]
            "on_delete" => {
                set(cx, meta, FOREIGN_KEY, &mut fk.on_delete, action(cx, meta, FOREIGN_KEY)?);
            }
            // #[foreign_key(.., on_update = "cascade")]
            _ => set(cx, meta, FOREIGN_KEY, &mut fk.on_update, action(cx, meta, FOREIGN_KEY)?),
        }
        Ok(())
    });
    {
        if !seen.contains(&"columns") {
            cx.error_spanned_by(
                attr,
                "#[foreign_key] needs the child fields: #[foreign_key(columns(a, b), references = Type)]",
            );
        }
        if !seen.contains(&"references") {
            cx.error_spanned_by(
                attr,
                "#[foreign_key] needs its target: #[foreign_key(columns(..), references = Type)]",
            );
        }
    }
    fk
}

fn column_attr(cx: &Ctxt, attr: &Attribute, out: &mut ColumnAttrs) {
    each_key(cx, attr, COLUMN, COLUMN_KEYS, |key, meta| {
        match key {
            // #[column(name = "e_mail")]
            "name" => set(cx, meta, COLUMN, &mut out.name, lit_str(cx, meta, COLUMN)?),
            // #[column(primary_key)]
            "primary_key" => set(cx, meta, COLUMN, &mut out.primary_key, flag(cx, meta, COLUMN)?),
            // #[column(primary_key, autoincrement)]
            "autoincrement" => {
                set(cx, meta, COLUMN, &mut out.autoincrement, flag(cx, meta, COLUMN)?);
            }
            // #[column(unique)]
            "unique" => set(cx, meta, COLUMN, &mut out.unique, flag(cx, meta, COLUMN)?),
            // #[column(index)]
            "index" => set(cx, meta, COLUMN, &mut out.index, flag(cx, meta, COLUMN)?),
            // #[column(default = 0)]
            "default" => set(cx, meta, COLUMN, &mut out.default, expr(cx, meta, COLUMN)?),
            // #[column(default_sql = "CURRENT_TIMESTAMP")]
            "default_sql" => {
                set(cx, meta, COLUMN, &mut out.default_sql, lit_str(cx, meta, COLUMN)?);
            }
            // #[column(backfill = "''")]
            "backfill" => set(cx, meta, COLUMN, &mut out.backfill, lit_str(cx, meta, COLUMN)?),
            // #[column(convert = "datetime(\"created_at\", 'unixepoch')")]
            "convert" => set(cx, meta, COLUMN, &mut out.convert, lit_str(cx, meta, COLUMN)?),
            // #[column(sql_type = "INTEGER")]
            "sql_type" => set(cx, meta, COLUMN, &mut out.sql_type, lit_str(cx, meta, COLUMN)?),
            // #[column(references = Team)] or #[column(references = "Team::id")]
            "references" => {
                let span = meta.path.span();
                let target = reference(cx, meta, COLUMN)?.map(|t| (span, t));
                set(cx, meta, COLUMN, &mut out.references, target);
            }
            // #[column(references = Team, on_delete = "cascade")]
            "on_delete" => set(cx, meta, COLUMN, &mut out.on_delete, action(cx, meta, COLUMN)?),
            // #[column(references = Team, on_update = "cascade")]
            "on_update" => set(cx, meta, COLUMN, &mut out.on_update, action(cx, meta, COLUMN)?),
            // #[column(renamed_from = "full_name")]
            "renamed_from" => {
                set(cx, meta, COLUMN, &mut out.renamed_from, lit_str(cx, meta, COLUMN)?);
            }
            // #[column(check = "karma >= 0")]
            _ => set(cx, meta, COLUMN, &mut out.check, lit_str(cx, meta, COLUMN)?),
        }
        Ok(())
    });
}

fn is_list(attr: &Attribute) -> bool {
    matches!(attr.meta, syn::Meta::List(_))
}

/// Runs `f` for every known `key` of `#[attr(key, key = .., key(..))]`; unknown keys are
/// reported (with a suggestion) and skipped.
fn each_key(
    cx: &Ctxt,
    attr: &Attribute,
    attr_name: &str,
    keys: &[&'static str],
    mut f: impl FnMut(&'static str, &ParseNestedMeta<'_>) -> syn::Result<()>,
) -> Vec<&'static str> {
    let mut seen = Vec::new();
    if !is_list(attr) {
        cx.error_spanned_by(
            attr,
            format_args!(
                "#[{attr_name}] needs arguments in parentheses: #[{attr_name}({})]",
                keys.join(", ")
            ),
        );
        return keys.to_vec();
    }
    let result = attr.parse_nested_meta(|meta| {
        let key = meta.path.get_ident().map(|i| i.unraw().to_string());
        match key.as_deref().and_then(|k| keys.iter().find(|known| **known == k)) {
            Some(known) => {
                seen.push(*known);
                f(known, &meta)
            }
            None => {
                let written = key.unwrap_or_else(|| {
                    let path = &meta.path;
                    quote::quote!(#path).to_string().replace(' ', "")
                });
                let hint = match (known_mistake(&written), suggest(&written, keys)) {
                    (Some(advice), _) => format!("; {advice}"),
                    (None, Some(s)) => format!("; did you mean `{s}`?"),
                    (None, None) => String::new(),
                };
                cx.error_spanned_by(
                    &meta.path,
                    format_args!(
                        "unknown #[{attr_name}] key `{written}`{hint} (expected one of: {})",
                        keys.join(", ")
                    ),
                );
                skip_value(&meta)
            }
        }
    });
    if let Err(err) = result {
        cx.syn_error(err);
        return keys.to_vec();
    }
    seen
}

/// Stores `value` in `slot`, or reports a duplicate key at the second occurrence.
fn set<T>(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
    attr_name: &str,
    slot: &mut Option<T>,
    value: Option<T>,
) {
    let Some(value) = value else { return };
    if slot.is_some() {
        let key = meta.path.get_ident().map(|i| i.unraw().to_string()).unwrap_or_default();
        cx.error_spanned_by(
            &meta.path,
            format_args!("duplicate #[{attr_name}({key})] attribute; keep only one"),
        );
    } else {
        *slot = Some(value);
    }
}

fn key_name(meta: &ParseNestedMeta<'_>) -> String {
    meta.path.get_ident().map(|i| i.unraw().to_string()).unwrap_or_default()
}

/// Consumes whatever follows an unwanted key: `= expr` or `(..)`.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        meta.input.parse::<TokenTree>()?;
    }
    Ok(())
}

/// `key = <expr>`, any expression (interpreted later).
fn expr(cx: &Ctxt, meta: &ParseNestedMeta<'_>, attr_name: &str) -> syn::Result<Option<Expr>> {
    let key = key_name(meta);
    if !meta.input.peek(Token![=]) {
        cx.error_spanned_by(
            &meta.path,
            format_args!("#[{attr_name}({key})] needs a value: {key} = <literal>"),
        );
        skip_value(meta)?;
        return Ok(None);
    }
    Ok(Some(meta.value()?.parse()?))
}

/// `key = "string"`.
fn lit_str(cx: &Ctxt, meta: &ParseNestedMeta<'_>, attr_name: &str) -> syn::Result<Option<LitStr>> {
    let key = key_name(meta);
    let Some(value) = expr(cx, meta, attr_name)? else { return Ok(None) };
    match value {
        Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => Ok(Some(s)),
        other => {
            cx.error_spanned_by(
                other,
                format_args!("#[{attr_name}({key} = ..)] takes a string literal: {key} = \"..\""),
            );
            Ok(None)
        }
    }
}

/// A bare `key` (a flag); a value after it is an error.
fn flag(cx: &Ctxt, meta: &ParseNestedMeta<'_>, attr_name: &str) -> syn::Result<Option<Span>> {
    if meta.input.peek(Token![=]) || meta.input.peek(syn::token::Paren) {
        let key = key_name(meta);
        cx.error_spanned_by(
            &meta.path,
            format_args!("`{key}` is a flag and takes no value: write #[{attr_name}({key})]"),
        );
        skip_value(meta)?;
    }
    Ok(Some(meta.path.span()))
}

/// `key(a, b)`: a non-empty list of Rust field names.
fn idents(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
    attr_name: &str,
) -> syn::Result<Option<Vec<Ident>>> {
    let key = key_name(meta);
    if !meta.input.peek(syn::token::Paren) {
        cx.error_spanned_by(
            &meta.path,
            format_args!("#[{attr_name}({key}(..))] takes a list of field names: {key}(a, b)"),
        );
        skip_value(meta)?;
        return Ok(None);
    }
    let content;
    let parens = syn::parenthesized!(content in meta.input);
    let exprs = Punctuated::<Expr, Token![,]>::parse_terminated(&content)?;
    let names = field_names(cx, exprs, attr_name);
    if names.as_ref().is_some_and(Vec::is_empty) {
        cx.error_at(
            parens.span.join(),
            format_args!("{key}() is empty: name at least one field, {key}(a, b)"),
        );
        return Ok(None);
    }
    Ok(names)
}

fn field_names(
    cx: &Ctxt,
    exprs: Punctuated<Expr, Token![,]>,
    attr_name: &str,
) -> Option<Vec<Ident>> {
    let mut names = Vec::new();
    let mut ok = true;
    for e in exprs {
        match &e {
            Expr::Path(p) if p.qself.is_none() && p.path.get_ident().is_some() => {
                names.push(p.path.get_ident().cloned().expect("checked"));
            }
            Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => {
                ok = false;
                cx.error_spanned_by(
                    &e,
                    format_args!(
                        "#[{attr_name}] takes Rust field names, not strings: write `{}` without quotes",
                        s.value()
                    ),
                );
            }
            _ => {
                ok = false;
                cx.error_spanned_by(
                    &e,
                    format_args!("#[{attr_name}] expects a Rust field name here, like `email`"),
                );
            }
        }
    }
    ok.then_some(names)
}

/// `references = Type` or `references = "Type::field"`.
fn reference(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
    attr_name: &str,
) -> syn::Result<Option<RefTarget>> {
    let Some(value) = expr(cx, meta, attr_name)? else { return Ok(None) };
    let usage = "references = Team (its primary key) or references = \"Team::field\"";
    match value {
        Expr::Path(p) if p.qself.is_none() => {
            if let Some(bad) = p.path.segments.iter().find(|s| !s.arguments.is_none()) {
                cx.error_spanned_by(
                    &bad.arguments,
                    "the target of `references` is a #[derive(Table)] struct, without generic arguments",
                );
                return Ok(None);
            }
            Ok(Some(RefTarget { path: p.path, field: None }))
        }
        Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => {
            let parsed =
                s.parse_with(syn::Path::parse_mod_style).ok().filter(|p| p.segments.len() >= 2);
            let Some(mut path) = parsed else {
                cx.error_spanned_by(
                    &s,
                    format_args!(
                        "`references = \"{}\"` is not of the form \"Type::field\": write {usage}",
                        s.value()
                    ),
                );
                return Ok(None);
            };
            let field = path.segments.pop().expect("two segments").into_value().ident;
            // `pop` leaves the trailing `::` punctuation behind; drop it.
            path.segments.pop_punct();
            Ok(Some(RefTarget { path, field: Some(field) }))
        }
        other => {
            cx.error_spanned_by(other, format_args!("`references` names a struct: write {usage}"));
            Ok(None)
        }
    }
}

/// `on_delete = "cascade"` and friends.
fn action(cx: &Ctxt, meta: &ParseNestedMeta<'_>, attr_name: &str) -> syn::Result<Option<Action>> {
    let key = key_name(meta);
    let Some(lit) = lit_str(cx, meta, attr_name)? else { return Ok(None) };
    let value = lit.value();
    if let Some(action) = FkAction::from_attr(&value) {
        return Ok(Some(Action { action, lit }));
    }
    let all: Vec<String> = FkAction::ALL.iter().map(|a| format!("\"{}\"", a.as_attr())).collect();
    let normalised = value.trim().to_ascii_lowercase().replace(['_', '-'], " ");
    let hint = match FkAction::from_attr(&normalised) {
        Some(a) => format!("; write {key} = \"{}\"", a.as_attr()),
        None => String::new(),
    };
    cx.error_spanned_by(
        &lit,
        format_args!(
            "unknown {key} action \"{value}\"{hint} (expected one of: {})",
            all.join(", ")
        ),
    );
    Ok(None)
}

/// Advice for keys other tools use for things Godwit spells differently.
fn known_mistake(key: &str) -> Option<&'static str> {
    Some(match key {
        "nullable" | "null" | "not_null" | "optional" | "required" => {
            "nullability comes from the field type: use Option<T> for a nullable column"
        }
        "type" | "ty" | "sql" | "data_type" => "the SQL type is given with sql_type = \"TEXT\"",
        "rename" | "column_name" => {
            "use name = \"..\" for the SQL name, or renamed_from = \"..\" for a rename"
        }
        "foreign_key" | "fk" => "on a field, write references = Type",
        "skip" | "ignore" => "every field is a column; a field cannot be skipped",
        _ => return None,
    })
}

/// The closest known key to a misspelled one, if it is close enough to be a typo.
pub(crate) fn suggest<'a>(written: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (edit_distance(&written.to_ascii_lowercase(), k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}
