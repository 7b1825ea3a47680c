use migrate_runtime::Table;

#[derive(Table)]
#[index(columns("email"))]
struct User {
    email: String,
}

fn main() {}
