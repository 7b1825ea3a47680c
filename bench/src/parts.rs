//! `bench --startup-parts`: what makes up the start-up figure, stage by stage, in one process
//! (each stage measured from a fresh open of the up-to-date fixture, medians over iterations,
//! stages interleaved so the noise hits all of them).

use std::fs;
use std::io::Read as _;
use std::path::Path;
use std::time::{Duration, Instant};

use migrate_runtime::rusqlite::Connection;
use migrate_runtime::{Database, Migration, Options};

/// The floor query of the start-up benchmark: the ledger's last chain.
const LAST_CHAIN: &str =
    "SELECT \"chain\" FROM \"__schema_migrations\" ORDER BY \"idx\" DESC LIMIT 1";

/// One stage: its label and what it runs (from nothing to a closed connection).
struct Stage {
    label: &'static str,
    run: fn(&Path, &[Migration]) -> Result<(), String>,
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

const STAGES: &[Stage] = &[
    Stage {
        label: "floor: read the 100-byte header (std::fs)",
        run: |db, _| {
            let mut header = [0_u8; 100];
            fs::File::open(db).and_then(|mut f| f.read_exact(&mut header)).map_err(err)
        },
    },
    Stage {
        label: "open + close (no query)",
        run: |db, _| Connection::open(db).map(drop).map_err(err),
    },
    Stage {
        label: "floor: open + first query (schema parse) + close",
        run: |db, _| {
            let conn = Connection::open(db).map_err(err)?;
            conn.query_row(LAST_CHAIN, [], |r| r.get::<_, String>(0)).map(drop).map_err(err)
        },
    },
    Stage {
        label: "open + busy_timeout + foreign_keys=ON + first query",
        run: |db, _| {
            let conn = Connection::open(db).map_err(err)?;
            conn.busy_timeout(Duration::from_secs(5)).map_err(err)?;
            conn.pragma_update(None, "foreign_keys", true).map_err(err)?;
            conn.query_row(LAST_CHAIN, [], |r| r.get::<_, String>(0)).map(drop).map_err(err)
        },
    },
    Stage {
        label: "(diagnostic) open + first query + every tag, table scan",
        run: |db, _| {
            let conn = Connection::open(db).map_err(err)?;
            conn.query_row(LAST_CHAIN, [], |r| r.get::<_, String>(0)).map(drop).map_err(err)?;
            conn.query_row(
                "SELECT length(group_concat(tag)) FROM __schema_migrations NOT INDEXED",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(drop)
            .map_err(err)
        },
    },
    Stage {
        label: "(diagnostic) open + first query + every (idx, tag), tag index scan",
        run: |db, _| {
            let conn = Connection::open(db).map_err(err)?;
            conn.query_row(LAST_CHAIN, [], |r| r.get::<_, String>(0)).map(drop).map_err(err)?;
            conn.query_row("SELECT length(group_concat(idx || ' ' || tag)) FROM __schema_migrations INDEXED BY sqlite_autoindex___schema_migrations_1", [], |r| r.get::<_, i64>(0)).map(drop).map_err(err)
        },
    },
    Stage {
        label: "open + busy_timeout + foreign_keys=ON + Godwit's check (verify)",
        run: |db, m| {
            let conn = Connection::open(db).map_err(err)?;
            conn.busy_timeout(Duration::from_secs(5)).map_err(err)?;
            conn.pragma_update(None, "foreign_keys", true).map_err(err)?;
            migrate_runtime::verify(&conn, m).map_err(err)
        },
    },
    Stage {
        label: "the same + PRAGMA journal_mode (read)",
        run: |db, m| {
            let conn = Connection::open(db).map_err(err)?;
            conn.busy_timeout(Duration::from_secs(5)).map_err(err)?;
            conn.pragma_update(None, "foreign_keys", true).map_err(err)?;
            migrate_runtime::verify(&conn, m).map_err(err)?;
            conn.pragma_query_value(None, "journal_mode", |r| r.get::<_, String>(0))
                .map(drop)
                .map_err(err)
        },
    },
    Stage {
        label: "ours: Database::open (open, check, WAL, close)",
        run: |db, m| {
            let db = Database::open(db, m, &Options::new()).map_err(err)?;
            if db.report().is_empty() { Ok(()) } else { Err("not up to date".to_owned()) }
        },
    },
];

/// Medians of every stage over `iters` interleaved iterations (after one warm-up each).
///
/// # Errors
/// A stage failed.
pub fn startup_parts(
    db: &Path,
    migrations: &[Migration],
    iters: usize,
) -> Result<Vec<(&'static str, Duration)>, String> {
    let mut times = vec![Vec::with_capacity(iters); STAGES.len()];
    for stage in STAGES {
        (stage.run)(db, migrations)?;
    }
    for _ in 0..iters {
        for (stage, times) in STAGES.iter().zip(&mut times) {
            let start = Instant::now();
            (stage.run)(db, migrations)?;
            times.push(start.elapsed());
        }
    }
    Ok(STAGES
        .iter()
        .zip(times)
        .map(|(stage, mut t)| {
            t.sort();
            (stage.label, t[t.len() / 2])
        })
        .collect())
}

/// The ledger as the runtime creates it.
const CREATE_LEDGER: &str = "CREATE TABLE IF NOT EXISTS \"__schema_migrations\" (\"idx\" INTEGER PRIMARY KEY, \
     \"tag\" TEXT NOT NULL UNIQUE, \"hash\" TEXT NOT NULL, \"chain\" TEXT NOT NULL, \
     \"applied_at\" INTEGER NOT NULL, \"duration_ms\" INTEGER NOT NULL)";

/// One way of applying every migration to a new file.
struct Apply {
    label: &'static str,
    run: fn(&Path, &[Migration]) -> Result<(), String>,
}

/// The one-transaction floor, optionally with the ledger rows the runtime writes.
fn floor(db: &Path, m: &[Migration], ledger: bool) -> Result<(), String> {
    let conn = Connection::open(db).map_err(err)?;
    conn.pragma_update(None, "journal_mode", "WAL").map_err(err)?;
    conn.execute_batch("BEGIN IMMEDIATE").map_err(err)?;
    if ledger {
        conn.execute_batch(CREATE_LEDGER).map_err(err)?;
    }
    for mig in m {
        conn.execute_batch(mig.sql).map_err(err)?;
        if ledger {
            conn.prepare_cached(
                "INSERT INTO \"__schema_migrations\" VALUES (?1, ?2, ?3, ?4, 0, 0)",
            )
            .and_then(|mut s| s.execute((mig.idx, mig.tag, mig.hash, mig.chain)))
            .map_err(err)?;
        }
    }
    conn.execute_batch("COMMIT").map_err(err)
}

const APPLIES: &[Apply] = &[
    Apply { label: "floor: the SQL in one transaction", run: |db, m| floor(db, m, false) },
    Apply { label: "floor + the ledger's rows", run: |db, m| floor(db, m, true) },
    Apply {
        label: "ours: Database::open (policy, checks, ledger)",
        run: |db, m| {
            let db = Database::open(db, m, &Options::new()).map_err(err)?;
            if db.report().applied.len() == m.len() { Ok(()) } else { Err("not applied".into()) }
        },
    },
];

/// Medians of every way of applying `migrations` to a new file at `db`, interleaved.
///
/// # Errors
/// An apply failed.
pub fn fresh_parts(
    db: &Path,
    migrations: &[Migration],
    iters: usize,
) -> Result<Vec<(&'static str, Duration)>, String> {
    let mut times = vec![Vec::with_capacity(iters); APPLIES.len()];
    for _ in 0..iters {
        for (apply, times) in APPLIES.iter().zip(&mut times) {
            crate::jobs::remove_db(db);
            let start = Instant::now();
            (apply.run)(db, migrations)?;
            times.push(start.elapsed());
        }
    }
    crate::jobs::remove_db(db);
    Ok(APPLIES
        .iter()
        .zip(times)
        .map(|(apply, mut t)| {
            t.sort();
            (apply.label, t[t.len() / 2])
        })
        .collect())
}
