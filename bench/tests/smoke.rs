//! The harness works end to end at tiny sizes (the real figures come from
//! `cargo run --release -p bench`; no benchmark runs in the default test run).

use std::process::Command;

use bench::jobs::{Job, Side};
use bench::schemas;

#[test]
fn smoke_run_prints_every_row_with_a_ratio() {
    let output = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["--smoke", "--markdown"])
        .output()
        .expect("run the harness");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "harness failed: {stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("- sqlite: 3."), "{stdout}");
    assert!(stdout.contains("- cores (nproc): "), "{stdout}");
    let rows: Vec<&str> =
        stdout.lines().filter(|l| l.starts_with("| ") && !l.starts_with("| benchmark")).collect();
    let labels = ["1. ", "2. ", "3a. ", "3b. ", "3c. ", "4a. ", "4b. ", "8. ", "9a. ", "9b. "];
    assert_eq!(rows.len(), labels.len(), "{stdout}");
    for (row, label) in rows.iter().zip(labels) {
        assert!(row.starts_with(&format!("| {label}")), "{row}");
        let cells: Vec<&str> = row.split(" | ").collect();
        assert_eq!(cells.len(), 6, "{row}");
        assert!(cells[3].ends_with('x'), "ratio missing: {row}");
        assert!(cells[5].contains("MiB / ") && cells[5].contains(" MiB"), "{row}");
    }
}

#[test]
fn migrations_survive_the_file_the_children_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.sql");
    let written = schemas::rebuild_migrations(false);
    schemas::write_migrations(&path, &written).unwrap();
    assert_eq!(schemas::read_migrations(&path).unwrap(), written);
}

#[test]
fn planned_rebuild_is_a_rebuild_of_the_parent_only() {
    let m = schemas::rebuild_migrations(true);
    assert_eq!(m.len(), 2);
    let sql = m[1].sql;
    assert!(sql.contains("INSERT INTO"), "{sql}");
    assert!(sql.contains("DROP TABLE \"parent\""), "{sql}");
    assert!(sql.contains("RENAME TO \"parent\""), "{sql}");
    for untouched in ["\"child\"", "\"event\"", "\"account\""] {
        assert!(!sql.contains(untouched), "the rebuild touches {untouched}: {sql}");
    }
    assert_eq!(sql.matches("CREATE INDEX").count(), 2, "{sql}");
}

#[test]
fn child_jobs_round_trip_and_run_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let cases = bench::prepare(dir.path(), &bench::Sizes::smoke(), None, |_| {}).unwrap();
    for case in &cases {
        assert_eq!(Job::from_args(&case.job.to_args()).unwrap(), case.job);
        for side in [Side::Ours, Side::Floor] {
            let time = case.job.run(side, 1);
            assert!(time.is_ok(), "{} {}: {time:?}", case.name, side.as_str());
        }
    }
}

#[test]
fn only_builds_the_fixtures_of_the_chosen_benchmarks() {
    let dir = tempfile::tempdir().unwrap();
    let cases = bench::prepare(dir.path(), &bench::Sizes::smoke(), Some("3c."), |_| {}).unwrap();
    let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(names[0].starts_with("3c. "));
    assert!(dir.path().join("rebuild-b.db").exists());
    assert!(!dir.path().join("rebuild-a.db").exists());
    assert!(!dir.path().join("history").exists());
}
