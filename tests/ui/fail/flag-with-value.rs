use migrate_runtime::Table;

#[derive(Table)]
#[table(strict = true)]
struct User {
    id: i64,
}

fn main() {}
