use migrate_runtime::rusqlite::Connection;
use migrate_runtime::{Crud, Table};

#[derive(Table)]
pub struct User {
    #[column(primary_key)]
    pub id: i64,
}

#[derive(Table)]
pub struct Team {
    #[column(primary_key)]
    pub id: i64,
}

fn main() {
    let conn = Connection::open_in_memory().unwrap();
    let _teams: Vec<Team> = conn.find(User::COL.id.eq(1)).unwrap();
}
