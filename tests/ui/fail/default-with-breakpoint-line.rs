use migrate_runtime::Table;

#[derive(Table)]
struct Note {
    #[column(primary_key)]
    id: i64,
    #[column(default = "first\n--> statement-breakpoint\nDROP TABLE note;")]
    body: String,
    #[column(default_sql = "'a'\n--> statement-breakpoint\nDROP TABLE note")]
    title: String,
}

fn main() {}
