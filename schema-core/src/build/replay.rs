//! Build-time replay: every migration applied to an in-memory SQLite, checked against its
//! snapshot after each step, and the proof that a newly generated migration does what its
//! snapshot says.

use migrate_engine::{Error as EngineError, Step, apply_checked};
use rusqlite::Connection;

use crate::error::Error;
use crate::introspect::{self, DbShape};
use crate::model::{DefaultValue, Schema};
use crate::plan::{FailureKind, SampleKind, SampleRow, classify_failure, sample_rows};

use super::folder::{Folder, Migration, edited_snapshot};
use super::format::Snapshot;

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

/// The replay of a folder, run at most once and only when a run asks for it: a build whose
/// journal hashes vouch for every file and that proves nothing new does not replay.
pub struct LazyReplay<'a> {
    folder: &'a Folder,
    done: Option<Replayed>,
}

impl<'a> LazyReplay<'a> {
    /// Nothing replayed yet.
    #[must_use]
    pub fn new(folder: &'a Folder) -> Self {
        Self { folder, done: None }
    }

    /// The replayed database, replaying the folder ([`replay`]) on the first call.
    ///
    /// # Errors
    /// What [`replay`] returns.
    pub fn get(&mut self) -> Result<&mut Replayed, Error> {
        let replayed = match self.done.take() {
            Some(replayed) => replayed,
            None => replay(self.folder)?,
        };
        Ok(self.done.insert(replayed))
    }

    /// Whether the folder was replayed.
    #[must_use]
    pub fn ran(&self) -> bool {
        self.done.is_some()
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
    let mut conn = open()?;
    let statements = introspect::create_schema_sql(schema);
    in_transaction(&mut conn, |conn| {
        statements.iter().try_for_each(|statement| conn.execute_batch(statement))
    })??;
    Ok(introspect::describe(&conn)?)
}

/// Runs `f` inside one transaction of `conn`, committed when `f` succeeds and rolled back
/// otherwise. The outer error is SQLite failing to begin or commit; the inner one is `f`'s.
/// (`apply_checked` needs `&mut Connection`, so a `rusqlite::Transaction`, which holds the only
/// borrow, does not fit.)
fn in_transaction<T, E>(
    conn: &mut Connection,
    f: impl FnOnce(&mut Connection) -> Result<T, E>,
) -> Result<Result<T, E>, rusqlite::Error> {
    conn.execute_batch("BEGIN")?;
    let result = f(conn);
    if result.is_ok() {
        conn.execute_batch("COMMIT")?;
    } else if !conn.is_autocommit() {
        conn.execute_batch("ROLLBACK")?;
    }
    Ok(result)
}

/// Applies one migration exactly as the runtime does, through the engine: inside a transaction
/// (foreign keys off), `apply_checked` runs its normalised text under the statement policy and
/// checks foreign keys, views and the schema; committed only when all of that succeeds.
///
/// The inner error is the engine's (the refused or failing statement, new foreign-key
/// violations, a broken view, ...); the outer one is [`Error::Sqlite`] when the transaction
/// cannot begin or commit.
fn apply(conn: &mut Connection, tag: &str, sql: &str) -> Result<Result<(), EngineError>, Error> {
    let steps = [Step { tag, sql }];
    Ok(in_transaction(conn, |conn| apply_checked(conn, &steps, &mut ()).map(drop))?)
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
    let mut conn = open()?;
    for m in &folder.migrations {
        apply_migration(&mut conn, m)?;
    }
    let schema = folder.latest_snapshot().map(Snapshot::schema).unwrap_or_default();
    let shape = fresh_shape(&schema)?;
    let actual = tables_only(introspect::describe(&conn)?);
    if introspect::differences(&shape, &actual).is_empty() {
        return Ok(Replayed { conn, schema, shape: Some(shape) });
    }
    Err(first_mismatch(folder)?)
}

/// Applies a migration of the folder, mapping the engine's error to the build's, with the file.
/// Applies one migration of a folder as the runtime does (see `apply`: its own transaction,
/// through the engine), for tools that replay a prefix of a folder (`godwit diff`).
///
/// # Errors
/// The build error naming the migration's file ([`Error::ReplayFailed`], [`Error::Refused`], ...).
pub fn apply_migration(conn: &mut Connection, m: &Migration) -> Result<(), Error> {
    apply(conn, &m.entry.tag, &m.sql)?.map_err(|error| replay_error(m, error))
}

/// The build error for a committed (or adopted) migration the engine refused or failed.
fn replay_error(m: &Migration, error: EngineError) -> Error {
    let tag = m.entry.tag.clone();
    let path = m.path.clone();
    match error {
        EngineError::Refused { statement, first_line, what, .. } => {
            Error::Refused { tag, path, statement, first_line, what }
        }
        EngineError::BrokenView { view, source, .. } => {
            Error::BrokenView { tag, view, source: Box::new(source) }
        }
        other => Error::ReplayFailed { tag, path, source: Box::new(other) },
    }
}

/// The slow path of [`replay`]: the error naming the first migration whose result differs from
/// its own snapshot (every snapshot parsed, and its id checked, on the way).
fn first_mismatch(folder: &Folder) -> Result<Error, Error> {
    let mut conn = open()?;
    let mut schema = Schema::default();
    let mut shape: Option<DbShape> = None;
    for m in &folder.migrations {
        apply_migration(&mut conn, m)?;
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

/// The proof of a generated migration: first on representative rows of the old tables
/// ([`prove_on_samples`]), then on the replayed database itself, through the engine as the
/// runtime runs it, where it must yield exactly the shape of a fresh database created from
/// `new`, with the views and triggers it had before. Returns the warnings of the proof on
/// representative rows (one line each).
///
/// # Errors
/// [`Error::SampleProofFailed`] when representative rows make it fail with SQLite's own error,
/// [`Error::ProofViolations`] when it leaves foreign-key violations among rows hand-written
/// migrations inserted, [`Error::ProofFailed`] otherwise.
pub fn prove(
    replayed: &mut Replayed,
    tag: &str,
    sql: &str,
    new: &Schema,
    plan: &crate::plan::Plan,
) -> Result<Vec<String>, Error> {
    let warnings = prove_on_samples(replayed, tag, sql, new, &plan.render())?;
    prove_on_replayed(replayed, tag, sql, new, plan)?;
    Ok(warnings)
}

/// The proof on the replayed database itself (see [`prove`]).
fn prove_on_replayed(
    replayed: &mut Replayed,
    tag: &str,
    sql: &str,
    new: &Schema,
    plan: &crate::plan::Plan,
) -> Result<(), Error> {
    let fail = |source: Option<EngineError>, differences: Vec<String>| Error::ProofFailed {
        tag: tag.to_owned(),
        sql: sql.to_owned(),
        source: source.map(Box::new),
        differences,
    };
    // Views and triggers (from hand-written migrations) must come out exactly as they went in.
    let before = introspect::describe(&replayed.conn)?;
    let before_objects = introspect::dependents(&replayed.conn)?;
    match apply(&mut replayed.conn, tag, sql)? {
        Ok(()) => {}
        Err(source @ EngineError::ForeignKeyViolation { .. }) => {
            return Err(Error::ProofViolations { tag: tag.to_owned(), source: Box::new(source) });
        }
        Err(source) => return Err(fail(Some(source), vec![])),
    }
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

/// The proof on representative rows: the migration's backfills, conversions and guards run
/// only on rows, and the replayed database usually has none. For the typed rows of
/// [`sample_rows`] alone, then for all of them (so a guard that a value of another storage
/// class trips does not hide the rest), inside a transaction of the replayed database that is
/// always rolled back (the cheapest exact copy: nothing is duplicated, and the proof on the
/// replayed database then starts from the same state): insert the rows (foreign keys are off;
/// a row a constraint refuses, or that points at no parent, is left out), apply the migration
/// through the engine, and sort a failure with [`classify_failure`] on SQLite's message alone.
///
/// A guard's message about the user's data is fine to ship (it depends on their rows); one
/// about what a `backfill` or `convert` computed is returned as a warning; SQLite's own error
/// (`integer overflow`, `cannot store TEXT value in INTEGER column`) fails the build. Other
/// engine errors are left to the proof on the replayed database (new foreign-key violations
/// among the sample rows are the user's data too).
///
/// `statements` are the plan's rendered statements, of which `sql` is the file text; the
/// failing one is searched for the attributes to name.
///
/// # Errors
/// [`Error::SampleProofFailed`], or [`Error::Sqlite`] when the transaction cannot begin or roll
/// back.
pub fn prove_on_samples(
    replayed: &mut Replayed,
    tag: &str,
    sql: &str,
    new: &Schema,
    statements: &[String],
) -> Result<Vec<String>, Error> {
    let rows = sample_rows(&replayed.schema);
    let mut warnings: Vec<String> = Vec::new();
    let runs: [(&[SampleKind], &'static str); 2] = [
        (&[SampleKind::Typed], "rows of each column's own type"),
        (&[SampleKind::Typed, SampleKind::OtherClass], "rows holding other storage classes"),
    ];
    for (kinds, rows_shown) in runs {
        let Err(EngineError::Statement { statement, first_line, source, .. }) =
            on_samples(&mut replayed.conn, &rows, kinds, tag, sql)?
        else {
            continue;
        };
        let message = source.to_string();
        match classify_failure(&message) {
            FailureKind::Data => {}
            FailureKind::Expression => {
                let warning = format!(
                    "migration {tag} fails on {rows_shown} of the old tables (users' databases can \
                     hold them): {message}"
                );
                if !warnings.contains(&warning) {
                    warnings.push(warning);
                }
            }
            FailureKind::Raw => {
                // The failing statement in full (the engine's first line is cut at 120
                // characters), or the whole file when the numbering does not line up.
                let text = statement
                    .checked_sub(1)
                    .and_then(|k| statements.get(k))
                    .filter(|s| migrate_engine::first_line(s) == first_line)
                    .map_or(sql, String::as_str);
                return Err(Error::SampleProofFailed {
                    tag: tag.to_owned(),
                    statement,
                    rows: rows_shown,
                    fix: sample_fix(new, text, &first_line),
                    source: Box::new(source),
                });
            }
        }
    }
    Ok(warnings)
}

/// One run of [`prove_on_samples`]: the rows of `kinds` inserted and the migration applied,
/// then everything rolled back. The inner result is the engine's.
fn on_samples(
    conn: &mut Connection,
    rows: &[SampleRow],
    kinds: &[SampleKind],
    tag: &str,
    sql: &str,
) -> Result<Result<(), EngineError>, Error> {
    conn.execute_batch("BEGIN")?;
    let result = insert_samples(conn, rows, kinds).map(|()| {
        let steps = [Step { tag, sql }];
        apply_checked(conn, &steps, &mut ()).map(drop)
    });
    if !conn.is_autocommit() {
        conn.execute_batch("ROLLBACK")?;
    }
    Ok(result?)
}

/// Inserts the sample rows of `kinds`, each in a savepoint that is undone when SQLite refuses
/// the row or when it adds foreign-key violations to its table (a parent row a CHECK refused).
fn insert_samples(
    conn: &Connection,
    rows: &[SampleRow],
    kinds: &[SampleKind],
) -> Result<(), rusqlite::Error> {
    let violations = |table: &str| {
        conn.query_row("SELECT count(*) FROM pragma_foreign_key_check(?1)", [table], |r| {
            r.get::<_, i64>(0)
        })
        .ok()
    };
    for row in rows.iter().filter(|r| kinds.contains(&r.kind)) {
        let before = violations(&row.table);
        conn.execute_batch("SAVEPOINT \"godwit_sample\"")?;
        let fits = conn.execute_batch(&row.sql).is_ok() && violations(&row.table) == before;
        if !fits {
            conn.execute_batch("ROLLBACK TO \"godwit_sample\"")?;
        }
        conn.execute_batch("RELEASE \"godwit_sample\"")?;
    }
    Ok(())
}

/// The fix for a statement that failed with SQLite's own error on sample rows: the attributes
/// of `new` whose SQL appears in `text` (the statement), or what to look at when none does.
fn sample_fix(new: &Schema, text: &str, first_line: &str) -> String {
    let mut suspects: Vec<String> = Vec::new();
    for t in new.tables.values() {
        for c in &t.columns {
            let default_sql = match &c.default {
                Some(DefaultValue::Sql(e)) => Some(e),
                _ => None,
            };
            let attrs = [
                ("backfill", c.backfill.as_ref()),
                ("convert", c.convert.as_ref()),
                ("check", c.check.as_ref()),
                ("default_sql", default_sql),
            ];
            for (attr, e) in attrs {
                if let Some(e) = e.filter(|e| text.contains(e.as_str())) {
                    suspects.push(format!("#[column({attr} = {e:?})] on {}.{}", t.name, c.name));
                }
            }
        }
        for ch in t.checks.iter().filter(|ch| text.contains(ch.expr.as_str())) {
            suspects.push(format!("#[check(expr = {:?})] on table {}", ch.expr, t.name));
        }
    }
    if suspects.is_empty() {
        format!(
            "the statement `{first_line}` fails on values the old columns admit: change the schema \
             change, or fix such rows in a hand-written migration first"
        )
    } else {
        format!(
            "{} fails with SQLite's error below on such rows: make it give a value of the \
             column's type for every row the old table can hold",
            suspects.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0)).unwrap()
    }

    /// The replay refuses what the runtime refuses (the engine's policy), rolls back, and
    /// leaves the connection out of any transaction.
    #[test]
    fn apply_refuses_what_the_runtime_refuses_and_rolls_back() {
        let mut conn = open().unwrap();
        for (sql, refused) in [
            ("CREATE TABLE a(x);\nPRAGMA foreign_keys = OFF;", "PRAGMA foreign_keys"),
            ("CREATE TABLE a(x);\n--> statement-breakpoint\nCOMMIT;", "COMMIT"),
            ("CREATE TABLE a(x);\nPRAGMA \"locking_mode\" = EXCLUSIVE;", "PRAGMA locking_mode"),
            ("savepoint s", "SAVEPOINT"),
        ] {
            match apply(&mut conn, "0001_x", sql).unwrap() {
                Err(EngineError::Refused { what, .. }) => {
                    assert!(what.contains(refused), "{sql}: {what}")
                }
                other => panic!("{sql}: {other:?}"),
            }
            assert!(conn.is_autocommit(), "{sql}: the transaction is closed");
            assert_eq!(tables(&conn), 0, "{sql}: rolled back");
        }
        // Trigger bodies, strings and allowed pragmas are fine; several statements per chunk too.
        apply(
            &mut conn,
            "0001_x",
            "CREATE TABLE t(x); CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END;\n\
             INSERT INTO t VALUES ('COMMIT; BEGIN');\nPRAGMA defer_foreign_keys = ON;\nSELECT * FROM t;",
        )
        .unwrap()
        .unwrap();
        match apply(&mut conn, "0002_y", "INSERT INTO nope VALUES (1)").unwrap() {
            Err(EngineError::Statement { statement: 1, source, .. }) => {
                assert!(source.to_string().contains("no such table: nope"), "{source}");
            }
            other => panic!("{other:?}"),
        }
        assert!(conn.is_autocommit());
    }

    /// Sample rows that do not fit are left out: a parent row its CHECK refuses, and the
    /// WITHOUT ROWID child row pointing at it (no rowid to delete it by), so the proof starts
    /// without foreign-key violations of its own; everything is rolled back after.
    #[test]
    fn sample_rows_that_do_not_fit_are_left_out_and_rolled_back() {
        use crate::model::{Column, ForeignKey, SqlType, Table};
        let mut p = Table::new("p");
        let mut id = Column::new("id", SqlType::Integer);
        id.check = Some("\"id\" > 1000".into());
        p.columns.push(id);
        p.primary_key = vec!["id".into()];
        let mut c = Table::new("c");
        c.columns.push(Column::new("k", SqlType::Text));
        c.columns.push(Column::new("p_id", SqlType::Integer));
        c.primary_key = vec!["k".into()];
        c.without_rowid = true;
        c.foreign_keys.push(ForeignKey {
            columns: vec!["p_id".into()],
            ref_table: "p".into(),
            ref_columns: vec!["id".into()],
            on_delete: None,
            on_update: None,
        });
        let mut schema = Schema::default();
        schema.insert(p);
        schema.insert(c);
        let mut conn = open().unwrap();
        for statement in introspect::create_schema_sql(&schema) {
            conn.execute_batch(&statement).unwrap();
        }
        let rows = sample_rows(&schema);
        let count = |conn: &Connection, sql: &str| -> i64 {
            conn.query_row(sql, [], |r| r.get(0)).unwrap()
        };
        conn.execute_batch("BEGIN").unwrap();
        insert_samples(&conn, &rows, &[SampleKind::Typed, SampleKind::OtherClass]).unwrap();
        assert_eq!(count(&conn, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
        assert_eq!(count(&conn, "SELECT count(*) FROM \"c\""), 0);
        conn.execute_batch("ROLLBACK").unwrap();
        // A migration that runs on them is rolled back too.
        let sql = "ALTER TABLE \"c\" ADD COLUMN \"n\" INTEGER;\n";
        on_samples(&mut conn, &rows, &[SampleKind::Typed], "0001_x", sql).unwrap().unwrap();
        assert!(conn.is_autocommit());
        assert_eq!(count(&conn, "SELECT count(*) FROM pragma_table_info('c')"), 2);
    }
}
