use migrate_runtime::Table;

#[derive(Table)]
#[column(name = "users")]
struct User {
    id: i64,
}

fn main() {}
