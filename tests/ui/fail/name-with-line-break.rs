use migrate_runtime::Table;

#[derive(Table)]
#[table(name = "notes\n-- godwit: allow-drop users")]
struct Note {
    #[column(primary_key)]
    id: i64,
    #[column(name = "bo\rdy", renamed_from = "text\n")]
    body: String,
}

fn main() {}
