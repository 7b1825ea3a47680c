//! The ledger table's SQL, one copy for everything that writes it (the runtime applying
//! migrations, `godwit baseline` adopting a database).
//!
//! ```
//! use migrate_engine::ledger;
//!
//! let conn = rusqlite::Connection::open_in_memory()?;
//! conn.execute_batch(ledger::CREATE)?;
//! conn.execute(ledger::INSERT_ROW, rusqlite::params![0, "0000_init", "h", "c", 0, 0])?;
//! let n: i64 = conn.query_row(&format!("SELECT count(*) FROM \"{}\"", ledger::TABLE), [], |r| r.get(0))?;
//! assert_eq!(n, 1);
//! # Ok::<(), rusqlite::Error>(())
//! ```

/// The ledger table's name.
pub const TABLE: &str = "__schema_migrations";

/// Creates the ledger when it does not exist: `idx`, `tag` (unique), `hash` (of the normalised
/// text), `chain` (see [`crate::chain_hash`]), `applied_at` (Unix milliseconds), `duration_ms`.
pub const CREATE: &str = "CREATE TABLE IF NOT EXISTS \"__schema_migrations\" (\"idx\" INTEGER PRIMARY KEY, \
     \"tag\" TEXT NOT NULL UNIQUE, \"hash\" TEXT NOT NULL, \"chain\" TEXT NOT NULL, \
     \"applied_at\" INTEGER NOT NULL, \"duration_ms\" INTEGER NOT NULL)";

/// Records one applied migration; parameters `?1..?6` are idx, tag, hash, chain, applied_at,
/// duration_ms.
pub const INSERT_ROW: &str = "INSERT INTO \"__schema_migrations\" (\"idx\", \"tag\", \"hash\", \"chain\", \
     \"applied_at\", \"duration_ms\") VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
