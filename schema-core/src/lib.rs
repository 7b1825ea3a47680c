//! Godwit's schema core: the schema model, the shared `syn` parser, the planner (diff, lints,
//! SQLite renderer) and the build-script generator.
//!
//! Most users only touch [`build::generate`] from their `build.rs`; see the workspace README.

pub mod model;
