//! The typed API's fixture: the structs of `schema.rs`, and a database whose tables are the
//! DDL the parser and planner produce for them (what the migrations of `schema.rs` would create).

#![allow(dead_code)] // each test binary uses a different part

pub mod schema;

use migrate_runtime::rusqlite::Connection;

/// The source of `schema.rs`, parsed by the build script's parser.
pub const SOURCE: &str = include_str!("schema.rs");

/// The `CREATE` statements of every table of `schema.rs`.
pub fn create_sql() -> Vec<String> {
    let tables = schema_core::parse::parse_file(SOURCE).expect("the fixture parses");
    let schema = schema_core::parse::resolve(&tables).expect("the fixture resolves");
    schema_core::introspect::create_schema_sql(&schema)
}

/// Creates every table of `schema.rs` on `conn`.
pub fn create_tables(conn: &Connection) {
    for sql in create_sql() {
        conn.execute_batch(&sql).expect("the fixture's DDL runs");
    }
}

/// An in-memory database with `foreign_keys=ON` and every table of `schema.rs`.
pub fn open() -> Connection {
    let conn = Connection::open_in_memory().expect("in-memory database");
    conn.pragma_update(None, "foreign_keys", true).expect("foreign keys on");
    create_tables(&conn);
    conn
}

/// Counts the rows `sql` (a `SELECT count(*) ..`) reports.
pub fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).expect("count query")
}
