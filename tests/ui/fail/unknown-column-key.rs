use migrate_runtime::Table;

#[derive(Table)]
struct User {
    #[column(nullable)]
    bio: String,
}

fn main() {}
