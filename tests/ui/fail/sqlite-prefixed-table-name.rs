use migrate_runtime::Table;

#[derive(Table)]
#[table(name = "SQLite_users")]
struct User {
    id: i64,
}

fn main() {}
