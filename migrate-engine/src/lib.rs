//! Godwit's migration engine: the one implementation of the migration contract that the
//! build-time replay and the runtime both call.
//!
//! - The file format: [`normalise`], [`hash_sql`], [`chain_hash`], [`chunks`] on
//!   [`BREAKPOINT`] lines. What executes is the normalised text, the text the hash covers.
//! - [`apply_checked`]: the statement loop under a policy decided by SQLite's authorizer (not by
//!   reading SQL text), the write targets from the same authorizer, and the checks after the
//!   migrations (foreign keys, views, SQLite's schema check), inside the caller's transaction.
//!
//! ```
//! use migrate_engine::{Step, apply_checked, hash_sql};
//! use rusqlite::Connection;
//!
//! let sql = "CREATE TABLE \"p\" (\"id\" INTEGER PRIMARY KEY);\r\n\
//!            --> statement-breakpoint\r\n\
//!            INSERT INTO \"p\" VALUES (1);\r\n";
//! let mut conn = Connection::open_in_memory()?;
//! conn.execute_batch("PRAGMA foreign_keys = OFF; BEGIN IMMEDIATE")?;
//! apply_checked(&mut conn, &[Step { tag: "0000_p", sql }], &mut ())?;
//! conn.execute_batch("COMMIT")?;
//! assert_eq!(hash_sql(sql), hash_sql(&sql.replace("\r\n", "\n")));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod apply;
mod checks;
mod count;
mod error;
pub mod ledger;
mod policy;
mod progress;
mod text;

pub use apply::{
    Applied, Outcome, Recorder, Step, apply_checked, apply_checked_with_progress, tags_of,
};
pub use count::count_statements;
pub use error::{CheckPhase, Error, FkViolation, Phase};
pub use policy::ALLOWED_PRAGMAS;
pub use progress::{Control, Progress, ProgressFn, ProgressHook, Rows};
pub use text::{
    BREAKPOINT, chain_hash, chunks, first_line, hash_sql, normalise, quote_ident, sha256_hex, short,
};
