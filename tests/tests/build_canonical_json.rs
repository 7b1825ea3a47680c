//! Canonical JSON does not depend on serde_json's features (issue 11, problem 7): a real
//! `cargo build` of a crate that enables `serde_json/preserve_order` next to schema-core prints
//! the snapshot and fingerprints of a fixed schema; they must equal, byte for byte, what this
//! test computes in-process (where `preserve_order` is off).

use schema_core::build::format::Snapshot;
use tests::e2e::{TempCrate, workspace_root};

/// A schema with nested objects (tables, columns, indexes, foreign keys, checks) so key order
/// matters at every level.
const SCHEMA: &str = r#"use migrate_runtime::Table;

#[derive(Table)]
#[table(name = "teams")]
pub struct Team {
    #[column(primary_key)]
    pub id: i64,
    #[column(unique, check = "length(name) > 0")]
    pub name: String,
}

#[derive(Table)]
#[table(name = "users")]
#[index(columns(email, name), unique, where = "email IS NOT NULL")]
pub struct User {
    #[column(primary_key, autoincrement)]
    pub id: i64,
    pub email: Option<String>,
    pub name: String,
    #[column(default = "free \"tier\"")]
    pub plan: String,
    #[column(default = 0)]
    pub karma: i64,
    #[column(references = Team, on_delete = "cascade")]
    pub team_id: Option<i64>,
}
"#;

/// The binary: the same computation as [`expected`], plus a proof that the feature is on.
const MAIN_RS: &str = r#"fn main() {
    let parsed = schema_core::parse::parse_file(include_str!("schema.rs")).unwrap();
    let schema = schema_core::parse::resolve(&parsed).unwrap();
    let first = schema_core::build::format::Snapshot::new(None, &schema);
    let second = schema_core::build::format::Snapshot::new(Some(&first.id), &schema);
    // With preserve_order, serde_json keeps insertion order: `{"b":1,"a":2}`.
    println!("{}", serde_json::json!({ "b": 1, "a": 2 }));
    print!("{}{}", first.to_json(), second.to_json());
    for table in &parsed {
        print!("{}", table.fingerprint());
    }
}
"#;

fn expected() -> String {
    let parsed = schema_core::parse::parse_file(SCHEMA).unwrap();
    let schema = schema_core::parse::resolve(&parsed).unwrap();
    let first = Snapshot::new(None, &schema);
    let second = Snapshot::new(Some(&first.id), &schema);
    let mut out = format!("{}{}", first.to_json(), second.to_json());
    for table in &parsed {
        out.push_str(&table.fingerprint());
    }
    out
}

#[test]
fn snapshots_and_fingerprints_ignore_serde_json_preserve_order() {
    let app = TempCrate::bare("godwit_e2e_preserve_order");
    app.write(
        "Cargo.toml",
        &format!(
            "[package]\nname = \"godwit_e2e_preserve_order\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\
             publish = false\n\n[workspace]\n\n[dependencies]\nschema-core = {{ path = {:?} }}\n\
             serde_json = {{ version = \"1\", features = [\"preserve_order\"] }}\n",
            workspace_root().join("schema-core").to_string_lossy()
        ),
    );
    app.write("src/schema.rs", SCHEMA);
    app.write("src/main.rs", MAIN_RS);
    app.build(&[]).assert_success();
    let out = app.run(&[]);
    assert!(out.status.success(), "binary failed: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let (probe, snapshots) = stdout.split_once('\n').unwrap();
    assert_eq!(probe, r#"{"b":1,"a":2}"#, "preserve_order is not enabled in the temporary crate");
    let expected = expected();
    assert!(expected.contains("\"prev_id\": null"), "{expected}");
    assert_eq!(snapshots, expected, "canonical JSON changed under serde_json/preserve_order");
}
