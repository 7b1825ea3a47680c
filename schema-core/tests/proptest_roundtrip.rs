//! Property test: random schema pairs (columns, types, nullability, defaults, uniques, indexes,
//! foreign keys, declared renames, backfills, drops acknowledged) plus rows. Every plan must
//! apply cleanly and yield exactly a fresh v2 with every surviving value preserved, or fail
//! inside its transaction (inexact conversion, duplicate for a new UNIQUE) changing nothing.

#![cfg(feature = "build")]

mod common;

use common::*;
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use rusqlite::Connection;
use schema_core::model::{Column, DefaultValue, FkAction, Index, Schema, SqlType, Table};

/// A small deterministic generator (xorshift64*), seeded by proptest.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const TYPES: [SqlType; 5] =
    [SqlType::Integer, SqlType::Real, SqlType::Text, SqlType::Blob, SqlType::Numeric];

/// A random type, weighted towards the common ones; NUMERIC is not allowed in STRICT tables.
fn random_type(rng: &mut Rng, strict: bool) -> SqlType {
    let ty = TYPES[[0, 0, 1, 2, 2, 3, 4][rng.below(7) as usize]];
    if strict && ty == SqlType::Numeric { SqlType::Integer } else { ty }
}

fn literal(ty: SqlType, rng: &mut Rng) -> String {
    match ty {
        SqlType::Integer => format!("{}", rng.below(50)),
        SqlType::Real => format!("{}.5", rng.below(50)),
        SqlType::Blob => format!("x'{:02x}'", rng.below(50)),
        SqlType::Numeric => format!("{}", rng.below(50)),
        _ => format!("'d{}'", rng.below(50)),
    }
}

fn random_column(name: String, rng: &mut Rng, strict: bool) -> Column {
    let ty = random_type(rng, strict);
    let mut c = Column::new(name, ty);
    c.nullable = rng.chance(60);
    if rng.chance(30) || !c.nullable {
        c.default = Some(DefaultValue::Literal(literal(ty, rng)));
    }
    c.unique = rng.chance(10) && c.nullable;
    c
}

fn v1(rng: &mut Rng) -> Schema {
    let mut s = Schema::default();
    let n = 1 + rng.below(3);
    for i in 0..n {
        let name = format!("t{i}");
        let mut t = Table::new(&name);
        t.strict = rng.chance(15);
        let with_pk = rng.chance(85);
        if with_pk {
            t.columns.push(Column::new("id", SqlType::Integer));
            t.primary_key = vec!["id".into()];
            t.autoincrement = rng.chance(20);
        }
        for k in 0..(1 + rng.below(4)) {
            t.columns.push(random_column(format!("c{k}"), rng, t.strict));
        }
        if i > 0 && rng.chance(50) {
            let parent = format!("t{}", rng.below(i));
            if s.table(&parent).is_some_and(|p| p.primary_key == ["id"]) {
                let mut c = Column::new("ref", SqlType::Integer);
                c.nullable = true;
                t.columns.push(c);
                t.foreign_keys.push(schema_core::model::ForeignKey {
                    columns: vec!["ref".into()],
                    ref_table: parent,
                    ref_columns: vec!["id".into()],
                    on_delete: [None, Some(FkAction::Cascade), Some(FkAction::SetNull)]
                        [rng.below(3) as usize],
                    on_update: None,
                });
            }
        }
        if rng.chance(40) {
            let c = t.columns[rng.below(t.columns.len() as u64) as usize].name.clone();
            let where_clause = rng.chance(30).then(|| format!("\"{c}\" IS NOT NULL"));
            t.indexes.push(Index {
                name: format!("ix_{name}_{c}"),
                columns: vec![c.clone()],
                unique: c != "ref" && rng.chance(30),
                where_clause,
            });
        }
        if rng.chance(20) {
            let c = t.columns.last().map(|c| c.name.clone()).unwrap_or_default();
            t.checks.push(schema_core::model::Check {
                name: rng.chance(50).then(|| format!("ck_{name}")),
                expr: format!("length(\"{c}\") >= 0"),
            });
        }
        t.without_rowid = with_pk && !t.autoincrement && rng.chance(10);
        if !with_pk && rng.chance(50) {
            // A composite primary key over the first two columns.
            if t.column("c1").is_none() {
                t.columns.push(random_column("c1".into(), rng, t.strict));
            }
            for c in t.columns.iter_mut().filter(|c| c.name == "c0" || c.name == "c1") {
                c.nullable = false;
                c.unique = false;
            }
            t.primary_key = vec!["c0".into(), "c1".into()];
            t.without_rowid = rng.chance(30);
        }
        s.insert(t);
    }
    s
}

/// Derives v2 from v1 with random changes; returns it and the MIGRATION_ALLOW_DROP entries.
fn v2(old: &Schema, rng: &mut Rng) -> (Schema, Vec<String>) {
    let mut allow = Vec::new();
    let mut tables: Vec<Table> = old.tables.values().cloned().collect();
    let last = tables.last().map(|t| t.name.clone()).unwrap_or_default();
    let referenced = |name: &str, tables: &[Table]| {
        tables.iter().any(|t| t.foreign_keys.iter().any(|f| f.ref_table == name))
    };
    // Drop the last table when nothing references it.
    if tables.len() > 1 && rng.chance(10) && !referenced(&last, &tables) {
        tables.pop();
        allow.push(last);
    }
    let mut table_renames: Vec<(String, String)> = Vec::new();
    for t in &mut tables {
        let mut dropped_cols = Vec::new();
        let mut col_renames: Vec<(String, String)> = Vec::new();
        let fk_cols: Vec<String> = t.foreign_keys.iter().flat_map(|f| f.columns.clone()).collect();
        let mut cols = Vec::new();
        let strict = t.strict;
        let pk_cols = t.primary_key.clone();
        let without_rowid = t.without_rowid;
        for c in t.columns.drain(..) {
            if c.name != "id" && pk_cols.contains(&c.name) {
                // Composite primary-key columns: renamed or retyped, never dropped.
                let mut n = c.clone();
                match rng.below(10) {
                    0 => {
                        n.name = format!("{}_r", c.name);
                        n.renamed_from = Some(c.name.clone());
                        col_renames.push((c.name.clone(), n.name.clone()));
                    }
                    // (WITHOUT ROWID rows are keyed by these values in the check, so keep their type.)
                    1 if !without_rowid => n.ty = random_type(rng, strict),
                    _ => {}
                }
                if n.ty != c.ty && n.default.is_some() {
                    n.default = Some(DefaultValue::Literal(literal(n.ty, rng)));
                }
                cols.push(n);
                continue;
            }
            let fixed = c.name == "id" || fk_cols.contains(&c.name);
            let roll = rng.below(100);
            if fixed && c.name != "id" && roll < 15 {
                // A foreign-key column renamed: the foreign key follows.
                let mut n = c.clone();
                n.name = format!("{}_r", c.name);
                n.renamed_from = Some(c.name.clone());
                col_renames.push((c.name.clone(), n.name.clone()));
                cols.push(n);
            } else if fixed {
                cols.push(c);
            } else if roll < 10 {
                dropped_cols.push(c.name.clone());
            } else if roll < 20 {
                let mut n = c.clone();
                n.name = format!("{}_r", c.name);
                n.renamed_from = Some(c.name.clone());
                col_renames.push((c.name.clone(), n.name.clone()));
                cols.push(n);
            } else if roll < 30 {
                let mut n = c.clone();
                n.ty = random_type(rng, strict);
                if n.default.is_some() {
                    n.default = Some(DefaultValue::Literal(literal(n.ty, rng)));
                }
                cols.push(n);
            } else if roll < 38 {
                let mut n = c.clone();
                n.nullable = !c.nullable;
                if !n.nullable {
                    n.backfill = Some(literal(n.ty, rng));
                    n.unique = false;
                }
                cols.push(n);
            } else if roll < 44 {
                let mut n = c.clone();
                n.default = if c.default.is_some() && c.nullable {
                    None
                } else {
                    Some(DefaultValue::Literal(literal(c.ty, rng)))
                };
                cols.push(n);
            } else if roll < 48 && c.nullable {
                let mut n = c.clone();
                n.unique = !c.unique;
                cols.push(n);
            } else {
                cols.push(c);
            }
        }
        for k in 0..rng.below(3) {
            let mut c = random_column(format!("n{k}"), rng, t.strict);
            if !c.nullable && rng.chance(50) {
                c.default = None;
                c.backfill = Some(literal(c.ty, rng));
                c.unique = false;
            }
            cols.push(c);
        }
        if cols.is_empty() {
            let mut c = random_column("n9".into(), rng, t.strict);
            c.unique = false;
            if !c.nullable {
                c.default = Some(DefaultValue::Literal(literal(c.ty, rng)));
            }
            cols.push(c);
        }
        t.columns = cols;
        for d in &dropped_cols {
            allow.push(format!("{}.{d}", t.name));
        }
        let rename = |c: &String| {
            col_renames.iter().find(|(f, _)| f == c).map_or_else(|| c.clone(), |(_, n)| n.clone())
        };
        let mentions_dropped =
            |text: &str| dropped_cols.iter().any(|d| text.contains(&format!("\"{d}\"")));
        t.indexes.retain(|i| {
            !i.columns.iter().any(|c| dropped_cols.contains(c))
                && !i.where_clause.as_deref().is_some_and(mentions_dropped)
        });
        let rename_text = |text: &str| {
            col_renames.iter().fold(text.to_string(), |acc, (f, n)| {
                acc.replace(&format!("\"{f}\""), &format!("\"{n}\""))
            })
        };
        for i in &mut t.indexes {
            i.columns = i.columns.iter().map(rename).collect();
            i.where_clause = i.where_clause.as_deref().map(rename_text);
        }
        t.primary_key = t.primary_key.iter().map(rename).collect();
        for fk in &mut t.foreign_keys {
            fk.columns = fk.columns.iter().map(rename).collect();
            if rng.chance(10) {
                fk.on_delete = [
                    None,
                    Some(FkAction::Cascade),
                    Some(FkAction::SetNull),
                    Some(FkAction::Restrict),
                ][rng.below(4) as usize];
            }
        }
        if rng.chance(8) {
            t.foreign_keys.clear();
        }
        t.checks.retain(|c| !mentions_dropped(&c.expr));
        for c in &mut t.checks {
            c.expr = rename_text(&c.expr);
        }
        if rng.chance(20) {
            if t.indexes.is_empty() {
                let c = t.columns[rng.below(t.columns.len() as u64) as usize].name.clone();
                t.indexes.push(Index {
                    name: format!("iy_{}_{c}", t.name),
                    columns: vec![c],
                    unique: false,
                    where_clause: None,
                });
            } else {
                t.indexes.clear();
            }
        }
        // Table options.
        if rng.chance(6) {
            t.strict = !t.strict;
            if t.strict {
                for c in &mut t.columns {
                    if c.ty == SqlType::Numeric {
                        c.ty = SqlType::Integer;
                        if c.default.is_some() {
                            c.default = Some(DefaultValue::Literal(literal(c.ty, rng)));
                        }
                    }
                }
            }
        }
        // (WITHOUT ROWID is toggled only on tables keyed by `id`, where rowid and key agree.)
        if t.primary_key == ["id"] && rng.chance(6) {
            if t.autoincrement {
                t.autoincrement = false;
            } else if t.without_rowid {
                t.without_rowid = false;
            } else if rng.chance(50) {
                t.autoincrement = true;
            } else {
                t.without_rowid = true;
            }
        }
        if rng.chance(20) {
            let new = format!("{}_r", t.name);
            table_renames.push((t.name.clone(), new.clone()));
            t.renamed_from = Some(t.name.clone());
            t.name = new;
        }
    }
    for t in &mut tables {
        for fk in &mut t.foreign_keys {
            if let Some((_, n)) = table_renames.iter().find(|(o, _)| *o == fk.ref_table) {
                fk.ref_table = n.clone();
            }
        }
    }
    if rng.chance(15) {
        let mut t = Table::new("added");
        t.columns.push(Column::new("id", SqlType::Integer));
        t.primary_key = vec!["id".into()];
        t.columns.push(random_column("v".into(), rng, false));
        tables.push(t);
    }
    let mut s = Schema::default();
    for t in tables {
        s.insert(t);
    }
    (s, allow)
}

/// Inserts rows: distinct values per row, foreign keys pointing at existing parents.
fn insert_rows(conn: &Connection, s: &Schema, rng: &mut Rng) {
    let mut counts: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    for t in s.tables.values() {
        let n = rng.below(5);
        for r in 1..=n {
            let mut names = Vec::new();
            let mut values = Vec::new();
            for (k, c) in t.columns.iter().enumerate() {
                let v = if c.name == "id" {
                    format!("{r}")
                } else if let Some(fk) = t.foreign_keys.iter().find(|f| f.columns.contains(&c.name))
                {
                    let parents = counts.get(&fk.ref_table).copied().unwrap_or(0);
                    if parents == 0 || rng.chance(30) {
                        "NULL".into()
                    } else {
                        format!("{}", 1 + rng.below(parents))
                    }
                } else if c.nullable && rng.chance(25) {
                    "NULL".into()
                } else {
                    match (c.ty, rng.below(3)) {
                        (SqlType::Integer, _) => format!("{}", r * 10 + k as u64),
                        (SqlType::Real, 0) => format!("{}.0", r * 10 + k as u64),
                        (SqlType::Real, _) => format!("{r}.25"),
                        (SqlType::Blob, _) => format!("x'{r:02x}{k:02x}'"),
                        (SqlType::Numeric, 0) => format!("'{}'", r * 10 + k as u64),
                        (SqlType::Numeric, _) => format!("{}.5", r * 10 + k as u64),
                        (_, 0) => format!("'s{r}'"),
                        (_, _) => format!("'{}'", r * 10 + k as u64),
                    }
                };
                names.push(format!("\"{}\"", c.name));
                values.push(v);
            }
            conn.execute_batch(&format!(
                "INSERT INTO \"{}\" ({}) VALUES ({})",
                t.name,
                names.join(", "),
                values.join(", ")
            ))
            .unwrap();
        }
        counts.insert(t.name.clone(), n);
    }
}

/// Views over whole tables and triggers on them, created after the rows.
fn dependents_sql(s: &Schema, rng: &mut Rng) -> Vec<String> {
    let mut out = Vec::new();
    for t in s.tables.keys() {
        if rng.chance(25) {
            out.push(format!("CREATE VIEW \"v_{t}\" AS SELECT * FROM \"{t}\""));
        }
        if rng.chance(25) {
            out.push(format!(
                "CREATE TRIGGER \"tr_{t}\" AFTER INSERT ON \"{t}\" BEGIN SELECT 1; END"
            ));
        }
    }
    out
}

fn views_and_triggers(conn: &Connection) -> Vec<String> {
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type IN ('view', 'trigger') ORDER BY name")
        .unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

fn tables_only(mut shape: schema_core::introspect::DbShape) -> schema_core::introspect::DbShape {
    shape.views.clear();
    shape.triggers.clear();
    shape
}

fn check_case(seed: u64) -> Result<(), TestCaseError> {
    let mut rng = Rng(seed | 1);
    let old = v1(&mut rng);
    let (new, allow) = v2(&old, &mut rng);
    let mut conn = fresh(&old, &[]);
    insert_rows(&conn, &old, &mut rng);
    for d in dependents_sql(&old, &mut rng) {
        conn.execute_batch(&d).unwrap();
    }
    let allow_refs: Vec<&str> = allow.iter().map(String::as_str).collect();
    let p = match plan_for(&conn, &old, &new, &allow_refs) {
        Ok(p) => p,
        // Views or triggers on a table that is dropped, or renamed and rebuilt at once: refused
        // on purpose (L10), with a message saying what to do.
        Err(f)
            if f.iter()
                .all(|f| f.severity != schema_core::plan::Severity::Error || f.code == "L10") =>
        {
            return Ok(());
        }
        Err(f) => return Err(TestCaseError::fail(format!("plan refused for seed {seed}: {f:#?}"))),
    };
    let deps_before = views_and_triggers(&conn);
    let again = plan_for(&conn, &old, &new, &allow_refs).unwrap();
    prop_assert_eq!(p.render(), again.render());
    let before = dump_all(&conn, &old);
    let shape_before = schema_core::introspect::describe(&conn).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
    match apply(&mut conn, &p.render()) {
        Ok(()) => {
            integrity_ok(&conn);
            let d = schema_core::introspect::differences(
                &schema_core::introspect::describe(&fresh(&new, &[])).unwrap(),
                &tables_only(schema_core::introspect::describe(&conn).unwrap()),
            );
            prop_assert!(d.is_empty(), "seed {}: {:?}\n{}", seed, d, file_text(&p));
            // Every view and trigger survives (except triggers on dropped tables), and views work.
            let expected: Vec<String> = deps_before
                .iter()
                .filter(|n| !allow.iter().any(|a| !a.contains('.') && **n == format!("tr_{a}")))
                .cloned()
                .collect();
            prop_assert_eq!(views_and_triggers(&conn), expected);
            for v in views_and_triggers(&conn).iter().filter(|n| n.starts_with("v_")) {
                conn.prepare(&format!("SELECT * FROM \"{v}\" LIMIT 0"))
                    .map_err(|e| TestCaseError::fail(format!("seed {seed}: view {v}: {e}")))?;
            }
            assert_rows_preserved(&conn, &old, &new, &before);
        }
        Err(e) => {
            prop_assert!(
                e.contains("does not convert exactly")
                    || e.contains("appears more than once")
                    || e.contains("UNIQUE constraint failed"),
                "seed {}: unexpected failure {}\n{}",
                seed,
                e,
                file_text(&p)
            );
            prop_assert_eq!(dump_all(&conn, &old), before);
            prop_assert_eq!(schema_core::introspect::describe(&conn).unwrap(), shape_before);
        }
    }
    Ok(())
}

proptest! {
    // A failing seed is reproducible (the hand-rolled generator is seeded by proptest) and
    // persisted to proptest-regressions/.
    #![proptest_config(ProptestConfig {
        cases: 2000,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/proptest_roundtrip.txt",
        ))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_schema_pairs_migrate_exactly(seed in any::<u64>()) {
        check_case(seed)?;
    }
}

#[test]
fn identical_input_gives_identical_sql() {
    for seed in 1..200u64 {
        let mut rng = Rng(seed * 7919);
        let old = v1(&mut rng);
        let (new, allow) = v2(&old, &mut rng);
        let deps = [];
        let input = schema_core::plan::PlanInput {
            old: &snapshot(&old),
            new: &new,
            dependents: &deps,
            allow_drop: &allow,
        };
        let a =
            schema_core::plan::plan(&input).map(|p| (p.render(), p.name(), p.header_comments()));
        let b = schema_core::plan::plan(&input.clone())
            .map(|p| (p.render(), p.name(), p.header_comments()));
        assert_eq!(a, b, "seed {seed}");
    }
}

/// The generator must mostly produce migrations that apply, or the property above proves little.
#[test]
fn most_random_cases_apply() {
    let mut applied = 0;
    let mut rebuilt = 0;
    let mut refused = 0;
    let mut with_deps = 0;
    for seed in 1..=300u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let old = v1(&mut rng);
        let (new, allow) = v2(&old, &mut rng);
        let mut conn = fresh(&old, &[]);
        insert_rows(&conn, &old, &mut rng);
        let deps = dependents_sql(&old, &mut rng);
        with_deps += usize::from(!deps.is_empty());
        for d in deps {
            conn.execute_batch(&d).unwrap();
        }
        let allow_refs: Vec<&str> = allow.iter().map(String::as_str).collect();
        let Ok(p) = plan_for(&conn, &old, &new, &allow_refs) else {
            refused += 1;
            continue;
        };
        if p.render().iter().any(|s| s.starts_with("CREATE TABLE \"__new_")) {
            rebuilt += 1;
        }
        if apply(&mut conn, &p.render()).is_ok() {
            applied += 1;
        }
    }
    eprintln!(
        "applied {applied}/300, with a rebuild {rebuilt}/300, refused {refused}, with views or triggers {with_deps}"
    );
    assert!(refused <= 30, "{refused} of 300 random plans refused");
    assert!(with_deps >= 60, "only {with_deps} of 300 cases have views or triggers");
    assert!(applied >= 200, "only {applied} of 300 random migrations applied");
    assert!(rebuilt >= 100, "only {rebuilt} of 300 random migrations rebuild a table");
}

// ---------------------------------------------------------------- renames as a permutation
//
// Tables and columns renamed as a whole permutation: renames onto the names of dropped or
// renamed-away items (freed names), shifts, swaps and case-only renames, with drops
// (acknowledged), optional rebuilds, views and triggers, and rows whose every value is checked
// after the migration. The strategy is plain proptest data, so a failure shrinks to a small case.

/// What happens to one old table or column: `kind` 0 keep, 1-2 rename onto the `target`-th name
/// of the pool (old names, then fresh ones), 3 drop; `flip` renames a kept one to upper case.
#[derive(Debug, Clone)]
struct PermItem {
    kind: u8,
    target: u8,
    flip: bool,
}

#[derive(Debug, Clone)]
struct PermTable {
    item: PermItem,
    columns: Vec<PermItem>,
    /// The first surviving column becomes NOT NULL with a backfill (a rebuild).
    rebuild: bool,
    view: bool,
    /// The view names `c0` (instead of `*`): after the migration it must show the values of the
    /// column `c0` became.
    view_named: bool,
    trigger: bool,
    /// (Tables after the first.) A column `p` referencing the first table, when both stay.
    fk: bool,
}

#[derive(Debug, Clone)]
struct PermCase {
    tables: Vec<PermTable>,
    rows: u8,
    /// A table `k` whose ON DELETE CASCADE foreign key references the first table that stays.
    child: bool,
}

fn perm_item() -> impl Strategy<Value = PermItem> {
    (0u8..4, 0u8..8, prop::bool::weighted(0.15)).prop_map(|(kind, target, flip)| PermItem {
        kind,
        target,
        flip,
    })
}

fn perm_case() -> impl Strategy<Value = PermCase> {
    let table =
        (
            perm_item(),
            prop::collection::vec(perm_item(), 1..=4),
            prop::bool::weighted(0.3),
            prop::bool::weighted(0.3),
            any::<bool>(),
            prop::bool::weighted(0.25),
            prop::bool::weighted(0.4),
        )
            .prop_map(|(item, columns, rebuild, view, view_named, trigger, fk)| {
                PermTable { item, columns, rebuild, view, view_named, trigger, fk }
            });
    (prop::collection::vec(table, 1..=3), 0u8..4, prop::bool::weighted(0.4))
        .prop_map(|(tables, rows, child)| PermCase { tables, rows, child })
}

/// The new name of each old name (`None`: dropped): kept names stay reserved, renames take the
/// first free name of the pool from their target on, case flips keep the name up to case.
fn perm_assign(old: &[String], items: &[PermItem], fresh: &str) -> Vec<Option<String>> {
    let pool: Vec<String> =
        old.iter().cloned().chain((0..3).map(|k| format!("{fresh}{k}"))).collect();
    let lower = |s: &str| s.to_ascii_lowercase();
    let mut taken: Vec<String> =
        old.iter().zip(items).filter(|(_, i)| i.kind == 0).map(|(n, _)| lower(n)).collect();
    let mut out = Vec::new();
    for (name, item) in old.iter().zip(items) {
        out.push(match item.kind {
            0 if item.flip => Some(name.to_ascii_uppercase()),
            0 => Some(name.clone()),
            3 => None,
            _ => {
                let start = usize::from(item.target) % pool.len();
                let pick = (0..pool.len())
                    .map(|k| &pool[(start + k) % pool.len()])
                    .find(|p| *p != name && !taken.contains(&lower(p)));
                match pick {
                    Some(p) => {
                        taken.push(lower(p));
                        Some(p.clone())
                    }
                    None => None,
                }
            }
        });
    }
    out
}

fn perm_type(k: usize) -> SqlType {
    if k.is_multiple_of(2) { SqlType::Text } else { SqlType::Integer }
}

fn perm_value(ty: SqlType, row: u8, t: usize, k: usize) -> String {
    if (usize::from(row) + k + t).is_multiple_of(3) {
        "NULL".into()
    } else if ty == SqlType::Text {
        format!("'v{t}_{k}_{row}'")
    } else {
        format!("{}", usize::from(row) * 100 + t * 10 + k)
    }
}

/// A table that stays, under its old and new names.
#[derive(Clone)]
struct KeptTable {
    old: String,
    new: String,
    columns: Vec<KeptColumn>,
}

/// A column that stays; `backfilled` when it became NOT NULL with a backfill.
#[derive(Clone)]
struct KeptColumn {
    old: String,
    new: String,
    backfilled: bool,
}

/// The old schema, the new one (with `renamed_from`), the acknowledgements, and for each new
/// table the old table and `(new column, old column)` pairs.
struct PermSchemas {
    old: Schema,
    new: Schema,
    allow: Vec<String>,
    kept: Vec<KeptTable>,
    dropped_tables: Vec<String>,
}

fn perm_schemas(case: &PermCase) -> PermSchemas {
    let mut old = Schema::default();
    let old_tables: Vec<String> = (0..case.tables.len()).map(|t| format!("t{t}")).collect();
    let items: Vec<PermItem> = case.tables.iter().map(|t| t.item.clone()).collect();
    let table_names = perm_assign(&old_tables, &items, "u");
    let with_fk = |t: usize| {
        t > 0 && case.tables[t].fk && table_names[0].is_some() && table_names[t].is_some()
    };
    let fk_column = |tab: &mut Table, parent: &str| {
        let mut c = Column::new("p", SqlType::Integer);
        c.nullable = true;
        tab.columns.push(c);
        tab.foreign_keys.push(schema_core::model::ForeignKey {
            columns: vec!["p".into()],
            ref_table: parent.into(),
            ref_columns: vec!["id".into()],
            on_delete: Some(FkAction::Cascade),
            on_update: None,
        });
    };
    for (t, pt) in case.tables.iter().enumerate() {
        let mut tab = Table::new(&old_tables[t]);
        tab.columns.push(Column::new("id", SqlType::Integer));
        tab.primary_key = vec!["id".into()];
        for k in 0..pt.columns.len() {
            let mut c = Column::new(format!("c{k}"), perm_type(k));
            c.nullable = true;
            tab.columns.push(c);
        }
        if with_fk(t) {
            fk_column(&mut tab, "t0");
        }
        old.insert(tab);
    }
    let mut new = Schema::default();
    let mut allow = Vec::new();
    let mut kept = Vec::new();
    let mut dropped_tables = Vec::new();
    for (t, pt) in case.tables.iter().enumerate() {
        let old_name = &old_tables[t];
        let Some(new_name) = &table_names[t] else {
            allow.push(old_name.clone());
            dropped_tables.push(old_name.clone());
            continue;
        };
        let old_cols: Vec<String> = (0..pt.columns.len()).map(|k| format!("c{k}")).collect();
        let col_names = perm_assign(&old_cols, &pt.columns, "d");
        let mut tab = Table::new(new_name);
        if new_name != old_name {
            tab.renamed_from = Some(old_name.clone());
        }
        tab.columns.push(Column::new("id", SqlType::Integer));
        tab.primary_key = vec!["id".into()];
        let mut pairs = Vec::new();
        let mut backfill_done = !pt.rebuild;
        for (k, new_col) in col_names.iter().enumerate() {
            let Some(new_col) = new_col else {
                allow.push(format!("{new_name}.{}", old_cols[k]));
                continue;
            };
            let mut c = Column::new(new_col.clone(), perm_type(k));
            c.nullable = true;
            if new_col != &old_cols[k] {
                c.renamed_from = Some(old_cols[k].clone());
            }
            let backfilled = !backfill_done;
            if backfilled {
                c.nullable = false;
                c.backfill =
                    Some(if perm_type(k) == SqlType::Text { "'-'".into() } else { "-1".into() });
                backfill_done = true;
            }
            tab.columns.push(c);
            pairs.push(KeptColumn { old: old_cols[k].clone(), new: new_col.clone(), backfilled });
        }
        if with_fk(t) {
            fk_column(&mut tab, table_names[0].as_deref().unwrap_or_default());
            pairs.push(KeptColumn { old: "p".into(), new: "p".into(), backfilled: false });
        }
        new.insert(tab);
        kept.push(KeptTable { old: old_name.clone(), new: new_name.clone(), columns: pairs });
    }
    if case.child
        && let Some(KeptTable { old: old_parent, new: new_parent, .. }) = kept.first().cloned()
    {
        let child = |parent: &str| {
            let mut k = Table::new("k");
            k.columns.push(Column::new("id", SqlType::Integer));
            let mut r = Column::new("ref", SqlType::Integer);
            r.nullable = true;
            k.columns.push(r);
            k.primary_key = vec!["id".into()];
            k.foreign_keys.push(schema_core::model::ForeignKey {
                columns: vec!["ref".into()],
                ref_table: parent.into(),
                ref_columns: vec!["id".into()],
                on_delete: Some(FkAction::Cascade),
                on_update: None,
            });
            k
        };
        old.insert(child(&old_parent));
        new.insert(child(&new_parent));
        kept.push(KeptTable {
            old: "k".into(),
            new: "k".into(),
            columns: vec![KeptColumn { old: "ref".into(), new: "ref".into(), backfilled: false }],
        });
    }
    PermSchemas { old, new, allow, kept, dropped_tables }
}

fn rows_of(conn: &Connection, sql: &str) -> Vec<Vec<rusqlite::types::Value>> {
    let mut stmt = conn.prepare(sql).unwrap();
    let n = stmt.column_count();
    stmt.query_map([], |r| (0..n).map(|k| r.get(k)).collect::<Result<Vec<_>, _>>())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn perm_check(case: &PermCase) -> Result<(), TestCaseError> {
    let s = perm_schemas(case);
    let mut conn = fresh(&s.old, &[]);
    for (t, pt) in case.tables.iter().enumerate() {
        for row in 1..=case.rows {
            let mut values = vec![row.to_string()];
            values.extend((0..pt.columns.len()).map(|k| perm_value(perm_type(k), row, t, k)));
            if s.old.table(&format!("t{t}")).is_some_and(|tab| tab.column("p").is_some()) {
                values.push(row.to_string());
            }
            conn.execute_batch(&format!("INSERT INTO \"t{t}\" VALUES ({})", values.join(", ")))
                .unwrap();
        }
        if pt.view {
            let what = if pt.view_named { "id, c0" } else { "*" };
            conn.execute_batch(&format!("CREATE VIEW \"w{t}\" AS SELECT {what} FROM \"t{t}\""))
                .unwrap();
        }
        if pt.trigger {
            conn.execute_batch(&format!(
                "CREATE TRIGGER \"g{t}\" AFTER INSERT ON \"t{t}\" BEGIN SELECT 1; END"
            ))
            .unwrap();
        }
    }
    if s.old.table("k").is_some() {
        for row in 1..=case.rows {
            conn.execute_batch(&format!("INSERT INTO \"k\" VALUES ({row}, {row})")).unwrap();
        }
    }
    let allow: Vec<&str> = s.allow.iter().map(String::as_str).collect();
    let p = match plan_for(&conn, &s.old, &s.new, &allow) {
        Ok(p) => p,
        // A view over a dropped table or column: refused on purpose, naming the view.
        Err(f)
            if f.iter().all(|f| {
                f.severity != schema_core::plan::Severity::Error
                    || (f.code == "L10"
                        && f.message.starts_with("view w")
                        && f.message.contains("drops"))
            }) =>
        {
            return Ok(());
        }
        Err(f) => return Err(TestCaseError::fail(format!("plan refused: {f:#?}"))),
    };
    let before = dump_all(&conn, &s.old);
    apply(&mut conn, &p.render())
        .map_err(|e| TestCaseError::fail(format!("apply failed: {e}\n{}", file_text(&p))))?;
    integrity_ok(&conn);
    let d = schema_core::introspect::differences(
        &schema_core::introspect::describe(&fresh(&s.new, &[])).unwrap(),
        &tables_only(schema_core::introspect::describe(&conn).unwrap()),
    );
    prop_assert!(d.is_empty(), "{:?}\n{}", d, file_text(&p));
    for KeptTable { old: old_t, new: new_t, columns: pairs } in &s.kept {
        let after = dump(&conn, new_t);
        let prev = &before[old_t];
        prop_assert_eq!(after.len(), prev.len(), "row count of {}", new_t);
        for (key, row) in prev {
            for KeptColumn { old: old_c, new: new_c, backfilled } in pairs {
                let old_v = &row[old_c];
                let new_v = &after[key][new_c];
                let want = if *backfilled && *old_v == rusqlite::types::Value::Null {
                    let ty = s.new.table(new_t).unwrap().column(new_c).unwrap().ty;
                    if ty == SqlType::Text {
                        rusqlite::types::Value::Text("-".into())
                    } else {
                        rusqlite::types::Value::Integer(-1)
                    }
                } else {
                    old_v.clone()
                };
                prop_assert_eq!(
                    new_v,
                    &want,
                    "table {} (was {}) column {} (was {}) row {}\n{}",
                    new_t,
                    old_t,
                    new_c,
                    old_c,
                    key,
                    file_text(&p)
                );
            }
        }
    }
    // Views still compile; triggers survive unless their table was dropped.
    for (t, pt) in case.tables.iter().enumerate() {
        let gone = s.dropped_tables.contains(&format!("t{t}"));
        if pt.view && !gone {
            conn.prepare(&format!("SELECT * FROM \"w{t}\" LIMIT 0"))
                .map_err(|e| TestCaseError::fail(format!("view w{t}: {e}\n{}", file_text(&p))))?;
        }
        let became = s.kept.iter().find(|k| k.old == format!("t{t}")).and_then(|k| {
            k.columns.iter().find(|c| c.old == "c0").map(|c| (k.new.clone(), c.new.clone()))
        });
        if pt.view
            && pt.view_named
            && let Some((new_t, new_c)) = became
        {
            let shown = rows_of(&conn, &format!("SELECT * FROM \"w{t}\" ORDER BY 1"));
            let want =
                rows_of(&conn, &format!("SELECT id, \"{new_c}\" FROM \"{new_t}\" ORDER BY 1"));
            prop_assert_eq!(shown, want, "view w{} follows c0\n{}", t, file_text(&p));
        }
        if pt.trigger {
            let n =
                count(&conn, &format!("SELECT count(*) FROM sqlite_schema WHERE name = 'g{t}'"));
            prop_assert_eq!(n, i64::from(!gone), "trigger g{}\n{}", t, file_text(&p));
        }
    }
    Ok(())
}

proptest! {
    // 400 cases, about 3 s in a debug build on one core (measured with `cargo test -p
    // schema-core --test proptest_roundtrip renames_`).
    #![proptest_config(ProptestConfig {
        cases: 400,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/proptest_roundtrip.txt",
        ))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn renames_as_permutations_keep_every_value(case in perm_case()) {
        perm_check(&case)?;
    }
}

/// The permutation strategy must really produce swaps, shifts and renames onto freed names of
/// both columns and tables, or the property above proves little.
#[test]
fn permutation_cases_cover_swaps_shifts_and_freed_names() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut column_swaps, mut table_swaps, mut onto_freed, mut shifts, mut case_only) =
        (0, 0, 0, 0, 0);
    for _ in 0..400 {
        let case = perm_case().new_tree(&mut runner).unwrap().current();
        let s = perm_schemas(&case);
        let conn = fresh(&s.old, &[]);
        let allow: Vec<&str> = s.allow.iter().map(String::as_str).collect();
        let Ok(p) = plan_for(&conn, &s.old, &s.new, &allow) else { continue };
        let sql = p.render().join("\n");
        column_swaps += usize::from(sql.contains("TO \"__godwit_"));
        table_swaps += usize::from(
            sql.contains("RENAME TO \"__rename_t") || sql.contains("RENAME TO \"__rename_u"),
        );
        let renames = p.renames();
        // A rename whose target was an old name of the same kind that was dropped or moved.
        onto_freed += usize::from(renames.iter().any(|(_, to)| {
            s.old.tables.values().any(|t| t.name == *to || t.columns.iter().any(|c| c.name == *to))
        }));
        shifts +=
            usize::from(renames.windows(2).any(|w| w[0].0 == w[1].1 && !w[0].1.starts_with("__")));
        case_only += usize::from(renames.iter().any(|(f, t)| f != t && f.eq_ignore_ascii_case(t)));
    }
    eprintln!(
        "column swaps {column_swaps}, table swaps {table_swaps}, onto freed names {onto_freed}, shifts {shifts}, case-only {case_only} of 400"
    );
    assert!(
        column_swaps >= 20
            && table_swaps >= 5
            && onto_freed >= 60
            && shifts >= 20
            && case_only >= 20
    );
}

/// Old values for the type-change property: every storage class, and the 2^53 and 2^63
/// boundaries in each.
const BOUNDARY_VALUES: &[&str] = &[
    "NULL",
    "0",
    "-1",
    "9007199254740992",
    "9007199254740993",
    "-9007199254740993",
    "9223372036854775807",
    "-9223372036854775808",
    "2.0",
    "0.5",
    "9007199254740992.0",
    "9007199254740994.0",
    "9223372036854775808.0",
    "-9223372036854775808.0",
    "1e300",
    "'7'",
    "'007'",
    "'2.5'",
    "'9223372036854775807'",
    "'9223372036854775808'",
    "'x'",
    "''",
    "x'37'",
    "x'C3A9'",
    "x'C328'",
    "x'F4908080'",
    "x''",
];

const ANY_TYPES: [SqlType; 6] =
    [SqlType::Integer, SqlType::Real, SqlType::Text, SqlType::Blob, SqlType::Numeric, SqlType::Any];

fn type_for(rng: &mut Rng, strict: bool) -> SqlType {
    loop {
        let ty = ANY_TYPES[rng.below(6) as usize];
        if (strict && ty != SqlType::Numeric) || (!strict && ty != SqlType::Any) {
            return ty;
        }
    }
}

/// The storage classes a retyped column may hold.
fn storage_classes(ty: SqlType) -> &'static [&'static str] {
    match ty {
        SqlType::Integer => &["integer"],
        SqlType::Real => &["real"],
        SqlType::Text => &["text"],
        SqlType::Blob => &["blob"],
        SqlType::Numeric => &["integer", "real"],
        SqlType::Any => &["integer", "real", "text", "blob"],
    }
}

/// One table with boundary values of every storage class, then random type changes (with
/// renames, NOT NULL + backfill, becoming STRICT): the migration either gives every old value
/// the new type's storage class, converted exactly (`converts_to`), or fails inside its
/// transaction naming a value, changing nothing.
fn check_type_change(seed: u64) -> Result<TypeChange, TestCaseError> {
    let mut rng = Rng(seed | 1);
    let strict = rng.chance(30);
    let mut t = Table::new("t");
    t.strict = strict;
    t.columns.push(Column::new("id", SqlType::Integer));
    t.primary_key = vec!["id".into()];
    t.without_rowid = rng.chance(20);
    let ncols = 1 + rng.below(3) as usize;
    for k in 0..ncols {
        let mut c = Column::new(format!("c{k}"), type_for(&mut rng, strict));
        c.nullable = true;
        t.columns.push(c);
    }
    let old = schema(vec![t.clone()]);
    let mut conn = fresh(&old, &[]);
    for id in 1..=8 {
        let values: Vec<&str> = (0..ncols)
            .map(|_| BOUNDARY_VALUES[rng.below(BOUNDARY_VALUES.len() as u64) as usize])
            .collect();
        // A STRICT column refuses other classes: that row is simply not there.
        let _ = conn.execute_batch(&format!("INSERT INTO t VALUES ({id}, {})", values.join(", ")));
    }
    let mut n = t.clone();
    n.strict = strict || rng.chance(15);
    let mut retyped = Vec::new();
    for c in n.columns.iter_mut().skip(1) {
        let old_name = c.name.clone();
        if rng.chance(70) {
            c.ty = type_for(&mut rng, n.strict);
        } else if n.strict && c.ty == SqlType::Numeric {
            c.ty = SqlType::Integer;
        }
        if rng.chance(20) {
            c.name = format!("{old_name}_r");
            c.renamed_from = Some(old_name.clone());
        }
        if rng.chance(15) {
            c.nullable = false;
            c.backfill = Some(
                match c.ty {
                    SqlType::Real => "1.5",
                    SqlType::Text => "'b'",
                    SqlType::Blob => "x'62'",
                    _ => "3",
                }
                .into(),
            );
        }
        if c.ty != t.column(&old_name).unwrap().ty || (n.strict && !strict) {
            retyped.push((old_name, c.name.clone(), c.ty));
        }
    }
    let new = schema(vec![n]);
    let p = plan_for(&conn, &old, &new, &[])
        .map_err(|f| TestCaseError::fail(format!("seed {seed}: plan refused: {f:#?}")))?;
    let before = dump_all(&conn, &old);
    match apply(&mut conn, &p.render()) {
        Ok(()) => {
            integrity_ok(&conn);
            let d = schema_core::introspect::differences(
                &schema_core::introspect::describe(&fresh(&new, &[])).unwrap(),
                &schema_core::introspect::describe(&conn).unwrap(),
            );
            prop_assert!(d.is_empty(), "seed {}: {:?}", seed, d);
            assert_rows_preserved(&conn, &old, &new, &before);
            for (old_name, new_name, ty) in &retyped {
                let sql = format!(
                    "SELECT count(*) FROM t WHERE \"{new_name}\" IS NOT NULL AND typeof(\"{new_name}\") NOT IN ('{}')",
                    storage_classes(*ty).join("', '")
                );
                prop_assert_eq!(
                    count(&conn, &sql),
                    0,
                    "seed {}: {} -> {} as {}: an old value kept another storage class\n{}",
                    seed,
                    old_name,
                    new_name,
                    ty.as_sql(),
                    file_text(&p)
                );
            }
        }
        Err(e) => {
            prop_assert!(
                e.contains("does not convert exactly") && e.contains("table \"t\" column \""),
                "seed {}: unexpected failure {}\n{}",
                seed,
                e,
                file_text(&p)
            );
            prop_assert_eq!(dump_all(&conn, &old), before);
            return Ok(TypeChange::Refused);
        }
    }
    Ok(TypeChange::Applied)
}

/// How one type-change case ended.
enum TypeChange {
    Applied,
    Refused,
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1500,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/proptest_roundtrip.txt",
        ))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn type_changes_give_every_old_value_the_new_storage_class(seed in any::<u64>()) {
        check_type_change(seed)?;
    }
}

/// The type-change property must often apply and often refuse, or it proves little.
#[test]
fn type_changes_both_apply_and_refuse() {
    let (mut applied, mut refused) = (0, 0);
    for seed in 1..=300u64 {
        match check_type_change(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)) {
            Ok(TypeChange::Applied) => applied += 1,
            Ok(TypeChange::Refused) => refused += 1,
            Err(e) => panic!("seed {seed}: {e}"),
        }
    }
    eprintln!("type changes: applied {applied}/300, refused {refused}/300");
    assert!(applied >= 100 && refused >= 30, "applied {applied}, refused {refused}");
}
