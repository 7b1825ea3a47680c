//! Build-time replay: every migration applied to an in-memory SQLite, checked against its
//! snapshot after each step, and the proof that a newly generated migration does what its
//! snapshot says.

use rusqlite::Connection;

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

/// Applies one migration's statements inside a transaction, as the runtime does. On failure
/// returns the failing statement and SQLite's error; the transaction is rolled back.
///
/// # Errors
/// The failing statement and its error.
pub fn apply(conn: &Connection, sql: &str) -> Result<(), (String, rusqlite::Error)> {
    let text = normalize_sql(sql);
    conn.execute_batch("BEGIN").map_err(|e| (String::from("BEGIN"), e))?;
    for statement in split_statements(&text) {
        if let Err(e) = conn.execute_batch(statement) {
            let _ = conn.execute_batch("ROLLBACK");
            return Err((statement.to_owned(), e));
        }
    }
    conn.execute_batch("COMMIT").map_err(|e| (String::from("COMMIT"), e))
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
    apply(conn, &m.sql).map_err(|(statement, source)| Error::ReplayFailed {
        tag: m.entry.tag.clone(),
        path: m.path.clone(),
        statement,
        source: Box::new(source),
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
pub fn prove(replayed: &Replayed, tag: &str, sql: &str, new: &Schema) -> Result<(), Error> {
    let fail = |error: Option<String>, differences: Vec<String>| Error::ProofFailed {
        tag: tag.to_owned(),
        sql: sql.to_owned(),
        error,
        differences,
    };
    // Views and triggers (from hand-written migrations) must come out exactly as they went in.
    let before = introspect::describe(&replayed.conn)?;
    apply(&replayed.conn, sql)
        .map_err(|(statement, e)| fail(Some(format!("  {e}\n  in: {statement}")), vec![]))?;
    check_views(&replayed.conn, tag)?;
    let mut expected = fresh_shape(new)?;
    expected.views = before.views;
    expected.triggers = before.triggers;
    let actual = introspect::describe(&replayed.conn)?;
    let differences = introspect::differences(&expected, &actual);
    if differences.is_empty() { Ok(()) } else { Err(fail(None, differences)) }
}
