use migrate_runtime::Table;

#[derive(Table)]
#[primary_key(user_id, group)]
struct Membership {
    user_id: i64,
    group_id: i64,
}

fn main() {}
