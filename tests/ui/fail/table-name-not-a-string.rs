use migrate_runtime::Table;

#[derive(Table)]
#[table(name = users)]
struct User {
    id: i64,
}

fn main() {}
