use migrate_runtime::rusqlite::Connection;
use migrate_runtime::{Crud, Table};

#[derive(Table)]
pub struct LogLine {
    pub at: i64,
    pub msg: String,
}

fn main() {
    let conn = Connection::open_in_memory().unwrap();
    let _ = conn.get::<LogLine>(1);
}
