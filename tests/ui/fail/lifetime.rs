use migrate_runtime::Table;

#[derive(Table)]
struct User<'a> {
    name: &'a str,
}

fn main() {}
