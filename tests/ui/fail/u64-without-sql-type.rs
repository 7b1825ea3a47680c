use migrate_runtime::Table;

#[derive(Table)]
struct Counter {
    hits: u64,
}

fn main() {}
