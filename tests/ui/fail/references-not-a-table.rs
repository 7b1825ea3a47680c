use migrate_runtime::Table;

struct NotATable {
    id: i64,
}

#[derive(Table)]
struct User {
    #[column(references = NotATable)]
    other_id: i64,
}

fn main() {}
