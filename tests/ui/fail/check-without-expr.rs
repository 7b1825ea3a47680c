use migrate_runtime::Table;

#[derive(Table)]
#[check(name = "positive")]
struct Account {
    balance: i64,
}

fn main() {}
