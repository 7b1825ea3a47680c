// `convert` is accepted and, being intent, leaves the table's fingerprint alone: the derive
// gives the same canonical table as without it.
#![deny(warnings)]

use migrate_runtime::Table;

#[derive(Table)]
#[table(name = "events")]
pub struct Event {
    #[column(primary_key)]
    pub id: i64,
    #[column(convert = "datetime(\"at\", 'unixepoch')")]
    pub at: String,
}

mod plain {
    use migrate_runtime::Table;

    #[derive(Table)]
    #[table(name = "events")]
    pub struct Event {
        #[column(primary_key)]
        pub id: i64,
        pub at: String,
    }
}

fn main() {
    assert_eq!(
        <Event as migrate_runtime::Table>::FINGERPRINT,
        <plain::Event as migrate_runtime::Table>::FINGERPRINT
    );
}
