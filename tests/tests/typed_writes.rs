//! The typed writes beyond insert/update against real SQLite files: `insert_many` (its own
//! transaction, or a savepoint inside the caller's), upserts on the key and on a UNIQUE column,
//! chosen-column updates, and inserts that leave columns to their defaults; hostile names.

#[path = "typed_query_fixture/mod.rs"]
mod fixture;

use fixture::schema::{Hostile, Level, Person, Tally, Task};
use fixture::{count, open};
use migrate_runtime::{Crud, Database, Error, Operation, Options, Table, Tx};

type Result<T = ()> = std::result::Result<T, Error>;

fn person(id: i64, email: &str) -> Person {
    Person {
        id,
        name: format!("n{id}"),
        age: Some(id),
        email: email.into(),
        score: 0.0,
        avatar: None,
        level: Level(1),
    }
}

#[test]
fn insert_many_is_all_or_nothing_in_its_own_transaction() -> Result {
    let db = open();
    let conn = &db.conn;
    let rows: Vec<Person> = (1..=1000).map(|i| person(i, &format!("{i}@x"))).collect();
    assert_eq!(conn.insert_many(&rows)?, 1000);
    assert!(conn.is_autocommit(), "its transaction is committed");
    assert_eq!(conn.list::<Person>()?, rows);
    // A duplicate email half-way: nothing of the batch stays.
    let batch = vec![person(1001, "new@x"), person(1002, "500@x"), person(1003, "other@x")];
    let err = conn.insert_many(&batch).unwrap_err();
    assert!(
        matches!(err, Error::Data { operation: Operation::InsertMany, table: "person", .. }),
        "{err:?}"
    );
    assert_eq!(err.to_string(), r#"could not insert rows into "person""#);
    assert!(conn.is_autocommit(), "its transaction is rolled back");
    assert_eq!(count(conn, r#"SELECT count(*) FROM "person""#), 1000);
    // A value that does not convert names its column, and rolls back too.
    let mut bad = person(2000, "bad@x");
    bad.level = Level(200);
    let err = conn.insert_many([&person(1999, "ok@x"), &bad]).unwrap_err();
    assert!(matches!(err, Error::Data { column: Some("level"), .. }), "{err:?}");
    assert_eq!(count(conn, r#"SELECT count(*) FROM "person""#), 1000);
    // An empty batch inserts nothing.
    assert_eq!(conn.insert_many(&Vec::<Person>::new())?, 0);
    Ok(())
}

#[test]
fn insert_many_inside_the_callers_transaction() -> Result {
    let mut fx = open();
    {
        let tx = fx.conn.transaction()?;
        let typed = Tx::new(&tx);
        typed.insert(&person(1, "a@x"))?;
        assert_eq!(typed.insert_many(&[person(2, "b@x"), person(3, "c@x")])?, 2);
        // A failing batch rolls back its own rows only (a savepoint): the caller's transaction
        // keeps the rows before it and is still open.
        assert!(typed.insert_many(&[person(4, "d@x"), person(5, "a@x")]).is_err());
        assert!(!tx.is_autocommit());
        assert_eq!(Person::query().count(&typed)?, 3);
        drop(typed);
        // The caller decides: rolling back removes the batch too.
        tx.rollback()?;
    }
    assert_eq!(Person::query().count(&fx.conn)?, 0);
    // Through Database::transaction: committed with the closure.
    let path = fx.dir.path().join("app.db");
    drop(fx.conn);
    let mut db = Database::open(&path, &[], &Options::new())?;
    db.transaction(|tx| {
        tx.insert_many(&(1..=50).map(|i| person(i, &format!("{i}@x"))).collect::<Vec<_>>())?;
        Ok::<_, Error>(())
    })?;
    assert_eq!(Person::query().count(&db)?, 50);
    let failed: Result = db.transaction(|tx| {
        tx.insert_many(&[person(51, "51@x")])?;
        tx.insert(&person(52, "1@x"))?; // duplicate email: the closure fails
        Ok(())
    });
    assert!(failed.is_err());
    assert_eq!(Person::query().count(&db)?, 50);
    Ok(())
}

#[test]
fn insert_many_assigns_rowid_keys_of_zero() -> Result {
    let db = open();
    let conn = &db.conn;
    let task = |id, title: &str| Task {
        id,
        title: title.into(),
        status: "todo".into(),
        created: "2026-01-01 00:00:00".into(),
        priority: None,
        note: None,
    };
    // Mixed: explicit keys and keys SQLite assigns, through two statements.
    assert_eq!(conn.insert_many(&[task(10, "a"), task(0, "b"), task(0, "c"), task(20, "d")])?, 4);
    let ids: Vec<(i64, String)> =
        conn.list::<Task>()?.into_iter().map(|t| (t.id, t.title)).collect();
    assert_eq!(ids, [(10, "a".into()), (11, "b".into()), (12, "c".into()), (20, "d".into())]);
    Ok(())
}

#[test]
fn upsert_on_the_primary_key() -> Result {
    let db = open();
    let conn = &db.conn;
    let tally = |day: &str, hits, label: Option<&str>| Tally {
        owner: 7,
        day: day.into(),
        hits,
        label: label.map(Into::into),
    };
    conn.upsert(&tally("mon", 1, Some("first")))?;
    conn.upsert(&tally("tue", 5, None))?;
    // The same composite key: the other columns are overwritten, no row is added.
    conn.upsert(&tally("mon", 2, None))?;
    assert_eq!(conn.list::<Tally>()?, [tally("mon", 2, None), tally("tue", 5, None)]);
    // Returned: the row's rowid, the same for the insert and the update.
    let first = conn.upsert(&tally("wed", 1, None))?;
    assert_eq!(conn.upsert(&tally("wed", 9, None))?, first);
    // A constraint other than the key still fails, naming the table.
    let err = conn
        .upsert(&Person { level: Level(1), ..person(1, "p@x") })
        .and_then(|_| conn.upsert(&person(2, "p@x")))
        .unwrap_err();
    assert!(
        matches!(err, Error::Data { operation: Operation::Upsert, table: "person", .. }),
        "{err:?}"
    );
    Ok(())
}

#[test]
fn upsert_on_a_unique_column_keeps_the_key() -> Result {
    let db = open();
    let conn = &db.conn;
    let id = conn.upsert_on(&person(1, "ada@x"), Person::COL.email)?;
    assert_eq!(id, 1);
    // Another key, the same email: the existing row (key 1) is updated, its key kept.
    let mut again = person(99, "ada@x");
    again.name = "Ada".into();
    assert_eq!(conn.upsert_on(&again, Person::COL.email)?, 1);
    let stored = conn.list::<Person>()?;
    assert_eq!(stored.len(), 1);
    assert_eq!((stored[0].id, stored[0].name.as_str(), stored[0].age), (1, "Ada", Some(99)));
    // Columns that are no uniqueness: SQLite refuses, the error names the table.
    let err = conn.upsert_on(&person(2, "b@x"), Person::COL.name).unwrap_err();
    assert!(
        matches!(err, Error::Data { operation: Operation::Upsert, table: "person", .. }),
        "{err:?}"
    );
    let source = std::error::Error::source(&err).map(ToString::to_string).unwrap_or_default();
    assert!(source.contains("ON CONFLICT clause does not match"), "{source}");
    // An empty target: any uniqueness.
    assert_eq!(
        conn.upsert_on(&person(1, "changed@x"), [] as [migrate_runtime::Column<Person, i64>; 0])?,
        1
    );
    assert_eq!(conn.get::<Person>(1)?.map(|p| p.email).as_deref(), Some("changed@x"));
    Ok(())
}

#[test]
fn update_columns_writes_only_the_chosen_ones() -> Result {
    let db = open();
    let conn = &db.conn;
    conn.insert(&person(1, "a@x"))?;
    let mut stale = person(1, "stale@x");
    stale.name = "renamed".into();
    stale.age = None;
    stale.score = 9.5;
    assert!(conn.update_columns(&stale, Person::COL.name)?);
    let row = conn.get::<Person>(1)?.expect("row 1");
    assert_eq!((row.name.as_str(), row.email.as_str(), row.age), ("renamed", "a@x", Some(1)));
    // A tuple of columns of different types, in any order.
    assert!(conn.update_columns(&stale, (Person::COL.score, Person::COL.age))?);
    let row = conn.get::<Person>(1)?.expect("row 1");
    assert_eq!((row.score, row.age, row.email.as_str()), (9.5, None, "a@x"));
    // No such row: false, nothing written.
    assert!(!conn.update_columns(&person(2, "b@x"), Person::COL.name)?);
    assert_eq!(Person::query().count(conn)?, 1);
    // No column: only tells whether the row exists.
    let none: [migrate_runtime::Column<Person, i64>; 0] = [];
    assert!(conn.update_columns(&row, none)?);
    assert!(!conn.update_columns(&person(3, "c@x"), none)?);
    // A chosen column whose value does not convert is named.
    stale.level = Level(200);
    let err = conn.update_columns(&stale, (Person::COL.name, Person::COL.level)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Data { operation: Operation::UpdateColumns, column: Some("level"), .. }
        ),
        "{err:?}"
    );
    // A constraint names the table.
    conn.insert(&person(2, "b@x"))?;
    let err = conn.update_columns(&person(2, "a@x"), Person::COL.email).unwrap_err();
    assert_eq!(err.to_string(), r#"could not update columns of "person""#);
    Ok(())
}

#[test]
fn insert_with_defaults_leaves_the_named_columns_to_sqlite() -> Result {
    let db = open();
    let conn = &db.conn;
    let task = Task {
        id: 0,
        title: "write".into(),
        status: "ignored".into(),
        created: "ignored".into(),
        priority: None,
        note: Some("kept".into()),
    };
    let id = conn
        .insert_with_defaults(&task, (Task::COL.status, Task::COL.created, Task::COL.priority))?;
    let stored = conn.get::<Task>(id)?.expect("inserted");
    assert_eq!(stored.status, "todo");
    assert_eq!(stored.priority, Some(3));
    assert_eq!(stored.note.as_deref(), Some("kept"));
    // CURRENT_TIMESTAMP: `YYYY-MM-DD HH:MM:SS`.
    let created = stored.created.as_bytes();
    assert_eq!(created.len(), 19, "{}", stored.created);
    assert_eq!((created[4], created[10], created[13]), (b'-', b' ', b':'));
    // Plain insert writes every field: None is NULL, never the default.
    let id = conn.insert(&Task { note: None, ..task.clone() })?;
    assert_eq!(conn.get::<Task>(id)?.expect("inserted").priority, None);
    // A left-out column without a default is NULL; NOT NULL without a default fails.
    let id = conn.insert_with_defaults(&task, Task::COL.note)?;
    assert_eq!(conn.get::<Task>(id)?.expect("inserted").note, None);
    let err = conn.insert_with_defaults(&task, Task::COL.title).unwrap_err();
    assert!(
        matches!(err, Error::Data { operation: Operation::InsertWithDefaults, table: "task", .. }),
        "{err:?}"
    );
    let source = std::error::Error::source(&err).map(ToString::to_string).unwrap_or_default();
    assert!(source.contains("NOT NULL constraint failed: task.title"), "{source}");
    // An explicit key is kept; leaving it out lets SQLite assign one.
    assert_eq!(conn.insert_with_defaults(&Task { id: 50, ..task.clone() }, Task::COL.status)?, 50);
    assert_eq!(conn.insert_with_defaults(&Task { id: 70, ..task.clone() }, Task::COL.id)?, 51);
    Ok(())
}

#[test]
fn hostile_names_through_queries_and_writes() -> Result {
    let db = open();
    let conn = &db.conn;
    assert_eq!(Hostile::NAME, "we\"ird \"table");
    assert_eq!(Hostile::COLUMNS, ["ke\"y", "or\"der", "select", "group by"]);
    let row = |key, order: &str, select| Hostile {
        key,
        order: order.into(),
        select,
        group: format!("g{key}"),
    };
    conn.insert_many(&[row(1, "a\"'", Some(1)), row(2, "b", None), row(3, "c", Some(3))])?;
    let q = Hostile::query()
        .filter(Hostile::COL.order.like("%\"'").or(Hostile::COL.select.is_null()))
        .order_by(Hostile::COL.group.desc());
    assert!(q.to_sql().contains(r#"FROM "we""ird ""table" WHERE "or""der" LIKE ?1 OR "select" IS NULL ORDER BY "group by" DESC"#), "{}", q.to_sql());
    assert_eq!(q.list(conn)?.into_iter().map(|h| h.key).collect::<Vec<_>>(), [2, 1]);
    assert_eq!(q.count(conn)?, 2);
    assert!(q.exists(conn)?);
    conn.upsert_on(&row(9, "b", Some(9)), Hostile::COL.order)?;
    assert_eq!(conn.get::<Hostile>(2)?.and_then(|h| h.select), Some(9));
    conn.upsert(&row(3, "c2", None))?;
    assert_eq!(conn.get::<Hostile>(3)?, Some(row(3, "c2", None)));
    assert!(conn.update_columns(&row(1, "ignored", Some(5)), Hostile::COL.select)?);
    assert_eq!(conn.get::<Hostile>(1)?, Some(row(1, "a\"'", Some(5))));
    conn.insert_with_defaults(&row(4, "d", Some(4)), Hostile::COL.select)?;
    assert_eq!(conn.get::<Hostile>(4)?, Some(row(4, "d", None)));
    // The raw table holds exactly what the typed API wrote.
    assert_eq!(count(conn, r#"SELECT count(*) FROM "we""ird ""table""#), 4);
    Ok(())
}
