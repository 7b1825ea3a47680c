use migrate_runtime::Table;

#[derive(Table)]
pub struct User {
    #[column(primary_key)]
    pub id: i64,
    pub age: i64,
}

fn main() {
    let _ = User::COL.age.like("1%");
}
