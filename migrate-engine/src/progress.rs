//! Progress reports while migrations run, and cancelling from them.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rusqlite::Connection;

/// Where a run is, as a [`ProgressHook`]'s callback sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress<'a> {
    /// The migration being applied, from 1.
    pub migration: usize,
    /// The migrations of the run.
    pub migrations: usize,
    /// Its tag.
    pub tag: &'a str,
    /// The statement being run, from 1, as SQLite splits the migration.
    pub statement: usize,
    /// The migration's statements (a lexical count, see [`count_statements`](crate::count_statements);
    /// never below `statement`).
    pub statements: usize,
    /// For a statement that copies rows (`INSERT INTO .. SELECT` from another table): how far
    /// the copy is.
    pub rows: Option<Rows>,
    /// This is the report at the statement's end (it ran to completion).
    pub ended: bool,
}

/// How far a statement that copies rows is.
///
/// `expected` is a `count(*)` of the table the statement reads, taken just before it runs.
/// `done` is estimated while it runs from the virtual-machine instructions SQLite executed
/// (counted by its progress handler in steps of 1,000), divided by the instructions inside the
/// loops of the statement's `EXPLAIN` program. Branches skipped per row make that divisor an
/// upper bound, so `done` runs behind (by about 15% for a table rebuild's copy: 170,000 of
/// 200,000 when the copy ends); a `WHERE` that skips rows, triggers that fire or index
/// inserts outside the loop move it further either way. It never reaches `expected` before the
/// statement ends; the report at the end has `done == expected`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rows {
    /// Rows copied so far (estimated, see above).
    pub done: u64,
    /// Rows the source table holds.
    pub expected: u64,
}

impl Progress<'_> {
    /// How far the current statement is, from 0 to 1: the rows' fraction for a copy, else 0
    /// while it runs and 1 when it ended.
    #[must_use]
    pub fn statement_fraction(&self) -> f64 {
        if self.ended {
            return 1.0;
        }
        match self.rows {
            Some(Rows { expected: 0, .. }) | None => 0.0,
            #[expect(clippy::cast_precision_loss, reason = "a fraction for display")]
            Some(Rows { done, expected }) => (done as f64 / expected as f64).min(1.0),
        }
    }
}

/// What the callback wants next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Control {
    /// Go on.
    #[default]
    Continue,
    /// Stop: the running statement is interrupted and everything the run did is rolled back
    /// ([`Error::Cancelled`](crate::Error::Cancelled)).
    Cancel,
}

/// The callback type of a [`ProgressHook`].
pub type ProgressFn = dyn FnMut(&Progress<'_>) -> Control + Send;

/// A progress callback and how often it is called while a statement runs.
///
/// The callback is called when each statement starts (throttled), while it runs (from SQLite's
/// progress handler, at most every [`every`](ProgressHook::every), 100 ms by default) and when
/// it ends (always, so the last report of a run is its last statement finished, at 100%). It
/// runs on the migrating thread, inside SQLite's progress handler: keep it short (draw a bar,
/// send a message) and do not use the connection. When the engine applies the steps a second
/// time (see [`Recorder`](crate::Recorder)), the callback sees the run again from migration 1.
///
/// ```
/// use migrate_engine::{Control, ProgressHook};
/// use std::time::Duration;
///
/// let hook = ProgressHook::new(|p| {
///     eprint!("\r{}/{} {} statement {}/{}", p.migration, p.migrations, p.tag, p.statement, p.statements);
///     Control::Continue
/// })
/// .every(Duration::from_millis(50));
/// assert_eq!(hook.interval(), Duration::from_millis(50));
/// ```
#[derive(Clone)]
pub struct ProgressHook {
    callback: Arc<Mutex<Box<ProgressFn>>>,
    every: Duration,
}

impl ProgressHook {
    /// A hook calling `callback`, every 100 ms at most while a statement runs.
    pub fn new(callback: impl FnMut(&Progress<'_>) -> Control + Send + 'static) -> Self {
        Self {
            callback: Arc::new(Mutex::new(Box::new(callback))),
            every: Duration::from_millis(100),
        }
    }

    /// At most one call per `interval` while statements run (the end of each statement is always
    /// reported). `Duration::ZERO`: on every check of SQLite's progress handler.
    #[must_use]
    pub fn every(mut self, interval: Duration) -> Self {
        self.every = interval;
        self
    }

    /// The throttle interval.
    #[must_use]
    pub fn interval(&self) -> Duration {
        self.every
    }

    fn call(&self, progress: &Progress<'_>) -> Control {
        let mut callback = self.callback.lock().unwrap_or_else(PoisonError::into_inner);
        callback(progress)
    }
}

impl fmt::Debug for ProgressHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProgressHook").field("every", &self.every).finish_non_exhaustive()
    }
}

/// SQLite calls the progress handler every this many virtual-machine instructions.
const OPS: u32 = 1000;

/// The statement being run, as the progress handler sees it.
#[derive(Debug, Default)]
struct Current {
    migration: usize,
    migrations: usize,
    tag: String,
    statement: usize,
    statements: usize,
    /// For a copy: rows expected, and instructions per row.
    copy: Option<(u64, u64)>,
    /// Instructions executed by the statement so far (in steps of [`OPS`]).
    ops: u64,
    /// Whether a migration's statement is running (the engine's own queries are not reported).
    running: bool,
    /// Whether the callback asked to cancel.
    cancelled: bool,
    last: Option<Instant>,
}

impl Current {
    fn progress(&self, ended: bool) -> Progress<'_> {
        let rows = self.copy.map(|(expected, per_row)| Rows {
            done: if ended {
                expected
            } else {
                (self.ops / per_row.max(1)).min(expected.saturating_sub(1))
            },
            expected,
        });
        Progress {
            migration: self.migration,
            migrations: self.migrations,
            tag: &self.tag,
            statement: self.statement,
            statements: self.statements.max(self.statement),
            rows,
            ended,
        }
    }

    /// Whether a throttled report is due now (and marks it sent).
    fn due(&mut self, every: Duration) -> bool {
        let now = Instant::now();
        if self.last.is_some_and(|last| now.duration_since(last) < every) {
            return false;
        }
        self.last = Some(now);
        true
    }
}

/// Which statement starts: its place in the run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Place<'a> {
    pub migration: usize,
    pub migrations: usize,
    pub tag: &'a str,
    pub statement: usize,
    pub statements: usize,
}

/// The engine's side of a hook: the shared state the progress handler reads.
#[derive(Debug, Clone)]
pub(crate) struct Meter {
    hook: ProgressHook,
    current: Arc<Mutex<Current>>,
}

impl Meter {
    pub(crate) fn new(hook: &ProgressHook) -> Self {
        Self { hook: hook.clone(), current: Arc::default() }
    }

    fn lock(&self) -> MutexGuard<'_, Current> {
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Installs SQLite's progress handler, which reports (throttled) and interrupts the
    /// statement once the callback cancelled.
    pub(crate) fn install(&self, conn: &mut Connection) -> rusqlite::Result<()> {
        let meter = self.clone();
        #[expect(clippy::cast_possible_wrap, reason = "a small constant")]
        conn.progress_handler(OPS as i32, Some(move || meter.tick()))
    }

    pub(crate) fn remove(conn: &mut Connection) -> rusqlite::Result<()> {
        conn.progress_handler(0, None::<fn() -> bool>)
    }

    /// The progress handler: `true` interrupts the statement.
    fn tick(&self) -> bool {
        let mut current = self.lock();
        if !current.running {
            return false;
        }
        current.ops += u64::from(OPS);
        if current.cancelled {
            return true;
        }
        if !current.due(self.hook.every) {
            return false;
        }
        if self.hook.call(&current.progress(false)) == Control::Cancel {
            current.cancelled = true;
            return true;
        }
        false
    }

    /// A statement starts; `copy` is its rows expected and instructions per row.
    pub(crate) fn start(&self, place: Place<'_>, copy: Option<(u64, u64)>) -> Control {
        let mut current = self.lock();
        current.migration = place.migration;
        current.migrations = place.migrations;
        if current.tag != place.tag {
            place.tag.clone_into(&mut current.tag);
        }
        current.statement = place.statement;
        current.statements = place.statements;
        current.copy = copy;
        current.ops = 0;
        current.cancelled = false;
        let control = if current.due(self.hook.every) {
            self.hook.call(&current.progress(false))
        } else {
            Control::Continue
        };
        current.running = control == Control::Continue;
        control
    }

    /// The statement ended (successfully: reported at 100%) or failed (not reported).
    pub(crate) fn end(&self, ok: bool) -> Control {
        let mut current = self.lock();
        current.running = false;
        if !ok {
            return Control::Continue;
        }
        self.hook.call(&current.progress(true))
    }

    /// Whether the callback cancelled the statement that just failed.
    pub(crate) fn cancelled(&self) -> bool {
        self.lock().cancelled
    }
}

/// Instructions one row costs a statement, from its `EXPLAIN` program: the instructions inside
/// its loops (every backward jump of the main program, `Next`, `Prev`, `SorterNext` or a
/// coroutine's `Goto`, spans a loop body; nested and overlapping bodies count once), or the
/// whole program when it has no loop. Branches skipped at run time make it an upper bound per
/// row (the estimate of rows done then runs behind, by about 15% for a table rebuild's copy).
pub(crate) fn ops_per_row(conn: &Connection, sql: &str) -> rusqlite::Result<u64> {
    let mut stmt = conn.prepare(&format!("EXPLAIN {sql}"))?;
    let mut rows = stmt.query([])?;
    let mut loops: Vec<(i64, i64)> = Vec::new();
    let mut end = i64::MAX;
    let mut count = 0_i64;
    while let Some(row) = rows.next()? {
        count += 1;
        let addr: i64 = row.get(0)?;
        let opcode: String = row.get(1)?;
        let target: i64 = row.get(3)?;
        match opcode.as_str() {
            // The program's trailer (opening the transaction) starts where `Init` jumps.
            "Init" if addr == 0 && target > 0 => end = target,
            "Next" | "Prev" | "SorterNext" | "Goto" if target <= addr && addr < end => {
                loops.push((target, addr));
            }
            _ => {}
        }
    }
    loops.sort_unstable();
    let mut covered = 0_i64;
    let mut reach = -1_i64;
    for (from, to) in loops {
        let from = from.max(reach + 1);
        if to >= from {
            covered += to - from + 1;
        }
        reach = reach.max(to);
    }
    let ops = if covered > 0 { covered } else { count };
    Ok(u64::try_from(ops).unwrap_or(1).max(1))
}
