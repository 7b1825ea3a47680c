//! `Options::progress`: what the callback sees during a long upgrade, and cancelling from it.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use migrate_runtime::rusqlite::Connection;
use migrate_runtime::{
    Control, Database, Error, LEDGER_TABLE, Migration, Options, ProgressHook, chain_hash, hash_sql,
};

const ROWS: u64 = 200_000;

fn migrations(texts: &[(&'static str, &str)]) -> Vec<Migration> {
    let mut out: Vec<Migration> = Vec::new();
    for (i, &(tag, sql)) in texts.iter().enumerate() {
        let sql: &'static str = Box::leak(sql.to_owned().into_boxed_str());
        let hash: &'static str = Box::leak(hash_sql(sql).into_boxed_str());
        let chain: &'static str =
            Box::leak(chain_hash(out.last().map(|m| m.chain), hash).into_boxed_str());
        let idx = u32::try_from(i).unwrap();
        out.push(Migration { idx, tag, sql, hash, chain });
    }
    out
}

/// Migration 0 creates and fills `books` (200k rows, one index); migration 1 rebuilds it as the
/// build script does (a copy of every row); migration 2 adds a table.
fn history() -> Vec<Migration> {
    let create = format!(
        "CREATE TABLE \"books\" (\"id\" INTEGER PRIMARY KEY, \"title\" TEXT NOT NULL, \"year\" INTEGER);\n\
         --> statement-breakpoint\n\
         CREATE INDEX \"books_year\" ON \"books\" (\"year\");\n\
         --> statement-breakpoint\n\
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ROWS}) \
         INSERT INTO \"books\" SELECT i, 'title ' || i, 1900 + i % 120 FROM n;\n"
    );
    let rebuild = "CREATE TABLE \"__new_books\" (\"id\" INTEGER PRIMARY KEY, \"title\" TEXT NOT NULL, \
         \"year\" INTEGER NOT NULL DEFAULT 2000);\n\
         --> statement-breakpoint\n\
         INSERT INTO \"__new_books\" (\"id\", \"title\", \"year\") SELECT \"id\", \"title\", coalesce(\"year\", 2000) FROM \"books\";\n\
         --> statement-breakpoint\n\
         DROP TABLE \"books\";\n\
         --> statement-breakpoint\n\
         ALTER TABLE \"__new_books\" RENAME TO \"books\";\n\
         --> statement-breakpoint\n\
         CREATE INDEX \"books_year\" ON \"books\" (\"year\");\n";
    migrations(&[
        ("0000_books", &create),
        ("0001_rebuild_books", rebuild),
        ("0002_notes", "CREATE TABLE \"notes\" (\"id\" INTEGER PRIMARY KEY);\n"),
    ])
}

/// What a report looked like, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    migration: usize,
    migrations: usize,
    tag: String,
    statement: usize,
    statements: usize,
    rows: Option<(u64, u64)>,
}

fn recording(
    cancel: impl Fn(&Seen) -> bool + Send + 'static,
) -> (ProgressHook, Arc<Mutex<Vec<Seen>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let hook = ProgressHook::new(move |p| {
        let s = Seen {
            migration: p.migration,
            migrations: p.migrations,
            tag: p.tag.to_owned(),
            statement: p.statement,
            statements: p.statements,
            rows: p.rows.map(|r| (r.done, r.expected)),
        };
        let stop = cancel(&s);
        log.lock().unwrap().push(s);
        if stop { Control::Cancel } else { Control::Continue }
    })
    .every(Duration::ZERO);
    (hook, seen)
}

/// Everything a cancelled run must leave as it was, read through a fresh connection.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    ledger: Vec<(i64, String, String)>,
    schema: Vec<String>,
    rows: i64,
    checksum: i64,
}

fn snapshot(path: &Path) -> Snapshot {
    let conn = Connection::open(path).unwrap();
    let ledger = conn
        .prepare(&format!("SELECT idx, tag, chain FROM \"{LEDGER_TABLE}\" ORDER BY idx"))
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let schema = conn
        .prepare("SELECT coalesce(sql, name) FROM sqlite_schema ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let (rows, checksum) = conn
        .query_row(
            "SELECT count(*), total(id * 7 + length(title) * 13 + coalesce(year, 0)) FROM books",
            [],
            |r| Ok((r.get(0)?, r.get::<_, f64>(1)? as i64)),
        )
        .unwrap();
    Snapshot { ledger, schema, rows, checksum }
}

#[test]
fn the_callback_sees_every_migration_and_statement_in_order_and_ends_at_100_percent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("books.db");
    let all = history();
    Database::open(&path, &all[..1], &Options::new()).unwrap();

    let (hook, seen) = recording(|_| false);
    let db = Database::open(&path, &all, &Options::new().progress_hook(hook)).unwrap();
    assert_eq!(db.report().applied.len(), 2);
    let seen = seen.lock().unwrap().clone();

    // Positions never go back: (migration, statement) increases, and within one statement the
    // rows done increase and never pass the rows expected.
    for pair in seen.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert!((a.migration, a.statement) <= (b.migration, b.statement), "{a:?} then {b:?}");
        if (a.migration, a.statement) == (b.migration, b.statement)
            && let (Some((da, ea)), Some((db, eb))) = (a.rows, b.rows)
        {
            assert_eq!(ea, eb);
            assert!(da <= db && db <= eb, "{a:?} then {b:?}");
        }
    }
    assert!(seen.iter().all(|s| s.migrations == 2 && s.statement <= s.statements));
    // Migration 1 of 2 is the rebuild: 5 statements, the second copies every row.
    let rebuild: Vec<&Seen> = seen.iter().filter(|s| s.migration == 1).collect();
    assert!(rebuild.iter().all(|s| s.tag == "0001_rebuild_books" && s.statements == 5));
    let copy: Vec<(u64, u64)> =
        rebuild.iter().filter(|s| s.statement == 2).filter_map(|s| s.rows).collect();
    assert!(copy.len() > 2, "the copy reports while it runs: {copy:?}");
    assert!(copy.iter().all(|&(_, expected)| expected == ROWS));
    assert!(copy.iter().any(|&(done, _)| done > 0 && done < ROWS), "{copy:?}");
    assert_eq!(copy.last(), Some(&(ROWS, ROWS)));
    // Statements that copy nothing report no rows.
    assert!(rebuild.iter().filter(|s| s.statement != 2).all(|s| s.rows.is_none()));
    // The last report: the last statement of the last migration, ended.
    let last = seen.last().unwrap();
    assert_eq!(
        (last.migration, last.tag.as_str(), last.statement, last.statements),
        (2, "0002_notes", 1, 1)
    );
    // Up to date: the callback is never called.
    let (hook, again) = recording(|_| false);
    drop(db);
    Database::open(&path, &all, &Options::new().progress_hook(hook)).unwrap();
    assert!(again.lock().unwrap().is_empty());
}

#[test]
fn cancelling_mid_copy_leaves_the_file_exactly_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("books.db");
    let all = history();
    Database::open(&path, &all[..1], &Options::new()).unwrap();
    let before = snapshot(&path);
    let watcher = Connection::open(&path).unwrap();
    let version =
        |c: &Connection| -> i64 { c.query_row("PRAGMA data_version", [], |r| r.get(0)).unwrap() };
    let version_before = version(&watcher);

    let (hook, seen) = recording(|s| {
        s.rows.is_some_and(|(done, expected)| done > expected / 4 && done < expected)
    });
    let err = Database::open(&path, &all, &Options::new().progress_hook(hook)).unwrap_err();
    assert!(
        matches!(&err, Error::Cancelled { tag, statement: 2 } if tag == "0001_rebuild_books"),
        "{err:?}"
    );
    assert!(err.to_string().contains("cancelled"), "{err}");
    let last = seen.lock().unwrap().last().cloned().unwrap();
    assert!(last.rows.is_some_and(|(done, _)| done < ROWS), "cancelled mid-copy: {last:?}");

    // No other connection's commit happened, and everything reads as before.
    assert_eq!(version(&watcher), version_before);
    assert_eq!(snapshot(&path), before);
    assert_eq!(before.rows, i64::try_from(ROWS).unwrap());
    // A later open applies the same migrations.
    let db = Database::open(&path, &all, &Options::new()).unwrap();
    assert_eq!(db.report().applied.len(), 2);
}

#[test]
fn cancelling_at_a_statement_boundary_rolls_back_earlier_migrations_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("books.db");
    let all = history();
    Database::open(&path, &all[..1], &Options::new()).unwrap();
    let before = snapshot(&path);
    // Cancel at the start of the last migration, after the rebuild finished inside the run.
    let (hook, _) = recording(|s| s.migration == 2);
    let err = Database::open(&path, &all, &Options::new().progress_hook(hook)).unwrap_err();
    assert!(
        matches!(&err, Error::Cancelled { tag, statement: 1 } if tag == "0002_notes"),
        "{err:?}"
    );
    assert_eq!(snapshot(&path), before);
}
