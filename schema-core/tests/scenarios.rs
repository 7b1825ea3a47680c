//! Data-driven migration scenarios (correctness.md section 4, T01-T48 where the model can
//! express them): v1 schema + rows -> v2 schema. Each case snapshots the SQL, applies it to a real
//! SQLite database with the runner protocol, and checks data and structure.

#![cfg(feature = "build")]

mod common;

use common::*;
use rusqlite::Connection;
use rusqlite::types::Value;
use schema_core::model::{FkAction, Schema};
use schema_core::plan::{Finding, Plan, Severity};

/// One scenario.
struct Case {
    v1: Schema,
    v2: Schema,
    /// Rows (SQL) inserted into v1.
    rows: &'static [&'static str],
    /// Views and triggers created on v1 after the rows, and on the fresh v2 for comparison.
    deps: &'static [&'static str],
    /// Views and triggers of the fresh v2 when they differ from `deps` (renames).
    deps_v2: Option<&'static [&'static str]>,
    allow: &'static [&'static str],
    /// The test checks every row's values itself (renames onto names the old schema also had,
    /// which the generic same-name check cannot follow).
    own_row_check: bool,
}

impl Case {
    fn new(v1: Schema, v2: Schema) -> Self {
        Self { v1, v2, rows: &[], deps: &[], deps_v2: None, allow: &[], own_row_check: false }
    }
    fn rows(mut self, rows: &'static [&'static str]) -> Self {
        self.rows = rows;
        self
    }
    fn deps(mut self, deps: &'static [&'static str]) -> Self {
        self.deps = deps;
        self
    }
    fn deps_v2(mut self, deps: &'static [&'static str]) -> Self {
        self.deps_v2 = Some(deps);
        self
    }
    fn allow(mut self, allow: &'static [&'static str]) -> Self {
        self.allow = allow;
        self
    }

    fn own_row_check(mut self) -> Self {
        self.own_row_check = true;
        self
    }

    fn v1_db(&self) -> Connection {
        let conn = fresh(&self.v1, self.rows);
        for d in self.deps {
            conn.execute_batch(d).unwrap();
        }
        conn
    }

    fn plan(&self, conn: &Connection) -> Result<Plan, Vec<Finding>> {
        plan_for(conn, &self.v1, &self.v2, self.allow)
    }

    /// Plans, snapshots, applies and checks; returns the migrated database and the plan.
    fn run(&self, name: &str) -> (Connection, Plan) {
        let mut conn = self.v1_db();
        let p = self.plan(&conn).unwrap_or_else(|f| panic!("plan refused: {f:#?}"));
        let again = self.plan(&conn).unwrap();
        assert_eq!(p.render(), again.render(), "plans are deterministic");
        assert!(
            !p.render().iter().any(|s| s.to_ascii_uppercase().contains("PRAGMA")),
            "no PRAGMA in migrations"
        );
        for stmt in p.render() {
            let upper = stmt.to_ascii_uppercase();
            if upper.starts_with("INSERT INTO \"__NEW_") {
                assert!(
                    !upper.contains("OR IGNORE")
                        && !upper.contains("OR REPLACE")
                        && !upper.contains("ON CONFLICT")
                );
                assert!(!upper.contains("SELECT *"), "explicit column lists: {stmt}");
            }
        }
        insta::assert_snapshot!(name, file_text(&p));
        let before = dump_all(&conn, &self.v1);
        conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        apply(&mut conn, &p.render())
            .unwrap_or_else(|e| panic!("apply failed: {e}\n{}", file_text(&p)));
        assert_eq!(count(&conn, "PRAGMA foreign_keys"), 1);
        integrity_ok(&conn);
        assert!(fk_violations(&conn).unwrap().is_empty());
        let expected = fresh(&self.v2, self.deps_v2.unwrap_or(self.deps));
        assert_same_shape(&conn, &expected);
        if !self.own_row_check {
            assert_rows_preserved(&conn, &self.v1, &self.v2, &before);
        }
        (conn, p)
    }

    /// Applies a plan that must fail at apply time; returns the error and checks nothing changed.
    fn run_failing(&self, name: &str) -> String {
        let mut conn = self.v1_db();
        let p = self.plan(&conn).unwrap_or_else(|f| panic!("plan refused: {f:#?}"));
        insta::assert_snapshot!(name, file_text(&p));
        let before = dump_all(&conn, &self.v1);
        let shape = schema_core::introspect::describe(&conn).unwrap();
        let sql_before = all_sql(&conn);
        let err = apply(&mut conn, &p.render()).expect_err("the migration must fail");
        assert_eq!(dump_all(&conn, &self.v1), before, "rows unchanged after a failed migration");
        assert_eq!(schema_core::introspect::describe(&conn).unwrap(), shape);
        assert_eq!(all_sql(&conn), sql_before, "schema text unchanged after a failed migration");
        assert_eq!(count(&conn, "PRAGMA foreign_keys"), 1);
        err
    }

    fn plan_errors(&self) -> Vec<Finding> {
        let conn = self.v1_db();
        let f = self.plan(&conn).expect_err("the plan must be refused");
        assert!(f.iter().any(|f| f.severity == Severity::Error));
        f
    }
}

fn all_sql(conn: &Connection) -> Vec<(String, Option<String>)> {
    let mut stmt = conn.prepare("SELECT name, sql FROM sqlite_schema ORDER BY name").unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<Result<_, _>>().unwrap()
}

/// Every row `sql` returns, as values.
fn rows_of(conn: &Connection, sql: &str) -> Vec<Vec<Value>> {
    let mut stmt = conn.prepare(sql).unwrap();
    let n = stmt.column_count();
    stmt.query_map([], |r| (0..n).map(|k| r.get::<_, Value>(k)).collect::<Result<Vec<_>, _>>())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn int(v: i64) -> Value {
    Value::Integer(v)
}

fn txt(v: &str) -> Value {
    Value::Text(v.into())
}

fn has(findings: &[Finding], code: &str, needle: &str) -> bool {
    findings.iter().any(|f| f.code == code && f.message.contains(needle))
}

fn users_v1() -> schema_core::model::Table {
    table("users", vec![col("id", Integer), col("name", Text)]).pk(&["id"])
}

const USERS_ROWS: &[&str] =
    &["INSERT INTO users (id, name) VALUES (1, 'ann'), (2, 'bob'), (5, 'cy')"];

// ---------------------------------------------------------------- columns: add

#[test]
fn t01_add_nullable_column_in_place() {
    let v2 = schema(vec![
        table("users", vec![col("id", Integer), col("name", Text), col("bio", Text).null()])
            .pk(&["id"]),
    ]);
    let (conn, p) = Case::new(schema(vec![users_v1()]), v2).rows(USERS_ROWS).run("t01");
    assert_eq!(p.render(), ["ALTER TABLE \"users\" ADD COLUMN \"bio\" TEXT;"]);
    assert_eq!(p.name(), "add_users_bio");
    assert_eq!(count(&conn, "SELECT count(*) FROM users WHERE bio IS NULL"), 3);
}

#[test]
fn t02_add_not_null_with_default_in_place() {
    let v2 = schema(vec![
        table(
            "users",
            vec![col("id", Integer), col("name", Text), col("status", Text).default("'active'")],
        )
        .pk(&["id"]),
    ]);
    let (conn, p) = Case::new(schema(vec![users_v1()]), v2).rows(USERS_ROWS).run("t02");
    assert_eq!(
        p.render(),
        ["ALTER TABLE \"users\" ADD COLUMN \"status\" TEXT NOT NULL DEFAULT 'active';"]
    );
    assert_eq!(count(&conn, "SELECT count(*) FROM users WHERE status = 'active'"), 3);
}

#[test]
fn t03_add_not_null_without_default_needs_backfill() {
    let v2 = schema(vec![
        table("users", vec![col("id", Integer), col("name", Text), col("email", Text)]).pk(&["id"]),
    ]);
    let f = Case::new(schema(vec![users_v1()]), v2).rows(USERS_ROWS).plan_errors();
    assert!(has(&f, "L2", "backfill"), "{f:#?}");
    assert!(has(&f, "L2", "email"));

    let v2 = schema(vec![
        table(
            "users",
            vec![col("id", Integer), col("name", Text), col("email", Text).backfill("'unknown@x'")],
        )
        .pk(&["id"]),
    ]);
    let (conn, p) = Case::new(schema(vec![users_v1()]), v2).rows(USERS_ROWS).run("t03");
    assert_eq!(count(&conn, "SELECT count(*) FROM users WHERE email = 'unknown@x'"), 3);
    assert_eq!(p.name(), "add_users_email");
    let dflt: Option<String> = conn
        .query_row(
            "SELECT dflt_value FROM pragma_table_info('users') WHERE name = 'email'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(dflt, None, "backfill never becomes the default");
}

#[test]
fn t04_add_current_timestamp_default_rebuilds() {
    let v2 = schema(vec![
        table(
            "users",
            vec![
                col("id", Integer),
                col("name", Text),
                col("created_at", Text).default_sql("CURRENT_TIMESTAMP"),
            ],
        )
        .pk(&["id"]),
    ]);
    let (conn, p) = Case::new(schema(vec![users_v1()]), v2).rows(USERS_ROWS).run("t04");
    assert!(has(&p.findings, "L14", "created_at"));
    assert_eq!(
        count(&conn, "SELECT count(DISTINCT created_at) FROM users WHERE created_at IS NOT NULL"),
        1
    );
    assert_eq!(count(&conn, "SELECT count(*) FROM users"), 3);
}

#[test]
fn t05_add_unique_column_rebuilds() {
    let v2 = schema(vec![
        table(
            "users",
            vec![col("id", Integer), col("name", Text), col("handle", Text).null().unique()],
        )
        .pk(&["id"]),
    ]);
    let (conn, _) = Case::new(schema(vec![users_v1()]), v2).rows(USERS_ROWS).run("t05");
    assert_eq!(
        count(&conn, "SELECT count(*) FROM pragma_index_list('users') WHERE origin = 'u'"),
        1
    );
}

fn posts(extra: Option<schema_core::model::Column>, fk: bool) -> schema_core::model::Table {
    let mut cols = vec![col("id", Integer), col("body", Text)];
    cols.extend(extra);
    let t = table("posts", cols).pk(&["id"]);
    if fk { t.fk(&["author_id"], "users", &["id"], Some(FkAction::Cascade)) } else { t }
}

#[test]
fn t06_add_nullable_fk_column_in_place_and_with_default_rebuilds() {
    let rows: &[&str] = &[
        "INSERT INTO users (id, name) VALUES (1, 'ann'), (2, 'bob')",
        "INSERT INTO posts (id, body) VALUES (1, 'a'), (2, 'b')",
    ];
    let v1 = schema(vec![users_v1(), posts(None, false)]);
    let v2 = schema(vec![users_v1(), posts(Some(col("author_id", Integer).null()), true)]);
    let (conn, p) = Case::new(v1.clone(), v2).rows(rows).run("t06");
    assert_eq!(
        p.render(),
        [
            "ALTER TABLE \"posts\" ADD COLUMN \"author_id\" INTEGER REFERENCES \"users\" (\"id\") ON DELETE CASCADE;"
        ]
    );
    let fk: (String, String, String, String) = conn
        .query_row(
            "SELECT \"table\", \"from\", \"to\", on_delete FROM pragma_foreign_key_list('posts')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(fk, ("users".into(), "author_id".into(), "id".into(), "CASCADE".into()));

    let v2 =
        schema(vec![users_v1(), posts(Some(col("author_id", Integer).null().default("1")), true)]);
    let (_, p) = Case::new(v1, v2).rows(rows).run("t06_default");
    assert!(
        p.render().iter().any(|s| s.starts_with("CREATE TABLE \"__new_posts\"")),
        "a non-NULL default FK column rebuilds"
    );
}

// ---------------------------------------------------------------- columns: drop and rename

#[test]
fn t08_drop_column_in_place() {
    let v1 =
        schema(vec![table("t", vec![col("a", Integer), col("b", Text), col("c", Text).null()])]);
    let v2 = schema(vec![table("t", vec![col("a", Integer), col("b", Text)])]);
    let (_, p) = Case::new(v1, v2)
        .rows(&["INSERT INTO t VALUES (1, 'x', 'y'), (2, 'z', NULL)"])
        .allow(&["t.c"])
        .run("t08");
    assert_eq!(p.render(), ["ALTER TABLE \"t\" DROP COLUMN \"c\";"]);
    assert_eq!(p.name(), "drop_t_c");
    assert!(has(
        &p.findings,
        "L1",
        "column c is dropped with its data (acknowledged by MIGRATION_ALLOW_DROP=t.c)"
    ));
}

#[test]
fn t09_drop_indexed_column_drops_the_index_first() {
    let v1 = schema(vec![table("t", vec![col("a", Integer), col("b", Text)]).index("ib", &["b"])]);
    let v2 = schema(vec![table("t", vec![col("a", Integer)])]);
    let (_, p) =
        Case::new(v1, v2).rows(&["INSERT INTO t VALUES (1, 'x')"]).allow(&["t.b"]).run("t09");
    assert_eq!(p.render(), ["DROP INDEX \"ib\";", "ALTER TABLE \"t\" DROP COLUMN \"b\";"]);
}

#[test]
fn t10_drop_column_referenced_by_a_foreign_key_is_refused() {
    let parent = |with_code: bool| {
        let mut cols = vec![col("id", Integer), col("code", Text).unique()];
        if !with_code {
            cols.pop();
        }
        table("parent", cols).pk(&["id"])
    };
    let child = table("child", vec![col("id", Integer), col("pcode", Text).null()]).pk(&["id"]).fk(
        &["pcode"],
        "parent",
        &["code"],
        None,
    );
    let f =
        Case::new(schema(vec![parent(true), child.clone()]), schema(vec![parent(false), child]))
            .plan_errors();
    assert!(has(&f, "L15", "parent.code"), "{f:#?}");
}

#[test]
fn t11_drop_column_used_by_a_view_is_refused() {
    let v1 = schema(vec![table("t", vec![col("a", Integer), col("b", Text)])]);
    let v2 = schema(vec![table("t", vec![col("a", Integer)])]);
    let f = Case::new(v1, v2)
        .deps(&[
            "CREATE VIEW v AS SELECT b FROM t",
            "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT NEW.b; END",
        ])
        .plan_errors();
    assert!(has(&f, "L10", "view v"), "{f:#?}");
    assert!(has(&f, "L10", "trigger tr"));
}

fn p_with(code: &str, renamed: bool) -> schema_core::model::Table {
    let c = col(code, Text).null().unique();
    let c = if renamed { c.from("code") } else { c };
    table("p", vec![col("id", Integer), c]).pk(&["id"]).partial_index(
        "p_code_partial",
        &[code],
        &format!("{code} IS NOT NULL"),
    )
}

#[test]
fn t12_declared_column_rename() {
    let c = table("c", vec![col("id", Integer), col("pcode", Text).null()]).pk(&["id"]);
    let v1 = schema(vec![p_with("code", false), c.clone().fk(&["pcode"], "p", &["code"], None)]);
    let v2 = schema(vec![p_with("sku", true), c.clone().fk(&["pcode"], "p", &["sku"], None)]);
    let (conn, p) = Case::new(v1.clone(), v2)
        .rows(&["INSERT INTO p VALUES (1, 'a'), (2, 'b')", "INSERT INTO c VALUES (1, 'a')"])
        .deps(&[
            "CREATE VIEW pv AS SELECT code FROM p",
            "CREATE TRIGGER pt AFTER UPDATE ON p BEGIN UPDATE c SET pcode = NEW.code WHERE pcode = OLD.code; END",
        ])
        .deps_v2(&[
            "CREATE VIEW pv AS SELECT sku FROM p",
            "CREATE TRIGGER pt AFTER UPDATE ON p BEGIN UPDATE c SET pcode = NEW.sku WHERE pcode = OLD.sku; END",
        ])
        .run("t12");
    assert_eq!(p.render(), ["ALTER TABLE \"p\" RENAME COLUMN \"code\" TO \"sku\";"]);
    assert_eq!(p.name(), "rename_p_code_to_sku");
    assert!(schema_sql(&conn, "c").contains("\"sku\""));
    assert!(schema_sql(&conn, "p_code_partial").contains("\"sku\""));

    // The same change without the declaration is refused.
    let v2 = schema(vec![p_with("sku", false), c.fk(&["pcode"], "p", &["sku"], None)]);
    let f = Case::new(v1, v2).plan_errors();
    assert!(has(&f, "L13", "renamed_from = \"code\""), "{f:#?}");
    assert!(has(&f, "L13", "MIGRATION_ALLOW_DROP=p.code"));
}

#[test]
fn t13_declared_table_rename_keeps_sequence_and_rewrites_references() {
    let parent = |name: &str| {
        let t = table(name, vec![col("id", Integer), col("n", Text)]).pk(&["id"]).autoinc();
        if name == "parent" { t } else { t.from("parent") }
    };
    let child = |p: &str| {
        table("child", vec![col("id", Integer), col("pid", Integer)]).pk(&["id"]).fk(
            &["pid"],
            p,
            &["id"],
            None,
        )
    };
    let (conn, p) = Case::new(schema(vec![parent("parent"), child("parent")]), schema(vec![parent("account"), child("account")]))
        .rows(&[
            "INSERT INTO parent (id, n) VALUES (10, 'x')",
            "INSERT INTO child VALUES (1, 10)",
        ])
        .deps(&[
            "CREATE VIEW pv AS SELECT n FROM parent",
            "CREATE TRIGGER ct AFTER INSERT ON child BEGIN UPDATE parent SET n = n || '!' WHERE id = NEW.pid; END",
        ])
        .deps_v2(&[
            "CREATE VIEW pv AS SELECT n FROM account",
            "CREATE TRIGGER ct AFTER INSERT ON child BEGIN UPDATE account SET n = n || '!' WHERE id = NEW.pid; END",
        ])
        .run("t13");
    assert_eq!(p.render(), ["ALTER TABLE \"parent\" RENAME TO \"account\";"]);
    assert_eq!(p.name(), "rename_parent_to_account");
    assert_eq!(count(&conn, "SELECT seq FROM sqlite_sequence WHERE name = 'account'"), 10);
    assert!(schema_sql(&conn, "child").contains("\"account\""));
}

#[test]
fn t14_case_only_table_rename_goes_through_a_temporary_name() {
    let v1 = schema(vec![table("user", vec![col("id", Integer)]).pk(&["id"])]);
    let v2 = schema(vec![table("User", vec![col("id", Integer)]).pk(&["id"]).from("user")]);
    let (conn, p) = Case::new(v1, v2).rows(&["INSERT INTO user VALUES (1), (2)"]).run("t14");
    assert_eq!(p.render().len(), 2);
    assert_eq!(count(&conn, "SELECT count(*) FROM sqlite_schema WHERE name = 'User'"), 1);
}

fn sessions() -> schema_core::model::Table {
    table("sessions", vec![col("id", Integer), col("user_id", Integer)]).pk(&["id"]).fk(
        &["user_id"],
        "users",
        &["id"],
        Some(FkAction::Cascade),
    )
}

#[test]
fn t15_dropping_a_referenced_table() {
    const ROWS: &[&str] = &[
        "INSERT INTO users (id, name) VALUES (1, 'ann'), (2, 'bob')",
        "INSERT INTO sessions VALUES (1, 1), (2, 2)",
    ];
    let rows = ROWS;
    // Only users removed: sessions still references it.
    let f = Case::new(schema(vec![users_v1(), sessions()]), schema(vec![sessions()]))
        .rows(rows)
        .allow(&["users"])
        .plan_errors();
    assert!(has(&f, "L15", "sessions"), "{f:#?}");
    // Without acknowledgement: the error names MIGRATION_ALLOW_DROP.
    let f =
        Case::new(schema(vec![users_v1(), sessions()]), schema(vec![])).rows(rows).plan_errors();
    assert!(has(&f, "L1", "MIGRATION_ALLOW_DROP=users"), "{f:#?}");
    // Both dropped and acknowledged: children first.
    let (_, p) = Case::new(schema(vec![users_v1(), sessions()]), schema(vec![]))
        .rows(rows)
        .allow(&["users", "sessions"])
        .run("t15");
    assert_eq!(p.render(), ["DROP TABLE \"sessions\";", "DROP TABLE \"users\";"]);
    assert_eq!(
        p.header_comments(),
        ["-- godwit: allow-drop sessions", "-- godwit: allow-drop users"]
    );
    assert_eq!(p.name(), "drop_sessions_users");
}

// ---------------------------------------------------------------- types, nullability, defaults

fn tv(ty: schema_core::model::SqlType) -> Schema {
    schema(vec![table("t", vec![col("id", Integer), col("v", ty).null()]).pk(&["id"])])
}

#[test]
fn t16_text_to_integer_exact() {
    let (conn, p) = Case::new(tv(Text), tv(Integer))
        .rows(&["INSERT INTO t VALUES (1, '1'), (2, '22'), (3, NULL)"])
        .run("t16");
    let types: Vec<String> = conn
        .prepare("SELECT typeof(v) FROM t ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(types, ["integer", "integer", "null"]);
    assert!(has(&p.findings, "L2", "changes type"));
    // The copy casts (so every old row gets the new storage class) only behind the guard.
    let sql = p.render();
    let guard = sql.iter().position(|s| s.contains("does not convert exactly")).expect("a guard");
    let copy = sql.iter().position(|s| s.starts_with("INSERT INTO \"__new_t\"")).unwrap();
    assert!(guard < copy && sql[copy].contains("CAST(\"v\" AS INTEGER)"), "{sql:?}");
}

#[test]
fn t17_inexact_conversions_fail_inside_the_migration() {
    for (value, shown) in [
        ("'12abc'", "'12abc'"),
        ("' 7'", "' 7'"),
        ("'012'", "'012'"),
        ("'12.0'", "'12.0'"),
        ("'abc'", "'abc'"),
    ] {
        let rows: &'static [&'static str] = Box::leak(
            vec![&*Box::leak(
                format!("INSERT INTO t VALUES (1, '12'), (2, {value})").into_boxed_str(),
            )]
            .into_boxed_slice(),
        );
        let err = Case::new(tv(Text), tv(Integer)).rows(rows).run_failing("t17");
        assert!(err.contains("table \"t\" column \"v\""), "{err}");
        assert!(err.contains(shown), "{err}");
        assert!(err.contains("does not convert exactly"), "{err}");
    }
}

#[test]
fn t18_integer_to_text() {
    let (conn, _) = Case::new(tv(Integer), tv(Text))
        .rows(&["INSERT INTO t VALUES (1, 5), (2, -3), (3, NULL)"])
        .run("t18");
    let v: Vec<(Option<String>, String)> = conn
        .prepare("SELECT v, typeof(v) FROM t ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        v,
        [
            (Some("5".into()), "text".into()),
            (Some("-3".into()), "text".into()),
            (None, "null".into())
        ]
    );
}

#[test]
fn t19_nullable_to_not_null_needs_backfill() {
    let v1 = schema(vec![table("t", vec![col("id", Integer), col("a", Text).null()]).pk(&["id"])]);
    let v2 = schema(vec![
        table("t", vec![col("id", Integer), col("a", Text).default("'d'")]).pk(&["id"]),
    ]);
    let f = Case::new(v1.clone(), v2).plan_errors();
    assert!(has(&f, "L2", "backfill"), "a default does not count: {f:#?}");

    let v2 = schema(vec![
        table("t", vec![col("id", Integer), col("a", Text).backfill("''")]).pk(&["id"]),
    ]);
    let (conn, p) =
        Case::new(v1, v2).rows(&["INSERT INTO t VALUES (1, 'x'), (2, NULL)"]).run("t19");
    assert!(p.render().iter().any(|s| s.contains("coalesce(\"a\", (''))")));
    assert_eq!(count(&conn, "SELECT count(*) FROM t WHERE a = ''"), 1);
    assert_eq!(count(&conn, "SELECT \"notnull\" FROM pragma_table_info('t') WHERE name = 'a'"), 1);
}

#[test]
fn t20_not_null_to_nullable() {
    let v1 = schema(vec![table("t", vec![col("id", Integer), col("a", Text)]).pk(&["id"])]);
    let v2 = schema(vec![table("t", vec![col("id", Integer), col("a", Text).null()]).pk(&["id"])]);
    let (_, p) = Case::new(v1, v2).rows(&["INSERT INTO t VALUES (1, 'x')"]).run("t20");
    assert!(has(&p.findings, "L4", "NOT NULL"));
}

fn chats(default: &str) -> schema_core::model::Table {
    table("chats", vec![col("id", Integer), col("mode", Text).null().default(default)]).pk(&["id"])
}

fn messages() -> schema_core::model::Table {
    table("messages", vec![col("id", Integer), col("chat_id", Integer)]).pk(&["id"]).fk(
        &["chat_id"],
        "chats",
        &["id"],
        Some(FkAction::Cascade),
    )
}

#[test]
fn t21_default_change_keeps_cascade_children() {
    let rows: &[&str] = &[
        "INSERT INTO chats (id) VALUES (1), (2)",
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) \
         INSERT INTO messages SELECT i, 1 + i % 2 FROM n",
    ];
    let (conn, p) = Case::new(
        schema(vec![chats("'preview'"), messages()]),
        schema(vec![chats("'markup'"), messages()]),
    )
    .rows(rows)
    .run("t21");
    assert_eq!(p.name(), "chats_change_mode_default");
    assert_eq!(count(&conn, "SELECT count(*) FROM messages"), 100);
    assert_eq!(count(&conn, "SELECT count(*) FROM chats WHERE mode = 'preview'"), 2);
    conn.execute_batch("INSERT INTO chats (id) VALUES (3)").unwrap();
    assert_eq!(count(&conn, "SELECT count(*) FROM chats WHERE mode = 'markup'"), 1);
}

// ---------------------------------------------------------------- constraints and keys

#[test]
fn t22_unique_index_in_place_and_duplicates_fail() {
    let v1 = schema(vec![table("u", vec![col("email", Text).null()])]);
    let v2 = schema(vec![
        table("u", vec![col("email", Text).null()]).unique_index("u_email", &["email"]),
    ]);
    let (conn, p) = Case::new(v1.clone(), v2.clone())
        .rows(&["INSERT INTO u VALUES ('a'), ('b'), (NULL), (NULL)"])
        .run("t22");
    assert_eq!(p.render(), ["CREATE UNIQUE INDEX \"u_email\" ON \"u\" (\"email\");"]);
    assert_eq!(
        count(
            &conn,
            "SELECT count(*) FROM pragma_index_list('u') WHERE name = 'u_email' AND \"unique\" AND origin = 'c'"
        ),
        1
    );
    let err =
        Case::new(v1, v2).rows(&["INSERT INTO u VALUES ('a'), ('a'), ('b')"]).run_failing("t22");
    assert!(err.contains("UNIQUE"), "{err}");
}

#[test]
fn t23_composite_primary_key_added() {
    let v1 =
        schema(vec![table("m", vec![col("a", Integer), col("b", Integer), col("v", Text).null()])]);
    let v2 = schema(vec![
        table("m", vec![col("a", Integer), col("b", Integer), col("v", Text).null()])
            .pk(&["a", "b"]),
    ]);
    let (conn, _) =
        Case::new(v1, v2).rows(&["INSERT INTO m VALUES (1, 1, 'x'), (1, 2, 'y')"]).run("t23");
    assert_eq!(count(&conn, "SELECT pk FROM pragma_table_info('m') WHERE name = 'b'"), 2);
    assert_eq!(count(&conn, "SELECT count(*) FROM pragma_index_list('m') WHERE origin = 'pk'"), 1);
}

fn p_ch(fk: bool) -> Schema {
    let ch = table("ch", vec![col("id", Integer), col("pid", Integer).null()]).pk(&["id"]);
    let ch = if fk { ch.fk(&["pid"], "p", &["id"], None) } else { ch };
    schema(vec![table("p", vec![col("id", Integer)]).pk(&["id"]), ch])
}

#[test]
fn t24_new_foreign_key_on_orphans_fails_and_clean_data_passes() {
    let err = Case::new(p_ch(false), p_ch(true))
        .rows(&["INSERT INTO p VALUES (1)", "INSERT INTO ch VALUES (1, 1), (2, 99)"])
        .run_failing("t24");
    assert!(err.contains("\"ch\", Some(2)"), "{err}");
    let (conn, p) = Case::new(p_ch(false), p_ch(true))
        .rows(&["INSERT INTO p VALUES (1)", "INSERT INTO ch VALUES (1, 1)"])
        .run("t24");
    assert!(has(&p.findings, "L2", "foreign key"));
    assert_eq!(count(&conn, "SELECT count(*) FROM pragma_foreign_key_list('ch')"), 1);
}

#[test]
fn t25_foreign_key_removed() {
    let (conn, p) = Case::new(p_ch(true), p_ch(false))
        .rows(&["INSERT INTO p VALUES (1)", "INSERT INTO ch VALUES (1, 1)"])
        .run("t25");
    assert!(has(&p.findings, "L4", "foreign key"));
    assert_eq!(count(&conn, "SELECT count(*) FROM pragma_foreign_key_list('ch')"), 0);
}

fn family(action: FkAction, name_not_null: bool) -> Schema {
    let name = if name_not_null {
        col("name", Text).default("''").backfill("''")
    } else {
        col("name", Text).null()
    };
    schema(vec![
        table("parent", vec![col("id", Integer), name]).pk(&["id"]),
        table("child", vec![col("id", Integer), col("pid", Integer).null()]).pk(&["id"]).fk(
            &["pid"],
            "parent",
            &["id"],
            Some(action),
        ),
        table("child2", vec![col("id", Integer), col("pid", Integer).null()]).pk(&["id"]).fk(
            &["pid"],
            "parent",
            &["id"],
            None,
        ),
    ])
}

const FAMILY_ROWS: &[&str] = &[
    "INSERT INTO parent VALUES (1, 'a'), (2, NULL)",
    "INSERT INTO child VALUES (1, 1), (2, 2)",
    "INSERT INTO child2 VALUES (1, 1)",
];

#[test]
fn t26_parent_rebuild_keeps_cascade_children_and_their_text() {
    let case = Case::new(family(FkAction::Cascade, false), family(FkAction::Cascade, true))
        .rows(FAMILY_ROWS);
    let before_conn = case.v1_db();
    let child_sql = schema_sql(&before_conn, "child");
    let child2_sql = schema_sql(&before_conn, "child2");
    let (conn, p) = case.run("t26");
    assert_eq!(count(&conn, "SELECT count(*) FROM child"), 2);
    assert_eq!(count(&conn, "SELECT count(*) FROM child2"), 1);
    assert_eq!(schema_sql(&conn, "child"), child_sql, "child CREATE text is byte-identical");
    assert_eq!(schema_sql(&conn, "child2"), child2_sql);
    assert!(has(&p.findings, "L5", "child(pid) ON DELETE CASCADE"), "{:#?}", p.findings);
}

/// Negative control for T26/T27: the same SQL with `PRAGMA foreign_keys=OFF` inside the
/// transaction (a no-op there) loses or NULLs the children.
fn naive_apply(conn: &Connection, stmts: &[String]) -> Result<(), String> {
    conn.execute_batch("PRAGMA foreign_keys = ON; BEGIN IMMEDIATE; PRAGMA foreign_keys = OFF;")
        .unwrap();
    let r = run_statements(conn, stmts);
    match &r {
        Ok(()) => conn.execute_batch("COMMIT").map_err(|e| e.to_string()),
        Err(_) => {
            conn.execute_batch("ROLLBACK").unwrap();
            r
        }
    }
}

#[test]
fn t26_negative_control_pragma_inside_the_transaction_deletes_children() {
    let case =
        Case::new(family(FkAction::Cascade, false), family(FkAction::Cascade, true)).rows(&[
            "INSERT INTO parent VALUES (1, 'a'), (2, NULL)",
            "INSERT INTO child VALUES (1, 1), (2, 2)",
        ]);
    let conn = case.v1_db();
    let p = case.plan(&conn).unwrap();
    naive_apply(&conn, &p.render()).unwrap();
    assert_eq!(
        count(&conn, "SELECT count(*) FROM child"),
        0,
        "the hazard exists: cascade emptied the child"
    );
}

#[test]
fn t27_set_null_children_keep_their_values() {
    let (conn, _) = Case::new(family(FkAction::SetNull, false), family(FkAction::SetNull, true))
        .rows(FAMILY_ROWS)
        .run("t27");
    assert_eq!(count(&conn, "SELECT count(*) FROM child WHERE pid IS NOT NULL"), 2);

    let case =
        Case::new(family(FkAction::SetNull, false), family(FkAction::SetNull, true)).rows(&[
            "INSERT INTO parent VALUES (1, 'a'), (2, NULL)",
            "INSERT INTO child VALUES (1, 1), (2, 2)",
        ]);
    let conn = case.v1_db();
    let p = case.plan(&conn).unwrap();
    naive_apply(&conn, &p.render()).unwrap();
    assert_eq!(
        count(&conn, "SELECT count(*) FROM child WHERE pid IS NULL"),
        2,
        "negative control: SET NULL fired"
    );
}

#[test]
fn t28_self_reference_names_the_final_table() {
    let emp = |not_null: bool| {
        let n = if not_null { col("n", Text).backfill("'?'") } else { col("n", Text).null() };
        table("emp", vec![col("id", Integer), col("mgr", Integer).null(), n]).pk(&["id"]).fk(
            &["mgr"],
            "emp",
            &["id"],
            Some(FkAction::Cascade),
        )
    };
    let (conn, p) = Case::new(schema(vec![emp(false)]), schema(vec![emp(true)]))
        .rows(&["INSERT INTO emp VALUES (1, NULL, 'a'), (2, 1, NULL), (3, 2, 'c')"])
        .run("t28");
    assert!(
        p.render().iter().any(
            |s| s.starts_with("CREATE TABLE \"__new_emp\"") && s.contains("REFERENCES \"emp\"")
        )
    );
    assert_eq!(
        count(&conn, "SELECT count(*) FROM pragma_foreign_key_list('emp') WHERE \"table\" = 'emp'"),
        1
    );
    assert_eq!(count(&conn, "SELECT count(*) FROM emp"), 3);
}

fn auto(with_w: bool) -> Schema {
    let mut cols = vec![col("id", Integer), col("v", Text).null()];
    if with_w {
        cols.push(col("w", Integer).default_sql("0"));
    }
    schema(vec![table("t", cols).pk(&["id"]).autoinc()])
}

#[test]
fn t29_autoincrement_high_water_mark_survives_a_rebuild() {
    let rows: &[&str] = &[
        "INSERT INTO t (v) VALUES ('1'), ('2'), ('3'), ('4'), ('5')",
        "DELETE FROM t WHERE id >= 4",
    ];
    let (conn, p) = Case::new(auto(false), auto(true)).rows(rows).run("t29");
    assert!(has(&p.findings, "L9", "AUTOINCREMENT"));
    assert_eq!(count(&conn, "SELECT seq FROM sqlite_sequence WHERE name = 't'"), 5);
    conn.execute_batch("INSERT INTO t (v) VALUES ('new')").unwrap();
    assert_eq!(count(&conn, "SELECT max(id) FROM t"), 6);

    // Negative control: without the sequence statements the next id is 4.
    let case = Case::new(auto(false), auto(true)).rows(rows);
    let mut conn = case.v1_db();
    let stmts: Vec<String> = case
        .plan(&conn)
        .unwrap()
        .render()
        .into_iter()
        .filter(|s| !s.contains("__godwit_seq"))
        .collect();
    apply(&mut conn, &stmts).unwrap();
    conn.execute_batch("INSERT INTO t (v) VALUES ('new')").unwrap();
    assert_eq!(count(&conn, "SELECT max(id) FROM t"), 4, "the hazard exists: id reuse");
}

#[test]
fn t30_autoincrement_counter_of_an_emptied_table() {
    let rows: &[&str] = &["INSERT INTO t (v) VALUES ('1'), ('2')", "DELETE FROM t"];
    let (conn, _) = Case::new(auto(false), auto(true)).rows(rows).run("t30");
    conn.execute_batch("INSERT INTO t (v) VALUES ('new')").unwrap();
    assert_eq!(count(&conn, "SELECT max(id) FROM t"), 3);
}

#[test]
fn t31_new_check_fails_on_violating_rows() {
    let v1 = schema(vec![table("t", vec![col("a", Integer)])]);
    let v2 = schema(vec![table("t", vec![col("a", Integer)]).check(Some("t_a_pos"), "a > 0")]);
    let err = Case::new(v1.clone(), v2.clone())
        .rows(&["INSERT INTO t VALUES (-1), (2)"])
        .run_failing("t31");
    assert!(err.contains("table \"t\": a row violates the new CHECK (a > 0)"), "{err}");
    let v3 = schema(vec![table("t", vec![col("a", Integer).check("a < 100")])]);
    let err =
        Case::new(v1.clone(), v3).rows(&["INSERT INTO t VALUES (100)"]).run_failing("t31_column");
    assert!(
        err.contains("table \"t\" column \"a\": value 100 violates the new CHECK (a < 100)"),
        "{err}"
    );
    let (_, p) = Case::new(v1, v2).rows(&["INSERT INTO t VALUES (1), (2)"]).run("t31");
    assert!(has(&p.findings, "L2", "CHECK"));
}

#[test]
fn t32_check_changed() {
    let orders = |e: &str| {
        table("orders", vec![col("id", Integer), col("status", Text).check(e)]).pk(&["id"])
    };
    let (conn, _) = Case::new(
        schema(vec![orders("status IN ('new', 'paid')")]),
        schema(vec![orders("status IN ('new', 'paid', 'void')")]),
    )
    .rows(&["INSERT INTO orders VALUES (1, 'new'), (2, 'paid')"])
    .run("t32");
    conn.execute_batch("INSERT INTO orders VALUES (3, 'void')").unwrap();
    assert!(conn.execute_batch("INSERT INTO orders VALUES (4, 'x')").is_err());
}

// ---------------------------------------------------------------- shape, names, dependents

#[test]
fn t33_column_reorder_is_no_migration() {
    let v1 = schema(vec![table("t", vec![col("a", Text), col("b", Text)])]);
    let v2 = schema(vec![table("t", vec![col("b", Text), col("a", Text)])]);
    let conn = fresh(&v1, &[]);
    assert!(plan_for(&conn, &v1, &v2, &[]).unwrap().is_empty());
}

#[test]
fn t34_hostile_identifiers() {
    let names = ["group by", "we\"ird", "back`tick", "sp ace", "ünï", "select"];
    let v1 = schema(vec![table("order", names.iter().map(|n| col(n, Text).null()).collect())]);
    let mut cols: Vec<_> = names.iter().map(|n| col(n, Text).null()).collect();
    cols[1] = col("we\"ird2", Text).null().from("we\"ird");
    cols[5] = col("select", Integer).null();
    cols.push(col("new col", Text).null());
    let v2 = schema(vec![table("order", cols).index("order\"idx", &["group by"])]);
    let (conn, _) = Case::new(v1, v2)
        .rows(&["INSERT INTO \"order\" VALUES ('g', 'w', 'b', 's', 'u', '1'), ('g2', 'w2', 'b2', 's2', 'u2', NULL)"])
        .run("t34");
    let got: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_xinfo(?1)")
        .unwrap()
        .query_map(["order"], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(got, ["group by", "we\"ird2", "back`tick", "sp ace", "ünï", "select", "new col"]);
}

#[test]
fn t35_indexes_survive_a_rebuild() {
    let t = |extra: bool| {
        let mut cols =
            vec![col("a", Integer).null(), col("b", Text).null(), col("email", Text).null()];
        if extra {
            cols.push(col("c", Integer).default_sql("1"));
        }
        table("t", cols)
            .partial_index("ip", &["a"], "b IS NOT NULL")
            .unique_index("iu", &["b"])
            .unique_index("ie", &["email"])
    };
    let (conn, _) = Case::new(schema(vec![t(false)]), schema(vec![t(true)]))
        .rows(&["INSERT INTO t VALUES (1, 'x', 'e')"])
        .run("t35");
    assert_eq!(
        count(
            &conn,
            "SELECT count(*) FROM pragma_index_list('t') WHERE name = 'ip' AND partial = 1"
        ),
        1
    );
    assert!(conn.execute_batch("INSERT INTO t (a, b, email) VALUES (2, 'y', 'e')").is_err());
}

fn parent_for_views(not_null: bool) -> Schema {
    let name = if not_null { col("name", Text).backfill("''") } else { col("name", Text).null() };
    schema(vec![
        table("parent", vec![col("id", Integer), name]).pk(&["id"]),
        table("o", vec![col("id", Integer)]).pk(&["id"]),
    ])
}

const VIEWS: &[&str] =
    &["CREATE VIEW v AS SELECT id, name FROM parent", "CREATE VIEW v2 AS SELECT * FROM v"];

#[test]
fn t36_views_are_dropped_and_recreated_with_their_exact_text() {
    let case = Case::new(parent_for_views(false), parent_for_views(true))
        .rows(&["INSERT INTO parent VALUES (1, 'a')"])
        .deps(VIEWS);
    let (conn, p) = case.run("t36");
    assert_eq!(schema_sql(&conn, "v"), VIEWS[0]);
    assert_eq!(schema_sql(&conn, "v2"), VIEWS[1]);
    assert_eq!(count(&conn, "SELECT count(*) FROM v2"), 1);
    let r = p.render();
    let pos = |needle: &str| r.iter().position(|s| s.starts_with(needle)).unwrap();
    assert!(pos("DROP VIEW \"v2\"") < pos("DROP VIEW \"v\""));
    assert!(pos("DROP VIEW \"v\"") < pos("DROP TABLE \"parent\""));
    assert!(pos("CREATE VIEW v ") < pos("CREATE VIEW v2 "));

    // Negative control: the naive rebuild (no view handling) fails at the RENAME.
    let mut conn = case.v1_db();
    let naive: Vec<String> = r.into_iter().filter(|s| !s.contains("VIEW")).collect();
    let err = apply(&mut conn, &naive).unwrap_err();
    assert!(err.contains("error in view v"), "{err}");
}

#[test]
fn t37_triggers_survive_and_the_naive_rebuild_loses_them() {
    let deps: &[&str] = &[
        "CREATE TRIGGER tp AFTER DELETE ON parent BEGIN DELETE FROM o WHERE id = OLD.id; END",
        "CREATE TRIGGER tr AFTER INSERT ON o BEGIN INSERT INTO parent (id, name) VALUES (NEW.id, 'from o'); END",
    ];
    let case = Case::new(parent_for_views(false), parent_for_views(true))
        .rows(&["INSERT INTO parent VALUES (1, 'a')"])
        .deps(deps);
    let (conn, p) = case.run("t37");
    assert_eq!(schema_sql(&conn, "tp"), deps[0]);
    assert_eq!(schema_sql(&conn, "tr"), deps[1]);
    conn.execute_batch("INSERT INTO o VALUES (7)").unwrap();
    assert_eq!(count(&conn, "SELECT count(*) FROM parent WHERE id = 7"), 1, "tr fires");
    conn.execute_batch("DELETE FROM parent WHERE id = 7").unwrap();
    assert_eq!(count(&conn, "SELECT count(*) FROM o WHERE id = 7"), 0, "tp fires");

    // Negative controls: without trigger handling the RENAME fails on tr, and with only tr
    // present tp would be lost silently.
    let mut conn = case.v1_db();
    let naive: Vec<String> = p.render().into_iter().filter(|s| !s.contains("TRIGGER")).collect();
    let err = apply(&mut conn, &naive).unwrap_err();
    assert!(err.contains("error in trigger tr"), "{err}");
    let only_tp = Case::new(parent_for_views(false), parent_for_views(true)).deps(&deps[..1]);
    let mut conn = only_tp.v1_db();
    let p = only_tp.plan(&conn).unwrap();
    let naive: Vec<String> = p.render().into_iter().filter(|s| !s.contains("TRIGGER")).collect();
    apply(&mut conn, &naive).unwrap();
    assert_eq!(
        count(&conn, "SELECT count(*) FROM sqlite_schema WHERE name = 'tp'"),
        0,
        "the hazard exists: tp lost"
    );
}

#[test]
fn t38_strict_and_without_rowid_survive_a_rebuild() {
    let s = |extra: bool| {
        let mut cols = vec![col("a", Integer).null(), col("b", Text).null()];
        let mut wcols = vec![col("k", Text), col("v", Integer).null()];
        if extra {
            cols.push(col("c", Integer).unique().null());
            wcols.push(col("c", Integer).unique().null());
        }
        schema(vec![
            table("s", cols).strict(),
            table("w", wcols).pk(&["k"]).without_rowid().strict(),
        ])
    };
    let (conn, _) = Case::new(s(false), s(true))
        .rows(&["INSERT INTO s VALUES (1, 'x')", "INSERT INTO w VALUES ('k', 1)"])
        .run("t38");
    assert_eq!(count(&conn, "SELECT strict FROM pragma_table_list WHERE name = 's'"), 1);
    assert_eq!(count(&conn, "SELECT wr + strict FROM pragma_table_list WHERE name = 'w'"), 2);
}

#[test]
fn t40_rowids_survive_a_rebuild() {
    let notes = |extra: bool| {
        let mut cols = vec![col("body", Text).null()];
        if extra {
            cols.push(col("tag", Text).null().unique());
        }
        schema(vec![table("notes", cols)])
    };
    let (conn, p) = Case::new(notes(false), notes(true))
        .rows(&[
            "INSERT INTO notes (rowid, body) VALUES (1, 'a'), (2, 'b'), (3, 'c')",
            "DELETE FROM notes WHERE rowid = 1",
        ])
        .run("t40");
    assert!(p.render().iter().any(|s| s.contains("(rowid, \"body\") SELECT rowid, \"body\"")));
    let ids: Vec<i64> = conn
        .prepare("SELECT rowid FROM notes ORDER BY rowid")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(ids, [2, 3]);
}

#[test]
fn t41_second_rebuild_fails_and_the_first_is_rolled_back() {
    let s = |unique: bool| {
        let b = if unique { col("x", Text).null().unique() } else { col("x", Text).null() };
        schema(vec![
            table(
                "a",
                vec![
                    col("id", Integer),
                    col("x", Text).null().default(if unique { "'n'" } else { "'o'" }),
                ],
            )
            .pk(&["id"]),
            table("b", vec![col("id", Integer), b]).pk(&["id"]),
        ])
    };
    let err = Case::new(s(false), s(true))
        .rows(&["INSERT INTO a VALUES (1, 'x')", "INSERT INTO b VALUES (1, 'd'), (2, 'd')"])
        .run_failing("t41");
    assert!(err.contains("table \"b\" column \"x\": value 'd' appears more than once"), "{err}");
}

#[test]
fn readable_errors_for_duplicate_keys_and_null_backfills() {
    let v1 =
        schema(vec![table("m", vec![col("a", Integer), col("b", Integer), col("v", Text).null()])]);
    let v2 = schema(vec![
        table("m", vec![col("a", Integer), col("b", Integer), col("v", Text).null()])
            .pk(&["a", "b"]),
    ]);
    let err = Case::new(v1, v2)
        .rows(&["INSERT INTO m VALUES (1, 2, 'x'), (1, 2, 'y')"])
        .run_failing("t23");
    assert!(err.contains("table \"m\" column \"a\", \"b\": value 1, 2 appears more than once, so the new PRIMARY KEY"), "{err}");

    let v1 = schema(vec![table("t", vec![col("id", Integer), col("a", Text).null()]).pk(&["id"])]);
    let v2 = schema(vec![
        table("t", vec![col("id", Integer), col("a", Text).backfill("NULLIF(1, 1)")]).pk(&["id"]),
    ]);
    let err =
        Case::new(v1, v2).rows(&["INSERT INTO t VALUES (1, NULL)"]).run_failing("backfill_null");
    assert!(err.contains("cannot fill table \"t\" column \"a\": the backfill gives NULL"), "{err}");
}

#[test]
fn t48_parent_key_unique_only_through_an_index() {
    let s = |extra: bool| {
        let mut cols = vec![col("id", Integer), col("code", Text).null()];
        if extra {
            cols.push(col("n", Text).default_sql("'x'"));
        }
        schema(vec![
            table("p", cols).pk(&["id"]).unique_index("pc", &["code"]),
            table("ch", vec![col("id", Integer), col("c", Text).null()]).pk(&["id"]).fk(
                &["c"],
                "p",
                &["code"],
                None,
            ),
        ])
    };
    let (conn, p) = Case::new(s(false), s(true))
        .rows(&["INSERT INTO p VALUES (1, 'a')", "INSERT INTO ch VALUES (1, 'a')"])
        .run("t48");
    assert!(has(&p.findings, "L15", "unique only through an index"));
    assert!(fk_violations(&conn).unwrap().is_empty());
}

#[test]
fn renamed_column_with_type_change_and_rowid_table_copy() {
    let v1 = schema(vec![table("t", vec![col("a", Text).null(), col("b", Integer).null()])]);
    let v2 =
        schema(vec![table("t", vec![col("aa", Integer).null().from("a"), col("b", Real).null()])]);
    let (conn, p) = Case::new(v1, v2)
        .rows(&["INSERT INTO t VALUES ('1', 2), (NULL, NULL)"])
        .run("rename_and_retype");
    assert_eq!(p.name(), "t_rename_a_to_aa_and_aa_to_integer_and_b_to_real");
    assert_eq!(count(&conn, "SELECT aa FROM t WHERE rowid = 1"), 1);
    let v: Value = conn.query_row("SELECT b FROM t WHERE rowid = 1", [], |r| r.get(0)).unwrap();
    assert_eq!(v, Value::Real(2.0));
}

#[test]
fn create_tables_parents_first_with_indexes() {
    let mut conn = fresh(&Schema::default(), &[]);
    let v2 = schema(vec![
        table("a_child", vec![col("id", Integer), col("pid", Integer)])
            .pk(&["id"])
            .fk(&["pid"], "z_parent", &["id"], None)
            .index("a_child_pid", &["pid"]),
        table("z_parent", vec![col("id", Integer)]).pk(&["id"]),
    ]);
    let p = plan_for(&conn, &Schema::default(), &v2, &[]).unwrap();
    insta::assert_snapshot!("create_two", file_text(&p));
    assert!(p.render()[0].starts_with("CREATE TABLE \"z_parent\""));
    assert_eq!(p.name(), "create_z_parent_a_child");
    apply(&mut conn, &p.render()).unwrap();
    assert_same_shape(&conn, &fresh(&v2, &[]));
}

#[test]
fn table_drop_that_looks_like_a_rename_is_refused() {
    let v1 = schema(vec![users_v1()]);
    let v2 =
        schema(vec![table("accounts", vec![col("id", Integer), col("name", Text)]).pk(&["id"])]);
    let f = Case::new(v1.clone(), v2.clone()).plan_errors();
    assert!(has(&f, "L13", "renamed_from = \"users\""), "{f:#?}");
    assert!(has(&f, "L13", "MIGRATION_ALLOW_DROP=users"));
    // Acknowledged: drop + create, with the header comment.
    let (_, p) = Case::new(v1, v2).rows(USERS_ROWS).allow(&["users"]).run("drop_and_create");
    assert_eq!(p.header_comments(), ["-- godwit: allow-drop users"]);
}

#[test]
fn lint_reserved_and_colliding_names() {
    let v2 = schema(vec![
        table("sqlite_x", vec![col("a", Text)]),
        table("T", vec![col("a", Text), col("A", Text)]),
        table("t", vec![col("a", Text)]),
    ]);
    let f = Case::new(Schema::default(), v2).plan_errors();
    assert!(has(&f, "L12", "sqlite_x"));
    assert!(has(&f, "L12", "differ only in case"));
}

#[test]
fn case_only_column_rename() {
    let v1 = schema(vec![table("t", vec![col("id", Integer), col("name", Text)]).pk(&["id"])]);
    let v2 = schema(vec![
        table("t", vec![col("id", Integer), col("Name", Text).from("name")]).pk(&["id"]),
    ]);
    let (conn, p) =
        Case::new(v1, v2).rows(&["INSERT INTO t VALUES (1, 'a')"]).run("case_only_column_rename");
    assert_eq!(p.name(), "rename_t_name_to_name");
    assert_eq!(count(&conn, "SELECT count(*) FROM pragma_table_info('t') WHERE name = 'Name'"), 1);
}

#[test]
fn table_rename_then_rebuild_and_a_new_table_under_the_old_name() {
    let v1 = schema(vec![
        table("a", vec![col("id", Integer), col("x", Text).null()]).pk(&["id"]).autoinc(),
    ]);
    let v2 = schema(vec![
        table("b", vec![col("id", Integer), col("x", Text).backfill("'-'")])
            .pk(&["id"])
            .autoinc()
            .from("a"),
        table("a", vec![col("id", Integer)]).pk(&["id"]),
    ]);
    let (conn, p) = Case::new(v1, v2)
        .rows(&["INSERT INTO a VALUES (3, NULL)", "DELETE FROM a", "INSERT INTO a VALUES (2, 'y')"])
        .run("rename_rebuild_recreate");
    assert_eq!(count(&conn, "SELECT seq FROM sqlite_sequence WHERE name = 'b'"), 3);
    assert_eq!(count(&conn, "SELECT count(*) FROM a"), 0);
    assert_eq!(p.name(), "a_make_x_not_null_and_rename_a_to_b_and_create_a");
}

#[test]
fn rename_and_rebuild_of_a_table_with_a_dependent_view() {
    let v1 = schema(vec![
        table("a", vec![col("id", Integer), col("x", Text).null()]).pk(&["id"]).autoinc(),
    ]);
    let v2 = schema(vec![
        table("b", vec![col("id", Integer), col("x", Text).backfill("''")])
            .pk(&["id"])
            .autoinc()
            .from("a"),
        table("c", vec![col("id", Integer), col("a_id", Integer).null()]).pk(&["id"]).fk(
            &["a_id"],
            "b",
            &["id"],
            None,
        ),
    ]);
    let (conn, p) = Case::new(v1, v2)
        .rows(&["INSERT INTO a VALUES (1, NULL), (9, 'z')", "DELETE FROM a WHERE id = 9"])
        .deps(&[
            "CREATE VIEW va AS SELECT x FROM a",
            "CREATE TRIGGER ta AFTER DELETE ON a BEGIN SELECT 1; END",
        ])
        .deps_v2(&[
            "CREATE VIEW va AS SELECT x FROM b",
            "CREATE TRIGGER ta AFTER DELETE ON b BEGIN SELECT 1; END",
        ])
        .run("rename_rebuild_view");
    let r = p.render();
    let rebuild = r.iter().position(|s| s.starts_with("CREATE TABLE \"__new_a\"")).unwrap();
    let rename = r.iter().position(|s| s == "ALTER TABLE \"a\" RENAME TO \"b\";").unwrap();
    assert!(rebuild < rename, "the rebuild runs under the old name, the rename rewrites the view");
    assert!(schema_sql(&conn, "va").contains("\"b\""));
    assert_eq!(count(&conn, "SELECT seq FROM sqlite_sequence WHERE name = 'b'"), 9);
}

#[test]
fn rebuild_with_a_view_and_trigger_on_a_column_renamed_in_the_same_migration() {
    // The rebuild recreates them with the new column name (they use only this table).
    let v1 =
        schema(vec![table("t", vec![col("id", Integer), col("code", Text).null()]).pk(&["id"])]);
    let v2 = schema(vec![
        table("t", vec![col("id", Integer), col("sku", Text).backfill("''").from("code")])
            .pk(&["id"]),
    ]);
    let (conn, p) = Case::new(v1.clone(), v2.clone())
        .rows(&["INSERT INTO t VALUES (1, 'a'), (2, NULL)"])
        .deps(&[
            "CREATE VIEW vc AS SELECT code, t.code AS c2 FROM t WHERE \"code\" <> 'x'",
            "CREATE TRIGGER tc AFTER UPDATE OF code ON t BEGIN SELECT NEW.code; END",
        ])
        .deps_v2(&[
            "CREATE VIEW vc AS SELECT \"sku\", t.\"sku\" AS c2 FROM t WHERE \"sku\" <> 'x'",
            "CREATE TRIGGER tc AFTER UPDATE OF \"sku\" ON t BEGIN SELECT NEW.\"sku\"; END",
        ])
        .own_row_check()
        .run("rebuild_rename_view_rewritten");
    assert!(
        p.render().iter().any(|s| s
            == "CREATE VIEW vc AS SELECT \"sku\", t.\"sku\" AS c2 FROM t WHERE \"sku\" <> 'x';"),
        "{:#?}",
        p.render()
    );
    assert_eq!(
        rows_of(&conn, "SELECT * FROM vc ORDER BY 1"),
        [vec![txt(""), txt("")], vec![txt("a"), txt("a")]]
    );

    // A view over two tables that both have the old name: a text rewrite could pick the wrong
    // one, so the planner asks to split the change.
    let u = table("u", vec![col("id", Integer), col("code", Text).null()]).pk(&["id"]);
    let mut v1 = v1;
    v1.insert(u.clone());
    let mut v2 = v2;
    v2.insert(u);
    let f = Case::new(v1, v2)
        .deps(&["CREATE VIEW vc AS SELECT t.code, u.code AS uc FROM t JOIN u USING (id)"])
        .plan_errors();
    assert!(has(&f, "L10", "also renames column t.code to sku: split the change"), "{f:#?}");
}

#[test]
fn double_quoted_string_literals_are_refused() {
    let v2 = schema(vec![table(
        "t",
        vec![col("a", Text).default_sql("\"hello\""), col("b", Text).check("\"b\" <> \"x\"")],
    )]);
    let f = Case::new(Schema::default(), v2).plan_errors();
    assert!(has(&f, "L12", "column a default uses \"hello\""), "{f:#?}");
    assert!(has(&f, "L12", "column b check uses \"x\""), "{f:#?}");
    assert!(!has(&f, "L12", "uses \"b\""), "a quoted column name is fine: {f:#?}");
}

#[test]
fn rebuild_with_a_view_that_also_names_a_renamed_table() {
    let v1 = schema(vec![
        table("a", vec![col("id", Integer)]).pk(&["id"]),
        table("b", vec![col("id", Integer), col("x", Text).null()]).pk(&["id"]),
    ]);
    let v2 = schema(vec![
        table("a2", vec![col("id", Integer)]).pk(&["id"]).from("a"),
        table("b", vec![col("id", Integer), col("x", Text).backfill("''")]).pk(&["id"]),
    ]);
    let (conn, _) = Case::new(v1, v2)
        .rows(&["INSERT INTO a VALUES (1)", "INSERT INTO b VALUES (1, NULL)"])
        .deps(&["CREATE VIEW ab AS SELECT a.id, b.x FROM a JOIN b USING (id)"])
        .deps_v2(&["CREATE VIEW ab AS SELECT a2.id, b.x FROM a2 JOIN b USING (id)"])
        .run("rebuild_view_renamed_table");
    assert_eq!(count(&conn, "SELECT count(*) FROM ab WHERE x = ''"), 1);
}

#[test]
fn replacing_every_column_keeps_every_row() {
    let v1 = schema(vec![table("t", vec![col("a", Text)]).without_rowid().pk(&["a"])]);
    let v2 = schema(vec![table("t", vec![col("b", Integer).null().default("7")])]);
    let (conn, _) = Case::new(v1, v2)
        .rows(&["INSERT INTO t VALUES ('x'), ('y')"])
        .allow(&["t.a"])
        .run("replace_every_column");
    assert_eq!(count(&conn, "SELECT count(*) FROM t WHERE b = 7"), 2);
}

#[test]
fn t32b_every_model_feature_survives_a_rebuild() {
    let t = |default: &str| {
        table(
            "f",
            vec![
                col("id", Integer),
                col("email", Text).unique(),
                col("karma", Integer).default("0").check("karma >= 0"),
                col("parent", Integer).null(),
                col("note", Text).null().default(default),
                col("price", Real).null(),
                col("raw", schema_core::model::SqlType::Blob).null(),
            ],
        )
        .pk(&["id"])
        .autoinc()
        .fk(&["parent"], "f", &["id"], Some(FkAction::SetNull))
        .check(Some("named_check"), "length(email) > 0")
        .check(None, "price IS NULL OR price >= 0")
        .partial_index("f_note", &["note"], "note IS NOT NULL")
        .unique_index("f_price", &["price", "raw"])
        .strict()
    };
    let with_any = |default: &str| {
        let mut s = schema(vec![t(default)]);
        let f = s.tables.get_mut("f").unwrap();
        f.columns.push(col("anything", schema_core::model::SqlType::Any).null());
        s
    };
    let (conn, _) = Case::new(with_any("'a'"), with_any("'b'"))
        .rows(&[
            "INSERT INTO f (id, email, karma, parent, note, price, raw, anything) \
             VALUES (1, 'a@x', 3, NULL, 'n', 1.5, x'00ff', 'any'), (2, 'b@x', 0, 1, NULL, NULL, NULL, 7)",
        ])
        .run("t32b");
    let shape = schema_core::introspect::describe(&conn).unwrap();
    let f = &shape.tables["f"];
    assert!(f.strict && f.autoincrement);
    assert_eq!(f.checks.len(), 3);
    assert_eq!(f.foreign_keys.len(), 1);
    assert_eq!(f.indexes.len(), 2);
    assert_eq!(f.constraint_indexes.len(), 1);
}

#[test]
fn strict_type_rules_are_linted() {
    let bad = schema(vec![
        table("s", vec![col("n", schema_core::model::SqlType::Numeric)]).strict(),
        table("l", vec![col("a", schema_core::model::SqlType::Any)]),
    ]);
    let f = Case::new(Schema::default(), bad).plan_errors();
    assert!(has(&f, "L12", "column n is NUMERIC"), "{f:#?}");
    assert!(has(&f, "L12", "column a is ANY"), "{f:#?}");
}

#[test]
fn temporary_name_never_collides() {
    let s = |extra: bool| {
        let mut cols = vec![col("a", Text).null()];
        if extra {
            cols.push(col("b", Text).null().unique());
        }
        schema(vec![table("t", cols), table("__NEW_T", vec![col("x", Text).null()])])
    };
    let (conn, p) = Case::new(s(false), s(true))
        .rows(&["INSERT INTO t VALUES ('1')", "INSERT INTO \"__NEW_T\" VALUES ('keep')"])
        .run("temp_name_collision");
    assert!(
        p.render().iter().any(|s| s.starts_with("CREATE TABLE \"__new_t_2\"")),
        "{:#?}",
        p.render()
    );
    assert_eq!(count(&conn, "SELECT count(*) FROM \"__NEW_T\""), 1);
}

#[test]
fn backfill_may_use_old_columns_and_subqueries() {
    let v1 = schema(vec![
        table("teams", vec![col("id", Integer), col("name", Text)]).pk(&["id"]),
        table(
            "users",
            vec![col("id", Integer), col("nick", Text).null(), col("old_team", Text).null()],
        )
        .pk(&["id"]),
    ]);
    let v2 = schema(vec![
        table("teams", vec![col("id", Integer), col("name", Text)]).pk(&["id"]),
        table(
            "users",
            vec![
                col("id", Integer),
                col("nick", Text).backfill("'user' || \"id\""),
                col("team", Integer)
                    .backfill("(SELECT \"id\" FROM \"teams\" WHERE \"name\" = \"old_team\")"),
            ],
        )
        .pk(&["id"]),
    ]);
    let (conn, _) = Case::new(v1, v2)
        .rows(&[
            "INSERT INTO teams VALUES (1, 'red'), (2, 'blue')",
            "INSERT INTO users VALUES (1, NULL, 'blue'), (2, 'bo', 'red')",
        ])
        .allow(&["users.old_team"])
        .run("backfill_subquery");
    assert_eq!(count(&conn, "SELECT team FROM users WHERE id = 1"), 2);
    assert_eq!(count(&conn, "SELECT count(*) FROM users WHERE nick = 'user1'"), 1);
}

#[test]
fn becoming_strict_converts_exactly_or_fails_readably() {
    let t = |strict: bool| {
        let t = table(
            "t",
            vec![
                col("id", Integer),
                col("v", Integer).null(),
                col("b", schema_core::model::SqlType::Blob).null(),
            ],
        )
        .pk(&["id"]);
        schema(vec![if strict { t.strict() } else { t }])
    };
    let (conn, p) = Case::new(t(false), t(true))
        .rows(&["INSERT INTO t VALUES (1, '12', 'raw'), (2, 3, NULL)"])
        .run("becoming_strict");
    assert!(p.render().iter().any(|s| s.contains("CAST(\"v\" AS INTEGER)")));
    assert_eq!(count(&conn, "SELECT count(*) FROM t WHERE typeof(v) = 'integer'"), 2);
    assert_eq!(count(&conn, "SELECT count(*) FROM t WHERE typeof(b) = 'blob'"), 1);
    let err = Case::new(t(false), t(true))
        .rows(&["INSERT INTO t VALUES (1, 'abc', NULL)"])
        .run_failing("becoming_strict");
    assert!(err.contains("cannot convert table \"t\" column \"v\" to INTEGER: value 'abc' does not convert exactly"), "{err}");
}

// ---------------------------------------------------------------- renames as a permutation (issue 12)

fn abc(cols: Vec<schema_core::model::Column>) -> Schema {
    let mut all = vec![col("id", Integer)];
    all.extend(cols);
    schema(vec![table("t", all).pk(&["id"])])
}

const ABC_ROWS: &[&str] = &["INSERT INTO t VALUES (1, 'a1', 'b1'), (2, 'a2', NULL)"];

#[test]
fn rename_onto_the_name_of_a_dropped_column_keeps_the_renamed_values() {
    // Issue 12 problem 1: `b renamed_from "a"` while the old table also had `b`.
    let v1 = abc(vec![col("a", Text).null(), col("b", Text).null()]);
    let v2 = abc(vec![col("b", Text).null().from("a")]);
    let f = Case::new(v1.clone(), v2.clone()).plan_errors();
    assert!(
        has(
            &f,
            "L1",
            "column a is renamed to b (renamed_from) while the old table also has a column b"
        ) && has(&f, "L1", "set MIGRATION_ALLOW_DROP=t.b to confirm"),
        "{f:#?}"
    );
    let (conn, p) =
        Case::new(v1, v2).rows(ABC_ROWS).allow(&["t.b"]).own_row_check().run("rename_onto_dropped");
    assert_eq!(
        p.render(),
        ["ALTER TABLE \"t\" DROP COLUMN \"b\";", "ALTER TABLE \"t\" RENAME COLUMN \"a\" TO \"b\";"]
    );
    assert_eq!(
        rows_of(&conn, "SELECT id, b FROM t ORDER BY id"),
        [vec![int(1), txt("a1")], vec![int(2), txt("a2")]]
    );
}

#[test]
fn shifted_column_renames_run_in_an_order_that_never_collides() {
    // Issue 12 problem 1: `b` from `a`, `c` from `b` (was refused with L13).
    let v1 = abc(vec![col("a", Text).null(), col("b", Text).null()]);
    let v2 = abc(vec![col("b", Text).null().from("a"), col("c", Text).null().from("b")]);
    let (conn, p) = Case::new(v1, v2).rows(ABC_ROWS).own_row_check().run("shift_columns");
    assert_eq!(
        p.render(),
        [
            "ALTER TABLE \"t\" RENAME COLUMN \"b\" TO \"c\";",
            "ALTER TABLE \"t\" RENAME COLUMN \"a\" TO \"b\";"
        ]
    );
    assert_eq!(
        rows_of(&conn, "SELECT id, b, c FROM t ORDER BY id"),
        [vec![int(1), txt("a1"), txt("b1")], vec![int(2), txt("a2"), Value::Null]]
    );
}

#[test]
fn swapped_columns_go_through_a_temporary_name() {
    // Issue 12 problem 2: a declared swap wrote no migration at all.
    let v1 = abc(vec![col("a", Text).null(), col("b", Text).null()]);
    let v2 = abc(vec![col("a", Text).null().from("b"), col("b", Text).null().from("a")]);
    let (conn, p) = Case::new(v1, v2)
        .rows(ABC_ROWS)
        .deps(&["CREATE VIEW va AS SELECT a FROM t"])
        .deps_v2(&["CREATE VIEW va AS SELECT b FROM t"])
        .own_row_check()
        .run("swap_columns");
    assert_eq!(p.render().len(), 3, "{:#?}", p.render());
    assert_eq!(
        rows_of(&conn, "SELECT id, a, b FROM t ORDER BY id"),
        [vec![int(1), txt("b1"), txt("a1")], vec![int(2), Value::Null, txt("a2")]]
    );
    // The view followed its column (SQLite rewrote it): it still shows the old a values.
    assert_eq!(rows_of(&conn, "SELECT * FROM va ORDER BY 1"), [vec![txt("a1")], vec![txt("a2")]]);
}

#[test]
fn swapped_columns_in_a_rebuild_map_old_to_new_in_the_copy() {
    let v1 = abc(vec![col("a", Text).null(), col("b", Text).null()]);
    let v2 =
        abc(vec![col("a", Text).null().from("b"), col("b", Text).backfill("'none'").from("a")]);
    let (conn, p) = Case::new(v1, v2).rows(ABC_ROWS).own_row_check().run("swap_columns_rebuild");
    assert!(
        p.render().iter().any(|s| s.contains("SELECT \"id\", \"b\", coalesce(\"a\", ('none'))")),
        "{:#?}",
        p.render()
    );
    assert_eq!(
        rows_of(&conn, "SELECT id, a, b FROM t ORDER BY id"),
        [vec![int(1), txt("b1"), txt("a1")], vec![int(2), Value::Null, txt("a2")]]
    );
}

#[test]
fn case_only_column_rename_inside_a_shift() {
    let v1 = abc(vec![col("a", Text).null(), col("b", Text).null()]);
    let v2 = abc(vec![col("A", Text).null().from("a"), col("c", Text).null().from("b")]);
    let (conn, _) = Case::new(v1, v2).rows(ABC_ROWS).own_row_check().run("case_only_in_shift");
    assert_eq!(
        rows_of(&conn, "SELECT id, \"A\", c FROM t ORDER BY id"),
        [vec![int(1), txt("a1"), txt("b1")], vec![int(2), txt("a2"), Value::Null]]
    );
    assert_eq!(count(&conn, "SELECT count(*) FROM pragma_table_info('t') WHERE name = 'A'"), 1);
}

fn two_tables(first: (&str, Option<&str>), second: (&str, Option<&str>)) -> Schema {
    let t = |(name, from): (&str, Option<&str>), col_name: &str| {
        let t = table(name, vec![col("id", Integer), col(col_name, Text)]).pk(&["id"]);
        match from {
            Some(f) => t.from(f),
            None => t,
        }
    };
    schema(vec![t(first, "x"), t(second, "y")])
}

#[test]
fn swapped_tables_keep_every_value() {
    // Issue 12 problems 2 and 9: a declared swap of two tables was ignored, or rebuilt both
    // with every value NULL.
    let v1 = two_tables(("t1", None), ("t2", None));
    // The table holding column x is now called t2, the one holding y t1.
    let v2 = two_tables(("t2", Some("t1")), ("t1", Some("t2")));
    let (conn, p) = Case::new(v1, v2)
        .rows(&["INSERT INTO t1 VALUES (1, 'x1')", "INSERT INTO t2 VALUES (1, 'y1'), (2, 'y2')"])
        .own_row_check()
        .run("swap_tables");
    assert_eq!(p.render().len(), 3, "{:#?}", p.render());
    assert_eq!(rows_of(&conn, "SELECT id, x FROM t2"), [vec![int(1), txt("x1")]]);
    assert_eq!(
        rows_of(&conn, "SELECT id, y FROM t1 ORDER BY id"),
        [vec![int(1), txt("y1")], vec![int(2), txt("y2")]]
    );
}

#[test]
fn shifted_tables_and_a_rename_onto_a_dropped_table() {
    // b is dropped (acknowledged), a takes its name, c is renamed to d.
    let v1 = schema(vec![
        table("a", vec![col("id", Integer), col("x", Text)]).pk(&["id"]),
        table("b", vec![col("id", Integer), col("gone", Integer)]).pk(&["id"]),
        table("c", vec![col("id", Integer), col("z", Text)]).pk(&["id"]),
    ]);
    let v2 = schema(vec![
        table("b", vec![col("id", Integer), col("x", Text)]).pk(&["id"]).from("a"),
        table("d", vec![col("id", Integer), col("z", Text)]).pk(&["id"]).from("c"),
    ]);
    let f = Case::new(v1.clone(), v2.clone()).plan_errors();
    assert!(
        has(
            &f,
            "L1",
            "table a is renamed to b (renamed_from) while the old schema also has a table b"
        ) && has(&f, "L1", "MIGRATION_ALLOW_DROP=b to confirm"),
        "{f:#?}"
    );
    let (conn, p) = Case::new(v1, v2)
        .rows(&[
            "INSERT INTO a VALUES (1, 'x1')",
            "INSERT INTO b VALUES (1, 7)",
            "INSERT INTO c VALUES (3, 'z3')",
        ])
        .allow(&["b"])
        .own_row_check()
        .run("shift_tables");
    assert_eq!(p.render()[0], "DROP TABLE \"b\";");
    assert_eq!(rows_of(&conn, "SELECT id, x FROM b"), [vec![int(1), txt("x1")]]);
    assert_eq!(rows_of(&conn, "SELECT id, z FROM d"), [vec![int(3), txt("z3")]]);
}

fn parent_child(pk: &str, renamed: bool, name_not_null: bool) -> Schema {
    let pk_col = if renamed { col(pk, Integer).from("id") } else { col(pk, Integer) };
    let name =
        if name_not_null { col("name", Text).backfill("''") } else { col("name", Text).null() };
    schema(vec![
        table("p", vec![pk_col, name]).pk(&[pk]),
        table("c", vec![col("id", Integer), col("p_id", Integer)]).pk(&["id"]).fk(
            &["p_id"],
            "p",
            &[pk],
            Some(FkAction::Cascade),
        ),
    ])
}

#[test]
fn renaming_a_referenced_primary_key_while_its_table_is_rebuilt() {
    // Issue 12 problem 5: the rebuild copied `id AS pk` while the child still pointed at p(id).
    let (conn, p) = Case::new(parent_child("id", false, false), parent_child("pk", true, true))
        .rows(&[
            "INSERT INTO p VALUES (1, 'one'), (2, NULL)",
            "INSERT INTO c VALUES (10, 1), (20, 2), (30, 2)",
        ])
        .own_row_check()
        .run("rename_referenced_pk_rebuild");
    let r = p.render();
    let rename = r.iter().position(|s| s == "ALTER TABLE \"p\" RENAME COLUMN \"id\" TO \"pk\";");
    let rebuild = r.iter().position(|s| s.starts_with("CREATE TABLE \"__new_p\""));
    assert!(rename.is_some() && rename < rebuild, "{r:#?}");
    assert!(schema_sql(&conn, "c").contains("REFERENCES \"p\" (\"pk\")"));
    assert_eq!(
        rows_of(&conn, "SELECT pk, name FROM p ORDER BY pk"),
        [vec![int(1), txt("one")], vec![int(2), txt("")]]
    );
    assert_eq!(
        rows_of(&conn, "SELECT id, p_id FROM c ORDER BY id"),
        [vec![int(10), int(1)], vec![int(20), int(2)], vec![int(30), int(2)]]
    );
    conn.execute_batch("DELETE FROM p WHERE pk = 2").unwrap();
    assert_eq!(count(&conn, "SELECT count(*) FROM c"), 1, "the cascade follows the renamed key");
}

fn composite(a: &str, renamed: bool, strict: bool) -> Schema {
    let a_col = if renamed { col(a, Integer).from("a") } else { col(a, Integer) };
    let p = table("p", vec![a_col, col("b", Integer), col("v", Text).null()]).pk(&[a, "b"]);
    schema(vec![
        if strict { p.strict() } else { p },
        table("c", vec![col("id", Integer), col("x", Integer), col("y", Integer)]).pk(&["id"]).fk(
            &["x", "y"],
            "p",
            &[a, "b"],
            None,
        ),
    ])
}

#[test]
fn renaming_a_referenced_composite_key_while_its_table_is_rebuilt() {
    let (conn, _) = Case::new(composite("a", false, false), composite("a2", true, true))
        .rows(&[
            "INSERT INTO p VALUES (1, 2, 'v'), (3, 4, NULL)",
            "INSERT INTO c VALUES (1, 1, 2), (2, 3, 4)",
        ])
        .own_row_check()
        .run("rename_referenced_composite_rebuild");
    assert!(schema_sql(&conn, "c").contains("REFERENCES \"p\" (\"a2\", \"b\")"));
    assert_eq!(
        rows_of(&conn, "SELECT a2, b, v FROM p ORDER BY a2"),
        [vec![int(1), int(2), txt("v")], vec![int(3), int(4), Value::Null]]
    );
    assert_eq!(
        rows_of(&conn, "SELECT id, x, y FROM c ORDER BY id"),
        [vec![int(1), int(1), int(2)], vec![int(2), int(3), int(4)]]
    );
}

#[test]
fn a_stale_check_or_where_after_a_column_rename_names_the_attribute() {
    // Issue 12 problem 5: reported as an internal bug before.
    let v1 = schema(vec![
        table("t", vec![col("id", Integer), col("amount", Integer).check("amount > 0")])
            .pk(&["id"])
            .partial_index("t_amount", &["amount"], "amount > 10"),
    ]);
    let v2 = schema(vec![
        table(
            "t",
            vec![col("id", Integer), col("qty", Integer).from("amount").check("amount > 0")],
        )
        .pk(&["id"])
        .partial_index("t_amount", &["qty"], "\"amount\" > 10"),
    ]);
    let f = Case::new(v1, v2).plan_errors();
    assert!(
        has(
            &f,
            "L12",
            "#[column(check = ..)] of column qty uses column amount, which this migration renames to qty"
        ),
        "{f:#?}"
    );
    assert!(has(&f, "L12", "the `where` of #[index] t_amount uses column amount"), "{f:#?}");
}

// ---------------------------------------------------------------- every column drop needs the word (issue 12)

fn users_tz(with_tz: bool) -> Schema {
    let mut cols = vec![col("id", Integer), col("name", Text)];
    if with_tz {
        cols.push(col("timezone", Text).null());
    }
    schema(vec![table("users", cols).pk(&["id"])])
}

#[test]
fn removing_a_field_needs_migration_allow_drop_and_says_the_data_is_lost() {
    // Issue 12 problem 6: a removed field dropped its column with only a warning, so commenting
    // it out for one build and restoring it lost every value.
    let rows: &[&str] = &["INSERT INTO users VALUES (1, 'ann', 'Europe/Paris'), (2, 'bob', NULL)"];
    let f = Case::new(users_tz(true), users_tz(false)).rows(rows).plan_errors();
    assert!(
        has(&f, "L1", "column timezone is dropped, which deletes its data in every database")
            && has(&f, "L1", "set MIGRATION_ALLOW_DROP=users.timezone to confirm"),
        "{f:#?}"
    );
    let (conn, p) = Case::new(users_tz(true), users_tz(false))
        .rows(rows)
        .allow(&["users.timezone"])
        .run("drop_column_acknowledged");
    assert_eq!(p.header_comments(), ["-- godwit: allow-drop users.timezone"]);
    assert!(file_text(&p).starts_with("-- godwit: allow-drop users.timezone\nALTER TABLE"));
    assert_eq!(
        rows_of(&conn, "SELECT id, name FROM users ORDER BY id"),
        [vec![int(1), txt("ann")], vec![int(2), txt("bob")]]
    );
    // Another case acknowledges it too (SQLite names are case-insensitive).
    let case = Case::new(users_tz(true), users_tz(false)).allow(&["USERS.TimeZone"]);
    assert!(case.plan(&fresh(&users_tz(true), &[])).is_ok());
}

fn spaced(with_col: bool) -> Schema {
    let mut cols = vec![col("id", Integer), col("keep", Text)];
    if with_col {
        cols.push(col("a,b", Text).null());
    }
    let mut tables = vec![table("my table", cols).pk(&["id"])];
    if with_col {
        tables.push(table("x,\"y\"", vec![col("id", Integer)]).pk(&["id"]));
    }
    schema(tables)
}

#[test]
fn migration_allow_drop_quotes_names_with_spaces_commas_and_quotes() {
    // Issue 12 problem 9: MIGRATION_ALLOW_DROP could not name a table with a space or a comma.
    let f = Case::new(spaced(true), spaced(false)).plan_errors();
    assert!(
        has(
            &f,
            "L1",
            "MIGRATION_ALLOW_DROP=\"my table\".\"a,b\" to confirm (names holding a space"
        ),
        "{f:#?}"
    );
    assert!(has(&f, "L1", "MIGRATION_ALLOW_DROP=\"x,\"\"y\"\"\" to confirm"), "{f:#?}");
    let (conn, p) = Case::new(spaced(true), spaced(false))
        .rows(&["INSERT INTO \"my table\" VALUES (1, 'k', 'gone')"])
        .allow(&["\"my table\".\"a,b\", \"x,\"\"y\"\"\""])
        .run("drop_quoted_names");
    assert_eq!(
        p.header_comments(),
        ["-- godwit: allow-drop \"x,\"\"y\"\"\"", "-- godwit: allow-drop \"my table\".\"a,b\""]
    );
    assert_eq!(rows_of(&conn, "SELECT id, keep FROM \"my table\""), [vec![int(1), txt("k")]]);
    // A malformed value is an error naming it.
    let f = Case::new(spaced(true), spaced(false)).allow(&["\"my table.a"]).plan_errors();
    assert!(has(&f, "L1", "entry `\"my table.a` has an unterminated double quote"), "{f:#?}");
}

#[test]
fn names_with_control_characters_or_multibyte_prefixes_are_handled() {
    // Issue 12 problem 9: `name[..7]` panicked on a multi-byte character across byte 7.
    let v2 = schema(vec![
        table("sqlité_x", vec![col("id", Integer)]).pk(&["id"]).index("sqliteé", &["id"]),
    ]);
    let (conn, _) = Case::new(Schema::default(), v2).run("multibyte_names");
    assert_eq!(count(&conn, "SELECT count(*) FROM \"sqlité_x\""), 0);
    let v2 = schema(vec![table("bad\nname", vec![col("id", Integer), col("c\td", Text)])]);
    let f = Case::new(Schema::default(), v2).plan_errors();
    assert!(has(&f, "L12", "table \"bad\\nname\" contains a control character"), "{f:#?}");
    assert!(has(&f, "L12", "column \"c\\td\" contains a control character"), "{f:#?}");
}

// ---------------------------------------------------------------- dependents (issue 12 problem 9)

fn keyword_tables(x_not_null: bool) -> Schema {
    let x = if x_not_null { col("x", Text).backfill("'-'") } else { col("x", Text).null() };
    schema(vec![
        table("begin", vec![col("id", Integer), x]).pk(&["id"]),
        table("other", vec![col("id", Integer), col("n", Integer).default("0")]).pk(&["id"]),
    ])
}

#[test]
fn a_table_named_with_a_keyword_pulls_only_its_own_dependents_into_a_rebuild() {
    // Issue 12 problem 9: every trigger body says BEGIN, so a table named `begin` pulled every
    // trigger into its rebuild (the build asks SQLite which objects use which table).
    let (conn, p) = Case::new(keyword_tables(false), keyword_tables(true))
        .rows(&["INSERT INTO \"begin\" VALUES (1, NULL), (2, 'b')", "INSERT INTO other VALUES (1, 0)"])
        .deps(&[
            "CREATE TRIGGER other_touch AFTER UPDATE ON other BEGIN UPDATE other SET n = n + 1 WHERE id = NEW.id AND NEW.n = OLD.n; END",
            "CREATE TRIGGER begin_log AFTER INSERT ON \"begin\" BEGIN UPDATE other SET n = n + 1; END",
        ])
        .own_row_check()
        .run("keyword_table_rebuild");
    let sql = p.render().join("\n");
    assert!(!sql.contains("\"other_touch\""), "{sql}");
    assert!(sql.contains("DROP TRIGGER \"begin_log\""), "{sql}");
    assert_eq!(
        rows_of(&conn, "SELECT id, x FROM \"begin\" ORDER BY id"),
        [vec![int(1), txt("-")], vec![int(2), txt("b")]]
    );
    conn.execute_batch("INSERT INTO \"begin\" VALUES (3, 'c')").unwrap();
    assert_eq!(count(&conn, "SELECT n FROM other WHERE id = 1"), 1, "the recreated trigger runs");
}

fn logged(with_log: bool) -> Schema {
    let mut tables = vec![table("a", vec![col("id", Integer), col("v", Text).null()]).pk(&["id"])];
    if with_log {
        tables.push(table("log", vec![col("id", Integer), col("a_id", Integer)]).pk(&["id"]));
        schema(tables)
    } else {
        tables[0] = table("a", vec![col("id", Integer), col("v", Text).backfill("''")]).pk(&["id"]);
        schema(tables)
    }
}

#[test]
fn dropping_a_table_whose_trigger_uses_a_table_rebuilt_in_the_same_migration() {
    // The trigger goes with its table: the rebuild of `a` must not drop it a second time.
    let (conn, p) = Case::new(logged(true), logged(false))
        .rows(&["INSERT INTO a VALUES (1, NULL)", "INSERT INTO log VALUES (1, 1)"])
        .deps(&["CREATE TRIGGER log_a AFTER INSERT ON log BEGIN UPDATE a SET v = 'logged' WHERE id = NEW.a_id; END"])
        .deps_v2(&[])
        .allow(&["log"])
        .own_row_check()
        .run("drop_table_with_trigger");
    assert!(!p.render().iter().any(|s| s.contains("DROP TRIGGER")), "{:#?}", p.render());
    assert_eq!(rows_of(&conn, "SELECT id, v FROM a"), [vec![int(1), txt("")]]);
}

#[test]
fn a_backfill_naming_a_key_renamed_before_the_copy_asks_for_the_new_name() {
    let v1 = parent_child("id", false, false);
    let mut v2 = parent_child("pk", true, true);
    let p = v2.tables.get_mut("p").unwrap();
    p.columns[1].backfill = Some("'n' || id".into());
    let f = Case::new(v1.clone(), v2.clone()).plan_errors();
    assert!(
        has(
            &f,
            "L12",
            "the backfill of column name uses column id, which this migration renames to pk"
        ),
        "{f:#?}"
    );
    v2.tables.get_mut("p").unwrap().columns[1].backfill = Some("'n' || pk".into());
    let (conn, _) = Case::new(v1, v2)
        .rows(&["INSERT INTO p VALUES (1, NULL)", "INSERT INTO c VALUES (10, 1)"])
        .own_row_check()
        .run("rename_referenced_pk_backfill");
    assert_eq!(rows_of(&conn, "SELECT pk, name FROM p"), [vec![int(1), txt("n1")]]);
}

#[test]
fn columns_named_like_the_rowid_are_added_renamed_and_dropped_through_a_rebuild() {
    // Issue 12 problem 9: SQLite refuses ALTER TABLE ADD, DROP and RENAME COLUMN of a column
    // named rowid, oid or _rowid_ in a rowid table ("cannot add rowid alias").
    let base = |extra: Vec<schema_core::model::Column>| {
        let mut cols = vec![col("a", Integer), col("b", Text).null()];
        cols.extend(extra);
        schema(vec![table("t", cols)])
    };
    let rows: &[&str] = &["INSERT INTO t (rowid, a, b) VALUES (7, 1, 'x'), (9, 2, NULL)"];
    let (conn, p) = Case::new(base(vec![]), base(vec![col("oid", Text).null()]))
        .rows(rows)
        .run("add_oid_column");
    assert!(
        p.render().iter().any(|s| s.starts_with("CREATE TABLE \"__new_t\"")),
        "{:#?}",
        p.render()
    );
    assert_eq!(
        rows_of(&conn, "SELECT _rowid_, a, b, \"oid\" FROM t ORDER BY 1"),
        [
            vec![int(7), int(1), txt("x"), Value::Null],
            vec![int(9), int(2), Value::Null, Value::Null]
        ]
    );
    let renamed =
        schema(vec![table("t", vec![col("a", Integer), col("_rowid_", Text).null().from("b")])]);
    let (conn, _) =
        Case::new(base(vec![]), renamed).rows(rows).own_row_check().run("rename_to_rowid_name");
    assert_eq!(
        rows_of(&conn, "SELECT oid, a, \"_rowid_\" FROM t ORDER BY 1"),
        [vec![int(7), int(1), txt("x")], vec![int(9), int(2), Value::Null]]
    );
    let with_oid = base(vec![col("oid", Text).null()]);
    let conn_rows: &[&str] = &["INSERT INTO t (rowid, a, b, \"oid\") VALUES (7, 1, 'x', 'o')"];
    let (conn, _) =
        Case::new(with_oid, base(vec![])).rows(conn_rows).allow(&["t.oid"]).run("drop_oid_column");
    assert_eq!(rows_of(&conn, "SELECT rowid, a, b FROM t"), [vec![int(7), int(1), txt("x")]]);
}

#[test]
fn expressions_that_would_change_the_statement_around_them_are_refused() {
    // Issue 12 problem 9: `check = "x > 0 -- c"` commented out the closing parenthesis; a
    // default holding a breakpoint line split the statement.
    let v2 = schema(vec![table(
        "t",
        vec![
            col("x", Integer).check("x > 0 -- c"),
            col("y", Text).default_sql("'a'\n--> statement-breakpoint\nDROP TABLE t"),
            col("z", Integer).check("z > 0) OR (1"),
            col("w", Text).check("w <> 'it''s -- fine; (really'"),
        ],
    )]);
    let f = Case::new(Schema::default(), v2).plan_errors();
    assert!(has(&f, "L12", "column x check `x > 0 -- c` contains an SQL comment (`--`)"), "{f:#?}");
    assert!(has(&f, "L12", "column y default"), "{f:#?}");
    assert!(has(&f, "L12", "column z check `z > 0) OR (1` contains an unbalanced `)`"), "{f:#?}");
    assert!(!has(&f, "L12", "column w check"), "quotes hide comments and parentheses: {f:#?}");
}

#[test]
fn a_new_unique_column_with_a_constant_backfill_fails_readably_on_two_rows() {
    // Issue 12 problem 9: the guard rendered `GROUP BY (7)`, which SQLite reads as "the 7th
    // result column" and refuses.
    let t = |with: bool| {
        let mut cols = vec![col("id", Integer), col("n", Text).null()];
        if with {
            cols.push(col("k", Integer).unique().backfill("7"));
        }
        schema(vec![table("t", cols).pk(&["id"])])
    };
    let (conn, _) = Case::new(t(false), t(true))
        .rows(&["INSERT INTO t VALUES (1, 'a')"])
        .run("unique_constant_backfill");
    assert_eq!(rows_of(&conn, "SELECT id, n, k FROM t"), [vec![int(1), txt("a"), int(7)]]);
    let err = Case::new(t(false), t(true))
        .rows(&["INSERT INTO t VALUES (1, 'a'), (2, 'b')"])
        .run_failing("unique_constant_backfill");
    assert!(err.contains("table \"t\" column \"k\": value 7 appears more than once, so the new UNIQUE cannot hold"), "{err}");
}

#[test]
fn a_renamed_from_that_names_nothing_is_reported_not_silently_ignored() {
    let v1 = abc(vec![col("a", Text).null()]);
    let v2 = abc(vec![col("b", Text).null().from("aa")]);
    let f = Case::new(v1, v2).plan_errors();
    assert!(
        has(&f, "L13", "column b has renamed_from = \"aa\", but the old table has no column aa"),
        "{f:#?}"
    );
    assert!(
        has(&f, "L13", "if it was renamed, add #[column(renamed_from = \"a\")] to b"),
        "{f:#?}"
    );
    let v1 = schema(vec![table("t", vec![col("id", Integer)]).pk(&["id"])]);
    let mut v2 = v1.clone();
    v2.insert(table("u", vec![col("id", Integer)]).pk(&["id"]).from("tt"));
    let (_, p) = Case::new(v1, v2).run("renamed_from_names_nothing");
    assert!(
        has(
            &p.findings,
            "L13",
            "table u has renamed_from = \"tt\", but the old schema has no table tt"
        ),
        "{:#?}",
        p.findings
    );
}

#[test]
fn swapping_two_referenced_columns_while_their_table_is_rebuilt() {
    // The referenced columns are renamed in place (through a temporary name) before the
    // rebuild, so the child's REFERENCES follows its values.
    let p = |swapped: bool, strict: bool| {
        let (a, b) = if swapped {
            (col("a", Text).null().unique().from("b"), col("b", Text).null().unique().from("a"))
        } else {
            (col("a", Text).null().unique(), col("b", Text).null().unique())
        };
        let t = table("p", vec![col("id", Integer), a, b]).pk(&["id"]);
        if strict { t.strict() } else { t }
    };
    let c = |to: &str| {
        table("c", vec![col("id", Integer), col("pa", Text).null()]).pk(&["id"]).fk(
            &["pa"],
            "p",
            &[to],
            None,
        )
    };
    let v1 = schema(vec![p(false, false), c("a")]);
    let v2 = schema(vec![p(true, true), c("b")]);
    let (conn, plan) = Case::new(v1, v2)
        .rows(&[
            "INSERT INTO p VALUES (1, 'a1', 'b1'), (2, 'a2', 'b2')",
            "INSERT INTO c VALUES (1, 'a2')",
        ])
        .own_row_check()
        .run("swap_referenced_columns_rebuild");
    let r = plan.render();
    assert!(
        r.iter().any(|s| s.contains("RENAME COLUMN \"a\" TO \"__godwit_a\"")
            || s.contains("RENAME COLUMN \"b\" TO \"__godwit_b\"")),
        "{r:#?}"
    );
    assert!(schema_sql(&conn, "c").contains("REFERENCES \"p\" (\"b\")"));
    assert_eq!(
        rows_of(&conn, "SELECT id, a, b FROM p ORDER BY id"),
        [vec![int(1), txt("b1"), txt("a1")], vec![int(2), txt("b2"), txt("a2")]]
    );
    assert_eq!(rows_of(&conn, "SELECT p.id FROM c JOIN p ON p.b = c.pa"), [vec![int(2)]]);
}
