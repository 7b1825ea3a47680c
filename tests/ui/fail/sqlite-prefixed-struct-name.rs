use migrate_runtime::Table;

#[derive(Table)]
struct SqliteStats {
    id: i64,
}

fn main() {}
