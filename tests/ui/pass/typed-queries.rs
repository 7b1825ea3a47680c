// Every filter, order and write the column types allow compiles: comparisons on INTEGER, REAL
// and TEXT columns (a user type stored as TEXT included), `like` on TEXT, `is_null` on an
// `Option`, equality and IN on a BLOB, tuples and arrays of columns.

use migrate_runtime::rusqlite::Connection;
use migrate_runtime::rusqlite::types::{FromSql, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use migrate_runtime::{Crud, Table};

#[derive(Debug, Clone, PartialEq)]
pub struct Email(pub String);

impl FromSql for Email {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        String::column_result(value).map(Email)
    }
}

impl ToSql for Email {
    fn to_sql(&self) -> migrate_runtime::rusqlite::Result<ToSqlOutput<'_>> {
        self.0.to_sql()
    }
}

#[derive(Table)]
pub struct User {
    #[column(primary_key)]
    pub id: i64,
    #[column(sql_type = "TEXT", unique)]
    pub email: Email,
    pub name: String,
    pub score: f64,
    pub age: Option<i64>,
    pub avatar: Option<Vec<u8>>,
}

fn main() {
    let conn = Connection::open_in_memory().unwrap();
    let filter = User::COL
        .email
        .like("%@example.com")
        .and(User::COL.email.gt(Email("a".into())))
        .and(User::COL.name.le("z").or(User::COL.score.ge(1.5)))
        .and(User::COL.age.is_null().or(User::COL.age.lt(18)).not())
        .and(User::COL.avatar.eq(&[1u8, 2][..]).or(User::COL.avatar.in_([vec![3u8]])))
        .and(!User::COL.id.in_(&[1, 2, 3][..]));
    let query = User::query()
        .filter(filter)
        .order_by(User::COL.score.desc().nulls_last())
        .order_by(User::COL.avatar.asc())
        .limit(10)
        .offset(20);
    let _ = query.to_sql();
    let _ = query.list(&conn);
    let _ = query.count(&conn);
    let _ = query.exists(&conn);
    let user = User {
        id: 1,
        email: Email("a@b".into()),
        name: String::new(),
        score: 0.0,
        age: None,
        avatar: None,
    };
    let _ = conn.update_columns(&user, (User::COL.name, User::COL.score, User::COL.age));
    let _ = conn.update_columns(&user, [User::COL.name]);
    let _ = conn.upsert_on(&user, User::COL.email);
    let _ = conn.upsert(&user);
    let _ = conn.insert_with_defaults(&user, (User::COL.age,));
    let _ = conn.insert_many([&user]);
}
