use migrate_runtime::Table;

#[derive(Table)]
struct User {
    name: String,
    #[column(renamed_from = "name")]
    display_name: String,
}

fn main() {}
