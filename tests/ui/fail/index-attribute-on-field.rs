use migrate_runtime::Table;

#[derive(Table)]
struct User {
    #[index]
    email: String,
}

fn main() {}
