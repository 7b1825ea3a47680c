//! The progress bar of a long upgrade: a library at version 0002 with many notebooks, upgraded
//! through the rebuild of `notebooks` (0003), drawn frame by frame.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use migrate_runtime::rusqlite::Connection;
use migrate_runtime::{Control, Options, ProgressHook};
use notebook::library::LibraryDb;
use notebook::progress::frame;

#[test]
fn a_long_upgrade_draws_a_bar_that_only_grows_and_ends_full() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("library.db");
    let mut conn = Connection::open(&path).unwrap();
    migrate_runtime::migrate(&mut conn, &LibraryDb::MIGRATIONS[..3]).unwrap();
    conn.execute_batch(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) \
         INSERT INTO notebooks (title) SELECT 'notebook ' || i FROM n;",
    )
    .unwrap();
    drop(conn);

    let frames = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&frames);
    let hook = ProgressHook::new(move |p| {
        log.lock().unwrap().push((notebook::progress::overall(p), frame(p)));
        Control::Continue
    })
    .every(Duration::ZERO);
    let db = LibraryDb::open_with(&path, &Options::new().progress_hook(hook)).unwrap();
    drop(db);

    let frames = frames.lock().unwrap();
    let pending = LibraryDb::MIGRATIONS.len() - 3;
    assert!(frames.windows(2).all(|w| w[0].0 <= w[1].0), "the bar never shrinks");
    // The rebuild's copy redraws the bar while it runs.
    let copying = frames
        .iter()
        .filter(|f| f.1.contains(&format!("] 1/{pending} add notebooks color ")))
        .count();
    assert!(copying > 3, "{copying} frames during the rebuild");
    let (fraction, last) = frames.last().unwrap();
    assert!((fraction - 1.0).abs() < f64::EPSILON, "{last}");
    assert!(last.starts_with("\r[####################] "), "{last}");
    assert!(last.ends_with(" 100%"), "{last}");
    assert!(frames.iter().all(|f| f.1.starts_with("\r[") && f.1.matches(['#', '.']).count() >= 20));
}
