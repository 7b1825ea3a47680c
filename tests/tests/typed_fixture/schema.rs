// Shared by tests/tests/typed_*.rs: compiled as a module (the derive and the typed API) and read
// with include_str! (the parser and planner create the tables), so the typed API runs against
// exactly the DDL the migrations of these structs would create.

use migrate_runtime::Table;
use migrate_runtime::rusqlite::types::{FromSql, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

/// A user-defined column type (TEXT through `FromSql`/`ToSql`).
#[derive(Debug, Clone, PartialEq)]
pub struct Email(pub String);

impl FromSql for Email {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        String::column_result(value).map(Email)
    }
}

impl ToSql for Email {
    fn to_sql(&self) -> migrate_runtime::rusqlite::Result<ToSqlOutput<'_>> {
        self.0.to_sql()
    }
}

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

/// Every supported type, NOT NULL and nullable, behind an AUTOINCREMENT rowid key. Several
/// columns are renamed (`name = ..`), one of them to a name with a space.
#[derive(Debug, Clone, PartialEq, Table)]
#[table(name = "every_type")]
pub struct EveryType {
    #[column(primary_key, autoincrement)]
    pub id: i64,
    pub a: i8,
    pub b: i16,
    pub c: i32,
    pub d: i64,
    pub e: u8,
    pub f: u16,
    pub g: u32,
    #[column(name = "flag")]
    pub h: bool,
    pub i: f32,
    pub j: f64,
    #[column(name = "text value")]
    pub k: String,
    pub l: Vec<u8>,
    #[column(sql_type = "INTEGER")]
    pub m: Level,
    #[column(sql_type = "TEXT", name = "e_mail")]
    pub email: Email,
    pub oa: Option<i8>,
    pub ob: Option<i16>,
    pub oc: Option<i32>,
    pub od: Option<i64>,
    pub oe: Option<u8>,
    pub of: Option<u16>,
    pub og: Option<u32>,
    pub oh: Option<bool>,
    pub oi: Option<f32>,
    pub oj: Option<f64>,
    pub ok: Option<String>,
    pub ol: Option<Vec<u8>>,
    #[column(sql_type = "INTEGER")]
    pub om: Option<Level>,
    #[column(sql_type = "TEXT")]
    pub oemail: Option<Email>,
}

/// A team; members reference it.
#[derive(Debug, Clone, PartialEq, Table)]
#[table(name = "teams")]
pub struct Team {
    #[column(primary_key)]
    pub id: i32,
    #[column(unique)]
    pub name: String,
}

/// A member: a NOT NULL, UNIQUE and CHECKed column, a foreign key that restricts deletes.
#[derive(Debug, Clone, PartialEq, Table)]
#[table(name = "members")]
pub struct Member {
    #[column(primary_key, autoincrement)]
    pub id: i64,
    #[column(unique)]
    pub email: String,
    #[column(check = "karma >= 0")]
    pub karma: i64,
    #[column(references = Team, on_delete = "restrict")]
    pub team_id: Option<i32>,
}

/// A composite key in a rowid table.
#[derive(Debug, Clone, PartialEq, Table)]
#[table(name = "pages")]
#[primary_key(owner, slug)]
pub struct Page {
    pub owner: i64,
    pub slug: String,
    pub body: String,
    pub views: Option<i64>,
}

/// A text key in a WITHOUT ROWID table, with a renamed key column.
#[derive(Debug, Clone, PartialEq, Table)]
#[table(name = "settings", without_rowid)]
pub struct Setting {
    #[column(primary_key, name = "setting key")]
    pub key: String,
    pub value: Option<String>,
}

/// A BLOB key.
#[derive(Debug, Clone, PartialEq, Table)]
pub struct Blob {
    #[column(primary_key)]
    pub hash: Vec<u8>,
    pub size: i64,
}

/// A user type as the key.
#[derive(Debug, Clone, PartialEq, Table)]
pub struct Account {
    #[column(primary_key, sql_type = "TEXT")]
    pub email: Email,
    pub active: bool,
}

/// A REAL key and a composite key of three types.
#[derive(Debug, Clone, PartialEq, Table)]
#[primary_key(day, slot, open)]
pub struct Slot {
    pub day: u16,
    pub slot: String,
    pub open: bool,
    pub weight: f64,
}

/// Only key columns: update has nothing to write.
#[derive(Debug, Clone, PartialEq, Table)]
#[primary_key(a, b)]
pub struct Link {
    pub a: i64,
    pub b: i64,
}

/// No primary key: insert, list and find only.
#[derive(Debug, Clone, PartialEq, Table)]
pub struct LogLine {
    pub at: i64,
    pub msg: String,
}

/// Hostile identifiers: keywords, a quote, a space, a dot.
#[derive(Debug, Clone, PartialEq, Table)]
#[table(name = "order")]
pub struct Order {
    #[column(primary_key, name = "select")]
    pub id: i64,
    #[column(name = "we\"ird")]
    pub weird: String,
    #[column(name = "sp ace")]
    pub space: Option<String>,
    #[column(name = "from")]
    pub from: i64,
    #[column(name = "a.b")]
    pub dotted: Option<i64>,
}

/// A hostile table name with a hostile composite key.
#[derive(Debug, Clone, PartialEq, Table)]
#[table(name = "we\"ird table")]
#[primary_key(group, r#where)]
pub struct Weird {
    #[column(name = "group")]
    pub group: String,
    #[column(name = "where\"")]
    pub r#where: i64,
    #[column(name = "values")]
    pub values: Option<String>,
}

/// A table named `select` with a column named `select`, key `rowid`-like but not an alias.
#[derive(Debug, Clone, PartialEq, Table)]
#[table(name = "select")]
pub struct Select {
    #[column(primary_key, name = "select")]
    pub select: String,
    #[column(name = "rowid")]
    pub rowid: i64,
}
