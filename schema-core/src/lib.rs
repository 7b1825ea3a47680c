//! Godwit's schema core: the schema model, the shared `syn` parser, the planner (diff, lints,
//! SQLite renderer) and the build-script generator.
//!
//! Most users only touch `build::generate` from their `build.rs`; see the workspace README.

pub mod error;
pub mod model;

#[cfg(feature = "parser")]
pub mod parse;

#[cfg(feature = "planner")]
pub mod plan;

#[cfg(feature = "build")]
pub mod introspect;

#[cfg(feature = "build")]
pub mod build;
