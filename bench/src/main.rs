//! `cargo run --release -p bench [-- --markdown] [--rounds N] [--only TEXT] [--smoke]`
//!
//! Prepares the fixtures in a temporary directory, then for every benchmark runs ours and the
//! floor in alternating rounds, each in a child process (this binary, re-executed as
//! `bench __child <side> <iters> <job...>`), and prints one table: ours, the floor, the ratio,
//! the goal and each side's peak resident set size.

use std::process::{Command, ExitCode};
use std::time::Duration;

use bench::jobs::{Job, Side, peak_rss_kib};
use bench::report::{Measured, Row, machine_facts, markdown_table, plain_table};
use bench::{Case, Sizes};

const USAGE: &str = "usage: cargo run --release -p bench [-- --markdown] [--rounds N] [--only TEXT] [--smoke]\n       \
     cargo run --release -p bench -- --startup-parts";

struct Args {
    markdown: bool,
    smoke: bool,
    rounds: Option<u32>,
    only: Option<String>,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut out = Args { markdown: false, smoke: false, rounds: None, only: None };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--markdown" => out.markdown = true,
            "--smoke" => out.smoke = true,
            "--rounds" => {
                let n = it.next().and_then(|n| n.parse().ok()).filter(|&n: &u32| n > 0);
                out.rounds = Some(n.ok_or("--rounds takes a positive number")?);
            }
            "--only" => out.only = Some(it.next().ok_or("--only takes a text")?.clone()),
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(out)
}

/// The child: runs one side of one job and prints `result <nanos> <peak KiB>`.
fn child(args: &[String]) -> Result<(), String> {
    let [side, iters, job @ ..] = args else {
        return Err("child: bad arguments".to_owned());
    };
    let side = Side::parse(side).ok_or("child: bad side")?;
    let iters: u32 = iters.parse().map_err(|_| "child: bad iteration count")?;
    let job = Job::from_args(job)?;
    let time = job.run(side, iters)?;
    let peak = peak_rss_kib().map_or("-".to_owned(), |k| k.to_string());
    println!("result {} {peak}", time.as_nanos());
    Ok(())
}

/// Runs one side of a case in a child process.
fn measure(case: &Case, side: Side) -> Result<(Duration, Option<u64>), String> {
    let exe = std::env::current_exe().map_err(|e| format!("current exe: {e}"))?;
    let output = Command::new(exe)
        .arg("__child")
        .arg(side.as_str())
        .arg(case.iters.to_string())
        .args(case.job.to_args())
        .output()
        .map_err(|e| format!("spawn: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{} ({}) failed: {}",
            case.name,
            side.as_str(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line =
        stdout.lines().find(|l| l.starts_with("result ")).ok_or("child printed no result")?;
    let mut parts = line.split_whitespace().skip(1);
    let nanos: u64 = parts.next().and_then(|n| n.parse().ok()).ok_or("bad child result")?;
    let peak = parts.next().and_then(|k| k.parse().ok());
    Ok((Duration::from_nanos(nanos), peak))
}

/// Median over rounds, largest peak.
fn summarise(mut samples: Vec<(Duration, Option<u64>)>) -> Option<Measured> {
    if samples.is_empty() {
        return None;
    }
    let peak_kib = samples.iter().filter_map(|s| s.1).max();
    samples.sort_by_key(|s| s.0);
    Some(Measured { time: samples[samples.len() / 2].0, peak_kib })
}

fn run(args: &Args) -> Result<(), String> {
    let mut sizes = if args.smoke { Sizes::smoke() } else { Sizes::full() };
    if let Some(r) = args.rounds {
        sizes.rounds = r;
    }
    let dir = tempfile::Builder::new()
        .prefix("godwit-bench-")
        .tempdir()
        .map_err(|e| format!("temp dir: {e}"))?;
    let cases =
        bench::prepare(dir.path(), &sizes, args.only.as_deref(), |line| eprintln!("{line}"))?;
    if cases.is_empty() {
        return Err(format!(
            "no benchmark name contains {:?}",
            args.only.as_deref().unwrap_or_default()
        ));
    }

    let mut rows = Vec::new();
    for case in &cases {
        let mut ours = Vec::new();
        let mut floor = Vec::new();
        for round in 0..case.rounds {
            // Alternate which side goes first, so neither always runs on a warmer machine.
            let order = if round.is_multiple_of(2) {
                [Side::Ours, Side::Floor]
            } else {
                [Side::Floor, Side::Ours]
            };
            for side in order {
                let sample = measure(case, side)?;
                match side {
                    Side::Ours => ours.push(sample),
                    Side::Floor => floor.push(sample),
                }
            }
        }
        let mut ratios: Vec<f64> =
            ours.iter().zip(&floor).map(|(o, f)| o.0.as_secs_f64() / f.0.as_secs_f64()).collect();
        ratios.sort_by(f64::total_cmp);
        let row = Row {
            name: case.name.clone(),
            ours: summarise(ours),
            floor: summarise(floor).ok_or("no floor sample")?,
            goal: case.goal,
            paired_ratio: ratios.get(ratios.len() / 2).copied(),
        };
        eprintln!(
            "{}: ours {} floor {} ratio {}",
            row.name,
            row.ours.map_or("-".to_owned(), |m| bench::report::duration(m.time)),
            bench::report::duration(row.floor.time),
            row.ratio().map_or("-".to_owned(), |r| format!("{r:.2}x"))
        );
        rows.push(row);
    }

    let facts = machine_facts();
    let command = if args.markdown {
        "cargo run --release -p bench -- --markdown"
    } else {
        "cargo run --release -p bench"
    };
    if args.markdown {
        for (k, v) in &facts {
            println!("- {k}: {v}");
        }
        println!(
            "- rounds: {} for the rebuilds, {} for the others; ours and floor run back to back in \
             each round (alternating which goes first), each in its own process; ours and floor \
             are medians over rounds, the ratio is the median of the per-round ratios",
            sizes.rounds,
            sizes.rounds * 2 + 1
        );
        println!("- command: `{command}`\n");
        print!("{}", markdown_table(&rows));
    } else {
        let line: Vec<String> = facts.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        println!("{}", line.join("; "));
        println!(
            "rounds: {} for the rebuilds, {} for the others; command: {command}\n",
            sizes.rounds,
            sizes.rounds * 2 + 1
        );
        print!("{}", plain_table(&rows));
    }
    Ok(())
}

/// `--startup-parts`: the start-up figure split into its stages, at 10, 100 and 1,000 migrations,
/// and the fresh apply of 1,000 against the floor with and without the ledger's rows.
fn startup_parts() -> Result<(), String> {
    let dir = tempfile::Builder::new()
        .prefix("godwit-parts-")
        .tempdir()
        .map_err(|e| format!("temp dir: {e}"))?;
    for n in [10, 100, 1000] {
        let migrations = bench::schemas::table_migrations(n);
        let db = dir.path().join(format!("startup-{n}.db"));
        migrate_runtime::Database::open(&db, &migrations, &migrate_runtime::Options::new())
            .map_err(|e| format!("fixture: {e}"))?;
        let iters = if n >= 1000 { 200 } else { 1000 };
        println!("{n} migrations (median of {iters}):");
        for (label, time) in bench::parts::startup_parts(&db, &migrations, iters)? {
            println!("  {:>9}  {label}", bench::report::duration(time));
        }
    }
    let migrations = bench::schemas::table_migrations(1000);
    println!("fresh apply of 1000 migrations (median of 15):");
    for (label, time) in bench::parts::fresh_parts(&dir.path().join("fresh.db"), &migrations, 15)? {
        println!("  {:>9}  {label}", bench::report::duration(time));
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.first().map(String::as_str) == Some("__child") {
        child(&args[1..])
    } else if args.first().map(String::as_str) == Some("--startup-parts") {
        startup_parts()
    } else {
        parse_args(&args).and_then(|a| run(&a))
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
