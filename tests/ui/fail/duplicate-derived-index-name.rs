use migrate_runtime::Table;

#[derive(Table)]
#[index(columns(email))]
#[index(columns(email), where = "email IS NOT NULL")]
struct User {
    email: String,
}

fn main() {}
