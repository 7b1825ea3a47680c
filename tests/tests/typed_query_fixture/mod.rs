//! The fixture of the query and write tests: the structs of `schema.rs`, and a database file in
//! a temporary directory whose tables are the DDL the parser and planner produce for them.

#![allow(dead_code)] // each test binary uses a different part

pub mod schema;

use migrate_runtime::rusqlite::Connection;

/// The source of `schema.rs`, parsed by the build script's parser.
pub const SOURCE: &str = include_str!("schema.rs");

/// A database file (in its own temporary directory, removed on drop) with `foreign_keys=ON`
/// and every table of `schema.rs`.
pub struct Fixture {
    pub conn: Connection,
    pub dir: tempfile::TempDir,
}

/// Creates the database file and its tables.
pub fn open() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let conn = Connection::open(dir.path().join("app.db")).expect("database file");
    conn.pragma_update(None, "foreign_keys", true).expect("foreign keys on");
    let tables = schema_core::parse::parse_file(SOURCE).expect("the fixture parses");
    let schema = schema_core::parse::resolve(&tables).expect("the fixture resolves");
    for sql in schema_core::introspect::create_schema_sql(&schema) {
        conn.execute_batch(&sql).expect("the fixture's DDL runs");
    }
    Fixture { conn, dir }
}

/// Counts the rows `sql` (a `SELECT count(*) ..`) reports.
pub fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).expect("count query")
}
