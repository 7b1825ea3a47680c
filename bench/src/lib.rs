//! Godwit's benchmark harness. Every figure is measured side by side with its physical floor, in
//! alternating rounds so the noise of a shared machine hits both, and printed as ours, the floor
//! and their ratio, with the peak memory of each side.
//!
//! Run everything with `cargo run --release -p bench` (add `-- --markdown` for the table of
//! `BENCHMARKS.md`). Each measurement runs in a child process (the same binary, re-executed with
//! a hidden subcommand), so its peak resident set size (`VmHWM`) is its own.
//!
//! ```
//! let sizes = bench::Sizes::smoke();
//! assert!(sizes.rebuild_rows < bench::Sizes::full().rebuild_rows);
//! ```

pub mod jobs;
pub mod parts;
pub mod queries;
pub mod report;
pub mod schemas;

use std::fs;
use std::path::Path;

use migrate_runtime::rusqlite::Connection;
use migrate_runtime::{Database, Options};

use jobs::Job;

/// The sizes the benchmarks run at.
#[derive(Debug, Clone)]
pub struct Sizes {
    /// Migration counts of the start-up check.
    pub startup: Vec<u32>,
    /// Migrations of the fresh apply.
    pub fresh: u32,
    /// Rows of the rebuilt parent, of its child, and of the unrelated table.
    pub rebuild_rows: u64,
    /// Committed migrations of the build-script no-change run.
    pub committed: usize,
    /// Tables of the schema the build script generates a migration for.
    pub tables: usize,
    /// Rows of the insert benchmark (issue 8).
    pub insert_rows: u32,
    /// Alternating rounds of the rebuild benchmarks (ours and floor once each per round); the
    /// cheaper benchmarks run twice as many plus one.
    pub rounds: u32,
}

impl Sizes {
    /// The sizes issue 7 asks for.
    #[must_use]
    pub fn full() -> Self {
        Self {
            startup: vec![10, 100, 1000],
            fresh: 1000,
            rebuild_rows: 1_000_000,
            committed: 100,
            tables: 200,
            insert_rows: 100_000,
            rounds: 7,
        }
    }

    /// Tiny sizes that prove the harness works (the smoke test runs these).
    #[must_use]
    pub fn smoke() -> Self {
        Self {
            startup: vec![3],
            fresh: 5,
            rebuild_rows: 200,
            committed: 4,
            tables: 3,
            insert_rows: 100,
            rounds: 1,
        }
    }
}

/// One benchmark: a job measured on both sides.
#[derive(Debug, Clone)]
pub struct Case {
    /// The row label.
    pub name: String,
    /// What the child processes run.
    pub job: Job,
    /// Timed iterations per child process (the child reports their median).
    pub iters: u32,
    /// The ratio issue 7 asks for, if any.
    pub goal: Option<f64>,
    /// Alternating rounds (ours and floor once each per round).
    pub rounds: u32,
}

fn sqlite_err(what: &str) -> impl Fn(migrate_runtime::rusqlite::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// Prepares the fixtures under `dir` and returns the benchmarks to run, in report order: all of
/// them, or with `only`, those whose name contains it (no other fixture is built). `progress`
/// receives a line per fixture.
///
/// # Errors
/// A fixture could not be written (the message says which).
pub fn prepare(
    dir: &Path,
    sizes: &Sizes,
    only: Option<&str>,
    mut progress: impl FnMut(&str),
) -> Result<Vec<Case>, String> {
    let want = |name: &str| only.is_none_or(|o| name.contains(o));
    let mut cases = Vec::new();
    // The cheap benchmarks run more rounds than the rebuilds (seconds each).
    let many = sizes.rounds * 2 + 1;

    for &n in &sizes.startup {
        let name = format!("1. start-up check, up to date, {n} migrations");
        if !want(&name) {
            continue;
        }
        progress(&format!("fixture: up-to-date database with {n} migrations"));
        let db = dir.join(format!("startup-{n}.db"));
        Database::open(&db, &schemas::table_migrations(n), &Options::new())
            .map_err(|e| format!("start-up fixture: {e}"))?;
        let goal = (n == *sizes.startup.iter().max().unwrap_or(&n)).then_some(1.2);
        let iters = if n >= 1000 { 60 } else { 200 };
        cases.push(Case {
            name,
            job: Job::Startup { migrations: n, db },
            iters,
            goal,
            rounds: many,
        });
    }

    cases.push(Case {
        name: format!("2. fresh apply of {} migrations", sizes.fresh),
        job: Job::Fresh { migrations: sizes.fresh, db: dir.join("fresh.db") },
        iters: 3,
        goal: Some(1.2),
        rounds: many,
    });

    let rows = report::count(sizes.rebuild_rows);
    for unrelated in [false, true] {
        let label = if unrelated { "b" } else { "a" };
        let name = if unrelated {
            format!("3b. rebuild as 3a, plus an unrelated {rows}-row table with a foreign key")
        } else {
            format!(
                "3a. rebuild of a {rows}-row parent (2 indexes) with a {rows}-row CASCADE child"
            )
        };
        let check = "3c. (diagnostic) foreign-key check of the whole 3b database vs of the \
                     touched tables";
        let needed = want(&name) || (unrelated && want(check));
        if !needed {
            continue;
        }
        progress(&format!(
            "fixture: rebuild database {label} ({} rows per table{})",
            sizes.rebuild_rows,
            if unrelated { ", with the unrelated table" } else { "" }
        ));
        let template = dir.join(format!("rebuild-{label}.db"));
        rebuild_fixture(&template, sizes.rebuild_rows, unrelated)?;
        let migrations = dir.join(format!("rebuild-{label}.sql"));
        schemas::write_migrations(&migrations, &schemas::rebuild_migrations(unrelated))?;
        let work = dir.join(format!("rebuild-{label}-work.db"));
        cases.push(Case {
            name,
            job: Job::Rebuild { migrations, template: template.clone(), work },
            iters: 1,
            goal: Some(1.15),
            rounds: sizes.rounds,
        });
        if unrelated {
            cases.push(Case {
                name: check.to_owned(),
                job: Job::FkCheck { db: template },
                iters: 3,
                goal: None,
                rounds: many,
            });
        }
    }

    let name = format!("4a. build.rs, no change, {} committed migrations", sizes.committed);
    if want(&name) {
        progress(&format!("fixture: crate with {} committed migrations", sizes.committed));
        let krate = dir.join("history");
        history_fixture(&krate, sizes.committed)?;
        let job = Job::BuildNoChange { krate };
        cases.push(Case { name, job, iters: 5, goal: None, rounds: many });
    }

    let krate = dir.join("wide");
    fs::create_dir_all(krate.join("src")).map_err(|e| format!("wide fixture: {e}"))?;
    fs::write(krate.join("src/schema.rs"), schemas::wide_schema(sizes.tables))
        .map_err(|e| format!("wide fixture: {e}"))?;
    cases.push(Case {
        name: format!("4b. build.rs, generate the migration of a {}-table schema", sizes.tables),
        job: Job::Generate { krate },
        iters: 3,
        goal: None,
        rounds: many,
    });

    cases.push(Case {
        name: format!(
            "8. insert {} rows, typed API vs a prepared rusqlite statement",
            report::count(u64::from(sizes.insert_rows))
        ),
        job: Job::Insert { rows: sizes.insert_rows, db: dir.join("insert.db") },
        iters: 3,
        goal: None,
        rounds: many,
    });
    cases.extend(queries::cases(dir, sizes, want, &mut progress)?);
    cases.retain(|c| want(&c.name));
    Ok(cases)
}

/// Creates the rebuild fixture at `path`: the first migration applied by the runtime (so the
/// ledger is real), then the rows inserted with recursive CTEs, checkpointed into one file.
fn rebuild_fixture(path: &Path, rows: u64, unrelated: bool) -> Result<(), String> {
    jobs::remove_db(path);
    let migrations = schemas::rebuild_migrations(unrelated);
    let db = Database::open(path, &migrations[..1], &Options::new())
        .map_err(|e| format!("rebuild fixture: {e}"))?;
    let conn: Connection = db.into_inner();
    conn.execute_batch("PRAGMA foreign_keys = OFF; BEGIN;")
        .map_err(sqlite_err("rebuild fixture"))?;
    conn.execute_batch(&schemas::rebuild_fill_sql(rows, unrelated))
        .map_err(sqlite_err("rebuild fixture"))?;
    conn.execute_batch("COMMIT; PRAGMA wal_checkpoint(TRUNCATE);")
        .map_err(sqlite_err("rebuild fixture"))?;
    conn.close().map_err(|(_, e)| format!("rebuild fixture: {e}"))
}

/// Creates a crate directory whose `migrations/` holds `steps` migrations, generated one schema
/// version at a time by the real build-script generator.
fn history_fixture(krate: &Path, steps: usize) -> Result<(), String> {
    let _ = fs::remove_dir_all(krate);
    fs::create_dir_all(krate.join("src")).map_err(|e| format!("history fixture: {e}"))?;
    let mut env = schema_core::build::BuildEnv::new(krate);
    env.schema_migrations = Some("write".to_owned());
    for (step, source) in schemas::history(steps).iter().enumerate() {
        fs::write(krate.join("src/schema.rs"), source)
            .map_err(|e| format!("history fixture: {e}"))?;
        let outcome = schema_core::build::Generator::new()
            .run_in(&env)
            .map_err(|e| format!("history fixture, step {step}: {e}"))?;
        if outcome.generated.is_none() {
            return Err(format!("history fixture, step {step}: nothing was generated"));
        }
    }
    Ok(())
}
