use migrate_runtime::Table;

#[derive(Table)]
struct User {
    #[column(default = 256)]
    level: u8,
}

fn main() {}
