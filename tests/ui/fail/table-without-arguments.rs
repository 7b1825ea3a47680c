use migrate_runtime::Table;

#[derive(Table)]
#[table]
struct User {
    id: i64,
}

fn main() {}
