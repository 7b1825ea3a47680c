//! Reading a live database into the pieces `godwit pull` renders: per table, its columns with
//! their raw declared types and defaults, keys, indexes with their raw SQL, foreign keys and
//! CHECK expressions as written.

use rusqlite::Connection;
use schema_core::introspect::{DbShape, FkShape, IndexShape, TableShape};
use schema_core::plan::sql::{Token, TokenKind, quote_ident, tokenize};

/// One user table, as read.
#[derive(Debug, Clone)]
pub(crate) struct RawTable {
    /// SQL name.
    pub name: String,
    /// The CREATE TABLE text.
    pub sql: String,
    /// Columns in declaration order.
    pub columns: Vec<RawColumn>,
    /// The introspected shape (keys, indexes, foreign keys, flags).
    pub shape: TableShape,
    /// CHECK constraints as written: (name, expression).
    pub checks: Vec<RawCheck>,
    /// CREATE INDEX statements of this table: (name, SQL).
    pub index_sql: Vec<(String, String)>,
    /// Clauses of the CREATE TABLE text that neither the model nor the introspected shape
    /// holds (`COLLATE`, `ON CONFLICT`, `DEFERRABLE`, ...): each makes the struct inexact.
    pub unmodelled: Vec<String>,
}

/// One column, as read.
#[derive(Debug, Clone)]
pub(crate) struct RawColumn {
    /// SQL name.
    pub name: String,
    /// Declared type as written (empty when none).
    pub declared: String,
    /// NOT NULL.
    pub not_null: bool,
    /// The default's SQL text as stored, if any.
    pub default: Option<String>,
    /// 1-based primary-key position, 0 when not in the key.
    pub pk: i64,
    /// Generated (hidden) column.
    pub generated: bool,
}

/// A CHECK constraint as written.
#[derive(Debug, Clone)]
pub(crate) struct RawCheck {
    /// `CONSTRAINT name`, if given.
    pub name: Option<String>,
    /// The expression inside the parentheses, tokens re-joined (quoted names re-quoted).
    pub expr: String,
}

/// A view or trigger.
#[derive(Debug, Clone)]
pub(crate) struct RawObject {
    /// `view` or `trigger`.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Its SQL as stored.
    pub sql: String,
}

/// Everything `pull` needs from the database.
pub(crate) struct RawDb {
    /// User tables by name order.
    pub tables: Vec<RawTable>,
    /// Views and triggers, by kind then name.
    pub objects: Vec<RawObject>,
    /// The introspected shape of the whole database.
    pub shape: DbShape,
}

/// Reads the database.
pub(crate) fn read(conn: &Connection) -> rusqlite::Result<RawDb> {
    let shape = schema_core::introspect::describe(conn)?;
    let mut tables = Vec::new();
    for (name, table_shape) in &shape.tables {
        let sql: String = conn.query_row(
            "SELECT coalesce(sql, '') FROM sqlite_schema WHERE type = 'table' AND name = ?1",
            [name],
            |r| r.get(0),
        )?;
        let columns = columns(conn, name)?;
        let mut stmt = conn.prepare(
            "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = ?1 \
             AND sql IS NOT NULL ORDER BY name",
        )?;
        let index_sql = stmt
            .query_map([name], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<(String, String)>>>()?;
        let tokens = tokenize(&sql);
        let checks = checks(&tokens);
        let unmodelled = unmodelled(&tokens);
        tables.push(RawTable {
            name: name.clone(),
            sql,
            columns,
            shape: table_shape.clone(),
            checks,
            index_sql,
            unmodelled,
        });
    }
    let mut stmt = conn.prepare(
        "SELECT type, name, coalesce(sql, '') FROM sqlite_schema WHERE type IN ('view', 'trigger') \
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type DESC, name",
    )?;
    let objects = stmt
        .query_map([], |r| Ok(RawObject { kind: r.get(0)?, name: r.get(1)?, sql: r.get(2)? }))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(RawDb { tables, objects, shape })
}

fn columns(conn: &Connection, table: &str) -> rusqlite::Result<Vec<RawColumn>> {
    let mut stmt = conn.prepare(
        "SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?1) \
         ORDER BY cid",
    )?;
    stmt.query_map([table], |r| {
        Ok(RawColumn {
            name: r.get(0)?,
            declared: r.get(1)?,
            not_null: r.get::<_, i64>(2)? != 0,
            default: r.get(3)?,
            pk: r.get(4)?,
            generated: r.get::<_, i64>(5)? != 0,
        })
    })?
    .collect()
}

/// Tokens re-joined as SQL: quoted names re-quoted, everything else as written.
pub(crate) fn sql_text(tokens: &[Token]) -> String {
    let parts: Vec<String> = tokens
        .iter()
        .map(|t| match t.kind {
            TokenKind::Quoted => quote_ident(&t.text),
            _ => t.text.clone(),
        })
        .collect();
    parts.join(" ")
}

/// The CHECK constraints of a CREATE TABLE token stream, as written.
fn checks(tokens: &[Token]) -> Vec<RawCheck> {
    let mut out = Vec::new();
    for (k, tk) in tokens.iter().enumerate() {
        if !(tk.is_kw("CHECK") && tokens.get(k + 1).is_some_and(|t| t.is_punct("("))) {
            continue;
        }
        let Some(end) = closing_paren(tokens, k + 1) else { continue };
        let name =
            (k >= 2 && tokens[k - 2].is_kw("CONSTRAINT")).then(|| tokens[k - 1].text.clone());
        out.push(RawCheck { name, expr: sql_text(&tokens[k + 2..end]) });
    }
    out
}

/// Keywords of a CREATE TABLE outside expressions that the model cannot write and the shape
/// comparison does not see, with what they mean.
const UNMODELLED: [(&str, &str); 6] = [
    ("COLLATE", "a column collation (COLLATE)"),
    ("CONFLICT", "an ON CONFLICT clause"),
    ("DEFERRABLE", "a deferrable foreign key (DEFERRABLE)"),
    ("MATCH", "a foreign-key MATCH clause"),
    ("DESC", "a descending primary key (DESC)"),
    ("ASC", "an explicit key order (ASC)"),
];

/// A difference per user table whose CREATE TABLE uses an [`UNMODELLED`] clause. The shape
/// comparison cannot see these clauses and no migration creates them, so where a database is
/// compared with its migrations (`diff`, `baseline`) each one is drift.
pub(crate) fn unmodelled_differences(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT name, coalesce(sql, '') FROM sqlite_schema WHERE type = 'table' \
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> '__schema_migrations' ORDER BY name",
    )?;
    let tables = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut out = Vec::new();
    for (name, sql) in tables {
        for what in unmodelled(&tokenize(&sql)) {
            out.push(format!("table {name}: {what}, which no migration creates"));
        }
    }
    Ok(out)
}

/// The [`UNMODELLED`] clauses a CREATE TABLE uses, skipping CHECK, DEFAULT and generated
/// expressions (where `COLLATE` is part of the expression, which is kept as written).
fn unmodelled(tokens: &[Token]) -> Vec<String> {
    let mut found = Vec::new();
    let mut k = 0;
    while k < tokens.len() {
        let t = &tokens[k];
        let opens_expr = (t.is_kw("CHECK") || t.is_kw("DEFAULT") || t.is_kw("AS"))
            && tokens.get(k + 1).is_some_and(|n| n.is_punct("("));
        if opens_expr {
            k = closing_paren(tokens, k + 1).unwrap_or(tokens.len());
            continue;
        }
        if let Some((_, what)) = UNMODELLED.iter().find(|(kw, _)| t.is_kw(kw))
            && !found.iter().any(|f: &String| f == what)
        {
            found.push((*what).to_owned());
        }
        k += 1;
    }
    found
}

/// The index of the `)` closing the `(` at `open`.
fn closing_paren(tokens: &[Token], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (j, t) in tokens.iter().enumerate().skip(open) {
        if t.is_punct("(") {
            depth += 1;
        } else if t.is_punct(")") {
            depth -= 1;
            if depth == 0 {
                return Some(j);
            }
        }
    }
    None
}

/// The WHERE predicate of a CREATE INDEX statement, as written.
pub(crate) fn index_where(sql: &str) -> Option<String> {
    schema_core::plan::sql::index_where_tokens(sql).map(|t| sql_text(&t))
}

/// Whether an index's key columns are plain columns in ascending order with the default
/// collation (what `#[index(columns(..))]` can express).
pub(crate) fn plain_columns(index: &IndexShape) -> bool {
    index.columns.iter().all(|c| c != "<expr>" && !c.contains(' '))
}

/// Whether a foreign key names its parent's primary key (so `references = Type` suffices).
pub(crate) fn to_primary_key(fk: &FkShape, parent: Option<&TableShape>) -> bool {
    let Some(parent) = parent else { return false };
    let mut pk: Vec<(i64, &String)> =
        parent.columns.iter().filter(|(_, c)| c.pk > 0).map(|(n, c)| (c.pk, n)).collect();
    pk.sort();
    pk.len() == fk.to.len() && pk.iter().zip(&fk.to).all(|((_, n), to)| *n == to)
}
