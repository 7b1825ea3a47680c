//! Introspection: order-insensitive, quoting-insensitive descriptions, readable differences.

#![cfg(feature = "build")]

use rusqlite::Connection;
use schema_core::introspect::{dependents, describe, differences};
use schema_core::plan::ObjectKind;

fn db(sql: &str) -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(sql).unwrap();
    conn
}

fn diff(a: &str, b: &str) -> Vec<String> {
    differences(&describe(&db(a)).unwrap(), &describe(&db(b)).unwrap())
}

#[test]
fn implicit_foreign_key_target_resolves_to_the_parent_primary_key() {
    // T46: `REFERENCES p` without a column list means p's primary key.
    let d = diff(
        "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE ch (x INTEGER REFERENCES p);",
        "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE ch (x INTEGER, FOREIGN KEY (x) REFERENCES \"p\" (\"id\"));",
    );
    assert!(d.is_empty(), "{d:?}");
}

#[test]
fn foreign_keys_compare_as_sets_with_actions() {
    let d = diff(
        "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE ch (x INTEGER REFERENCES p(id) ON DELETE CASCADE);",
        "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE ch (x INTEGER REFERENCES p(id));",
    );
    assert_eq!(
        d,
        [
            "table ch: missing foreign key (x) references p(id) on update no action on delete cascade",
            "table ch: unexpected foreign key (x) references p(id) on update no action on delete no action",
        ]
    );
}

#[test]
fn checks_come_from_a_real_tokenizer() {
    let a = "CREATE TABLE t (a TEXT CHECK (a <> 'CHECK (x)'), \"we\"\"ird\" INTEGER, \
             CONSTRAINT \"c1\" CHECK ((length(\"we\"\"ird\") > 0)) -- CHECK (1)\n)";
    let b = "create table t (\"we\"\"ird\" integer, a text check(A<>'CHECK (x)'), \
             constraint c1 check ((LENGTH(\"we\"\"ird\")>0)) /* CHECK (2) */)";
    assert!(diff(a, b).is_empty(), "{:?}", diff(a, b));
    let shape = describe(&db(a)).unwrap();
    assert_eq!(shape.tables["t"].checks.len(), 2);
    let c = "CREATE TABLE t (a TEXT CHECK (a <> 'CHECK (y)'), \"we\"\"ird\" INTEGER, \
             CONSTRAINT \"c1\" CHECK ((length(\"we\"\"ird\") > 0)))";
    let d = diff(a, c);
    assert_eq!(d.len(), 2, "{d:?}");
    assert!(d[0].starts_with("table t: missing check"));
}

#[test]
fn autoincrement_strict_and_without_rowid_are_compared() {
    let d = diff(
        "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT) STRICT",
        "CREATE TABLE t (id INTEGER PRIMARY KEY)",
    );
    assert_eq!(
        d,
        ["table t: expected STRICT on, found off", "table t: expected AUTOINCREMENT on, found off"]
    );
    let d = diff(
        "CREATE TABLE w (k TEXT PRIMARY KEY) WITHOUT ROWID",
        "CREATE TABLE w (k TEXT NOT NULL PRIMARY KEY)",
    );
    assert_eq!(d, ["table w: expected WITHOUT ROWID on, found off"]);
}

#[test]
fn constraint_indexes_compare_by_columns_and_origin_not_name() {
    assert!(
        diff("CREATE TABLE t (a, b, UNIQUE (a, b))", "CREATE TABLE t (a, b, UNIQUE (a, b))")
            .is_empty()
    );
    // T05: a UNIQUE constraint and a CREATE UNIQUE INDEX are different objects.
    let d =
        diff("CREATE TABLE t (a UNIQUE)", "CREATE TABLE t (a); CREATE UNIQUE INDEX ta ON t (a);");
    assert_eq!(d, ["table t: unexpected index ta", "table t: missing UNIQUE constraint on (a)"]);
}

#[test]
fn partial_index_predicates_are_normalised() {
    assert!(diff(
        "CREATE TABLE t (a, b); CREATE INDEX ip ON t (a) WHERE b IS NOT NULL;",
        "CREATE TABLE t (a, b); CREATE INDEX \"ip\" ON \"t\" (\"a\") where \"b\"   is not null;",
    )
    .is_empty());
    let d = diff(
        "CREATE TABLE t (a, b); CREATE INDEX ip ON t (a) WHERE b IS NOT NULL;",
        "CREATE TABLE t (a, b); CREATE INDEX ip ON t (a) WHERE b > 0;",
    );
    assert_eq!(d, ["table t: index ip: expected (a) WHERE b is not null, found (a) WHERE b > 0"]);
    let d = diff(
        "CREATE TABLE t (a); CREATE UNIQUE INDEX i ON t (a DESC);",
        "CREATE TABLE t (a); CREATE INDEX i ON t (a);",
    );
    assert_eq!(d, ["table t: index i: expected UNIQUE (a DESC), found (a)"]);
}

#[test]
fn columns_types_nullability_defaults() {
    let d = diff(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, bio TEXT, n INTEGER NOT NULL DEFAULT (0), gone TEXT)",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, bio INTEGER, n INTEGER DEFAULT 1, extra TEXT)",
    );
    assert_eq!(
        d,
        [
            "table users: column bio: expected TEXT, found INTEGER",
            "table users: missing column gone",
            "table users: column n: expected NOT NULL, found nullable",
            "table users: column n: expected default 0, found default 1",
            "table users: unexpected column extra",
        ]
    );
    // Outer parentheses of a default do not matter.
    assert!(diff("CREATE TABLE t (a DEFAULT ((1)))", "CREATE TABLE t (a DEFAULT 1)").is_empty());
}

#[test]
fn tables_views_and_triggers_missing_or_extra() {
    let d = diff(
        "CREATE TABLE a (x); CREATE VIEW v AS SELECT x FROM a;",
        "CREATE TABLE b (x); CREATE TRIGGER tr AFTER INSERT ON b BEGIN SELECT 1; END;",
    );
    assert_eq!(
        d,
        ["missing table a", "unexpected table b", "missing view v", "unexpected trigger tr"]
    );
}

#[test]
fn internal_and_ledger_tables_are_left_out() {
    let conn =
        db("CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT); INSERT INTO t DEFAULT VALUES; \
         CREATE TABLE __schema_migrations (idx INTEGER PRIMARY KEY);");
    let shape = describe(&conn).unwrap();
    assert_eq!(shape.tables.keys().collect::<Vec<_>>(), ["t"]);
}

#[test]
fn hostile_names_are_bound_not_interpolated() {
    let conn = db("CREATE TABLE \"we\"\"ird t\" (\"sp ace\" TEXT, \"it's\" INTEGER); \
         CREATE INDEX \"i'x\" ON \"we\"\"ird t\" (\"it's\");");
    let shape = describe(&conn).unwrap();
    let t = &shape.tables["we\"ird t"];
    assert_eq!(t.columns.keys().collect::<Vec<_>>(), ["it's", "sp ace"]);
    assert_eq!(t.indexes["i'x"].columns, ["it's"]);
}

#[test]
fn dependents_in_schema_order() {
    let conn = db("CREATE TABLE t (a); CREATE VIEW v2 AS SELECT a FROM t; \
         CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END; CREATE VIEW v1 AS SELECT * FROM v2;");
    let deps = dependents(&conn).unwrap();
    let got: Vec<(ObjectKind, &str, &str)> =
        deps.iter().map(|d| (d.kind, d.name.as_str(), d.tbl_name.as_str())).collect();
    assert_eq!(
        got,
        [
            (ObjectKind::View, "v2", "v2"),
            (ObjectKind::Trigger, "tr", "t"),
            (ObjectKind::View, "v1", "v1")
        ]
    );
    assert_eq!(deps[0].sql, "CREATE VIEW v2 AS SELECT a FROM t");
}
