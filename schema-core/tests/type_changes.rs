//! Type changes through the real planner and a real SQLite database: every pair of the model's
//! types, on STRICT and non-STRICT tables, with old rows of every storage class and the 2^53 /
//! 2^63 boundaries. After a migration every old value has the new type's storage class and
//! converts back exactly; otherwise the migration failed, changing nothing, with a message
//! naming table, column, value, row and the attribute that resolves it. Also `convert`, and the
//! guards' messages for CHECK, backfills and UNIQUE, and columns named `rowid`, `oid`, `_rowid_`.

#![cfg(feature = "build")]

mod common;

use common::*;
use rusqlite::Connection;
use rusqlite::types::Value;
use schema_core::model::{Column, Schema, SqlType, Table};
use schema_core::plan::{Finding, Plan, Severity};

const ALL: [SqlType; 6] =
    [SqlType::Integer, SqlType::Real, SqlType::Text, SqlType::Blob, SqlType::Numeric, SqlType::Any];

/// Old values of every storage class, boundaries included (as SQL literals).
const VALUES: &[&str] = &[
    "NULL",
    "0",
    "-7",
    "9007199254740992",    // 2^53
    "9007199254740993",    // 2^53 + 1
    "9223372036854775807", // 2^63 - 1
    "-9223372036854775808",
    "1.5",
    "2.0",
    "-0.0",
    "9007199254740992.0",
    "9223372036854775808.0", // 2^63 as REAL
    "-9223372036854775808.0",
    "1e300",
    "0.1",
    "'12'",
    "'012'",
    "'12abc'",
    "' 7'",
    "'1.5'",
    "'abc'",
    "''",
    "'9223372036854775808'",
    "'é'",
    "x'3132'",
    "x'C3A9'",
    "x'C328'", // invalid UTF-8
    "x'ED A080'",
    "x''",
];

fn one_column(ty: SqlType, strict: bool) -> Schema {
    let t = table("t", vec![col("id", SqlType::Integer), col("v", ty).null()]).pk(&["id"]);
    schema(vec![if strict { t.strict() } else { t }])
}

fn value_of(conn: &Connection, sql: &str, args: &[&Value]) -> Value {
    conn.query_row(sql, rusqlite::params_from_iter(args.iter()), |r| r.get(0)).unwrap()
}

fn class(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Integer(_) => "integer",
        Value::Real(_) => "real",
        Value::Text(_) => "text",
        Value::Blob(_) => "blob",
    }
}

/// The storage classes a value of a column of type `ty` may have after a type change.
fn classes_of(ty: SqlType) -> &'static [&'static str] {
    match ty {
        SqlType::Integer => &["integer"],
        SqlType::Real => &["real"],
        SqlType::Text => &["text"],
        SqlType::Blob => &["blob"],
        SqlType::Numeric => &["integer", "real"],
        SqlType::Any => &["integer", "real", "text", "blob"],
    }
}

/// The test's own oracle: `new` is `old` exactly (numbers compared exactly by SQLite, text and
/// blobs by their bytes, a number's text form as SQLite writes it).
fn exact(conn: &Connection, old: &Value, new: &Value) -> bool {
    let text_of = |v: &Value| -> Option<Vec<u8>> {
        match v {
            Value::Text(t) => Some(t.as_bytes().to_vec()),
            Value::Blob(b) => Some(b.clone()),
            Value::Null => None,
            number => match value_of(conn, "SELECT CAST(?1 AS TEXT)", &[number]) {
                Value::Text(t) => Some(t.into_bytes()),
                _ => None,
            },
        }
    };
    let numeric = |v: &Value| matches!(v, Value::Integer(_) | Value::Real(_));
    match (old, new) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        (a, b) if numeric(a) && numeric(b) => {
            value_of(conn, "SELECT ?1 = ?2", &[a, b]) == Value::Integer(1)
        }
        (a, b) if numeric(b) => {
            // A text (or blob) became a number: its text is the number's text form, or an
            // integer's that equals the real.
            // (NUMERIC affinity may store an integral real as an integer: equal numbers.)
            let t = text_of(a).unwrap();
            let Ok(s) = String::from_utf8(t) else { return false };
            if text_of(b).unwrap() == s.as_bytes() {
                return true;
            }
            let equal = |n: &Value| value_of(conn, "SELECT ?1 = ?2", &[n, b]) == Value::Integer(1);
            let int_text = matches!(b, Value::Integer(_))
                && s.parse::<i64>().is_ok_and(|i| i.to_string() == s && equal(&Value::Integer(i)));
            let real = value_of(conn, "SELECT CAST(?1 AS REAL)", &[&Value::Text(s.clone())]);
            let real_text = text_of(&real).unwrap() == s.as_bytes() && equal(&real);
            int_text || real_text
        }
        (a, b) => {
            // Into text or blob: the bytes of the old value's text form, and a number's form
            // reads back as that number.
            let same_bytes = text_of(a) == text_of(b);
            let back = match a {
                Value::Real(_) => {
                    value_of(conn, "SELECT CAST(CAST(?1 AS TEXT) AS REAL) = ?1", &[a])
                        == Value::Integer(1)
                }
                _ => true,
            };
            same_bytes
                && back
                && (!matches!(b, Value::Text(_))
                    || std::str::from_utf8(&text_of(b).unwrap()).is_ok())
        }
    }
}

/// What happened to one old value in one type change.
enum Outcome {
    /// The migration ran: the value became this.
    Converted(Value),
    /// The migration failed with this message.
    Refused(String),
}

fn is_strict_ok(ty: SqlType, strict: bool) -> bool {
    if strict { ty != SqlType::Numeric } else { ty != SqlType::Any }
}

/// Migrates one row holding `value` from `from` to `to`; `None` when the old table refuses
/// the value (a STRICT column of another type).
fn migrate_one(from: SqlType, to: SqlType, strict: bool, value: &str) -> Option<(Value, Outcome)> {
    let (v1, v2) = (one_column(from, strict), one_column(to, strict));
    let mut conn = fresh(&v1, &[]);
    conn.execute_batch(&format!("INSERT INTO t VALUES (1, {value})")).ok()?;
    let old = value_of(&conn, "SELECT v FROM t", &[]);
    let before = dump(&conn, "t");
    let p = plan_for(&conn, &v1, &v2, &[]).unwrap_or_else(|f| panic!("{f:#?}"));
    match apply(&mut conn, &p.render()) {
        Ok(()) => {
            assert_same_shape(&conn, &fresh(&v2, &[]));
            integrity_ok(&conn);
            Some((old, Outcome::Converted(value_of(&conn, "SELECT v FROM t", &[]))))
        }
        Err(e) => {
            assert_eq!(dump(&conn, "t"), before, "a failed migration changes nothing");
            Some((old, Outcome::Refused(e)))
        }
    }
}

/// Every pair of types, STRICT and not, every old value: converted into the new storage class
/// exactly, or refused naming table, column, value, row and `convert`.
#[test]
fn every_pair_of_types_converts_every_storage_class_exactly_or_names_the_value() {
    let mut converted = 0;
    let mut refused = 0;
    for strict in [false, true] {
        for from in ALL.into_iter().filter(|t| is_strict_ok(*t, strict)) {
            for to in ALL.into_iter().filter(|t| *t != from && is_strict_ok(*t, strict)) {
                for value in VALUES {
                    let Some((old, outcome)) = migrate_one(from, to, strict, value) else {
                        continue;
                    };
                    let case = format!(
                        "{} -> {} (strict {strict}), old {old:?} from {value}",
                        from.as_sql(),
                        to.as_sql()
                    );
                    match outcome {
                        Outcome::Converted(new) => {
                            converted += 1;
                            if old != Value::Null {
                                assert!(
                                    classes_of(to).contains(&class(&new)),
                                    "{case}: became {new:?}"
                                );
                            }
                            assert!(
                                exact(&Connection::open_in_memory().unwrap(), &old, &new),
                                "{case}: became {new:?}"
                            );
                        }
                        Outcome::Refused(e) => {
                            refused += 1;
                            let conn = Connection::open_in_memory().unwrap();
                            let shown = match value_of(&conn, "SELECT quote(?1)", &[&old]) {
                                Value::Text(t) => t,
                                other => panic!("{other:?}"),
                            };
                            assert!(
                                e.contains("table \"t\" column \"v\"")
                                    && e.contains(&shown)
                                    && e.contains("(the row with \"id\" = 1)")
                                    && e.contains("#[column(convert"),
                                "{case}: {e}"
                            );
                            assert!(
                                !must_convert(&old, to),
                                "{case}: refused a value that converts exactly: {e}"
                            );
                        }
                    }
                }
            }
        }
    }
    assert!(converted > 300 && refused > 100, "{converted} converted, {refused} refused");
}

/// Values that certainly convert exactly to `to` (the refusals must never hit these).
fn must_convert(old: &Value, to: SqlType) -> bool {
    const TWO_53: i64 = 1 << 53;
    match (old, to) {
        (_, SqlType::Any) | (Value::Null, _) => true,
        (
            Value::Integer(_),
            SqlType::Integer | SqlType::Text | SqlType::Blob | SqlType::Numeric,
        ) => true,
        (Value::Integer(i), SqlType::Real) => i.abs() <= TWO_53,
        (Value::Real(_), SqlType::Real | SqlType::Text | SqlType::Blob | SqlType::Numeric) => true,
        (Value::Real(r), SqlType::Integer) => {
            r.fract() == 0.0
                && *r >= -9_223_372_036_854_775_808.0
                && *r < 9_223_372_036_854_775_808.0
        }
        (Value::Text(_), SqlType::Text | SqlType::Blob) => true,
        (Value::Text(t), SqlType::Integer | SqlType::Numeric) => {
            t.parse::<i64>().is_ok_and(|i| i.to_string() == *t)
        }
        (Value::Blob(b), SqlType::Text) => std::str::from_utf8(b).is_ok(),
        (Value::Blob(_), SqlType::Blob) => true,
        _ => false,
    }
}

fn converted(from: SqlType, to: SqlType, strict: bool, value: &str) -> Value {
    match migrate_one(from, to, strict, value) {
        Some((_, Outcome::Converted(v))) => v,
        Some((_, Outcome::Refused(e))) => panic!("{value}: refused: {e}"),
        None => panic!("{value}: not stored"),
    }
}

fn refused(from: SqlType, to: SqlType, strict: bool, value: &str) -> String {
    match migrate_one(from, to, strict, value) {
        Some((_, Outcome::Refused(e))) => e,
        Some((_, Outcome::Converted(v))) => panic!("{value}: converted to {v:?}"),
        None => panic!("{value}: not stored"),
    }
}

/// Problem 3: a non-STRICT type change leaves no old row in its old storage class.
#[test]
fn non_strict_type_changes_convert_the_storage_class() {
    use SqlType::{Blob, Integer, Real, Text};
    assert_eq!(converted(Blob, Text, false, "x'C3A9'"), Value::Text("é".into()));
    assert_eq!(converted(Text, Blob, false, "'abc'"), Value::Blob(b"abc".to_vec()));
    assert_eq!(converted(Real, Integer, false, "2.0"), Value::Integer(2));
    assert_eq!(converted(Integer, Text, false, "1700000000"), Value::Text("1700000000".into()));
    assert_eq!(
        converted(Integer, Real, false, "9007199254740992"),
        Value::Real(9_007_199_254_740_992.0)
    );
    // A real the INTEGER column kept as real (1.5 written by raw SQL) still fails.
    let e = refused(Real, Integer, false, "1.5");
    assert!(e.contains("value 1.5 does not convert exactly (the row with \"id\" = 1)"), "{e}");
}

/// Problems 3 and 4: invalid UTF-8 and the 2^63 / 2^53 boundaries fail, STRICT or not, naming
/// the value; no saturating CAST slips through.
#[test]
fn boundaries_and_invalid_utf8_fail_naming_the_value() {
    use SqlType::{Blob, Integer, Real, Text};
    for strict in [false, true] {
        let e = refused(Blob, Text, strict, "x'C328'");
        assert!(e.contains("X'C328'") && e.contains("not valid UTF-8"), "{e}");
        let e = refused(Blob, Text, strict, "x'EDA080'"); // a surrogate
        assert!(e.contains("X'EDA080'"), "{e}");
        let e = refused(Real, Integer, strict, "9223372036854775808.0");
        assert!(
            e.contains("9.2233720368547758e+18") && e.contains("does not convert exactly"),
            "{e}"
        );
        let e = refused(Integer, Real, strict, "9223372036854775807");
        assert!(e.contains("value 9223372036854775807 does not convert exactly"), "{e}");
        let e = refused(Integer, Real, strict, "9007199254740993");
        assert!(e.contains("9007199254740993"), "{e}");
        assert_eq!(
            converted(Real, Integer, strict, "-9223372036854775808.0"),
            Value::Integer(i64::MIN)
        );
    }
    let e = refused(Text, Integer, false, "'9223372036854775808'");
    assert!(e.contains("'9223372036854775808'"), "{e}");
}

fn plan_err(v1: &Schema, v2: &Schema) -> Vec<Finding> {
    let conn = fresh(v1, &[]);
    match plan_for(&conn, v1, v2, &[]) {
        Err(f) => f,
        Ok(p) => panic!("planned: {:#?}", p.render()),
    }
}

fn errors(f: &[Finding]) -> Vec<String> {
    f.iter().filter(|f| f.severity == Severity::Error).map(|f| f.message.clone()).collect()
}

/// Runs v1 + rows -> v2; the migrated database or the message.
fn run(v1: &Schema, v2: &Schema, rows: &[&str]) -> (Connection, Plan, Result<(), String>) {
    let mut conn = fresh(v1, rows);
    let p = plan_for(&conn, v1, v2, &[]).unwrap_or_else(|f| panic!("{f:#?}"));
    let r = apply(&mut conn, &p.render());
    if r.is_ok() {
        assert_same_shape(&conn, &fresh(v2, &[]));
    }
    (conn, p, r)
}

fn with_convert(mut c: Column, expr: &str) -> Column {
    c.convert = Some(expr.into());
    c
}

fn events(ty: SqlType, at: Column) -> Schema {
    let _ = ty;
    schema(vec![table("events", vec![col("id", SqlType::Integer), at]).pk(&["id"])])
}

/// Deliver 2: `convert` computes the new value (epoch seconds to a timestamp text), and its
/// result passes the same exactness guard.
#[test]
fn convert_computes_the_new_value_from_the_old_row() {
    let v1 = events(SqlType::Integer, col("at", SqlType::Integer));
    let v2 = events(
        SqlType::Text,
        with_convert(col("at", SqlType::Text), "datetime(\"at\", 'unixepoch')"),
    );
    let (conn, p, r) = run(&v1, &v2, &["INSERT INTO events VALUES (1, 1700000000), (2, 0)"]);
    r.unwrap();
    assert!(p.render().iter().any(|s| s.contains("CAST((datetime(\"at\", 'unixepoch')) AS TEXT)")));
    let rows: Vec<(String, String)> = conn
        .prepare("SELECT at, typeof(at) FROM events ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        rows,
        [
            ("2023-11-14 22:13:20".to_string(), "text".to_string()),
            ("1970-01-01 00:00:00".to_string(), "text".to_string())
        ]
    );
    // The snapshot never holds it.
    assert!(!v2.to_canonical_json().contains("unixepoch"));

    // A result that does not convert exactly fails, naming convert.
    let v3 = events(SqlType::Integer, with_convert(col("at", SqlType::Integer), "\"at\" || 'x'"));
    let v1t = events(SqlType::Text, col("at", SqlType::Text));
    let (_, _, r) = run(&v1t, &v3, &["INSERT INTO events VALUES (1, '5')"]);
    let e = r.unwrap_err();
    assert!(
        e.contains("column \"at\" to INTEGER: value '5x' (computed by #[column(convert)]) does not convert exactly")
            && e.contains("(the row with \"id\" = 1)")
            && e.contains("fix #[column(convert = \"..\")] on at"),
        "{e}"
    );
}

/// Deliver 2: `convert` without a type change (or on a new column) is a build error naming it.
#[test]
fn convert_without_a_type_change_is_refused() {
    let v1 = events(SqlType::Integer, col("at", SqlType::Integer));
    let v2 = events(SqlType::Integer, with_convert(col("at", SqlType::Integer), "\"at\" + 1"));
    let e = errors(&plan_err(&v1, &v2)).join("\n");
    assert!(e.contains("#[column(convert = \"\"at\" + 1\")] but its type does not change"), "{e}");
    assert!(e.contains("remove convert"), "{e}");
    let mut v3 = v1.clone();
    v3.tables
        .get_mut("events")
        .unwrap()
        .columns
        .push(with_convert(col("n", SqlType::Text).null(), "1"));
    let e = errors(&plan_err(&v1, &v3)).join("\n");
    assert!(e.contains("new column n has #[column(convert"), "{e}");
    // Left behind after its migration, with nothing else changing (the build plans nothing):
    // unused_converts names it.
    let f = schema_core::plan::unused_converts(&v1, &v2);
    assert_eq!(f.len(), 1);
    assert!(f[0].message.contains("column at has #[column(convert"), "{f:?}");
    let v4 = events(SqlType::Text, with_convert(col("at", SqlType::Text), "datetime(\"at\")"));
    assert!(schema_core::plan::unused_converts(&v1, &v4).is_empty());
}

/// Problem 8: a new CHECK plus a type change names table, column, value and row (it was the
/// raw "CHECK constraint failed").
#[test]
fn a_new_check_with_a_type_change_names_the_value() {
    let v1 = one_column(SqlType::Text, false);
    let mut v2 = one_column(SqlType::Integer, false);
    v2.tables.get_mut("t").unwrap().columns[1].check = Some("v > 10".into());
    let (_, _, r) = run(&v1, &v2, &["INSERT INTO t VALUES (1, '50'), (2, '5')"]);
    let e = r.unwrap_err();
    assert!(
        e.contains("table \"t\" column \"v\": value 5 violates the new CHECK (v > 10) (the row with \"id\" = 2)")
            && e.contains("#[column(check"),
        "{e}"
    );
    // A table CHECK over a renamed column names the values it reads.
    let v1 = schema(vec![table("t", vec![col("a", SqlType::Text)])]);
    let v2 = schema(vec![
        table("t", vec![col("b", SqlType::Integer).from("a")]).check(Some("b_pos"), "b > 0"),
    ]);
    let (_, _, r) = run(&v1, &v2, &["INSERT INTO t VALUES ('3'), ('-4')"]);
    let e = r.unwrap_err();
    assert!(
        e.contains(
            "a row violates the new CHECK (b > 0) (the row with rowid 2), values \"b\" = -4"
        ) && e.contains("#[check(expr"),
        "{e}"
    );
}

/// Problem 8: a NULL backfill names the row.
#[test]
fn a_null_backfill_names_the_row() {
    let v1 = schema(vec![
        table("t", vec![col("id", SqlType::Integer), col("a", SqlType::Text).null()]).pk(&["id"]),
    ]);
    let v2 = schema(vec![
        table(
            "t",
            vec![
                col("id", SqlType::Integer),
                col("a", SqlType::Text).backfill("NULLIF(\"id\", 2)"),
            ],
        )
        .pk(&["id"]),
    ]);
    let (_, _, r) = run(&v1, &v2, &["INSERT INTO t VALUES (1, NULL), (2, NULL)"]);
    let e = r.unwrap_err();
    assert!(
        e.contains("cannot fill table \"t\" column \"a\": the backfill gives NULL (the row with \"id\" = 2)")
            && e.contains("fix #[column(backfill"),
        "{e}"
    );
}

fn strict_counter(backfill: &str) -> (Schema, Schema) {
    let v1 = schema(vec![table("t", vec![col("id", SqlType::Integer)]).pk(&["id"]).strict()]);
    let v2 = schema(vec![
        table(
            "t",
            vec![col("id", SqlType::Integer), col("n", SqlType::Integer).backfill(backfill)],
        )
        .pk(&["id"])
        .strict(),
    ]);
    (v1, v2)
}

/// Problem 9: a wrong-type backfill on a STRICT column is a build error when SQLite could tell
/// statically, and otherwise a guard naming the backfill (it was the raw "cannot store TEXT
/// value in INTEGER column" on every user's rows).
#[test]
fn a_wrong_type_strict_backfill_names_the_backfill() {
    let (v1, v2) = strict_counter("'x'");
    let e = errors(&plan_err(&v1, &v2)).join("\n");
    assert!(
        e.contains("column n: #[column(backfill = \"'x'\")] gives 'x', which does not convert exactly to INTEGER"),
        "{e}"
    );
    let (v1, v2) = strict_counter("lower('X')");
    let (_, _, r) = run(&v1, &v2, &["INSERT INTO t VALUES (1)"]);
    let e = r.unwrap_err();
    assert!(
        e.contains("value 'x' (computed by #[column(backfill)]) does not convert exactly")
            && e.contains("fix #[column(backfill = \"..\")] on n to give values of type INTEGER"),
        "{e}"
    );
    // A text that is an integer is stored as one.
    let (v1, v2) = strict_counter("'42'");
    let (conn, _, r) = run(&v1, &v2, &["INSERT INTO t VALUES (1)"]);
    r.unwrap();
    assert_eq!(count(&conn, "SELECT n FROM t"), 42);
}

/// Problem 9: a new UNIQUE column with a constant backfill rendered `GROUP BY (7)`, which
/// SQLite reads as a column position.
#[test]
fn a_unique_column_with_a_constant_backfill() {
    let v1 = schema(vec![table("t", vec![col("id", SqlType::Integer)]).pk(&["id"])]);
    let v2 = schema(vec![
        table(
            "t",
            vec![col("id", SqlType::Integer), col("k", SqlType::Integer).unique().backfill("7")],
        )
        .pk(&["id"]),
    ]);
    let (conn, p, r) = run(&v1, &v2, &["INSERT INTO t VALUES (1)"]);
    r.unwrap();
    assert!(!p.render().iter().any(|s| s.contains("GROUP BY (")), "{:#?}", p.render());
    assert_eq!(count(&conn, "SELECT k FROM t"), 7);
    let (_, _, r) = run(&v1, &v2, &["INSERT INTO t VALUES (1), (2)"]);
    let e = r.unwrap_err();
    assert!(
        e.contains("table \"t\" column \"k\": value 7 appears more than once, so the new UNIQUE cannot hold (the row with \"id\" = 1 and the row with \"id\" = 2)"),
        "{e}"
    );
}

fn rowid_names(name: &str, without_rowid: bool) -> (Table, Table) {
    let mut t = table("t", vec![col("id", SqlType::Text), col("a", SqlType::Integer).null()]);
    if without_rowid {
        t = t.pk(&["id"]).without_rowid();
    }
    let mut with = t.clone();
    with.columns.push(col(name, SqlType::Text).null());
    (t, with)
}

/// Every row as text, in id order, reading the named columns (not `dump`, whose `rowid`
/// would read a column named so).
fn rows_of(conn: &Connection, cols: &[&str]) -> Vec<String> {
    let list: Vec<String> = cols.iter().map(|c| format!("quote(\"{c}\")")).collect();
    let sql = format!("SELECT {} FROM t ORDER BY id", list.join(" || ', ' || "));
    conn.prepare(&sql).unwrap().query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

/// Problem 9: adding, renaming and dropping a column named `oid`, `rowid` or `_rowid_` works on
/// rowid and WITHOUT ROWID tables, with rows (SQLite refuses these ALTER TABLE forms on rowid
/// tables: "cannot add rowid alias"), and rebuilds keep each row's rowid.
#[test]
fn columns_named_like_the_rowid() {
    for name in ["oid", "rowid", "_rowid_", "ROWID"] {
        for without_rowid in [false, true] {
            let case = format!("{name} (without rowid {without_rowid})");
            let (plain, with) = rowid_names(name, without_rowid);
            let v1 = schema(vec![plain.clone()]);
            let v2 = schema(vec![with.clone()]);
            let rows: &[&str] = &["INSERT INTO t (id, a) VALUES ('x', 1), ('y', 2)"];
            // Add it.
            let (mut conn, _, r) = run(&v1, &v2, rows);
            r.unwrap_or_else(|e| panic!("{case}: add: {e}"));
            conn.execute_batch(&format!("UPDATE t SET \"{name}\" = 'v' || a")).unwrap();
            let alias = ["rowid", "_rowid_", "oid"]
                .into_iter()
                .find(|a| !a.eq_ignore_ascii_case(name))
                .unwrap();
            let rowids_sql = format!("SELECT {alias} FROM t ORDER BY id");
            let rowids_of = |conn: &Connection| -> Vec<i64> {
                let mut st = conn.prepare(&rowids_sql).unwrap();
                st.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
            };
            let rowids = (!without_rowid).then(|| rowids_of(&conn));
            // Retype another column (a rebuild that copies every row, rowid included).
            let mut v3 = v2.clone();
            v3.tables.get_mut("t").unwrap().columns[1].ty = SqlType::Text;
            let p = plan_for(&conn, &v2, &v3, &[]).unwrap();
            apply(&mut conn, &p.render()).unwrap_or_else(|e| panic!("{case}: retype: {e}"));
            assert_same_shape(&conn, &fresh(&v3, &[]));
            assert_eq!(
                rows_of(&conn, &["id", "a", name]),
                ["'x', '1', 'v1'", "'y', '2', 'v2'"],
                "{case}"
            );
            // Rename it, retyping it in the same migration (a rebuild reading it by name).
            let mut v4 = v3.clone();
            let c = v4.tables.get_mut("t").unwrap().columns.last_mut().unwrap();
            *c = col("renamed", SqlType::Blob).null().from(name);
            let p = plan_for(&conn, &v3, &v4, &[]).unwrap();
            apply(&mut conn, &p.render()).unwrap_or_else(|e| panic!("{case}: rename: {e}"));
            assert_same_shape(&conn, &fresh(&v4, &[]));
            assert_eq!(
                rows_of(&conn, &["id", "a", "renamed"]),
                ["'x', '1', X'7631'", "'y', '2', X'7632'"],
                "{case}"
            );
            if let Some(before) = &rowids {
                assert_eq!(&rowids_of(&conn), before, "{case}: rowids kept");
            }
            // Rename a column onto the name, then drop it.
            let mut v5 = v4.clone();
            let c = v5.tables.get_mut("t").unwrap().columns.last_mut().unwrap();
            *c = col(name, SqlType::Blob).null().from("renamed");
            let p = plan_for(&conn, &v4, &v5, &[]).unwrap();
            apply(&mut conn, &p.render()).unwrap_or_else(|e| panic!("{case}: rename onto: {e}"));
            assert_same_shape(&conn, &fresh(&v5, &[]));
            assert_eq!(rows_of(&conn, &["id", name]), ["'x', X'7631'", "'y', X'7632'"], "{case}");
            let mut v6 = v5.clone();
            v6.tables.get_mut("t").unwrap().columns.pop();
            let drop = format!("t.{name}");
            let p = plan_for(&conn, &v5, &v6, &[drop.as_str()]).unwrap();
            apply(&mut conn, &p.render()).unwrap_or_else(|e| panic!("{case}: drop: {e}"));
            assert_same_shape(&conn, &fresh(&v6, &[]));
            assert_eq!(rows_of(&conn, &["id", "a"]), ["'x', '1'", "'y', '2'"], "{case}");
        }
    }
}

/// A type change on a table whose rowid is hidden by columns named `rowid`, `_rowid_` and
/// `oid`: guard messages cannot name the rowid, and say "a row".
#[test]
fn guard_messages_when_every_rowid_alias_is_a_column() {
    let cols = |ty| {
        vec![
            col("rowid", SqlType::Text).null(),
            col("_rowid_", SqlType::Text).null(),
            col("oid", SqlType::Text).null(),
            col("v", ty).null(),
        ]
    };
    let v1 = schema(vec![table("t", cols(SqlType::Text))]);
    let v2 = schema(vec![table("t", cols(SqlType::Integer))]);
    let (_, _, r) = run(&v1, &v2, &["INSERT INTO t VALUES ('r', 'u', 'o', 'abc')"]);
    let e = r.unwrap_err();
    assert!(e.contains("value 'abc' does not convert exactly (a row)"), "{e}");
}

/// What the build's proof on representative rows does (the lead wires it into
/// `build/replay.rs::prove`): the old schema's `sample_rows` inserted into a copy with foreign
/// keys off, then the migration applied with the runner's protocol; its failure sorted by
/// `classify_failure`.
fn prove_on_samples(old: &Schema, new: &Schema, kinds: &[SampleKind]) -> Result<(), String> {
    let mut conn = fresh(old, &[]);
    conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
    for row in sample_rows(old).iter().filter(|r| kinds.contains(&r.kind)) {
        let _ = conn.execute_batch(&row.sql);
    }
    let p = plan_for(&conn, old, new, &[]).map_err(|f| format!("{f:?}"))?;
    // `classify_failure` reads SQLite's message alone, not the statement `apply` appends.
    apply(&mut conn, &p.render())
        .map_err(|e| e.split(" (in ").next().unwrap_or_default().to_string())
}

use schema_core::plan::{FailureKind, SampleKind, classify_failure, sample_rows};

/// Deliver 5: sample rows of every storage class fit the old tables (keys distinct, foreign
/// keys pointing at sample parents, STRICT columns only their class).
#[test]
fn sample_rows_fit_the_old_schema() {
    let parent = table("p", vec![col("id", SqlType::Integer), col("code", SqlType::Text).unique()])
        .pk(&["id"]);
    let child = table(
        "c",
        vec![
            col("k", SqlType::Text),
            col("p_id", SqlType::Integer),
            col("q", SqlType::Integer).null(),
            col("r", SqlType::Real).null(),
            col("b", SqlType::Blob).null(),
        ],
    )
    .pk(&["k"])
    .without_rowid()
    .fk(&["p_id"], "p", &["id"], None);
    let strict =
        table("s", vec![col("n", SqlType::Integer), col("any", SqlType::Any).null()]).strict();
    let s = schema(vec![parent, child, strict]);
    let conn = fresh(&s, &[]);
    conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
    let rows = sample_rows(&s);
    for r in &rows {
        conn.execute_batch(&r.sql).unwrap_or_else(|e| panic!("{e}: {}", r.sql));
        assert_eq!(conn.changes(), 1, "{}", r.sql);
    }
    assert!(fk_violations(&conn).unwrap().is_empty());
    // Every storage class reaches the non-STRICT child's columns, only integers the STRICT n.
    let classes = |sql: &str| -> Vec<String> {
        conn.prepare(sql)
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(
        classes("SELECT DISTINCT typeof(q) FROM c ORDER BY 1"),
        ["blob", "integer", "null", "real", "text"]
    );
    assert_eq!(
        classes("SELECT DISTINCT typeof(r) FROM c ORDER BY 1"),
        ["blob", "null", "real", "text"]
    );
    assert_eq!(classes("SELECT DISTINCT typeof(n) FROM s"), ["integer"]);
    assert_eq!(
        classes("SELECT DISTINCT typeof(\"any\") FROM s ORDER BY 1"),
        ["blob", "integer", "null", "real", "text"]
    );
    assert!(rows.iter().any(|r| r.kind == SampleKind::OtherClass));
}

/// A new column whose default violates its CHECK: a guard naming column, value and row (it
/// was ALTER TABLE ADD COLUMN's bare "CHECK constraint failed").
#[test]
fn a_new_column_whose_default_violates_its_check() {
    let v1 = schema(vec![table("t", vec![col("id", SqlType::Integer)]).pk(&["id"])]);
    let v2 = schema(vec![
        table(
            "t",
            vec![
                col("id", SqlType::Integer),
                col("b", SqlType::Integer).default("0").check("b > 0"),
            ],
        )
        .pk(&["id"]),
    ]);
    let (_, _, r) = run(&v1, &v2, &["INSERT INTO t VALUES (4)"]);
    let e = r.unwrap_err();
    assert!(
        e.contains("table \"t\" column \"b\": value 0 violates the new CHECK (b > 0) (the row with \"id\" = 4)"),
        "{e}"
    );
    let (conn, _, r) = run(&v1, &v2, &[]);
    r.unwrap();
    assert_eq!(count(&conn, "SELECT count(*) FROM t"), 0);
}

/// Deliver 5: a migration that passes on the (empty) replayed database but fails on users'
/// rows with a raw SQLite error is caught by the proof on sample rows: a backfill that
/// overflows when it runs.
#[test]
fn the_proof_on_sample_rows_finds_what_the_empty_database_hides() {
    let (v1, v2) = strict_counter("abs(-9223372036854775807 - \"id\")");
    prove_on_samples(&v1, &v2, &[]).unwrap();
    let e = prove_on_samples(&v1, &v2, &[SampleKind::Typed]).unwrap_err();
    assert!(e.contains("integer overflow"), "{e}");
    assert_eq!(classify_failure(&e), FailureKind::Raw, "{e}");

    // A non-literal wrong-type backfill on a STRICT column: a guard naming the backfill.
    let (v1, v2) = strict_counter("lower('X')");
    prove_on_samples(&v1, &v2, &[]).unwrap();
    let e = prove_on_samples(&v1, &v2, &[SampleKind::Typed]).unwrap_err();
    assert_eq!(classify_failure(&e), FailureKind::Expression, "{e}");

    // A type change that the odd storage classes fail is the user's data, not a build error;
    // the typed rows alone go through.
    let v1 = one_column(SqlType::Integer, false);
    let v2 = one_column(SqlType::Real, false);
    prove_on_samples(&v1, &v2, &[SampleKind::Typed]).unwrap();
    let e = prove_on_samples(&v1, &v2, &[SampleKind::Typed, SampleKind::OtherClass]).unwrap_err();
    assert_eq!(classify_failure(&e), FailureKind::Data, "{e}");
}
