use migrate_runtime::Table;

#[derive(Table)]
struct User {
    #[column(name = "")]
    id: i64,
}

fn main() {}
