use migrate_runtime::Table;

#[derive(Table)]
struct User {
    #[column(renamed_from = "name")]
    name: String,
}

fn main() {}
