use migrate_runtime::Table;

#[derive(Table)]
struct User {
    #[column(primary_key)]
    id: i64,
    #[column(autoincrement)]
    seq: i64,
}

fn main() {}
