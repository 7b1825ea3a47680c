//! Schema-level resolution: `references` targets, parent keys, names shared across tables.

use std::collections::HashMap;

use proc_macro2::Span;
use syn::ext::IdentExt as _;

use super::ParsedTable;
use super::ctxt::{Ctxt, RenameClaim, check_renames};
use crate::model::Schema;

pub(crate) fn resolve(tables: &[ParsedTable]) -> syn::Result<Schema> {
    let cx = Ctxt::new();
    check_names(&cx, tables);

    let mut by_rust: HashMap<String, Vec<&ParsedTable>> = HashMap::new();
    for t in tables {
        by_rust.entry(t.rust_name.clone()).or_default().push(t);
    }

    let mut schema = Schema::default();
    for t in tables {
        let mut table = t.table.clone();
        for r in &t.references {
            let fk = &mut table.foreign_keys[r.foreign_key];
            let Some(target) = find_target(&cx, t, &r.target, &by_rust) else { continue };
            let ref_columns: Vec<String> = if r.to.is_empty() {
                let pk = &target.table.primary_key;
                if pk.is_empty() {
                    cx.error_spanned_by(
                        &r.target,
                        format_args!(
                            "`{}` has no primary key for this foreign key to point at; add \
                             #[column(primary_key)] to one of its fields, or name the target \
                             field: references = \"{}::field\"",
                            target.rust_name, target.rust_name
                        ),
                    );
                    continue;
                }
                if pk.len() != fk.columns.len() {
                    cx.error_spanned_by(
                        &r.target,
                        format_args!(
                            "this foreign key has {} column(s) but the primary key of `{}` has \
                             {}; list matching columns, or name the target fields with to(..)",
                            fk.columns.len(),
                            target.rust_name,
                            pk.len()
                        ),
                    );
                    continue;
                }
                pk.clone()
            } else {
                let mut cols = Vec::new();
                for ident in &r.to {
                    let name = ident.unraw().to_string();
                    match target.fields.iter().find(|f| f.ident.unraw() == name) {
                        Some(f) => cols.push(f.column.clone()),
                        None => cx.error_spanned_by(
                            ident,
                            format_args!(
                                "no field `{name}` in `{}`; the target of a foreign key is named \
                                 by its Rust field name",
                                target.rust_name
                            ),
                        ),
                    }
                }
                if cols.len() != r.to.len() {
                    continue;
                }
                cols
            };
            if !is_parent_key(&target.table, &ref_columns) {
                cx.error_spanned_by(
                    &r.target,
                    format_args!(
                        "the parent key {}({}) is neither the primary key of `{}` nor unique, so \
                         SQLite would fail writes with \"foreign key mismatch\"; mark it \
                         #[column(unique)] (or add a unique #[index]) in `{}`",
                        target.table.name,
                        ref_columns.join(", "),
                        target.rust_name,
                        target.rust_name
                    ),
                );
                continue;
            }
            fk.ref_table.clone_from(&target.table.name);
            fk.ref_columns = ref_columns;
        }
        schema.insert(table);
    }
    cx.check()?;
    Ok(schema)
}

/// The table a `references` path names: by its last segment (`Self` is the table itself).
fn find_target<'a>(
    cx: &Ctxt,
    this: &'a ParsedTable,
    path: &syn::Path,
    by_rust: &HashMap<String, Vec<&'a ParsedTable>>,
) -> Option<&'a ParsedTable> {
    let last = path.segments.last()?.ident.unraw().to_string();
    if last == "Self" && path.segments.len() == 1 {
        return Some(this);
    }
    match by_rust.get(&last).map(Vec::as_slice) {
        Some([one]) => Some(one),
        Some(many) if !many.is_empty() => {
            cx.error_spanned_by(
                path,
                format_args!(
                    "`{last}` is ambiguous: {} structs with this name derive Table in this \
                     schema; rename one of them",
                    many.len()
                ),
            );
            None
        }
        _ => {
            cx.error_spanned_by(
                path,
                format_args!(
                    "`{last}` is not a Table in this schema: add #[derive(Table)] to `{last}` in \
                     the schema file, or fix `references`"
                ),
            );
            None
        }
    }
}

/// SQLite requires a parent key to be the primary key or to have a UNIQUE constraint or a
/// full (non-partial) unique index on exactly those columns.
fn is_parent_key(table: &crate::model::Table, cols: &[String]) -> bool {
    let same = |set: &[String]| {
        set.len() == cols.len()
            && set.iter().all(|s| cols.iter().any(|c| c.eq_ignore_ascii_case(s)))
    };
    same(&table.primary_key)
        || (cols.len() == 1 && table.column(&cols[0]).is_some_and(|c| c.unique))
        || table.indexes.iter().any(|i| i.unique && i.where_clause.is_none() && same(&i.columns))
}

/// Table and index names share one namespace in SQLite and compare ASCII case-insensitively.
fn check_names(cx: &Ctxt, tables: &[ParsedTable]) {
    let mut seen: HashMap<String, String> = HashMap::new();
    for t in tables {
        let key = t.table.name.to_ascii_lowercase();
        if let Some(other) = seen.get(&key) {
            cx.error_at(
                name_span(t),
                format_args!(
                    "table name `{}` is already used by {other} (SQLite names are \
                     case-insensitive); rename one with #[table(name = \"..\")]",
                    t.table.name
                ),
            );
        } else {
            seen.insert(key, format!("table `{}` (struct `{}`)", t.table.name, t.rust_name));
        }
    }
    let claims: Vec<RenameClaim<'_>> = tables
        .iter()
        .map(|t| RenameClaim {
            name: &t.table.name,
            renamed_from: t.table.renamed_from.as_deref(),
            owner: format!("struct `{}`", t.rust_name),
            span: t.spans.renamed_from.unwrap_or_else(|| name_span(t)),
        })
        .collect();
    check_renames(cx, "table", "struct", &claims);
    for t in tables {
        for (i, index) in t.table.indexes.iter().enumerate() {
            let key = index.name.to_ascii_lowercase();
            if let Some(other) = seen.get(&key) {
                let tokens = t
                    .spans
                    .indexes
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| quote::quote_spanned!(name_span(t)=> index));
                cx.error_spanned_by(
                    tokens,
                    format_args!(
                        "index name `{}` is already used by {other}; index and table names \
                         share one namespace in SQLite, so give this index another name: \
                         #[index(columns(..), name = \"..\")]",
                        index.name
                    ),
                );
            } else {
                seen.insert(key, format!("index `{}` of table `{}`", index.name, t.table.name));
            }
        }
    }
}

fn name_span(t: &ParsedTable) -> Span {
    t.spans.name.unwrap_or_else(|| t.ident.span())
}
