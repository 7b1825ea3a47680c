use migrate_runtime::Table;

#[derive(Table)]
struct User {
    #[column(backfill = "''")]
    bio: Option<String>,
}

fn main() {}
