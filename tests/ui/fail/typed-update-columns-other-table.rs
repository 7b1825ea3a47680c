use migrate_runtime::rusqlite::Connection;
use migrate_runtime::{Crud, Table};

#[derive(Table)]
pub struct User {
    #[column(primary_key)]
    pub id: i64,
    pub name: String,
}

#[derive(Table)]
pub struct Team {
    #[column(primary_key)]
    pub id: i64,
    pub name: String,
}

fn main() {
    let conn = Connection::open_in_memory().unwrap();
    let user = User { id: 1, name: "ada".into() };
    let _ = conn.update_columns(&user, (User::COL.name, Team::COL.name));
}
