use migrate_runtime::Table;

#[derive(Table)]
struct User {
    #[column(sql_type = "VARCHAR(255)")]
    name: String,
}

fn main() {}
