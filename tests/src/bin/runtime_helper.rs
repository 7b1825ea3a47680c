//! Helper process for the runtime's process tests (races, SIGKILL during apply).
//!
//! `runtime_helper migrate <db> <migrations-dir>`: opens `<db>` with the runtime's defaults
//! (busy timeout raised to 60 s) and applies the `NNNN_*.sql` files of the directory. Prints
//! `applied <n>` (the number this process applied) and exits 0, or prints the error and exits 1.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

#[path = "../../tests/runtime_support/mod.rs"]
mod runtime_support;

/// Logs to stderr (with the process id) when `GODWIT_LOG` is set.
struct StderrLog;

impl log::Log for StderrLog {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        eprintln!("[{}] {} {}", std::process::id(), record.level(), record.args());
    }
    fn flush(&self) {}
}

fn main() -> ExitCode {
    if std::env::var_os("GODWIT_LOG").is_some() {
        log::set_logger(&StderrLog).expect("logger set once");
        log::set_max_level(log::LevelFilter::Trace);
    }
    let args: Vec<String> = std::env::args().collect();
    let [_, cmd, db, dir] = args.as_slice() else {
        eprintln!("usage: runtime_helper migrate <db> <migrations-dir>");
        return ExitCode::from(2);
    };
    if cmd != "migrate" {
        eprintln!("unknown command {cmd}");
        return ExitCode::from(2);
    }
    let migrations = runtime_support::load_dir(Path::new(dir));
    let options = migrate_runtime::Options::new().busy_timeout(Duration::from_secs(60));
    match migrate_runtime::Database::open(db, migrations, &options) {
        Ok(db) => {
            println!("applied {}", db.report().applied.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("error: {e} ({e:?})");
            ExitCode::FAILURE
        }
    }
}
