//! Real processes on real files: eight processes racing to migrate one new file, and processes
//! SIGKILLed at random moments during a long apply.

mod runtime_support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use migrate_runtime::rusqlite::Connection;
use migrate_runtime::{Database, Options};

const HELPER: &str = env!("CARGO_BIN_EXE_runtime_helper");

fn spawn(db: &Path, dir: &Path) -> Child {
    Command::new(HELPER)
        .arg("migrate")
        .arg(db)
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn runtime_helper")
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// A small deterministic generator for the kill moments.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

const RACE: &[(&str, &str)] = &[
    (
        "0000_create_users",
        "CREATE TABLE \"users\" (\"id\" INTEGER PRIMARY KEY, \"name\" TEXT NOT NULL);\n",
    ),
    (
        "0001_seed_users",
        "INSERT INTO \"users\" (\"name\") WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) SELECT 'u' || i FROM n;\n",
    ),
    (
        "0002_add_users_karma",
        "ALTER TABLE \"users\" ADD COLUMN \"karma\" INTEGER NOT NULL DEFAULT 0;\n",
    ),
    (
        "0003_create_posts",
        "CREATE TABLE \"posts\" (\"id\" INTEGER PRIMARY KEY, \"user_id\" INTEGER NOT NULL REFERENCES \"users\" (\"id\") ON DELETE CASCADE);\n--> statement-breakpoint\nINSERT INTO \"posts\" (\"user_id\") SELECT \"id\" FROM \"users\";\n",
    ),
    ("0004_index_posts", "CREATE INDEX \"posts_user_id\" ON \"posts\" (\"user_id\");\n"),
];

#[test]
fn eight_processes_racing_on_a_new_file_apply_each_migration_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let mig_dir = dir.path().join("migrations");
    runtime_support::write_dir(&mig_dir, RACE);
    for round in 0..50 {
        let db = dir.path().join(format!("race-{round}.db"));
        let children: Vec<Child> = (0..8).map(|_| spawn(&db, &mig_dir)).collect();
        let mut applied_total = 0;
        for child in children {
            let out = child.wait_with_output().unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "round {round}: a process failed: {stdout} {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let n: usize = stdout
                .trim()
                .strip_prefix("applied ")
                .and_then(|n| n.parse().ok())
                .expect("applied <n>");
            assert!(
                n == 0 || n == RACE.len(),
                "round {round}: one process applies all or nothing, got {n}"
            );
            applied_total += n;
        }
        assert_eq!(
            applied_total,
            RACE.len(),
            "round {round}: every migration applied exactly once"
        );
        let conn = Connection::open(&db).unwrap();
        assert_eq!(count(&conn, "SELECT count(*) FROM __schema_migrations"), RACE.len() as i64);
        assert_eq!(count(&conn, "SELECT count(*) FROM users"), 500, "round {round}: seeded once");
        assert_eq!(count(&conn, "SELECT count(*) FROM posts"), 500);
        drop(conn);
        std::fs::remove_file(&db).unwrap();
    }
}

const CRASH_ROWS: i64 = 12_000;

fn crash_v1() -> Vec<(&'static str, String)> {
    vec![
        (
            "0000_create_items",
            "CREATE TABLE \"items\" (\"id\" INTEGER PRIMARY KEY AUTOINCREMENT, \"val\" INTEGER NOT NULL, \"label\" TEXT);\n--> statement-breakpoint\nCREATE TABLE \"tags\" (\"id\" INTEGER PRIMARY KEY, \"item_id\" INTEGER NOT NULL REFERENCES \"items\" (\"id\") ON DELETE CASCADE);\n".to_owned(),
        ),
        (
            "0001_seed",
            format!(
                "INSERT INTO \"items\" (\"val\", \"label\") WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {CRASH_ROWS}) SELECT i, 'item ' || i FROM n;\n--> statement-breakpoint\nINSERT INTO \"tags\" (\"item_id\") SELECT \"id\" FROM \"items\" WHERE \"id\" % 10 = 0;\n"
            ),
        ),
    ]
}

fn crash_v2() -> Vec<(&'static str, String)> {
    let mut v = crash_v1();
    v.push((
        "0002_rebuild_items",
        "CREATE TABLE \"__new_items\" (\"id\" INTEGER PRIMARY KEY AUTOINCREMENT, \"val\" INTEGER NOT NULL, \"label\" TEXT NOT NULL DEFAULT '', \"score\" INTEGER NOT NULL DEFAULT 0);
--> statement-breakpoint
INSERT INTO \"__new_items\" (\"id\", \"val\", \"label\", \"score\") SELECT \"id\", \"val\", coalesce(\"label\", ''), \"val\" * 2 FROM \"items\";
--> statement-breakpoint
DROP TABLE \"items\";
--> statement-breakpoint
ALTER TABLE \"__new_items\" RENAME TO \"items\";
"
        .to_owned(),
    ));
    v.push((
        "0003_create_history",
        "CREATE TABLE \"history\" (\"id\" INTEGER PRIMARY KEY, \"item_id\" INTEGER NOT NULL REFERENCES \"items\" (\"id\"), \"note\" TEXT NOT NULL);
--> statement-breakpoint
INSERT INTO \"history\" (\"item_id\", \"note\") SELECT \"id\", 'created ' || \"label\" FROM \"items\";
--> statement-breakpoint
INSERT INTO \"history\" (\"item_id\", \"note\") SELECT \"id\", 'scored ' || \"score\" FROM \"items\";
"
        .to_owned(),
    ));
    v.push((
        "0004_index_history",
        "CREATE INDEX \"history_item_id\" ON \"history\" (\"item_id\", \"note\");\n".to_owned(),
    ));
    v
}

fn as_pairs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(t, s)| (*t, s.as_str())).collect()
}

/// Checks the database after a kill: exactly the old or the new version, intact, no row lost.
/// Returns the number of applied migrations.
fn check_after_kill(db: &Path, round: usize) -> i64 {
    let conn = Connection::open(db).unwrap();
    let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok", "round {round}");
    assert_eq!(count(&conn, "SELECT count(*) FROM pragma_foreign_key_check"), 0, "round {round}");
    let version = count(&conn, "SELECT count(*) FROM __schema_migrations");
    assert_eq!(count(&conn, "SELECT count(*) FROM items"), CRASH_ROWS, "round {round}: items kept");
    assert_eq!(
        count(&conn, "SELECT sum(val) FROM items"),
        CRASH_ROWS * (CRASH_ROWS + 1) / 2,
        "round {round}"
    );
    assert_eq!(
        count(&conn, "SELECT count(*) FROM tags"),
        CRASH_ROWS / 10,
        "round {round}: cascade children kept"
    );
    let has = |name: &str| {
        count(&conn, &format!("SELECT count(*) FROM sqlite_schema WHERE name = '{name}'")) == 1
    };
    match version {
        2 => {
            assert!(
                !has("history") && !has("__new_items"),
                "round {round}: nothing of v2 left behind"
            );
            let cols = count(&conn, "SELECT count(*) FROM pragma_table_info('items')");
            assert_eq!(cols, 3, "round {round}: old items shape");
        }
        5 => {
            assert_eq!(
                count(&conn, "SELECT count(*) FROM items WHERE score = val * 2"),
                CRASH_ROWS,
                "round {round}"
            );
            assert_eq!(
                count(&conn, "SELECT count(*) FROM history"),
                2 * CRASH_ROWS,
                "round {round}"
            );
            assert!(has("history_item_id"));
            assert_eq!(
                count(&conn, "SELECT seq FROM sqlite_sequence WHERE name = 'items'"),
                CRASH_ROWS
            );
        }
        other => panic!("round {round}: the ledger has {other} rows: a half-applied database"),
    }
    version
}

#[test]
fn killing_the_process_at_random_moments_never_half_applies() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = crash_v1();
    let v2 = crash_v2();
    let v2_dir = dir.path().join("v2");
    runtime_support::write_dir(&v2_dir, &as_pairs(&v2));
    // The version-1 database every round starts from (one file: WAL checkpointed on close).
    let template = dir.path().join("template.db");
    drop(
        Database::open(&template, runtime_support::migrations(&as_pairs(&v1)), &Options::new())
            .unwrap(),
    );
    assert!(!PathBuf::from(format!("{}-wal", template.display())).exists());

    // How long a full upgrade takes in a process (the fastest of three, the first run being
    // cold), to spread the kills over it.
    let mut full = Duration::MAX;
    for i in 0..3 {
        let calib = dir.path().join(format!("calibrate-{i}.db"));
        std::fs::copy(&template, &calib).unwrap();
        let start = Instant::now();
        let out = spawn(&calib, &v2_dir).wait_with_output().unwrap();
        full = full.min(start.elapsed());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
        assert_eq!(check_after_kill(&calib, 0), 5);
    }

    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let (mut old, mut new) = (0, 0);
    for round in 1..=50 {
        let db = dir.path().join(format!("crash-{round}.db"));
        std::fs::copy(&template, &db).unwrap();
        let mut child = spawn(&db, &v2_dir);
        let micros = u64::try_from(full.as_micros()).unwrap() * 11 / 10;
        std::thread::sleep(Duration::from_micros(rng.next() % micros.max(1)));
        let _ = child.kill();
        child.wait().unwrap();
        match check_after_kill(&db, round) {
            2 => old += 1,
            _ => new += 1,
        }
        // A killed upgrade is simply applied by the next start.
        if round % 10 == 0 {
            let db2 =
                Database::open(&db, runtime_support::migrations(&as_pairs(&v2)), &Options::new())
                    .unwrap();
            drop(db2);
            assert_eq!(check_after_kill(&db, round), 5);
        }
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
    }
    eprintln!(
        "full upgrade {full:?}; after 50 kills: {old} at the old version, {new} at the new one"
    );
    assert!(old > 0, "no kill landed before the commit: the test did not test anything");
}

#[test]
fn killing_a_first_install_leaves_an_empty_or_complete_file() {
    let dir = tempfile::tempdir().unwrap();
    let v2 = crash_v2();
    let v2_dir = dir.path().join("v2");
    runtime_support::write_dir(&v2_dir, &as_pairs(&v2));
    let calib = dir.path().join("calibrate.db");
    let start = Instant::now();
    assert!(spawn(&calib, &v2_dir).wait_with_output().unwrap().status.success());
    let full = start.elapsed();
    let mut rng = XorShift(0xd1b5_4a32_d192_ed03);
    let (mut empty, mut complete) = (0, 0);
    for round in 0..20 {
        let db = dir.path().join(format!("fresh-{round}.db"));
        let mut child = spawn(&db, &v2_dir);
        let micros = u64::try_from(full.as_micros()).unwrap() * 11 / 10;
        std::thread::sleep(Duration::from_micros(rng.next() % micros.max(1)));
        let _ = child.kill();
        child.wait().unwrap();
        if db.exists() {
            let conn = Connection::open(&db).unwrap();
            let integrity: String =
                conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
            assert_eq!(integrity, "ok", "round {round}");
            let tables = count(&conn, "SELECT count(*) FROM sqlite_schema");
            if tables == 0 {
                empty += 1;
            } else {
                drop(conn);
                assert_eq!(check_after_kill(&db, round), 5, "round {round}: complete");
                complete += 1;
            }
        } else {
            empty += 1;
        }
        // Whatever the kill left, the next start completes the install.
        let db2 = Database::open(&db, runtime_support::migrations(&as_pairs(&v2)), &Options::new())
            .unwrap();
        drop(db2);
        assert_eq!(check_after_kill(&db, round), 5);
    }
    eprintln!("first install {full:?}; after 20 kills: {empty} empty, {complete} complete");
    assert!(empty > 0, "no kill landed before the commit");
}
