//! The checked apply: every step's statements under the policy, inside one savepoint, then the
//! checks, with the connection settings the engine owns forced for the run.

use std::time::{Duration, Instant};

use rusqlite::fallible_iterator::FallibleIterator as _;
use rusqlite::hooks::{AuthContext, Authorization};
use rusqlite::{Batch, Connection, Savepoint};

use crate::checks::{self, Renames, Tables};
use crate::count::count_statements;
use crate::error::{CheckPhase, Error, Phase};
use crate::policy::{Touched, Watch};
use crate::progress::{Control, Meter, Place, ProgressHook, ops_per_row};
use crate::text::{chunks, first_line, normalise, quote_ident};

/// One migration to apply.
#[derive(Debug, Clone, Copy)]
pub struct Step<'a> {
    /// Its tag, e.g. `0003_add_bio`, for messages.
    pub tag: &'a str,
    /// The raw file text; the engine [`normalise`]s it and executes the normalised text (the
    /// text the hash covers).
    pub sql: &'a str,
}

/// One applied step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The step's tag.
    pub tag: String,
    /// How long its statements took (the run that was committed, when the engine ran the steps
    /// twice).
    pub duration: Duration,
}

/// What [`apply_checked`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Every step, in order.
    pub applied: Vec<Applied>,
}

/// Hooks the caller gives the engine.
pub trait Recorder {
    /// Called after step `i` (index into the steps) ran, inside the engine's savepoint, e.g. to
    /// insert its ledger row. The statement policy does not apply to what it runs.
    ///
    /// When the foreign-key check finds violations, the engine rolls its savepoint back, reads the
    /// violations that were already there, and applies every step again: the recorder is then
    /// called again for every step, and only the second run's writes remain. A recorder that
    /// writes inside the transaction (a ledger row) is therefore right as it is; one with effects
    /// outside the database sees each step twice.
    ///
    /// # Errors
    /// An error stops the run: [`Error::Sqlite`] with [`Phase::Record`].
    fn after_step(
        &mut self,
        conn: &Connection,
        i: usize,
        duration: Duration,
    ) -> rusqlite::Result<()>;
}

/// No hooks (the build's replay).
impl Recorder for () {
    fn after_step(&mut self, _: &Connection, _: usize, _: Duration) -> rusqlite::Result<()> {
        Ok(())
    }
}

/// The run's tags as messages show them: `0003_a`, or `0003_a..0005_c` for several.
///
/// ```
/// use migrate_engine::{Step, tags_of};
/// let s = |tag| Step { tag, sql: "" };
/// assert_eq!(tags_of(&[s("0003_a"), s("0004_b"), s("0005_c")]), "0003_a..0005_c");
/// assert_eq!(tags_of(&[s("0003_a")]), "0003_a");
/// ```
#[must_use]
pub fn tags_of(steps: &[Step<'_>]) -> String {
    match steps {
        [] => String::new(),
        [one] => one.tag.to_owned(),
        [first, .., last] => format!("{}..{}", first.tag, last.tag),
    }
}

/// Applies every step inside the caller's open transaction, then runs the post-apply checks.
///
/// The caller switched `foreign_keys` off, then began the transaction (`BEGIN IMMEDIATE` at
/// runtime); the engine then:
///
/// 1. forces `legacy_alter_table = OFF` and `writable_schema = OFF` and installs SQLite's
///    authorizer, both for the call only (restored and removed on every path, panics included);
/// 2. opens its savepoint `godwit_run` and runs each step's [`normalise`]d text, chunk by chunk
///    ([`chunks`]), statement by statement as SQLite prepares them. The authorizer refuses
///    transaction control, savepoints, ATTACH/DETACH and every pragma not in
///    [`ALLOWED_PRAGMAS`](crate::ALLOWED_PRAGMAS) ([`Error::Refused`]), including inside the
///    trigger bodies a statement fires, and records every table the statements (and their
///    triggers) write or change. After each step it calls the [`Recorder`];
/// 3. checks foreign keys over the touched tables and their children (the whole database when
///    an action could not be classified or most tables were touched). When that finds
///    violations or cannot run, it rolls back to its savepoint, reads the violations that were
///    already there (a check that cannot run then is [`Error::ForeignKeyCheck`] with
///    [`CheckPhase::Before`]), applies the steps again and checks again: only violations the run
///    adds are refused ([`Error::ForeignKeyViolation`]), and what stays is what was checked;
/// 4. checks that every view compiles, and, when the schema has views or triggers and they
///    resolved before the run, SQLite's own schema check;
/// 5. releases its savepoint. The caller commits.
///
/// On error the engine has rolled back to its savepoint and released it; the caller then rolls
/// back its transaction. One exception: a statement that makes SQLite roll back the whole
/// transaction itself (a trigger's `RAISE(ROLLBACK, ..)`, an I/O error) is that statement's
/// [`Error::Statement`] with the transaction already gone; check
/// [`Connection::is_autocommit`] before rolling back.
///
/// `VACUUM` has no authorizer action; inside the transaction it fails at once with SQLite's own
/// "cannot VACUUM from within a transaction" ([`Error::Statement`]). An authorizer the caller
/// had installed is replaced for the call and not reinstalled (rusqlite cannot read it back).
///
/// It takes `&mut Connection` because rusqlite installs an authorizer only through
/// `Connection::authorizer(&mut self)`: begin the transaction with `execute_batch("BEGIN
/// IMMEDIATE")` (a [`rusqlite::Transaction`] would hold the only borrow), and commit or roll back
/// the same way after the call.
///
/// ```
/// use migrate_engine::{Error, Step, apply_checked};
/// use rusqlite::Connection;
///
/// let mut conn = Connection::open_in_memory()?;
/// conn.execute_batch("PRAGMA foreign_keys = OFF; BEGIN IMMEDIATE")?;
/// let steps = [Step { tag: "0000_init", sql: "CREATE TABLE \"t\" (\"id\" INTEGER PRIMARY KEY);\n" }];
/// let outcome = apply_checked(&mut conn, &steps, &mut ())?;
/// conn.execute_batch("COMMIT")?;
/// assert_eq!(outcome.applied[0].tag, "0000_init");
///
/// // A migration may not end the runner's transaction.
/// conn.execute_batch("BEGIN IMMEDIATE")?;
/// let steps = [Step { tag: "0001_bad", sql: "INSERT INTO t VALUES (1);\nCOMMIT;\n" }];
/// let err = apply_checked(&mut conn, &steps, &mut ()).unwrap_err();
/// conn.execute_batch("ROLLBACK")?;
/// assert!(matches!(err, Error::Refused { statement: 2, ref what, .. } if what == "COMMIT"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// See [`Error`].
pub fn apply_checked(
    conn: &mut Connection,
    steps: &[Step<'_>],
    recorder: &mut dyn Recorder,
) -> Result<Outcome, Error> {
    apply(conn, steps, recorder, None)
}

/// [`apply_checked`], reporting progress to `hook` (see [`ProgressHook`] for when it is called),
/// which may cancel: the statement running is interrupted (SQLite's progress handler returns
/// true), the engine rolls back to its savepoint and returns [`Error::Cancelled`]; the caller
/// rolls back its transaction as after any error.
///
/// For a statement that copies rows (it inserts into one table and reads another, as SQLite's
/// authorizer reports while preparing it), the engine first counts the source's rows and reads
/// the statement's `EXPLAIN` program (see [`Rows`](crate::Rows)): that costs one `count(*)`
/// scan of the source per copy, and only when a hook is given. The handler itself counts
/// instructions in steps of 1,000.
///
/// ```
/// use migrate_engine::{Control, Error, ProgressHook, Step, apply_checked_with_progress};
/// use rusqlite::Connection;
/// use std::sync::{Arc, Mutex};
///
/// let mut conn = Connection::open_in_memory()?;
/// conn.execute_batch(
///     "CREATE TABLE a (x); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000) \
///      INSERT INTO a SELECT i FROM n;",
/// )?;
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = seen.clone();
/// let hook = ProgressHook::new(move |p| {
///     log.lock().unwrap().push((p.statement, p.rows.map(|r| (r.done, r.expected))));
///     Control::Continue
/// });
/// conn.execute_batch("PRAGMA foreign_keys = OFF; BEGIN IMMEDIATE")?;
/// let sql = "CREATE TABLE b (x);\nINSERT INTO b SELECT x FROM a;\n";
/// apply_checked_with_progress(&mut conn, &[Step { tag: "0001_copy", sql }], &mut (), &hook)?;
/// conn.execute_batch("COMMIT")?;
/// // The last report: statement 2 of 2, every row copied.
/// assert_eq!(seen.lock().unwrap().last(), Some(&(2, Some((50000, 50000)))));
///
/// // Cancelling rolls the run back.
/// let hook = ProgressHook::new(|_| Control::Cancel);
/// conn.execute_batch("BEGIN IMMEDIATE")?;
/// let steps = [Step { tag: "0002_drop", sql: "DROP TABLE a;\n" }];
/// let err = apply_checked_with_progress(&mut conn, &steps, &mut (), &hook).unwrap_err();
/// if !conn.is_autocommit() { conn.execute_batch("ROLLBACK")?; }
/// assert!(matches!(err, Error::Cancelled { statement: 1, .. }));
/// let n: i64 = conn.query_row("SELECT count(*) FROM a", [], |r| r.get(0))?;
/// assert_eq!(n, 50000);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// See [`Error`].
pub fn apply_checked_with_progress(
    conn: &mut Connection,
    steps: &[Step<'_>],
    recorder: &mut dyn Recorder,
    hook: &ProgressHook,
) -> Result<Outcome, Error> {
    apply(conn, steps, recorder, Some(Meter::new(hook)))
}

fn apply(
    conn: &mut Connection,
    steps: &[Step<'_>],
    recorder: &mut dyn Recorder,
    meter: Option<Meter>,
) -> Result<Outcome, Error> {
    if conn.is_autocommit() {
        return Err(Error::NotInTransaction);
    }
    let fk: i64 = conn
        .pragma_query_value(None, "foreign_keys", |r| r.get(0))
        .map_err(Phase::Settings.error())?;
    if fk != 0 {
        return Err(Error::ForeignKeysOn);
    }
    if steps.is_empty() {
        return Ok(Outcome::default());
    }
    let mut session = Session::open(conn, meter)?;
    let result = session.run(steps, recorder);
    let closed = session.close();
    let outcome = result?;
    closed?;
    Ok(outcome)
}

/// The connection settings the engine owns for a run.
#[derive(Debug, Clone, Copy)]
struct Settings {
    legacy_alter_table: bool,
    writable_schema: bool,
}

impl Settings {
    const OFF: Self = Self { legacy_alter_table: false, writable_schema: false };

    fn read(conn: &Connection) -> rusqlite::Result<Self> {
        let flag = |name| conn.pragma_query_value(None, name, |r| r.get::<_, bool>(0));
        Ok(Self {
            legacy_alter_table: flag("legacy_alter_table")?,
            writable_schema: flag("writable_schema")?,
        })
    }

    fn write(self, conn: &Connection) -> rusqlite::Result<()> {
        conn.pragma_update(None, "legacy_alter_table", self.legacy_alter_table)?;
        conn.pragma_update(None, "writable_schema", self.writable_schema)
    }
}

/// The connection while the engine owns it: settings forced, authorizer installed. Dropping it
/// (an early return, a panic) restores both; [`Session::close`] does the same and reports errors.
struct Session<'c> {
    conn: &'c mut Connection,
    watch: Watch,
    meter: Option<Meter>,
    saved: Settings,
    open: bool,
}

impl<'c> Session<'c> {
    fn open(conn: &'c mut Connection, meter: Option<Meter>) -> Result<Self, Error> {
        let saved = Settings::read(conn).map_err(Phase::Settings.error())?;
        // From here on, dropping the session puts everything back.
        let session = Session { conn, watch: Watch::default(), meter, saved, open: true };
        Settings::OFF.write(session.conn).map_err(Phase::Settings.error())?;
        let callback = session.watch.callback();
        session.conn.authorizer(Some(callback)).map_err(Phase::Authorizer.error())?;
        if let Some(meter) = &session.meter {
            meter.install(session.conn).map_err(Phase::Authorizer.error())?;
        }
        Ok(session)
    }

    fn restore(&mut self) -> Result<(), Error> {
        self.open = false;
        let removed = self.conn.authorizer(None::<fn(AuthContext<'_>) -> Authorization>);
        let unmetered = if self.meter.is_some() { Meter::remove(self.conn) } else { Ok(()) };
        let restored = self.saved.write(self.conn);
        removed.map_err(Phase::Authorizer.error())?;
        unmetered.map_err(Phase::Authorizer.error())?;
        restored.map_err(Phase::Settings.error())
    }

    fn close(mut self) -> Result<(), Error> {
        self.restore()
    }

    fn run(&mut self, steps: &[Step<'_>], recorder: &mut dyn Recorder) -> Result<Outcome, Error> {
        let tags = tags_of(steps);
        let before = Tables::read(self.conn).map_err(Phase::Schema.error())?;
        let probe_after = schema_resolves(self.conn)?;
        // Dropped on any error (or panic): rolls back to the savepoint and releases it.
        let mut run =
            self.conn.savepoint_with_name("godwit_run").map_err(Phase::Savepoint.error())?;
        let pass = Pass {
            watch: &self.watch,
            meter: self.meter.as_ref(),
            steps,
            before: &before,
            tags: &tags,
        };
        let applied = pass.apply_and_check(&mut run, recorder)?;
        if let Some((view, source)) = checks::broken_view(&run).map_err(Phase::Views.error())? {
            return Err(Error::BrokenView { tags, view, source });
        }
        if probe_after && checks::has_views_or_triggers(&run).map_err(Phase::Schema.error())? {
            let probe =
                run.savepoint_with_name("godwit_probe").map_err(Phase::Savepoint.error())?;
            checks::schema_probe(probe).map_err(|source| Error::BrokenSchema { tags, source })?;
        }
        run.commit().map_err(Phase::Savepoint.error())?;
        Ok(Outcome { applied })
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        if self.open
            && let Err(e) = self.restore()
        {
            log::error!("could not restore the connection after migrating: {e}");
        }
    }
}

/// Whether SQLite's schema check must run after the migrations: every view and trigger resolves
/// now (trivially when there is none). Views and triggers that were already broken are not the
/// run's doing.
fn schema_resolves(conn: &mut Connection) -> Result<bool, Error> {
    if !checks::has_views_or_triggers(conn).map_err(Phase::Schema.error())? {
        return Ok(true);
    }
    let probe = conn.savepoint_with_name("godwit_probe").map_err(Phase::Savepoint.error())?;
    match checks::schema_probe(probe) {
        Ok(()) => Ok(true),
        Err(e) => {
            log::warn!(
                "the schema has a view or trigger that does not resolve before migrating: {e}"
            );
            Ok(false)
        }
    }
}

/// One run's fixed inputs.
struct Pass<'p, 'a> {
    watch: &'p Watch,
    meter: Option<&'p Meter>,
    steps: &'p [Step<'a>],
    /// The user tables before the run.
    before: &'p Tables,
    tags: &'p str,
}

impl Pass<'_, '_> {
    /// Applies the steps and checks foreign keys; on violations (or a check that cannot run)
    /// rolls back, reads the baseline, applies again and checks again.
    fn apply_and_check(
        &self,
        run: &mut Savepoint<'_>,
        recorder: &mut dyn Recorder,
    ) -> Result<Vec<Applied>, Error> {
        let first = apply_steps(run, self.watch, self.meter, self.steps, recorder)?;
        let scope =
            checks::scope(run, self.before, &first.touched).map_err(Phase::Schema.error())?;
        log::debug!("foreign-key check over {scope:?}");
        match checks::check_after(run, &scope) {
            Ok(found) if found.is_empty() => return Ok(first.applied),
            Ok(found) => {
                log::debug!("{} violation(s) after the run: reading the baseline", found.len())
            }
            Err(e) => log::debug!("the foreign-key check failed ({e}): reading the baseline"),
        }
        run.rollback().map_err(Phase::Savepoint.error())?;
        let baseline = checks::check_before(run, &scope, &first.renames, self.before)
            .map_err(|source| self.check_failed(CheckPhase::Before, source))?;
        let second = apply_steps(run, self.watch, self.meter, self.steps, recorder)?;
        let scope =
            checks::scope(run, self.before, &second.touched).map_err(Phase::Schema.error())?;
        let after = checks::check_after(run, &scope)
            .map_err(|source| self.check_failed(CheckPhase::After, source))?;
        let mut new = checks::new_violations(&baseline, after, &second.renames);
        if new.is_empty() {
            return Ok(second.applied);
        }
        checks::describe(run, &mut new).map_err(Phase::ForeignKeys.error())?;
        Err(Error::ForeignKeyViolation { tags: self.tags.to_owned(), violations: new })
    }

    fn check_failed(&self, phase: CheckPhase, source: rusqlite::Error) -> Error {
        Error::ForeignKeyCheck { tags: self.tags.to_owned(), phase, source }
    }
}

/// What one pass over the steps did.
#[derive(Debug)]
struct Trace {
    applied: Vec<Applied>,
    touched: Touched,
    renames: Renames,
}

fn apply_steps(
    conn: &Connection,
    watch: &Watch,
    meter: Option<&Meter>,
    steps: &[Step<'_>],
    recorder: &mut dyn Recorder,
) -> Result<Trace, Error> {
    let _ = watch.take_touched();
    let mut renames = Renames::default();
    let mut applied = Vec::with_capacity(steps.len());
    for (i, step) in steps.iter().enumerate() {
        let start = Instant::now();
        let place = Place {
            migration: i + 1,
            migrations: steps.len(),
            tag: step.tag,
            statement: 0,
            statements: 0,
        };
        run_step(conn, Hooks { watch, meter, place }, step, &mut renames)?;
        let duration = start.elapsed();
        recorder.after_step(conn, i, duration).map_err(Phase::Record.error_in(step.tag))?;
        log::debug!("ran migration {} in {} ms", step.tag, duration.as_millis());
        applied.push(Applied { tag: step.tag.to_owned(), duration });
    }
    Ok(Trace { applied, touched: watch.take_touched(), renames })
}

/// What watches a step's statements: the authorizer's state, and the progress meter with the
/// step's place in the run.
#[derive(Clone, Copy)]
struct Hooks<'h> {
    watch: &'h Watch,
    meter: Option<&'h Meter>,
    place: Place<'h>,
}

/// Runs every statement of one step, numbered as SQLite splits them across chunks.
fn run_step(
    conn: &Connection,
    hooks: Hooks<'_>,
    step: &Step<'_>,
    renames: &mut Renames,
) -> Result<(), Error> {
    let Hooks { watch, meter, mut place } = hooks;
    let text = normalise(step.sql);
    if meter.is_some() {
        place.statements = count_statements(&text);
    }
    let fail = |statement: usize, first_line: String, source| match watch.take_refusal() {
        Some(what) => Error::Refused { tag: step.tag.to_owned(), statement, first_line, what },
        None => Error::Statement { tag: step.tag.to_owned(), statement, first_line, source },
    };
    let cancelled = |statement: usize| Error::Cancelled { tag: step.tag.to_owned(), statement };
    let schema = Phase::Schema.error_in(step.tag);
    let mut number = 0;
    for chunk in chunks(&text) {
        let mut batch = Batch::new(conn, chunk);
        let mut offset = 0;
        loop {
            let next = {
                let _judged = watch.enforce();
                batch.next()
            };
            let mut stmt = match next {
                Ok(Some(stmt)) => stmt,
                Ok(None) => break,
                Err(source) => {
                    let rest = chunk.get(offset..).unwrap_or(chunk);
                    return Err(fail(number + 1, first_line(rest), source));
                }
            };
            number += 1;
            let sql = stmt.expanded_sql().unwrap_or_default();
            offset += sql.len();
            let copy_source = watch.take_copy_source();
            if let Some(meter) = meter {
                place.statement = number;
                let copy = copy_source.and_then(|source| copy_size(conn, &source, &sql));
                if meter.start(place, copy) == Control::Cancel {
                    return Err(cancelled(number));
                }
            }
            // An ALTER TABLE may rename: the table names before and after it tell.
            let names_before =
                if watch.take_altered() { Some(Tables::read(conn).map_err(schema)?) } else { None };
            let result = {
                let _judged = watch.enforce();
                drain(&mut stmt)
            };
            drop(stmt);
            if let Some(meter) = meter {
                if result.is_err() && meter.cancelled() {
                    return Err(cancelled(number));
                }
                if meter.end(result.is_ok()) == Control::Cancel {
                    return Err(cancelled(number));
                }
            }
            if let Err(source) = result {
                return Err(fail(number, first_line(&sql), source));
            }
            if let Some(before) = names_before {
                let after = Tables::read(conn).map_err(schema)?;
                if let Some((old, new)) = renamed(&before, &after) {
                    log::debug!("table {old} renamed to {new}");
                    watch.renamed(&new);
                    renames.push(old, new);
                }
            }
            if conn.is_autocommit() {
                return Err(Error::Refused {
                    tag: step.tag.to_owned(),
                    statement: number,
                    first_line: first_line(&sql),
                    what: "a statement that ended the transaction".to_owned(),
                });
            }
        }
    }
    Ok(())
}

/// For a statement that copies rows from `source`: the rows it holds and the instructions one
/// row costs. `None` when either cannot be read (the statement is then reported without rows).
fn copy_size(conn: &Connection, source: &str, sql: &str) -> Option<(u64, u64)> {
    let count = format!("SELECT count(*) FROM \"main\".{}", quote_ident(source));
    let rows: i64 = conn.query_row(&count, [], |r| r.get(0)).ok()?;
    let per_row = ops_per_row(conn, sql).ok()?;
    Some((u64::try_from(rows).ok()?, per_row))
}

/// Steps a statement to its end.
fn drain(stmt: &mut rusqlite::Statement<'_>) -> rusqlite::Result<()> {
    let mut rows = stmt.raw_query();
    while rows.next()?.is_some() {}
    Ok(())
}

/// The table a statement renamed, from the user tables before and after it: exactly one name
/// gone and one new.
fn renamed(before: &Tables, after: &Tables) -> Option<(String, String)> {
    let (before, after) = (before.names(), after.names());
    let mut gone = before.difference(&after);
    let mut came = after.difference(&before);
    match (gone.next(), gone.next(), came.next(), came.next()) {
        (Some(old), None, Some(new), None) => Some((old.clone(), new.clone())),
        _ => None,
    }
}
