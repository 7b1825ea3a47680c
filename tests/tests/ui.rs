//! Compile-time behaviour of `#[derive(Table)]`: one file per mistake in `ui/fail/` (each with
//! the exact `.stderr` the user sees), and programs that must compile in `ui/pass/`.
//!
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test -p tests --test ui` and
//! read the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/fail/*.rs");
    t.pass("ui/pass/*.rs");
}
