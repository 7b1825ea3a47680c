use migrate_runtime::Table;

#[derive(Table)]
#[primary_key(id)]
struct User {
    #[column(primary_key)]
    id: i64,
}

fn main() {}
