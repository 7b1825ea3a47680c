use migrate_runtime::Table;

#[derive(Table)]
struct Empty;

fn main() {}
