//! The typed query API against real SQLite files: every filter operator with SQL's NULL
//! semantics, IN with 0, 1 and many values, LIKE, OR/NOT precedence, ordering by several keys,
//! NULLS FIRST/LAST, limit/offset, count, exists, first, and errors naming table and column.

#[path = "typed_query_fixture/mod.rs"]
mod fixture;

use fixture::open;
use fixture::schema::{Level, Person};
use migrate_runtime::rusqlite::Connection;
use migrate_runtime::{Crud, Error, Filter, Operation, Table};

type Result<T = ()> = std::result::Result<T, Error>;

fn person(id: i64, name: &str, age: Option<i64>, score: f64) -> Person {
    Person {
        id,
        name: name.into(),
        age,
        email: format!("{}@example.com", name.to_lowercase()),
        score,
        avatar: None,
        level: Level(1),
    }
}

/// Four people: ages 20, 30, 40 and NULL.
fn people(conn: &Connection) -> Result {
    conn.insert_many(&[
        person(1, "Ada", Some(30), 2.5),
        person(2, "Brian", Some(20), 1.0),
        person(3, "Cleo", Some(40), 2.5),
        person(4, "Dan", None, 0.5),
    ])?;
    Ok(())
}

/// The ids of the rows `filter` matches, in key order.
fn ids(conn: &Connection, filter: Filter<'_, Person>) -> Result<Vec<i64>> {
    Ok(conn.find(filter)?.into_iter().map(|p| p.id).collect())
}

#[test]
fn every_comparison_with_sql_null_semantics() -> Result {
    let db = open();
    let conn = &db.conn;
    people(conn)?;
    let age = Person::COL.age;
    assert_eq!(ids(conn, age.gt(30))?, [3]);
    assert_eq!(ids(conn, age.ge(30))?, [1, 3]);
    assert_eq!(ids(conn, age.lt(30))?, [2]);
    assert_eq!(ids(conn, age.le(30))?, [1, 2]);
    // eq/ne compare like Rust's == and != on the Option: NULL equals None only.
    assert_eq!(ids(conn, age.eq(30))?, [1]);
    assert_eq!(ids(conn, age.ne(30))?, [2, 3, 4]);
    assert_eq!(ids(conn, age.eq(None))?, [4]);
    assert_eq!(ids(conn, age.ne(None))?, [1, 2, 3]);
    // An order comparison with NULL is unknown: it matches nothing.
    assert_eq!(ids(conn, age.gt(None))?, Vec::<i64>::new());
    assert_eq!(ids(conn, age.is_null())?, [4]);
    assert_eq!(ids(conn, age.is_not_null())?, [1, 2, 3]);
    // REAL and TEXT columns compare too; text by the column's (BINARY) collation.
    assert_eq!(ids(conn, Person::COL.score.ge(2.5))?, [1, 3]);
    assert_eq!(ids(conn, Person::COL.name.gt("Brian"))?, [3, 4]);
    assert_eq!(ids(conn, Person::COL.name.le("Brian"))?, [1, 2]);
    // A BLOB column takes equality and IN.
    let mut pic = person(5, "Eve", Some(50), 0.0);
    pic.avatar = Some(vec![0, 1, 2]);
    conn.insert(&pic)?;
    assert_eq!(ids(conn, Person::COL.avatar.eq(&[0u8, 1, 2][..]))?, [5]);
    assert_eq!(ids(conn, Person::COL.avatar.in_([vec![9u8], vec![0, 1, 2]]))?, [5]);
    Ok(())
}

#[test]
fn in_with_no_one_and_many_values() -> Result {
    let db = open();
    let conn = &db.conn;
    people(conn)?;
    let id = Person::COL.id;
    assert_eq!(ids(conn, id.in_(Vec::<i64>::new()))?, Vec::<i64>::new());
    // Its negation matches every row, NULLs included (the SQL is a constant).
    assert_eq!(ids(conn, id.in_(Vec::<i64>::new()).not())?, [1, 2, 3, 4]);
    assert_eq!(ids(conn, Person::COL.age.in_(Vec::<i64>::new()).not())?, [1, 2, 3, 4]);
    assert_eq!(ids(conn, id.in_([3]))?, [3]);
    assert_eq!(ids(conn, id.in_([4, 1, 99, 3]))?, [1, 3, 4]);
    // From any iterator, borrowed values too.
    let wanted = [2_i64, 3];
    assert_eq!(ids(conn, id.in_(wanted.iter()))?, [2, 3]);
    assert_eq!(ids(conn, id.in_((1..=4).filter(|i| i % 2 == 0)))?, [2, 4]);
    // Text: &str for a String column.
    assert_eq!(ids(conn, Person::COL.name.in_(["Cleo", "Ada"]))?, [1, 3]);
    // A NULL column is never IN a list, not even one holding None; NOT IN leaves it out too.
    assert_eq!(ids(conn, Person::COL.age.in_([None, Some(20)]))?, [2]);
    assert_eq!(ids(conn, Person::COL.age.in_([20, 30]).not())?, [3]);
    // Many values: one parameter each.
    let many: Vec<i64> = (0..5000).collect();
    assert_eq!(ids(conn, id.in_(many))?, [1, 2, 3, 4]);
    Ok(())
}

#[test]
fn like_matches_patterns_bound_as_values() -> Result {
    let db = open();
    let conn = &db.conn;
    people(conn)?;
    let mut quoted = person(5, "O'Brien \"x\"", Some(1), 0.0);
    quoted.email = "o'brien@example.org".into();
    conn.insert(&quoted)?;
    let email = Person::COL.email;
    assert_eq!(ids(conn, email.like("%@example.com"))?, [1, 2, 3, 4]);
    // SQLite's LIKE ignores ASCII case; `_` is one character.
    assert_eq!(ids(conn, Person::COL.name.like("a_a"))?, [1]);
    assert_eq!(ids(conn, Person::COL.name.like("%'brien \"%"))?, [5]);
    assert_eq!(ids(conn, email.like("'; DROP TABLE person; --"))?, Vec::<i64>::new());
    assert_eq!(Person::query().count(conn)?, 5);
    assert_eq!(ids(conn, email.like("%.org").not())?, [1, 2, 3, 4]);
    Ok(())
}

#[test]
fn or_and_not_nest_as_written() -> Result {
    let db = open();
    let conn = &db.conn;
    people(conn)?;
    let (age, score) = (Person::COL.age, Person::COL.score);
    // (age < 25 OR age > 35) AND score >= 2: only Cleo.
    let grouped = age.lt(25).or(age.gt(35)).and(score.ge(2.0));
    assert_eq!(grouped.to_sql_condition(), r#"("age" < ?1 OR "age" > ?2) AND "score" >= ?3"#);
    assert_eq!(ids(conn, grouped)?, [3]);
    // age < 25 OR (age > 35 AND score >= 2): Brian and Cleo.
    let nested = age.lt(25).or(age.gt(35).and(score.ge(2.0)));
    assert_eq!(nested.to_sql_condition(), r#""age" < ?1 OR ("age" > ?2 AND "score" >= ?3)"#);
    assert_eq!(ids(conn, nested)?, [2, 3]);
    // NOT of an OR: neither holds. Dan's NULL age makes `age > 35` unknown, and NOT unknown
    // is unknown: he is not matched.
    let neither = age.lt(25).or(age.gt(35)).not();
    assert_eq!(neither.to_sql_condition(), r#"NOT ("age" < ?1 OR "age" > ?2)"#);
    assert_eq!(ids(conn, neither)?, [1]);
    // Adding him back explicitly.
    assert_eq!(ids(conn, (!age.gt(25)).or(age.is_null()))?, [2, 4]);
    // Chained ORs and ANDs flatten; parameters are numbered in the order given.
    let chain = Person::COL.id.eq(1).or(Person::COL.id.eq(2)).or(Person::COL.id.eq(4));
    assert_eq!(chain.to_sql_condition(), r#""id" IS ?1 OR "id" IS ?2 OR "id" IS ?3"#);
    assert_eq!(ids(conn, chain.and(age.is_not_null()))?, [1, 2]);
    // Double negation.
    assert_eq!(ids(conn, age.eq(30).not().not())?, [1]);
    Ok(())
}

fn names(rows: Vec<Person>) -> Vec<String> {
    rows.into_iter().map(|p| p.name).collect()
}

#[test]
fn order_by_several_keys_and_nulls() -> Result {
    let db = open();
    let conn = &db.conn;
    people(conn)?;
    // Without an order: primary-key order.
    assert_eq!(names(Person::query().list(conn)?), ["Ada", "Brian", "Cleo", "Dan"]);
    // score DESC, then name DESC among equal scores.
    let q = Person::query().order_by(Person::COL.score.desc()).order_by(Person::COL.name.desc());
    assert_eq!(names(q.list(conn)?), ["Cleo", "Ada", "Brian", "Dan"]);
    let q = Person::query().order_by(Person::COL.score.desc()).order_by(Person::COL.name.asc());
    assert_eq!(names(q.list(conn)?), ["Ada", "Cleo", "Brian", "Dan"]);
    // SQLite's default puts NULL first ascending; NULLS LAST moves it.
    assert_eq!(names(Person::query().order_by(Person::COL.age.asc()).list(conn)?)[0], "Dan");
    let q = Person::query().order_by(Person::COL.age.asc().nulls_last());
    assert_eq!(names(q.list(conn)?), ["Brian", "Ada", "Cleo", "Dan"]);
    let q = Person::query().order_by(Person::COL.age.desc().nulls_first());
    assert_eq!(names(q.list(conn)?), ["Dan", "Cleo", "Ada", "Brian"]);
    // Filter and order together.
    let q = Person::query().filter(Person::COL.age.is_not_null()).order_by(Person::COL.age.desc());
    assert_eq!(names(q.list(conn)?), ["Cleo", "Ada", "Brian"]);
    Ok(())
}

#[test]
fn limit_offset_count_exists_and_first() -> Result {
    let db = open();
    let conn = &db.conn;
    let rows: Vec<Person> =
        (1..=25).map(|i| person(i, &format!("p{i:02}"), Some(i % 5), f64::from(i as u8))).collect();
    conn.insert_many(&rows)?;
    let by_name = Person::query().order_by(Person::COL.name.desc());
    // Pages of 10: 10, 10, 5, then nothing.
    let page = |n: u64| -> Result<Vec<i64>> {
        Ok(by_name_page(conn, n)?.into_iter().map(|p| p.id).collect())
    };
    assert_eq!(page(0)?, (16..=25).rev().collect::<Vec<_>>());
    assert_eq!(page(1)?, (6..=15).rev().collect::<Vec<_>>());
    assert_eq!(page(2)?, (1..=5).rev().collect::<Vec<_>>());
    assert!(page(3)?.is_empty());
    // Offset without a limit: the rest.
    assert_eq!(Person::query().offset(22).list(conn)?.len(), 3);
    assert_eq!(Person::query().limit(0).list(conn)?.len(), 0);
    // count and exists, with a filter, and within a limit/offset.
    let zero_age = Person::query().filter(Person::COL.age.eq(0));
    assert_eq!(zero_age.count(conn)?, 5);
    assert_eq!(Person::query().count(conn)?, 25);
    assert_eq!(Person::query().limit(7).count(conn)?, 7);
    assert_eq!(Person::query().offset(20).limit(10).count(conn)?, 5);
    assert_eq!(Person::query().offset(30).count(conn)?, 0);
    assert!(zero_age.exists(conn)?);
    assert!(!Person::query().filter(Person::COL.age.gt(10)).exists(conn)?);
    assert!(!Person::query().offset(25).exists(conn)?);
    assert!(Person::query().offset(24).exists(conn)?);
    // first: the first row of the order, or None.
    assert_eq!(by_name.first(conn)?.map(|p| p.id), Some(25));
    let youngest = Person::query().order_by(Person::COL.age.asc()).order_by(Person::COL.id.desc());
    assert_eq!(youngest.first(conn)?.map(|p| p.id), Some(25));
    assert_eq!(Person::query().filter(Person::COL.id.gt(100)).first(conn)?, None);
    // A query is reusable: count, then list the same rows.
    assert_eq!(zero_age.list(conn)?.len() as u64, zero_age.count(conn)?);
    Ok(())
}

fn by_name_page(conn: &Connection, n: u64) -> Result<Vec<Person>> {
    Person::query().order_by(Person::COL.name.desc()).limit(10).offset(n * 10).list(conn)
}

#[test]
fn a_query_runs_on_every_crud_connection() -> Result {
    let mut db = open();
    people(&db.conn)?;
    let tx = db.conn.transaction()?;
    {
        let typed = migrate_runtime::Tx::new(&tx);
        let q = Person::query().filter(Person::COL.age.ge(30));
        assert_eq!(q.count(&typed)?, 2);
        assert_eq!(q.count(&*tx)?, 2);
        assert!(q.exists(&typed)?);
    }
    tx.commit()?;
    Ok(())
}

#[test]
fn errors_name_the_operation_table_and_column() -> Result {
    let db = open();
    let conn = &db.conn;
    people(conn)?;
    // A value that does not convert: the error names the filter's column.
    let too_big =
        Person::query().filter(Person::COL.id.gt(0).and(Person::COL.level.eq(Level(200))));
    for (err, operation) in [
        (too_big.list(conn).unwrap_err(), Operation::Query),
        (too_big.count(conn).unwrap_err(), Operation::Count),
        (too_big.exists(conn).unwrap_err(), Operation::Exists),
    ] {
        match &err {
            Error::Data { operation: op, table: "person", column: Some("level"), .. } => {
                assert_eq!(*op, operation);
            }
            other => panic!("expected a data error naming person.level, got {other:?}"),
        }
        assert!(err.to_string().ends_with(r#" "person", column "level""#), "{err}");
        assert!(std::error::Error::source(&err).is_some());
    }
    // A stored value that does not fit its field names the column too.
    conn.execute(r#"UPDATE "person" SET "age" = 'old' WHERE "id" = 1"#, [])?;
    let err = Person::query().filter(Person::COL.id.eq(1)).list(conn).unwrap_err();
    assert!(matches!(err, Error::Data { table: "person", column: Some("age"), .. }), "{err:?}");
    assert_eq!(err.to_string(), r#"could not query "person", column "age""#);
    Ok(())
}
