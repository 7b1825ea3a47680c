use migrate_runtime::Table;

#[derive(Table)]
struct Membership {
    #[column(primary_key)]
    user_id: i64,
    #[column(primary_key)]
    group_id: i64,
}

fn main() {}
