use migrate_runtime::Table;

#[derive(Table)]
struct Player {
    #[column(references = "Coach")]
    coach_id: i64,
}

fn main() {}
