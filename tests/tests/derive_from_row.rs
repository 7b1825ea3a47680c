//! `Table::from_row` reads real SQLite rows: every built-in type, NULLs into `Option`, a
//! user type through its `FromSql`, and a clear error for NULL in a non-`Option` field.

#[path = "derive_fixture/schema.rs"]
#[allow(dead_code)] // `Child` is only read by derive_fingerprint.rs
mod schema;

use migrate_runtime::Table;
use rusqlite::{Connection, params};
use schema::{AllTypes, Email, UserProfile};

fn select_sql<T: Table>() -> String {
    let cols: Vec<String> =
        T::COLUMNS.iter().map(|c| format!("\"{}\"", c.replace('"', "\"\""))).collect();
    format!("SELECT {} FROM \"{}\" ORDER BY 1, 2", cols.join(", "), T::NAME)
}

fn read_all<T: Table>(conn: &Connection) -> rusqlite::Result<Vec<T>> {
    let mut stmt = conn.prepare(&select_sql::<T>())?;
    stmt.query_map([], |row| T::from_row(row))?.collect()
}

fn all_types_db() -> rusqlite::Result<Connection> {
    let conn = Connection::open_in_memory()?;
    conn.execute_batch(
        "CREATE TABLE all_types (
            a INTEGER NOT NULL, b INTEGER NOT NULL, c INTEGER NOT NULL, d INTEGER NOT NULL,
            e INTEGER NOT NULL, f INTEGER NOT NULL, g INTEGER NOT NULL, h INTEGER NOT NULL DEFAULT 1,
            i REAL NOT NULL, j REAL NOT NULL, k TEXT NOT NULL, l BLOB NOT NULL DEFAULT X'00',
            oa INTEGER, ob INTEGER, oc INTEGER, od INTEGER, oe INTEGER, of INTEGER, og INTEGER,
            oh INTEGER, oi REAL, oj REAL, ok TEXT, ol BLOB,
            PRIMARY KEY (a, k)
        ) WITHOUT ROWID;",
    )?;
    Ok(conn)
}

#[test]
fn from_row_reads_every_type_and_nulls() -> rusqlite::Result<()> {
    let conn = all_types_db()?;
    conn.execute(
        "INSERT INTO all_types VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,
             ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            -128i8,
            -32768i16,
            i32::MIN,
            i64::MAX,
            255u8,
            65535u16,
            u32::MAX,
            true,
            1.5f32,
            -2.25f64,
            "héllo 'x'",
            vec![0u8, 1, 255]
        ],
    )?;
    conn.execute(
        "INSERT INTO all_types (a, b, c, d, e, f, g, i, j, k) VALUES (1, 2, 3, 4, 5, 6, 7, 0.0, 0.0, '')",
        [],
    )?;
    let rows: Vec<AllTypes> = read_all(&conn)?;
    let full = AllTypes {
        a: -128,
        b: -32768,
        c: i32::MIN,
        d: i64::MAX,
        e: 255,
        f: 65535,
        g: u32::MAX,
        h: true,
        i: 1.5,
        j: -2.25,
        k: "héllo 'x'".into(),
        l: vec![0, 1, 255],
        oa: Some(-128),
        ob: Some(-32768),
        oc: Some(i32::MIN),
        od: Some(i64::MAX),
        oe: Some(255),
        of: Some(65535),
        og: Some(u32::MAX),
        oh: Some(true),
        oi: Some(1.5),
        oj: Some(-2.25),
        ok: Some("héllo 'x'".into()),
        ol: Some(vec![0, 1, 255]),
    };
    let nulls = AllTypes {
        a: 1,
        b: 2,
        c: 3,
        d: 4,
        e: 5,
        f: 6,
        g: 7,
        h: true,
        i: 0.0,
        j: 0.0,
        k: String::new(),
        l: vec![0],
        oa: None,
        ob: None,
        oc: None,
        od: None,
        oe: None,
        of: None,
        og: None,
        oh: None,
        oi: None,
        oj: None,
        ok: None,
        ol: None,
    };
    assert_eq!(rows, [full, nulls]);
    Ok(())
}

#[test]
fn from_row_reads_user_types_and_renamed_columns() -> rusqlite::Result<()> {
    let conn = Connection::open_in_memory()?;
    conn.execute_batch(
        "CREATE TABLE user_profile (
            id INTEGER PRIMARY KEY, email TEXT NOT NULL, nickname TEXT NOT NULL DEFAULT 'it''s me',
            bio TEXT, karma INTEGER NOT NULL DEFAULT -3, team_id INTEGER, team_name TEXT,
            created TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, invited_by INTEGER, type INTEGER NOT NULL
        );
        INSERT INTO user_profile (id, email, bio, team_id, team_name, created, invited_by, type)
            VALUES (7, 'a@b.c', NULL, 3, 'reds', '2024-01-01', NULL, 2);",
    )?;
    let rows: Vec<UserProfile> = read_all(&conn)?;
    assert_eq!(
        rows,
        [UserProfile {
            id: 7,
            email: Email("a@b.c".into()),
            nick: "it's me".into(),
            bio: None,
            karma: -3,
            team_id: Some(3),
            team_name: Some("reds".into()),
            created: "2024-01-01".into(),
            invited_by: None,
            r#type: 2,
        }]
    );
    Ok(())
}

#[test]
fn from_row_reports_null_in_a_not_null_field() -> rusqlite::Result<()> {
    let conn = Connection::open_in_memory()?;
    // A hand-made table that lets NULL and out-of-range values in, unlike the generated DDL.
    conn.execute_batch(
        "CREATE TABLE all_types (a, b, c, d, e, f, g, h, i, j, k, l, oa, ob, oc, od, oe, of, og,
            oh, oi, oj, ok, ol);
        INSERT INTO all_types (a, b, c, d, e, f, g, h, i, j, k, l)
            VALUES (1, 2, 3, 4, 5, 6, 7, 1, 0.5, 0.5, NULL, X'');",
    )?;
    let err = read_all::<AllTypes>(&conn).unwrap_err();
    assert!(
        matches!(err, rusqlite::Error::InvalidColumnType(10, ref name, rusqlite::types::Type::Null) if name == "k"),
        "{err:?}"
    );
    conn.execute_batch("UPDATE all_types SET k = 'x', e = 300")?;
    let err = read_all::<AllTypes>(&conn).unwrap_err();
    assert!(matches!(err, rusqlite::Error::IntegralValueOutOfRange(4, 300)), "{err:?}");
    Ok(())
}
