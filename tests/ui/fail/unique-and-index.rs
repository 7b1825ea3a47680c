use migrate_runtime::Table;

#[derive(Table)]
struct User {
    #[column(unique, index)]
    email: String,
}

fn main() {}
