use migrate_runtime::Table;

#[derive(Table)]
struct User {
    #[column(name = "a", name = "b")]
    id: i64,
}

fn main() {}
