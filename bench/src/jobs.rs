//! One measurement: a job, run on one side (ours or the floor) in a child process.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use migrate_runtime::rusqlite::Connection;
use migrate_runtime::{Crud, Database, Migration, Options, Table};
use schema_core::build::{BuildEnv, Generator};

use crate::schemas;

/// Which side of a comparison a child process measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Godwit's code path.
    Ours,
    /// The physical floor it is compared with.
    Floor,
}

impl Side {
    /// `ours` or `floor`, as passed on the child's command line.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ours => "ours",
            Self::Floor => "floor",
        }
    }

    /// Parses [`Side::as_str`].
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ours" => Some(Self::Ours),
            "floor" => Some(Self::Floor),
            _ => None,
        }
    }
}

/// What a child process measures. Every fixture path is prepared by the parent beforehand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    /// Ours: `Database::open` of an up-to-date database with `migrations` migrations. Floor:
    /// open the file and read one row of one table.
    Startup {
        /// How many migrations the database has applied.
        migrations: u32,
        /// The up-to-date database.
        db: PathBuf,
    },
    /// Ours: `Database::open` of a new file with `migrations` migrations. Floor: the same SQL in
    /// one transaction with rusqlite.
    Fresh {
        /// How many migrations.
        migrations: u32,
        /// Where the database is created (removed before each iteration).
        db: PathBuf,
    },
    /// Ours: `Database::open` applying the planned rebuild of the parent. Floor: the hand-written
    /// 12-step SQL.
    Rebuild {
        /// The two migrations (creating the schema, the rebuild), as written by
        /// [`schemas::write_migrations`].
        migrations: PathBuf,
        /// The filled, migrated database; copied to `work` before each iteration.
        template: PathBuf,
        /// The copy the iteration migrates.
        work: PathBuf,
    },
    /// Diagnostic for the rebuild: ours is the foreign-key check the runtime runs (the whole
    /// database, `pragma_foreign_key_check` without an argument); the floor checks only the
    /// tables the rebuild touches (the parent and its child).
    FkCheck {
        /// The filled database (read only).
        db: PathBuf,
    },
    /// Ours: a build-script run (`Generator::run_in`) that finds nothing to do. Floor: reading and
    /// parsing the schema file with `syn`.
    BuildNoChange {
        /// A crate directory with `src/schema.rs` and committed `migrations/`.
        krate: PathBuf,
    },
    /// Ours: a build-script run generating the first migration of the schema. Floor: reading and
    /// parsing the schema file with `syn`.
    Generate {
        /// A crate directory with `src/schema.rs` and no `migrations/` (removed after each run).
        krate: PathBuf,
    },
    /// Issue 8. Ours: the rows inserted through the typed API (`Crud::insert` of a
    /// `#[derive(Table)]` struct) in one transaction. Floor: a prepared rusqlite statement
    /// inserting the same rows in one transaction.
    Insert {
        /// How many rows.
        rows: u32,
        /// Where the database is created (removed before each iteration).
        db: PathBuf,
    },
    /// Issue 13: the typed query builder and `insert_many` (see [`crate::queries`]).
    Queries(crate::queries::QueryJob),
}

impl Job {
    /// The job as command-line arguments for a child process.
    #[must_use]
    pub fn to_args(&self) -> Vec<String> {
        let p = |p: &Path| p.display().to_string();
        match self {
            Self::Startup { migrations, db } => {
                vec!["startup".into(), migrations.to_string(), p(db)]
            }
            Self::Fresh { migrations, db } => vec!["fresh".into(), migrations.to_string(), p(db)],
            Self::Rebuild { migrations, template, work } => {
                vec!["rebuild".into(), p(migrations), p(template), p(work)]
            }
            Self::FkCheck { db } => vec!["fk-check".into(), p(db)],
            Self::BuildNoChange { krate } => vec!["build-no-change".into(), p(krate)],
            Self::Generate { krate } => vec!["generate".into(), p(krate)],
            Self::Insert { rows, db } => vec!["insert".into(), rows.to_string(), p(db)],
            Self::Queries(q) => std::iter::once("queries".to_owned()).chain(q.to_args()).collect(),
        }
    }

    /// Parses [`Job::to_args`].
    ///
    /// # Errors
    /// The arguments do not describe a job.
    pub fn from_args(args: &[String]) -> Result<Self, String> {
        let bad = || format!("bad job arguments: {args:?}");
        let num = |s: &String| s.parse::<u32>().map_err(|_| bad());
        let path = |s: &String| PathBuf::from(s);
        match args {
            [k, n, db] if k == "startup" => Ok(Self::Startup { migrations: num(n)?, db: path(db) }),
            [k, n, db] if k == "fresh" => Ok(Self::Fresh { migrations: num(n)?, db: path(db) }),
            [k, m, t, w] if k == "rebuild" => {
                Ok(Self::Rebuild { migrations: path(m), template: path(t), work: path(w) })
            }
            [k, db] if k == "fk-check" => Ok(Self::FkCheck { db: path(db) }),
            [k, d] if k == "build-no-change" => Ok(Self::BuildNoChange { krate: path(d) }),
            [k, d] if k == "generate" => Ok(Self::Generate { krate: path(d) }),
            [k, n, db] if k == "insert" => Ok(Self::Insert { rows: num(n)?, db: path(db) }),
            [k, rest @ ..] if k == "queries" => {
                crate::queries::QueryJob::from_args(rest).map(Self::Queries)
            }
            _ => Err(bad()),
        }
    }

    /// The migrations ours embeds, built once per child process (as an application embeds
    /// them once, in its binary).
    fn embedded(&self, side: Side) -> Result<Vec<Migration>, String> {
        match (self, side) {
            (Self::Startup { migrations, .. } | Self::Fresh { migrations, .. }, _) => {
                Ok(schemas::table_migrations(*migrations))
            }
            (Self::Rebuild { migrations, .. }, Side::Ours) => schemas::read_migrations(migrations),
            _ => Ok(Vec::new()),
        }
    }

    /// Runs `side` of the job `iters` times (after one untimed warm-up for the cheap start-up
    /// job) and returns the median time of one iteration. Untimed set-up (copying a fixture,
    /// removing files) happens between iterations.
    ///
    /// # Errors
    /// A run failed (the message says where).
    pub fn run(&self, side: Side, iters: u32) -> Result<Duration, String> {
        let m = self.embedded(side)?;
        let mut times = Vec::with_capacity(iters as usize);
        if matches!(self, Self::Startup { .. }) {
            self.once(side, &m)?;
        }
        for _ in 0..iters.max(1) {
            times.push(self.once(side, &m)?);
        }
        times.sort();
        Ok(times[times.len() / 2])
    }

    /// One timed iteration.
    fn once(&self, side: Side, m: &[Migration]) -> Result<Duration, String> {
        let err = |what: &str, e: &dyn std::fmt::Display| format!("{what}: {e}");
        match (self, side) {
            (Self::Startup { db, .. }, Side::Ours) => {
                let start = Instant::now();
                let db = Database::open(db, m, &Options::new()).map_err(|e| err("open", &e))?;
                if !db.report().is_empty() {
                    return Err("the start-up fixture was not up to date".to_owned());
                }
                drop(db);
                Ok(start.elapsed())
            }
            (Self::Startup { db, .. }, Side::Floor) => {
                let start = Instant::now();
                let conn = Connection::open(db).map_err(|e| err("open", &e))?;
                let chain: String = conn
                    .query_row(
                        "SELECT \"chain\" FROM \"__schema_migrations\" ORDER BY \"idx\" DESC LIMIT 1",
                        [],
                        |r| r.get(0),
                    )
                    .map_err(|e| err("read", &e))?;
                drop(conn);
                let elapsed = start.elapsed();
                if chain.len() != 64 {
                    return Err("the start-up fixture has no ledger".to_owned());
                }
                Ok(elapsed)
            }
            (Self::Fresh { db, .. }, side) => {
                remove_db(db);
                let start = Instant::now();
                match side {
                    Side::Ours => {
                        let db =
                            Database::open(db, m, &Options::new()).map_err(|e| err("apply", &e))?;
                        if db.report().applied.len() != m.len() {
                            return Err("not every migration was applied".to_owned());
                        }
                    }
                    Side::Floor => {
                        let conn = Connection::open(db).map_err(|e| err("open", &e))?;
                        let run = || -> migrate_runtime::rusqlite::Result<()> {
                            conn.pragma_update(None, "journal_mode", "WAL")?;
                            conn.execute_batch("BEGIN IMMEDIATE")?;
                            for mig in m {
                                conn.execute_batch(mig.sql)?;
                            }
                            conn.execute_batch("COMMIT")
                        };
                        run().map_err(|e| err("apply", &e))?;
                    }
                }
                let elapsed = start.elapsed();
                remove_db(db);
                Ok(elapsed)
            }
            (Self::Rebuild { template, work, .. }, side) => {
                remove_db(work);
                fs::copy(template, work).map_err(|e| err("copy the fixture", &e))?;
                // The copy's dirty pages are written out before the clock starts.
                fs::File::open(work).and_then(|f| f.sync_all()).map_err(|e| err("sync", &e))?;
                let start = Instant::now();
                match side {
                    Side::Ours => {
                        let db = Database::open(work, m, &Options::new())
                            .map_err(|e| err("rebuild", &e))?;
                        if db.report().applied.len() != 1 {
                            return Err("the rebuild was not applied".to_owned());
                        }
                    }
                    Side::Floor => rebuild_floor(work).map_err(|e| err("rebuild", &e))?,
                }
                let elapsed = start.elapsed();
                remove_db(work);
                Ok(elapsed)
            }
            (Self::BuildNoChange { krate }, Side::Ours) => {
                let start = Instant::now();
                let outcome = run_generator(krate)?;
                let elapsed = start.elapsed();
                if outcome.generated.is_some() {
                    return Err("the no-change fixture generated a migration".to_owned());
                }
                Ok(elapsed)
            }
            (Self::Generate { krate }, Side::Ours) => {
                let dir = krate.join("migrations");
                let _ = fs::remove_dir_all(&dir);
                let start = Instant::now();
                let outcome = run_generator(krate)?;
                let elapsed = start.elapsed();
                let _ = fs::remove_dir_all(&dir);
                if outcome.generated.is_none() {
                    return Err("the 200-table fixture generated nothing".to_owned());
                }
                Ok(elapsed)
            }
            (Self::BuildNoChange { krate } | Self::Generate { krate }, Side::Floor) => {
                let start = Instant::now();
                let source = fs::read_to_string(krate.join("src/schema.rs"))
                    .map_err(|e| err("read the schema", &e))?;
                let file = syn::parse_file(&source).map_err(|e| err("parse the schema", &e))?;
                let elapsed = start.elapsed();
                if file.items.is_empty() {
                    return Err("the schema file is empty".to_owned());
                }
                Ok(elapsed)
            }
            (Self::FkCheck { db }, side) => {
                let conn = Connection::open(db).map_err(|e| err("open", &e))?;
                let checks: &[&str] = match side {
                    Side::Ours => &["SELECT * FROM pragma_foreign_key_check"],
                    Side::Floor => &schemas::REBUILD_FLOOR_CHECKS,
                };
                let start = Instant::now();
                for check in checks {
                    let violations = count_rows(&conn, check).map_err(|e| err("check", &e))?;
                    if violations != 0 {
                        return Err("the fixture has foreign-key violations".to_owned());
                    }
                }
                Ok(start.elapsed())
            }
            (Self::Insert { rows, db }, side) => {
                remove_db(db);
                let conn = Connection::open(db).map_err(|e| err("open", &e))?;
                conn.execute_batch(INSERT_TABLE).map_err(|e| err("create", &e))?;
                let start = Instant::now();
                match side {
                    Side::Ours => insert_ours(conn, *rows).map_err(|e| err("insert", &e))?,
                    Side::Floor => insert_floor(conn, *rows).map_err(|e| err("insert", &e))?,
                }
                let elapsed = start.elapsed();
                remove_db(db);
                Ok(elapsed)
            }
            (Self::Queries(q), side) => q.once(side),
        }
    }
}

/// A build-script run over the crate at `krate` (schema `src/schema.rs`, folder `migrations/`,
/// `$OUT_DIR` in `krate/out`).
fn run_generator(krate: &Path) -> Result<schema_core::build::Outcome, String> {
    let mut env = BuildEnv::new(krate);
    env.out_dir = Some(krate.join("out"));
    env.schema_migrations = Some("write".to_owned());
    Generator::new().run_in(&env).map_err(|e| format!("generator: {e}"))
}

/// The 12-step rebuild written by hand: foreign keys off outside the transaction, the new table,
/// the copy, drop, rename, the two indexes, the foreign-key check of the touched tables (every
/// row read), commit, foreign keys back on.
fn rebuild_floor(path: &Path) -> migrate_runtime::rusqlite::Result<()> {
    let conn = Connection::open(path)?;
    conn.execute_batch("PRAGMA foreign_keys = OFF; BEGIN IMMEDIATE;")?;
    conn.execute_batch(schemas::REBUILD_FLOOR_SQL)?;
    for check in schemas::REBUILD_FLOOR_CHECKS {
        let violations = count_rows(&conn, check)?;
        assert_eq!(violations, 0, "the hand-written rebuild broke a foreign key");
    }
    conn.execute_batch("COMMIT; PRAGMA foreign_keys = ON;")?;
    conn.close().map_err(|(_, e)| e)
}

/// Reads every row of `sql` and counts them.
fn count_rows(conn: &Connection, sql: &str) -> migrate_runtime::rusqlite::Result<usize> {
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.raw_query();
    let mut n = 0;
    while rows.next()?.is_some() {
        n += 1;
    }
    Ok(n)
}

/// The table of issue 8's insert benchmark (created before the clock starts).
const INSERT_TABLE: &str = "PRAGMA journal_mode = WAL;\n\
     CREATE TABLE \"users\" (\"id\" INTEGER PRIMARY KEY NOT NULL, \"email\" TEXT NOT NULL UNIQUE, \
     \"name\" TEXT NOT NULL, \"karma\" INTEGER NOT NULL DEFAULT 0);";

/// The row type of issue 8's insert benchmark.
#[derive(Debug, Table)]
#[table(name = "users")]
pub struct User {
    /// The key (given, not assigned).
    #[column(primary_key)]
    pub id: i64,
    /// A unique text.
    #[column(unique)]
    pub email: String,
    /// A text.
    pub name: String,
    /// An integer.
    #[column(default = 0)]
    pub karma: i64,
}

/// Ours of issue 8's insert benchmark: one transaction, `Crud::insert` per row, through the
/// typed API's transaction (`Tx`, as `Database::transaction` passes it), which keeps the
/// statement prepared.
fn insert_ours(mut conn: Connection, rows: u32) -> migrate_runtime::Result<()> {
    let tx = conn.transaction()?;
    {
        let typed = migrate_runtime::Tx::new(&tx);
        for i in 1..=i64::from(rows) {
            typed.insert(&User {
                id: i,
                email: format!("user{i}@example.com"),
                name: format!("user {i}"),
                karma: i % 100,
            })?;
        }
    }
    tx.commit()?;
    conn.close().map_err(|(_, e)| e.into())
}

/// The floor of issue 8's insert benchmark: one transaction, one prepared statement.
fn insert_floor(mut conn: Connection, rows: u32) -> migrate_runtime::rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare(
            "INSERT INTO \"users\" (\"id\", \"email\", \"name\", \"karma\") VALUES (?1, ?2, ?3, ?4)",
        )?;
        for i in 1..=i64::from(rows) {
            stmt.execute(migrate_runtime::rusqlite::params![
                i,
                format!("user{i}@example.com"),
                format!("user {i}"),
                i % 100
            ])?;
        }
    }
    tx.commit()?;
    conn.close().map_err(|(_, e)| e)
}

/// Removes a database file and its WAL and shared-memory files, if any.
pub fn remove_db(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// The peak resident set size of this process so far (`VmHWM`), in KiB; `None` off Linux.
#[must_use]
pub fn peak_rss_kib() -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
