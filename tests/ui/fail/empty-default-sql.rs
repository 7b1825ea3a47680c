use migrate_runtime::Table;

#[derive(Table)]
struct User {
    #[column(default_sql = " ")]
    created: String,
}

fn main() {}
