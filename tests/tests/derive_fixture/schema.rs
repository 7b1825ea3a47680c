// Shared by tests/tests/derive_*.rs: compiled as a module (the derive) and read with
// include_str! (the parser), so both see exactly this text.

use migrate_runtime::Table;
use migrate_runtime::rusqlite::types::{FromSql, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

/// A user-defined column type: needs `sql_type` and `FromSql` and `ToSql` impls.
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

#[derive(Debug, Clone, PartialEq, Table)]
#[table(name = "teams", strict)]
pub struct Team {
    #[column(primary_key, autoincrement)]
    pub id: i64,
    #[column(unique)]
    pub name: String,
    #[column(sql_type = "ANY")]
    pub meta: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Table)]
#[index(columns(email, nick), unique)]
#[index(columns(karma), where = "karma > 0")]
#[check(name = "karma_range", expr = "karma BETWEEN -100 AND 100")]
pub struct UserProfile {
    #[column(primary_key)]
    pub id: i64,
    #[column(sql_type = "TEXT", renamed_from = "mail")]
    pub email: Email,
    #[column(name = "nickname", default = "it's me", backfill = "'anon'")]
    pub nick: String,
    pub bio: Option<String>,
    #[column(default = -3, check = "karma >= -100")]
    pub karma: i32,
    #[column(references = Team, on_delete = "set null", on_update = "cascade")]
    pub team_id: Option<i64>,
    #[column(references = "Team::name", index)]
    pub team_name: Option<String>,
    #[column(default_sql = "CURRENT_TIMESTAMP")]
    pub created: String,
    #[column(references = Self)]
    pub invited_by: Option<i64>,
    pub r#type: u8,
}

/// Every built-in type, not null and nullable.
#[derive(Debug, Clone, PartialEq, Table)]
#[table(without_rowid)]
#[primary_key(a, k)]
pub struct AllTypes {
    pub a: i8,
    pub b: i16,
    pub c: i32,
    pub d: i64,
    pub e: u8,
    pub f: u16,
    pub g: u32,
    #[column(default = true)]
    pub h: bool,
    pub i: f32,
    pub j: f64,
    pub k: String,
    #[column(default = b"\x00")]
    pub l: Vec<u8>,
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
}

#[derive(Debug, Clone, PartialEq, Table)]
#[foreign_key(columns(all_a, all_k), references = AllTypes, to(a, k), on_delete = "cascade")]
pub struct Child {
    #[column(primary_key)]
    pub id: i64,
    pub all_a: i8,
    pub all_k: String,
}
