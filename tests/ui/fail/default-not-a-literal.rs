use migrate_runtime::Table;

#[derive(Table)]
struct User {
    #[column(default = now())]
    created: String,
}

fn main() {}
