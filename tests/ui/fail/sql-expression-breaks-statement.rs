use migrate_runtime::Table;

#[derive(Table)]
#[index(columns(name), where = "name IS NOT NULL); DROP TABLE users; --")]
struct User {
    #[column(primary_key)]
    id: i64,
    #[column(default_sql = "0; DROP TABLE users")]
    karma: i64,
    #[column(backfill = "'unterminated")]
    name: String,
    #[column(check = "(length(bio) > 0")]
    bio: String,
}

fn main() {}
