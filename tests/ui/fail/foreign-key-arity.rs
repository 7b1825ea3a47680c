use migrate_runtime::Table;

#[derive(Table)]
#[primary_key(org, code)]
struct Team {
    org: i64,
    code: String,
}

#[derive(Table)]
#[foreign_key(columns(org, code), references = Team, to(org))]
struct Player {
    org: i64,
    code: String,
}

fn main() {}
