use migrate_runtime::Table;

#[derive(Table)]
struct Setting {
    #[column(sql_type = "ANY")]
    value: Vec<u8>,
}

fn main() {}
