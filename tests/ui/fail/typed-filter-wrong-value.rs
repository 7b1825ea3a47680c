use migrate_runtime::Table;

#[derive(Table)]
pub struct User {
    #[column(primary_key)]
    pub id: i64,
    pub email: String,
}

fn main() {
    let _ = User::COL.id.eq("not a number");
}
