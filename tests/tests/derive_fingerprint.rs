//! The derive and the build script's parser agree: `Table::FINGERPRINT`, `NAME` and `COLUMNS`
//! equal what `schema_core::parse::parse_file` makes of the same source text.

#[path = "derive_fixture/schema.rs"]
mod schema;

use migrate_runtime::Table;
use schema_core::parse::{ParsedTable, parse_file, resolve};

const SOURCE: &str = include_str!("derive_fixture/schema.rs");

fn parsed(rust_name: &str) -> ParsedTable {
    let tables = parse_file(SOURCE).expect("the fixture parses");
    tables.into_iter().find(|t| t.rust_name == rust_name).expect("struct in fixture")
}

fn assert_agrees<T: Table>(rust_name: &str) {
    let p = parsed(rust_name);
    assert_eq!(T::FINGERPRINT, p.fingerprint(), "fingerprint of {rust_name}");
    assert_eq!(T::NAME, p.table.name);
    let columns: Vec<&str> = p.table.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(T::COLUMNS, columns.as_slice());
}

#[test]
fn derive_and_parser_agree_on_every_struct() {
    assert_agrees::<schema::Team>("Team");
    assert_agrees::<schema::UserProfile>("UserProfile");
    assert_agrees::<schema::AllTypes>("AllTypes");
    assert_agrees::<schema::Child>("Child");
    assert_eq!(parse_file(SOURCE).unwrap().len(), 4);
}

#[test]
fn derived_constants() {
    assert_eq!(schema::UserProfile::NAME, "user_profile");
    assert_eq!(
        schema::UserProfile::COLUMNS,
        [
            "id",
            "email",
            "nickname",
            "bio",
            "karma",
            "team_id",
            "team_name",
            "created",
            "invited_by",
            "type"
        ]
    );
    assert_eq!(schema::Team::NAME, "teams");
    assert_eq!(schema::AllTypes::NAME, "all_types");
    // The fingerprint is the unresolved table: references keep the Rust names.
    assert!(schema::UserProfile::FINGERPRINT.contains("\"ref_table\": \"Team\""));
    assert!(schema::UserProfile::FINGERPRINT.contains("\"ref_table\": \"Self\""));
    // Intent is not structure.
    assert!(!schema::UserProfile::FINGERPRINT.contains("\"mail\""));
    assert!(!schema::UserProfile::FINGERPRINT.contains("anon"));
}

#[test]
fn the_fixture_resolves() {
    let schema = resolve(&parse_file(SOURCE).unwrap()).unwrap();
    let user = schema.table("user_profile").unwrap();
    let fks: Vec<(String, String, String)> = user
        .foreign_keys
        .iter()
        .map(|f| (f.columns.join(","), f.ref_table.clone(), f.ref_columns.join(",")))
        .collect();
    let expected = [
        ("team_id", "teams", "id"),
        ("team_name", "teams", "name"),
        ("invited_by", "user_profile", "id"),
    ]
    .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()));
    assert_eq!(fks, expected);
    let child = schema.table("child").unwrap();
    assert_eq!(child.foreign_keys[0].ref_table, "all_types");
    assert_eq!(child.foreign_keys[0].ref_columns, ["a", "k"]);
}
