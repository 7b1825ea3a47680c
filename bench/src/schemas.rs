//! Schema files and migrations the benchmarks run: written as a user would write them (Rust
//! structs with `#[derive(Table)]`), turned into SQL by the real parser and planner.

use std::fmt::Write as _;

use migrate_runtime::{Migration, STATEMENT_BREAKPOINT, chain_hash, hash_sql};
use schema_core::model::Schema;
use schema_core::parse;
use schema_core::plan::{PlanInput, plan};

/// Leaks a string so it can live in a [`Migration`] (whose fields are `&'static str`, as the
/// generated code embeds them).
#[must_use]
pub fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// Builds [`Migration`]s from SQL texts, with their hashes and chain, as the build script does.
///
/// ```
/// let m = bench::schemas::migrations(vec!["CREATE TABLE \"a\" (\"x\")".to_owned()]);
/// assert_eq!(m[0].tag, "0000_bench");
/// ```
#[must_use]
pub fn migrations(sqls: Vec<String>) -> Vec<Migration> {
    let mut out = Vec::with_capacity(sqls.len());
    let mut prev: Option<&'static str> = None;
    for (i, sql) in sqls.into_iter().enumerate() {
        let idx = u32::try_from(i).expect("fewer than 2^32 migrations");
        let sql = leak(sql);
        let hash = leak(hash_sql(sql));
        let chain = leak(chain_hash(prev, hash));
        prev = Some(chain);
        out.push(Migration { idx, tag: leak(format!("{idx:04}_bench")), sql, hash, chain });
    }
    out
}

/// `n` migrations shaped like generated ones: each creates a table and an index.
///
/// ```
/// assert_eq!(bench::schemas::table_migrations(3).len(), 3);
/// ```
#[must_use]
pub fn table_migrations(n: u32) -> Vec<Migration> {
    migrations(
        (0..n)
            .map(|i| {
                format!(
                    "CREATE TABLE \"t{i}\" (\"id\" INTEGER PRIMARY KEY, \"name\" TEXT NOT NULL, \
                     \"v\" INTEGER);\n{STATEMENT_BREAKPOINT}\n\
                     CREATE INDEX \"t{i}_name\" ON \"t{i}\" (\"name\");\n"
                )
            })
            .collect(),
    )
}

/// Parses and resolves a schema file's text with the derive's own parser.
///
/// # Panics
/// The text is not a valid schema (the benchmarks' schemas are fixed).
#[must_use]
pub fn parse_schema(source: &str) -> Schema {
    let parsed = parse::parse_file(source).expect("benchmark schema parses");
    parse::resolve(&parsed).expect("benchmark schema resolves")
}

/// The SQL of the planned migration from `old` to `new`, in the migration file format.
///
/// # Panics
/// The planner refuses the change (the benchmarks' changes are fixed and valid).
#[must_use]
pub fn planned_sql(old: &Schema, new: &Schema) -> String {
    let plan = plan(&PlanInput { old, new, dependents: &[], allow_drop: &[] }).unwrap_or_else(
        |findings| panic!("the planner refused the benchmark change: {findings:?}"),
    );
    let mut text = String::new();
    for line in plan.header_comments() {
        text.push_str(&line);
        text.push('\n');
    }
    let statements: Vec<String> = plan
        .render()
        .iter()
        .map(|s| format!("{};\n", s.trim_end().trim_end_matches(';')))
        .collect();
    text.push_str(&statements.join(&format!("{STATEMENT_BREAKPOINT}\n")));
    text
}

/// The rebuild benchmark's schema: a parent with two indexes and a CASCADE child; `nullable_score`
/// is the change (dropping `NOT NULL` needs a table rebuild); `unrelated` adds a large table (with
/// a foreign key of its own) that the migration does not touch.
#[must_use]
pub fn rebuild_schema(nullable_score: bool, unrelated: bool) -> String {
    let score = if nullable_score { "Option<i64>" } else { "i64" };
    let mut s = format!(
        r#"use migrate_runtime::Table;

#[derive(Table)]
#[table(name = "parent")]
#[index(columns(name))]
#[index(columns(email))]
pub struct Parent {{
    #[column(primary_key)]
    pub id: i64,
    pub name: String,
    pub email: String,
    pub score: {score},
}}

#[derive(Table)]
#[table(name = "child")]
pub struct Child {{
    #[column(primary_key)]
    pub id: i64,
    #[column(references = Parent, on_delete = "cascade")]
    pub parent_id: i64,
    pub note: String,
}}
"#
    );
    if unrelated {
        s.push_str(
            r#"
#[derive(Table)]
#[table(name = "account")]
pub struct Account {
    #[column(primary_key)]
    pub id: i64,
    pub name: String,
}

#[derive(Table)]
#[table(name = "event")]
pub struct Event {
    #[column(primary_key)]
    pub id: i64,
    #[column(references = Account)]
    pub account_id: i64,
    pub payload: String,
}
"#,
        );
    }
    s
}

/// The two migrations of the rebuild benchmark: creating the old schema, and the rebuild.
#[must_use]
pub fn rebuild_migrations(unrelated: bool) -> Vec<Migration> {
    let old = parse_schema(&rebuild_schema(false, unrelated));
    let new = parse_schema(&rebuild_schema(true, unrelated));
    migrations(vec![planned_sql(&Schema::default(), &old), planned_sql(&old, &new)])
}

/// The line separating migrations in a file written by [`write_migrations`].
const NEXT_MIGRATION: &str = "-- godwit-bench: next migration\n";

/// Writes the SQL of `migrations` to one file (the parent plans them once; the children read
/// them, so a child's memory holds no parser or planner work).
///
/// # Errors
/// The file could not be written.
pub fn write_migrations(path: &std::path::Path, migrations: &[Migration]) -> Result<(), String> {
    let texts: Vec<&str> = migrations.iter().map(|m| m.sql).collect();
    std::fs::write(path, texts.join(NEXT_MIGRATION))
        .map_err(|e| format!("write {}: {e}", path.display()))
}

/// Reads a file written by [`write_migrations`] back into [`Migration`]s.
///
/// # Errors
/// The file could not be read.
pub fn read_migrations(path: &std::path::Path) -> Result<Vec<Migration>, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("read {}: {e}", path.display()))?;
    Ok(migrations(text.split(NEXT_MIGRATION).map(str::to_owned).collect()))
}

/// The floor of the rebuild benchmark: the 12-step procedure written by hand, run inside the
/// transaction (foreign keys are switched off outside it). The foreign-key check covers the
/// tables the change touches: the rebuilt parent and its child.
pub const REBUILD_FLOOR_SQL: &str = r#"CREATE TABLE "__new_parent" (
    "id" INTEGER PRIMARY KEY NOT NULL,
    "name" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "score" INTEGER
);
INSERT INTO "__new_parent" ("id", "name", "email", "score")
    SELECT "id", "name", "email", "score" FROM "parent";
DROP TABLE "parent";
ALTER TABLE "__new_parent" RENAME TO "parent";
CREATE INDEX "parent_name_idx" ON "parent" ("name");
CREATE INDEX "parent_email_idx" ON "parent" ("email");
"#;

/// The foreign-key checks of the floor: the rebuilt table and every table referencing it.
pub const REBUILD_FLOOR_CHECKS: [&str; 2] = [
    "SELECT * FROM pragma_foreign_key_check('parent')",
    "SELECT * FROM pragma_foreign_key_check('child')",
];

/// Fills the rebuild fixture: `rows` parents (with two indexed text columns) and one child per
/// parent; with `unrelated`, 1,000 accounts and `rows` events referencing them.
#[must_use]
pub fn rebuild_fill_sql(rows: u64, unrelated: bool) -> String {
    let mut s = format!(
        "INSERT INTO \"parent\" (\"id\", \"name\", \"email\", \"score\") \
         WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {rows}) \
         SELECT x, printf('%08x', (x * 2654435761) % 4294967296), 'user' || x || '@example.com', \
         x % 1000 FROM c;\n\
         INSERT INTO \"child\" (\"id\", \"parent_id\", \"note\") \
         WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {rows}) \
         SELECT x, x, 'note ' || x FROM c;\n"
    );
    if unrelated {
        let _ = write!(
            s,
            "INSERT INTO \"account\" (\"id\", \"name\") \
             WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000) \
             SELECT x, 'account ' || x FROM c;\n\
             INSERT INTO \"event\" (\"id\", \"account_id\", \"payload\") \
             WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {rows}) \
             SELECT x, 1 + x % 1000, 'event payload number ' || x || ' with some text' FROM c;\n"
        );
    }
    s
}

/// One table of a generated schema file.
#[derive(Debug, Clone)]
struct TableDef {
    index: usize,
    /// Extra columns: (name, indexed).
    columns: Vec<(String, bool)>,
}

fn render_schema(tables: &[TableDef]) -> String {
    let mut s = String::from("use migrate_runtime::Table;\n");
    for t in tables {
        let i = t.index;
        let _ = write!(
            s,
            "\n/// Table number {i}.\n#[derive(Table)]\n#[table(name = \"t{i}\")]\n\
             pub struct T{i} {{\n    #[column(primary_key)]\n    pub id: i64,\n    \
             pub name: String,\n    #[column(default = 0)]\n    pub count: i64,\n"
        );
        if i > 0 {
            let p = i - 1;
            let _ = write!(
                s,
                "    #[column(references = T{p}, on_delete = \"cascade\")]\n    pub t{p}_id: Option<i64>,\n"
            );
        }
        for (name, indexed) in &t.columns {
            if *indexed {
                s.push_str("    #[column(index)]\n");
            }
            let _ = writeln!(s, "    pub {name}: Option<String>,");
        }
        s.push_str("}\n");
    }
    s
}

/// A schema file of `n` tables (each with a primary key, a text column, a defaulted column, a
/// CASCADE reference to the previous table and two optional columns, one indexed).
///
/// ```
/// let source = bench::schemas::wide_schema(3);
/// assert_eq!(bench::schemas::parse_schema(&source).tables.len(), 3);
/// ```
#[must_use]
pub fn wide_schema(n: usize) -> String {
    let tables: Vec<TableDef> = (0..n)
        .map(|index| TableDef {
            index,
            columns: vec![("note".to_owned(), false), ("tag".to_owned(), true)],
        })
        .collect();
    render_schema(&tables)
}

/// The schema files of a `steps`-long history, one per step: step 0 creates a table, then the
/// steps cycle through creating a table (referencing the previous one), adding an optional
/// column, and adding an indexed optional column.
///
/// ```
/// let history = bench::schemas::history(5);
/// assert_eq!(history.len(), 5);
/// ```
#[must_use]
pub fn history(steps: usize) -> Vec<String> {
    let mut tables = vec![TableDef { index: 0, columns: Vec::new() }];
    let mut out = vec![render_schema(&tables)];
    for step in 1..steps {
        match step % 3 {
            0 => {
                let index = tables.len();
                tables.push(TableDef { index, columns: Vec::new() });
            }
            kind => {
                let last = tables.last_mut().expect("at least one table");
                last.columns.push((format!("c{step}"), kind == 2));
            }
        }
        out.push(render_schema(&tables));
    }
    out
}
