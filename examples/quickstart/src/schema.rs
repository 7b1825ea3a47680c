//! The quickstart's schema: the structs are the source of truth for the tables.

use migrate_runtime::Table;

/// A team that users belong to.
#[derive(Table)]
#[table(name = "teams")]
pub struct Team {
    /// Row id.
    #[column(primary_key, autoincrement)]
    pub id: i64,
    /// Display name, unique across teams.
    #[column(unique)]
    pub name: String,
}

/// A user.
#[derive(Table)]
#[table(name = "users")]
#[index(columns(team_id, name))]
pub struct User {
    /// Row id.
    #[column(primary_key, autoincrement)]
    pub id: i64,
    /// Login e-mail, unique.
    #[column(unique)]
    pub email: String,
    /// Display name.
    pub name: String,
    /// Optional profile text.
    pub bio: Option<String>,
    /// Reputation; existing rows start at 0.
    #[column(default = 0)]
    pub karma: i64,
    /// The user's team; deleting the team deletes its users.
    #[column(references = Team, on_delete = "cascade")]
    pub team_id: Option<i64>,
}

migrate_runtime::include_db!();
