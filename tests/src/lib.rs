//! Shared helpers for Godwit's workspace tests.
