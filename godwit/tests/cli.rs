//! The binary's top level: its help lists every command and the exit codes; usage errors exit 2.

mod common;

use common::App;

#[test]
fn top_level_help_lists_every_command_and_the_exit_codes() {
    let app = App::v1();
    let run = app.godwit(&["--help"]);
    assert_eq!(run.code, 0, "{}", run.shown());
    for command in ["status", "new", "check", "pull", "baseline", "diff"] {
        assert!(run.stdout.contains(&format!("\n  {command} ")), "{command}: {}", run.stdout);
    }
    snap!("cli_help", run);
}

#[test]
fn every_command_has_help() {
    let app = App::v1();
    for command in ["status", "new", "check", "pull", "baseline", "diff"] {
        let run = app.godwit(&[command, "--help"]);
        assert_eq!(run.code, 0, "{}", run.shown());
        assert!(
            run.stdout.contains("Exit codes: 0 nothing to report"),
            "{command}: {}",
            run.stdout
        );
    }
}

#[test]
fn an_unknown_command_or_none_is_a_usage_error() {
    let app = App::v1();
    let run = app.godwit(&["migrate"]);
    assert_eq!(run.code, 2, "{}", run.shown());
    let run = app.godwit(&[]);
    assert_eq!(run.code, 2, "{}", run.shown());
    snap!("cli_no_command", run);
}
