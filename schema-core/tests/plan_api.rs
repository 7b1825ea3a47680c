//! The planner's public surface: names, header comments, findings, ordering.

#![cfg(feature = "build")]

mod common;

use common::*;
use schema_core::model::{FkAction, Schema};
use schema_core::plan::{Finding, PlanInput, Severity, plan, sanitise_name};

fn plan_of(
    old: &Schema,
    new: &Schema,
    allow: &[&str],
) -> Result<schema_core::plan::Plan, Vec<Finding>> {
    let allow: Vec<String> = allow.iter().map(|s| (*s).to_string()).collect();
    plan(&PlanInput { old: &snapshot(old), new, dependents: &[], allow_drop: &allow })
}

fn users(extra: &[&str]) -> schema_core::model::Table {
    let mut cols = vec![col("id", Integer), col("name", Text)];
    cols.extend(extra.iter().map(|c| col(c, Text).null()));
    table("users", cols).pk(&["id"])
}

#[test]
fn names_describe_the_change() {
    let empty = Schema::default();
    let v1 = schema(vec![users(&[])]);
    assert_eq!(plan_of(&empty, &v1, &[]).unwrap().name(), "create_users");
    assert_eq!(plan_of(&v1, &schema(vec![users(&["bio"])]), &[]).unwrap().name(), "add_users_bio");
    assert_eq!(
        plan_of(&v1, &schema(vec![users(&["bio", "age"])]), &[]).unwrap().name(),
        "add_users_bio_age"
    );
    assert_eq!(
        plan_of(&schema(vec![users(&["bio"])]), &v1, &["users.bio"]).unwrap().name(),
        "drop_users_bio"
    );
    let renamed = schema(vec![
        table("users", vec![col("id", Integer), col("full_name", Text).from("name")]).pk(&["id"]),
    ]);
    assert_eq!(plan_of(&v1, &renamed, &[]).unwrap().name(), "rename_users_name_to_full_name");
    let retyped =
        schema(vec![table("users", vec![col("id", Integer), col("name", Integer)]).pk(&["id"])]);
    assert_eq!(plan_of(&v1, &retyped, &[]).unwrap().name(), "users_name_to_integer");
    let both = schema(vec![users(&["bio"]), table("teams", vec![col("id", Integer)]).pk(&["id"])]);
    assert_eq!(plan_of(&v1, &both, &[]).unwrap().name(), "add_users_bio_and_create_teams");
    assert_eq!(plan_of(&v1, &empty, &["users"]).unwrap().name(), "drop_users");
    let indexed = schema(vec![users(&[]).index("users_name_idx", &["name"])]);
    assert_eq!(plan_of(&v1, &indexed, &[]).unwrap().name(), "index_users_name");
}

#[test]
fn names_are_sanitised_and_short() {
    let many: Vec<_> = (0..20)
        .map(|i| table(&format!("Very Long Table Name {i}"), vec![col("a", Text)]))
        .collect();
    let p = plan_of(&Schema::default(), &schema(many), &[]).unwrap();
    let name = p.name();
    assert!(name.len() <= 60, "{name}");
    assert!(
        name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
        "{name}"
    );
    assert!(!name.contains("__") && !name.ends_with('_'), "{name}");
    assert!(name.starts_with("create_very_long_table_name_0"), "{name}");
    assert_eq!(sanitise_name("we\"ird--Name  ünï"), "we_ird_name_n");
    assert_eq!(sanitise_name(&"x".repeat(80)).len(), 60);
}

#[test]
fn empty_plan_for_equal_schemas_and_reordered_columns() {
    let v1 = schema(vec![users(&["bio"])]);
    assert!(plan_of(&v1, &v1, &[]).unwrap().is_empty());
    let mut reordered = v1.clone();
    reordered.tables.get_mut("users").unwrap().columns.reverse();
    let p = plan_of(&v1, &reordered, &[]).unwrap();
    assert!(p.is_empty() && p.render().is_empty());
}

#[test]
fn stale_renamed_from_is_ignored() {
    // The old schema has no column `gone`: the declaration changes nothing.
    let v1 = schema(vec![users(&[])]);
    let mut v2 = v1.clone();
    v2.tables.get_mut("users").unwrap().columns[1].renamed_from = Some("gone".into());
    v2.tables.get_mut("users").unwrap().renamed_from = Some("old_users".into());
    assert!(plan_of(&v1, &v2, &[]).unwrap().is_empty());
}

#[test]
fn errors_come_with_every_other_finding() {
    let v1 = schema(vec![users(&["bio"])]);
    let v2 = schema(vec![
        table("users", vec![col("id", Integer), col("name", Integer), col("email", Text)])
            .pk(&["id"]),
    ]);
    let f = plan_of(&v1, &v2, &[]).unwrap_err();
    assert!(f.iter().any(|f| f.severity == Severity::Error
        && f.code == "L2"
        && f.message.contains("backfill")));
    assert!(f.iter().any(|f| f.severity == Severity::Warning
        && f.code == "L2"
        && f.message.contains("changes type")));
    let shown = f.iter().find(|f| f.severity == Severity::Error).unwrap().to_string();
    assert!(shown.starts_with("error[L2]: table users: new NOT NULL column email"), "{shown}");
    assert!(
        f.iter().all(|f| f.message.chars().next().is_some_and(|c| !c.is_uppercase())),
        "messages are lowercase"
    );
}

#[test]
fn drops_children_first_and_creates_parents_first() {
    let parent = table("a_parent", vec![col("id", Integer)]).pk(&["id"]);
    let child = table("z_child", vec![col("id", Integer), col("p", Integer)]).pk(&["id"]).fk(
        &["p"],
        "a_parent",
        &["id"],
        Some(FkAction::Cascade),
    );
    let both = schema(vec![parent, child]);
    let p = plan_of(&both, &Schema::default(), &["a_parent", "z_child"]).unwrap();
    assert_eq!(p.render(), ["DROP TABLE \"z_child\";", "DROP TABLE \"a_parent\";"]);
    assert_eq!(
        p.header_comments(),
        ["-- godwit: allow-drop a_parent", "-- godwit: allow-drop z_child"]
    );
    let p = plan_of(&Schema::default(), &both, &[]).unwrap();
    assert!(p.render()[0].starts_with("CREATE TABLE \"a_parent\""));
}

#[test]
fn acknowledged_ambiguous_column_drop() {
    let v1 = schema(vec![users(&["bio"])]);
    let v2 = schema(vec![users(&["about"])]);
    let f = plan_of(&v1, &v2, &[]).unwrap_err();
    assert!(
        f.iter()
            .any(|f| f.code == "L13" && f.message.contains("bio") && f.message.contains("about"))
    );
    let p = plan_of(&v1, &v2, &["users.bio"]).unwrap();
    assert_eq!(p.header_comments(), ["-- godwit: allow-drop users.bio"]);
    assert_eq!(
        p.render(),
        [
            "ALTER TABLE \"users\" DROP COLUMN \"bio\";",
            "ALTER TABLE \"users\" ADD COLUMN \"about\" TEXT;"
        ]
    );
}

#[test]
fn one_renderer_for_create_and_rebuild() {
    let t = table(
        "t",
        vec![
            col("id", Integer),
            col("p", Integer).null(),
            col("s", Text).default("'x'").check("length(s) < 9"),
        ],
    )
    .pk(&["id"])
    .autoinc()
    .fk(&["p"], "t", &["id"], Some(FkAction::SetNull))
    .check(Some("c"), "id > 0")
    .strict();
    let fresh_sql = schema_core::plan::create_statements(&schema(vec![t.clone()]));
    let mut v2 = t.clone();
    v2.columns[2].default = Some(schema_core::model::DefaultValue::Literal("'y'".into()));
    let p = plan_of(&schema(vec![t]), &schema(vec![v2.clone()]), &[]).unwrap();
    let rebuilt =
        p.render().into_iter().find(|s| s.starts_with("CREATE TABLE \"__new_t\"")).unwrap();
    let fresh_v2 = schema_core::plan::create_statements(&schema(vec![v2]));
    assert_eq!(rebuilt.replacen("\"__new_t\"", "\"t\"", 1), fresh_v2[0]);
    assert!(fresh_sql[0].contains("REFERENCES \"t\" (\"id\") ON DELETE SET NULL"));
}

#[test]
fn changed_foreign_key_actions_are_named() {
    let s = |action: Option<FkAction>| {
        schema(vec![
            table("p", vec![col("id", Integer)]).pk(&["id"]),
            table("c", vec![col("id", Integer), col("p", Integer).null()]).pk(&["id"]).fk(
                &["p"],
                "p",
                &["id"],
                action,
            ),
        ])
    };
    let p = plan_of(&s(Some(FkAction::Cascade)), &s(None), &[]).unwrap();
    assert!(
        p.findings.iter().any(|f| f.code == "L4"
            && f.message == "table c: foreign key (p) to p changes its actions from ON UPDATE NO ACTION ON DELETE CASCADE to ON UPDATE NO ACTION ON DELETE NO ACTION"),
        "{:#?}",
        p.findings
    );
    assert!(!p.findings.iter().any(|f| f.code == "L2"), "no orphan warning for an action change");
    assert_eq!(p.name(), "c_change_p_foreign_key");
}

#[test]
fn structural_mistakes_are_refused() {
    let bad = schema(vec![
        table("a", vec![col("x", Text)]).pk(&["nope"]).index("ai", &["gone"]).autoinc(),
        table("b", vec![col("x", Text)]).without_rowid().fk(&["y"], "a", &["x"], None),
    ]);
    let f = plan_of(&Schema::default(), &bad, &[]).unwrap_err();
    let has =
        |code: &str, needle: &str| f.iter().any(|f| f.code == code && f.message.contains(needle));
    assert!(has("L12", "primary key column nope does not exist"), "{f:#?}");
    assert!(has("L12", "index ai names column gone"), "{f:#?}");
    assert!(has("L12", "AUTOINCREMENT needs a single INTEGER primary key"), "{f:#?}");
    assert!(has("L12", "WITHOUT ROWID needs a primary key"), "{f:#?}");
    assert!(has("L15", "foreign key column y does not exist"), "{f:#?}");
}

#[test]
fn derived_names_say_what_changed_within_60_characters_in_whole_words() {
    // Issue 12 problem 8: `rebuild_tasks` alone, and names cut mid-phrase.
    let tasks = |title_null: bool, desc_null: bool, extra: bool| {
        let title =
            if title_null { col("title", Text).null() } else { col("title", Text).backfill("''") };
        let desc = if desc_null {
            col("description", Text).null()
        } else {
            col("description", Text).backfill("''")
        };
        let mut cols = vec![col("id", Integer), title, desc];
        if extra {
            cols.push(col("due_date_of_the_task", Integer).null().unique());
        }
        schema(vec![table("tasks", cols).pk(&["id"])])
    };
    let v1 = tasks(true, true, false);
    assert_eq!(
        plan_of(&v1, &tasks(false, true, false), &[]).unwrap().name(),
        "tasks_make_title_not_null"
    );
    let long = plan_of(&v1, &tasks(false, false, true), &[]).unwrap().name();
    assert_eq!(long, "tasks_add_due_date_of_the_task_and_make_title_not_null");
    assert!(long.len() <= 60);
    // A swap is named by its declared renames, not by the temporary name.
    let ab = |swapped: bool| {
        let (a, b) = if swapped {
            (col("a", Text).from("b"), col("b", Text).from("a"))
        } else {
            (col("a", Text), col("b", Text))
        };
        schema(vec![table("t", vec![col("id", Integer), a, b]).pk(&["id"])])
    };
    assert_eq!(plan_of(&ab(false), &ab(true), &[]).unwrap().name(), "rename_t_a_to_b_b_to_a");
}

#[test]
fn an_allow_drop_entry_that_matches_nothing_is_reported() {
    let v1 = schema(vec![users(&["bio"])]);
    let v2 = schema(vec![users(&[])]);
    let p = plan_of(&v1, &v2, &["users.bio, users.bioo"]).unwrap();
    assert!(
        p.findings.iter().any(|f| f.code == "L1"
            && f.message.starts_with("MIGRATION_ALLOW_DROP entry users.bioo matches nothing")),
        "{:#?}",
        p.findings
    );
    assert!(!p.findings.iter().any(|f| f.message.contains("entry users.bio matches")));
}
