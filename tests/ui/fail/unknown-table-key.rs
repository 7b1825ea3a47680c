use migrate_runtime::Table;

#[derive(Table)]
#[table(nmae = "users")]
struct User {
    id: i64,
}

fn main() {}
