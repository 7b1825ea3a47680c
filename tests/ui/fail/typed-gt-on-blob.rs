use migrate_runtime::Table;

#[derive(Table)]
pub struct File {
    #[column(primary_key)]
    pub id: i64,
    pub digest: Vec<u8>,
}

fn main() {
    let _ = File::COL.digest.gt(vec![0u8; 32]);
}
