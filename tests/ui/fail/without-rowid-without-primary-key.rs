use migrate_runtime::Table;

#[derive(Table)]
#[table(without_rowid)]
struct Log {
    line: String,
}

fn main() {}
