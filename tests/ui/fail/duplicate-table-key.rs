use migrate_runtime::Table;

#[derive(Table)]
#[table(name = "users")]
#[table(name = "people")]
struct User {
    id: i64,
}

fn main() {}
