use migrate_runtime::Table;

#[derive(Table)]
#[foreign_key(columns(team_id))]
struct Player {
    team_id: i64,
}

fn main() {}
