//! Build-time replay: every migration applied to an in-memory SQLite, checked against its
//! snapshot after each step, and the proof that a newly generated migration does what its
//! snapshot says.

use rusqlite::Connection;
use rusqlite::fallible_iterator::FallibleIterator as _;

use crate::error::Error;
use crate::introspect::{self, DbShape};
use crate::model::Schema;

use super::folder::{Folder, Migration, edited_snapshot};
use super::format::{Snapshot, normalize_sql, split_statements};

/// The replayed database after every migration of a folder.
pub struct Replayed {
    /// The in-memory database (foreign keys off).
    pub conn: Connection,
    /// The schema after the last migration (the latest snapshot's, or the previous one's for a
    /// hand-written migration being adopted).
    pub schema: Schema,
    /// The shape of `schema` in a fresh database (cached for the proof of a new migration).
    shape: Option<DbShape>,
}

impl Replayed {
    /// Shape of the current schema in a fresh database.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn expected_shape(&mut self) -> Result<&DbShape, Error> {
        if self.shape.is_none() {
            self.shape = Some(fresh_shape(&self.schema)?);
        }
        Ok(self.shape.as_ref().expect("just set"))
    }
}

/// An in-memory database configured like the runtime's while migrating: foreign keys off.
///
/// # Errors
/// SQLite errors.
pub fn open() -> Result<Connection, Error> {
    let conn = Connection::open_in_memory()?;
    conn.pragma_update(None, "foreign_keys", false)?;
    Ok(conn)
}

/// The shape of a fresh database created from `schema`.
///
/// # Errors
/// SQLite errors (a model the renderer cannot create is a bug and surfaces here).
pub fn fresh_shape(schema: &Schema) -> Result<DbShape, Error> {
    let conn = open()?;
    let statements = introspect::create_schema_sql(schema);
    conn.execute_batch("BEGIN")?;
    for statement in &statements {
        conn.execute_batch(statement)?;
    }
    conn.execute_batch("COMMIT")?;
    Ok(introspect::describe(&conn)?)
}

/// Why applying a migration failed.
#[derive(Debug)]
pub enum ApplyError {
    /// A statement failed.
    Sql {
        /// The statement (as SQLite split it).
        statement: String,
        /// SQLite's error.
        error: rusqlite::Error,
    },
    /// A statement controls the transaction or what the runner owns (`BEGIN`, `COMMIT`,
    /// `PRAGMA foreign_keys`, `VACUUM`, `ATTACH`, ...): the runtime refuses such a migration.
    Forbidden {
        /// The statement.
        statement: String,
        /// What it is (`PRAGMA foreign_keys`).
        keyword: &'static str,
    },
}

/// Applies one migration inside a transaction, statement by statement as SQLite splits each
/// chunk, refusing what the runtime refuses (see [`forbidden_keyword`]). The transaction is rolled
/// back on failure.
///
/// # Errors
/// The failing or refused statement.
pub fn apply(conn: &Connection, sql: &str) -> Result<(), ApplyError> {
    let text = normalize_sql(sql);
    let sql_error =
        |statement: &str, error| ApplyError::Sql { statement: statement.to_owned(), error };
    conn.execute_batch("BEGIN").map_err(|e| sql_error("BEGIN", e))?;
    let result = apply_chunks(conn, &text);
    if result.is_err() {
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        return result;
    }
    conn.execute_batch("COMMIT").map_err(|e| sql_error("COMMIT", e))
}

fn apply_chunks(conn: &Connection, text: &str) -> Result<(), ApplyError> {
    for chunk in split_statements(text) {
        let mut batch = rusqlite::Batch::new(conn, chunk);
        loop {
            let mut stmt = match batch.next() {
                Ok(Some(stmt)) => stmt,
                Ok(None) => break,
                Err(error) => return Err(ApplyError::Sql { statement: chunk.to_owned(), error }),
            };
            let statement = stmt.expanded_sql().unwrap_or_default();
            if let Some(keyword) = forbidden_keyword(&statement) {
                return Err(ApplyError::Forbidden { statement, keyword });
            }
            let mut rows = stmt.raw_query();
            loop {
                match rows.next() {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(error) => return Err(ApplyError::Sql { statement, error }),
                }
            }
            drop(rows);
            if conn.is_autocommit() {
                return Err(ApplyError::Forbidden {
                    statement,
                    keyword: "a statement that ended the transaction",
                });
            }
        }
    }
    Ok(())
}

/// What the runtime refuses in a migration, by the statement's leading keywords: statements that
/// start, end or nest its one transaction, and pragmas it owns.
///
/// ```
/// use schema_core::build::replay::forbidden_keyword;
/// assert_eq!(forbidden_keyword("-- off\nPRAGMA main.foreign_keys = OFF"), Some("PRAGMA foreign_keys"));
/// assert_eq!(forbidden_keyword("begin immediate"), Some("BEGIN"));
/// assert_eq!(forbidden_keyword("CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1; END"), None);
/// assert_eq!(forbidden_keyword("PRAGMA defer_foreign_keys = ON"), None);
/// ```
#[must_use]
pub fn forbidden_keyword(statement: &str) -> Option<&'static str> {
    let words = leading_words(statement);
    let first = words.first()?.as_str();
    Some(match first {
        "BEGIN" => "BEGIN",
        "COMMIT" => "COMMIT",
        "END" => "END",
        "ROLLBACK" => "ROLLBACK",
        "SAVEPOINT" => "SAVEPOINT",
        "RELEASE" => "RELEASE",
        "VACUUM" => "VACUUM",
        "ATTACH" => "ATTACH",
        "DETACH" => "DETACH",
        "PRAGMA" => match words.get(1).map(String::as_str) {
            Some("FOREIGN_KEYS") => "PRAGMA foreign_keys",
            Some("JOURNAL_MODE") => "PRAGMA journal_mode",
            Some("LOCKING_MODE") => "PRAGMA locking_mode",
            _ => return None,
        },
        _ => return None,
    })
}

/// The first two words of a statement, uppercased, after comments; `PRAGMA schema.name` gives
/// `PRAGMA NAME` (the schema may be quoted).
fn leading_words(sql: &str) -> Vec<String> {
    let bytes = sql.as_bytes();
    let mut words: Vec<String> = Vec::new();
    let mut i = 0;
    while i < bytes.len() && words.len() < 2 {
        let b = bytes[i];
        if b.is_ascii_whitespace() {
            i += 1;
        } else if sql[i..].starts_with("--") {
            i = sql[i..].find('\n').map_or(bytes.len(), |n| i + n + 1);
        } else if sql[i..].starts_with("/*") {
            i = sql[i + 2..].find("*/").map_or(bytes.len(), |n| i + 2 + n + 2);
        } else if b.is_ascii_alphanumeric() || b == b'_' || matches!(b, b'"' | b'`' | b'[') {
            // A word or a quoted name; a following `.` makes it a schema qualifier.
            let (word, end) = if let Some(close) = match b {
                b'"' => Some('"'),
                b'`' => Some('`'),
                b'[' => Some(']'),
                _ => None,
            } {
                let end = sql[i + 1..].find(close).map_or(bytes.len(), |n| i + 1 + n + 1);
                (None, end)
            } else {
                let len = sql[i..]
                    .bytes()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
                    .count();
                (Some(sql[i..i + len].to_ascii_uppercase()), i + len)
            };
            let qualifier = !words.is_empty() && sql[end..].trim_start().starts_with('.');
            if qualifier {
                let dot = end + sql[end..].find('.').unwrap_or(0);
                i = dot + 1;
                continue;
            }
            match word {
                Some(w) => words.push(w),
                None => break,
            }
            i = end;
        } else {
            break;
        }
    }
    words
}

/// Replays every migration of `folder` (journaled ones, then those waiting for adoption, which
/// must leave the schema unchanged) and checks that the database has the shape of the latest
/// snapshot.
///
/// The common path applies everything and compares once (a no-change build over 100 migrations
/// stays fast). When the final shape differs, it replays again step by step, comparing after
/// each migration with that migration's own snapshot, to name the first one that differs.
///
/// # Errors
/// [`Error::ReplayFailed`] when a migration's SQL fails, [`Error::ReplayMismatch`] naming the
/// first migration whose result differs from its snapshot.
pub fn replay(folder: &Folder) -> Result<Replayed, Error> {
    let conn = open()?;
    for m in &folder.migrations {
        apply_migration(&conn, m)?;
    }
    if let Some(last) = folder.migrations.last() {
        check_views(&conn, &last.entry.tag)?;
    }
    let schema = folder.latest_snapshot().map(Snapshot::schema).unwrap_or_default();
    let shape = fresh_shape(&schema)?;
    let actual = tables_only(introspect::describe(&conn)?);
    if introspect::differences(&shape, &actual).is_empty() {
        return Ok(Replayed { conn, schema, shape: Some(shape) });
    }
    Err(first_mismatch(folder)?)
}

/// Every view must still compile, as the runtime checks before it commits.
///
/// # Errors
/// [`Error::BrokenView`] naming the view and `tag`.
pub fn check_views(conn: &Connection, tag: &str) -> Result<(), Error> {
    let mut stmt =
        conn.prepare("SELECT name FROM sqlite_schema WHERE type = 'view' ORDER BY name")?;
    let views: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
    for view in views {
        let probe = format!("SELECT * FROM \"{}\" LIMIT 0", view.replace('"', "\"\""));
        if let Err(source) = conn.prepare(&probe) {
            return Err(Error::BrokenView { tag: tag.to_owned(), view, source: Box::new(source) });
        }
    }
    Ok(())
}

fn apply_migration(conn: &Connection, m: &Migration) -> Result<(), Error> {
    apply(conn, &m.sql).map_err(|e| match e {
        ApplyError::Sql { statement, error } => Error::ReplayFailed {
            tag: m.entry.tag.clone(),
            path: m.path.clone(),
            statement,
            source: Box::new(error),
        },
        ApplyError::Forbidden { statement, keyword } => Error::TransactionControl {
            tag: m.entry.tag.clone(),
            path: m.path.clone(),
            statement,
            keyword,
        },
    })
}

/// The slow path of [`replay`]: the error naming the first migration whose result differs from
/// its own snapshot (every snapshot parsed, and its id checked, on the way).
fn first_mismatch(folder: &Folder) -> Result<Error, Error> {
    let conn = open()?;
    let mut schema = Schema::default();
    let mut shape: Option<DbShape> = None;
    for m in &folder.migrations {
        apply_migration(&conn, m)?;
        if let Some(file) = &m.snapshot {
            let snapshot = file.parse()?;
            if !snapshot.id_is_valid() {
                return Ok(edited_snapshot(&folder.dir, &file.path));
            }
            if snapshot.tables != schema.tables || shape.is_none() {
                schema = snapshot.schema();
                shape = None;
            }
        }
        if shape.is_none() {
            shape = Some(fresh_shape(&schema)?);
        }
        let expected = shape.as_ref().expect("just set");
        let actual = tables_only(introspect::describe(&conn)?);
        let differences = introspect::differences(expected, &actual);
        if !differences.is_empty() {
            let fix = if m.snapshot.is_none() {
                format!(
                    "{}.sql is a hand-written migration waiting to be adopted, and a hand-written \
                     migration must not change tables, columns or indexes (views, triggers and \
                     data are fine): express the table change in your #[derive(Table)] structs \
                     instead and let the build generate it",
                    m.entry.tag
                )
            } else if m.entry.custom {
                format!(
                    "{}.sql is a hand-written migration; it was changed after it was adopted. \
                     Restore it from version control, or undo the table change it makes",
                    m.entry.tag
                )
            } else {
                format!(
                    "{}.sql was edited after it was generated; restore it from version control \
                     (write data or view changes as a new hand-written migration instead)",
                    m.entry.tag
                )
            };
            return Ok(Error::ReplayMismatch {
                tag: m.entry.tag.clone(),
                path: m.path.clone(),
                differences,
                fix,
            });
        }
    }
    // Every step matched its snapshot, so the end did too: unreachable in practice, but say so
    // rather than pass.
    let last = folder.migrations.last().map_or_else(String::new, |m| m.entry.tag.clone());
    Ok(Error::ReplayMismatch {
        tag: last,
        path: folder.dir.clone(),
        differences: vec!["the replayed database differs from the latest snapshot".into()],
        fix: "restore the migrations folder from version control".into(),
    })
}

/// The shape without views and triggers: snapshots model tables only; views and triggers come
/// from hand-written migrations and are checked by the proof of each new migration instead.
fn tables_only(mut shape: DbShape) -> DbShape {
    shape.views.clear();
    shape.triggers.clear();
    shape
}

/// The proof of a generated migration: it runs on the replayed database and yields exactly the
/// shape of a fresh database created from `new`, with the views and triggers it had before.
///
/// # Errors
/// [`Error::ProofFailed`].
pub fn prove(
    replayed: &Replayed,
    tag: &str,
    sql: &str,
    new: &Schema,
    plan: &crate::plan::Plan,
) -> Result<(), Error> {
    let fail = |error: Option<String>, differences: Vec<String>| Error::ProofFailed {
        tag: tag.to_owned(),
        sql: sql.to_owned(),
        error,
        differences,
    };
    // Views and triggers (from hand-written migrations) must come out exactly as they went in.
    let before = introspect::describe(&replayed.conn)?;
    let before_objects = introspect::dependents(&replayed.conn)?;
    apply(&replayed.conn, sql).map_err(|e| {
        let message = match e {
            ApplyError::Sql { statement, error } => format!("  {error}\n  in: {statement}"),
            ApplyError::Forbidden { statement, keyword } => format!("  {keyword} in: {statement}"),
        };
        fail(Some(message), vec![])
    })?;
    check_views(&replayed.conn, tag)?;
    let mut expected = fresh_shape(new)?;
    expected.views = before.views;
    expected.triggers = before.triggers;
    let actual = introspect::describe(&replayed.conn)?;
    // Triggers go with a dropped table; SQLite's RENAME rewrites the text of views and
    // triggers that use a renamed table or column (accepted when only those names changed).
    let dropped = plan.dropped_tables();
    expected.triggers.retain(|name, _| {
        !before_objects
            .iter()
            .any(|o| &o.name == name && dropped.iter().any(|d| d.eq_ignore_ascii_case(&o.tbl_name)))
    });
    for (map, now) in
        [(&mut expected.views, &actual.views), (&mut expected.triggers, &actual.triggers)]
    {
        for (name, text) in map.iter_mut() {
            if let Some(rewritten) = now.get(name)
                && rewritten != text
                && plan.rewrites_to(text, rewritten)
            {
                text.clone_from(rewritten);
            }
        }
    }
    let differences = introspect::differences(&expected, &actual);
    if differences.is_empty() { Ok(()) } else { Err(fail(None, differences)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_words_skip_comments_and_schema_qualifiers() {
        assert_eq!(
            leading_words("/* x */ -- y\n  pragma \"main\" . foreign_keys=0"),
            ["PRAGMA", "FOREIGN_KEYS"]
        );
        assert_eq!(leading_words("PRAGMA [main].journal_mode = wal"), ["PRAGMA", "JOURNAL_MODE"]);
        assert_eq!(leading_words("commit"), ["COMMIT"]);
        assert_eq!(leading_words("END TRANSACTION"), ["END", "TRANSACTION"]);
        assert!(leading_words("'lit'").is_empty());
    }

    #[test]
    fn apply_refuses_what_the_runtime_refuses_and_rolls_back() {
        let conn = open().unwrap();
        for sql in [
            "CREATE TABLE a(x);\nPRAGMA foreign_keys = OFF;",
            "CREATE TABLE a(x);\n--> statement-breakpoint\nCOMMIT;\n--> statement-breakpoint\nBEGIN;",
            "VACUUM",
            "savepoint s",
        ] {
            match apply(&conn, sql) {
                Err(ApplyError::Forbidden { .. }) => {}
                other => panic!("{sql}: {other:?}"),
            }
            assert!(conn.is_autocommit(), "{sql}: the transaction is closed");
            let tables: i64 =
                conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0)).unwrap();
            assert_eq!(tables, 0, "{sql}: rolled back");
        }
        // Trigger bodies, strings and unrelated pragmas are fine; several statements per chunk too.
        apply(
            &conn,
            "CREATE TABLE t(x); CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END;\n\
             INSERT INTO t VALUES ('COMMIT; BEGIN');\nPRAGMA defer_foreign_keys = ON;\nSELECT * FROM t;",
        )
        .unwrap();
        match apply(&conn, "INSERT INTO nope VALUES (1)") {
            Err(ApplyError::Sql { statement, error }) => {
                assert!(error.to_string().contains("no such table: nope"), "{error}");
                assert!(statement.contains("nope"), "{statement}");
            }
            other => panic!("{other:?}"),
        }
    }
}
