use migrate_runtime::Table;
use migrate_runtime::rusqlite::types::{FromSql, FromSqlResult, ValueRef};

pub struct Money(i64);

impl FromSql for Money {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        i64::column_result(value).map(Money)
    }
}

#[derive(Table)]
pub struct Account {
    #[column(primary_key)]
    pub id: i64,
    #[column(sql_type = "INTEGER")]
    pub balance: Money,
}

fn main() {}
