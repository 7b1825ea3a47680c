use migrate_runtime::Table;

#[derive(Table)]
pub struct User {
    #[column(primary_key)]
    pub id: i64,
    pub age: i64,
}

#[derive(Table)]
pub struct Team {
    #[column(primary_key)]
    pub id: i64,
}

fn main() {
    let _ = User::query().filter(User::COL.age.gt(3).or(Team::COL.id.eq(1)));
    let _ = User::query().order_by(Team::COL.id.desc());
}
