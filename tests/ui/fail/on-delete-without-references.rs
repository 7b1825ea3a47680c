use migrate_runtime::Table;

#[derive(Table)]
struct User {
    #[column(on_delete = "cascade")]
    team_id: i64,
}

fn main() {}
