use migrate_runtime::Table;

#[derive(Table)]
struct User {
    #[column(default = 1)]
    active: bool,
}

fn main() {}
