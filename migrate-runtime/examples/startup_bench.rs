//! Start-up cost of `Database::open` against the floor of opening the file and reading one row.
//!
//! Run with `cargo run --release -p migrate-runtime --example startup_bench`. Prints, for 10, 100
//! and 1000 migrations, the time of an up-to-date open (ours), of opening the file and reading
//! one row of one table (floor) and their ratio; then a fresh apply of 1000 migrations against
//! executing the same SQL in one transaction. Each figure is the fastest of several interleaved
//! batches (the median follows in parentheses).

use std::path::Path;
use std::time::{Duration, Instant};

use migrate_runtime::rusqlite::Connection;
use migrate_runtime::{Database, Migration, Options, chain_hash, hash_sql};

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// `n` migrations, each creating a table with an index (what generated migrations look like).
fn migrations(n: u32) -> Vec<Migration> {
    let mut out = Vec::new();
    let mut prev: Option<&'static str> = None;
    for i in 0..n {
        let sql = leak(format!(
            "CREATE TABLE \"t{i}\" (\"id\" INTEGER PRIMARY KEY, \"name\" TEXT NOT NULL, \"v\" INTEGER);\n\
             --> statement-breakpoint\nCREATE INDEX \"t{i}_name\" ON \"t{i}\" (\"name\");\n"
        ));
        let hash = leak(hash_sql(sql));
        let chain = leak(chain_hash(prev, hash));
        prev = Some(chain);
        out.push(Migration { idx: i, tag: leak(format!("{i:04}_create_t{i}")), sql, hash, chain });
    }
    out
}

/// Median time of `f` over `rounds` rounds of `per_round` calls each, per call.
fn median(rounds: usize, per_round: u32, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..per_round {
                f();
            }
            start.elapsed() / per_round
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn remove_db(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    println!("sqlite {}", migrate_runtime::rusqlite::version());
    println!(
        "up-to-date open (open + policy + ledger check + close) vs floor (open + read one row + close)"
    );
    for n in [10u32, 100, 1000] {
        let m = migrations(n);
        let path = dir.path().join(format!("bench-{n}.db"));
        drop(Database::open(&path, &m, &Options::new()).expect("apply"));
        let per_round = if n >= 1000 { 20 } else { 200 };
        // Interleaved batches, so drift hits both alike; the fastest batch of each is reported
        // (the least disturbed by other load on the machine), with the median for reference.
        let mut ours = Vec::new();
        let mut floor = Vec::new();
        for _ in 0..15 {
            ours.push(median(1, per_round, || {
                let db = Database::open(&path, &m, &Options::new()).expect("open");
                assert!(db.report().is_empty());
            }));
            floor.push(median(1, per_round, || {
                let conn = Connection::open(&path).expect("open");
                let chain: String = conn
                    .query_row(
                        "SELECT \"chain\" FROM \"__schema_migrations\" ORDER BY \"idx\" DESC LIMIT 1",
                        [],
                        |r| r.get(0),
                    )
                    .expect("read");
                assert_eq!(chain.len(), 64);
            }));
        }
        ours.sort();
        floor.sort();
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        println!(
            "{n:>5} migrations: ours {:>8.1} us  floor {:>8.1} us  ratio {:.2}   (medians {:.1} / {:.1} us, ratio {:.2})",
            us(ours[0]),
            us(floor[0]),
            ours[0].as_secs_f64() / floor[0].as_secs_f64(),
            us(ours[7]),
            us(floor[7]),
            ours[7].as_secs_f64() / floor[7].as_secs_f64()
        );
    }

    println!("fresh apply of 1000 migrations vs the same SQL in one transaction");
    let m = migrations(1000);
    let path = dir.path().join("fresh.db");
    let mut ours = Vec::new();
    let mut plain = Vec::new();
    for _ in 0..7 {
        remove_db(&path);
        let start = Instant::now();
        let db = Database::open(&path, &m, &Options::new()).expect("apply");
        drop(db);
        ours.push(start.elapsed());
        remove_db(&path);
        let start = Instant::now();
        let conn = Connection::open(&path).expect("open");
        conn.pragma_update(None, "journal_mode", "WAL").expect("wal");
        conn.execute_batch("BEGIN IMMEDIATE").expect("begin");
        for mig in &m {
            conn.execute_batch(mig.sql).expect("apply");
        }
        conn.execute_batch("COMMIT").expect("commit");
        drop(conn);
        plain.push(start.elapsed());
    }
    ours.sort();
    plain.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        " 1000 migrations: ours {:>8.1} ms  plain {:>8.1} ms  ratio {:.2}   (medians {:.1} / {:.1} ms, ratio {:.2})",
        ms(ours[0]),
        ms(plain[0]),
        ours[0].as_secs_f64() / plain[0].as_secs_f64(),
        ms(ours[3]),
        ms(plain[3]),
        ours[3].as_secs_f64() / plain[3].as_secs_f64()
    );
}
