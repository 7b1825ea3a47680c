use migrate_runtime::Table;

#[derive(Table)]
struct Counter {
    #[column(primary_key, sql_type = "INTEGER")]
    id: u64,
}

fn main() {}
