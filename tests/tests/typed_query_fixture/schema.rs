// Shared by tests/tests/typed_queries.rs and typed_writes.rs: compiled as a module (the derive
// and the typed API) and read with include_str! (the parser and planner create the tables), so
// the queries run against exactly the DDL the migrations of these structs would create.

use migrate_runtime::Table;
use migrate_runtime::rusqlite::types::{FromSql, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

/// A user-defined INTEGER type whose conversion to SQL fails above 100.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Level(pub u8);

impl FromSql for Level {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        u8::column_result(value).map(Level)
    }
}

impl ToSql for Level {
    fn to_sql(&self) -> migrate_runtime::rusqlite::Result<ToSqlOutput<'_>> {
        if self.0 > 100 {
            return Err(migrate_runtime::rusqlite::Error::ToSqlConversionFailure(
                format!("level {} is above 100", self.0).into(),
            ));
        }
        Ok(ToSqlOutput::from(i64::from(self.0)))
    }
}

/// Comparisons, IN, LIKE, NULLs and ordering: a nullable INTEGER, a REAL, a UNIQUE TEXT and a
/// nullable BLOB.
#[derive(Debug, Clone, PartialEq, Table)]
#[table(name = "person")]
pub struct Person {
    #[column(primary_key)]
    pub id: i64,
    pub name: String,
    pub age: Option<i64>,
    #[column(unique)]
    pub email: String,
    pub score: f64,
    pub avatar: Option<Vec<u8>>,
    /// Converts to SQL only up to 100: a larger filter value fails to bind.
    #[column(sql_type = "INTEGER")]
    pub level: Level,
}

/// A composite primary key, for upserts on the key.
#[derive(Debug, Clone, PartialEq, Table)]
#[table(name = "tally")]
#[primary_key(owner, day)]
pub struct Tally {
    pub owner: i64,
    pub day: String,
    pub hits: i64,
    pub label: Option<String>,
}

/// Columns with defaults, behind an AUTOINCREMENT key.
#[derive(Debug, Clone, PartialEq, Table)]
#[table(name = "task")]
pub struct Task {
    #[column(primary_key, autoincrement)]
    pub id: i64,
    pub title: String,
    #[column(default = "todo")]
    pub status: String,
    #[column(default_sql = "CURRENT_TIMESTAMP")]
    pub created: String,
    #[column(default = 3)]
    pub priority: Option<i64>,
    pub note: Option<String>,
}

/// Quotes, keywords and spaces in every name; a UNIQUE column for upserts on it.
#[derive(Debug, Clone, PartialEq, Table)]
#[table(name = "we\"ird \"table")]
pub struct Hostile {
    #[column(primary_key, name = "ke\"y")]
    pub key: i64,
    #[column(name = "or\"der", unique)]
    pub order: String,
    #[column(name = "select")]
    pub select: Option<i64>,
    #[column(name = "group by")]
    pub group: String,
}
