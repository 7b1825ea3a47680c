//! Applying the pending migrations inside the run's transaction, and the checks before COMMIT:
//! the statement loop, the scoped foreign-key check (with its baseline), views and SQLite's own
//! schema check.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use rusqlite::fallible_iterator::FallibleIterator;
use rusqlite::{Batch, Connection, Transaction, params};

use crate::error::{Error, FkViolation, Phase, PhaseExt, Result};
use crate::migrate::{AppliedMigration, CREATE_LEDGER, INSERT_LEDGER_ROW, now_ms, tags_of};
use crate::typed::quote_ident;
use crate::{Migration, sql};

/// Whether the schema's views and triggers resolved before the run (SQLite's own check). Ones
/// that were already broken are not the run's doing: the check after the run is skipped then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SchemaBefore {
    /// Every view and trigger resolved (or there are none).
    Resolves,
    /// Something was already broken.
    AlreadyBroken,
}

/// Applies `pending` inside the run's transaction `tx` and checks the result; on `Ok` the caller
/// commits, on `Err` the run's savepoint has been rolled back (the caller drops `tx`, which rolls
/// back the rest).
///
/// The foreign-key check runs once, after the migrations, and only over the tables the run
/// touched (schema changed, rows written, or dropped) and their children, so a large unrelated
/// table costs nothing; statements the runner cannot read, and triggers (which may write
/// anywhere), widen it to the whole database. Only when the check finds something is the state
/// before the run needed (violations that were already there are not this run's doing): the
/// savepoint is rolled back, the baseline read, and, if nothing is new, the migrations are
/// applied again.
pub(crate) fn apply_checked(
    tx: &mut Transaction<'_>,
    pending: &[Migration],
) -> Result<Vec<AppliedMigration>> {
    let tags = tags_of(pending);
    let schema_before = match probe_if_needed(tx) {
        Ok(()) => SchemaBefore::Resolves,
        Err(e) => {
            log::warn!(
                "the schema has a view or trigger that does not resolve before migrating: {e}"
            );
            SchemaBefore::AlreadyBroken
        }
    };
    let before = TableEntries::read(tx).phase_of(Phase::Verify, &tags)?;
    let mut run = tx.savepoint_with_name("godwit_run").phase_of(Phase::Apply, &tags)?;
    let mut written = Written::default();
    let mut applied = apply_pending(&run, pending, &mut written)?;
    let scope = check_scope(&run, &before, &written).phase_of(Phase::Verify, &tags)?;
    let after = fk_check_in(&run, &scope, None);
    if !matches!(&after, Ok(rows) if rows.is_empty()) {
        run.rollback().phase_of(Phase::Apply, &tags)?;
        match fk_check_in(&run, &scope, Some(&before)) {
            // A schema whose foreign keys cannot be checked at all ("foreign key mismatch")
            // before the run: the check after it is skipped as well.
            Err(e) => log::warn!("foreign keys cannot be checked before migrating: {e}"),
            Ok(baseline) => {
                let after = after
                    .map_err(|source| Error::ForeignKeyMismatch { tags: tags.clone(), source })?;
                let violations = new_violations(baseline, after);
                if !violations.is_empty() {
                    return Err(Error::ForeignKeyViolation { tags, violations });
                }
            }
        }
        applied = apply_pending(&run, pending, &mut Written::default())?;
    }
    run.commit().phase_of(Phase::Apply, &tags)?;
    check_views(tx, &tags)?;
    if schema_before == SchemaBefore::Resolves {
        probe_if_needed(tx).map_err(|source| Error::BrokenSchema { tags: tags.clone(), source })?;
    }
    Ok(applied)
}

/// Restores `legacy_alter_table` when dropped.
pub(crate) struct LegacyAlterGuard<'c> {
    conn: &'c Connection,
    was: i64,
}

impl<'c> LegacyAlterGuard<'c> {
    /// Reads the current value, to restore it when dropped.
    pub(crate) fn new(conn: &'c Connection) -> Result<Self> {
        let was = conn
            .pragma_query_value(None, "legacy_alter_table", |r| r.get(0))
            .phase(Phase::Apply)?;
        Ok(LegacyAlterGuard { conn, was })
    }
}

impl Drop for LegacyAlterGuard<'_> {
    fn drop(&mut self) {
        let now: rusqlite::Result<i64> =
            self.conn.pragma_query_value(None, "legacy_alter_table", |r| r.get(0));
        if now.as_ref().is_ok_and(|now| *now != self.was)
            && let Err(e) = self.conn.pragma_update(None, "legacy_alter_table", self.was)
        {
            log::error!("could not restore legacy_alter_table: {e}");
        }
    }
}

/// Every row of `pragma_foreign_key_check`.
fn fk_check(conn: &Connection) -> rusqlite::Result<Vec<FkViolation>> {
    let mut stmt = conn.prepare("SELECT * FROM pragma_foreign_key_check")?;
    stmt.query_map([], |r| {
        Ok(FkViolation { table: r.get(0)?, rowid: r.get(1)?, parent: r.get(2)?, fk_id: r.get(3)? })
    })?
    .collect::<rusqlite::Result<Vec<_>>>()
}

/// What the statements of a run wrote, for the scope of the foreign-key check.
#[derive(Debug, Default)]
struct Written {
    /// Tables whose rows were written, lower-cased.
    tables: BTreeSet<String>,
    /// A statement wrote something the runner could not attribute to a table.
    unknown: bool,
}

impl Written {
    fn record(&mut self, writes: sql::Writes) {
        match writes {
            sql::Writes::Nothing => {}
            sql::Writes::Table(name) => {
                self.tables.insert(name.to_ascii_lowercase());
            }
            sql::Writes::Unknown => self.unknown = true,
        }
    }
}

/// The user tables of `sqlite_schema` (lower-cased name to root page and SQL) and whether any
/// trigger exists: enough to tell which tables a run changed.
#[derive(Debug, PartialEq, Eq)]
struct TableEntries {
    tables: BTreeMap<String, (i64, Option<String>)>,
    triggers: bool,
}

impl TableEntries {
    fn read(conn: &Connection) -> rusqlite::Result<Self> {
        let mut stmt = conn.prepare_cached(
            "SELECT type, lower(name), rootpage, sql FROM sqlite_schema \
             WHERE type IN ('table', 'trigger') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
        )?;
        let mut entries = Self { tables: BTreeMap::new(), triggers: false };
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            if row.get_ref(0)?.as_str()? == "trigger" {
                entries.triggers = true;
            } else {
                entries.tables.insert(row.get(1)?, (row.get(2)?, row.get(3)?));
            }
        }
        Ok(entries)
    }
}

/// Which tables the foreign-key check after a run must read.
#[derive(Debug)]
enum CheckScope {
    /// The whole database.
    All,
    /// These tables (lower-cased names): the ones the run touched and their children.
    Tables(Vec<String>),
}

fn check_scope(
    conn: &Connection,
    before: &TableEntries,
    written: &Written,
) -> rusqlite::Result<CheckScope> {
    let after = TableEntries::read(conn)?;
    if written.unknown || before.triggers || after.triggers {
        return Ok(CheckScope::All);
    }
    let mut touched = written.tables.clone();
    for (name, entry) in &after.tables {
        if before.tables.get(name) != Some(entry) {
            touched.insert(name.clone());
        }
    }
    touched.extend(before.tables.keys().filter(|n| !after.tables.contains_key(*n)).cloned());
    // When most tables were touched (a first install creates all of them), one pass over the
    // database is cheaper than a pass per table.
    if touched.len() * 2 >= after.tables.len() {
        return Ok(CheckScope::All);
    }
    let mut parents_of =
        conn.prepare_cached("SELECT DISTINCT lower(\"table\") FROM pragma_foreign_key_list(?1)")?;
    let mut scope = Vec::new();
    for name in after.tables.keys() {
        if touched.contains(name) {
            scope.push(name.clone());
            continue;
        }
        let parents: Vec<String> =
            parents_of.query_map([name], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        if parents.iter().any(|p| touched.contains(p)) {
            scope.push(name.clone());
        }
    }
    Ok(CheckScope::Tables(scope))
}

/// The rows of `pragma_foreign_key_check` in `scope`; with `existing`, only over the tables it
/// lists (the state before a run has no tables the run created).
fn fk_check_in(
    conn: &Connection,
    scope: &CheckScope,
    existing: Option<&TableEntries>,
) -> rusqlite::Result<Vec<FkViolation>> {
    let CheckScope::Tables(tables) = scope else { return fk_check(conn) };
    let mut stmt = conn.prepare_cached("SELECT * FROM pragma_foreign_key_check(?1)")?;
    let mut out = Vec::new();
    for table in tables {
        if existing.is_some_and(|e| !e.tables.contains_key(table)) {
            continue;
        }
        let rows = stmt.query_map([table], |r| {
            Ok(FkViolation {
                table: r.get(0)?,
                rowid: r.get(1)?,
                parent: r.get(2)?,
                fk_id: r.get(3)?,
            })
        })?;
        for row in rows {
            out.push(row?);
        }
    }
    Ok(out)
}

/// The violations in `after` that are not in `before` (as multisets).
fn new_violations(before: Vec<FkViolation>, after: Vec<FkViolation>) -> Vec<FkViolation> {
    let mut seen: HashMap<FkViolation, usize> = HashMap::new();
    for v in before {
        *seen.entry(v).or_default() += 1;
    }
    let mut out = Vec::new();
    for v in after {
        match seen.get_mut(&v) {
            Some(n) if *n > 0 => *n -= 1,
            _ => out.push(v),
        }
    }
    out
}

/// Every view must still compile.
fn check_views(conn: &Connection, tags: &str) -> Result<()> {
    let views: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'view' ORDER BY name")
        .and_then(|mut stmt| stmt.query_map([], |r| r.get(0))?.collect())
        .phase_of(Phase::Verify, tags)?;
    for view in views {
        let probe = format!("SELECT * FROM {} LIMIT 0", quote_ident(&view));
        let result = conn.prepare(&probe).and_then(|mut s| s.raw_query().next().map(|_| ()));
        if let Err(source) = result {
            return Err(Error::BrokenView { tags: tags.to_owned(), view, source });
        }
    }
    Ok(())
}

/// SQLite's own schema check: `ALTER TABLE .. RENAME` re-resolves every view and trigger of the
/// schema and fails on one that names a missing table or column. Run on a throw-away table inside
/// a savepoint that is rolled back, so it leaves nothing behind.
fn schema_probe(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("SAVEPOINT \"godwit_probe\"")?;
    let result = conn.execute_batch(
        "CREATE TABLE \"__godwit_probe\" (\"x\");\n\
         ALTER TABLE \"__godwit_probe\" RENAME TO \"__godwit_probe_renamed\";",
    );
    conn.execute_batch("ROLLBACK TO \"godwit_probe\"; RELEASE \"godwit_probe\"")?;
    result
}

/// [`schema_probe`] when the schema has a view or trigger (there is nothing to check otherwise,
/// and the probe costs a re-read of the whole schema).
fn probe_if_needed(conn: &Connection) -> rusqlite::Result<()> {
    let any: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type IN ('view', 'trigger'))",
        [],
        |r| r.get(0),
    )?;
    if any { schema_probe(conn) } else { Ok(()) }
}

/// Runs every pending migration and records each in the ledger (inside the caller's transaction).
fn apply_pending(
    conn: &Connection,
    pending: &[Migration],
    written: &mut Written,
) -> Result<Vec<AppliedMigration>> {
    let tags = tags_of(pending);
    conn.execute_batch(CREATE_LEDGER).phase_of(Phase::RecordLedger, &tags)?;
    let mut insert = conn.prepare_cached(INSERT_LEDGER_ROW).phase_of(Phase::RecordLedger, &tags)?;
    let mut applied = Vec::with_capacity(pending.len());
    for m in pending {
        let start = Instant::now();
        run_statements(conn, m, written)?;
        let duration = start.elapsed();
        let ms = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        insert
            .execute(params![m.idx, m.tag, m.hash, m.chain, now_ms(), ms])
            .phase_of(Phase::RecordLedger, m.tag)?;
        log::debug!("ran migration {} in {} ms", m.tag, ms);
        applied.push(AppliedMigration { idx: m.idx, tag: m.tag, duration });
    }
    Ok(applied)
}

/// Runs every statement of one migration.
fn run_statements(conn: &Connection, m: &Migration, written: &mut Written) -> Result<()> {
    let mut number = 0;
    // A byte-order mark is not SQL (and not part of the hash).
    let text = m.sql.strip_prefix('\u{feff}').unwrap_or(m.sql);
    for chunk in sql::chunks(text) {
        let mut batch = Batch::new(conn, chunk);
        let mut offset = 0;
        loop {
            let fail = |number: usize, first_line: String, source| Error::Statement {
                tag: m.tag.to_owned(),
                statement: number,
                first_line,
                source,
            };
            let mut stmt = match batch.next() {
                Ok(Some(stmt)) => stmt,
                Ok(None) => break,
                Err(source) => {
                    let rest = chunk.get(offset..).unwrap_or(chunk);
                    return Err(fail(number + 1, sql::first_line(rest), source));
                }
            };
            number += 1;
            let text = stmt.expanded_sql().unwrap_or_default();
            offset += text.len();
            if let Some(keyword) = sql::forbidden_statement(&text) {
                return Err(Error::TransactionControl {
                    tag: m.tag.to_owned(),
                    statement: number,
                    keyword,
                });
            }
            if !stmt.readonly() {
                written.record(sql::writes(&text));
            }
            let mut rows = stmt.raw_query();
            loop {
                match rows.next() {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(source) => return Err(fail(number, sql::first_line(&text), source)),
                }
            }
            drop(rows);
            if conn.is_autocommit() {
                return Err(Error::TransactionControl {
                    tag: m.tag.to_owned(),
                    statement: number,
                    keyword: "a statement that ended the transaction",
                });
            }
        }
    }
    Ok(())
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_violations_are_a_multiset_difference() {
        let v = |t: &str, r| FkViolation {
            table: t.into(),
            rowid: Some(r),
            parent: "p".into(),
            fk_id: 0,
        };
        let out = new_violations(
            vec![v("a", 1), v("b", 2)],
            vec![v("a", 1), v("b", 2), v("b", 3), v("a", 1)],
        );
        assert_eq!(out, vec![v("b", 3), v("a", 1)]);
    }
}
