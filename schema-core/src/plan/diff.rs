//! The diff: match tables and columns (renames only from `renamed_from`), decide in place versus
//! rebuild, order the steps, and lint.

use std::collections::{BTreeMap, BTreeSet};

use super::convert::{self, converted, literal_converts, row_label};
use super::render::has_hidden_rowid;
use super::sql::{mentions, normalise, normalise_renamed, quote_ident as q};
use super::{
    DbObject, Finding, Guard, ObjectKind, Plan, PlanInput, Rebuild, RebuildSummary, Severity, Step,
    ValueOrigin,
};
use crate::model::{Column, DefaultValue, FkAction, ForeignKey, Index, Schema, SqlType, Table};

/// Diffs `input.old` into `input.new`: the ordered steps, or every finding when at least one is
/// an error.
///
/// Order: acknowledged table drops (children first), changes to kept tables under their old
/// names (parents first), table renames, new tables with their indexes (parents first); ties by
/// name.
///
/// # Errors
///
/// All findings (errors, warnings and notes) when at least one has [`Severity::Error`]: an
/// unacknowledged drop, a drop that looks like a rename (L13), a NOT NULL column without
/// `backfill`, a dropped table or column that something still references, invalid names (L12).
pub fn plan(input: &PlanInput<'_>) -> Result<Plan, Vec<Finding>> {
    let mut cx = Cx {
        old: input.old,
        new: input.new,
        deps: input.dependents,
        allow: input.allow_drop.iter().map(|s| s.trim().to_string()).collect(),
        findings: Vec::new(),
        steps: Vec::new(),
        acknowledged: Vec::new(),
        table_renames: Vec::new(),
        diffs: Vec::new(),
    };
    cx.run();
    if cx.findings.iter().any(|f| f.severity == Severity::Error) {
        Err(cx.findings)
    } else {
        Ok(Plan { steps: cx.steps, findings: cx.findings, acknowledged: cx.acknowledged })
    }
}

/// The steps that create `schema` from nothing.
pub(super) fn create_steps(schema: &Schema) -> Vec<Step> {
    let tables: Vec<&Table> = schema.tables.values().collect();
    let mut steps = Vec::new();
    for t in topo(&tables) {
        push_create(&mut steps, t);
    }
    steps
}

fn push_create(steps: &mut Vec<Step>, t: &Table) {
    steps.push(Step::CreateTable(t.clone()));
    for i in &t.indexes {
        steps.push(Step::CreateIndex { table: t.name.clone(), index: i.clone() });
    }
}

/// Tables ordered parents first (by foreign keys within the set), ties by name; a cycle is
/// broken at its smallest name.
fn topo<'t>(tables: &[&'t Table]) -> Vec<&'t Table> {
    let by_name: BTreeMap<&str, &Table> = tables.iter().map(|t| (t.name.as_str(), *t)).collect();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut out = Vec::new();
    while out.len() < by_name.len() {
        let ready = by_name.values().find(|t| {
            !done.contains(t.name.as_str())
                && t.foreign_keys.iter().all(|fk| {
                    fk.ref_table == t.name
                        || !by_name.contains_key(fk.ref_table.as_str())
                        || done.contains(fk.ref_table.as_str())
                })
        });
        let next = ready.copied().unwrap_or_else(|| {
            by_name
                .values()
                .copied()
                .find(|t| !done.contains(t.name.as_str()))
                .expect("a table is left")
        });
        done.insert(next.name.as_str());
        out.push(next);
    }
    out
}

/// One kept table: old and new definitions and how their columns match.
struct TableDiff<'a> {
    old: &'a Table,
    new: &'a Table,
    /// `(old, new)` pairs, in the new table's column order.
    matched: Vec<(&'a Column, &'a Column)>,
    added: Vec<&'a Column>,
    dropped: Vec<&'a Column>,
    /// Declared column renames that apply: `(old name, new name)`.
    renames: Vec<(String, String)>,
}

struct Cx<'a> {
    old: &'a Schema,
    new: &'a Schema,
    deps: &'a [DbObject],
    allow: Vec<String>,
    findings: Vec<Finding>,
    steps: Vec<Step>,
    acknowledged: Vec<String>,
    /// Declared table renames that apply: `(old name, new name)`.
    table_renames: Vec<(String, String)>,
    diffs: Vec<TableDiff<'a>>,
}

fn is_null_default(d: Option<&DefaultValue>) -> bool {
    match d {
        None => true,
        Some(DefaultValue::Literal(l)) => l.trim().eq_ignore_ascii_case("null"),
        Some(DefaultValue::Sql(_)) => false,
    }
}

fn default_key(d: Option<&DefaultValue>) -> Option<String> {
    d.map(|d| normalise(super::sql::strip_outer_parens(&super::render::default_sql(d))))
}

fn fk_key(fk: &ForeignKey) -> (Vec<String>, String, Vec<String>, &'static str, &'static str) {
    let act =
        |a: Option<crate::model::FkAction>| a.map_or("NO ACTION", crate::model::FkAction::as_sql);
    (
        fk.columns.clone(),
        fk.ref_table.clone(),
        fk.ref_columns.clone(),
        act(fk.on_update),
        act(fk.on_delete),
    )
}

impl<'a> Cx<'a> {
    fn error(&mut self, code: &'static str, message: String) {
        self.findings.push(Finding::error(code, message));
    }
    fn warn(&mut self, code: &'static str, message: String) {
        self.findings.push(Finding::warning(code, message));
    }
    fn info(&mut self, code: &'static str, message: String) {
        self.findings.push(Finding::info(code, message));
    }
    fn allowed(&self, what: &str) -> bool {
        self.allow.iter().any(|a| a == what)
    }

    fn run(&mut self) {
        self.lint_names();
        self.lint_double_quoted();
        let (dropped, created) = self.match_tables();
        self.lint_foreign_keys(&dropped);
        self.lint_table_drops(&dropped, &created);

        // 1. Acknowledged drops, children first.
        let dropped_tables: Vec<&Table> =
            dropped.iter().filter_map(|d| self.old.table(d)).collect();
        let mut order = topo(&dropped_tables);
        order.reverse();
        for t in order {
            self.steps.push(Step::DropTable { table: t.name.clone() });
        }
        // 2. Kept tables, parents first, under their old names.
        let kept: Vec<&Table> = self.diffs.iter().map(|d| d.new).collect();
        let order: Vec<String> = topo(&kept).iter().map(|t| t.name.clone()).collect();
        for name in order {
            let i = self.diffs.iter().position(|d| d.new.name == name).expect("kept table");
            self.kept_table(i);
        }
        // 3. Table renames, after the changes to kept tables: those run under the old names, so
        //    SQLite's RENAME rewrites every reference (child foreign keys, recreated views and
        //    triggers) at once.
        for (from, to) in self.table_renames.clone() {
            self.warn(
                "L3",
                format!("table {from} is renamed to {to} (renamed_from): binaries built for the old schema will break"),
            );
            let via =
                from.eq_ignore_ascii_case(&to).then(|| self.free_name(&format!("__rename_{to}")));
            self.steps.push(Step::RenameTable { from, to, via });
        }
        // 4. New tables, parents first.
        let created_tables: Vec<&Table> =
            created.iter().filter_map(|c| self.new.table(c)).collect();
        for t in topo(&created_tables) {
            push_create(&mut self.steps, t);
        }
    }

    /// Matches old and new tables (declared renames first, then equal names) and the columns of
    /// every kept table. Returns the dropped old and created new table names.
    fn match_tables(&mut self) -> (Vec<String>, Vec<String>) {
        let mut claimed: BTreeSet<&str> = BTreeSet::new();
        let mut pairs: Vec<(&'a Table, &'a Table)> = Vec::new();
        for t in self.new.tables.values() {
            if let Some(from) = &t.renamed_from
                && let Some(o) = self.old.table(from)
                && self.old.table(&t.name).is_none()
                && !claimed.contains(from.as_str())
            {
                claimed.insert(o.name.as_str());
                self.table_renames.push((from.clone(), t.name.clone()));
                pairs.push((o, t));
            }
        }
        let mut created = Vec::new();
        for t in self.new.tables.values() {
            if pairs.iter().any(|(_, n)| n.name == t.name) {
                continue;
            }
            match self.old.table(&t.name) {
                Some(o) if !claimed.contains(o.name.as_str()) => {
                    claimed.insert(o.name.as_str());
                    pairs.push((o, t));
                }
                _ => created.push(t.name.clone()),
            }
        }
        let dropped: Vec<String> =
            self.old.tables.keys().filter(|n| !claimed.contains(n.as_str())).cloned().collect();
        for (o, n) in pairs {
            self.diffs.push(match_columns(o, n));
        }
        self.diffs.sort_by(|a, b| a.new.name.cmp(&b.new.name));
        (dropped, created)
    }

    fn lint_table_drops(&mut self, dropped: &[String], created: &[String]) {
        let shape = |t: &Table| {
            let mut cols: Vec<(String, SqlType, bool)> =
                t.columns.iter().map(|c| (c.name.to_ascii_lowercase(), c.ty, c.nullable)).collect();
            cols.sort();
            cols
        };
        for d in dropped {
            let old = self.old.table(d).expect("dropped table is old");
            if self.allowed(d) {
                self.acknowledged.push(d.clone());
                self.warn("L1", format!("table {d} is dropped with all its rows (acknowledged by MIGRATION_ALLOW_DROP={d})"));
            } else if let Some(c) =
                created.iter().find(|c| self.new.table(c).is_some_and(|n| shape(n) == shape(old)))
            {
                self.error(
                    "L13",
                    format!(
                        "table {d} is dropped and table {c} is added with the same columns: if {d} was renamed, add \
                         #[table(renamed_from = \"{d}\")] to {c}; to really drop {d} and its rows, set \
                         MIGRATION_ALLOW_DROP={d}"
                    ),
                );
            } else {
                self.error(
                    "L1",
                    format!(
                        "table {d} is dropped, which deletes all its rows: set MIGRATION_ALLOW_DROP={d} to confirm, or \
                         add #[table(renamed_from = \"{d}\")] to the table it became"
                    ),
                );
            }
            // Views and triggers elsewhere that use the table would break (triggers on it go with it).
            for o in self.deps {
                if o.tbl_name.eq_ignore_ascii_case(d) && o.kind == ObjectKind::Trigger {
                    self.warn("L1", format!("trigger {} on table {d} is dropped with it", o.name));
                } else if mentions(&o.sql, d) {
                    self.error(
                        "L10",
                        format!(
                            "{} {} uses table {d}, which this migration drops: drop or change {} in a custom migration first",
                            kind_word(o.kind),
                            o.name,
                            o.name
                        ),
                    );
                }
            }
        }
    }

    /// L12: a double-quoted word in an SQL expression that names no column of the table. SQLite
    /// silently reads it as a string literal (the double-quoted-string misfeature).
    fn lint_double_quoted(&mut self) {
        let mut out = Vec::new();
        let all_names: BTreeSet<String> = self
            .old
            .tables
            .values()
            .chain(self.new.tables.values())
            .flat_map(|t| std::iter::once(&t.name).chain(t.columns.iter().map(|c| &c.name)))
            .map(|n| n.to_ascii_lowercase())
            .collect();
        for t in self.new.tables.values() {
            let mut exprs: Vec<(String, &str)> = Vec::new();
            for c in &t.columns {
                if let Some(e) = &c.check {
                    exprs.push((format!("column {} check", c.name), e));
                }
                if let Some(DefaultValue::Sql(e) | DefaultValue::Literal(e)) = &c.default {
                    exprs.push((format!("column {} default", c.name), e));
                }
                if let Some(e) = &c.backfill {
                    exprs.push((format!("column {} backfill", c.name), e));
                }
                if let Some(e) = &c.convert {
                    exprs.push((format!("column {} convert", c.name), e));
                }
            }
            for ch in &t.checks {
                exprs.push(("check".to_string(), &ch.expr));
            }
            for i in &t.indexes {
                if let Some(w) = &i.where_clause {
                    exprs.push((format!("index {} where", i.name), w));
                }
            }
            for (what, e) in exprs {
                // A backfill or convert runs over the old table and may use subqueries: any table
                // or column name of either schema is fine there.
                let known = |name: &str| {
                    if what.ends_with("backfill") || what.ends_with("convert") {
                        all_names.contains(&name.to_ascii_lowercase())
                    } else {
                        t.columns.iter().any(|c| c.name.eq_ignore_ascii_case(name))
                            || name.eq_ignore_ascii_case(&t.name)
                    }
                };
                for tk in super::sql::tokenize(e) {
                    if tk.kind == super::sql::TokenKind::Quoted && !known(&tk.text) {
                        out.push(Finding::error(
                            "L12",
                            format!(
                                "table {}: {what} uses \"{}\", which is not a column: SQLite would read it as a \
                                 string; write a string literal with single quotes ('{}')",
                                t.name,
                                tk.text,
                                tk.text.replace('\'', "''")
                            ),
                        ));
                    }
                }
            }
        }
        self.findings.extend(out);
    }

    /// L12: names SQLite reserves, empty names, case-insensitive collisions.
    fn lint_names(&mut self) {
        let mut objects: BTreeMap<String, String> = BTreeMap::new();
        let check = |kind: &str, name: &str, out: &mut Vec<Finding>| {
            if name.is_empty() {
                out.push(Finding::error("L12", format!("{kind} has an empty name")));
            } else if name.contains('\0') {
                out.push(Finding::error(
                    "L12",
                    format!("{kind} {name:?} contains a NUL character"),
                ));
            } else if name.len() >= 7 && name[..7].eq_ignore_ascii_case("sqlite_") {
                out.push(Finding::error(
                    "L12",
                    format!("{kind} {name}: names starting with sqlite_ are reserved by SQLite"),
                ));
            } else if name.to_ascii_lowercase().starts_with("__godwit_")
                || name == "__schema_migrations"
            {
                out.push(Finding::error(
                    "L12",
                    format!("{kind} {name}: this name is reserved by godwit"),
                ));
            }
        };
        let mut out = Vec::new();
        for t in self.new.tables.values() {
            check("table", &t.name, &mut out);
            if let Some(prev) = objects.insert(t.name.to_ascii_lowercase(), t.name.clone()) {
                out.push(Finding::error(
                    "L12",
                    format!("tables {prev} and {} differ only in case; SQLite names are case-insensitive", t.name),
                ));
            }
            for c in &t.columns {
                if t.strict && c.ty == SqlType::Numeric {
                    out.push(Finding::error(
                        "L12",
                        format!(
                            "table {}: column {} is NUMERIC, which a STRICT table does not allow (use INTEGER, REAL, \
                             TEXT, BLOB or ANY)",
                            t.name, c.name
                        ),
                    ));
                }
                if !t.strict && c.ty == SqlType::Any {
                    out.push(Finding::error(
                        "L12",
                        format!(
                            "table {}: column {} is ANY, which only a STRICT table allows (elsewhere it silently \
                             means NUMERIC)",
                            t.name, c.name
                        ),
                    ));
                }
            }
            let missing = |c: &String| t.column(c).is_none();
            for c in t.primary_key.iter().filter(|c| missing(c)) {
                out.push(Finding::error(
                    "L12",
                    format!("table {}: primary key column {c} does not exist", t.name),
                ));
            }
            for i in &t.indexes {
                for c in i.columns.iter().filter(|c| missing(c)) {
                    out.push(Finding::error(
                        "L12",
                        format!(
                            "table {}: index {} names column {c}, which does not exist",
                            t.name, i.name
                        ),
                    ));
                }
            }
            for fk in &t.foreign_keys {
                for c in fk.columns.iter().filter(|c| missing(c)) {
                    out.push(Finding::error(
                        "L15",
                        format!("table {}: foreign key column {c} does not exist", t.name),
                    ));
                }
            }
            if t.autoincrement
                && !(t.primary_key.len() == 1
                    && !t.without_rowid
                    && t.column(&t.primary_key[0]).is_some_and(|c| c.ty == SqlType::Integer))
            {
                out.push(Finding::error(
                    "L12",
                    format!(
                        "table {}: AUTOINCREMENT needs a single INTEGER primary key in a table with a rowid",
                        t.name
                    ),
                ));
            }
            if t.without_rowid && t.primary_key.is_empty() {
                out.push(Finding::error(
                    "L12",
                    format!("table {}: WITHOUT ROWID needs a primary key", t.name),
                ));
            }
            if t.columns.is_empty() {
                out.push(Finding::error("L12", format!("table {} has no columns", t.name)));
            }
            let mut cols: BTreeMap<String, &str> = BTreeMap::new();
            for c in &t.columns {
                if c.name.is_empty() || c.name.contains('\0') {
                    out.push(Finding::error(
                        "L12",
                        format!("table {}: a column has an empty or NUL name", t.name),
                    ));
                }
                if let Some(prev) = cols.insert(c.name.to_ascii_lowercase(), &c.name) {
                    out.push(Finding::error(
                        "L12",
                        format!(
                            "table {}: columns {prev} and {} differ only in case",
                            t.name, c.name
                        ),
                    ));
                }
            }
        }
        for t in self.new.tables.values() {
            for i in &t.indexes {
                check("index", &i.name, &mut out);
                if let Some(prev) = objects.insert(i.name.to_ascii_lowercase(), i.name.clone()) {
                    out.push(Finding::error(
                        "L12",
                        format!(
                            "index {} on table {} collides with {prev} (tables and indexes share one case-insensitive namespace)",
                            i.name, t.name
                        ),
                    ));
                }
            }
        }
        self.findings.extend(out);
    }

    /// L15: foreign keys of the new schema point at existing tables and unique keys.
    fn lint_foreign_keys(&mut self, dropped: &[String]) {
        let mut out = Vec::new();
        for t in self.new.tables.values() {
            for fk in &t.foreign_keys {
                let cols = fk.columns.join(", ");
                let Some(p) = self.new.table(&fk.ref_table) else {
                    if dropped.contains(&fk.ref_table) {
                        out.push(Finding::error(
                            "L15",
                            format!(
                                "table {} is dropped but {}({cols}) still references it: remove that reference too, or \
                                 keep {}",
                                fk.ref_table, t.name, fk.ref_table
                            ),
                        ));
                    } else {
                        out.push(Finding::error(
                            "L15",
                            format!(
                                "table {}: foreign key ({cols}) references missing table {}",
                                t.name, fk.ref_table
                            ),
                        ));
                    }
                    continue;
                };
                let refs: Vec<String> = if fk.ref_columns.is_empty() {
                    p.primary_key.clone()
                } else {
                    fk.ref_columns.clone()
                };
                if let Some(missing) = refs.iter().find(|c| p.column(c).is_none()) {
                    let old_had = self.old.table(&p.name).or_else(|| {
                        self.table_renames
                            .iter()
                            .find(|(_, n)| n == &p.name)
                            .and_then(|(o, _)| self.old.table(o))
                    });
                    let what = if old_had.is_some_and(|o| o.column(missing).is_some()) {
                        "dropped"
                    } else {
                        "missing"
                    };
                    out.push(Finding::error(
                        "L15",
                        format!(
                            "table {}: foreign key ({cols}) references {what} column {}.{missing}",
                            t.name, p.name
                        ),
                    ));
                    continue;
                }
                if refs.len() != fk.columns.len() {
                    out.push(Finding::error(
                        "L15",
                        format!(
                            "table {}: foreign key ({cols}) has {} columns but references {}",
                            t.name,
                            fk.columns.len(),
                            refs.len()
                        ),
                    ));
                    continue;
                }
                let set = |v: &[String]| {
                    v.iter().map(|s| s.to_ascii_lowercase()).collect::<BTreeSet<_>>()
                };
                let is_pk = set(&p.primary_key) == set(&refs);
                let is_unique_col = refs.len() == 1 && p.column(&refs[0]).is_some_and(|c| c.unique);
                let by_index = p
                    .indexes
                    .iter()
                    .any(|i| i.unique && i.where_clause.is_none() && set(&i.columns) == set(&refs));
                if !is_pk && !is_unique_col {
                    if by_index {
                        out.push(Finding::warning(
                            "L15",
                            format!(
                                "table {}: foreign key ({cols}) references {}({}), which is unique only through an index: \
                                 prefer #[column(unique)] or the primary key",
                                t.name,
                                p.name,
                                refs.join(", ")
                            ),
                        ));
                    } else {
                        out.push(Finding::error(
                            "L15",
                            format!(
                                "table {}: foreign key ({cols}) references {}({}), which is neither the primary key nor \
                                 unique (SQLite reports a foreign key mismatch on every write)",
                                t.name,
                                p.name,
                                refs.join(", ")
                            ),
                        ));
                    }
                }
            }
        }
        self.findings.extend(out);
    }

    /// Old-name to new-name column renames of the kept table now named `table`.
    fn col_renames_of(&self, table: &str) -> &[(String, String)] {
        self.diffs.iter().find(|d| d.new.name == table).map_or(&[], |d| d.renames.as_slice())
    }

    /// The name a table of the new schema has while the kept tables change (before renames).
    fn current_name(&self, new: &str) -> String {
        self.table_renames
            .iter()
            .find(|(_, n)| n == new)
            .map_or_else(|| new.to_string(), |(o, _)| o.clone())
    }

    fn new_table_name(&self, old: &str) -> String {
        self.table_renames
            .iter()
            .find(|(o, _)| o == old)
            .map_or_else(|| old.to_string(), |(_, n)| n.clone())
    }

    /// An old foreign key expressed in new names (renamed columns, tables).
    fn map_fk(&self, fk: &ForeignKey, own_renames: &[(String, String)]) -> ForeignKey {
        let ref_table = self.new_table_name(&fk.ref_table);
        let ref_renames = self.col_renames_of(&ref_table);
        ForeignKey {
            columns: fk.columns.iter().map(|c| rename(c, own_renames)).collect(),
            ref_columns: fk.ref_columns.iter().map(|c| rename(c, ref_renames)).collect(),
            ref_table,
            on_delete: fk.on_delete,
            on_update: fk.on_update,
        }
    }

    /// Dependents to drop and recreate around a rebuild of `table` (transitively through views).
    fn dependents_of(&self, table: &str, old_name: &str) -> Vec<DbObject> {
        let mut names: BTreeSet<String> =
            [table.to_ascii_lowercase(), old_name.to_ascii_lowercase()].into();
        let mut picked = vec![false; self.deps.len()];
        loop {
            let mut changed = false;
            for (k, o) in self.deps.iter().enumerate() {
                if picked[k] {
                    continue;
                }
                let hit = names.contains(&o.tbl_name.to_ascii_lowercase())
                    || names.iter().any(|n| mentions(&o.sql, n));
                if hit {
                    picked[k] = true;
                    changed = true;
                    if o.kind == ObjectKind::View {
                        names.insert(o.name.to_ascii_lowercase());
                    }
                }
            }
            if !changed {
                break;
            }
        }
        self.deps.iter().zip(picked).filter(|(_, p)| *p).map(|(o, _)| o.clone()).collect()
    }

    fn temp_name(&self, table: &str) -> String {
        self.free_name(&format!("__new_{table}"))
    }

    /// `base`, or `base_2`, `base_3`, ...: the first name no table, index, view or trigger of
    /// either schema has, ASCII case-insensitively.
    fn free_name(&self, base: &str) -> String {
        let taken: BTreeSet<String> = self
            .old
            .tables
            .values()
            .chain(self.new.tables.values())
            .flat_map(|t| {
                std::iter::once(t.name.clone()).chain(t.indexes.iter().map(|i| i.name.clone()))
            })
            .chain(self.deps.iter().map(|d| d.name.clone()))
            .map(|n| n.to_ascii_lowercase())
            .collect();
        let mut name = base.to_string();
        let mut k = 2;
        while taken.contains(&name.to_ascii_lowercase()) {
            name = format!("{base}_{k}");
            k += 1;
        }
        name
    }

    /// L2: a literal `backfill` or `convert` whose value cannot convert to the column's type
    /// (`backfill = "'x'"` on an INTEGER column) would fail every row it fills: an error now.
    fn lint_literal_value(&mut self, t: &str, c: &Column, value: &str, attr: &str) {
        if literal_converts(value, c.ty) == Some(false) {
            self.error(
                "L2",
                format!(
                    "table {t}: column {}: #[column({attr} = \"{}\")] gives {}, which does not convert exactly to \
                     {}, so the migration would fail on every row: give a value of type {}",
                    c.name,
                    super::sql::strip_outer_parens(value),
                    super::sql::strip_outer_parens(value),
                    c.ty.as_sql(),
                    c.ty.as_sql()
                ),
            );
        }
    }

    #[allow(clippy::too_many_lines)]
    fn kept_table(&mut self, i: usize) {
        let d = &self.diffs[i];
        let (o, n) = (d.old, d.new);
        let t = n.name.clone();
        // SQL runs before the table renames, under the table's current (old) name.
        let cur = o.name.clone();
        let renames = d.renames.clone();
        let matched = d.matched.clone();
        let added = d.added.clone();
        let dropped = d.dropped.clone();
        let mut rebuild = false;
        let mut summary = RebuildSummary {
            added: added.iter().map(|c| c.name.clone()).collect(),
            dropped: dropped.iter().map(|c| c.name.clone()).collect(),
            renamed: renames.clone(),
            altered: false,
        };
        let mut guards = Vec::new();
        let mut new_checks: Vec<(Option<String>, String)> = Vec::new();
        let mut copy: Vec<(String, String)> = Vec::new();

        // Column renames.
        for (from, to) in &renames {
            self.warn(
                "L3",
                format!("table {t}: column {from} is renamed to {to} (renamed_from): binaries built for the old schema will break"),
            );
        }

        // Matched columns.
        for (oc, nc) in &matched {
            let mut expr = q(&oc.name);
            let mut changed = false;
            if oc.ty != nc.ty {
                changed = true;
                if nc.ty != SqlType::Any {
                    self.warn(
                        "L2",
                        format!(
                            "table {t}: column {} changes type from {} to {}: the migration fails if a stored value does \
                             not convert exactly",
                            nc.name,
                            oc.ty.as_sql(),
                            nc.ty.as_sql()
                        ),
                    );
                }
            }
            // A new type, or a table becoming STRICT: the copy stores every value (or what
            // `convert` computes from the old row) converted, so each old row gets the new
            // type's storage class, and a value that does not convert exactly fails the
            // migration.
            if oc.ty != nc.ty || (n.strict && !o.strict) {
                let (value, origin) = match &nc.convert {
                    Some(c) => (format!("({c})"), ValueOrigin::Convert),
                    None => (expr.clone(), ValueOrigin::Stored),
                };
                self.lint_literal_value(&t, nc, &value, "convert");
                guards.push(Guard::Convert {
                    column: nc.name.clone(),
                    value: value.clone(),
                    origin,
                    to: nc.ty,
                    only_where: None,
                    strict_from: (o.strict && origin == ValueOrigin::Stored).then_some(oc.ty),
                });
                expr = converted(&value, nc.ty);
            } else if nc.convert.is_some() {
                self.findings.push(convert::unused_convert(&t, nc));
            }
            if oc.nullable && !nc.nullable {
                changed = true;
                if let Some(b) = &nc.backfill {
                    let value = format!("({b})");
                    self.lint_literal_value(&t, nc, &value, "backfill");
                    let only = Some(format!("{expr} IS NULL"));
                    let (fill, guard) = convert::backfill(&nc.name, value, nc.ty, only);
                    guards.extend(guard);
                    expr = format!("coalesce({expr}, {fill})");
                    self.warn(
                        "L3",
                        format!("table {t}: column {} becomes NOT NULL; existing NULLs get the backfill", nc.name),
                    );
                } else {
                    self.error(
                        "L2",
                        format!(
                            "table {t}: column {} becomes NOT NULL but existing rows may hold NULL: add \
                             #[column(backfill = \"<sql expr>\")] to fill them (a default only applies to new rows)",
                            nc.name
                        ),
                    );
                }
            }
            if !oc.nullable && nc.nullable {
                changed = true;
                self.warn(
                    "L4",
                    format!("table {t}: column {} drops its NOT NULL constraint", nc.name),
                );
            }
            if default_key(oc.default.as_ref()) != default_key(nc.default.as_ref()) {
                changed = true;
            }
            if oc.unique != nc.unique {
                changed = true;
                if nc.unique {
                    self.warn("L2", format!("table {t}: column {} becomes UNIQUE: the migration fails on duplicate values", nc.name));
                } else {
                    self.warn(
                        "L4",
                        format!("table {t}: column {} drops its UNIQUE constraint", nc.name),
                    );
                }
            }
            let ck_old = oc.check.as_deref().map(|e| normalise_renamed(e, &renames));
            let ck_new = nc.check.as_deref().map(normalise);
            if ck_old != ck_new {
                changed = true;
                if let Some(e) = &nc.check {
                    self.warn("L2", format!("table {t}: column {} gets CHECK ({e}): the migration fails on rows that violate it", nc.name));
                    new_checks.push((Some(nc.name.clone()), e.clone()));
                }
                if let Some(e) = &oc.check {
                    self.warn("L4", format!("table {t}: column {} drops CHECK ({e})", nc.name));
                }
            }
            if changed {
                rebuild = true;
                summary.altered = true;
            }
            if oc.nullable
                && !nc.nullable
                && nc.backfill.as_deref().is_some_and(|b| !is_non_null_literal(b))
            {
                guards.push(Guard::NotNull { column: nc.name.clone(), expr: expr.clone() });
            }
            if nc.unique && !oc.unique {
                guards.push(Guard::Unique { columns: vec![nc.name.clone()], constraint: "UNIQUE" });
            }
            copy.push((nc.name.clone(), expr));
        }

        // Table-level structure, in new names.
        let pk_old: Vec<String> = o.primary_key.iter().map(|c| rename(c, &renames)).collect();
        if pk_old != n.primary_key {
            rebuild = true;
            summary.altered = true;
            if !n.primary_key.is_empty() {
                self.warn(
                    "L2",
                    format!("table {t}: the primary key changes to ({}): the migration fails on duplicate or NULL keys", n.primary_key.join(", ")),
                );
            }
        }
        if o.autoincrement != n.autoincrement
            || o.strict != n.strict
            || o.without_rowid != n.without_rowid
        {
            rebuild = true;
            summary.altered = true;
            if o.without_rowid != n.without_rowid {
                self.warn(
                    "L9",
                    format!(
                        "table {t}: WITHOUT ROWID is {}",
                        if n.without_rowid { "added" } else { "removed" }
                    ),
                );
            }
        }
        let checks_old: BTreeSet<(Option<String>, String)> = o
            .checks
            .iter()
            .map(|c| (c.name.clone(), normalise_renamed(&c.expr, &renames)))
            .collect();
        let checks_new: BTreeSet<(Option<String>, String)> =
            n.checks.iter().map(|c| (c.name.clone(), normalise(&c.expr))).collect();
        if checks_old != checks_new {
            rebuild = true;
            summary.altered = true;
            for c in &n.checks {
                if !checks_old.contains(&(c.name.clone(), normalise(&c.expr))) {
                    self.warn("L2", format!("table {t}: new CHECK ({}): the migration fails on rows that violate it", c.expr));
                    new_checks.push((None, c.expr.clone()));
                }
            }
            for c in &o.checks {
                if !checks_new.contains(&(c.name.clone(), normalise_renamed(&c.expr, &renames))) {
                    self.warn("L4", format!("table {t}: CHECK ({}) is dropped", c.expr));
                }
            }
        }
        let fks_old: BTreeSet<_> =
            o.foreign_keys.iter().map(|fk| fk_key(&self.map_fk(fk, &renames))).collect();
        let fks_new: BTreeSet<_> = n.foreign_keys.iter().map(fk_key).collect();
        let fk_removed: Vec<_> = fks_old.difference(&fks_new).cloned().collect();
        let fk_added: Vec<&ForeignKey> =
            n.foreign_keys.iter().filter(|fk| !fks_old.contains(&fk_key(fk))).collect();
        for k in &fk_removed {
            let same_key = fks_new.iter().find(|n| n.0 == k.0 && n.1 == k.1 && n.2 == k.2);
            let message = match same_key {
                Some(n) => format!(
                    "table {t}: foreign key ({}) to {} changes its actions from ON UPDATE {} ON DELETE {} to \
                     ON UPDATE {} ON DELETE {}",
                    k.0.join(", "),
                    k.1,
                    k.3,
                    k.4,
                    n.3,
                    n.4
                ),
                None => {
                    format!("table {t}: foreign key ({}) to {} is dropped", k.0.join(", "), k.1)
                }
            };
            self.warn("L4", message);
            rebuild = true;
            summary.altered = true;
        }
        // Added columns.
        let mut inline_refs: BTreeMap<String, ForeignKey> = BTreeMap::new();
        for nc in &added {
            let fks: Vec<&&ForeignKey> =
                fk_added.iter().filter(|fk| fk.columns.contains(&nc.name)).collect();
            if !nc.nullable && is_null_default(nc.default.as_ref()) && nc.backfill.is_none() {
                self.error(
                    "L2",
                    format!(
                        "table {t}: new NOT NULL column {} has no value for existing rows: add #[column(backfill = \
                         \"<sql expr>\")] or a default",
                        nc.name
                    ),
                );
            }
            // A CHECK on a new column rebuilds, so its guard names a violating row (ADD COLUMN
            // would fail with SQLite's bare "CHECK constraint failed").
            if let Some(e) = &nc.check {
                new_checks.push((Some(nc.name.clone()), e.clone()));
            }
            let in_place = nc.backfill.is_none()
                && nc.check.is_none()
                && !nc.unique
                && !n.primary_key.contains(&nc.name)
                && nc.default.as_ref().is_none_or(DefaultValue::is_constant)
                && (nc.nullable || !is_null_default(nc.default.as_ref()))
                && (fks.is_empty()
                    || (fks.len() == 1
                        && fks[0].columns.len() == 1
                        && is_null_default(nc.default.as_ref())));
            if let Some(c) = &nc.convert {
                self.error(
                    "L2",
                    format!(
                        "table {t}: new column {} has #[column(convert = \"{c}\")], but a new column has no old \
                         values to convert: remove convert (use backfill to fill existing rows)",
                        nc.name
                    ),
                );
            }
            if let Some(b) = &nc.backfill {
                let value = format!("({b})");
                self.lint_literal_value(&t, nc, &value, "backfill");
                let (fill, guard) = convert::backfill(&nc.name, value.clone(), nc.ty, None);
                guards.extend(guard);
                copy.push((nc.name.clone(), fill));
                if !nc.nullable && !is_non_null_literal(b) {
                    guards.push(Guard::NotNull { column: nc.name.clone(), expr: value });
                }
                if nc.unique {
                    guards.push(Guard::Unique {
                        columns: vec![nc.name.clone()],
                        constraint: "UNIQUE",
                    });
                }
            } else if matches!(nc.default, Some(DefaultValue::Sql(_))) {
                self.warn(
                    "L14",
                    format!(
                        "table {t}: new column {} has an expression default: every existing row gets the value it \
                         has when the migration runs (use backfill to choose another)",
                        nc.name
                    ),
                );
            }
            if nc.check.is_some() {
                self.warn("L2", format!("table {t}: new column {} has a CHECK: the migration fails on rows that violate it", nc.name));
            }
            if !in_place {
                rebuild = true;
            } else if let Some(fk) = fks.first() {
                inline_refs.insert(nc.name.clone(), (**fk).clone());
            }
        }
        for fk in &fk_added {
            if !(fk.columns.len() == 1 && inline_refs.get(&fk.columns[0]).is_some_and(|f| f == *fk))
            {
                rebuild = true;
                summary.altered = true;
                let cols = fk.columns.join(", ");
                let action_only = fks_old
                    .iter()
                    .any(|k| k.0 == fk.columns && k.1 == fk.ref_table && k.2 == fk.ref_columns);
                if !action_only
                    && fk.columns.iter().any(|c| matched.iter().any(|(_, nc)| &nc.name == c))
                {
                    self.warn(
                        "L2",
                        format!("table {t}: new foreign key ({cols}) to {}: the migration fails on rows without a parent", fk.ref_table),
                    );
                }
            }
        }

        // Dropped columns.
        for oc in &dropped {
            let key = format!("{}.{}", t, oc.name);
            let ambiguous = added.iter().find(|a| a.ty == oc.ty && a.nullable == oc.nullable);
            let old_key = format!("{}.{}", o.name, oc.name);
            if self.allowed(&key) || self.allowed(&old_key) {
                let k = if self.allowed(&key) { key.clone() } else { old_key };
                self.acknowledged.push(k.clone());
                self.warn("L1", format!("table {t}: column {} is dropped with its data (acknowledged by MIGRATION_ALLOW_DROP={k})", oc.name));
            } else if let Some(a) = ambiguous {
                self.error(
                    "L13",
                    format!(
                        "table {t}: column {} is dropped and column {} is added with the same type: if it was renamed, add \
                         #[column(renamed_from = \"{}\")] to {}; to really drop {} and its data, set \
                         MIGRATION_ALLOW_DROP={key}",
                        oc.name, a.name, oc.name, a.name, oc.name
                    ),
                );
            } else {
                self.warn("L3", format!("table {t}: column {} is dropped with its data; binaries built for the old schema will break", oc.name));
            }
            let in_pk = o.primary_key.contains(&oc.name);
            let in_fk = o.foreign_keys.iter().any(|fk| fk.columns.contains(&oc.name));
            let in_check = o.checks.iter().any(|c| mentions(&c.expr, &oc.name))
                || o.columns.iter().any(|c| {
                    c.name != oc.name && c.check.as_deref().is_some_and(|e| mentions(e, &oc.name))
                });
            let referenced = self.old.tables.values().any(|ot| {
                ot.foreign_keys
                    .iter()
                    .any(|fk| fk.ref_table == o.name && fk.ref_columns.contains(&oc.name))
            });
            // SQLite cannot drop a table's last column: a table whose old columns all go is rebuilt.
            let last = matched.is_empty();
            if in_pk || oc.unique || in_fk || in_check || referenced || last {
                rebuild = true;
            }
            for dep in self.deps {
                let on_table = dep.tbl_name.eq_ignore_ascii_case(&o.name)
                    || dep.tbl_name.eq_ignore_ascii_case(&t)
                    || mentions(&dep.sql, &o.name)
                    || mentions(&dep.sql, &t);
                if on_table && mentions(&dep.sql, &oc.name) {
                    self.findings.push(Finding::error(
                        "L10",
                        format!(
                            "{} {} uses column {t}.{}, which this migration drops: drop or change {} in a custom \
                             migration first",
                            kind_word(dep.kind),
                            dep.name,
                            oc.name,
                            dep.name
                        ),
                    ));
                }
            }
        }

        // Indexes, in new names.
        let idx_key = |i: &Index, map: &[(String, String)]| {
            (
                i.columns.iter().map(|c| rename(c, map).to_ascii_lowercase()).collect::<Vec<_>>(),
                i.unique,
                i.where_clause.as_deref().map(|w| normalise_renamed(w, map)),
            )
        };
        let same_index = |oi: &Index| {
            n.indexes
                .iter()
                .any(|ni| ni.name == oi.name && idx_key(ni, &[]) == idx_key(oi, &renames))
        };
        let idx_drop: Vec<&Index> = o.indexes.iter().filter(|oi| !same_index(oi)).collect();
        let idx_create: Vec<&Index> = n
            .indexes
            .iter()
            .filter(|ni| {
                !o.indexes
                    .iter()
                    .any(|oi| oi.name == ni.name && idx_key(ni, &[]) == idx_key(oi, &renames))
            })
            .collect();
        for i in &idx_drop {
            if i.unique {
                self.warn("L4", format!("table {t}: unique index {} is dropped", i.name));
            }
        }
        for i in &idx_create {
            if i.unique {
                self.warn(
                    "L2",
                    format!(
                        "table {t}: new unique index {}: the migration fails on duplicate values",
                        i.name
                    ),
                );
            }
        }

        // SQLite refuses ALTER TABLE ADD, DROP and RENAME COLUMN of a column named rowid, oid
        // or _rowid_ on a rowid table ("cannot add rowid alias"): such a change rebuilds.
        let rowid_name =
            |c: &str| ["rowid", "oid", "_rowid_"].iter().any(|a| a.eq_ignore_ascii_case(c));
        if !o.without_rowid
            && (added.iter().chain(&dropped).any(|c| rowid_name(&c.name))
                || renames.iter().any(|(f, to)| rowid_name(f) || rowid_name(to)))
        {
            rebuild = true;
        }
        let changed = rebuild
            || !renames.is_empty()
            || !added.is_empty()
            || !dropped.is_empty()
            || !idx_drop.is_empty()
            || !idx_create.is_empty();
        if !changed {
            return;
        }
        if !rebuild {
            for i in idx_drop {
                self.steps.push(Step::DropIndex { table: cur.clone(), name: i.name.clone() });
            }
            for (from, to) in &renames {
                self.steps.push(Step::RenameColumn {
                    table: cur.clone(),
                    from: from.clone(),
                    to: to.clone(),
                });
            }
            for oc in &dropped {
                self.steps.push(Step::DropColumn { table: cur.clone(), column: oc.name.clone() });
            }
            for nc in &added {
                let references = inline_refs.get(&nc.name).cloned().map(|mut fk| {
                    fk.ref_table = self.current_name(&fk.ref_table);
                    fk
                });
                self.steps.push(Step::AddColumn {
                    table: cur.clone(),
                    column: (*nc).clone(),
                    references,
                });
            }
            for i in idx_create {
                self.steps.push(Step::CreateIndex { table: cur.clone(), index: i.clone() });
            }
            return;
        }

        // Rebuild.
        // Readable CHECK errors, over the values the new table gets (converted, renamed,
        // backfilled, defaulted).
        for (column, expr) in new_checks {
            guards.push(Guard::Check { column, expr });
        }
        if pk_old != n.primary_key
            && !n.primary_key.is_empty()
            && n.primary_key.iter().all(|c| copy.iter().any(|(n, _)| n == c))
        {
            guards
                .push(Guard::Unique { columns: n.primary_key.clone(), constraint: "PRIMARY KEY" });
        }
        let dependents = self.dependents_of(&t, &o.name);
        for dep in &dependents {
            // An in-place column rename in this migration rewrites the view or trigger inside
            // SQLite (and a rebuild's own renames never do), so its saved text may be stale:
            // recreating it would bring back the old column name. Table renames run last and
            // rewrite recreated objects themselves.
            let stale_column = self.diffs.iter().find_map(|d| {
                let on_table = mentions(&dep.sql, &d.old.name) || mentions(&dep.sql, &d.new.name);
                d.renames
                    .iter()
                    .find(|(from, _)| on_table && mentions(&dep.sql, from))
                    .map(|r| (d.new.name.clone(), r))
            });
            if let Some((table, (from, to))) = stale_column {
                let what = format!("column {table}.{from} to {to}");
                self.error(
                    "L10",
                    format!(
                        "{} {} must be recreated around the rebuild of table {t}, but this migration also renames \
                         {what}: split the change into two migrations, the rename first",
                        kind_word(dep.kind),
                        dep.name
                    ),
                );
            }
        }
        let copy_rowid = if !o.without_rowid && has_hidden_rowid(n) {
            let free = ["rowid", "_rowid_", "oid"].into_iter().find(|alias| {
                !o.columns
                    .iter()
                    .chain(n.columns.iter())
                    .any(|c| c.name.eq_ignore_ascii_case(alias))
            });
            match free {
                Some(_) => self.info("L9", format!("table {t} has no INTEGER PRIMARY KEY: the rebuild keeps every rowid")),
                None => self.warn("L9", format!("table {t}: columns named rowid, _rowid_ and oid hide the rowid, so the rebuild renumbers it")),
            }
            free
        } else {
            None
        };
        if copy.is_empty() && copy_rowid.is_none() {
            // Nothing to copy by name: still copy one row per old row, so no row is lost.
            if let Some(first) = n.columns.first() {
                let expr = first
                    .default
                    .as_ref()
                    .map_or_else(|| "NULL".to_string(), super::render::default_sql);
                copy.push((first.name.clone(), expr));
            }
        }
        let keep_sequence = o.autoincrement && n.autoincrement;
        if keep_sequence {
            self.info("L9", format!("table {t} uses AUTOINCREMENT: the rebuild keeps its counter"));
        }
        let mut note = format!("table {t} is rebuilt (create, copy, drop, rename)");
        if !n.indexes.is_empty() {
            let names: Vec<&str> = n.indexes.iter().map(|i| i.name.as_str()).collect();
            note.push_str(&format!("; indexes recreated: {}", names.join(", ")));
        }
        if !dependents.is_empty() {
            let names: Vec<&str> = dependents.iter().map(|d| d.name.as_str()).collect();
            note.push_str(&format!("; views and triggers recreated: {}", names.join(", ")));
        }
        self.info("L6", note);
        // L5: children whose ON DELETE action would fire if foreign keys were on during the DROP.
        let hazards: Vec<String> =
            self.new
                .tables
                .values()
                .filter(|c| c.name != t)
                .flat_map(|c| c.foreign_keys.iter().map(move |fk| (c, fk)))
                .filter(|(_, fk)| fk.ref_table == t)
                .filter_map(|(c, fk)| {
                    let action = fk.on_delete?;
                    matches!(action, FkAction::Cascade | FkAction::SetNull | FkAction::SetDefault)
                        .then(|| {
                            format!(
                                "{}({}) ON DELETE {}",
                                c.name,
                                fk.columns.join(", "),
                                action.as_sql()
                            )
                        })
                })
                .collect();
        if !hazards.is_empty() {
            self.info(
                "L5",
                format!(
                    "table {t} is rebuilt while {} reference it: safe only with foreign keys off during the \
                     migration, as the runner does (hosts that ignore PRAGMA foreign_keys would lose those rows)",
                    hazards.join(", ")
                ),
            );
        }
        // Children keep their CREATE text: the runner switches foreign keys off outside the
        // transaction, so dropping the old table fires no action on them.
        let temp_name = self.temp_name(&cur);
        let mut table = n.clone();
        table.name = cur;
        for fk in &mut table.foreign_keys {
            fk.ref_table = self.current_name(&fk.ref_table);
        }
        self.steps.push(Step::RebuildTable(Box::new(Rebuild {
            table,
            temp_name,
            copy,
            copy_rowid,
            guards,
            row_label: row_label(o),
            keep_sequence,
            dependents,
            summary,
        })));
    }
}

/// Whether an SQL expression is a literal that can never be NULL (`''`, `0`, `-1.5`, `x'00'`),
/// so a backfill with it needs no NULL guard.
fn is_non_null_literal(expr: &str) -> bool {
    use super::sql::{TokenKind, strip_outer_parens, tokenize};
    let tokens = tokenize(strip_outer_parens(expr));
    match tokens.as_slice() {
        [t] => matches!(t.kind, TokenKind::String | TokenKind::Number | TokenKind::Blob),
        [sign, n] => (sign.is_punct("-") || sign.is_punct("+")) && n.kind == TokenKind::Number,
        _ => false,
    }
}

fn kind_word(k: ObjectKind) -> &'static str {
    match k {
        ObjectKind::View => "view",
        ObjectKind::Trigger => "trigger",
    }
}

fn rename(name: &str, map: &[(String, String)]) -> String {
    map.iter().find(|(f, _)| f == name).map_or_else(|| name.to_string(), |(_, t)| t.clone())
}

/// Matches the columns of a kept table: declared renames first (when the old table has the old
/// name and not the new one), then equal names.
fn match_columns<'a>(o: &'a Table, n: &'a Table) -> TableDiff<'a> {
    let mut renames = Vec::new();
    let mut claimed: BTreeSet<&str> = BTreeSet::new();
    let mut by_new: BTreeMap<&str, &'a Column> = BTreeMap::new();
    for nc in &n.columns {
        if let Some(from) = &nc.renamed_from
            && let Some(oc) = o.column(from)
            && o.column(&nc.name).is_none()
            && !claimed.contains(from.as_str())
        {
            claimed.insert(oc.name.as_str());
            renames.push((oc.name.clone(), nc.name.clone()));
            by_new.insert(nc.name.as_str(), oc);
        }
    }
    let mut matched = Vec::new();
    let mut added = Vec::new();
    for nc in &n.columns {
        if let Some(oc) = by_new.get(nc.name.as_str()) {
            matched.push((*oc, nc));
            continue;
        }
        match o.column(&nc.name) {
            Some(oc) if !claimed.contains(oc.name.as_str()) => {
                claimed.insert(oc.name.as_str());
                matched.push((oc, nc));
            }
            _ => added.push(nc),
        }
    }
    let dropped = o.columns.iter().filter(|c| !claimed.contains(c.name.as_str())).collect();
    TableDiff { old: o, new: n, matched, added, dropped, renames }
}
