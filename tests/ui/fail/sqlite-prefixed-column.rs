use migrate_runtime::Table;

#[derive(Table)]
struct User {
    #[column(name = "sqlite_id")]
    id: i64,
}

fn main() {}
