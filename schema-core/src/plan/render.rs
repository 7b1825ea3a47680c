//! Steps -> SQLite SQL. One renderer for CREATE TABLE, used for fresh creates and rebuilds alike.

use std::fmt::Write as _;

use super::sql::{quote_ident as q, quote_str};
use super::{Guard, Rebuild, Step};
use crate::model::{Column, DefaultValue, ForeignKey, Index, SqlType, Table};

/// The `CREATE TABLE` statement for `table`, created under `name` (the table's own name, or a
/// rebuild's temporary name; self-references always name the table itself).
pub(super) fn create_table(table: &Table, name: &str) -> String {
    let single_pk = (table.primary_key.len() == 1).then(|| table.primary_key[0].as_str());
    let mut lines: Vec<String> = Vec::new();
    for c in &table.columns {
        let pk = single_pk == Some(c.name.as_str());
        lines.push(column_def(c, pk, pk && table.autoincrement));
    }
    if table.primary_key.len() > 1 {
        lines.push(format!("PRIMARY KEY ({})", idents(&table.primary_key)));
    }
    for fk in &table.foreign_keys {
        lines.push(format!("FOREIGN KEY ({}) {}", idents(&fk.columns), references(fk)));
    }
    for ch in &table.checks {
        match &ch.name {
            Some(n) => lines.push(format!("CONSTRAINT {} CHECK ({})", q(n), ch.expr)),
            None => lines.push(format!("CHECK ({})", ch.expr)),
        }
    }
    let mut out = format!("CREATE TABLE {} (\n\t{}\n)", q(name), lines.join(",\n\t"));
    let mut options = Vec::new();
    if table.without_rowid {
        options.push("WITHOUT ROWID");
    }
    if table.strict {
        options.push("STRICT");
    }
    if !options.is_empty() {
        out.push(' ');
        out.push_str(&options.join(", "));
    }
    out.push(';');
    out
}

/// A column definition: `"name" TYPE [PRIMARY KEY [AUTOINCREMENT]] [NOT NULL] [UNIQUE]
/// [DEFAULT ..] [CHECK (..)]`.
pub(super) fn column_def(c: &Column, pk: bool, autoincrement: bool) -> String {
    let mut s = format!("{} {}", q(&c.name), c.ty.as_sql());
    if pk {
        s.push_str(" PRIMARY KEY");
        if autoincrement {
            s.push_str(" AUTOINCREMENT");
        }
    }
    if !c.nullable {
        s.push_str(" NOT NULL");
    }
    if c.unique {
        s.push_str(" UNIQUE");
    }
    if let Some(d) = &c.default {
        let _ = write!(s, " DEFAULT {}", default_sql(d));
    }
    if let Some(ch) = &c.check {
        let _ = write!(s, " CHECK ({ch})");
    }
    s
}

/// The SQL after `DEFAULT`: a literal as is, `CURRENT_*` bare, any other expression in
/// parentheses.
pub(super) fn default_sql(d: &DefaultValue) -> String {
    match d {
        DefaultValue::Literal(l) => l.clone(),
        DefaultValue::Sql(e) => {
            let t = e.trim();
            if ["CURRENT_TIME", "CURRENT_DATE", "CURRENT_TIMESTAMP"]
                .iter()
                .any(|k| k.eq_ignore_ascii_case(t))
            {
                t.to_ascii_uppercase()
            } else {
                format!("({t})")
            }
        }
    }
}

fn references(fk: &ForeignKey) -> String {
    let mut s = format!("REFERENCES {} ({})", q(&fk.ref_table), idents(&fk.ref_columns));
    if let Some(a) = fk.on_update {
        let _ = write!(s, " ON UPDATE {}", a.as_sql());
    }
    if let Some(a) = fk.on_delete {
        let _ = write!(s, " ON DELETE {}", a.as_sql());
    }
    s
}

fn idents(names: &[String]) -> String {
    names.iter().map(|n| q(n)).collect::<Vec<_>>().join(", ")
}

pub(super) fn create_index(table: &str, index: &Index) -> String {
    let mut s = format!(
        "CREATE {}INDEX {} ON {} ({})",
        if index.unique { "UNIQUE " } else { "" },
        q(&index.name),
        q(table),
        idents(&index.columns)
    );
    if let Some(w) = &index.where_clause {
        let _ = write!(s, " WHERE {w}");
    }
    s.push(';');
    s
}

/// The SQL statements of one step.
pub(super) fn step(step: &Step) -> Vec<String> {
    match step {
        Step::CreateTable(t) => vec![create_table(t, &t.name)],
        Step::DropTable { table } => vec![format!("DROP TABLE {};", q(table))],
        Step::RenameTable { from, to, via } => match via {
            Some(tmp) => vec![
                format!("ALTER TABLE {} RENAME TO {};", q(from), q(tmp)),
                format!("ALTER TABLE {} RENAME TO {};", q(tmp), q(to)),
            ],
            None => vec![format!("ALTER TABLE {} RENAME TO {};", q(from), q(to))],
        },
        Step::AddColumn { table, column, references: fk } => {
            let mut def = column_def(column, false, false);
            if let Some(fk) = fk {
                def.push(' ');
                def.push_str(&references(fk));
            }
            vec![format!("ALTER TABLE {} ADD COLUMN {def};", q(table))]
        }
        Step::DropColumn { table, column } => {
            vec![format!("ALTER TABLE {} DROP COLUMN {};", q(table), q(column))]
        }
        Step::RenameColumn { table, from, to } => {
            vec![format!("ALTER TABLE {} RENAME COLUMN {} TO {};", q(table), q(from), q(to))]
        }
        Step::CreateIndex { table, index } => vec![create_index(table, index)],
        Step::DropIndex { name, .. } => vec![format!("DROP INDEX {};", q(name))],
        Step::RebuildTable(r) => rebuild(r),
    }
}

const GUARD: &str = "\"temp\".\"__godwit_guard\"";
const SEQ: &str = "\"temp\".\"__godwit_seq\"";

/// The type to cast back to for a value whose `typeof` is `tc`.
fn storage_class(tc: &str) -> &'static str {
    match tc {
        "integer" => "INTEGER",
        "real" => "REAL",
        "text" => "TEXT",
        _ => "BLOB",
    }
}

/// `1` when the value of `col` does not survive a conversion to `ty` and back.
pub(super) fn inexact(col: &str, ty: SqlType) -> String {
    let c = q(col);
    let t = ty.as_sql();
    let branches: Vec<String> = ["integer", "real", "text", "blob"]
        .iter()
        .map(|tc| {
            format!("WHEN '{tc}' THEN CAST(CAST({c} AS {t}) AS {}) IS NOT {c}", storage_class(tc))
        })
        .collect();
    format!("CASE typeof({c}) {} ELSE 0 END", branches.join(" "))
}

/// One guard statement: inserts a message into the guard table (whose trigger raises it) when
/// a row of `table` violates the guard.
fn guard(table: &str, g: &Guard) -> String {
    let from = q(table);
    match g {
        Guard::Convert { column, source, to } => {
            let prefix = quote_str(&format!(
                "cannot convert table \"{table}\" column \"{column}\" to {}: value ",
                to.as_sql()
            ));
            format!(
                "INSERT INTO {GUARD} (\"msg\") SELECT {prefix} || quote({}) || ' does not convert exactly' \
                 FROM {from} WHERE {} LIMIT 1;",
                q(source),
                inexact(source, *to)
            )
        }
        Guard::NotNull { column, expr } => {
            let msg = quote_str(&format!(
                "cannot fill table \"{table}\" column \"{column}\": the backfill gives NULL for a row"
            ));
            format!(
                "INSERT INTO {GUARD} (\"msg\") SELECT {msg} FROM {from} WHERE {expr} IS NULL LIMIT 1;"
            )
        }
        Guard::Check { column: Some(c), expr } => {
            let prefix = quote_str(&format!("table \"{table}\" column \"{c}\": value "));
            let suffix = quote_str(&format!(" violates the new CHECK ({expr})"));
            format!(
                "INSERT INTO {GUARD} (\"msg\") SELECT {prefix} || quote({}) || {suffix} FROM {from} \
                 WHERE NOT ({expr}) LIMIT 1;",
                q(c)
            )
        }
        Guard::Check { column: None, expr } => {
            let msg =
                quote_str(&format!("table \"{table}\": a row violates the new CHECK ({expr})"));
            format!(
                "INSERT INTO {GUARD} (\"msg\") SELECT {msg} FROM {from} WHERE NOT ({expr}) LIMIT 1;"
            )
        }
        Guard::Unique { columns, exprs, constraint } => {
            let names = columns.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
            let prefix = quote_str(&format!("table \"{table}\" column {names}: value "));
            let values = exprs
                .iter()
                .map(|e| format!("quote({e})"))
                .collect::<Vec<_>>()
                .join(" || ', ' || ");
            let suffix =
                quote_str(&format!(" appears more than once, so the new {constraint} cannot hold"));
            let not_null =
                exprs.iter().map(|e| format!("{e} IS NOT NULL")).collect::<Vec<_>>().join(" AND ");
            format!(
                "INSERT INTO {GUARD} (\"msg\") SELECT {prefix} || {values} || {suffix} FROM {from} \
                 WHERE {not_null} GROUP BY {} HAVING count(*) > 1 LIMIT 1;",
                exprs.join(", ")
            )
        }
    }
}

fn rebuild(r: &Rebuild) -> Vec<String> {
    let t = &r.table;
    let name = q(&t.name);
    let mut out = Vec::new();
    if !r.guards.is_empty() {
        out.push(format!("CREATE TABLE {GUARD} (\"msg\" TEXT);"));
        out.push(
            "CREATE TEMP TRIGGER \"__godwit_guard_raise\" BEFORE INSERT ON \"__godwit_guard\" \
             BEGIN SELECT RAISE(ABORT, NEW.\"msg\"); END;"
                .to_string(),
        );
        for g in &r.guards {
            out.push(guard(&t.name, g));
        }
        out.push(format!("DROP TABLE {GUARD};"));
    }
    for d in r.dependents.iter().rev() {
        out.push(format!("DROP {} {};", d.kind.as_sql(), q(&d.name)));
    }
    if r.keep_sequence {
        out.push(format!(
            "CREATE TABLE {SEQ} AS SELECT \"seq\" FROM \"sqlite_sequence\" WHERE \"name\" = {};",
            quote_str(&t.name)
        ));
    }
    out.push(create_table(t, &r.temp_name));
    let mut targets: Vec<String> = Vec::new();
    let mut sources: Vec<String> = Vec::new();
    if let Some(rowid) = r.copy_rowid {
        targets.push(rowid.to_string());
        sources.push(rowid.to_string());
    }
    for (col, expr) in &r.copy {
        targets.push(q(col));
        sources.push(expr.clone());
    }
    if !targets.is_empty() {
        out.push(format!(
            "INSERT INTO {} ({}) SELECT {} FROM {name};",
            q(&r.temp_name),
            targets.join(", "),
            sources.join(", ")
        ));
    }
    out.push(format!("DROP TABLE {name};"));
    out.push(format!("ALTER TABLE {} RENAME TO {name};", q(&r.temp_name)));
    if r.keep_sequence {
        let lit = quote_str(&t.name);
        out.push(format!(
            "UPDATE \"sqlite_sequence\" SET \"seq\" = (SELECT \"seq\" FROM {SEQ}) WHERE \"name\" = {lit} \
             AND \"seq\" < (SELECT \"seq\" FROM {SEQ});"
        ));
        out.push(format!(
            "INSERT INTO \"sqlite_sequence\" (\"name\", \"seq\") SELECT {lit}, \"seq\" FROM {SEQ} \
             WHERE NOT EXISTS (SELECT 1 FROM \"sqlite_sequence\" WHERE \"name\" = {lit});"
        ));
        out.push(format!("DROP TABLE {SEQ};"));
    }
    for i in &t.indexes {
        out.push(create_index(&t.name, i));
    }
    for d in &r.dependents {
        let mut s = d.sql.clone();
        if !s.trim_end().ends_with(';') {
            s.push(';');
        }
        out.push(s);
    }
    out
}

/// Whether a table of this kind is a rowid table whose rowid is not a declared column.
pub(super) fn has_hidden_rowid(t: &Table) -> bool {
    if t.without_rowid {
        return false;
    }
    !(t.primary_key.len() == 1
        && t.column(&t.primary_key[0]).is_some_and(|c| c.ty == SqlType::Integer))
}
