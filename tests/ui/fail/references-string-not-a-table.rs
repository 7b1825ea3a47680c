use migrate_runtime::Table;

struct Coach {
    id: i64,
}

#[derive(Table)]
struct Player {
    #[column(references = "Coach::id")]
    coach_id: i64,
}

fn main() {}
