//! Issue 13's typed-query benchmarks: a filtered, ordered query and `insert_many`, each against
//! the same work written by hand with one prepared rusqlite statement.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use migrate_runtime::rusqlite::{self, Connection};
use migrate_runtime::{Crud, Table};

use crate::{Case, Sizes, jobs, report};

/// The table both benchmarks use, with the index the query's filter and order use.
const ITEM_TABLE: &str = "PRAGMA journal_mode = WAL;\n\
     CREATE TABLE \"item\" (\"id\" INTEGER PRIMARY KEY NOT NULL, \"category\" INTEGER NOT NULL, \
     \"price\" REAL NOT NULL, \"name\" TEXT NOT NULL, \"note\" TEXT);\n\
     CREATE INDEX \"item_by_category_price\" ON \"item\" (\"category\", \"price\");";

/// The rows of both benchmarks' table.
#[derive(Debug, Clone, PartialEq, Table)]
#[table(name = "item")]
pub struct Item {
    /// The key (given).
    #[column(primary_key)]
    pub id: i64,
    /// One of 100 categories.
    pub category: i64,
    /// A price.
    pub price: f64,
    /// A text.
    pub name: String,
    /// A nullable text, NULL on every third row.
    pub note: Option<String>,
}

/// The rows of the fixture and of the insert benchmark, built before any clock starts.
fn items(rows: u32) -> Vec<Item> {
    (1..=i64::from(rows))
        .map(|i| Item {
            id: i,
            category: i % 100,
            price: ((i * 7919) % 10_000) as f64 / 100.0,
            name: format!("item {i}"),
            note: (i % 3 != 0).then(|| format!("note {i}")),
        })
        .collect()
}

/// How many queries one iteration of the query benchmark runs.
const QUERIES: i64 = 2000;

/// What the hand-written query runs: the SQL the query builder writes for
/// `Item::query().filter(category = c AND price > p AND note IS NOT NULL)
/// .order_by(price DESC).order_by(id DESC).limit(20)`, which the index on
/// `(category, price)` answers in order (a typical page of an application's list).
const FLOOR_QUERY: &str = "SELECT \"id\", \"category\", \"price\", \"name\", \"note\" FROM \"item\" \
     WHERE \"category\" IS ?1 AND \"price\" > ?2 AND \"note\" IS NOT NULL \
     ORDER BY \"price\" DESC, \"id\" DESC LIMIT ?3 OFFSET ?4";

/// The page size of the query benchmark.
const PAGE: i64 = 20;

/// One side of one typed-query benchmark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryJob {
    /// Ours: 2,000 filtered, ordered, limited `Item::query()`s, each listing its rows.
    /// Floor: the same SQL, one cached rusqlite statement, the rows read into the same struct.
    Filtered {
        /// The filled database (read only).
        db: PathBuf,
    },
    /// Ours: `Crud::insert_many` of the rows (its own transaction). Floor: `BEGIN`, one
    /// prepared statement executed per row, `COMMIT`.
    InsertMany {
        /// How many rows.
        rows: u32,
        /// Where the database is created (removed before each iteration).
        db: PathBuf,
    },
}

impl QueryJob {
    /// The job as command-line arguments (after `Job`'s own word).
    #[must_use]
    pub fn to_args(&self) -> Vec<String> {
        match self {
            Self::Filtered { db } => vec!["filtered".into(), db.display().to_string()],
            Self::InsertMany { rows, db } => {
                vec!["insert-many".into(), rows.to_string(), db.display().to_string()]
            }
        }
    }

    /// Parses [`QueryJob::to_args`].
    ///
    /// # Errors
    /// The arguments do not describe a job.
    pub fn from_args(args: &[String]) -> Result<Self, String> {
        match args {
            [k, db] if k == "filtered" => Ok(Self::Filtered { db: PathBuf::from(db) }),
            [k, n, db] if k == "insert-many" => Ok(Self::InsertMany {
                rows: n.parse().map_err(|_| format!("bad row count {n:?}"))?,
                db: PathBuf::from(db),
            }),
            _ => Err(format!("bad query job arguments: {args:?}")),
        }
    }

    /// One timed iteration of `side`.
    ///
    /// # Errors
    /// A statement failed, or the two sides would not do the same work.
    pub fn once(&self, side: jobs::Side) -> Result<Duration, String> {
        let err = |what: &str, e: &dyn std::fmt::Display| format!("{what}: {e}");
        match self {
            Self::Filtered { db } => {
                let conn = Connection::open(db).map_err(|e| err("open", &e))?;
                let start = Instant::now();
                let read = match side {
                    jobs::Side::Ours => filtered_ours(&conn).map_err(|e| err("query", &e))?,
                    jobs::Side::Floor => filtered_floor(&conn).map_err(|e| err("query", &e))?,
                };
                let elapsed = start.elapsed();
                if read == 0 {
                    return Err("the queries read no row".to_owned());
                }
                Ok(elapsed)
            }
            Self::InsertMany { rows, db } => {
                jobs::remove_db(db);
                let conn = Connection::open(db).map_err(|e| err("open", &e))?;
                conn.execute_batch(ITEM_TABLE).map_err(|e| err("create", &e))?;
                let items = items(*rows);
                let start = Instant::now();
                match side {
                    jobs::Side::Ours => {
                        conn.insert_many(&items).map_err(|e| err("insert", &e))?;
                    }
                    jobs::Side::Floor => {
                        insert_floor(&conn, &items).map_err(|e| err("insert", &e))?
                    }
                }
                let elapsed = start.elapsed();
                drop(conn);
                jobs::remove_db(db);
                Ok(elapsed)
            }
        }
    }
}

/// The parameters of query number `q`: a category and a price floor.
fn params(q: i64) -> (i64, f64) {
    (q % 100, (q % 40) as f64)
}

fn filtered_ours(conn: &Connection) -> migrate_runtime::Result<usize> {
    let mut read = 0;
    for q in 0..QUERIES {
        let (category, floor) = params(q);
        let rows = Item::query()
            .filter(
                Item::COL
                    .category
                    .eq(category)
                    .and(Item::COL.price.gt(floor))
                    .and(Item::COL.note.is_not_null()),
            )
            .order_by(Item::COL.price.desc())
            .order_by(Item::COL.id.desc())
            .limit(PAGE as u64)
            .list(conn)?;
        read += rows.len();
    }
    Ok(read)
}

fn filtered_floor(conn: &Connection) -> rusqlite::Result<usize> {
    let mut read = 0;
    for q in 0..QUERIES {
        let (category, floor) = params(q);
        let mut stmt = conn.prepare_cached(FLOOR_QUERY)?;
        let rows = stmt
            .query_map(rusqlite::params![category, floor, PAGE, 0], |r| {
                Ok(Item {
                    id: r.get(0)?,
                    category: r.get(1)?,
                    price: r.get(2)?,
                    name: r.get(3)?,
                    note: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<Item>>>()?;
        read += rows.len();
    }
    Ok(read)
}

fn insert_floor(conn: &Connection, items: &[Item]) -> rusqlite::Result<()> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    {
        let mut stmt = conn.prepare(
            "INSERT INTO \"item\" (\"id\", \"category\", \"price\", \"name\", \"note\") \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for item in items {
            stmt.execute(rusqlite::params![
                item.id,
                item.category,
                item.price,
                item.name,
                item.note
            ])?;
        }
    }
    conn.execute_batch("COMMIT")
}

/// Fills the query benchmark's database at `path` with `rows` rows (checkpointed into one
/// file, so both sides read the same pages).
fn query_fixture(path: &Path, rows: u32) -> Result<(), String> {
    jobs::remove_db(path);
    let conn = Connection::open(path).map_err(|e| format!("query fixture: {e}"))?;
    conn.execute_batch(ITEM_TABLE).map_err(|e| format!("query fixture: {e}"))?;
    conn.insert_many(&items(rows)).map_err(|e| format!("query fixture: {e}"))?;
    // The builder must write the hand-written SQL, and both sides read the same rows.
    let (category, floor) = params(0);
    let query = Item::query()
        .filter(Item::COL.category.eq(category))
        .filter(Item::COL.price.gt(floor))
        .filter(Item::COL.note.is_not_null())
        .order_by(Item::COL.price.desc())
        .order_by(Item::COL.id.desc())
        .limit(PAGE as u64);
    if query.to_sql() != FLOOR_QUERY {
        return Err(format!("the builder writes {:?}, not the floor's SQL", query.to_sql()));
    }
    let ours = filtered_ours(&conn).map_err(|e| format!("query fixture: {e}"))?;
    let hand = filtered_floor(&conn).map_err(|e| format!("query fixture: {e}"))?;
    if ours != hand || ours == 0 {
        return Err(format!("the typed queries read {ours} rows, the hand-written ones {hand}"));
    }
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .map_err(|e| format!("query fixture: {e}"))?;
    conn.close().map_err(|(_, e)| format!("query fixture: {e}"))
}

/// The typed-query benchmarks whose name `want`s, their fixtures prepared under `dir`.
///
/// # Errors
/// A fixture could not be written.
pub fn cases(
    dir: &Path,
    sizes: &Sizes,
    want: impl Fn(&str) -> bool,
    mut progress: impl FnMut(&str),
) -> Result<Vec<Case>, String> {
    let rows = sizes.insert_rows;
    let many = sizes.rounds * 2 + 1;
    let mut cases = Vec::new();
    let name = format!(
        "9a. {} filtered, ordered queries (=, >, IS NOT NULL, 2 keys, LIMIT {PAGE}) over {} \
         rows, typed query vs a cached rusqlite statement",
        report::count(QUERIES as u64),
        report::count(u64::from(rows))
    );
    if want(&name) {
        progress(&format!("fixture: item table with {rows} rows"));
        let db = dir.join("queries.db");
        query_fixture(&db, rows)?;
        let job = jobs::Job::Queries(QueryJob::Filtered { db });
        cases.push(Case { name, job, iters: 5, goal: Some(1.1), rounds: many });
    }
    let name = format!(
        "9b. insert_many of {} rows vs a prepared rusqlite statement in one transaction",
        report::count(u64::from(rows))
    );
    if want(&name) {
        let job = jobs::Job::Queries(QueryJob::InsertMany { rows, db: dir.join("insert-many.db") });
        cases.push(Case { name, job, iters: 3, goal: Some(1.1), rounds: many });
    }
    Ok(cases)
}
