//! Shared helpers for the planner's integration tests: a small model builder, the runner
//! protocol (foreign keys off outside the transaction, BEGIN IMMEDIATE, statement by statement,
//! foreign_key_check, COMMIT, foreign keys back on) and data snapshots.

#![allow(dead_code, unused_imports, missing_docs)]

use std::collections::BTreeMap;

use rusqlite::Connection;
use rusqlite::types::Value;
use schema_core::introspect::{create_schema_sql, dependents, describe, differences};
use schema_core::model::{
    Check, Column, DefaultValue, FkAction, ForeignKey, Index, Schema, SqlType, Table,
};
use schema_core::plan::{Finding, Plan, PlanInput, plan};

pub use SqlType::{Integer, Real, Text};

pub fn col(name: &str, ty: SqlType) -> Column {
    Column::new(name, ty)
}

pub trait ColExt {
    fn null(self) -> Self;
    fn default(self, lit: &str) -> Self;
    fn default_sql(self, expr: &str) -> Self;
    fn unique(self) -> Self;
    fn check(self, expr: &str) -> Self;
    fn backfill(self, expr: &str) -> Self;
    fn from(self, old: &str) -> Self;
}

impl ColExt for Column {
    fn null(mut self) -> Self {
        self.nullable = true;
        self
    }
    fn default(mut self, lit: &str) -> Self {
        self.default = Some(DefaultValue::Literal(lit.into()));
        self
    }
    fn default_sql(mut self, expr: &str) -> Self {
        self.default = Some(DefaultValue::Sql(expr.into()));
        self
    }
    fn unique(mut self) -> Self {
        self.unique = true;
        self
    }
    fn check(mut self, expr: &str) -> Self {
        self.check = Some(expr.into());
        self
    }
    fn backfill(mut self, expr: &str) -> Self {
        self.backfill = Some(expr.into());
        self
    }
    fn from(mut self, old: &str) -> Self {
        self.renamed_from = Some(old.into());
        self
    }
}

pub fn table(name: &str, columns: Vec<Column>) -> Table {
    let mut t = Table::new(name);
    t.columns = columns;
    t
}

pub trait TableExt {
    fn pk(self, cols: &[&str]) -> Self;
    fn autoinc(self) -> Self;
    fn index(self, name: &str, cols: &[&str]) -> Self;
    fn unique_index(self, name: &str, cols: &[&str]) -> Self;
    fn partial_index(self, name: &str, cols: &[&str], where_clause: &str) -> Self;
    fn fk(self, cols: &[&str], parent: &str, to: &[&str], on_delete: Option<FkAction>) -> Self;
    fn check(self, name: Option<&str>, expr: &str) -> Self;
    fn strict(self) -> Self;
    fn without_rowid(self) -> Self;
    fn from(self, old: &str) -> Self;
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_string()).collect()
}

impl TableExt for Table {
    fn pk(mut self, cols: &[&str]) -> Self {
        self.primary_key = strings(cols);
        self
    }
    fn autoinc(mut self) -> Self {
        self.autoincrement = true;
        self
    }
    fn index(mut self, name: &str, cols: &[&str]) -> Self {
        self.indexes.push(Index {
            name: name.into(),
            columns: strings(cols),
            unique: false,
            where_clause: None,
        });
        self
    }
    fn unique_index(mut self, name: &str, cols: &[&str]) -> Self {
        self.indexes.push(Index {
            name: name.into(),
            columns: strings(cols),
            unique: true,
            where_clause: None,
        });
        self
    }
    fn partial_index(mut self, name: &str, cols: &[&str], where_clause: &str) -> Self {
        self.indexes.push(Index {
            name: name.into(),
            columns: strings(cols),
            unique: false,
            where_clause: Some(where_clause.into()),
        });
        self
    }
    fn fk(mut self, cols: &[&str], parent: &str, to: &[&str], on_delete: Option<FkAction>) -> Self {
        self.foreign_keys.push(ForeignKey {
            columns: strings(cols),
            ref_table: parent.into(),
            ref_columns: strings(to),
            on_delete,
            on_update: None,
        });
        self
    }
    fn check(mut self, name: Option<&str>, expr: &str) -> Self {
        self.checks.push(Check { name: name.map(Into::into), expr: expr.into() });
        self
    }
    fn strict(mut self) -> Self {
        self.strict = true;
        self
    }
    fn without_rowid(mut self) -> Self {
        self.without_rowid = true;
        self
    }
    fn from(mut self, old: &str) -> Self {
        self.renamed_from = Some(old.into());
        self
    }
}

pub fn schema(tables: Vec<Table>) -> Schema {
    let mut s = Schema::default();
    for t in tables {
        s.insert(t);
    }
    s
}

/// The snapshot form of a schema: intent fields cleared, as the build's `old` side is.
pub fn snapshot(s: &Schema) -> Schema {
    let mut s = s.clone();
    for t in s.tables.values_mut() {
        t.renamed_from = None;
        for c in &mut t.columns {
            c.renamed_from = None;
            c.backfill = None;
        }
    }
    s
}

/// A fresh in-memory database for `schema` (through the renderer), plus extra SQL.
pub fn fresh(s: &Schema, extra: &[&str]) -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    for stmt in create_schema_sql(s) {
        conn.execute_batch(&stmt).unwrap_or_else(|e| panic!("{e}: {stmt}"));
    }
    for stmt in extra {
        conn.execute_batch(stmt).unwrap_or_else(|e| panic!("{e}: {stmt}"));
    }
    conn
}

pub fn plan_for(
    conn: &Connection,
    old: &Schema,
    new: &Schema,
    allow: &[&str],
) -> Result<Plan, Vec<Finding>> {
    let deps = dependents(conn).unwrap();
    let allow: Vec<String> = strings(allow);
    plan(&PlanInput { old: &snapshot(old), new, dependents: &deps, allow_drop: &allow })
}

/// The runner protocol through the real engine: FKs off outside the transaction, BEGIN
/// IMMEDIATE, the statements written as a migration file (`migration_text`, as the build
/// writes it) applied by `migrate_engine::apply_checked` (statement policy, foreign-key, view
/// and schema checks), COMMIT, FKs back on. On failure: ROLLBACK, FKs on. `&mut` because the
/// engine installs SQLite's authorizer for the call.
pub fn apply(conn: &mut Connection, stmts: &[String]) -> Result<(), String> {
    conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
    assert_eq!(conn.query_row("PRAGMA foreign_keys", [], |r| r.get::<_, i64>(0)).unwrap(), 0);
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    let sql = schema_core::build::format::migration_text(&[], stmts);
    let steps = [migrate_engine::Step { tag: "0001_planned", sql: &sql }];
    let result = migrate_engine::apply_checked(conn, &steps, &mut ()).map(drop).map_err(|e| {
        match &e {
            // The shape the suites assert on: (table, rowid, parent, fk id) per violation.
            migrate_engine::Error::ForeignKeyViolation { violations, .. } => {
                let rows: Vec<Violation> = violations
                    .iter()
                    .map(|v| (v.table.clone(), v.rowid, v.parent.clone(), v.fk_id))
                    .collect();
                format!("foreign key violations: {rows:?} ({e})")
            }
            _ => {
                let mut message = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    message.push_str(&format!(": {s}"));
                    source = s.source();
                }
                message
            }
        }
    });
    match &result {
        Ok(()) => conn.execute_batch("COMMIT").unwrap(),
        Err(_) => conn.execute_batch("ROLLBACK").unwrap(),
    }
    conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
    result
}

pub fn run_statements(conn: &Connection, stmts: &[String]) -> Result<(), String> {
    for s in stmts {
        conn.execute_batch(s).map_err(|e| format!("{e} (in {s})"))?;
    }
    Ok(())
}

/// One `foreign_key_check` row: table, rowid, parent, fk id.
pub type Violation = (String, Option<i64>, String, i64);

pub fn fk_violations(conn: &Connection) -> Result<Vec<Violation>, String> {
    let mut stmt =
        conn.prepare("SELECT * FROM pragma_foreign_key_check").map_err(|e| e.to_string())?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .map_err(|e| e.to_string())?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    Ok(rows)
}

pub fn integrity_ok(conn: &Connection) {
    let r: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(r, "ok");
}

/// Every row of a table by key (rowid, or the whole row for WITHOUT ROWID), column -> value.
pub type Rows = BTreeMap<String, BTreeMap<String, Value>>;

pub fn dump(conn: &Connection, table: &str) -> Rows {
    let q = format!("\"{}\"", table.replace('"', "\"\""));
    let wr: i64 = conn
        .query_row(
            "SELECT wr FROM pragma_table_list WHERE schema = 'main' AND name = ?1",
            [table],
            |r| r.get(0),
        )
        .unwrap();
    let sql = if wr == 0 {
        format!("SELECT rowid AS \"__key\", * FROM {q}")
    } else {
        let mut stmt = conn
            .prepare("SELECT name FROM pragma_table_info(?1) WHERE pk > 0 ORDER BY pk")
            .unwrap();
        let pk: Vec<String> = stmt
            .query_map([table], |r| r.get::<_, String>(0))
            .unwrap()
            .map(|n| format!("\"{}\"", n.unwrap().replace('"', "\"\"")))
            .collect();
        format!("SELECT {} AS \"__key\", * FROM {q}", pk.join(" || ',' || "))
    };
    let mut stmt = conn.prepare(&sql).unwrap();
    let names: Vec<String> = stmt.column_names().map(str::to_string).collect();
    let mut out = Rows::new();
    let mut rows = stmt.query([]).unwrap();
    while let Some(r) = rows.next().unwrap() {
        let mut m = BTreeMap::new();
        for (k, name) in names.iter().enumerate() {
            m.insert(name.clone(), r.get::<_, Value>(k).unwrap());
        }
        // Keyed by rowid, or by primary key for WITHOUT ROWID tables (the same key for a
        // single INTEGER primary key, so toggling WITHOUT ROWID compares row by row).
        let key = match m.remove("__key").unwrap() {
            Value::Text(t) if wr != 0 && t.parse::<i64>().is_ok() => {
                format!("{:?}", Value::Integer(t.parse().unwrap()))
            }
            other => format!("{other:?}"),
        };
        out.insert(key, m);
    }
    out
}

/// Asserts that the migrated database has the same structure as a fresh one.
pub fn assert_same_shape(migrated: &Connection, expected: &Connection) {
    let d = differences(&describe(expected).unwrap(), &describe(migrated).unwrap());
    assert!(d.is_empty(), "migrated schema differs from a fresh one:\n{}", d.join("\n"));
}

/// Whether `new_value` equals `old` converted exactly (a value converted to the new type and
/// back gives the old value).
pub fn converts_to(conn: &Connection, old: &Value, new_value: &Value) -> bool {
    if old == new_value {
        return true;
    }
    let ty = match old {
        Value::Null => return matches!(new_value, Value::Null),
        Value::Integer(_) => "INTEGER",
        Value::Real(_) => "REAL",
        Value::Text(_) => "TEXT",
        Value::Blob(_) => "BLOB",
    };
    let back: Value =
        conn.query_row(&format!("SELECT CAST(?1 AS {ty})"), [new_value], |r| r.get(0)).unwrap();
    &back == old
}

/// Checks that every row and every surviving column of every kept table is preserved.
pub fn assert_rows_preserved(
    conn: &Connection,
    old: &Schema,
    new: &Schema,
    before: &BTreeMap<String, Rows>,
) {
    let renamed_away: Vec<&str> = new
        .tables
        .values()
        .filter_map(|t| {
            t.renamed_from
                .as_deref()
                .filter(|f| old.table(f).is_some() && old.table(&t.name).is_none())
        })
        .collect();
    for nt in new.tables.values() {
        let ot = match nt
            .renamed_from
            .as_ref()
            .and_then(|f| old.table(f))
            .filter(|_| old.table(&nt.name).is_none())
        {
            Some(t) => t,
            None => match old.table(&nt.name).filter(|_| !renamed_away.contains(&nt.name.as_str()))
            {
                Some(t) => t,
                None => continue,
            },
        };
        let after = dump(conn, &nt.name);
        let prev = &before[&ot.name];
        assert_eq!(prev.len(), after.len(), "row count of {}", nt.name);
        for nc in &nt.columns {
            let oc_name = match &nc.renamed_from {
                Some(f) if ot.column(f).is_some() && ot.column(&nc.name).is_none() => f.clone(),
                _ => nc.name.clone(),
            };
            let Some(oc) = ot.column(&oc_name) else { continue };
            for (key, row) in prev {
                let old_v = &row[&oc.name];
                let new_v = &after[key][&nc.name];
                if oc.nullable && !nc.nullable && matches!(old_v, Value::Null) {
                    continue; // backfilled
                }
                assert!(
                    converts_to(conn, old_v, new_v),
                    "table {} column {} row {key}: {old_v:?} became {new_v:?}",
                    nt.name,
                    nc.name
                );
            }
        }
    }
}

pub fn dump_all(conn: &Connection, s: &Schema) -> BTreeMap<String, Rows> {
    s.tables.keys().map(|t| (t.clone(), dump(conn, t))).collect()
}

pub fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

pub fn schema_sql(conn: &Connection, name: &str) -> String {
    conn.query_row("SELECT sql FROM sqlite_schema WHERE name = ?1", [name], |r| r.get(0)).unwrap()
}

/// The migration file text the build would write: header comments, then statements separated
/// by breakpoints.
pub fn file_text(p: &Plan) -> String {
    let mut out = String::new();
    for h in p.header_comments() {
        out.push_str(&h);
        out.push('\n');
    }
    out.push_str(&p.render().join("\n--> statement-breakpoint\n"));
    out.push('\n');
    out
}
