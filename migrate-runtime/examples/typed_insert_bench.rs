//! `cargo run --release -p migrate-runtime --example typed_insert_bench [-- ROWS [ROUNDS]]`
//!
//! Inserts ROWS (default 100,000) rows in one transaction through the typed API
//! (`Database::transaction` + `Crud::insert`, SQLite assigning the ids) and, as the floor, through
//! one prepared rusqlite statement reused for every row (`Statement::execute`), into a fresh WAL
//! database file each round. The rows are built before the clock starts, the same for both sides;
//! the sides alternate for ROUNDS rounds (default 7). Prints the fastest and median time of each
//! side and the ratio ours / floor (goal: 1.1 or better). For reference it also times the typed
//! API on a plain `rusqlite::Transaction`, where statements come from `prepare_cached`.

use std::path::Path;
use std::time::{Duration, Instant};

use migrate_runtime::rusqlite::{Connection, params};
use migrate_runtime::{Crud, Database, Error, Migration, Options, Table, chain_hash, hash_sql};

/// The row: a typical user, with nullable fields and an AUTOINCREMENT key.
#[derive(Table)]
#[table(name = "users")]
pub struct User {
    /// Assigned by SQLite (0 on insert).
    #[column(primary_key, autoincrement)]
    pub id: i64,
    /// E-mail.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Profile text, for a third of the rows.
    pub bio: Option<String>,
    /// Reputation.
    pub karma: i64,
    /// Team, for half of the rows.
    pub team_id: Option<i64>,
}

const CREATE: &str = "CREATE TABLE \"users\" (\"id\" INTEGER PRIMARY KEY AUTOINCREMENT, \"email\" \
                      TEXT NOT NULL, \"name\" TEXT NOT NULL, \"bio\" TEXT, \"karma\" INTEGER NOT \
                      NULL, \"team_id\" INTEGER);\n";

fn migrations() -> Vec<Migration> {
    let hash: &'static str = Box::leak(hash_sql(CREATE).into_boxed_str());
    let chain: &'static str = Box::leak(chain_hash(None, hash).into_boxed_str());
    vec![Migration { idx: 0, tag: "0000_create_users", sql: CREATE, hash, chain }]
}

fn rows(n: u32) -> Vec<User> {
    (0..n)
        .map(|i| User {
            id: 0,
            email: format!("user{i}@example.com"),
            name: format!("User {i}"),
            bio: (i % 3 == 0).then(|| format!("bio of user {i}")),
            karma: i64::from(i % 1000),
            team_id: (i % 2 == 0).then_some(i64::from(i % 50)),
        })
        .collect()
}

fn ours(path: &Path, rows: &[User], migrations: &[Migration]) -> Result<Duration, Error> {
    let mut db = Database::open(path, migrations, &Options::new())?;
    let start = Instant::now();
    db.transaction(|tx| {
        for row in rows {
            tx.insert(row)?;
        }
        Ok::<_, Error>(())
    })?;
    let elapsed = start.elapsed();
    assert_eq!(db.conn().last_insert_rowid(), i64::try_from(rows.len()).unwrap_or(i64::MAX));
    Ok(elapsed)
}

/// The typed API on a plain `rusqlite::Transaction` (statements from `prepare_cached`).
fn ours_on_rusqlite_tx(
    path: &Path,
    rows: &[User],
    migrations: &[Migration],
) -> Result<Duration, Error> {
    let mut db = Database::open(path, migrations, &Options::new())?;
    let start = Instant::now();
    let tx = db
        .conn_mut()
        .transaction_with_behavior(migrate_runtime::rusqlite::TransactionBehavior::Immediate)?;
    for row in rows {
        tx.insert(row)?;
    }
    tx.commit()?;
    Ok(start.elapsed())
}

fn floor(path: &Path, rows: &[User], migrations: &[Migration]) -> Result<Duration, Error> {
    let mut db = Database::open(path, migrations, &Options::new())?;
    let conn: &mut Connection = db.conn_mut();
    let start = Instant::now();
    let tx =
        conn.transaction_with_behavior(migrate_runtime::rusqlite::TransactionBehavior::Immediate)?;
    {
        let mut stmt = tx.prepare(
            "INSERT INTO \"users\" (\"email\", \"name\", \"bio\", \"karma\", \"team_id\") \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for row in rows {
            stmt.execute(params![row.email, row.name, row.bio, row.karma, row.team_id])?;
        }
    }
    tx.commit()?;
    let elapsed = start.elapsed();
    assert_eq!(conn.last_insert_rowid(), i64::try_from(rows.len()).unwrap_or(i64::MAX));
    Ok(elapsed)
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: u32 = args.next().map_or(Ok(100_000), |a| a.parse())?;
    let rounds: usize = args.next().map_or(Ok(7), |a| a.parse())?;
    let migrations = migrations();
    let rows = rows(n);
    let dir = tempfile::tempdir()?;
    let (mut ours_t, mut floor_t, mut plain_t) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let a = dir.path().join(format!("ours-{round}.db"));
        let b = dir.path().join(format!("floor-{round}.db"));
        // Alternate which side goes first, so neither always gets the warmer cache.
        if round % 2 == 0 {
            ours_t.push(ours(&a, &rows, &migrations)?);
            floor_t.push(floor(&b, &rows, &migrations)?);
        } else {
            floor_t.push(floor(&b, &rows, &migrations)?);
            ours_t.push(ours(&a, &rows, &migrations)?);
        }
        let c = dir.path().join(format!("plain-{round}.db"));
        plain_t.push(ours_on_rusqlite_tx(&c, &rows, &migrations)?);
    }
    let (ours_min, floor_min) = (*ours_t.iter().min().unwrap(), *floor_t.iter().min().unwrap());
    let (ours_med, floor_med) = (median(&mut ours_t), median(&mut floor_t));
    println!("typed insert of {n} rows in one transaction, {rounds} rounds");
    println!(
        "ours (Db::transaction + Crud::insert): fastest {:.1} ms, median {:.1} ms",
        ms(ours_min),
        ms(ours_med)
    );
    println!(
        "floor (one prepared rusqlite statement): fastest {:.1} ms, median {:.1} ms",
        ms(floor_min),
        ms(floor_med)
    );
    let plain_min = *plain_t.iter().min().unwrap();
    println!(
        "(for reference) Crud::insert on a plain rusqlite::Transaction (prepare_cached): \
         fastest {:.1} ms, median {:.1} ms",
        ms(plain_min),
        ms(median(&mut plain_t))
    );
    println!(
        "ratio ours/floor: fastest {:.3}x, median {:.3}x (goal 1.1x or better)",
        ms(ours_min) / ms(floor_min),
        ms(ours_med) / ms(floor_med)
    );
    Ok(())
}
