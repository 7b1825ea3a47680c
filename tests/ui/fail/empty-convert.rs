use migrate_runtime::Table;

#[derive(Table)]
struct Event {
    #[column(convert = "")]
    at: String,
}

fn main() {}
