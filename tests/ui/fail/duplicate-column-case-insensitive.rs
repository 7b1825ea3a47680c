use migrate_runtime::Table;

#[derive(Table)]
struct User {
    email: String,
    #[column(name = "Email")]
    email_address: String,
}

fn main() {}
