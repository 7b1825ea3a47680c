use migrate_runtime::Table;

#[derive(Table)]
struct Team {
    #[column(primary_key)]
    id: i64,
}

#[derive(Table)]
struct User {
    #[column(references = Team, on_delete = "delete")]
    team_id: i64,
}

fn main() {}
