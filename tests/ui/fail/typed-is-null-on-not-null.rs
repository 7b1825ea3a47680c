use migrate_runtime::Table;

#[derive(Table)]
pub struct User {
    #[column(primary_key)]
    pub id: i64,
    pub name: String,
}

fn main() {
    let _ = User::COL.name.is_null();
}
