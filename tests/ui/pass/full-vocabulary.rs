// Every attribute of the vocabulary on one schema, read back from a real database.
#![deny(warnings)]

use migrate_runtime::Table;
use migrate_runtime::rusqlite::Connection;

#[derive(Debug, PartialEq, Table)]
#[table(name = "teams", renamed_from = "groups", strict)]
pub struct Team {
    #[column(primary_key, autoincrement)]
    pub id: i64,
    #[column(unique, check = "length(name) > 0")]
    pub name: String,
    #[column(sql_type = "ANY")]
    pub extra: Option<Vec<u8>>,
}

#[derive(Debug, PartialEq, Table)]
#[table(without_rowid)]
#[primary_key(org, code)]
pub struct Project {
    pub org: i64,
    pub code: String,
}

#[derive(Debug, PartialEq, Table)]
#[index(columns(email, name), unique)]
#[index(columns(karma), name = "users_by_karma", where = "karma > 0")]
#[check(name = "karma_range", expr = "karma BETWEEN -100 AND 100")]
#[foreign_key(columns(org, code), references = Project, to(org, code), on_delete = "cascade", on_update = "no action")]
pub struct User {
    #[column(primary_key)]
    pub id: i64,
    #[column(name = "e_mail")]
    pub email: String,
    #[column(renamed_from = "full_name", backfill = "''")]
    pub name: String,
    #[column(default = 0, index)]
    pub karma: i64,
    #[column(default_sql = "CURRENT_TIMESTAMP")]
    pub created: String,
    #[column(references = Team, on_delete = "set null", on_update = "restrict")]
    pub team_id: Option<i64>,
    #[column(references = "Team::name", on_delete = "set default", default = "none")]
    pub team_name: Option<String>,
    #[column(sql_type = "INTEGER")]
    pub big: i64,
    pub org: Option<i64>,
    pub code: Option<String>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let conn = Connection::open_in_memory()?;
    conn.execute_batch(
        "CREATE TABLE users_view_source (id INTEGER, e_mail TEXT, name TEXT, karma INTEGER,
            created TEXT, team_id INTEGER, team_name TEXT, big INTEGER, org INTEGER, code TEXT);
         INSERT INTO users_view_source VALUES (1, 'a@b', 'Ann', 5, 'now', NULL, 'reds', 9, NULL, NULL);",
    )?;
    let user = conn.query_row(
        &format!("SELECT {} FROM users_view_source", User::COLUMNS.join(", ")),
        [],
        User::from_row,
    )?;
    assert_eq!(user.email, "a@b");
    assert_eq!(user.team_id, None);
    assert_eq!(user.team_name.as_deref(), Some("reds"));
    assert!(User::FINGERPRINT.contains("\"users_by_karma\""));
    assert_eq!(Project::NAME, "project");
    assert_eq!(Team::COLUMNS, ["id", "name", "extra"]);
    Ok(())
}
