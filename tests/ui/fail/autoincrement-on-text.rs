use migrate_runtime::Table;

#[derive(Table)]
struct User {
    #[column(primary_key, autoincrement)]
    id: String,
}

fn main() {}
