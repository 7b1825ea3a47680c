use migrate_runtime::Table;

#[derive(Table)]
struct Wrapper<T> {
    value: T,
}

fn main() {}
