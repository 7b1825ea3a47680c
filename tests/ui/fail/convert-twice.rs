use migrate_runtime::Table;

#[derive(Table)]
struct Event {
    #[column(convert = "datetime(at, 'unixepoch')")]
    #[column(convert = "at")]
    at: String,
}

fn main() {}
