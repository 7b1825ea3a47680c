use migrate_runtime::Table;

#[derive(Table)]
#[index(columns(email, nmae), unique)]
struct User {
    email: String,
    name: String,
}

fn main() {}
