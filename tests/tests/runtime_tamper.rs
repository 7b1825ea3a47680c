//! The runtime's refusals: every tampered history is refused before anything is written, and
//! harmless differences (CRLF, BOM) are accepted.

mod runtime_support;

use std::path::{Path, PathBuf};

use migrate_runtime::rusqlite::Connection;
use migrate_runtime::{ApplyError, Database, Error, Migration, Options, hash_sql};
use runtime_support::migrations;

const M0: (&str, &str) = (
    "0000_create_users",
    "-- create users\nCREATE TABLE \"users\" (\"id\" INTEGER PRIMARY KEY, \"name\" TEXT NOT NULL);\n--> statement-breakpoint\nCREATE INDEX \"users_name\" ON \"users\" (\"name\");\n",
);
const M1: (&str, &str) = ("0001_add_users_bio", "ALTER TABLE \"users\" ADD COLUMN \"bio\" TEXT;\n");
const M2: (&str, &str) = (
    "0002_create_posts",
    "CREATE TABLE \"posts\" (\"id\" INTEGER PRIMARY KEY, \"user_id\" INTEGER REFERENCES \"users\" (\"id\") ON DELETE CASCADE, \"title\" TEXT NOT NULL);\n",
);
const M3: (&str, &str) = (
    "0003_add_users_karma",
    "ALTER TABLE \"users\" ADD COLUMN \"karma\" INTEGER NOT NULL DEFAULT 0;\n",
);

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    Fixture { _dir: dir, path }
}

fn open(path: &Path, m: &[Migration]) -> Result<Database, Error> {
    Database::open(path, m, &Options::new())
}

type LedgerRows = Vec<(i64, String, String, String, i64)>;

/// Everything observable about the file once every connection is closed.
fn snapshot(path: &Path) -> (Vec<u8>, LedgerRows, Vec<String>) {
    let bytes = std::fs::read(path).unwrap();
    let conn = Connection::open(path).unwrap();
    let ledger = ledger(&conn);
    let mut stmt = conn.prepare("SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_schema ORDER BY name").unwrap();
    let schema =
        stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<Vec<String>, _>>().unwrap();
    (bytes, ledger, schema)
}

fn ledger(conn: &Connection) -> LedgerRows {
    let Ok(mut stmt) = conn
        .prepare("SELECT idx, tag, hash, chain, applied_at FROM __schema_migrations ORDER BY idx")
    else {
        return Vec::new();
    };
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Opens with `m`, expects a refusal, and checks that the file did not change at all.
fn refused(path: &Path, m: &[Migration]) -> Error {
    let before = snapshot(path);
    let err = open(path, m).expect_err("the open must be refused");
    let after = snapshot(path);
    assert!(before == after, "a refused open changed the database ({err})");
    err
}

#[test]
fn fresh_database_gets_every_migration_and_its_ledger_rows() {
    let f = fixture();
    let m = migrations(&[M0, M1, M2, M3]);
    let t0 = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()
        as i64;
    let db = open(&f.path, m).unwrap();
    let tags: Vec<&str> = db.report().applied.iter().map(|a| a.tag).collect();
    assert_eq!(
        tags,
        ["0000_create_users", "0001_add_users_bio", "0002_create_posts", "0003_add_users_karma"]
    );
    let rows = ledger(db.conn());
    assert_eq!(rows.len(), 4);
    for (row, mig) in rows.iter().zip(m) {
        assert_eq!(row.0, i64::from(mig.idx));
        assert_eq!(row.1, mig.tag);
        assert_eq!(row.2, mig.hash);
        assert_eq!(row.3, mig.chain);
        assert!(row.4 >= t0 - 1000 && row.4 <= t0 + 60_000, "applied_at is unix ms: {}", row.4);
    }
    let mode: String = db.conn().query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = db.conn().query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
    assert_eq!(fk, 1);
    let ledger_sql: String = db
        .conn()
        .query_row("SELECT sql FROM sqlite_schema WHERE name = '__schema_migrations'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(
        ledger_sql.contains("\"idx\" INTEGER PRIMARY KEY")
            && ledger_sql.contains("\"tag\" TEXT NOT NULL UNIQUE")
    );
    // A fresh database with no migrations at all gets no ledger either.
    let g = fixture();
    drop(open(&g.path, &[]).unwrap());
    assert!(snapshot(&g.path).2.is_empty());
}

#[test]
fn up_to_date_open_writes_nothing() {
    let f = fixture();
    let m = migrations(&[M0, M1]);
    drop(open(&f.path, m).unwrap());
    let before = snapshot(&f.path);
    let modified = std::fs::metadata(&f.path).unwrap().modified().unwrap();
    for _ in 0..3 {
        let db = open(&f.path, m).unwrap();
        assert!(db.report().is_empty());
        assert_eq!(db.conn().total_changes(), 0);
        drop(db);
    }
    assert!(before == snapshot(&f.path));
    assert_eq!(std::fs::metadata(&f.path).unwrap().modified().unwrap(), modified);
}

#[test]
fn old_database_is_brought_up_to_date_keeping_its_rows() {
    let f = fixture();
    let db = open(&f.path, migrations(&[M0, M1])).unwrap();
    db.conn()
        .execute_batch("INSERT INTO users (name, bio) VALUES ('ada', 'x'), ('bob', NULL);")
        .unwrap();
    drop(db);
    let db = open(&f.path, migrations(&[M0, M1, M2, M3])).unwrap();
    let tags: Vec<&str> = db.report().applied.iter().map(|a| a.tag).collect();
    assert_eq!(tags, ["0002_create_posts", "0003_add_users_karma"]);
    let rows: Vec<(String, Option<String>, i64)> = db
        .conn()
        .prepare("SELECT name, bio, karma FROM users ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows, [("ada".into(), Some("x".into()), 0), ("bob".into(), None, 0)]);
}

#[test]
fn edited_migration_is_refused_naming_tag_and_both_hashes() {
    let f = fixture();
    let m = migrations(&[M0, M1, M2]);
    drop(open(&f.path, m).unwrap());
    let edited_sql = "ALTER TABLE \"users\" ADD COLUMN \"bio\" TEXT NOT NULL DEFAULT '';\n";
    let edited = migrations(&[M0, ("0001_add_users_bio", edited_sql), M2]);
    let err = refused(&f.path, edited);
    let Error::Edited { tag, stored_hash, embedded_hash } = &err else {
        panic!("expected Edited, got {err:?}")
    };
    assert_eq!(tag, "0001_add_users_bio");
    assert_eq!(stored_hash, &hash_sql(M1.1));
    assert_eq!(embedded_hash, &hash_sql(edited_sql));
    let msg = err.to_string();
    assert!(msg.contains("0001_add_users_bio"), "{msg}");
    assert!(msg.contains(&stored_hash[..7]) && msg.contains(&embedded_hash[..7]), "{msg}");
    assert!(msg.contains("edited"), "{msg}");
    assert_eq!(msg, msg.to_lowercase(), "messages are lowercase");
}

#[test]
fn crlf_and_bom_differences_are_not_edits() {
    let f = fixture();
    // Applied from a Windows checkout: CRLF line endings and a byte-order mark.
    let windows = |s: &str| format!("\u{feff}{}", s.replace('\n', "\r\n"));
    let (w0, w1) = (windows(M0.1), windows(M1.1));
    let db = open(&f.path, migrations(&[(M0.0, &w0), (M1.0, &w1)])).unwrap();
    assert_eq!(db.report().applied.len(), 2);
    // Both statements of the CRLF file ran (the breakpoint line ended in \r\n).
    let idx: i64 = db
        .conn()
        .query_row("SELECT count(*) FROM sqlite_schema WHERE name = 'users_name'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(idx, 1);
    drop(db);
    // The Unix checkout of the same files is the same history.
    let db = open(&f.path, migrations(&[M0, M1, M2])).unwrap();
    let tags: Vec<&str> = db.report().applied.iter().map(|a| a.tag).collect();
    assert_eq!(tags, ["0002_create_posts"]);
    drop(db);
    // And a BOM alone, or CRLF alone, is accepted without writing.
    let bom_only = format!("\u{feff}{}", M1.1);
    let crlf_only = M0.1.replace('\n', "\r\n");
    let before = snapshot(&f.path);
    let db = open(&f.path, migrations(&[(M0.0, &crlf_only), (M1.0, &bom_only), M2])).unwrap();
    assert!(db.report().is_empty());
    drop(db);
    assert!(before == snapshot(&f.path));
}

#[test]
fn database_newer_than_the_binary_is_refused() {
    let f = fixture();
    drop(open(&f.path, migrations(&[M0, M1, M2, M3])).unwrap());
    let err = refused(&f.path, migrations(&[M0, M1]));
    let Error::UnknownApplied { tag, idx, stored_hash } = &err else {
        panic!("expected UnknownApplied, got {err:?}")
    };
    assert_eq!((tag.as_str(), *idx), ("0002_create_posts", 2));
    assert_eq!(stored_hash, &hash_sql(M2.1));
    let msg = err.to_string();
    assert!(
        msg.contains("newer")
            && msg.contains("0002_create_posts")
            && msg.contains(stored_hash.as_str()),
        "{msg}"
    );
}

#[test]
fn migration_ordered_before_an_applied_one_is_refused() {
    let f = fixture();
    // Branch A shipped 0000, 0001 and 0003; the merged binary also has 0002 before 0003.
    drop(open(&f.path, migrations(&[M0, M1, M3])).unwrap());
    let err = refused(&f.path, migrations(&[M0, M1, M2, M3]));
    let Error::OutOfOrder { tag, applied_tag } = &err else {
        panic!("expected OutOfOrder, got {err:?}")
    };
    assert_eq!((tag.as_str(), applied_tag.as_str()), ("0002_create_posts", "0003_add_users_karma"));
    let msg = err.to_string();
    assert!(
        msg.contains("0002_create_posts")
            && msg.contains("0003_add_users_karma")
            && msg.contains("renumber"),
        "{msg}"
    );
}

#[test]
fn two_branches_with_the_same_number_are_refused() {
    let f = fixture();
    let other = ("0002_create_tags", "CREATE TABLE \"tags\" (\"id\" INTEGER PRIMARY KEY);\n");
    drop(open(&f.path, migrations(&[M0, M1, other])).unwrap());
    let err = refused(&f.path, migrations(&[M0, M1, M2, M3]));
    let Error::Diverged { idx, stored_tag, embedded_tag, .. } = &err else {
        panic!("expected Diverged, got {err:?}")
    };
    assert_eq!(
        (*idx, stored_tag.as_str(), embedded_tag.as_str()),
        (2, "0002_create_tags", "0002_create_posts")
    );
    let msg = err.to_string();
    assert!(msg.contains(&hash_sql(other.1)[..7]) && msg.contains(&hash_sql(M2.1)[..7]), "{msg}");
}

/// Issue 11, problem 12: a renamed migration file changes its tag but not its text, so the chain
/// (which covers hashes only) still matches; the start-up read compares the tags too.
#[test]
fn a_renamed_migration_is_refused_on_the_fast_path() {
    let f = fixture();
    drop(open(&f.path, migrations(&[M0, M1, M2, M3])).unwrap());
    let renamed = migrations(&[M0, ("0001_add_user_bios", M1.1), M2, M3]);
    assert_eq!(renamed[3].chain, migrations(&[M0, M1, M2, M3])[3].chain, "same chain");
    let err = refused(&f.path, renamed);
    let Error::Diverged { idx, stored_tag, embedded_tag, .. } = &err else {
        panic!("expected Diverged, got {err:?}")
    };
    assert_eq!(
        (*idx, stored_tag.as_str(), embedded_tag.as_str()),
        (1, "0001_add_users_bio", "0001_add_user_bios")
    );
    // The read-only paths agree with status().
    let conn = Connection::open(&f.path).unwrap();
    let err = migrate_runtime::verify(&conn, renamed).unwrap_err();
    assert!(matches!(err, Error::Diverged { idx: 1, .. }), "{err:?}");
    assert!(!migrate_runtime::status(&conn, renamed).unwrap().is_up_to_date());
    // The head row renamed, and two middle rows renamed, are caught the same way.
    let last = migrations(&[M0, M1, M2, ("0003_add_user_karma", M3.1)]);
    assert!(matches!(refused(&f.path, last), Error::Diverged { idx: 3, .. }));
    let two = migrations(&[M0, ("0001_x", M1.1), ("0002_x", M2.1), M3]);
    assert!(matches!(refused(&f.path, two), Error::Diverged { idx: 1, .. }));
    // The same tags still open with the fast path.
    assert!(open(&f.path, migrations(&[M0, M1, M2, M3])).unwrap().report().is_empty());
}

#[test]
fn missing_ledger_row_in_the_middle_is_refused() {
    let f = fixture();
    let m = migrations(&[M0, M1, M2, M3]);
    drop(open(&f.path, m).unwrap());
    Connection::open(&f.path)
        .unwrap()
        .execute("DELETE FROM __schema_migrations WHERE idx = 1", [])
        .unwrap();
    let err = refused(&f.path, m);
    let Error::OutOfOrder { tag, applied_tag } = &err else {
        panic!("expected OutOfOrder, got {err:?}")
    };
    assert_eq!((tag.as_str(), applied_tag.as_str()), ("0001_add_users_bio", "0002_create_posts"));
    assert!(err.to_string().contains("ledger row was deleted"), "{err}");
}

#[test]
fn hand_edited_chain_is_refused() {
    let f = fixture();
    let m = migrations(&[M0, M1]);
    drop(open(&f.path, m).unwrap());
    Connection::open(&f.path)
        .unwrap()
        .execute("UPDATE __schema_migrations SET chain = 'x' || chain WHERE idx = 1", [])
        .unwrap();
    let err = refused(&f.path, m);
    assert!(
        matches!(&err, Error::LedgerCorrupt { tag, .. } if tag == "0001_add_users_bio"),
        "{err:?}"
    );
}

#[test]
fn caller_inside_a_transaction_is_refused() {
    let f = fixture();
    let mut conn = Connection::open(&f.path).unwrap();
    conn.execute_batch("BEGIN").unwrap();
    let err = migrate_runtime::migrate(&mut conn, migrations(&[M0])).unwrap_err();
    assert!(matches!(err, Error::InTransaction), "{err:?}");
    assert!(err.to_string().contains("transaction"));
    // Still the caller's transaction, and nothing was created.
    assert!(!conn.is_autocommit());
    conn.execute_batch("ROLLBACK").unwrap();
    let n: i64 = conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 0);
    // Once out of it, the same call works.
    assert_eq!(migrate_runtime::migrate(&mut conn, migrations(&[M0])).unwrap().applied.len(), 1);
}

#[test]
fn transaction_control_in_a_migration_is_refused_before_anything_runs() {
    let cases = [
        (
            "0001_sneaky",
            "CREATE TABLE \"a\" (\"x\");\nCOMMIT;\nCREATE TABLE \"b\" (\"y\");\n",
            2,
            "COMMIT",
        ),
        (
            "0001_sneaky",
            "PRAGMA foreign_keys = OFF;\n--> statement-breakpoint\nCREATE TABLE \"a\" (\"x\");\n",
            1,
            "PRAGMA foreign_keys",
        ),
        (
            "0001_sneaky",
            "CREATE TABLE \"a\" (\"x\");\n--> statement-breakpoint\nBEGIN;\n",
            2,
            "BEGIN",
        ),
        // Issue 11, problem 3: a quoted pragma name is the same pragma.
        (
            "0001_sneaky",
            "CREATE TABLE \"a\" (\"x\");\nPRAGMA \"locking_mode\" = EXCLUSIVE;\n",
            2,
            "PRAGMA locking_mode",
        ),
        ("0001_sneaky", "SAVEPOINT \"mine\";\n", 1, "SAVEPOINT"),
    ];
    for (tag, sql, number, refused) in cases {
        let f = fixture();
        let err = open(&f.path, migrations(&[M0, (tag, sql)])).unwrap_err();
        let Error::Apply(ApplyError::Refused { tag: t, statement, what, .. }) = &err else {
            panic!("expected Refused, got {err:?}")
        };
        assert_eq!((t.as_str(), *statement, what.as_str()), (tag, number, refused));
        // Not even 0000 was applied.
        assert!(snapshot(&f.path).2.is_empty(), "{sql}");
    }
    // The exclusive locking mode does not outlive the refused run on the migrating connection.
    let f = fixture();
    let mut conn = Connection::open(&f.path).unwrap();
    let locking = "CREATE TABLE \"a\" (\"x\");\nPRAGMA \"locking_mode\" = EXCLUSIVE;\n";
    let err = migrate_runtime::migrate(&mut conn, migrations(&[("0000_a", locking)])).unwrap_err();
    assert!(matches!(err, Error::Apply(ApplyError::Refused { .. })), "{err:?}");
    let mode: String = conn.query_row("PRAGMA locking_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "normal");
    conn.execute_batch("CREATE TABLE \"mine\" (\"x\")").unwrap();
    let other = Connection::open(&f.path).unwrap();
    let n: i64 = other.query_row("SELECT count(*) FROM \"mine\"", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 0);
    // VACUUM cannot run inside the run's transaction: SQLite's own error, at its statement.
    let f = fixture();
    let err = open(&f.path, migrations(&[M0, ("0001_sneaky", "VACUUM;\n")])).unwrap_err();
    let Error::Apply(ApplyError::Statement { tag, statement, source, .. }) = &err else {
        panic!("expected Statement, got {err:?}")
    };
    assert_eq!((tag.as_str(), *statement), ("0001_sneaky", 1));
    assert!(source.to_string().contains("cannot VACUUM from within a transaction"), "{source}");
    assert!(snapshot(&f.path).2.is_empty());
    // A trigger body's BEGIN .. END is not transaction control.
    let f = fixture();
    let trigger = "CREATE TRIGGER \"users_ai\" AFTER INSERT ON \"users\" BEGIN UPDATE \"users\" SET \"name\" = CASE WHEN NEW.\"name\" = '' THEN 'anon' ELSE NEW.\"name\" END WHERE \"id\" = NEW.\"id\"; END;\n";
    let db = open(&f.path, migrations(&[M0, ("0001_trigger", trigger)])).unwrap();
    db.conn().execute("INSERT INTO users (name) VALUES ('')", []).unwrap();
    let name: String = db.conn().query_row("SELECT name FROM users", [], |r| r.get(0)).unwrap();
    assert_eq!(name, "anon");
}

#[test]
fn database_not_created_by_these_migrations_is_refused() {
    let f = fixture();
    Connection::open(&f.path).unwrap().execute_batch("CREATE TABLE \"notes\" (\"x\");").unwrap();
    let err = refused(&f.path, migrations(&[M0]));
    assert!(matches!(&err, Error::Unmanaged { tables } if tables == &["notes"]), "{err:?}");
}

#[test]
fn wrong_embedded_hash_is_refused() {
    let f = fixture();
    drop(open(&f.path, migrations(&[M0])).unwrap());
    let good = migrations(&[M0, M1]);
    let bad = Box::leak(Box::new([good[0], Migration { hash: good[0].hash, ..good[1] }]));
    let err = refused(&f.path, bad);
    assert!(
        matches!(&err, Error::InvalidMigrations { tag, .. } if tag == "0001_add_users_bio"),
        "{err:?}"
    );
}
