use migrate_runtime::Table;

#[derive(Table)]
#[table(nmae = "users")]
struct User {
    #[column(primary_key)]
    id: Option<i64>,
    visits: u64,
    #[column(default = "zero")]
    karma: i64,
}

fn main() {}
