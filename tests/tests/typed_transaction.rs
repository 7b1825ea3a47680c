//! The typed API inside and outside transactions: `Database::transaction` (and the generated
//! `Db`'s, through `DerefMut`) commits on `Ok`, rolls back on `Err` and on panic; the
//! operations also run on a plain `rusqlite::Transaction` and a savepoint.

#[path = "typed_fixture/mod.rs"]
mod fixture;

use std::panic::{AssertUnwindSafe, catch_unwind};

use fixture::schema::{Member, Page, Team};
use fixture::{count, create_sql, create_tables};
use migrate_runtime::rusqlite::Connection;
use migrate_runtime::{
    Crud, Database, Error, Migration, Options, Phase, STATEMENT_BREAKPOINT, chain_hash, hash_sql,
};

type Result<T = ()> = std::result::Result<T, Error>;

migrate_runtime::__define_db! { name: EmptyDb, migrations: [] }

/// One migration creating every fixture table, as the build script would embed it.
fn migrations() -> Vec<Migration> {
    let sql = create_sql().join(&format!("\n{STATEMENT_BREAKPOINT}\n"));
    let sql: &'static str = Box::leak(format!("{sql}\n").into_boxed_str());
    let hash: &'static str = Box::leak(hash_sql(sql).into_boxed_str());
    let chain: &'static str = Box::leak(chain_hash(None, hash).into_boxed_str());
    vec![Migration { idx: 0, tag: "0000_create_fixture", sql, hash, chain }]
}

fn team(id: i32, name: &str) -> Team {
    Team { id, name: name.into() }
}

fn names(teams: Vec<Team>) -> Vec<String> {
    teams.into_iter().map(|t| t.name).collect()
}

#[derive(Debug)]
enum AppError {
    Db(Error),
    Invalid(&'static str),
}

impl From<Error> for AppError {
    fn from(e: Error) -> Self {
        AppError::Db(e)
    }
}

#[test]
fn commits_on_ok_and_returns_the_value() -> Result {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("app.db");
    let mut db = Database::open(&path, &migrations(), &Options::new())?;
    let ids = db.transaction(|tx| {
        let a = tx.insert(&team(0, "reds"))?;
        let b = tx.insert(&team(0, "blues"))?;
        // The transaction sees its own writes.
        assert_eq!(tx.list::<Team>()?.len(), 2);
        Ok::<_, Error>((a, b))
    })?;
    assert_eq!(ids, (1, 2));
    drop(db);
    // Committed: another connection on the file sees the rows.
    let other = Connection::open(&path)?;
    assert_eq!(names(other.list::<Team>()?), ["reds", "blues"]);
    Ok(())
}

#[test]
fn rolls_back_on_err_and_passes_the_error_through() -> Result {
    let mut db = Database::open_in_memory(&migrations(), &Options::new())?;
    db.insert(&team(1, "kept"))?;
    let result = db.transaction(|tx| {
        tx.insert(&team(2, "dropped"))?;
        tx.update(&team(1, "renamed"))?;
        Err::<(), _>(AppError::Invalid("the caller changed its mind"))
    });
    assert!(matches!(result, Err(AppError::Invalid("the caller changed its mind"))));
    assert_eq!(names(db.list::<Team>()?), ["kept"]);

    // A failing typed operation inside (a UNIQUE violation) rolls back the earlier writes.
    let result = db.transaction(|tx| {
        tx.insert(&team(3, "first"))?;
        tx.insert(&team(4, "kept"))?;
        Ok::<_, AppError>(())
    });
    match result {
        Err(AppError::Db(Error::Data { table: "teams", .. })) => {}
        other => panic!("expected the insert's error, got {other:?}"),
    }
    assert_eq!(names(db.list::<Team>()?), ["kept"]);
    Ok(())
}

#[test]
fn rolls_back_on_panic_and_stays_usable() -> Result {
    let mut db = Database::open_in_memory(&migrations(), &Options::new())?;
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        db.transaction(|tx| {
            tx.insert(&team(1, "half-written")).expect("insert");
            panic!("the application crashed mid-transaction");
            #[allow(unreachable_code)]
            Ok::<(), Error>(())
        })
    }));
    assert!(outcome.is_err());
    assert!(db.list::<Team>()?.is_empty());
    assert!(db.conn().is_autocommit(), "no transaction is left open");
    db.transaction(|tx| tx.insert(&team(1, "after")).map(drop))?;
    assert_eq!(names(db.list::<Team>()?), ["after"]);
    Ok(())
}

#[test]
fn uncommitted_writes_are_invisible_to_other_connections() -> Result {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("app.db");
    let mut db = Database::open(&path, &migrations(), &Options::new())?;
    let reader = Connection::open(&path)?;
    db.transaction(|tx| {
        tx.insert(&team(1, "pending"))?;
        assert_eq!(tx.list::<Team>()?.len(), 1);
        assert!(reader.list::<Team>()?.is_empty(), "WAL readers see the last commit");
        Ok::<_, Error>(())
    })?;
    assert_eq!(names(reader.list::<Team>()?), ["pending"]);
    Ok(())
}

#[test]
fn a_transaction_cannot_begin_inside_another() -> Result {
    let mut db = Database::open_in_memory(&migrations(), &Options::new())?;
    db.conn().execute_batch("BEGIN")?;
    let err = db.transaction(|_| Ok::<_, Error>(())).unwrap_err();
    let Error::Sqlite { phase: Phase::Transaction, tag: None, source } = &err else {
        panic!("{err:?}")
    };
    assert!(source.to_string().contains("within a transaction"), "{source}");
    assert_eq!(err.to_string(), "sqlite error while beginning or committing a transaction");
    db.conn().execute_batch("ROLLBACK")?;
    Ok(())
}

#[test]
fn the_operations_run_on_a_rusqlite_transaction_and_savepoint() -> Result {
    let mut conn = Connection::open_in_memory()?;
    create_tables(&conn);
    let mut tx = conn.transaction()?;
    tx.insert(&team(1, "reds"))?;
    {
        let sp = tx.savepoint()?;
        sp.insert(&Member { id: 0, email: "a@x".into(), karma: 1, team_id: Some(1) })?;
        assert_eq!(sp.list::<Member>()?.len(), 1);
        // Dropped without commit: the savepoint rolls back.
    }
    assert!(tx.list::<Member>()?.is_empty());
    let page = Page { owner: 1, slug: "s".into(), body: "b".into(), views: None };
    tx.insert(&page)?;
    tx.commit()?;
    assert_eq!(conn.get::<Page>((1, "s"))?, Some(page));
    assert_eq!(count(&conn, "SELECT count(*) FROM teams"), 1);
    Ok(())
}

#[test]
fn the_generated_db_has_the_operations_and_transaction()
-> std::result::Result<(), Box<dyn std::error::Error>> {
    let mut db = EmptyDb::open_in_memory_and_migrate()?;
    create_tables(db.conn());
    db.insert(&team(0, "reds"))?;
    let id = db.transaction(|tx| {
        let id = tx.insert(&team(0, "blues"))?;
        tx.insert(&Member { id: 0, email: "b@x".into(), karma: 0, team_id: Some(2) })?;
        Ok::<_, Box<dyn std::error::Error>>(id)
    })?;
    assert_eq!(id, 2);
    assert_eq!(db.get::<Team>(2)?.map(|t| t.name).as_deref(), Some("blues"));
    assert_eq!(db.find(Member::COL.team_id.eq(2))?.len(), 1);
    assert!(db.delete::<Member>(1)?);
    assert!(db.update(&team(1, "red"))?);
    assert_eq!(names(db.list::<Team>()?), ["red", "blues"]);
    Ok(())
}

#[test]
fn every_operation_runs_in_a_tx_with_its_statements_kept() -> Result {
    let mut db = Database::open_in_memory(&migrations(), &Options::new())?;
    db.transaction(|tx| {
        for i in 1..=50 {
            assert_eq!(tx.insert(&team(0, &format!("t{i}")))?, i64::from(i));
        }
        // More distinct statements than the Tx keeps: the rest still run.
        for i in 1..=40 {
            let filter = Team::COL.name.eq(format!("t{i}"));
            let filter = (0..i % 3).fold(filter, |f, _| f.and(Team::COL.id.eq(i)));
            assert_eq!(tx.find(filter)?.len(), 1, "find t{i}");
        }
        assert!(tx.update(&team(7, "seven"))?);
        assert_eq!(tx.get::<Team>(7)?.map(|t| t.name).as_deref(), Some("seven"));
        assert!(tx.delete::<Team>(8)?);
        assert!(!tx.delete::<Team>(8)?);
        // Raw SQL through the Deref to rusqlite's Transaction, in the same transaction.
        tx.execute("DELETE FROM teams WHERE id > 10", [])?;
        assert_eq!(tx.list::<Team>()?.len(), 9);
        Ok::<_, Error>(())
    })?;
    assert_eq!(count(db.conn(), "SELECT count(*) FROM teams"), 9);
    assert_eq!(db.get::<Team>(7)?.map(|t| t.name).as_deref(), Some("seven"));
    Ok(())
}
