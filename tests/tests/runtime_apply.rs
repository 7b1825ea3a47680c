//! Applying migrations: foreign keys off outside the transaction (T26/T27 and their negative
//! control), rollback on failure, new foreign-key violations, broken views, status, verify,
//! read-only opens, backups, and the generated `Db` type.

mod runtime_support;

use std::path::{Path, PathBuf};

use migrate_runtime::rusqlite::{self, Connection, OpenFlags};
use migrate_runtime::{
    ApplyError, Backup, CheckPhase, Database, Error, Migration, MigrationState, Options,
};
use runtime_support::{migrations, source_message};

struct Fixture {
    dir: tempfile::TempDir,
    path: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    Fixture { dir, path }
}

fn open(path: &Path, m: &[Migration]) -> Result<Database, Error> {
    Database::open(path, m, &Options::new())
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn schema_sql(conn: &Connection, name: &str) -> String {
    conn.query_row("SELECT sql FROM sqlite_schema WHERE name = ?1", [name], |r| r.get(0)).unwrap()
}

fn fk(conn: &Connection) -> i64 {
    count(conn, "PRAGMA foreign_keys")
}

fn ledger_len(conn: &Connection) -> i64 {
    conn.query_row("SELECT count(*) FROM __schema_migrations", [], |r| r.get(0)).unwrap_or(-1)
}

const PARENT: &str = "CREATE TABLE \"parent\" (\"id\" INTEGER PRIMARY KEY, \"name\" TEXT);\n";

/// T26/T27: `parent.name` becomes NOT NULL DEFAULT '' through the hand-written 12-step rebuild.
const REBUILD_PARENT: &str = "CREATE TABLE \"__new_parent\" (\"id\" INTEGER PRIMARY KEY, \"name\" TEXT NOT NULL DEFAULT '');
--> statement-breakpoint
INSERT INTO \"__new_parent\" (\"id\", \"name\") SELECT \"id\", coalesce(\"name\", '') FROM \"parent\";
--> statement-breakpoint
DROP TABLE \"parent\";
--> statement-breakpoint
ALTER TABLE \"__new_parent\" RENAME TO \"parent\";
";

fn children(on_delete: &str) -> String {
    format!(
        "CREATE TABLE \"child\" (\"id\" INTEGER PRIMARY KEY, \"pid\" INTEGER REFERENCES \"parent\" (\"id\") ON DELETE {on_delete});
--> statement-breakpoint
CREATE TABLE \"child2\" (\"id\" INTEGER PRIMARY KEY, \"pid\" INTEGER REFERENCES \"parent\" (\"id\"));
"
    )
}

const ROWS: &str = "INSERT INTO parent (id, name) VALUES (1, 'a'), (2, NULL);
INSERT INTO child (id, pid) VALUES (1, 1), (2, 2);
INSERT INTO child2 (id, pid) VALUES (1, 1);";

/// The database of T26/T27 before the rebuild, opened with foreign_keys=ON.
fn parent_and_children(path: &Path, on_delete: &str) -> (&'static [Migration], Database) {
    let kids = children(on_delete);
    let v1 = migrations(&[("0000_create_parent", PARENT), ("0001_create_children", &kids)]);
    let db = open(path, v1).unwrap();
    db.conn().execute_batch(ROWS).unwrap();
    let v2 = migrations(&[
        ("0000_create_parent", PARENT),
        ("0001_create_children", &kids),
        ("0002_rebuild_parent", REBUILD_PARENT),
    ]);
    (v2, db)
}

fn child_pids(conn: &Connection, table: &str) -> Vec<Option<i64>> {
    conn.prepare(&format!("SELECT pid FROM \"{table}\" ORDER BY id"))
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The naive runner of the negative control: the pragma inside the transaction (a no-op there).
fn naive_apply(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.execute_batch("BEGIN")?;
    conn.execute_batch("PRAGMA foreign_keys = OFF")?;
    let result = conn.execute_batch(&sql.replace("--> statement-breakpoint", ""));
    match result {
        Ok(()) => conn.execute_batch("COMMIT"),
        Err(e) => {
            conn.execute_batch("ROLLBACK")?;
            Err(e)
        }
    }
}

fn t26_t27(on_delete: &str) {
    let f = fixture();
    let (v2, db) = parent_and_children(&f.path, on_delete);
    let child_sql = schema_sql(db.conn(), "child");
    let child2_sql = schema_sql(db.conn(), "child2");
    drop(db);
    // The application's next version: foreign_keys=ON on the connection, as always.
    let db = open(&f.path, v2).unwrap();
    assert_eq!(db.report().applied.len(), 1);
    let conn = db.conn();
    assert_eq!(fk(conn), 1, "foreign_keys restored after the run");
    assert_eq!(
        child_pids(conn, "child"),
        [Some(1), Some(2)],
        "children kept with their parent ids"
    );
    assert_eq!(child_pids(conn, "child2"), [Some(1)]);
    assert_eq!(schema_sql(conn, "child"), child_sql, "child's CREATE TABLE text is byte-identical");
    assert_eq!(schema_sql(conn, "child2"), child2_sql);
    assert!(schema_sql(conn, "parent").contains("NOT NULL DEFAULT ''"));
    assert_eq!(count(conn, "SELECT count(*) FROM parent WHERE name = ''"), 1);
    assert_eq!(count(conn, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
}

#[test]
fn t26_rebuilding_a_parent_keeps_cascade_children() {
    t26_t27("CASCADE");
}

#[test]
fn t27_rebuilding_a_parent_keeps_set_null_children() {
    t26_t27("SET NULL");
}

#[test]
fn negative_control_pragma_inside_the_transaction_loses_child_rows() {
    // CASCADE: the naive runner empties the child table, and commits without an error. (The
    // NO ACTION child2 row is removed first: with it, the naive DROP TABLE fails with "FOREIGN KEY
    // constraint failed" instead, correctness.md section 0 fact 3; our runner keeps it, see T26.)
    let f = fixture();
    let (_, db) = parent_and_children(&f.path, "CASCADE");
    let conn = db.into_inner();
    conn.execute_batch("DELETE FROM child2").unwrap();
    assert_eq!(fk(&conn), 1);
    naive_apply(&conn, REBUILD_PARENT).unwrap();
    assert_eq!(
        child_pids(&conn, "child"),
        Vec::<Option<i64>>::new(),
        "the naive runner deleted the children"
    );
    // SET NULL: the naive runner nulls every child's reference.
    let g = fixture();
    let (_, db) = parent_and_children(&g.path, "SET NULL");
    let conn = db.into_inner();
    conn.execute_batch("DELETE FROM child2").unwrap();
    naive_apply(&conn, REBUILD_PARENT).unwrap();
    assert_eq!(child_pids(&conn, "child"), [None, None], "the naive runner nulled the references");
    // With the NO ACTION child row in place, the naive runner cannot even commit.
    let h = fixture();
    let (_, db) = parent_and_children(&h.path, "CASCADE");
    let err = naive_apply(db.conn(), REBUILD_PARENT).unwrap_err();
    assert!(err.to_string().contains("FOREIGN KEY constraint failed"), "{err}");
}

#[test]
fn failed_migration_rolls_everything_back_and_restores_foreign_keys() {
    for fk_before in [true, false] {
        let f = fixture();
        let mut conn = Connection::open(&f.path).unwrap();
        conn.pragma_update(None, "foreign_keys", fk_before).unwrap();
        let bad = "CREATE TABLE \"b\" (\"x\" INTEGER);\n--> statement-breakpoint\nINSERT INTO \"b\" (\"x\")\n  SELECT \"y\" FROM \"nope\";\n--> statement-breakpoint\nCREATE TABLE \"c\" (\"z\");\n";
        let m =
            migrations(&[("0000_create_a", "CREATE TABLE \"a\" (\"x\");\n"), ("0001_broken", bad)]);
        let err = migrate_runtime::migrate(&mut conn, m).unwrap_err();
        let Error::Apply(ApplyError::Statement { tag, statement, first_line, .. }) = &err else {
            panic!("expected Statement, got {err:?}")
        };
        assert_eq!(
            (tag.as_str(), *statement, first_line.as_str()),
            ("0001_broken", 2, "INSERT INTO \"b\" (\"x\")")
        );
        assert_eq!(
            err.to_string(),
            "migration 0001_broken failed at statement 2 (INSERT INTO \"b\" (\"x\")); nothing was \
             applied"
        );
        assert_eq!(source_message(&err), "no such table: nope");
        assert_eq!(fk(&conn), i64::from(fk_before), "foreign_keys restored");
        assert!(conn.is_autocommit());
        assert_eq!(
            count(&conn, "SELECT count(*) FROM sqlite_schema"),
            0,
            "0000 rolled back too, no ledger"
        );
    }
    // A statement that fails to prepare in the middle of a chunk is located by its own line.
    let f = fixture();
    let mut conn = Connection::open(&f.path).unwrap();
    let chunk = "CREATE TABLE \"a\" (\"x\");\n/* then */ CREATE TABLE \"b\" (\"y\");\n\n  -- oops\n  INSERT INTO \"missing\" VALUES (1);\nCREATE TABLE \"c\" (\"z\");\n";
    let err =
        migrate_runtime::migrate(&mut conn, migrations(&[("0000_chunk", chunk)])).unwrap_err();
    let Error::Apply(ApplyError::Statement { statement, first_line, .. }) = &err else {
        panic!("{err:?}")
    };
    assert_eq!((*statement, first_line.as_str()), (3, "INSERT INTO \"missing\" VALUES (1);"));
    // A failure while stepping (not preparing) is located as well.
    let f = fixture();
    let mut conn = Connection::open(&f.path).unwrap();
    let dup = "CREATE TABLE \"t\" (\"id\" INTEGER PRIMARY KEY);\nINSERT INTO \"t\" VALUES (1);\n-- the same key again\nINSERT INTO \"t\" VALUES (1);\n";
    let err = migrate_runtime::migrate(&mut conn, migrations(&[("0000_dup", dup)])).unwrap_err();
    let Error::Apply(ApplyError::Statement { statement, first_line, .. }) = &err else {
        panic!("{err:?}")
    };
    assert_eq!((*statement, first_line.as_str()), (3, "INSERT INTO \"t\" VALUES (1);"));
    assert_eq!(count(&conn, "SELECT count(*) FROM sqlite_schema"), 0);
}

#[test]
fn new_foreign_key_violation_rolls_back_but_old_ones_do_not_block() {
    let f = fixture();
    let (_, db) = parent_and_children(&f.path, "CASCADE");
    drop(db);
    let kids = children("CASCADE");
    let base = [("0000_create_parent", PARENT), ("0001_create_children", kids.as_str())];
    let orphaning = migrations(&[
        base[0],
        base[1],
        ("0002_delete_parent", "DELETE FROM \"parent\" WHERE \"id\" = 1;\n"),
    ]);
    let err = open(&f.path, orphaning).unwrap_err();
    let Error::Apply(ApplyError::ForeignKeyViolation { tags, violations }) = &err else {
        panic!("expected ForeignKeyViolation, got {err:?}")
    };
    assert_eq!(tags, "0002_delete_parent");
    let mut found: Vec<(String, Option<i64>, String)> =
        violations.iter().map(|v| (v.table.clone(), v.rowid, v.parent.clone())).collect();
    found.sort();
    assert_eq!(
        found,
        [("child".into(), Some(1), "parent".into()), ("child2".into(), Some(1), "parent".into())]
    );
    let msg = err.to_string();
    assert!(msg.contains("child rowid 1 -> parent") && msg.contains("0002_delete_parent"), "{msg}");
    let conn = Connection::open(&f.path).unwrap();
    assert_eq!(count(&conn, "SELECT count(*) FROM parent"), 2, "rolled back");
    assert_eq!(ledger_len(&conn), 2);
    // A violation that was already there is reported by nobody and blocks nothing.
    conn.execute_batch("PRAGMA foreign_keys = OFF; INSERT INTO child (id, pid) VALUES (9, 99);")
        .unwrap();
    drop(conn);
    let unrelated =
        migrations(&[base[0], base[1], ("0002_create_notes", "CREATE TABLE \"notes\" (\"x\");\n")]);
    let db = open(&f.path, unrelated).unwrap();
    assert_eq!(db.report().applied.len(), 1);
    assert_eq!(count(db.conn(), "SELECT count(*) FROM pragma_foreign_key_check"), 1);
}

#[test]
fn broken_view_rolls_back() {
    let f = fixture();
    let v1 = [(
        "0000_create_t",
        "CREATE TABLE \"t\" (\"a\" INTEGER, \"b\" INTEGER);\n--> statement-breakpoint\nCREATE VIEW \"my view\" AS SELECT b FROM \"t\";\n",
    )];
    drop(open(&f.path, migrations(&v1)).unwrap());
    // SQLite accepts a view over a missing column at CREATE time; the runner does not.
    let bad = migrations(&[
        v1[0],
        (
            "0001_bad_view",
            "CREATE TABLE \"u\" (\"x\");\n--> statement-breakpoint\nCREATE VIEW \"v2\" AS SELECT zz FROM \"t\";\n",
        ),
    ]);
    let err = open(&f.path, bad).unwrap_err();
    let Error::Apply(ApplyError::BrokenView { view, tags, .. }) = &err else {
        panic!("expected BrokenView, got {err:?}")
    };
    assert_eq!((view.as_str(), tags.as_str()), ("v2", "0001_bad_view"));
    assert_eq!(err.to_string(), "applying 0001_bad_view breaks view v2; nothing was applied");
    assert_eq!(source_message(&err), "no such column: zz");
    let conn = Connection::open(&f.path).unwrap();
    assert_eq!(count(&conn, "SELECT count(*) FROM sqlite_schema WHERE name IN ('u', 'v2')"), 0);
    assert_eq!(ledger_len(&conn), 1);
    // A rebuild that drops the column under "my view" is caught too: SQLite's RENAME re-resolves
    // the view (legacy_alter_table is off for the run, whatever the connection says).
    let drop_b = "CREATE TABLE \"__new_t\" (\"a\" INTEGER);\n--> statement-breakpoint\nINSERT INTO \"__new_t\" (\"a\") SELECT \"a\" FROM \"t\";\n--> statement-breakpoint\nDROP TABLE \"t\";\n--> statement-breakpoint\nALTER TABLE \"__new_t\" RENAME TO \"t\";\n";
    let err = open(&f.path, migrations(&[v1[0], ("0001_drop_b", drop_b)])).unwrap_err();
    let Error::Apply(ApplyError::Statement { statement: 4, .. }) = &err else {
        panic!("expected the RENAME to fail, got {err:?}")
    };
    assert!(source_message(&err).contains("my view"), "{err:?}");
    assert!(schema_sql(&conn, "t").contains("\"b\""));
    // Issue 11, problem 6b: legacy_alter_table (which would let that rebuild through, and leak
    // into later migrations of the run) and writable_schema are refused.
    for (pragma, what) in [
        ("PRAGMA legacy_alter_table = ON;", "PRAGMA legacy_alter_table"),
        ("PRAGMA main.\"writable_schema\" = 1;", "PRAGMA writable_schema"),
    ] {
        let sql = format!("CREATE TABLE \"w\" (\"x\");\n--> statement-breakpoint\n{pragma}\n");
        let err = open(&f.path, migrations(&[v1[0], ("0001_pragma", sql.as_str())])).unwrap_err();
        let Error::Apply(ApplyError::Refused { statement, what: refused, .. }) = &err else {
            panic!("expected Refused, got {err:?}")
        };
        assert_eq!((*statement, refused.as_str()), (2, what));
        assert_eq!(ledger_len(&conn), 1);
    }
}

#[test]
fn status_and_verify_describe_the_database() {
    let f = fixture();
    let v3 = migrations(&[
        ("0000_a", "CREATE TABLE \"a\" (\"x\");\n"),
        ("0001_b", "CREATE TABLE \"b\" (\"x\");\n"),
        ("0002_c", "CREATE TABLE \"c\" (\"x\");\n"),
    ]);
    let conn = Connection::open(&f.path).unwrap();
    let st = migrate_runtime::status(&conn, v3).unwrap();
    assert_eq!(st.pending().count(), 3);
    assert!(!st.is_up_to_date());
    let err = migrate_runtime::verify(&conn, v3).unwrap_err();
    assert!(matches!(&err, Error::Pending { count: 3, first } if first == "0000_a"), "{err:?}");
    assert_eq!(
        count(&conn, "SELECT count(*) FROM sqlite_schema"),
        0,
        "status and verify create no ledger"
    );
    drop(conn);

    drop(open(&f.path, &v3[..2]).unwrap());
    let conn = Connection::open(&f.path).unwrap();
    let st = migrate_runtime::status(&conn, v3).unwrap();
    let states: Vec<(&str, bool)> = st
        .migrations
        .iter()
        .map(|m| (m.tag, matches!(m.state, MigrationState::Applied { .. })))
        .collect();
    assert_eq!(states, [("0000_a", true), ("0001_b", true), ("0002_c", false)]);
    assert_eq!(st.migrations[0].hash, v3[0].hash);
    assert!(
        matches!(st.migrations[0].state, MigrationState::Applied { applied_at_ms, duration_ms } if applied_at_ms > 1_600_000_000_000 && duration_ms >= 0)
    );
    assert_eq!(st.pending().map(|m| m.tag).collect::<Vec<_>>(), ["0002_c"]);
    let text = st.to_string();
    assert!(text.starts_with(&format!("applied  0000_a  {}  at ", &v3[0].hash[..7])), "{text}");
    assert!(text.ends_with(&format!("pending  0002_c  {}\n", &v3[2].hash[..7])), "{text}");
    migrate_runtime::verify(&conn, &v3[..2]).unwrap();
    assert!(matches!(migrate_runtime::verify(&conn, v3), Err(Error::Pending { count: 1, .. })));

    // An older binary sees the unknown row; an edited one sees the edit.
    let st = migrate_runtime::status(&conn, &v3[..1]).unwrap();
    assert_eq!(st.unknown.iter().map(|r| r.tag.as_str()).collect::<Vec<_>>(), ["0001_b"]);
    assert!(matches!(migrate_runtime::verify(&conn, &v3[..1]), Err(Error::UnknownApplied { .. })));
    let edited = migrations(&[
        ("0000_a", "CREATE TABLE \"a\" (\"x\", \"y\");\n"),
        ("0001_b", "CREATE TABLE \"b\" (\"x\");\n"),
    ]);
    let st = migrate_runtime::status(&conn, edited).unwrap();
    assert!(
        matches!(&st.migrations[0].state, MigrationState::Edited { stored_hash, .. } if stored_hash == v3[0].hash)
    );
    assert!(matches!(migrate_runtime::verify(&conn, edited), Err(Error::Edited { .. })));
}

#[test]
fn verify_only_open_writes_nothing() {
    let f = fixture();
    let v1 = migrations(&[("0000_a", "CREATE TABLE \"a\" (\"x\");\n")]);
    let v2 = migrations(&[
        ("0000_a", "CREATE TABLE \"a\" (\"x\");\n"),
        ("0001_b", "CREATE TABLE \"b\" (\"x\");\n"),
    ]);
    let ro = Options::new().verify_only(true);
    // A missing file is not created.
    let err = Database::open(&f.path, v1, &ro).unwrap_err();
    assert!(matches!(&err, Error::Open { path, .. } if path == &f.path), "{err:?}");
    assert!(err.to_string().contains("app.db"), "{err}");
    assert!(!f.path.exists());
    drop(open(&f.path, v1).unwrap());
    let bytes = std::fs::read(&f.path).unwrap();
    // Behind: refused with Pending; the file is untouched.
    let err = Database::open(&f.path, v2, &ro).unwrap_err();
    assert!(matches!(&err, Error::Pending { count: 1, first } if first == "0001_b"), "{err:?}");
    assert!(err.to_string().contains("open_and_migrate"));
    // Up to date: opens read-only and can be queried, but not written.
    let db = Database::open(&f.path, v1, &ro).unwrap();
    assert_eq!(count(db.conn(), "SELECT count(*) FROM a"), 0);
    assert!(db.conn().execute("INSERT INTO a VALUES (1)", []).is_err());
    drop(db);
    // Even a file that is read-only for the OS can be verified.
    let mut perms = std::fs::metadata(&f.path).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&f.path, perms).unwrap();
    let conn = Connection::open_with_flags(&f.path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    migrate_runtime::verify(&conn, v1).unwrap();
    drop(conn);
    assert_eq!(std::fs::read(&f.path).unwrap(), bytes);
}

#[test]
fn backup_is_written_only_when_something_is_pending() {
    let f = fixture();
    let m = migrations(&[
        ("0000_a", "CREATE TABLE \"a\" (\"x\");\n"),
        ("0001_b", "CREATE TABLE \"b\" (\"x\");\n"),
        ("0002_c", "CREATE TABLE \"c\" (\"x\");\n"),
    ]);
    let beside = Options::new().backup(Backup::Beside);
    let backups = |dir: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.contains(".bak-"))
            .collect();
        v.sort();
        v
    };
    // A brand-new database has nothing to back up.
    let db = Database::open(&f.path, &m[..1], &beside).unwrap();
    assert_eq!(db.report().backup, None);
    db.conn().execute("INSERT INTO a VALUES (42)", []).unwrap();
    drop(db);
    // Up to date: no backup.
    drop(Database::open(&f.path, &m[..1], &beside).unwrap());
    assert!(backups(f.dir.path()).is_empty());
    // Pending: a backup of the old version, named after the first pending migration.
    let db = Database::open(&f.path, &m[..2], &beside).unwrap();
    let path = db.report().backup.clone().expect("backup written");
    assert_eq!(path, f.dir.path().join("app.db.bak-0001"));
    drop(db);
    let old = Connection::open(&path).unwrap();
    assert_eq!(ledger_len(&old), 1);
    assert_eq!(count(&old, "SELECT x FROM a"), 42);
    drop(old);
    // To a given path; an existing path is refused before anything is applied.
    let target = f.dir.path().join("before-c.db");
    std::fs::write(&target, b"occupied").unwrap();
    let err =
        Database::open(&f.path, m, &Options::new().backup(Backup::To(target.clone()))).unwrap_err();
    assert!(matches!(&err, Error::Backup { path, .. } if path == &target), "{err:?}");
    assert_eq!(ledger_len(&Connection::open(&f.path).unwrap()), 2);
    std::fs::remove_file(&target).unwrap();
    let db =
        Database::open(&f.path, m, &Options::new().backup(Backup::To(target.clone()))).unwrap();
    assert_eq!(db.report().backup.as_deref(), Some(target.as_path()));
    assert_eq!(ledger_len(&Connection::open(&target).unwrap()), 2);
    assert_eq!(backups(f.dir.path()), ["app.db.bak-0001"]);
}

#[test]
fn in_memory_database_is_migrated_without_wal() {
    let m = migrations(&[("0000_a", "CREATE TABLE \"a\" (\"x\");\n")]);
    let db = Database::open_in_memory(m, &Options::new()).unwrap();
    assert_eq!(db.report().applied.len(), 1);
    assert_eq!(ledger_len(db.conn()), 1);
    let mode: String = db.conn().query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "memory");
    assert_eq!(fk(db.conn()), 1);
}

// The generated type, as the build script writes it (hashes computed at build time).
migrate_runtime::__define_db! {
    name: FixtureDb,
    migrations: [
        (0, "0000_create_users", include_str!("runtime_fixtures/0000_create_users.sql"),
         "56906f76c698667cb86fe5b0187045a6010d962b3d2890086906da235c8bbe9c",
         "b8f2dfd50439cbde9826b399b5714b445d02761c6b27bad19239dfb9fa82edf3"),
        (1, "0001_add_users_bio", include_str!("runtime_fixtures/0001_add_users_bio.sql"),
         "2f4da9b4797aa738eaff1c5834e6552ebd624cb0f33e9004ea3855ddea6791a2",
         "8e0319bac4d7dac25f3cadeff32f6c6bc2abc015d64e79095896ecd35c70839f"),
    ]
}

#[test]
fn generated_db_type_opens_migrates_and_derefs() {
    // The literals above are what the build script computes.
    let mut prev = None;
    for m in FixtureDb::MIGRATIONS {
        assert_eq!(m.hash, migrate_runtime::hash_sql(m.sql), "{}", m.tag);
        assert_eq!(m.chain, migrate_runtime::chain_hash(prev, m.hash), "{}", m.tag);
        prev = Some(m.chain);
    }
    let f = fixture();
    let db = FixtureDb::open_and_migrate(&f.path).unwrap();
    assert_eq!(db.report().applied.len(), 2);
    db.conn().execute("INSERT INTO users (name, bio) VALUES ('ada', 'hi')", []).unwrap();
    FixtureDb::verify(db.conn()).unwrap();
    assert!(FixtureDb::status(db.conn()).unwrap().is_up_to_date());
    let conn: Connection = db.into_inner();
    drop(conn);
    let db = FixtureDb::open_with(&f.path, &Options::new().verify_only(true)).unwrap();
    assert_eq!(count(db.conn(), "SELECT count(*) FROM users"), 1);
    drop(db);
    let mut conn = Connection::open_in_memory().unwrap();
    assert_eq!(FixtureDb::migrate(&mut conn).unwrap().applied.len(), 2);
    let mem = FixtureDb::open_in_memory_and_migrate().unwrap();
    assert_eq!(ledger_len(mem.conn()), 2);
}

#[test]
fn trigger_left_pointing_at_a_dropped_table_rolls_back() {
    let f = fixture();
    let v1 = [
        (
            "0000_create_a_b",
            "CREATE TABLE \"a\" (\"x\");\n--> statement-breakpoint\nCREATE TABLE \"b\" (\"x\");\n",
        ),
        (
            "0001_audit_trigger",
            "CREATE TRIGGER \"a_audit\" AFTER INSERT ON \"a\" BEGIN INSERT INTO \"b\" (\"x\") VALUES (NEW.\"x\"); END;\n",
        ),
    ];
    drop(open(&f.path, migrations(&v1)).unwrap());
    let err = open(&f.path, migrations(&[v1[0], v1[1], ("0002_drop_b", "DROP TABLE \"b\";\n")]))
        .unwrap_err();
    let Error::Apply(ApplyError::BrokenSchema { tags, .. }) = &err else {
        panic!("expected BrokenSchema, got {err:?}")
    };
    assert_eq!(tags, "0002_drop_b");
    assert!(err.to_string().starts_with("applying 0002_drop_b leaves the schema broken"), "{err}");
    assert!(source_message(&err).contains("a_audit"), "{err:?}");
    let conn = Connection::open(&f.path).unwrap();
    assert_eq!(
        count(&conn, "SELECT count(*) FROM sqlite_schema WHERE name = 'b'"),
        1,
        "rolled back"
    );
    assert_eq!(
        count(&conn, "SELECT count(*) FROM sqlite_schema WHERE name LIKE '__godwit_probe%'"),
        0
    );
    // A trigger that was already broken does not block an unrelated migration.
    conn.execute_batch("CREATE TRIGGER \"legacy\" AFTER INSERT ON \"a\" BEGIN INSERT INTO \"gone\" VALUES (1); END;").unwrap();
    drop(conn);
    let db = open(
        &f.path,
        migrations(&[v1[0], v1[1], ("0002_create_c", "CREATE TABLE \"c\" (\"x\");\n")]),
    )
    .unwrap();
    assert_eq!(db.report().applied.len(), 1);
}

#[test]
fn foreign_key_left_without_a_unique_parent_rolls_back() {
    let f = fixture();
    let v1 = [(
        "0000_create_p_c",
        "CREATE TABLE \"p\" (\"code\" TEXT NOT NULL UNIQUE);\n--> statement-breakpoint\nCREATE TABLE \"c\" (\"code\" TEXT REFERENCES \"p\" (\"code\"));\n",
    )];
    let db = open(&f.path, migrations(&v1)).unwrap();
    db.conn().execute_batch("INSERT INTO p VALUES ('a'); INSERT INTO c VALUES ('a');").unwrap();
    drop(db);
    // A rebuild of the parent that loses the UNIQUE constraint the child's key needs.
    let rebuild = "CREATE TABLE \"__new_p\" (\"code\" TEXT NOT NULL);\n--> statement-breakpoint\nINSERT INTO \"__new_p\" (\"code\") SELECT \"code\" FROM \"p\";\n--> statement-breakpoint\nDROP TABLE \"p\";\n--> statement-breakpoint\nALTER TABLE \"__new_p\" RENAME TO \"p\";\n";
    let err = open(&f.path, migrations(&[v1[0], ("0001_rebuild_p", rebuild)])).unwrap_err();
    let Error::Apply(ApplyError::ForeignKeyCheck { phase: CheckPhase::After, tags, .. }) = &err
    else {
        panic!("expected ForeignKeyMismatch, got {err:?}")
    };
    assert_eq!(tags, "0001_rebuild_p");
    assert!(err.to_string().contains("cannot be enforced"), "{err}");
    assert!(source_message(&err).contains("foreign key mismatch"), "{err:?}");
    let conn = Connection::open(&f.path).unwrap();
    assert!(schema_sql(&conn, "p").contains("UNIQUE"), "rolled back");
    assert_eq!(count(&conn, "SELECT count(*) FROM c"), 1);
    assert_eq!(ledger_len(&conn), 1);
}

#[test]
fn a_writer_holding_the_lock_past_the_busy_timeout_gives_busy_and_changes_nothing() {
    let f = fixture();
    let v1 = [("0000_a", "CREATE TABLE \"a\" (\"x\");\n")];
    drop(open(&f.path, migrations(&v1)).unwrap());
    let other = Connection::open(&f.path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE; INSERT INTO a VALUES (1);").unwrap();
    let options = Options::new().busy_timeout(std::time::Duration::from_millis(150));
    let started = std::time::Instant::now();
    let err = Database::open(
        &f.path,
        migrations(&[v1[0], ("0001_b", "CREATE TABLE \"b\" (\"x\");\n")]),
        &options,
    )
    .unwrap_err();
    assert!(matches!(err, Error::Busy { waited_ms, .. } if waited_ms >= 100), "{err:?}");
    assert!(started.elapsed() >= std::time::Duration::from_millis(150));
    assert!(
        err.to_string().contains("locked") && err.to_string().contains("busy timeout"),
        "{err}"
    );
    other.execute_batch("COMMIT").unwrap();
    assert_eq!(ledger_len(&other), 1);
    assert_eq!(count(&other, "SELECT count(*) FROM sqlite_schema WHERE name = 'b'"), 0);
    // Once the writer is done, the same open applies it.
    let db = Database::open(
        &f.path,
        migrations(&[v1[0], ("0001_b", "CREATE TABLE \"b\" (\"x\");\n")]),
        &options,
    )
    .unwrap();
    assert_eq!(db.report().applied.len(), 1);
    assert_eq!(count(db.conn(), "SELECT count(*) FROM a"), 1);
}

/// The foreign-key check after a run reads only the tables the run touched and their children;
/// every way a run can orphan a row must still be caught: rows written by a statement, a dropped
/// parent, a trigger writing elsewhere, a statement the runner cannot attribute (`WITH`).
#[test]
fn the_scoped_foreign_key_check_catches_every_kind_of_orphan() {
    let kids = children("NO ACTION");
    let unrelated = "CREATE TABLE \"audit\" (\"id\" INTEGER PRIMARY KEY, \"note\" TEXT);\n";
    let base = [
        ("0000_create_parent", PARENT),
        ("0001_create_children", kids.as_str()),
        ("0002_create_audit", unrelated),
    ];
    let cases: [(&str, &str, &str); 5] = [
        ("0003_update_child", "UPDATE \"child\" SET \"pid\" = 42 WHERE \"id\" = 1;\n", "child"),
        ("0003_delete_parent", "DELETE FROM main.\"parent\" WHERE \"id\" = 2;\n", "child"),
        ("0003_drop_parent", "DROP TABLE \"parent\";\n", "child"),
        (
            "0003_with_delete",
            "WITH gone AS (SELECT 1 AS id) DELETE FROM \"parent\" WHERE \"id\" IN (SELECT id FROM gone);\n",
            "child",
        ),
        (
            "0003_trigger_elsewhere",
            "CREATE TRIGGER \"wipe\" AFTER INSERT ON \"audit\" BEGIN DELETE FROM \"parent\" WHERE \"id\" = 1; END;\n--> statement-breakpoint\nINSERT INTO \"audit\" (\"note\") VALUES ('x');\n",
            "child",
        ),
    ];
    for (tag, sql, orphaned) in cases {
        let f = fixture();
        let v1 = migrations(&base);
        let db = open(&f.path, v1).unwrap();
        db.conn().execute_batch(ROWS).unwrap();
        drop(db);
        let v2 = migrations(&[base[0], base[1], base[2], (tag, sql)]);
        let err = open(&f.path, v2).unwrap_err();
        let Error::Apply(ApplyError::ForeignKeyViolation { violations, .. }) = &err else {
            panic!("{tag}: expected ForeignKeyViolation, got {err:?}")
        };
        assert!(violations.iter().any(|v| v.table == orphaned), "{tag}: {violations:?}");
        let conn = Connection::open(&f.path).unwrap();
        assert_eq!(ledger_len(&conn), 3, "{tag}: rolled back");
        assert_eq!(count(&conn, "SELECT count(*) FROM parent"), 2, "{tag}: rolled back");
    }
}

/// A violation in a table the run does not touch is neither reported nor read, and a clean run
/// over a touched table still passes.
#[test]
fn untouched_tables_with_old_violations_do_not_block_a_rebuild() {
    let f = fixture();
    let (v2, db) = parent_and_children(&f.path, "CASCADE");
    db.conn()
        .execute_batch(
            "CREATE TABLE other_parent (id INTEGER PRIMARY KEY);
             CREATE TABLE other_child (id INTEGER PRIMARY KEY, p INTEGER REFERENCES other_parent (id));
             PRAGMA foreign_keys = OFF; INSERT INTO other_child VALUES (1, 7); PRAGMA foreign_keys = ON;",
        )
        .unwrap();
    drop(db);
    let db = open(&f.path, v2).unwrap();
    assert_eq!(db.report().applied.len(), 1);
    assert_eq!(count(db.conn(), "SELECT count(*) FROM child"), 2);
    assert_eq!(count(db.conn(), "SELECT count(*) FROM pragma_foreign_key_check('other_child')"), 1);
}

/// Issue 11, Deliver 8: every error reaches its cause through `source()`, and no message repeats
/// the message of its source (so a printed chain says each thing once).
#[test]
fn errors_reach_their_source_and_never_repeat_it() {
    fn assert_chain(err: &Error) {
        let mut level: &dyn std::error::Error = err;
        let mut seen = 0;
        while let Some(source) = level.source() {
            let (outer, inner) = (level.to_string(), source.to_string());
            assert!(!outer.contains(&inner), "{outer:?} repeats its source {inner:?}");
            level = source;
            seen += 1;
        }
        assert!(seen >= 1, "{err:?} has no source");
    }
    // A statement error: the SQLite error is the source, the message names tag and statement.
    let f = fixture();
    let mut conn = Connection::open(&f.path).unwrap();
    let bad =
        "CREATE TABLE \"a\" (\"x\");\n--> statement-breakpoint\nINSERT INTO \"nope\" VALUES (1);\n";
    let err = migrate_runtime::migrate(&mut conn, migrations(&[("0000_bad", bad)])).unwrap_err();
    assert!(matches!(&err, Error::Apply(ApplyError::Statement { statement: 2, .. })), "{err:?}");
    let source = std::error::Error::source(&err).expect("a source");
    let sqlite = source.downcast_ref::<rusqlite::Error>().expect("the rusqlite error itself");
    assert_eq!(sqlite.sqlite_error_code(), Some(rusqlite::ErrorCode::Unknown), "{sqlite:?}");
    assert_eq!(source.to_string(), "no such table: nope");
    assert_chain(&err);
    // A file that cannot be opened.
    let missing = f.path.with_file_name("no-such-dir").join("app.db");
    let err = Database::open(&missing, &[], &Options::new()).unwrap_err();
    assert!(matches!(&err, Error::Open { .. }), "{err:?}");
    assert_chain(&err);
    // An SQLite error of the runner names its phase and the migration: a ledger table with the
    // wrong columns fails when the first row is recorded.
    let g = fixture();
    let mut conn = Connection::open(&g.path).unwrap();
    conn.execute_batch("CREATE TABLE \"__schema_migrations\" (\"idx\" INTEGER PRIMARY KEY)")
        .unwrap();
    let m = migrations(&[("0000_a", "CREATE TABLE \"a\" (\"x\");\n")]);
    let err = migrate_runtime::migrate(&mut conn, m).unwrap_err();
    let Error::Apply(ApplyError::Sqlite { phase, tag, .. }) = &err else {
        panic!("expected the engine's Sqlite, got {err:?}")
    };
    assert_eq!(
        (*phase, tag.as_deref()),
        (migrate_runtime::migrate_engine::Phase::Record, Some("0000_a"))
    );
    assert_eq!(
        err.to_string(),
        "sqlite error while recording an applied migration (migration 0000_a); nothing was applied"
    );
    assert!(source_message(&err).contains("has no column named tag"), "{err:?}");
    assert_eq!(count(&conn, "SELECT count(*) FROM sqlite_schema WHERE name = 'a'"), 0);
    assert_chain(&err);
    // The runtime's own phases: a ledger row whose time is not a number fails the full read.
    let h = fixture();
    let mut conn = Connection::open(&h.path).unwrap();
    let two = migrations(&[
        ("0000_a", "CREATE TABLE \"a\" (\"x\");\n"),
        ("0001_b", "CREATE TABLE \"b\" (\"x\");\n"),
    ]);
    migrate_runtime::migrate(&mut conn, &two[..1]).unwrap();
    conn.execute_batch("UPDATE \"__schema_migrations\" SET \"applied_at\" = 'noon'").unwrap();
    let err = migrate_runtime::migrate(&mut conn, two).unwrap_err();
    let Error::Sqlite { phase, tag, .. } = &err else { panic!("expected Sqlite, got {err:?}") };
    assert_eq!((*phase, tag.as_deref()), (migrate_runtime::Phase::ReadLedger, None));
    assert_eq!(err.to_string(), "sqlite error while reading the migration ledger");
    assert!(source_message(&err).contains("applied_at"), "{err:?}");
    assert_chain(&err);
}
