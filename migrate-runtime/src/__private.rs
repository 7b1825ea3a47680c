//! Items used by generated code only. Not a public API.

pub use rusqlite;

pub use crate::typed::TableSql;

/// `a == b` in a const context (used by the build script's compile-time fingerprint guard).
#[must_use]
pub const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}
