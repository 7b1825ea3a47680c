//! Shared helpers for Godwit's workspace tests.

pub mod e2e;
