//! One measurement: a job, run on one side (ours or the floor) in a child process.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use migrate_runtime::rusqlite::Connection;
use migrate_runtime::{Database, Options};
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
        /// Whether the fixture holds the large unrelated table.
        unrelated: bool,
        /// The filled, migrated database; copied to `work` before each iteration.
        template: PathBuf,
        /// The copy the iteration migrates.
        work: PathBuf,
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
    /// Reserved for issue 8 (ours: 100,000 inserts through the typed API, not written yet).
    /// Floor: a prepared rusqlite statement inserting the rows in one transaction.
    Insert {
        /// How many rows.
        rows: u32,
        /// Where the database is created (removed before each iteration).
        db: PathBuf,
    },
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
            Self::Rebuild { unrelated, template, work } => {
                vec!["rebuild".into(), unrelated.to_string(), p(template), p(work)]
            }
            Self::BuildNoChange { krate } => vec!["build-no-change".into(), p(krate)],
            Self::Generate { krate } => vec!["generate".into(), p(krate)],
            Self::Insert { rows, db } => vec!["insert".into(), rows.to_string(), p(db)],
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
            [k, u, t, w] if k == "rebuild" => Ok(Self::Rebuild {
                unrelated: u.parse().map_err(|_| bad())?,
                template: path(t),
                work: path(w),
            }),
            [k, d] if k == "build-no-change" => Ok(Self::BuildNoChange { krate: path(d) }),
            [k, d] if k == "generate" => Ok(Self::Generate { krate: path(d) }),
            [k, n, db] if k == "insert" => Ok(Self::Insert { rows: num(n)?, db: path(db) }),
            _ => Err(bad()),
        }
    }

    /// Whether `side` of this job is implemented (ours of [`Job::Insert`] waits for issue 8).
    #[must_use]
    pub fn has(&self, side: Side) -> bool {
        !(matches!(self, Self::Insert { .. }) && side == Side::Ours)
    }

    /// Runs `side` of the job `iters` times (after one untimed warm-up for the cheap start-up
    /// job) and returns the median time of one iteration. Untimed set-up (copying a fixture,
    /// removing files) happens between iterations.
    ///
    /// # Errors
    /// The side is not implemented, or a run failed (the message says where).
    pub fn run(&self, side: Side, iters: u32) -> Result<Duration, String> {
        if !self.has(side) {
            return Err("this side is not implemented yet".to_owned());
        }
        let mut times = Vec::with_capacity(iters as usize);
        if matches!(self, Self::Startup { .. }) {
            self.once(side)?;
        }
        for _ in 0..iters.max(1) {
            times.push(self.once(side)?);
        }
        times.sort();
        Ok(times[times.len() / 2])
    }

    /// One timed iteration.
    fn once(&self, side: Side) -> Result<Duration, String> {
        let err = |what: &str, e: &dyn std::fmt::Display| format!("{what}: {e}");
        match (self, side) {
            (Self::Startup { migrations, db }, Side::Ours) => {
                let m = schemas::table_migrations(*migrations);
                let start = Instant::now();
                let db = Database::open(db, &m, &Options::new()).map_err(|e| err("open", &e))?;
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
            (Self::Fresh { migrations, db }, side) => {
                let m = schemas::table_migrations(*migrations);
                remove_db(db);
                let start = Instant::now();
                match side {
                    Side::Ours => {
                        let db = Database::open(db, &m, &Options::new())
                            .map_err(|e| err("apply", &e))?;
                        if db.report().applied.len() != m.len() {
                            return Err("not every migration was applied".to_owned());
                        }
                    }
                    Side::Floor => {
                        let conn = Connection::open(db).map_err(|e| err("open", &e))?;
                        let run = || -> migrate_runtime::rusqlite::Result<()> {
                            conn.pragma_update(None, "journal_mode", "WAL")?;
                            conn.execute_batch("BEGIN IMMEDIATE")?;
                            for mig in &m {
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
            (Self::Rebuild { unrelated, template, work }, side) => {
                let m = if side == Side::Ours {
                    schemas::rebuild_migrations(*unrelated)
                } else {
                    Vec::new()
                };
                remove_db(work);
                fs::copy(template, work).map_err(|e| err("copy the fixture", &e))?;
                let start = Instant::now();
                match side {
                    Side::Ours => {
                        let db = Database::open(work, &m, &Options::new())
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
            (Self::Insert { rows, db }, Side::Floor) => {
                remove_db(db);
                let start = Instant::now();
                insert_floor(db, *rows).map_err(|e| err("insert", &e))?;
                let elapsed = start.elapsed();
                remove_db(db);
                Ok(elapsed)
            }
            (Self::Insert { .. }, Side::Ours) => Err("the typed API is issue 8".to_owned()),
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
        let mut stmt = conn.prepare(check)?;
        let violations = stmt.query_map([], |_| Ok(()))?.count();
        assert_eq!(violations, 0, "the hand-written rebuild broke a foreign key");
    }
    conn.execute_batch("COMMIT; PRAGMA foreign_keys = ON;")?;
    conn.close().map_err(|(_, e)| e)
}

/// The floor of issue 8's insert benchmark: one transaction, one prepared statement.
fn insert_floor(path: &Path, rows: u32) -> migrate_runtime::rusqlite::Result<()> {
    let mut conn = Connection::open(path)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;\n\
         CREATE TABLE \"users\" (\"id\" INTEGER PRIMARY KEY, \"email\" TEXT NOT NULL UNIQUE, \
         \"name\" TEXT NOT NULL, \"karma\" INTEGER NOT NULL DEFAULT 0);",
    )?;
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare(
            "INSERT INTO \"users\" (\"id\", \"email\", \"name\", \"karma\") VALUES (?1, ?2, ?3, ?4)",
        )?;
        for i in 0..i64::from(rows) {
            stmt.execute(migrate_runtime::rusqlite::params![
                i,
                format!("user{i}@example.com"),
                format!("user {i}"),
                i % 100
            ])?;
        }
    }
    tx.commit()
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
