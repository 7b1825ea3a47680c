use migrate_runtime::Table;

#[derive(Table)]
struct User {
    #[column(default = "0")]
    karma: i64,
}

fn main() {}
