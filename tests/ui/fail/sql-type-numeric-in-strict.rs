use migrate_runtime::Table;

#[derive(Table)]
#[table(strict)]
struct Price {
    #[column(sql_type = "NUMERIC")]
    amount: f64,
}

fn main() {}
