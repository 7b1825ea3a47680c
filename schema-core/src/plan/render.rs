//! Steps -> SQLite SQL. One renderer for CREATE TABLE, used for fresh creates and rebuilds alike.

use std::fmt::Write as _;

use super::sql::{mentions, quote_ident as q, quote_str};
use super::{Guard, Rebuild, Step, ValueOrigin, convert};
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

/// `INSERT INTO guard SELECT <message> FROM <from> WHERE <cond> LIMIT 1;`
fn guard_insert(message: &str, from: &str, cond: &str) -> String {
    format!("INSERT INTO {GUARD} (\"msg\") SELECT {message} FROM {from} WHERE {cond} LIMIT 1;")
}

/// The copied values as a table: `(SELECT <copy expr> AS "<new column>", .., <row label> AS
/// "__godwit_row" FROM "<old>") AS "<table>"`, so guards about the new values (CHECK, UNIQUE)
/// see exactly what the new table gets, under the new names (a column the copy leaves out
/// gets its default).
fn copied_values(r: &Rebuild) -> String {
    let mut cols: Vec<String> = r
        .table
        .columns
        .iter()
        .map(|c| match r.copy.iter().find(|(n, _)| n == &c.name) {
            Some((_, e)) => format!("{e} AS {}", q(&c.name)),
            None => {
                let d = c.default.as_ref().map_or_else(|| "NULL".to_string(), default_sql);
                format!("{d} AS {}", q(&c.name))
            }
        })
        .collect();
    cols.push(format!("{} AS \"__godwit_row\"", r.row_label));
    format!("(SELECT {} FROM {}) AS {}", cols.join(", "), q(&r.table.name), q(&r.table.name))
}

/// The guard statements of one guard (a type change into TEXT has two: exactness and UTF-8).
fn guard(r: &Rebuild, g: &Guard) -> Vec<String> {
    match g {
        Guard::Convert { column, value, origin, to, only_where, strict_from } => {
            let check = ConvertCheck {
                column,
                value,
                origin: *origin,
                to: *to,
                only_where: only_where.as_deref(),
                strict_from: *strict_from,
            };
            convert_guard(r, &check)
        }
        Guard::NotNull { column, expr } => not_null_guard(r, column, expr),
        Guard::Check { column, expr } => check_guard(r, column.as_deref(), expr),
        Guard::Unique { columns, constraint } => unique_guard(r, columns, constraint),
    }
}

/// The fields of a [`Guard::Convert`], borrowed.
struct ConvertCheck<'a> {
    column: &'a str,
    value: &'a str,
    origin: ValueOrigin,
    to: SqlType,
    only_where: Option<&'a str>,
    strict_from: Option<SqlType>,
}

/// Exactness (and, into TEXT, UTF-8) of every converted value.
fn convert_guard(r: &Rebuild, g: &ConvertCheck<'_>) -> Vec<String> {
    let ConvertCheck { column, value, origin, to, only_where, strict_from } = *g;
    let table = &r.table.name;
    let from = q(table);
    let row = format!("' (' || {} || ')'", r.row_label);
    let (what, fix) = match origin {
        ValueOrigin::Stored => (
            String::new(),
            format!(
                "change or delete the row first, or compute the new value with #[column(convert = \
                 \"<sql expr>\")] on {column}"
            ),
        ),
        ValueOrigin::Convert => (
            " (computed by #[column(convert)])".to_string(),
            format!("fix #[column(convert = \"..\")] on {column}"),
        ),
        ValueOrigin::Backfill => (
            " (computed by #[column(backfill)])".to_string(),
            format!(
                "fix #[column(backfill = \"..\")] on {column} to give values of type {}",
                to.as_sql()
            ),
        ),
    };
    let prefix = quote_str(&format!(
        "cannot convert table \"{table}\" column \"{column}\" to {}: value ",
        to.as_sql()
    ));
    let message = |reason: &str| {
        format!(
            "{prefix} || {} || {} || {row} || {}",
            convert::shown(value),
            quote_str(&format!("{what} {reason}")),
            quote_str(&format!("; {fix}"))
        )
    };
    let filter = |cond: String| match only_where {
        Some(w) => format!("({w}) AND ({cond})"),
        None => cond,
    };
    let mut out = Vec::new();
    if let Some(cond) = convert::inexact(value, to) {
        out.push(guard_insert(&message("does not convert exactly"), &from, &filter(cond)));
    }
    if to == SqlType::Text && convert::may_be_blob(value, strict_from) {
        let cond = format!("typeof({value}) = 'blob' AND {}", convert::utf8_invalid(value));
        out.push(guard_insert(
            &message("does not convert exactly: it is not valid UTF-8"),
            &from,
            &filter(cond),
        ));
    }
    out
}

/// A backfill that gives NULL for a NOT NULL column.
fn not_null_guard(r: &Rebuild, column: &str, expr: &str) -> Vec<String> {
    let table = &r.table.name;
    let from = q(table);
    let row = format!("' (' || {} || ')'", r.row_label);
    let msg = format!(
        "{} || {row} || {}",
        quote_str(&format!(
            "cannot fill table \"{table}\" column \"{column}\": the backfill gives NULL"
        )),
        quote_str(&format!(
            "; fix #[column(backfill = \"..\")] on {column} so it never gives NULL"
        ))
    );
    vec![guard_insert(&msg, &from, &format!("{expr} IS NULL"))]
}

/// A row the new CHECK refuses, over the values the new table gets.
fn check_guard(r: &Rebuild, column: Option<&str>, expr: &str) -> Vec<String> {
    let table = &r.table.name;
    let fix = match column {
        Some(c) => format!(
            "; change or delete the row first, or fix #[column(check = \"..\")] (or the convert or \
             backfill) of {c}"
        ),
        None => "; change or delete the row first, or fix #[check(expr = \"..\")] (or the \
                 convert or backfill that computes these values)"
            .to_string(),
    };
    let row = "' (' || \"__godwit_row\" || ')'";
    let msg = match column {
        Some(c) => format!(
            "{} || {} || {} || {row} || {}",
            quote_str(&format!("table \"{table}\" column \"{c}\": value ")),
            convert::shown(&q(c)),
            quote_str(&format!(" violates the new CHECK ({expr})")),
            quote_str(&fix)
        ),
        None => {
            let mentioned: Vec<String> = r
                .copy
                .iter()
                .filter(|(c, _)| mentions(expr, c))
                .map(|(c, _)| {
                    format!("{} || {}", quote_str(&format!("{} = ", q(c))), convert::shown(&q(c)))
                })
                .collect();
            let values = if mentioned.is_empty() {
                String::new()
            } else {
                format!(" || ', values ' || {}", mentioned.join(" || ', ' || "))
            };
            format!(
                "{} || {row}{values} || {}",
                quote_str(&format!("table \"{table}\": a row violates the new CHECK ({expr})")),
                quote_str(&fix)
            )
        }
    };
    vec![guard_insert(&msg, &copied_values(r), &format!("NOT ({expr})"))]
}

/// Duplicates for a new UNIQUE or primary key, over the values the new table gets.
fn unique_guard(r: &Rebuild, columns: &[String], constraint: &str) -> Vec<String> {
    let table = &r.table.name;
    let names = columns.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
    let prefix = quote_str(&format!("table \"{table}\" column {names}: value "));
    let values =
        columns.iter().map(|c| convert::shown(&q(c))).collect::<Vec<_>>().join(" || ', ' || ");
    let suffix =
        quote_str(&format!(" appears more than once, so the new {constraint} cannot hold ("));
    let fix = quote_str(
        "); change or delete the duplicates first, or make #[column(backfill)] or \
         #[column(convert)] give distinct values",
    );
    let cols = columns.iter().map(|c| q(c)).collect::<Vec<_>>();
    let not_null =
        cols.iter().map(|c| format!("{c} IS NOT NULL")).collect::<Vec<_>>().join(" AND ");
    vec![format!(
        "INSERT INTO {GUARD} (\"msg\") SELECT {prefix} || {values} || {suffix} || \
         min(\"__godwit_row\") || ' and ' || max(\"__godwit_row\") || {fix} FROM {} \
         WHERE {not_null} GROUP BY {} HAVING count(*) > 1 LIMIT 1;",
        copied_values(r),
        cols.join(", ")
    )]
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
            out.extend(guard(r, g));
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
