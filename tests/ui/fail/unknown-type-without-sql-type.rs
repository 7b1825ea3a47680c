use migrate_runtime::Table;

struct Money(i64);

#[derive(Table)]
struct Account {
    balance: Money,
}

fn main() {}
