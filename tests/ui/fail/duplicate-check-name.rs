use migrate_runtime::Table;

#[derive(Table)]
#[check(name = "bounds", expr = "balance >= 0")]
#[check(name = "Bounds", expr = "balance < 1000000")]
struct Account {
    balance: i64,
}

fn main() {}
