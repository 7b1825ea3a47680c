//! `godwit`: the command-line tool for a Godwit migrations folder and the SQLite databases it
//! migrates. It runs on the same code the build script and the runtime use (schema-core's folder
//! checks, replay and generator; migrate-engine's hashes), without building the app.
//!
//! | command | what it does |
//! |---|---|
//! | `godwit status [--migrations DIR] [--db FILE]` | every migration of the folder; with `--db`, applied (time, duration), pending, edited, or unknown to the folder |
//! | `godwit new NAME [--migrations DIR]` | writes the next hand-written migration file with a header saying what it may hold |
//! | `godwit check [--manifest-path DIR] [--schema F --migrations D --db-name N]` | check mode without cargo, for every database the crate's `build.rs` generates (or the one the flags name): the pending SQL when the structs differ from the latest snapshot, and every error the build would fail with |
//! | `godwit diff DB [--migrations DIR]` | drift: the live database against the schema of the last migration its ledger records |
//! | `godwit baseline DB [--migrations DIR] [--to TAG] [--dry-run]` | adopts an existing database: records migrations 0..N as applied after proving its schema equals what they create |
//! | `godwit pull DB [--out FILE]` | an existing database's tables as `#[derive(Table)]` structs, proven to reproduce it; the rest listed with its SQL |
//!
//! Exit codes, the same for every command (scripts rely on them):
//!
//! | code | meaning |
//! |---|---|
//! | 0 | nothing to report: up to date, no drift, the file was written |
//! | 1 | a finding: a pending or edited migration, a ledger row unknown to the folder, a pending schema change, a folder the build would refuse, drift, a table `pull` cannot reproduce exactly, a database `baseline` refuses |
//! | 2 | the command could not run: a usage error, a missing database or folder, an I/O or SQLite error |
//!
//! Databases are opened read-only, except by `baseline`, which writes only the ledger rows, in one
//! transaction, after its proof. No command creates a database.
//!
//! ```no_run
//! use godwit::{status, StatusArgs};
//! let report = status(&StatusArgs { migrations: "migrations".into(), db: Some("app.db".into()) })?;
//! print!("{}", report.text);
//! std::process::exit(report.exit_code());
//! # Ok::<(), godwit::Error>(())
//! ```

mod baseline;
mod buildrs;
mod check;
mod diff;
mod error;
mod expected;
mod ledger;
mod new;
mod pull;
mod status;
mod time;

pub use baseline::{BaselineArgs, baseline};
pub use check::{CheckArgs, check};
pub use diff::{DiffArgs, diff};
pub use error::Error;
pub use ledger::LedgerRow;
pub use new::{NewArgs, header as new_header, new_migration};
pub use pull::{PullArgs, pull};
pub use status::{StatusArgs, status};
pub use time::iso8601_utc;

/// What a command found: the text it prints on stdout and whether it is a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The output, one finding or migration per line, ending in a newline.
    pub text: String,
    /// Whether something needs attention (exit code 1).
    pub outcome: Outcome,
}

/// Whether a command's report is clean or holds findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to report (exit code 0).
    Clean,
    /// At least one finding (exit code 1).
    Findings,
}

impl Report {
    /// The process exit code for this report: 0 when clean, 1 with findings.
    ///
    /// ```
    /// use godwit::{Outcome, Report};
    /// let r = Report { text: String::new(), outcome: Outcome::Findings };
    /// assert_eq!(r.exit_code(), 1);
    /// ```
    #[must_use]
    pub fn exit_code(&self) -> i32 {
        match self.outcome {
            Outcome::Clean => EXIT_OK,
            Outcome::Findings => EXIT_FINDING,
        }
    }
}

/// Exit code: nothing to report.
pub const EXIT_OK: i32 = 0;
/// Exit code: a finding (pending, edited, unknown, drift, a pending schema change).
pub const EXIT_FINDING: i32 = 1;
/// Exit code: the command could not run (usage, missing file, I/O or SQLite error).
pub const EXIT_ERROR: i32 = 2;

/// An error and every cause below it, one `caused by:` line each.
///
/// ```
/// let e = godwit::Error::NoDatabase { path: "app.db".into() };
/// assert!(godwit::report_error(&e).starts_with("no database at app.db"));
/// ```
#[must_use]
pub fn report_error(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        out.push_str("\n  caused by: ");
        out.push_str(&c.to_string().replace('\n', "\n    "));
        cause = c.source();
    }
    out
}
