use migrate_runtime::Table;

#[derive(Table)]
struct Event {
    #[column(convert = datetime)]
    at: String,
}

fn main() {}
