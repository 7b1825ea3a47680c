//! `godwit new` run as a process; the file it writes is adopted by the real generator.

mod common;

use std::fs;

use common::App;
use schema_core::build::folder::Folder;

#[test]
fn writes_the_next_file_and_the_build_adopts_it() {
    let app = App::v2();
    let run = app.godwit(&["new", "Seed plans!"]);
    assert_eq!(run.code, 0, "{}", run.shown());
    snap!("new_written", run);
    let path = app.migrations().join("0002_seed_plans.sql");
    let header = fs::read_to_string(&path).unwrap();
    insta::with_settings!({ prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("new_header", header);
    });
    // The user writes data changes below the header; the next build adopts the file.
    fs::write(&path, format!("{header}CREATE VIEW \"v\" AS SELECT 1 AS \"x\";\n")).unwrap();
    app.generate();
    let folder = Folder::read(&app.migrations()).unwrap();
    assert_eq!(folder.journaled, 3);
    assert!(folder.migrations[2].entry.custom);
    assert_eq!(folder.migrations[2].entry.tag, "0002_seed_plans");
}

#[test]
fn the_index_follows_files_waiting_for_adoption() {
    let app = App::v2();
    fs::write(app.migrations().join("0002_first.sql"), "SELECT 1;\n").unwrap();
    let run = app.godwit(&["new", "second"]);
    assert_eq!(run.code, 0, "{}", run.shown());
    assert!(app.migrations().join("0003_second.sql").is_file());
    assert_eq!(fs::read_to_string(app.migrations().join("0002_first.sql")).unwrap(), "SELECT 1;\n");
}

#[test]
fn refuses_an_index_that_is_taken() {
    let app = App::v2();
    // Two files with the next index: the folder is not whole, nothing is written.
    fs::write(app.migrations().join("0002_a.sql"), "SELECT 1;\n").unwrap();
    fs::write(app.migrations().join("0002_b.sql"), "SELECT 2;\n").unwrap();
    let run = app.godwit(&["new", "c"]);
    assert_eq!(run.code, 2, "{}", run.shown());
    assert!(run.stderr.contains("two migrations have index 0002"), "{}", run.stderr);
    assert!(!app.migrations().join("0003_c.sql").exists());
    assert!(!app.migrations().join("0002_c.sql").exists());
    snap!("new_index_taken", run);
}

#[test]
fn usage_errors_exit_2_and_write_nothing() {
    let app = App::v1();
    let run = app.godwit(&["new", "!!!"]);
    assert_eq!(run.code, 2, "{}", run.shown());
    snap!("new_invalid_name", run);
    let run = app.godwit(&["new", "x", "--migrations", "db/migrations"]);
    assert_eq!(run.code, 2, "{}", run.shown());
    assert!(!app.dir().join("db").exists());
    let run = app.godwit(&["new"]);
    assert_eq!(run.code, 2, "{}", run.shown());
    assert_eq!(fs::read_dir(app.migrations()).unwrap().count(), 2, "0000's file and meta/");
}
