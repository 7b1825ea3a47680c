//! `godwit pull`: an existing database's tables as `#[derive(Table)]` structs.

pub(crate) mod read;
mod rust;

use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::io::{ErrorKind, Write as _};
use std::path::PathBuf;

use schema_core::build::replay::fresh_shape;
use schema_core::introspect::{DbShape, differences};

use crate::error::Error;
use crate::ledger;
use crate::{Outcome, Report};

/// The arguments of `godwit pull`.
#[derive(Debug, Clone)]
pub struct PullArgs {
    /// The database (opened read-only).
    pub db: PathBuf,
    /// Where to write the schema file (never overwritten); `None` prints it on stdout.
    pub out: Option<PathBuf>,
}

/// Introspects the database's tables into a schema file of `#[derive(Table)]` structs: names,
/// types, nullability, defaults, primary keys (composite too), AUTOINCREMENT, UNIQUE, indexes
/// (unique, partial), foreign keys (composite, self-referencing, actions), checks, STRICT and
/// WITHOUT ROWID.
///
/// Then it proves the result: the file is parsed by the derive's own parser, the first migration
/// it yields is created in a fresh in-memory database, and each table is compared with the
/// database's. What the model cannot express (a declared type like `VARCHAR(255)`, generated
/// columns, expression indexes, multi-column UNIQUE constraints, views, triggers, and any
/// table the proof finds different) is listed at the end of the file as comments with its SQL,
/// never dropped.
///
/// Outcome: clean when every table is reproduced exactly (views and triggers go into a
/// hand-written migration and are not a finding); findings when some table is not.
///
/// # Errors
/// The database is missing or unreadable; the output file exists or cannot be written.
pub fn pull(args: &PullArgs) -> Result<Report, Error> {
    let conn = ledger::open_read_only(&args.db)?;
    let db = read::read(&conn).map_err(Error::db(&args.db))?;
    let names = rust::Names::new(&db);
    let shown = args
        .db
        .file_name()
        .map_or_else(|| args.db.display().to_string(), |n| n.to_string_lossy().into_owned());
    let (mut source, mut unexpressed) = rust::render(&db, &names, &shown);
    for (table, diffs) in prove(&source, &db.shape)? {
        let mut what = String::from(
            "what the struct creates differs from the database (expected: the struct, found: \
             the database):",
        );
        for d in diffs {
            what.push_str("\n//       ");
            what.push_str(&d);
        }
        unexpressed.by_table.entry(table.clone()).or_default().push(what);
    }
    let tables_differ = !unexpressed.by_table.is_empty();
    source.push_str(&leftovers(&db, &unexpressed));
    let outcome = if tables_differ { Outcome::Findings } else { Outcome::Clean };
    let Some(out) = &args.out else {
        return Ok(Report { text: source, outcome });
    };
    write_new(out, &source)?;
    let mut text = format!(
        "wrote {}: {} table{}",
        out.display(),
        db.tables.len(),
        if db.tables.len() == 1 { "" } else { "s" }
    );
    if tables_differ {
        let _ = write!(
            text,
            "; {} of them not reproduced exactly (listed at the end of the file with their SQL)",
            unexpressed.by_table.len()
        );
    } else {
        text.push_str(", each reproduced exactly by its struct");
    }
    if !db.objects.is_empty() {
        let _ = write!(
            text,
            "; {} view{}/trigger{} listed at the end of the file for a hand-written migration",
            db.objects.len(),
            if db.objects.len() == 1 { "" } else { "s" },
            if db.objects.len() == 1 { "" } else { "s" }
        );
    }
    text.push('\n');
    Ok(Report { text, outcome })
}

/// Parses `source` with the derive's parser, creates its schema in memory and compares every
/// table with `actual`; the differences by table.
fn prove(source: &str, actual: &DbShape) -> Result<Vec<(String, Vec<String>)>, Error> {
    let schema = schema_core::parse::parse_file(source)
        .and_then(|tables| schema_core::parse::resolve(&tables))
        .map_err(|e| Error::PulledSchema { message: e.to_string() })?;
    let expected = fresh_shape(&schema).map_err(|e| Error::Expected { source: Box::new(e) })?;
    let mut out = Vec::new();
    for (name, table) in &actual.tables {
        let only = |t: Option<&schema_core::introspect::TableShape>| DbShape {
            tables: t.map(|t| [(name.clone(), t.clone())].into()).unwrap_or_default(),
            ..DbShape::default()
        };
        let diffs = differences(&only(expected.tables.get(name)), &only(Some(table)));
        if !diffs.is_empty() {
            out.push((name.clone(), diffs));
        }
    }
    Ok(out)
}

/// The comment block at the end of the file.
fn leftovers(db: &read::RawDb, unexpressed: &rust::Unexpressed) -> String {
    if unexpressed.by_table.is_empty() && db.objects.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "\n// What the model cannot express, with its SQL as the database has it (nothing is \
         dropped).\n",
    );
    for (table, notes) in &unexpressed.by_table {
        let _ = writeln!(out, "//\n// table {table}:");
        for note in notes {
            let _ = writeln!(out, "//   - {note}");
        }
        out.push_str("//   its SQL:\n");
        if let Some(t) = db.tables.iter().find(|t| t.name == *table) {
            comment_sql(&mut out, &t.sql);
            for (_, sql) in &t.index_sql {
                comment_sql(&mut out, sql);
            }
        }
    }
    if !db.objects.is_empty() {
        out.push_str(
            "//\n// Views and triggers are not part of the model: after the first `cargo build`, \
             run\n// `godwit new views_and_triggers` and put these statements in that file \
             (separated by\n// `--> statement-breakpoint` lines):\n",
        );
        for o in &db.objects {
            let _ = writeln!(out, "//\n// {} {}:", o.kind, o.name);
            comment_sql(&mut out, &o.sql);
        }
    }
    out
}

fn comment_sql(out: &mut String, sql: &str) {
    for line in sql.lines() {
        let _ = writeln!(out, "//     {}", line.trim_end());
    }
    if !sql.trim_end().ends_with(';') {
        // Statements end in `;` so they can be pasted as they are.
        if let Some(last) = out.strip_suffix('\n') {
            *out = format!("{last};\n");
        }
    }
}

/// Writes `text` to a new file `path` (never overwrites).
fn write_new(path: &std::path::Path, text: &str) -> Result<(), Error> {
    let mut file = match OpenOptions::new().write(true).create_new(true).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            return Err(Error::OutputExists { path: path.to_path_buf() });
        }
        Err(source) => {
            return Err(Error::Io { action: "create", path: path.to_path_buf(), source });
        }
    };
    file.write_all(text.as_bytes()).map_err(|source| Error::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    })
}
