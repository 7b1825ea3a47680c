//! End-to-end: the build and the runtime read a migration file the same way, because both run
//! it through `migrate_engine` (issue 11, problems 2 and 6). Each test adopts hand-written
//! migrations with a real `cargo build`, then applies them with the built app (the runtime).

use rusqlite::Connection;
use tests::e2e::TempCrate;

const NOTES: &str = r#"use migrate_runtime::Table;

#[derive(Table)]
#[table(name = "notes")]
pub struct Note {
    #[column(primary_key)]
    pub id: i64,
    pub body: String,
}

migrate_runtime::include_db!();
"#;

/// Runs the app on `db` and returns its stdout; panics with its stderr when it fails.
fn run_app(app: &TempCrate, db: &str) -> String {
    let out = app.run(&[db]);
    assert!(
        out.status.success(),
        "the runtime failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn bodies(db: &str) -> Vec<String> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn.prepare("SELECT \"body\" FROM \"notes\" ORDER BY \"id\"").unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

/// Problem 6: a line that looks like a breakpoint but has leading spaces is content on both
/// sides. Inside a `/* .. */` comment (with a `DELETE` after it) it stays one comment: the build
/// adopts the file and the runtime deletes nothing. Inside a string literal it stays in the
/// string: adopted and stored as written. A string literal holding an exact breakpoint line is
/// split on both sides, so the build refuses it instead of every user's machine.
#[test]
fn a_breakpoint_like_line_is_read_the_same_by_build_and_runtime() {
    let app = TempCrate::new("godwit_e2e_breakpoints", NOTES);
    app.build_write(&[]).assert_success();
    let db = app.path().join("app.db");
    let db = db.to_str().unwrap();
    assert!(run_app(&app, db).contains("applied: 1\n"));
    let conn = Connection::open(db).unwrap();
    conn.execute_batch("INSERT INTO \"notes\" (\"body\") VALUES ('a'), ('b'), ('c')").unwrap();
    drop(conn);

    app.write(
        "migrations/0001_comment.sql",
        "/* Cleanup, disabled for now:\n  --> statement-breakpoint\nDELETE FROM \"notes\";\n*/\n\
         UPDATE \"notes\" SET \"body\" = \"body\" || '!';\n",
    );
    let spaced = "x\n  --> statement-breakpoint\ny";
    app.write(
        "migrations/0002_literal.sql",
        &format!("INSERT INTO \"notes\" (\"body\") VALUES ('{spaced}');\n"),
    );
    app.build_write(&[]).assert_success();
    let journal: serde_json::Value =
        serde_json::from_str(&app.read("migrations/meta/_journal.json")).unwrap();
    assert_eq!(journal["entries"][1]["tag"], "0001_comment");
    assert_eq!(journal["entries"][2]["tag"], "0002_literal");
    assert!(run_app(&app, db).contains("applied: 3\n"));
    assert_eq!(bodies(db), ["a!", "b!", "c!", spaced], "the comment deleted nothing");

    // An exact breakpoint line inside a string literal splits the file, at build time too.
    app.write(
        "migrations/0003_split.sql",
        "INSERT INTO \"notes\" (\"body\") VALUES ('first\n--> statement-breakpoint\nsecond');\n",
    );
    let before = app.files("migrations");
    app.build_write(&[]).assert_failure().assert_stderr_contains(&[
        "migration 0003_split",
        "fails when replayed into an empty database",
        "statement 1",
    ]);
    assert_eq!(app.files("migrations"), before, "nothing adopted");
}

/// Problem 2: a hand-written data migration checked out with CRLF line endings, holding a
/// multi-line string literal. The build adopts it under the hash of the normalised text (the
/// same hash as the LF file), and the runtime stores `\n`, not `\r\n`: what runs is the text
/// the hash covers.
#[test]
fn a_crlf_migration_stores_lf_and_is_recorded_under_the_normalised_hash() {
    let app = TempCrate::new("godwit_e2e_crlf", NOTES);
    app.build_write(&[]).assert_success();
    let lf = "INSERT INTO \"notes\" (\"body\") VALUES ('line one\nline two');\n\
              --> statement-breakpoint\n\
              INSERT INTO \"notes\" (\"body\") VALUES ('single');\n";
    app.write("migrations/0001_seed.sql", &lf.replace('\n', "\r\n"));
    app.build_write(&[]).assert_success();
    let journal: serde_json::Value =
        serde_json::from_str(&app.read("migrations/meta/_journal.json")).unwrap();
    assert_eq!(journal["entries"][1]["hash"], migrate_runtime::hash_sql(lf));
    assert!(app.read("migrations/0001_seed.sql").contains("\r\n"), "the file stays as written");

    let db = app.path().join("app.db");
    let db = db.to_str().unwrap();
    assert!(run_app(&app, db).contains("applied: 2\n"));
    assert_eq!(bodies(db), ["line one\nline two", "single"]);
    let conn = Connection::open(db).unwrap();
    let stored: String = conn
        .query_row("SELECT \"hash\" FROM \"__schema_migrations\" WHERE \"idx\" = 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(stored, migrate_runtime::hash_sql(lf), "the ledger records the same hash");
}
