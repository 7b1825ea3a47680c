use migrate_runtime::Table;

#[derive(Table)]
struct User {
    #[column(sql_type = "STRING")]
    name: String,
}

fn main() {}
