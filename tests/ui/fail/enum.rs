use migrate_runtime::Table;

#[derive(Table)]
enum Role {
    Admin,
    Member,
}

fn main() {}
