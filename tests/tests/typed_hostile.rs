//! Hostile identifiers through the typed API: tables and columns named `order`, `select`,
//! `from`, `group`, `values`, `rowid`, with a double quote, a space or a dot. Every statement
//! quotes them, so each operation reads and writes exactly the named table and columns.

#[path = "typed_fixture/mod.rs"]
mod fixture;

use fixture::open;
use fixture::schema::{Order, Select, Weird};
use migrate_runtime::{Crud, Error, Keyed, Table, quote_ident};

type Result<T = ()> = std::result::Result<T, Error>;

#[test]
fn the_tables_have_exactly_the_hostile_names() -> Result {
    let conn = open();
    assert_eq!((Order::NAME, Weird::NAME, Select::NAME), ("order", "we\"ird table", "select"));
    assert_eq!(Order::COLUMNS, ["select", "we\"ird", "sp ace", "from", "a.b"]);
    assert_eq!(Weird::PRIMARY_KEY, ["group", "where\""]);
    for table in [Order::NAME, Weird::NAME, Select::NAME] {
        let found: i64 = conn.query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?1",
            [table],
            |r| r.get(0),
        )?;
        assert_eq!(found, 1, "table {table}");
    }
    Ok(())
}

#[test]
fn every_operation_on_keyword_and_quoted_names() -> Result {
    let conn = open();
    let order = |id, weird: &str, space: Option<&str>, from| Order {
        id,
        weird: weird.into(),
        space: space.map(Into::into),
        from,
        dotted: None,
    };
    // `select` is the rowid alias: 0 assigns.
    assert_eq!(conn.insert(&order(0, "a\"b", Some("x y"), 1))?, 1);
    assert_eq!(conn.insert(&order(0, "'; DROP TABLE \"order\"; --", None, 2))?, 2);
    assert_eq!(conn.get::<Order>(2)?, Some(order(2, "'; DROP TABLE \"order\"; --", None, 2)));
    let mut first = order(1, "changed", None, 9);
    first.dotted = Some(5);
    assert!(conn.update(&first)?);
    assert_eq!(conn.get::<Order>(1)?, Some(first.clone()));
    assert_eq!(conn.find(Order::COL.dotted.eq(5))?, [first.clone()]);
    assert_eq!(conn.find(Order::COL.space.eq(None).and(Order::COL.from.eq(2)))?.len(), 1);
    assert_eq!(conn.find(Order::COL.weird.eq("changed"))?, [first.clone()]);
    assert_eq!(conn.list::<Order>()?.len(), 2);
    assert!(conn.delete::<Order>(2)?);
    assert_eq!(conn.list::<Order>()?, [first]);
    // Raw SQL through the constants: quoted, so the keyword and the quote are names.
    let sql = format!(
        "SELECT {} FROM {} WHERE {} = ?1",
        Order::COL.weird,
        quote_ident(Order::NAME),
        Order::COL.id
    );
    assert_eq!(sql, r#"SELECT "we""ird" FROM "order" WHERE "select" = ?1"#);
    let weird: String = conn.query_row(&sql, [1], |r| r.get(0))?;
    assert_eq!(weird, "changed");

    let w = |group: &str, r#where, values: Option<&str>| Weird {
        group: group.into(),
        r#where,
        values: values.map(Into::into),
    };
    conn.insert(&w("g\"1", 1, None))?;
    conn.insert(&w("g\"1", 2, Some("v")))?;
    assert_eq!(conn.get::<Weird>(("g\"1", 2))?, Some(w("g\"1", 2, Some("v"))));
    assert!(conn.update(&w("g\"1", 1, Some("now")))?);
    assert_eq!(conn.find(Weird::COL.values.eq("now"))?, [w("g\"1", 1, Some("now"))]);
    assert_eq!(conn.find(Weird::COL.r#where.eq(2))?[0].key(), ("g\"1", 2));
    assert!(conn.delete::<Weird>(("g\"1", 1))?);
    assert_eq!(conn.list::<Weird>()?, [w("g\"1", 2, Some("v"))]);

    // A column named `rowid` shadows the rowid: the value is the column's.
    let s = Select { select: "from".into(), rowid: 77 };
    assert_eq!(conn.insert(&s)?, 1, "the real rowid is still assigned");
    assert_eq!(conn.get::<Select>("from")?, Some(s.clone()));
    assert!(conn.update(&Select { rowid: 78, ..s.clone() })?);
    assert_eq!(conn.find(Select::COL.rowid.eq(78))?.len(), 1);
    assert!(conn.delete::<Select>("from")?);
    assert!(conn.list::<Select>()?.is_empty());
    Ok(())
}

#[test]
fn errors_quote_hostile_names() -> Result {
    let conn = open();
    let w = Weird { group: "g".into(), r#where: 1, values: None };
    conn.insert(&w)?;
    let err = conn.insert(&w).unwrap_err();
    assert_eq!(err.to_string(), r#"could not insert into "we""ird table""#);
    conn.execute(r#"UPDATE "we""ird table" SET "values" = X'00'"#, [])?;
    let err = conn.list::<Weird>().unwrap_err();
    assert_eq!(err.to_string(), r#"could not list "we""ird table", column "values""#);
    Ok(())
}
