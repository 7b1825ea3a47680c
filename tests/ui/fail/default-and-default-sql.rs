use migrate_runtime::Table;

#[derive(Table)]
struct User {
    #[column(default = "now", default_sql = "CURRENT_TIMESTAMP")]
    created: String,
}

fn main() {}
