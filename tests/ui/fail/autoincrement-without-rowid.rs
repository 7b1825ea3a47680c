use migrate_runtime::Table;

#[derive(Table)]
#[table(without_rowid)]
struct User {
    #[column(primary_key, autoincrement)]
    id: i64,
}

fn main() {}
