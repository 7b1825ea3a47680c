use super::*;
use crate::model::{DefaultValue, FkAction, SqlType};

/// Parses a file that must be valid.
fn tables(src: &str) -> Vec<ParsedTable> {
    parse_file(src).unwrap_or_else(|e| panic!("unexpected errors: {}", messages_of(&e).join(" | ")))
}

/// The only table of a valid source.
fn table(src: &str) -> Table {
    let mut t = tables(src);
    assert_eq!(t.len(), 1);
    t.remove(0).table
}

fn messages_of(err: &syn::Error) -> Vec<String> {
    err.clone().into_iter().map(|e| e.to_string()).collect()
}

/// Every error of a file that must be invalid, as `line:column: message` (column 1-based).
fn errors(src: &str) -> Vec<String> {
    let err = match parse_file(src).and_then(|t| resolve(&t).map(|_| ())) {
        Ok(()) => panic!("expected errors for:\n{src}"),
        Err(e) => e,
    };
    err.into_iter()
        .map(|e| {
            let start = e.span().start();
            format!("{}:{}: {e}", start.line, start.column + 1)
        })
        .collect()
}

/// Asserts exactly one error, containing `needle`, located at `line:column`.
fn check_error(src: &str, at: &str, needle: &str) {
    let errs = errors(src);
    assert_eq!(errs.len(), 1, "expected one error, got {errs:#?}");
    assert!(errs[0].starts_with(&format!("{at}: ")), "wrong location: {errs:#?}, want {at}");
    assert!(errs[0].contains(needle), "{errs:#?} does not contain {needle:?}");
}

#[test]
fn round_trip_through_canonical_json() {
    let src = r#"
        #[derive(Table)]
        #[table(name = "users", renamed_from = "people", strict)]
        #[index(columns(email, name), unique)]
        #[index(columns(name), where = "name IS NOT NULL", name = "users_named")]
        #[check(name = "karma_positive", expr = "karma >= 0")]
        #[foreign_key(columns(team_id, org_id), references = Team, to(id, org), on_delete = "cascade")]
        pub struct User {
            #[column(primary_key, autoincrement)]
            pub id: i64,
            #[column(unique)]
            pub email: String,
            #[column(renamed_from = "full_name", backfill = "''", check = "length(name) > 0")]
            pub name: String,
            pub bio: Option<String>,
            #[column(default = 0, index)]
            pub karma: i64,
            #[column(references = "Team::id", on_update = "set null")]
            pub team_id: Option<i64>,
            pub org_id: Option<i64>,
            #[column(default_sql = "CURRENT_TIMESTAMP")]
            pub created: String,
            #[column(sql_type = "ANY")]
            pub extra: Option<Vec<u8>>,
        }
    "#;
    let t = table(src);
    let json = t.to_canonical_json();
    let back: Table = serde_json::from_str(&json).unwrap();
    let mut structural = t.clone();
    structural.renamed_from = None;
    for c in &mut structural.columns {
        c.renamed_from = None;
        c.backfill = None;
    }
    assert_eq!(back, structural);
    // Intent fields are parsed, but not serialised.
    assert_eq!(t.renamed_from.as_deref(), Some("people"));
    assert_eq!(t.column("name").unwrap().renamed_from.as_deref(), Some("full_name"));
    assert_eq!(t.column("name").unwrap().backfill.as_deref(), Some("''"));
    assert!(!json.contains("full_name") && !json.contains("people"));
    // Structure as declared.
    assert!(t.strict && t.autoincrement && !t.without_rowid);
    assert_eq!(t.primary_key, ["id"]);
    let idx: Vec<_> = t.indexes.iter().map(|i| (i.name.as_str(), i.unique)).collect();
    assert_eq!(
        idx,
        [("users_email_name_key", true), ("users_named", false), ("users_karma_idx", false)]
    );
    assert_eq!(t.indexes[1].where_clause.as_deref(), Some("name IS NOT NULL"));
    assert_eq!(t.checks[0].name.as_deref(), Some("karma_positive"));
    assert_eq!(t.column("name").unwrap().check.as_deref(), Some("length(name) > 0"));
    assert_eq!(t.foreign_keys.len(), 2);
    assert_eq!(t.foreign_keys[0].columns, ["team_id", "org_id"]);
    assert_eq!(t.foreign_keys[0].ref_columns, ["id", "org"]);
    assert_eq!(t.foreign_keys[0].on_delete, Some(FkAction::Cascade));
    assert_eq!(t.foreign_keys[1].ref_table, "Team");
    assert_eq!(t.foreign_keys[1].on_update, Some(FkAction::SetNull));
    assert_eq!(
        t.column("created").unwrap().default,
        Some(DefaultValue::Sql("CURRENT_TIMESTAMP".into()))
    );
    assert_eq!(t.column("extra").unwrap().ty, SqlType::Any);
}

#[test]
fn rust_types_map_to_canonical_sql_types() {
    let t = table(
        "#[derive(Table)] struct AllTypes {
            a: i8, b: i16, c: i32, d: i64, e: u8, f: u16, g: u32, h: bool,
            i: f32, j: f64, k: String, l: Vec<u8>, m: Option<i64>,
            n: std::string::String, o: ::std::option::Option<std::vec::Vec<u8>>,
            #[column(sql_type = \"INTEGER\")] p: u64,
            #[column(sql_type = \"text\")] q: MyText,
            #[column(sql_type = \"NUMERIC\")] r: Option<Decimal>,
        }",
    );
    let got: Vec<(&str, &str, bool)> =
        t.columns.iter().map(|c| (c.name.as_str(), c.ty.as_sql(), c.nullable)).collect();
    assert_eq!(
        got,
        [
            ("a", "INTEGER", false),
            ("b", "INTEGER", false),
            ("c", "INTEGER", false),
            ("d", "INTEGER", false),
            ("e", "INTEGER", false),
            ("f", "INTEGER", false),
            ("g", "INTEGER", false),
            ("h", "INTEGER", false),
            ("i", "REAL", false),
            ("j", "REAL", false),
            ("k", "TEXT", false),
            ("l", "BLOB", false),
            ("m", "INTEGER", true),
            ("n", "TEXT", false),
            ("o", "BLOB", true),
            ("p", "INTEGER", false),
            ("q", "TEXT", false),
            ("r", "NUMERIC", true),
        ]
    );
}

#[test]
fn names_default_to_snake_case_and_raw_identifiers() {
    assert_eq!(table("#[derive(Table)] struct UserProfile { x: i64 }").name, "user_profile");
    assert_eq!(table("#[derive(Table)] struct HTTPRequest { x: i64 }").name, "http_request");
    let t = table(
        "#[derive(Table)] struct r#Match { r#type: String, #[column(name = \"Order\")] order_no: i64 }",
    );
    assert_eq!(t.name, "match");
    assert_eq!(t.columns[0].name, "type");
    assert_eq!(t.columns[1].name, "Order");
}

#[test]
fn defaults_render_as_sql_literals() {
    let t = table(
        r#"#[derive(Table)] struct D {
            #[column(default = "it's free")] a: String,
            #[column(default = true)] b: bool,
            #[column(default = false)] c: Option<bool>,
            #[column(default = -5)] d: i32,
            #[column(default = 1_000)] e: i64,
            #[column(default = -1.5)] f: f64,
            #[column(default = 2)] g: f32,
            #[column(default = b"\x00\xff")] h: Vec<u8>,
            #[column(default = 0x10)] i: u8,
            #[column(default = "x", sql_type = "TEXT")] j: Custom,
            #[column(default = 7)] k: Option<i64>,
        }"#,
    );
    let got: Vec<&str> = t.columns.iter().map(|c| c.default.as_ref().unwrap().as_sql()).collect();
    assert_eq!(
        got,
        ["'it''s free'", "1", "0", "-5", "1000", "-1.5", "2", "X'00FF'", "16", "'x'", "7"]
    );
    assert!(t.columns.iter().all(|c| c.default.as_ref().unwrap().is_constant()));
}

#[test]
fn default_must_match_the_field_type() {
    check_error(
        "#[derive(Table)]\nstruct D {\n    #[column(default = \"0\")]\n    a: i64,\n}",
        "3:24",
        "write an integer literal",
    );
    check_error(
        "#[derive(Table)]\nstruct D { #[column(default = 1)] a: bool }",
        "2:31",
        "default = true",
    );
    check_error(
        "#[derive(Table)]\nstruct D { #[column(default = 300)] a: u8 }",
        "2:31",
        "out of range",
    );
    check_error(
        "#[derive(Table)]\nstruct D { #[column(default = -1)] a: u32 }",
        "2:31",
        "out of range",
    );
    check_error(
        "#[derive(Table)]\nstruct D { #[column(default = now())] a: String }",
        "2:31",
        "default_sql",
    );
    check_error(
        "#[derive(Table)]\nstruct D { #[column(default = 1, default_sql = \"1\")] a: i64 }",
        "2:48",
        "cannot both be set",
    );
}

#[test]
fn sql_type_accepts_only_canonical_names() {
    check_error(
        "#[derive(Table)]\nstruct S { #[column(sql_type = \"STRING\")] a: String }",
        "2:32",
        "NUMERIC affinity",
    );
    let errs =
        errors("#[derive(Table)]\nstruct S { #[column(sql_type = \"VARCHAR(20)\")] a: String }");
    assert!(
        errs[0].contains("TEXT affinity") && errs[0].contains("sql_type = \"TEXT\""),
        "{errs:?}"
    );
    let errs = errors("#[derive(Table)]\nstruct S { #[column(sql_type = \"BIGINT\")] a: String }");
    assert!(errs[0].contains("sql_type = \"INTEGER\""), "{errs:?}");
    check_error(
        "#[derive(Table)]\nstruct S { #[column(sql_type = \"ANY\")] a: String }",
        "2:32",
        "needs #[table(strict)]",
    );
    check_error(
        "#[derive(Table)]\n#[table(strict)]\nstruct S { #[column(sql_type = \"NUMERIC\")] a: String }",
        "3:32",
        "does not accept NUMERIC",
    );
}

#[test]
fn wide_and_unknown_types_need_sql_type() {
    check_error("#[derive(Table)]\nstruct S { a: u64 }", "2:15", "sql_type = \"INTEGER\"");
    check_error("#[derive(Table)]\nstruct S { a: usize }", "2:15", "sql_type");
    check_error("#[derive(Table)]\nstruct S { a: Option<isize> }", "2:22", "sql_type");
    check_error("#[derive(Table)]\nstruct S { a: chrono::NaiveDate }", "2:15", "FromSql");
    check_error("#[derive(Table)]\nstruct S { a: Vec<i64> }", "2:15", "sql_type");
}

#[test]
fn primary_keys() {
    let t = table(
        "#[derive(Table)] #[primary_key(b, a)] #[table(without_rowid)] struct P { a: i64, #[column(name = \"B\")] b: String }",
    );
    assert_eq!(t.primary_key, ["B", "a"]);
    assert!(t.without_rowid);
    check_error(
        "#[derive(Table)]\nstruct P { #[column(primary_key)] id: Option<i64> }",
        "2:21",
        "primary_key on an Option field",
    );
    check_error(
        "#[derive(Table)]\n#[primary_key(a, c)]\nstruct P { a: i64, b: i64 }",
        "2:18",
        "no field `c` in `P`",
    );
    check_error(
        "#[derive(Table)]\n#[primary_key(a, b)]\nstruct P { a: i64, b: Option<i64> }",
        "2:18",
        "is an Option",
    );
    check_error(
        "#[derive(Table)]\nstruct P { #[column(primary_key)] a: i64, #[column(primary_key)] b: i64 }",
        "2:52",
        "#[primary_key(a, b)]",
    );
    check_error(
        "#[derive(Table)]\n#[primary_key(a)]\nstruct P { #[column(primary_key)] a: i64 }",
        "2:1",
        "declared twice",
    );
    check_error(
        "#[derive(Table)]\n#[table(without_rowid)]\nstruct P { a: i64 }",
        "2:9",
        "needs a primary key",
    );
}

#[test]
fn autoincrement_rules() {
    check_error(
        "#[derive(Table)]\nstruct A { #[column(primary_key, autoincrement)] id: String }",
        "2:34",
        "needs an INTEGER primary key",
    );
    check_error(
        "#[derive(Table)]\nstruct A { #[column(autoincrement)] id: i64 }",
        "2:21",
        "only primary key",
    );
    check_error(
        "#[derive(Table)]\n#[table(without_rowid)]\nstruct A { #[column(primary_key, autoincrement)] id: i64 }",
        "3:34",
        "without_rowid",
    );
    check_error(
        "#[derive(Table)]\n#[primary_key(id, b)]\nstruct A { #[column(autoincrement)] id: i64, b: i64 }",
        "3:21",
        "only primary key",
    );
}

#[test]
fn names_are_checked() {
    check_error("#[derive(Table)]\n#[table(name = \"\")]\nstruct N { a: i64 }", "2:16", "is empty");
    check_error(
        "#[derive(Table)]\n#[table(name = \"SQLite_x\")]\nstruct N { a: i64 }",
        "2:16",
        "reserves",
    );
    check_error("#[derive(Table)]\nstruct SqliteStat { a: i64 }", "2:8", "starts with `sqlite_`");
    check_error("#[derive(Table)]\nstruct N { #[column(name = \"a\\0b\")] a: i64 }", "2:28", "NUL");
    check_error("#[derive(Table)]\nstruct N { sqlite_x: i64 }", "2:12", "reserves");
    check_error(
        "#[derive(Table)]\nstruct N { email: String, #[column(name = \"EMAIL\")] other: String }",
        "2:43",
        "duplicate column name `EMAIL`",
    );
    check_error(
        "#[derive(Table)]\n#[table(name = \"n\", renamed_from = \"n\")]\nstruct N { a: i64 }",
        "2:36",
        "current name",
    );
    check_error(
        "#[derive(Table)]\nstruct N { #[column(renamed_from = \"a\")] a: i64 }",
        "2:36",
        "current name",
    );
}

#[test]
fn renames_must_name_a_column_or_table_that_is_gone() {
    check_error(
        "#[derive(Table)]\nstruct R { a: i64, #[column(renamed_from = \"A\")] b: i64 }",
        "2:44",
        "still exists (field `a`)",
    );
    check_error(
        "#[derive(Table)]\nstruct R { #[column(renamed_from = \"x\")] a: i64, #[column(renamed_from = \"x\")] b: i64 }",
        "2:74",
        "already renamed_from \"x\"",
    );
    // A swap is two renames, each old name belonging to a column that is itself renamed.
    let t = table(
        "#[derive(Table)] struct R { #[column(renamed_from = \"b\")] a: i64, #[column(renamed_from = \"a\")] b: i64 }",
    );
    assert_eq!(t.columns[0].renamed_from.as_deref(), Some("b"));
    check_error(
        "#[derive(Table)]\nstruct A { x: i64 }\n#[derive(Table)]\n#[table(renamed_from = \"a\")]\nstruct B { x: i64 }",
        "4:24",
        "still exists (struct `A`)",
    );
    check_error(
        "#[derive(Table)]\n#[table(renamed_from = \"old\")]\nstruct A { x: i64 }\n#[derive(Table)]\n#[table(renamed_from = \"OLD\")]\nstruct B { x: i64 }",
        "5:24",
        "already renamed_from",
    );
}

#[test]
fn indexes_and_checks() {
    check_error(
        "#[derive(Table)]\n#[index(columns(email, nmae))]\nstruct I { email: String, name: String }",
        "2:24",
        "did you mean `name`?",
    );
    check_error(
        "#[derive(Table)]\n#[index(columns(a))]\n#[index(columns(a), where = \"a > 0\")]\nstruct I { a: i64 }",
        "3:1",
        "give one of them a name",
    );
    check_error(
        "#[derive(Table)]\nstruct I { #[column(unique, index)] a: i64 }",
        "2:21",
        "remove `index`",
    );
    check_error(
        "#[derive(Table)]\n#[check(name = \"c\", expr = \"a > 0\")]\n#[check(name = \"C\", expr = \"a < 9\")]\nstruct I { a: i64 }",
        "3:16",
        "used twice",
    );
    check_error("#[derive(Table)]\n#[check(name = \"c\")]\nstruct I { a: i64 }", "2:1", "expr = ");
    check_error(
        "#[derive(Table)]\n#[index(columns(a, a))]\nstruct I { a: i64 }",
        "2:20",
        "listed twice",
    );
}

#[test]
fn attribute_syntax_errors() {
    check_error(
        "#[derive(Table)]\nstruct K { #[column(nullabel)] a: i64 }",
        "2:21",
        "unknown #[column] key `nullabel`",
    );
    check_error(
        "#[derive(Table)]\nstruct K { #[column(primry_key)] a: i64 }",
        "2:21",
        "did you mean `primary_key`?",
    );
    check_error(
        "#[derive(Table)]\n#[table(name = \"a\", name = \"b\")]\nstruct K { a: i64 }",
        "2:21",
        "duplicate #[table(name)]",
    );
    check_error(
        "#[derive(Table)]\n#[table(name = users)]\nstruct K { a: i64 }",
        "2:16",
        "string literal",
    );
    check_error(
        "#[derive(Table)]\n#[table(strict = true)]\nstruct K { a: i64 }",
        "2:9",
        "takes no value",
    );
    check_error(
        "#[derive(Table)]\n#[index(columns = \"a\")]\nstruct K { a: i64 }",
        "2:9",
        "columns(a, b)",
    );
    check_error(
        "#[derive(Table)]\n#[index(columns(\"a\"))]\nstruct K { a: i64 }",
        "2:17",
        "without quotes",
    );
    check_error("#[derive(Table)]\n#[table]\nstruct K { a: i64 }", "2:1", "#[table(name");
    check_error("#[derive(Table)]\nstruct K { #[index] a: i64 }", "2:12", "#[column(index)]");
    check_error(
        "#[derive(Table)]\nstruct K { #[column(type = \"TEXT\")] a: i64 }",
        "2:21",
        "the SQL type is given with sql_type",
    );
    check_error(
        "#[derive(Table)]\nstruct K { #[column(nullable)] a: i64 }",
        "2:21",
        "use Option<T> for a nullable column",
    );
}

#[test]
fn item_shapes_are_checked() {
    check_error("#[derive(Table)]\nstruct T(i64);", "2:9", "tuple structs");
    check_error("#[derive(Table)]\nenum E { A }", "2:1", "an enum has no fixed columns");
    check_error("#[derive(Table)]\nunion U { a: i64 }", "2:1", "unions");
    check_error("#[derive(Table)]\nstruct G<T> { a: T }", "2:10", "generic parameters");
    check_error("#[derive(Table)]\nstruct L<'a> { a: &'a str }", "2:10", "lifetime");
    check_error("#[derive(Table)]\nstruct U;", "2:8", "at least one column");
    check_error("#[derive(Table)]\nstruct U {}", "2:10", "at least one column");
}

#[test]
fn all_errors_of_a_struct_are_reported_together() {
    let errs = errors(
        "#[derive(Table)]\n#[table(nme = \"x\")]\nstruct K {\n    #[column(primary_key)] a: Option<i64>,\n    b: u64,\n    #[column(on_delete = \"cascade\")] c: i64,\n}",
    );
    assert_eq!(errs.len(), 4, "{errs:#?}");
    assert!(
        errs[0].starts_with("2:9: unknown #[table] key `nme`; did you mean `name`?"),
        "{errs:#?}"
    );
    assert!(errs.iter().any(|e| e.starts_with("4:14: primary_key on an Option")), "{errs:#?}");
    assert!(errs.iter().any(|e| e.starts_with("5:8: `u64` has no exact SQLite type")), "{errs:#?}");
    assert!(
        errs.iter().any(|e| e.starts_with("6:26: on_delete/on_update need a foreign key")),
        "{errs:#?}"
    );
}

#[test]
fn foreign_key_actions() {
    check_error(
        "#[derive(Table)]\nstruct F { #[column(references = T, on_delete = \"delete\")] t: i64 }",
        "2:49",
        "unknown on_delete action \"delete\"",
    );
    check_error(
        "#[derive(Table)]\nstruct F { #[column(references = T, on_delete = \"SET NULL\")] t: Option<i64> }",
        "2:49",
        "write on_delete = \"set null\"",
    );
    check_error(
        "#[derive(Table)]\nstruct F { #[column(references = T, on_delete = \"set null\")] t: i64 }",
        "2:49",
        "make `t` an Option",
    );
    check_error(
        "#[derive(Table)]\n#[foreign_key(columns(a, b), references = T, to(x))]\nstruct F { a: i64, b: i64 }",
        "2:1",
        "give one target field per column",
    );
    check_error(
        "#[derive(Table)]\nstruct F { #[column(references = Vec::<u8>)] t: i64 }",
        "2:37",
        "without generic arguments",
    );
    check_error(
        "#[derive(Table)]\nstruct F { #[column(references = \"Team\")] t: i64 }",
        "2:34",
        "\"Type::field\"",
    );
}

const TEAMS: &str = r#"
#[derive(Table)]
#[table(name = "teams")]
#[index(columns(org, code), unique)]
pub struct Team {
    #[column(primary_key)]
    pub id: i64,
    #[column(unique, name = "team_name")]
    pub name: String,
    pub org: i64,
    pub code: String,
    pub note: String,
}
"#;

#[test]
fn resolve_turns_rust_names_into_sql_names() {
    let src = format!(
        "{TEAMS}
        mod inner {{
            #[derive(Table)]
            #[foreign_key(columns(org, code), references = crate::Team, to(org, code))]
            pub struct Player {{
                #[column(primary_key)] pub id: i64,
                #[column(references = Team, on_delete = \"cascade\")] pub team_id: i64,
                #[column(references = \"Team::name\")] pub team_name: Option<String>,
                #[column(references = Self)] pub mentor: Option<i64>,
                pub org: i64,
                pub code: String,
            }}
        }}"
    );
    let parsed = tables(&src);
    let player = &parsed[1].table;
    assert_eq!(player.foreign_keys[0].ref_table, "crate::Team");
    let schema = resolve(&parsed).unwrap();
    let player = schema.table("player").unwrap();
    let fks: Vec<(&str, &str, String)> = player
        .foreign_keys
        .iter()
        .map(|f| (f.columns.join(","), f.ref_table.as_str(), f.ref_columns.join(",")))
        .map(|(c, t, r)| (if c == "org,code" { "org,code" } else { leak(c) }, t, r))
        .collect();
    assert_eq!(
        fks,
        [
            ("org,code", "teams", "org,code".to_owned()),
            ("team_id", "teams", "id".to_owned()),
            ("team_name", "teams", "team_name".to_owned()),
            ("mentor", "player", "id".to_owned()),
        ]
    );
    assert_eq!(player.foreign_keys[1].on_delete, Some(FkAction::Cascade));
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

#[test]
fn resolve_errors() {
    let src = |body: &str| format!("{TEAMS}#[derive(Table)]\nstruct P {{ {body} }}");
    // TEAMS is 13 lines; the struct under test is on line 15.
    check_error(
        &src("#[column(references = Coach)] c: i64"),
        "15:34",
        "`Coach` is not a Table in this schema",
    );
    check_error(
        &src("#[column(references = \"Team::nope\")] c: i64"),
        "15:34",
        "no field `nope` in `Team`",
    );
    check_error(
        &src("#[column(references = \"Team::note\")] c: String"),
        "15:34",
        "neither the primary key",
    );
    check_error(
        "#[derive(Table)]\nstruct A { x: i64 }\n#[derive(Table)]\nstruct B { #[column(references = A)] a: i64 }",
        "4:34",
        "`A` has no primary key",
    );
    check_error(
        &format!(
            "{TEAMS}#[derive(Table)]\n#[foreign_key(columns(a, b), references = Team)]\nstruct P {{ a: i64, b: i64 }}"
        ),
        "15:43",
        "primary key of `Team` has 1",
    );
    check_error(
        &format!("{TEAMS}#[derive(Table)]\n#[table(name = \"TEAMS\")]\nstruct Other {{ a: i64 }}"),
        "15:16",
        "already used by table `teams`",
    );
    check_error(
        &format!(
            "{TEAMS}#[derive(Table)]\n#[index(columns(a), name = \"teams\")]\nstruct Other {{ a: i64 }}"
        ),
        "15:28",
        "share one namespace",
    );
    check_error(
        "#[derive(Table)]\nstruct A { #[column(primary_key)] x: i64 }\nmod m {\n#[derive(Table)]\n#[table(name = \"a2\")]\nstruct A { #[column(primary_key)] x: i64 }\n}\n#[derive(Table)]\nstruct B { #[column(references = A)] a: i64 }",
        "9:34",
        "ambiguous",
    );
}

#[test]
fn fingerprint_is_the_canonical_json_of_the_unresolved_table() {
    let parsed = tables(&format!(
        "{TEAMS}#[derive(Table)] struct P {{ #[column(references = Team)] t: i64 }}"
    ));
    assert_eq!(parsed[1].fingerprint(), parsed[1].table.to_canonical_json());
    assert!(parsed[1].fingerprint().contains("\"ref_table\": \"Team\""));
    assert!(parsed[1].fingerprint().contains("\"ref_columns\": []"));
}

#[test]
fn parse_file_finds_derives_only() {
    let parsed = tables(
        "#[derive(Debug, Clone)] struct Plain { a: i64 }
         #[derive(migrate_runtime::Table, Debug)] struct One { a: i64 }
         mod m { mod n { #[derive(Table)] struct Two { a: i64 } } }
         mod decl;",
    );
    let names: Vec<_> = parsed.iter().map(|t| t.rust_name.as_str()).collect();
    assert_eq!(names, ["One", "Two"]);
    assert!(parse_file("struct {").is_err());
    // Errors of several structs are combined.
    let errs = errors("#[derive(Table)] struct A(i64); #[derive(Table)] struct B(i64);");
    assert_eq!(errs.len(), 2);
}

#[test]
fn cfg_on_schema_items_is_refused() {
    check_error(
        "#[derive(Table)]\n#[cfg(test)]\nstruct A { x: i64 }",
        "2:1",
        "#[cfg] on a #[derive(Table)] struct: the build script reads the schema without evaluating cfg",
    );
    check_error(
        "#[derive(Table)]\nstruct A {\n    #[cfg(test)]\n    x: i64,\n    y: i64,\n}",
        "3:5",
        "#[cfg] on a field of a #[derive(Table)] struct",
    );
    check_error(
        "#[derive(Table)]\nstruct A {\n    #[cfg_attr(test, column(unique))]\n    x: i64,\n}",
        "3:5",
        "#[cfg_attr] around a schema attribute",
    );
    check_error(
        "#[cfg_attr(feature = \"db\", derive(Debug, Table))]\nstruct A { x: i64 }",
        "1:1",
        "#[cfg_attr] around a schema attribute",
    );
    check_error(
        "#[cfg(test)]\nmod inner {\n    #[derive(Table)]\n    struct A { x: i64 }\n}",
        "4:12",
        "#[derive(Table)] struct `A` is in a module behind #[cfg]",
    );
    // cfg_attr that does not touch the schema, and cfg elsewhere, are fine.
    let t = tables(
        "#[derive(Table)]\n#[cfg_attr(test, derive(Debug))]\nstruct A {\n    #[cfg_attr(test, doc = \"x\")]\n    x: i64,\n}\n#[cfg(test)]\nmod tests {}",
    );
    assert_eq!(t.len(), 1);
}

#[test]
fn sql_text_that_breaks_the_statement_or_the_file_is_refused_at_its_attribute() {
    let src = |attr: &str| format!("#[derive(Table)]\n{attr}\nstruct A {{\n    x: i64,\n}}");
    check_error(
        &src("#[check(expr = \"x > 0 -- positive\")]"),
        "2:16",
        "#[check(expr)] holds an SQL comment (`--`)",
    );
    check_error(
        &src("#[index(columns(x), where = \"x > 0); DROP TABLE a; --\")]"),
        "2:29",
        "where has a `)` without its `(`",
    );
    let field = |attr: &str| format!("#[derive(Table)]\nstruct A {{\n    {attr}\n    x: i64,\n}}");
    check_error(
        &field("#[column(default_sql = \"1\\n--> statement-breakpoint\\nDROP TABLE a\")]"),
        "3:28",
        "default_sql holds a line `--> statement-breakpoint`",
    );
    check_error(&field("#[column(check = \"x > 0;\")]"), "3:22", "check holds a `;`");
    check_error(&field("#[column(backfill = \"'a\")]"), "3:25", "unterminated string literal");
    check_error(
        &field("#[column(convert = \"x * 1000 -- ms\")]"),
        "3:24",
        "convert holds an SQL comment (`--`)",
    );
    check_error(
        "#[derive(Table)]\nstruct A {\n    #[column(default = \"a\\n--> statement-breakpoint\")]\n    s: String,\n}",
        "3:24",
        "a `default` string cannot hold a line `--> statement-breakpoint`",
    );
    check_error(
        "#[derive(Table)]\n#[table(name = \"a\\nb\")]\nstruct A {\n    x: i64,\n}",
        "2:16",
        "the table name \"a\\nb\" contains a line break",
    );
    check_error(
        "#[derive(Table)]\nstruct A {\n    #[column(renamed_from = \"old\\rname\")]\n    x: i64,\n}",
        "3:29",
        "renamed_from contains a line break",
    );
    check_error(
        "#[derive(Table)]\n#[check(name = \"c\\n\", expr = \"x > 0\")]\nstruct A {\n    x: i64,\n}",
        "2:16",
        "the check name contains a line break",
    );
    // Quotes and parentheses that balance are fine, as is a multi-line expression.
    let t = table(&src("#[check(expr = \"x > 0\n    AND (x <> '-- ;)' OR \\\"x\\\" IS NULL)\")]"));
    assert_eq!(t.checks.len(), 1);
}
