//! Introspection of a live SQLite database into an order-insensitive structural description,
//! used to prove that a migration yields exactly the wanted schema.
//!
//! ```
//! use schema_core::introspect::{describe, differences};
//! let a = rusqlite::Connection::open_in_memory().unwrap();
//! a.execute_batch("CREATE TABLE t (a INTEGER NOT NULL, b TEXT)").unwrap();
//! let b = rusqlite::Connection::open_in_memory().unwrap();
//! b.execute_batch("CREATE TABLE t (b TEXT, a INTEGER NOT NULL)").unwrap();
//! assert!(differences(&describe(&a).unwrap(), &describe(&b).unwrap()).is_empty());
//! ```
//!
//! Names are always bound as parameters to the `pragma_*` table-valued functions, never
//! interpolated. Objects named `sqlite_%` and the ledger table `__schema_migrations` are left out.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{Connection, OptionalExtension as _};

use crate::model::Schema;
use crate::plan::sql::{Token, join_tokens, normalise, strip_outer_parens, tokenize};
use crate::plan::{DbObject, ObjectKind};

/// The structure of a database's user tables, views and triggers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DbShape {
    /// Tables by name.
    pub tables: BTreeMap<String, TableShape>,
    /// Views by name: normalised SQL.
    pub views: BTreeMap<String, String>,
    /// Triggers by name: normalised SQL.
    pub triggers: BTreeMap<String, String>,
}

/// The structure of one table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableShape {
    /// Columns by name.
    pub columns: BTreeMap<String, ColumnShape>,
    /// `STRICT`.
    pub strict: bool,
    /// `WITHOUT ROWID`.
    pub without_rowid: bool,
    /// `AUTOINCREMENT` appears in the CREATE TABLE text.
    pub autoincrement: bool,
    /// Indexes created with CREATE INDEX, by name.
    pub indexes: BTreeMap<String, IndexShape>,
    /// Automatic indexes of UNIQUE and PRIMARY KEY constraints: `(origin, columns)`.
    pub constraint_indexes: BTreeSet<(String, Vec<String>)>,
    /// Foreign keys.
    pub foreign_keys: BTreeSet<FkShape>,
    /// CHECK constraints as normalised token streams (`constraint "n" check ( .. )`), sorted.
    pub checks: Vec<String>,
}

/// One column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnShape {
    /// Declared type as written.
    pub ty: String,
    /// NOT NULL.
    pub not_null: bool,
    /// Default, normalised (outer parentheses stripped, token stream).
    pub default: Option<String>,
    /// 1-based position in the primary key, 0 when not part of it.
    pub pk: i64,
    /// `table_xinfo.hidden` (generated columns).
    pub hidden: i64,
}

/// One CREATE INDEX index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexShape {
    /// UNIQUE.
    pub unique: bool,
    /// Key columns (`<expr>` for expressions; ` DESC` and ` COLLATE x` appended when not default).
    pub columns: Vec<String>,
    /// Partial-index predicate, normalised.
    pub where_clause: Option<String>,
}

/// One foreign key.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct FkShape {
    /// Child columns.
    pub columns: Vec<String>,
    /// Parent table.
    pub table: String,
    /// Parent columns (a missing list resolved to the parent's primary key).
    pub to: Vec<String>,
    /// ON UPDATE action.
    pub on_update: String,
    /// ON DELETE action.
    pub on_delete: String,
}

const USER_TABLES: &str = "SELECT name, sql FROM sqlite_schema WHERE type = 'table' \
     AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> '__schema_migrations' ORDER BY name";

/// Describes the user tables, views and triggers of the `main` database.
///
/// # Errors
///
/// Any SQLite error while reading the schema.
pub fn describe(conn: &Connection) -> rusqlite::Result<DbShape> {
    let mut shape = DbShape::default();
    let tables: Vec<(String, Option<String>)> = conn
        .prepare(USER_TABLES)?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (name, sql) in tables {
        let t = describe_table(conn, &name, sql.as_deref().unwrap_or(""))?;
        shape.tables.insert(name, t);
    }
    let mut stmt = conn.prepare(
        "SELECT type, name, sql FROM sqlite_schema WHERE type IN ('view', 'trigger') \
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<String>>(2)?))
    })?;
    for row in rows {
        let (ty, name, sql) = row?;
        let text = normalise(sql.as_deref().unwrap_or(""));
        if ty == "view" {
            shape.views.insert(name, text);
        } else {
            shape.triggers.insert(name, text);
        }
    }
    Ok(shape)
}

fn describe_table(conn: &Connection, name: &str, sql: &str) -> rusqlite::Result<TableShape> {
    let mut t = TableShape::default();
    if let Some((wr, strict)) = conn
        .query_row(
            "SELECT wr, strict FROM pragma_table_list WHERE schema = 'main' AND name = ?1",
            [name],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
        )
        .optional()?
    {
        t.without_rowid = wr != 0;
        t.strict = strict != 0;
    }
    let mut stmt = conn.prepare(
        "SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?1)",
    )?;
    let cols = stmt.query_map([name], |r| {
        Ok((
            r.get::<_, String>(0)?,
            ColumnShape {
                ty: r.get(1)?,
                not_null: r.get::<_, i64>(2)? != 0,
                default: r.get::<_, Option<String>>(3)?.map(|d| normalise(strip_outer_parens(&d))),
                pk: r.get(4)?,
                hidden: r.get(5)?,
            },
        ))
    })?;
    for c in cols {
        let (n, c) = c?;
        t.columns.insert(n, c);
    }

    let mut stmt = conn.prepare("SELECT name, \"unique\", origin FROM pragma_index_list(?1)")?;
    let idx: Vec<(String, bool, String)> = stmt
        .query_map([name], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? != 0, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    for (iname, unique, origin) in idx {
        let mut stmt = conn.prepare(
            "SELECT name, \"desc\", coll FROM pragma_index_xinfo(?1) WHERE key = 1 ORDER BY seqno",
        )?;
        let columns: Vec<String> = stmt
            .query_map([&iname], |r| {
                let mut s = r.get::<_, Option<String>>(0)?.unwrap_or_else(|| "<expr>".to_string());
                if r.get::<_, i64>(1)? != 0 {
                    s.push_str(" DESC");
                }
                let coll: Option<String> = r.get(2)?;
                if let Some(c) = coll.filter(|c| !c.eq_ignore_ascii_case("BINARY")) {
                    s.push_str(" COLLATE ");
                    s.push_str(&c);
                }
                Ok(s)
            })?
            .collect::<Result<_, _>>()?;
        if origin == "c" {
            let isql: Option<String> = conn
                .query_row(
                    "SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = ?1",
                    [&iname],
                    |r| r.get(0),
                )
                .optional()?
                .flatten();
            let where_clause = isql.as_deref().and_then(index_where);
            t.indexes.insert(iname, IndexShape { unique, columns, where_clause });
        } else {
            t.constraint_indexes.insert((origin, columns));
        }
    }

    let mut stmt = conn.prepare(
        "SELECT id, \"table\", \"from\", \"to\", on_update, on_delete FROM pragma_foreign_key_list(?1) ORDER BY id, seq",
    )?;
    let rows: Vec<(i64, String, String, Option<String>, String, String)> = stmt
        .query_map([name], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut fks: BTreeMap<i64, (FkShape, bool)> = BTreeMap::new();
    for (id, table, from, to, on_update, on_delete) in rows {
        let e = fks.entry(id).or_insert_with(|| {
            (FkShape { table, on_update, on_delete, ..FkShape::default() }, false)
        });
        e.0.columns.push(from);
        match to {
            Some(to) => e.0.to.push(to),
            None => e.1 = true,
        }
    }
    for (_, (mut fk, implicit)) in fks {
        if implicit {
            let mut stmt =
                conn.prepare("SELECT name FROM pragma_table_info(?1) WHERE pk > 0 ORDER BY pk")?;
            fk.to = stmt.query_map([&fk.table], |r| r.get(0))?.collect::<Result<_, _>>()?;
        }
        t.foreign_keys.insert(fk);
    }

    let tokens = tokenize(sql);
    t.autoincrement = tokens.iter().any(|tk| tk.is_kw("AUTOINCREMENT"));
    t.checks = checks(&tokens);
    Ok(t)
}

/// The CHECK constraints of a CREATE TABLE token stream, normalised and sorted.
fn checks(tokens: &[Token]) -> Vec<String> {
    let mut out = Vec::new();
    for (k, tk) in tokens.iter().enumerate() {
        if !(tk.is_kw("CHECK") && tokens.get(k + 1).is_some_and(|t| t.is_punct("("))) {
            continue;
        }
        let mut depth = 0usize;
        let mut end = k + 1;
        for (j, t) in tokens.iter().enumerate().skip(k + 1) {
            if t.is_punct("(") {
                depth += 1;
            } else if t.is_punct(")") {
                depth -= 1;
                if depth == 0 {
                    end = j;
                    break;
                }
            }
            end = j;
        }
        let mut text = String::new();
        if k >= 2 && tokens[k - 2].is_kw("CONSTRAINT") {
            text.push_str("constraint ");
            text.push_str(&tokens[k - 1].normalised());
            text.push(' ');
        }
        text.push_str("check ");
        text.push_str(&join_tokens(&tokens[k + 1..=end.min(tokens.len() - 1)]));
        out.push(text);
    }
    out.sort();
    out
}

/// The normalised WHERE predicate of a CREATE INDEX statement, if partial.
fn index_where(sql: &str) -> Option<String> {
    crate::plan::sql::index_where_tokens(sql).map(|t| join_tokens(&t))
}

/// Human-readable differences between two descriptions; empty when they are equal.
///
/// ```
/// use schema_core::introspect::{describe, differences};
/// let a = rusqlite::Connection::open_in_memory().unwrap();
/// a.execute_batch("CREATE TABLE users (bio TEXT)").unwrap();
/// let b = rusqlite::Connection::open_in_memory().unwrap();
/// b.execute_batch("CREATE TABLE users (bio INTEGER)").unwrap();
/// let d = differences(&describe(&a).unwrap(), &describe(&b).unwrap());
/// assert_eq!(d, ["table users: column bio: expected TEXT, found INTEGER"]);
/// ```
#[must_use]
pub fn differences(expected: &DbShape, actual: &DbShape) -> Vec<String> {
    let mut out = Vec::new();
    diff_maps(&mut out, "", "table", &expected.tables, &actual.tables, |out, name, e, a| {
        table_differences(out, name, e, a)
    });
    diff_maps(&mut out, "", "view", &expected.views, &actual.views, |out, name, e, a| {
        out.push(format!("view {name}: expected `{e}`, found `{a}`"));
    });
    diff_maps(&mut out, "", "trigger", &expected.triggers, &actual.triggers, |out, name, e, a| {
        out.push(format!("trigger {name}: expected `{e}`, found `{a}`"));
    });
    out
}

fn diff_maps<V: PartialEq>(
    out: &mut Vec<String>,
    prefix: &str,
    what: &str,
    expected: &BTreeMap<String, V>,
    actual: &BTreeMap<String, V>,
    mut changed: impl FnMut(&mut Vec<String>, &str, &V, &V),
) {
    for (name, e) in expected {
        match actual.get(name) {
            None => out.push(format!("{prefix}missing {what} {name}")),
            Some(a) if a != e => changed(out, name, e, a),
            Some(_) => {}
        }
    }
    for name in actual.keys() {
        if !expected.contains_key(name) {
            out.push(format!("{prefix}unexpected {what} {name}"));
        }
    }
}

fn table_differences(out: &mut Vec<String>, name: &str, e: &TableShape, a: &TableShape) {
    let p = format!("table {name}: ");
    diff_maps(out, &p, "column", &e.columns, &a.columns, |out, c, e, a| {
        if e.ty != a.ty {
            out.push(format!("{p}column {c}: expected {}, found {}", e.ty, a.ty));
        }
        if e.not_null != a.not_null {
            let word = |b: bool| if b { "NOT NULL" } else { "nullable" };
            out.push(format!(
                "{p}column {c}: expected {}, found {}",
                word(e.not_null),
                word(a.not_null)
            ));
        }
        if e.default != a.default {
            let word = |d: &Option<String>| {
                d.as_ref().map_or_else(|| "no default".to_string(), |d| format!("default {d}"))
            };
            out.push(format!(
                "{p}column {c}: expected {}, found {}",
                word(&e.default),
                word(&a.default)
            ));
        }
        if e.pk != a.pk {
            out.push(format!(
                "{p}column {c}: expected primary-key position {}, found {}",
                e.pk, a.pk
            ));
        }
        if e.hidden != a.hidden {
            out.push(format!("{p}column {c}: expected hidden {}, found {}", e.hidden, a.hidden));
        }
    });
    let flag = |out: &mut Vec<String>, what: &str, e: bool, a: bool| {
        if e != a {
            out.push(format!(
                "{p}expected {what} {}, found {}",
                if e { "on" } else { "off" },
                if a { "on" } else { "off" }
            ));
        }
    };
    flag(out, "STRICT", e.strict, a.strict);
    flag(out, "WITHOUT ROWID", e.without_rowid, a.without_rowid);
    flag(out, "AUTOINCREMENT", e.autoincrement, a.autoincrement);
    diff_maps(out, &p, "index", &e.indexes, &a.indexes, |out, i, e, a| {
        out.push(format!("{p}index {i}: expected {}, found {}", index_text(e), index_text(a)));
    });
    for c in e.constraint_indexes.difference(&a.constraint_indexes) {
        out.push(format!("{p}missing {} constraint on ({})", origin_word(&c.0), c.1.join(", ")));
    }
    for c in a.constraint_indexes.difference(&e.constraint_indexes) {
        out.push(format!("{p}unexpected {} constraint on ({})", origin_word(&c.0), c.1.join(", ")));
    }
    for f in e.foreign_keys.difference(&a.foreign_keys) {
        out.push(format!("{p}missing foreign key {}", fk_text(f)));
    }
    for f in a.foreign_keys.difference(&e.foreign_keys) {
        out.push(format!("{p}unexpected foreign key {}", fk_text(f)));
    }
    if e.checks != a.checks {
        for c in e.checks.iter().filter(|c| !a.checks.contains(c)) {
            out.push(format!("{p}missing {c}"));
        }
        for c in a.checks.iter().filter(|c| !e.checks.contains(c)) {
            out.push(format!("{p}unexpected {c}"));
        }
        if e.checks.len() != a.checks.len() && out.last().is_none_or(|l| !l.starts_with(&p)) {
            out.push(format!(
                "{p}expected {} CHECK constraints, found {}",
                e.checks.len(),
                a.checks.len()
            ));
        }
    }
}

fn index_text(i: &IndexShape) -> String {
    let mut s = format!("{}({})", if i.unique { "UNIQUE " } else { "" }, i.columns.join(", "));
    if let Some(w) = &i.where_clause {
        s.push_str(" WHERE ");
        s.push_str(w);
    }
    s
}

fn origin_word(origin: &str) -> &str {
    match origin {
        "pk" => "PRIMARY KEY",
        "u" => "UNIQUE",
        other => other,
    }
}

fn fk_text(f: &FkShape) -> String {
    format!(
        "({}) references {}({}) on update {} on delete {}",
        f.columns.join(", "),
        f.table,
        f.to.join(", "),
        f.on_update.to_ascii_lowercase(),
        f.on_delete.to_ascii_lowercase()
    )
}

/// The views and triggers of the `main` database, in `sqlite_schema` order, each with the
/// tables it uses as SQLite itself resolves them ([`DbObject::references`]).
///
/// # Errors
///
/// Any SQLite error while reading `sqlite_schema`.
pub fn dependents(conn: &Connection) -> rusqlite::Result<Vec<DbObject>> {
    let mut stmt = conn.prepare(
        "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE type IN ('view', 'trigger') \
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid",
    )?;
    let rows = stmt.query_map([], |r| {
        let kind =
            if r.get::<_, String>(0)? == "view" { ObjectKind::View } else { ObjectKind::Trigger };
        Ok(DbObject {
            kind,
            name: r.get(1)?,
            tbl_name: r.get(2)?,
            sql: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
            references: None,
        })
    })?;
    let mut objects: Vec<DbObject> = rows.collect::<rusqlite::Result<_>>()?;
    if !objects.is_empty()
        && let Some(refs) = references_by_rename(conn)?
    {
        for o in &mut objects {
            o.references = Some(refs.get(&o.name).cloned().unwrap_or_default());
        }
    }
    Ok(objects)
}

/// For every view and trigger, the tables it uses: each table is renamed inside a savepoint
/// (rolled back) and the objects whose text SQLite rewrites use it. `None` when SQLite refuses a
/// rename (a schema it cannot parse) or a transaction is open.
fn references_by_rename(
    conn: &Connection,
) -> rusqlite::Result<Option<BTreeMap<String, Vec<String>>>> {
    // Inside a caller's transaction the savepoints would be part of it; with the legacy rename
    // SQLite does not rewrite views and triggers, so the answer would be wrong.
    let legacy: i64 = conn.query_row("PRAGMA legacy_alter_table", [], |r| r.get(0))?;
    if !conn.is_autocommit() || legacy != 0 {
        return Ok(None);
    }
    let tables: Vec<String> = {
        let mut stmt = conn.prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
             ORDER BY name",
        )?;
        stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?
    };
    let texts = |conn: &Connection| -> rusqlite::Result<BTreeMap<String, Option<String>>> {
        let mut stmt =
            conn.prepare("SELECT name, sql FROM sqlite_schema WHERE type IN ('view', 'trigger')")?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect()
    };
    let before = texts(conn)?;
    let mut probe = "__godwit_probe".to_string();
    while tables.iter().any(|t| t.eq_ignore_ascii_case(&probe)) {
        probe.push('_');
    }
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    // An object can only use a table whose name appears in its text (the token scan may match
    // more, e.g. the keyword BEGIN for a table `begin`, never less): ask SQLite about those.
    let mentioned =
        |t: &String| before.values().flatten().any(|sql| crate::plan::sql::mentions(sql, t));
    for table in tables.iter().filter(|t| mentioned(t)) {
        conn.execute_batch("SAVEPOINT \"__godwit_references\"")?;
        let renamed = conn.execute_batch(&format!(
            "ALTER TABLE {} RENAME TO {}",
            crate::plan::sql::quote_ident(table),
            crate::plan::sql::quote_ident(&probe)
        ));
        let after = if renamed.is_ok() { texts(conn) } else { Ok(BTreeMap::new()) };
        conn.execute_batch("ROLLBACK TO \"__godwit_references\"; RELEASE \"__godwit_references\"")?;
        if renamed.is_err() {
            return Ok(None);
        }
        for (name, text) in after? {
            if before.get(&name) != Some(&text) {
                out.entry(name).or_default().push(table.clone());
            }
        }
    }
    Ok(Some(out))
}

/// The DDL of a fresh database for `schema` (what a plan from the empty schema renders).
///
/// ```
/// use schema_core::model::{Column, Schema, SqlType, Table};
/// let mut s = Schema::default();
/// let mut t = Table::new("t");
/// t.columns.push(Column::new("a", SqlType::Integer));
/// s.insert(t);
/// let conn = rusqlite::Connection::open_in_memory().unwrap();
/// for stmt in schema_core::introspect::create_schema_sql(&s) {
///     conn.execute_batch(&stmt).unwrap();
/// }
/// assert!(schema_core::introspect::describe(&conn).unwrap().tables.contains_key("t"));
/// ```
#[must_use]
pub fn create_schema_sql(schema: &Schema) -> Vec<String> {
    crate::plan::create_statements(schema)
}
