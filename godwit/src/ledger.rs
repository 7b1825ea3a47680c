//! Reading a database's ledger, read-only.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension as _};

use crate::error::Error;

/// One row of a database's ledger table `__schema_migrations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerRow {
    /// The migration's index.
    pub idx: u32,
    /// Its tag (file stem).
    pub tag: String,
    /// The hash of the text that was applied.
    pub hash: String,
    /// When it was applied, Unix milliseconds.
    pub applied_at_ms: i64,
    /// How long applying it took, milliseconds.
    pub duration_ms: i64,
}

/// Opens `path` read-only: never creates the file, never writes (`SQLITE_OPEN_READ_ONLY`).
pub(crate) fn open_read_only(path: &Path) -> Result<Connection, Error> {
    if !path.is_file() {
        return Err(Error::NoDatabase { path: path.to_path_buf() });
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags).map_err(Error::db(path))?;
    // Reading the schema proves the file is a database (opening alone does not).
    conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get::<_, i64>(0))
        .map_err(Error::db(path))?;
    Ok(conn)
}

/// Every ledger row by index, or `None` when the database has no ledger table.
pub(crate) fn read(conn: &Connection, path: &Path) -> Result<Option<Vec<LedgerRow>>, Error> {
    let exists = conn
        .query_row(
            "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = '__schema_migrations'",
            [],
            |_| Ok(()),
        )
        .optional()
        .map_err(Error::db(path))?
        .is_some();
    if !exists {
        return Ok(None);
    }
    let mut stmt = conn
        .prepare(
            "SELECT \"idx\", \"tag\", \"hash\", \"applied_at\", \"duration_ms\" \
             FROM \"__schema_migrations\" ORDER BY \"idx\"",
        )
        .map_err(Error::db(path))?;
    let rows = stmt
        .query_map([], |r| {
            Ok(LedgerRow {
                idx: r.get(0)?,
                tag: r.get(1)?,
                hash: r.get(2)?,
                applied_at_ms: r.get(3)?,
                duration_ms: r.get(4)?,
            })
        })
        .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
        .map_err(Error::db(path))?;
    Ok(Some(rows))
}

/// How many user tables the database has (not `sqlite_%`, not the ledger).
pub(crate) fn user_tables(conn: &Connection, path: &Path) -> Result<usize, Error> {
    conn.query_row(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table' \
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> '__schema_migrations'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| usize::try_from(n).unwrap_or(0))
    .map_err(Error::db(path))
}
