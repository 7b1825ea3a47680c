use migrate_runtime::Table;

#[derive(Table)]
#[index(unique)]
struct User {
    email: String,
}

fn main() {}
