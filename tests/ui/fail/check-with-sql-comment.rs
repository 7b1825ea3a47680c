use migrate_runtime::Table;

#[derive(Table)]
#[check(expr = "karma < 1000 /* cap */")]
struct User {
    #[column(primary_key)]
    id: i64,
    // The comment would swallow the `)` closing `CHECK (..)`.
    #[column(check = "karma > 0 -- positive")]
    karma: i64,
}

fn main() {}
