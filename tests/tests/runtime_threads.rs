//! Connections racing in threads through the free `migrate` function, on a file the caller keeps
//! in rollback-journal mode (the runner changes no journal mode there).

mod runtime_support;

use std::sync::{Arc, Barrier};
use std::time::Duration;

use migrate_runtime::rusqlite::Connection;

#[test]
fn eight_threads_in_rollback_journal_mode_apply_each_migration_once() {
    let m = runtime_support::migrations(&[
        (
            "0000_create_a",
            "CREATE TABLE \"a\" (\"id\" INTEGER PRIMARY KEY, \"n\" INTEGER NOT NULL);\n",
        ),
        (
            "0001_fill_a",
            "INSERT INTO \"a\" (\"n\") WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 2000) SELECT i FROM c;\n",
        ),
        ("0002_index_a", "CREATE INDEX \"a_n\" ON \"a\" (\"n\");\n"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    for round in 0..20 {
        let path = dir.path().join(format!("threads-{round}.db"));
        let barrier = Arc::new(Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (path, barrier) = (path.clone(), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    let mut conn = Connection::open(&path).unwrap();
                    conn.busy_timeout(Duration::from_secs(30)).unwrap();
                    barrier.wait();
                    migrate_runtime::migrate(&mut conn, m).map(|r| r.applied.len())
                })
            })
            .collect();
        let applied: Vec<usize> = handles.into_iter().map(|h| h.join().unwrap().unwrap()).collect();
        assert_eq!(applied.iter().sum::<usize>(), 3, "round {round}: {applied:?}");
        let conn = Connection::open(&path).unwrap();
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "delete", "the caller's journal mode is kept");
        let rows: i64 = conn.query_row("SELECT count(*) FROM a", [], |r| r.get(0)).unwrap();
        assert_eq!(rows, 2000, "round {round}");
    }
}
