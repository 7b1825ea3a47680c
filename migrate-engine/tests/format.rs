//! The file format as executed: the normalised text runs, and one breakpoint rule splits it.

mod common;

use common::{db, one, value};
use migrate_engine::{Error, chunks, normalise};

/// Problem 2: a CRLF checkout stores `\n` in rows, the text the hash covers.
#[test]
fn crlf_text_stores_lf_in_rows() {
    let mut conn = db("");
    let sql = "\u{feff}CREATE TABLE notes (body TEXT);\r\n--> statement-breakpoint\r\n\
               INSERT INTO notes VALUES ('first line\r\nsecond line');\r\n";
    one(&mut conn, sql).unwrap();
    let body: String = value(&conn, "SELECT body FROM notes");
    assert_eq!(body, "first line\nsecond line");
    assert_eq!(chunks(&normalise(sql)).count(), 2, "the CRLF breakpoint line is a breakpoint");
}

/// Problem 6: a `/* .. */` comment holding a breakpoint line with leading spaces and a DELETE is
/// one comment: the line is not a breakpoint under the one rule, so SQLite sees the comment whole
/// (the build and the runtime call the same `chunks`). The old runtime split it there and ran
/// the DELETE.
#[test]
fn a_spaced_breakpoint_line_inside_a_comment_is_part_of_the_comment() {
    let mut conn = db("CREATE TABLE t (x); INSERT INTO t VALUES (1), (2);");
    let sql = "/* cleanup, later\n  --> statement-breakpoint\nDELETE FROM t; -- */\nSELECT 1;\n";
    assert_eq!(chunks(sql).count(), 1);
    one(&mut conn, sql).unwrap();
    let n: i64 = value(&conn, "SELECT count(*) FROM t");
    assert_eq!(n, 2, "nothing deleted");
}

/// Problem 6: a string literal holding a breakpoint line. With leading spaces the line is content
/// and is stored as written; exactly equal, it splits the literal and fails to prepare, the same
/// for the build and the runtime.
#[test]
fn a_breakpoint_line_inside_a_string_literal_behaves_the_same_everywhere() {
    let mut conn = db("CREATE TABLE t (x TEXT);");
    one(&mut conn, "INSERT INTO t VALUES ('a\n  --> statement-breakpoint\nb');").unwrap();
    let x: String = value(&conn, "SELECT x FROM t");
    assert_eq!(x, "a\n  --> statement-breakpoint\nb");

    let mut conn = db("CREATE TABLE t (x TEXT);");
    let err =
        one(&mut conn, "INSERT INTO t VALUES ('a\n--> statement-breakpoint\nb');").unwrap_err();
    let Error::Statement { statement, first_line, source, .. } = &err else { panic!("{err:?}") };
    assert_eq!((*statement, first_line.as_str()), (1, "INSERT INTO t VALUES ('a"));
    assert!(source.to_string().contains("unrecognized token"), "{source}");
}
