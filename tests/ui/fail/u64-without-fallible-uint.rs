use migrate_runtime::Table;

#[derive(Table)]
struct Counter {
    #[column(primary_key)]
    id: i64,
    #[column(sql_type = "INTEGER")]
    hits: u64,
    #[column(sql_type = "INTEGER")]
    size: Option<usize>,
}

fn main() {}
