use migrate_runtime::Table;

#[derive(Table)]
#[table(name = "")]
struct User {
    id: i64,
}

fn main() {}
