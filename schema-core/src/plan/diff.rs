//! The diff: match tables and columns (renames only from `renamed_from`), decide in place versus
//! rebuild, order the steps, and lint.

use std::collections::{BTreeMap, BTreeSet};

use super::convert::{self, converted, row_label};
use super::lint::{FkActions, Lint, kind_word};
use super::render::has_hidden_rowid;
use super::sql::{mentions, normalise, normalise_renamed, quote_ident as q};
use super::{
    DbObject, DropTarget, Finding, Guard, ObjectKind, Plan, PlanInput, Rebuild, RebuildSummary,
    Severity, Step, ValueOrigin,
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
        allow: Vec::new(),
        findings: Vec::new(),
        steps: Vec::new(),
        acknowledged: Vec::new(),
        table_renames: Vec::new(),
        diffs: Vec::new(),
        dropped: Vec::new(),
    };
    for entry in input.allow_drop {
        match DropTarget::parse_list(entry) {
            Ok(targets) => cx.allow.extend(targets),
            Err(message) => cx.error("L1", message),
        }
    }
    cx.run();
    cx.lint_unused_acknowledgements();
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
    allow: Vec<DropTarget>,
    findings: Vec<Finding>,
    steps: Vec<Step>,
    acknowledged: Vec<String>,
    /// Declared table renames that apply: `(old name, new name)`.
    table_renames: Vec<(String, String)>,
    diffs: Vec<TableDiff<'a>>,
    /// Old tables this migration drops.
    dropped: Vec<String>,
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

/// A foreign key compared across versions: columns, parent, parent columns, ON UPDATE, ON DELETE.
type FkKey = (Vec<String>, String, Vec<String>, &'static str, &'static str);

fn fk_key(fk: &ForeignKey) -> FkKey {
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
    /// Whether view or trigger `o` uses the table or view `name`: as SQLite resolved it when
    /// the build could ask ([`DbObject::references`], tables of the old schema), else (and for
    /// views, which SQLite cannot rename) by scanning its text for the name.
    fn uses(&self, o: &DbObject, name: &str) -> bool {
        match &o.references {
            Some(tables) if self.old.tables.keys().any(|t| t.eq_ignore_ascii_case(name)) => {
                tables.iter().any(|t| t.eq_ignore_ascii_case(name))
            }
            Some(_)
                if !self
                    .deps
                    .iter()
                    .any(|d| d.kind == ObjectKind::View && d.name.eq_ignore_ascii_case(name)) =>
            {
                false
            }
            _ => mentions(&o.sql, name),
        }
    }

    /// L1: a `MIGRATION_ALLOW_DROP` entry that acknowledges nothing this migration drops (a
    /// typo, or left set from an earlier build).
    fn lint_unused_acknowledgements(&mut self) {
        let used: Vec<DropTarget> = self
            .acknowledged
            .iter()
            .filter_map(|k| DropTarget::parse_list(k).ok())
            .flatten()
            .collect();
        let unused: Vec<String> = self
            .allow
            .iter()
            .filter(|a| !used.iter().any(|u| a.matches(&u.table, u.column.as_deref())))
            .map(ToString::to_string)
            .collect();
        for entry in unused {
            self.warn(
                "L1",
                format!(
                    "MIGRATION_ALLOW_DROP entry {entry} matches nothing this migration drops (check the name; \
                     unset it once the drop is generated)"
                ),
            );
        }
    }

    /// The acknowledgement of dropping `column` of `table` (the whole table for `None`).
    fn allowed(&self, table: &str, column: Option<&str>) -> bool {
        self.allow.iter().any(|a| a.matches(table, column))
    }

    fn run(&mut self) {
        self.lint_names();
        self.lint_double_quoted();
        let (dropped, created) = self.match_tables();
        self.dropped.clone_from(&dropped);
        self.lint_foreign_keys(&dropped);
        self.lint_table_drops(&dropped, &created);
        self.lint_stale_expressions();

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
        }
        self.push_table_renames(&dropped);
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
            // A declared rename applies whenever the old schema has the old name, even when it
            // also has the new one (that table is then renamed away or dropped): renames are
            // solved as a permutation (see `order_renames`).
            if let Some(from) = &t.renamed_from
                && let Some(o) = find_ci(self.old.tables.values(), from, |t| &t.name)
                && o.name != t.name
                && !claimed.contains(o.name.as_str())
            {
                claimed.insert(o.name.as_str());
                self.table_renames.push((o.name.clone(), t.name.clone()));
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
        for c in &created {
            if let Some(from) = self.new.table(c).and_then(|t| t.renamed_from.as_ref())
                && find_ci(self.old.tables.values(), from, |t| &t.name).is_none()
            {
                self.warn(
                    "L13",
                    format!(
                        "table {c} has renamed_from = \"{from}\", but the old schema has no table {from}: {c} is \
                         created as a new, empty table (check the old name)"
                    ),
                );
            }
        }
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
            let key = DropTarget::table(d).to_string();
            if self.allowed(d, None) {
                self.warn("L1", format!("table {d} is dropped with all its rows (acknowledged by MIGRATION_ALLOW_DROP={key})"));
                self.acknowledged.push(key);
            } else if let Some((from, _)) =
                self.table_renames.iter().find(|(_, to)| to.eq_ignore_ascii_case(d)).cloned()
            {
                self.error(
                    "L1",
                    format!(
                        "table {from} is renamed to {d} (renamed_from) while the old schema also has a table {d}, \
                         which is dropped with all its rows: set MIGRATION_ALLOW_DROP={key} to confirm{}, or add \
                         #[table(renamed_from = \"{d}\")] to the table the old {d} became",
                        quoting_note(&key)
                    ),
                );
            } else if let Some(c) =
                created.iter().find(|c| self.new.table(c).is_some_and(|n| shape(n) == shape(old)))
            {
                self.error(
                    "L13",
                    format!(
                        "table {d} is dropped and table {c} is added with the same columns: if {d} was renamed, add \
                         #[table(renamed_from = \"{d}\")] to {c}; to really drop {d} and its rows, set \
                         MIGRATION_ALLOW_DROP={key}{}",
                        quoting_note(&key)
                    ),
                );
            } else {
                self.error(
                    "L1",
                    format!(
                        "table {d} is dropped, which deletes all its rows: set MIGRATION_ALLOW_DROP={key} to confirm{}, or \
                         add #[table(renamed_from = \"{d}\")] to the table it became",
                        quoting_note(&key)
                    ),
                );
            }
            // Views and triggers elsewhere that use the table would break (triggers on it go with it).
            for o in self.deps {
                if o.tbl_name.eq_ignore_ascii_case(d) && o.kind == ObjectKind::Trigger {
                    self.warn("L1", format!("trigger {} on table {d} is dropped with it", o.name));
                } else if self.uses(o, d) {
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
                if let Some(problem) = expression_problem(e) {
                    out.push(Finding::error(
                        "L12",
                        format!(
                            "table {}: {what} `{}` contains {problem}, which would change the generated \
                             statement around it: write one SQL expression without it",
                            t.name,
                            e.escape_debug()
                        ),
                    ));
                    continue;
                }
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

    /// L12: a CHECK, index `where` or default of a kept table that still names a column this
    /// migration renames or drops (the new table could not be created with it).
    fn lint_stale_expressions(&mut self) {
        let mut out = Vec::new();
        for d in &self.diffs {
            let n = d.new;
            let mut exprs: Vec<(String, &str)> = Vec::new();
            for c in &n.columns {
                if let Some(e) = &c.check {
                    exprs.push((format!("#[column(check = ..)] of column {}", c.name), e));
                }
                if let Some(DefaultValue::Sql(e)) = &c.default {
                    exprs.push((format!("#[column(default_sql = ..)] of column {}", c.name), e));
                }
            }
            for ch in &n.checks {
                exprs.push(("#[check(..)]".to_string(), &ch.expr));
            }
            for i in &n.indexes {
                if let Some(w) = &i.where_clause {
                    exprs.push((format!("the `where` of #[index] {}", i.name), w));
                }
            }
            for (what, e) in exprs {
                for name in stale_names(e, n) {
                    if let Some((from, to)) =
                        d.renames.iter().find(|(f, _)| f.eq_ignore_ascii_case(&name))
                    {
                        out.push(Finding::error(
                            "L12",
                            format!(
                                "table {}: {what} uses column {from}, which this migration renames to {to} \
                                 (renamed_from): write {to} in that expression",
                                n.name
                            ),
                        ));
                    } else if d.dropped.iter().any(|c| c.name.eq_ignore_ascii_case(&name)) {
                        out.push(Finding::error(
                            "L12",
                            format!(
                                "table {}: {what} uses column {name}, which this migration drops: change that \
                                 expression or keep the column",
                                n.name
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
            } else if name.chars().any(char::is_control) {
                out.push(Finding::error(
                    "L12",
                    format!(
                        "{kind} {name:?} contains a control character (a line break or tab): rename it; such a \
                         name cannot be written in a migration file's header or MIGRATION_ALLOW_DROP"
                    ),
                ));
            } else if name.get(..7).is_some_and(|p| p.eq_ignore_ascii_case("sqlite_")) {
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
                } else if c.name.chars().any(char::is_control) {
                    out.push(Finding::error(
                        "L12",
                        format!(
                            "table {}: column {:?} contains a control character (a line break or tab): rename it",
                            t.name, c.name
                        ),
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
    /// The objects were created against the old schema, so only the old name matters; triggers
    /// of tables this migration drops are gone already.
    fn dependents_of(&self, old_name: &str) -> Vec<DbObject> {
        let mut names: BTreeSet<String> = [old_name.to_ascii_lowercase()].into();
        let mut picked: Vec<bool> = self
            .deps
            .iter()
            .map(|o| {
                o.kind == ObjectKind::Trigger
                    && self.dropped.iter().any(|d| d.eq_ignore_ascii_case(&o.tbl_name))
            })
            .collect();
        let gone = picked.clone();
        loop {
            let mut changed = false;
            for (k, o) in self.deps.iter().enumerate() {
                if picked[k] {
                    continue;
                }
                let hit = names.contains(&o.tbl_name.to_ascii_lowercase())
                    || names.iter().any(|n| self.uses(o, n));
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
        self.deps
            .iter()
            .zip(picked.iter().zip(gone))
            .filter(|(_, (p, g))| **p && !g)
            .map(|(o, _)| o.clone())
            .collect()
    }

    fn temp_name(&self, table: &str) -> String {
        self.free_name(&format!("__new_{table}"))
    }

    /// `base`, or `base_2`, `base_3`, ...: the first name no table, index, view or trigger of
    /// either schema has, ASCII case-insensitively.
    fn free_name(&self, base: &str) -> String {
        self.free_name_besides(base, &BTreeSet::new())
    }

    /// Like [`Self::free_name`], also avoiding `more` (lowercase names in use mid-migration).
    fn free_name_besides(&self, base: &str, more: &BTreeSet<String>) -> String {
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
        while taken.contains(&name.to_ascii_lowercase())
            || more.contains(&name.to_ascii_lowercase())
        {
            name = format!("{base}_{k}");
            k += 1;
        }
        name
    }

    /// Step 3: the table renames as one permutation: a rename onto a freed name after the one
    /// that frees it, a swap through a temporary name, a case-only rename through
    /// `__rename_<name>` (SQLite refuses `user` to `User` directly).
    fn push_table_renames(&mut self, dropped: &[String]) {
        let names: Vec<String> =
            self.old.tables.keys().filter(|n| !dropped.contains(n)).cloned().collect();
        let renames = self.table_renames.clone();
        let ordered = order_renames(&names, &renames, |from, current| {
            self.free_name_besides(&format!("__rename_{from}"), current)
        });
        match ordered {
            Ok(moves) => {
                // Temporary names in use by the permutation, which a case-only rename's own
                // temporary name must avoid.
                let mut used: BTreeSet<String> =
                    moves.iter().map(|(_, to)| to.to_ascii_lowercase()).collect();
                for (from, to) in moves {
                    let via = from.eq_ignore_ascii_case(&to).then(|| {
                        let tmp = self.free_name_besides(&format!("__rename_{to}"), &used);
                        used.insert(tmp.to_ascii_lowercase());
                        tmp
                    });
                    self.steps.push(Step::RenameTable { from, to, via });
                }
            }
            Err(Blocked { from, target }) => self.error(
                "L13",
                format!(
                    "table {from} cannot be renamed to {target} (renamed_from): table {target} stays in the \
                     schema under that name; rename or drop it in the same migration, or choose another name"
                ),
            ),
        }
    }

    /// Column renames of a rebuilt table that run in place before the rebuild: those of columns
    /// another table's foreign key references (SQLite's RENAME COLUMN rewrites the children's
    /// `REFERENCES`, which a rebuild's copy cannot), and the renames whose old names those
    /// renames need.
    fn inplace_renames(&self, d: &TableDiff<'_>) -> Vec<(String, String)> {
        let o = d.old;
        let referenced = |c: &str| {
            self.old.tables.values().filter(|t| t.name != o.name).any(|t| {
                t.foreign_keys.iter().any(|fk| {
                    fk.ref_table == o.name
                        && (fk.ref_columns.iter().any(|r| r.eq_ignore_ascii_case(c))
                            || (fk.ref_columns.is_empty()
                                && o.primary_key.iter().any(|p| p.eq_ignore_ascii_case(c))))
                })
            })
        };
        // (SQLite cannot rename a column named rowid, oid or _rowid_ in place; the copy does.)
        let movable = |(f, t): &(String, String)| {
            d.old.without_rowid || !(is_rowid_name(f) || is_rowid_name(t))
        };
        let mut set: BTreeSet<&(String, String)> =
            d.renames.iter().filter(|r| movable(r) && referenced(&r.0)).collect();
        loop {
            let more: Vec<&(String, String)> = d
                .renames
                .iter()
                .filter(|r| {
                    movable(r)
                        && !set.contains(r)
                        && set.iter().any(|(_, t)| t.eq_ignore_ascii_case(&r.0))
                })
                .collect();
            if more.is_empty() {
                break;
            }
            set.extend(more);
        }
        d.renames.iter().filter(|r| set.contains(r)).cloned().collect()
    }

    /// `RenameColumn` steps for `renames` on table `cur` (old columns `names`), ordered as a
    /// permutation; a blocked rename is an error naming the conflict.
    fn push_column_renames(
        &mut self,
        t: &str,
        cur: &str,
        names: &[String],
        renames: &[(String, String)],
    ) {
        let temp = |from: &str, current: &BTreeSet<String>| {
            let base = format!("__godwit_{from}");
            let mut name = base.clone();
            let mut k = 2;
            while current.contains(&name.to_ascii_lowercase()) {
                name = format!("{base}_{k}");
                k += 1;
            }
            name
        };
        match order_renames(names, renames, temp) {
            Ok(moves) => {
                for (from, to) in moves {
                    self.steps.push(Step::RenameColumn { table: cur.to_string(), from, to });
                }
            }
            Err(Blocked { from, target }) => self.error(
                "L13",
                format!(
                    "table {t}: column {from} cannot be renamed to {target} (renamed_from): column {target} \
                     stays in the table under that name; rename or drop it in the same migration"
                ),
            ),
        }
    }

    /// One kept table: classify its changes, report the lints, push the steps.
    fn kept_table(&mut self, i: usize) {
        let d = &self.diffs[i];
        let (o, n) = (d.old, d.new);
        let mut k = self.classify(d);
        let lints = std::mem::take(&mut k.lints);
        self.report(&n.name, lints);
        if !k.changed() {
            return;
        }
        if k.rebuild {
            self.push_rebuild(o, n, k);
        } else {
            self.push_in_place(o, &n.name, k);
        }
    }

    fn report(&mut self, table: &str, lints: Vec<Lint>) {
        self.findings.extend(lints.iter().map(|l| l.finding(table)));
    }

    /// Classifies every change of a kept table: whether it rebuilds, the copy list and the
    /// guards of a rebuild, the in-place steps, and the lints.
    fn classify(&self, d: &TableDiff<'a>) -> Classified<'a> {
        let mut k = Classified {
            rebuild: false,
            summary: RebuildSummary {
                added: d.added.iter().map(|c| c.name.clone()).collect(),
                dropped: d.dropped.iter().map(|c| c.name.clone()).collect(),
                renamed: d.renames.clone(),
                altered: false,
                changes: Vec::new(),
            },
            copy: Vec::new(),
            guards: Vec::new(),
            new_checks: Vec::new(),
            inline_refs: BTreeMap::new(),
            renames: d.renames.clone(),
            inplace: self.inplace_renames(d),
            fks_old: BTreeSet::new(),
            acknowledged: Vec::new(),
            added: d.added.clone(),
            dropped: d.dropped.clone(),
            idx_drop: Vec::new(),
            idx_create: Vec::new(),
            pk_changed: false,
            lints: d
                .renames
                .iter()
                .map(|(from, to)| Lint::ColumnRenamed { from: from.clone(), to: to.clone() })
                .collect(),
        };
        for nc in &d.new.columns {
            let exprs = [("backfill", &nc.backfill), ("convert", &nc.convert)];
            for (attr, e) in exprs.iter().filter_map(|(a, e)| e.as_ref().map(|e| (*a, e))) {
                if let Some((from, to)) = k.inplace.iter().find(|(f, _)| mentions(e, f)) {
                    k.lints.push(Lint::BackfillUsesKeyRenamedFirst {
                        attr,
                        column: nc.name.clone(),
                        from: from.clone(),
                        to: to.clone(),
                    });
                }
            }
        }
        for (oc, nc) in &d.matched {
            classify_matched(d, oc, nc, &mut k);
        }
        let fks_added = self.classify_table_level(d, &mut k);
        classify_added(d, &fks_added, &mut k);
        classify_fks_added(d, &fks_added, &mut k);
        self.classify_dropped(d, &mut k);
        classify_indexes(d, &mut k);
        // SQLite refuses ADD, DROP and RENAME COLUMN of a column named rowid, oid or _rowid_ in
        // a table with a rowid ("cannot add rowid alias"): the rebuild copies it instead.
        if !d.old.without_rowid
            && (k.added.iter().any(|c| is_rowid_name(&c.name))
                || k.dropped.iter().any(|c| is_rowid_name(&c.name))
                || k.renames.iter().any(|(f, t)| is_rowid_name(f) || is_rowid_name(t)))
        {
            k.rebuild = true;
        }
        k
    }

    /// Primary key, table options, table CHECKs and foreign keys. Returns the foreign keys the
    /// new table adds (in new names).
    fn classify_table_level(
        &self,
        d: &TableDiff<'a>,
        k: &mut Classified<'a>,
    ) -> Vec<&'a ForeignKey> {
        let (o, n) = (d.old, d.new);
        let renames = &d.renames;
        let pk_old: Vec<String> = o.primary_key.iter().map(|c| rename(c, renames)).collect();
        if pk_old != n.primary_key {
            k.alter("change_primary_key".into());
            k.pk_changed = true;
            if !n.primary_key.is_empty() {
                k.lints.push(Lint::PrimaryKeyChanged { columns: n.primary_key.clone() });
            }
        }
        if o.autoincrement != n.autoincrement {
            k.alter(
                if n.autoincrement { "add_autoincrement" } else { "drop_autoincrement" }.into(),
            );
        }
        if o.strict != n.strict {
            k.alter(if n.strict { "make_strict" } else { "make_not_strict" }.into());
        }
        if o.without_rowid != n.without_rowid {
            k.alter(if n.without_rowid { "make_without_rowid" } else { "make_with_rowid" }.into());
            k.lints.push(Lint::WithoutRowidChanged { added: n.without_rowid });
        }
        let checks_old: BTreeSet<(Option<String>, String)> = o
            .checks
            .iter()
            .map(|c| (c.name.clone(), normalise_renamed(&c.expr, renames)))
            .collect();
        let checks_new: BTreeSet<(Option<String>, String)> =
            n.checks.iter().map(|c| (c.name.clone(), normalise(&c.expr))).collect();
        if checks_old != checks_new {
            k.alter("change_checks".into());
            for c in &n.checks {
                if !checks_old.contains(&(c.name.clone(), normalise(&c.expr))) {
                    k.lints.push(Lint::TableCheckAdded { expr: c.expr.clone() });
                    k.new_checks.push((None, c.expr.clone()));
                }
            }
            for c in &o.checks {
                if !checks_new.contains(&(c.name.clone(), normalise_renamed(&c.expr, renames))) {
                    k.lints.push(Lint::TableCheckDropped { expr: c.expr.clone() });
                }
            }
        }
        let fks_old: BTreeSet<_> =
            o.foreign_keys.iter().map(|fk| fk_key(&self.map_fk(fk, renames))).collect();
        let fks_new: BTreeSet<_> = n.foreign_keys.iter().map(fk_key).collect();
        for old in fks_old.difference(&fks_new) {
            let same_key = fks_new.iter().find(|n| n.0 == old.0 && n.1 == old.1 && n.2 == old.2);
            k.lints.push(match same_key {
                Some(new) => Lint::ForeignKeyActionsChanged {
                    columns: old.0.clone(),
                    parent: old.1.clone(),
                    old: FkActions { on_update: old.3, on_delete: old.4 },
                    new: FkActions { on_update: new.3, on_delete: new.4 },
                },
                None => Lint::ForeignKeyDropped { columns: old.0.clone(), parent: old.1.clone() },
            });
            let verb = if same_key.is_some() { "change" } else { "drop" };
            k.alter(format!("{verb}_{}_foreign_key", old.0.join("_")));
        }
        k.fks_old = fks_old;
        n.foreign_keys.iter().filter(|fk| !k.fks_old.contains(&fk_key(fk))).collect()
    }

    /// Dropped columns: acknowledgement, whether they force a rebuild, dependents that use them.
    fn classify_dropped(&self, d: &TableDiff<'a>, k: &mut Classified<'a>) {
        let (o, t) = (d.old, &d.new.name);
        for oc in &d.dropped {
            let key = DropTarget::column(t, &oc.name).to_string();
            let ambiguous = d.added.iter().find(|a| a.ty == oc.ty && a.nullable == oc.nullable);
            let by_new = self.allowed(t, Some(&oc.name));
            if by_new || self.allowed(&o.name, Some(&oc.name)) {
                let table = if by_new { t } else { &o.name };
                let key = DropTarget::column(table, &oc.name).to_string();
                k.acknowledged.push(key.clone());
                k.lints.push(Lint::ColumnDropAcknowledged { column: oc.name.clone(), key });
            } else if let Some((from, _)) =
                d.renames.iter().find(|(_, to)| to.eq_ignore_ascii_case(&oc.name))
            {
                k.lints.push(Lint::ColumnDropReplacedByRename {
                    column: oc.name.clone(),
                    from: from.clone(),
                    key,
                });
            } else if let Some(a) = ambiguous {
                k.lints.push(Lint::ColumnDropLooksLikeRename {
                    column: oc.name.clone(),
                    added: a.name.clone(),
                    key,
                });
            } else {
                k.lints.push(Lint::ColumnDropped { column: oc.name.clone(), key });
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
            let last = d.matched.is_empty();
            if in_pk || oc.unique || in_fk || in_check || referenced || last {
                k.rebuild = true;
            }
            for dep in self.deps {
                let on_table = dep.tbl_name.eq_ignore_ascii_case(&o.name)
                    || dep.tbl_name.eq_ignore_ascii_case(t)
                    || self.uses(dep, &o.name)
                    || self.uses(dep, t);
                if on_table && mentions(&dep.sql, &oc.name) {
                    k.lints.push(Lint::DependentUsesDroppedColumn {
                        kind: dep.kind,
                        name: dep.name.clone(),
                        column: oc.name.clone(),
                    });
                }
            }
        }
    }

    /// The in-place steps: indexes dropped, columns renamed, dropped and added, indexes created.
    fn push_in_place(&mut self, o: &Table, t: &str, k: Classified<'a>) {
        let cur = o.name.clone();
        let t = t.to_string();
        self.acknowledged.extend(k.acknowledged);
        for i in k.idx_drop {
            self.steps.push(Step::DropIndex { table: cur.clone(), name: i.name.clone() });
        }
        // Drops first: they free names that renames may take.
        for oc in &k.dropped {
            self.steps.push(Step::DropColumn { table: cur.clone(), column: oc.name.clone() });
        }
        let names: Vec<String> = o
            .columns
            .iter()
            .filter(|c| !k.dropped.iter().any(|d| d.name == c.name))
            .map(|c| c.name.clone())
            .collect();
        self.push_column_renames(&t, &cur, &names, &k.renames);
        for nc in &k.added {
            let references = k.inline_refs.get(&nc.name).cloned().map(|mut fk| {
                fk.ref_table = self.current_name(&fk.ref_table);
                fk
            });
            self.steps.push(Step::AddColumn {
                table: cur.clone(),
                column: (*nc).clone(),
                references,
            });
        }
        for i in k.idx_create {
            self.steps.push(Step::CreateIndex { table: cur.clone(), index: i.clone() });
        }
    }

    /// The rebuild: guards, dependents, rowid and sequence handling, its lints, the step.
    fn push_rebuild(&mut self, o: &Table, n: &Table, mut k: Classified<'a>) {
        let t = n.name.clone();
        // SQL runs before the table renames, under the table's current (old) name.
        let cur = o.name.clone();
        self.acknowledged.append(&mut k.acknowledged);
        let mut lints = Vec::new();
        // The old table as the guards and the copy see it: under the names the in-place
        // renames (and the moves out of their way) give its columns.
        let mut current = o.clone();
        if !k.inplace.is_empty() {
            let moved = self.push_inplace_before_rebuild(o, &t, &mut k);
            // Each map applies once to each name (a swap renames both ways at once).
            let apply = |name: &mut String| {
                for map in [&moved, &k.inplace] {
                    if let Some((_, to)) = map.iter().find(|(f, _)| f == name) {
                        name.clone_from(to);
                    }
                }
            };
            current.columns.iter_mut().for_each(|c| apply(&mut c.name));
            current.primary_key.iter_mut().for_each(apply);
        }
        rebuild_guards(n, &mut k);
        let dependents = self.rebuild_dependents(o, &k.renames, &mut lints);
        let copy_rowid = rowid_copy(o, n, &mut lints);
        if k.copy.is_empty() && copy_rowid.is_none() {
            // Nothing to copy by name: still copy one row per old row, so no row is lost.
            if let Some(first) = n.columns.first() {
                let expr = first
                    .default
                    .as_ref()
                    .map_or_else(|| "NULL".to_string(), super::render::default_sql);
                k.copy.push((first.name.clone(), expr));
            }
        }
        let keep_sequence = o.autoincrement && n.autoincrement;
        if keep_sequence {
            lints.push(Lint::SequenceKept);
        }
        lints.push(Lint::Rebuilt {
            indexes: n.indexes.iter().map(|i| i.name.clone()).collect(),
            dependents: dependents.iter().map(|d| d.name.clone()).collect(),
        });
        let hazards = self.cascade_hazards(&t);
        if !hazards.is_empty() {
            lints.push(Lint::CascadeHazard { children: hazards });
        }
        self.report(&t, lints);
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
            copy: k.copy,
            copy_rowid,
            guards: k.guards,
            row_label: row_label(&current),
            keep_sequence,
            dependents,
            summary: k.summary,
        })));
    }

    /// The views and triggers to drop and recreate around the rebuild of `o`, with the text of
    /// those naming a column renamed in this migration rewritten, or an L10 lint when that
    /// cannot be done safely.
    fn rebuild_dependents(
        &self,
        o: &Table,
        renames: &[(String, String)],
        lints: &mut Vec<Lint>,
    ) -> Vec<DbObject> {
        let mut dependents = self.dependents_of(&o.name);
        for dep in &mut dependents {
            // A column renamed in this migration (in place, which SQLite rewrites in the saved
            // text, or by the rebuild's copy, which nothing rewrites) makes the saved text stale:
            // recreating it would bring back the old column name. When the object uses only this
            // table and every mention of the old name is a plain column reference, it is
            // recreated with the new name instead. Table renames run last and rewrite recreated
            // objects themselves.
            let stale_column = self.diffs.iter().find_map(|d| {
                let on_table = self.uses(dep, &d.old.name);
                d.renames
                    .iter()
                    .find(|(from, _)| on_table && mentions(&dep.sql, from))
                    .map(|r| (d.new.name.clone(), r))
            });
            let only_this_table = dep
                .references
                .as_ref()
                .is_some_and(|tables| tables.iter().all(|t| t.eq_ignore_ascii_case(&o.name)));
            let rewritten = (stale_column.is_some() && only_this_table)
                .then(|| rewrite_columns(&dep.sql, &o.name, renames))
                .flatten();
            if let Some(text) = rewritten {
                dep.sql = text;
            } else if let Some((table, (from, to))) = stale_column {
                lints.push(Lint::StaleDependent {
                    kind: dep.kind,
                    name: dep.name.clone(),
                    table,
                    from: from.clone(),
                    to: to.clone(),
                });
            }
        }
        dependents
    }

    /// The in-place renames of a rebuilt table, before its rebuild: a dropped column holding a
    /// name they need moves to a temporary name first (the rebuild then leaves it behind).
    /// Returns the moves of dropped columns to temporary names.
    fn push_inplace_before_rebuild(
        &mut self,
        o: &Table,
        t: &str,
        k: &mut Classified<'a>,
    ) -> Vec<(String, String)> {
        let mut moves: Vec<(String, String)> = Vec::new();
        for oc in &k.dropped {
            if !k.inplace.iter().any(|(_, to)| to.eq_ignore_ascii_case(&oc.name)) {
                continue;
            }
            let referenced = self.old.tables.values().any(|ot| {
                ot.name != o.name
                    && ot.foreign_keys.iter().any(|fk| {
                        fk.ref_table == o.name
                            && fk.ref_columns.iter().any(|r| r.eq_ignore_ascii_case(&oc.name))
                    })
            });
            if referenced {
                self.error(
                    "L13",
                    format!(
                        "table {t}: column {} is dropped while another column is renamed onto its name and a \
                         foreign key of another table references {t}({}): split the change into two \
                         migrations (first drop or move that reference)",
                        oc.name, oc.name
                    ),
                );
                return Vec::new();
            }
            let taken: BTreeSet<String> = o
                .columns
                .iter()
                .map(|c| c.name.to_ascii_lowercase())
                .chain(k.inplace.iter().map(|(_, to)| to.to_ascii_lowercase()))
                .collect();
            let base = format!("__godwit_{}", oc.name);
            let mut tmp = base.clone();
            let mut n = 2;
            while taken.contains(&tmp.to_ascii_lowercase()) {
                tmp = format!("{base}_{n}");
                n += 1;
            }
            moves.push((oc.name.clone(), tmp));
        }
        let cur = o.name.clone();
        for (from, to) in &moves {
            self.steps.push(Step::RenameColumn {
                table: cur.clone(),
                from: from.clone(),
                to: to.clone(),
            });
        }
        let names: Vec<String> = o
            .columns
            .iter()
            .map(|c| {
                moves
                    .iter()
                    .find(|(f, _)| f == &c.name)
                    .map_or_else(|| c.name.clone(), |(_, to)| to.clone())
            })
            .collect();
        let inplace = k.inplace.clone();
        self.push_column_renames(t, &cur, &names, &inplace);
        k.summary.renamed.retain(|r| !inplace.contains(r));
        moves
    }

    /// L5: children whose ON DELETE action would fire if foreign keys were on during the DROP
    /// of table `t`'s rebuild.
    fn cascade_hazards(&self, t: &str) -> Vec<String> {
        self.new
            .tables
            .values()
            .filter(|c| c.name != t)
            .flat_map(|c| c.foreign_keys.iter().map(move |fk| (c, fk)))
            .filter(|(_, fk)| fk.ref_table == t)
            .filter_map(|(c, fk)| {
                let action = fk.on_delete?;
                matches!(action, FkAction::Cascade | FkAction::SetNull | FkAction::SetDefault).then(
                    || {
                        format!(
                            "{}({}) ON DELETE {}",
                            c.name,
                            fk.columns.join(", "),
                            action.as_sql()
                        )
                    },
                )
            })
            .collect()
    }
}

/// The classification of one kept table's changes (see [`Cx::classify`]).
struct Classified<'a> {
    /// The table must be rebuilt.
    rebuild: bool,
    summary: RebuildSummary,
    /// `(new column, expression over the old table)` for a rebuild.
    copy: Vec<(String, String)>,
    guards: Vec<Guard>,
    /// New CHECKs `(column of a column CHECK, expression)`, each guarded over the copied values.
    new_checks: Vec<(Option<String>, String)>,
    /// Inline `REFERENCES` of columns added in place.
    inline_refs: BTreeMap<String, ForeignKey>,
    /// The old foreign keys, in new names.
    fks_old: BTreeSet<FkKey>,
    renames: Vec<(String, String)>,
    /// Renames of a rebuilt table that run in place before the rebuild (see
    /// [`Cx::inplace_renames`]); the rebuild then reads those columns by their new names.
    inplace: Vec<(String, String)>,
    added: Vec<&'a Column>,
    dropped: Vec<&'a Column>,
    idx_drop: Vec<&'a Index>,
    idx_create: Vec<&'a Index>,
    pk_changed: bool,
    /// Acknowledged column drops (`table.column`).
    acknowledged: Vec<String>,
    lints: Vec<Lint>,
}

impl Classified<'_> {
    /// Records a change that needs a rebuild, with its phrase for the migration name
    /// (`make_title_not_null`).
    fn alter(&mut self, phrase: String) {
        self.rebuild = true;
        self.summary.altered = true;
        if !self.summary.changes.contains(&phrase) {
            self.summary.changes.push(phrase);
        }
    }

    fn changed(&self) -> bool {
        self.rebuild
            || !self.renames.is_empty()
            || !self.added.is_empty()
            || !self.dropped.is_empty()
            || !self.idx_drop.is_empty()
            || !self.idx_create.is_empty()
    }
}

/// One matched column: its copy expression, guards, whether it forces a rebuild, lints.
fn classify_matched(d: &TableDiff<'_>, oc: &Column, nc: &Column, k: &mut Classified<'_>) {
    let (o, n) = (d.old, d.new);
    let source = if k.inplace.iter().any(|(f, _)| f == &oc.name) { &nc.name } else { &oc.name };
    let mut expr = q(source);
    let mut changed = false;
    let c = &nc.name;
    let mut phrases: Vec<String> = Vec::new();
    if oc.ty != nc.ty {
        changed = true;
        phrases.push(format!("{c}_to_{}", nc.ty.as_sql().to_ascii_lowercase()));
        if nc.ty != SqlType::Any {
            k.lints.push(Lint::TypeChanged { column: nc.name.clone(), from: oc.ty, to: nc.ty });
        }
    }
    // A new type, or a table becoming STRICT: the copy stores every value (or what `convert`
    // computes from the old row) converted, so each old row gets the new type's storage
    // class, and a value that does not convert exactly fails the migration.
    if oc.ty != nc.ty || (n.strict && !o.strict) {
        let (value, origin) = match &nc.convert {
            Some(c) => (format!("({c})"), ValueOrigin::Convert),
            None => (expr.clone(), ValueOrigin::Stored),
        };
        lint_literal_value(nc, &value, "convert", &mut k.lints);
        k.guards.push(Guard::Convert {
            column: nc.name.clone(),
            value: value.clone(),
            origin,
            to: nc.ty,
            only_where: None,
            strict_from: (o.strict && origin == ValueOrigin::Stored).then_some(oc.ty),
        });
        expr = converted(&value, nc.ty);
    } else if let Some(convert) = &nc.convert {
        k.lints.push(Lint::ConvertUnused {
            column: nc.name.clone(),
            convert: convert.clone(),
            ty: nc.ty,
        });
    }
    if oc.nullable && !nc.nullable {
        changed = true;
        phrases.push(format!("make_{c}_not_null"));
        if let Some(b) = &nc.backfill {
            let value = format!("({b})");
            lint_literal_value(nc, &value, "backfill", &mut k.lints);
            let only = Some(format!("{expr} IS NULL"));
            let (fill, guard) = convert::backfill(&nc.name, value, nc.ty, only);
            k.guards.extend(guard);
            expr = format!("coalesce({expr}, {fill})");
            k.lints.push(Lint::NotNullBackfilled { column: nc.name.clone() });
        } else {
            k.lints.push(Lint::NotNullNeedsBackfill { column: nc.name.clone() });
        }
    }
    if !oc.nullable && nc.nullable {
        changed = true;
        phrases.push(format!("make_{c}_nullable"));
        k.lints.push(Lint::NotNullDropped { column: nc.name.clone() });
    }
    if default_key(oc.default.as_ref()) != default_key(nc.default.as_ref()) {
        changed = true;
        phrases.push(format!("change_{c}_default"));
    }
    if oc.unique != nc.unique {
        changed = true;
        phrases.push(format!("make_{c}_{}", if nc.unique { "unique" } else { "not_unique" }));
        k.lints.push(if nc.unique {
            Lint::BecomesUnique { column: nc.name.clone() }
        } else {
            Lint::UniqueDropped { column: nc.name.clone() }
        });
    }
    let ck_old = oc.check.as_deref().map(|e| normalise_renamed(e, &d.renames));
    let ck_new = nc.check.as_deref().map(normalise);
    if ck_old != ck_new {
        changed = true;
        phrases.push(format!("change_{c}_check"));
        if let Some(e) = &nc.check {
            k.lints.push(Lint::ColumnCheckAdded { column: nc.name.clone(), expr: e.clone() });
            k.new_checks.push((Some(nc.name.clone()), e.clone()));
        }
        if let Some(e) = &oc.check {
            k.lints.push(Lint::ColumnCheckDropped { column: nc.name.clone(), expr: e.clone() });
        }
    }
    if changed {
        for p in phrases {
            k.alter(p);
        }
    }
    if oc.nullable
        && !nc.nullable
        && nc.backfill.as_deref().is_some_and(|b| !is_non_null_literal(b))
    {
        k.guards.push(Guard::NotNull { column: nc.name.clone(), expr: expr.clone() });
    }
    if nc.unique && !oc.unique {
        k.guards.push(Guard::Unique { columns: vec![nc.name.clone()], constraint: "UNIQUE" });
    }
    k.copy.push((nc.name.clone(), expr));
}

/// L2: a literal `backfill` or `convert` whose value cannot convert to the column's type
/// (`backfill = "'x'"` on an INTEGER column) would fail every row it fills: an error now.
fn lint_literal_value(c: &Column, value: &str, attr: &'static str, lints: &mut Vec<Lint>) {
    if convert::literal_converts(value, c.ty) == Some(false) {
        lints.push(Lint::LiteralDoesNotConvert {
            column: c.name.clone(),
            attr,
            value: super::sql::strip_outer_parens(value).to_string(),
            to: c.ty,
        });
    }
}

/// Added columns: in place when provably safe (R21), else copied in a rebuild.
fn classify_added(d: &TableDiff<'_>, fks_added: &[&ForeignKey], k: &mut Classified<'_>) {
    let n = d.new;
    for nc in &d.added {
        if let Some(from) = &nc.renamed_from
            && find_ci(d.old.columns.iter(), from, |c| &c.name).is_none()
        {
            k.lints.push(Lint::RenamedFromMissing { column: nc.name.clone(), from: from.clone() });
        }
        let fks: Vec<&&ForeignKey> =
            fks_added.iter().filter(|fk| fk.columns.contains(&nc.name)).collect();
        if !nc.nullable && is_null_default(nc.default.as_ref()) && nc.backfill.is_none() {
            k.lints.push(Lint::AddedWithoutValue { column: nc.name.clone() });
        }
        // A CHECK on a new column rebuilds, so its guard names a violating row (ADD COLUMN
        // would fail with SQLite's bare "CHECK constraint failed").
        if let Some(e) = &nc.check {
            k.new_checks.push((Some(nc.name.clone()), e.clone()));
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
        if let Some(convert) = &nc.convert {
            k.lints.push(Lint::ConvertOnNewColumn {
                column: nc.name.clone(),
                convert: convert.clone(),
            });
        }
        if let Some(b) = &nc.backfill {
            let value = format!("({b})");
            lint_literal_value(nc, &value, "backfill", &mut k.lints);
            let (fill, guard) = convert::backfill(&nc.name, value.clone(), nc.ty, None);
            k.guards.extend(guard);
            k.copy.push((nc.name.clone(), fill));
            if !nc.nullable && !is_non_null_literal(b) {
                k.guards.push(Guard::NotNull { column: nc.name.clone(), expr: value });
            }
            if nc.unique {
                k.guards
                    .push(Guard::Unique { columns: vec![nc.name.clone()], constraint: "UNIQUE" });
            }
        } else if matches!(nc.default, Some(DefaultValue::Sql(_))) {
            k.lints.push(Lint::AddedWithExpressionDefault { column: nc.name.clone() });
        }
        if nc.check.is_some() {
            k.lints.push(Lint::AddedWithCheck { column: nc.name.clone() });
        }
        if !in_place {
            k.rebuild = true;
        } else if let Some(fk) = fks.first() {
            k.inline_refs.insert(nc.name.clone(), (**fk).clone());
        }
    }
}

/// New foreign keys that are not a new column's inline `REFERENCES` rebuild the table.
fn classify_fks_added(d: &TableDiff<'_>, fks_added: &[&ForeignKey], k: &mut Classified<'_>) {
    for fk in fks_added {
        if fk.columns.len() == 1 && k.inline_refs.get(&fk.columns[0]).is_some_and(|f| f == *fk) {
            continue;
        }
        let action_only = k
            .fks_old
            .iter()
            .any(|o| o.0 == fk.columns && o.1 == fk.ref_table && o.2 == fk.ref_columns);
        if !action_only {
            k.alter(format!("add_{}_foreign_key", fk.columns.join("_")));
        }
        k.rebuild = true;
        k.summary.altered = true;
        if !action_only && fk.columns.iter().any(|c| d.matched.iter().any(|(_, nc)| &nc.name == c))
        {
            k.lints.push(Lint::ForeignKeyAdded {
                columns: fk.columns.clone(),
                parent: fk.ref_table.clone(),
            });
        }
    }
}

/// Indexes, compared in new names: which to drop and which to create.
fn classify_indexes<'a>(d: &TableDiff<'a>, k: &mut Classified<'a>) {
    let (o, n) = (d.old, d.new);
    let idx_key = |i: &Index, map: &[(String, String)]| {
        (
            i.columns.iter().map(|c| rename(c, map).to_ascii_lowercase()).collect::<Vec<_>>(),
            i.unique,
            i.where_clause.as_deref().map(|w| normalise_renamed(w, map)),
        )
    };
    let same =
        |ni: &Index, oi: &Index| ni.name == oi.name && idx_key(ni, &[]) == idx_key(oi, &d.renames);
    k.idx_drop = o.indexes.iter().filter(|oi| !n.indexes.iter().any(|ni| same(ni, oi))).collect();
    k.idx_create = n.indexes.iter().filter(|ni| !o.indexes.iter().any(|oi| same(ni, oi))).collect();
    for i in &k.idx_drop {
        if i.unique {
            k.lints.push(Lint::UniqueIndexDropped { name: i.name.clone() });
        }
    }
    for i in &k.idx_create {
        if i.unique {
            k.lints.push(Lint::UniqueIndexAdded { name: i.name.clone() });
        }
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
        // Applies whenever the old table has the old name, even when it also has the new one
        // (that column is then renamed away or dropped).
        if let Some(from) = &nc.renamed_from
            && let Some(oc) = find_ci(o.columns.iter(), from, |c| &c.name)
            && oc.name != nc.name
            && !claimed.contains(oc.name.as_str())
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

/// The item named `name`: exactly, else the only one equal ASCII case-insensitively (SQLite
/// names are case-insensitive).
fn find_ci<'t, T>(
    items: impl Iterator<Item = &'t T> + Clone,
    name: &str,
    key: impl Fn(&T) -> &String,
) -> Option<&'t T> {
    if let Some(exact) = items.clone().find(|i| key(i) == name) {
        return Some(exact);
    }
    let mut ci = items.filter(|i| key(i).eq_ignore_ascii_case(name));
    let first = ci.next()?;
    ci.next().is_none().then_some(first)
}

/// Why a set of renames cannot be ordered: `target` is held by a name that nothing renames or
/// drops.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Blocked {
    from: String,
    target: String,
}

/// Orders a permutation of renames (`(from, to)`, a name may be both a source and a target) so
/// that no rename targets a name in use, ASCII case-insensitively: a rename onto a freed name
/// runs after the rename that frees it (shifts), and a cycle (a swap) is broken by renaming one
/// member to a temporary name from `temp` first. `names` are the names in use before the first
/// rename. A case-only rename (`a` to `A`) is never blocked by its own old name.
fn order_renames(
    names: &[String],
    renames: &[(String, String)],
    mut temp: impl FnMut(&str, &BTreeSet<String>) -> String,
) -> Result<Vec<(String, String)>, Blocked> {
    let lower = |s: &str| s.to_ascii_lowercase();
    let mut current: BTreeSet<String> = names.iter().map(|n| lower(n)).collect();
    let mut pending: Vec<(String, String)> =
        renames.iter().filter(|(f, t)| f != t).cloned().collect();
    let mut out = Vec::new();
    while !pending.is_empty() {
        let runnable =
            pending.iter().position(|(f, t)| !current.contains(&lower(t)) || lower(t) == lower(f));
        if let Some(k) = runnable {
            let (f, t) = pending.remove(k);
            current.remove(&lower(&f));
            current.insert(lower(&t));
            out.push((f, t));
            continue;
        }
        // Every target is taken. A target no pending rename frees can never be reached.
        if let Some((f, t)) =
            pending.iter().find(|(_, t)| !pending.iter().any(|(f, _)| lower(f) == lower(t)))
        {
            return Err(Blocked { from: f.clone(), target: t.clone() });
        }
        // A cycle: move its first member out of the way.
        let (f, _) = pending[0].clone();
        let tmp = temp(&f, &current);
        current.remove(&lower(&f));
        current.insert(lower(&tmp));
        out.push((f, tmp.clone()));
        pending[0].0 = tmp;
    }
    Ok(out)
}

/// Words SQLite reads as keywords in an expression, never as a column name.
const EXPR_KEYWORDS: &[&str] = &[
    "and",
    "as",
    "between",
    "case",
    "cast",
    "collate",
    "current_date",
    "current_time",
    "current_timestamp",
    "distinct",
    "else",
    "end",
    "escape",
    "exists",
    "false",
    "glob",
    "in",
    "is",
    "isnull",
    "like",
    "match",
    "not",
    "notnull",
    "null",
    "or",
    "regexp",
    "select",
    "then",
    "true",
    "when",
    "from",
    "where",
];

/// The identifiers of `expr` (bare or quoted, not a function name, not a keyword) that name no
/// column of `table`, nor the table itself.
fn stale_names(expr: &str, table: &Table) -> Vec<String> {
    use super::sql::{TokenKind, tokenize};
    let tokens = tokenize(expr);
    let mut out = Vec::new();
    for (k, tk) in tokens.iter().enumerate() {
        let Some(id) = tk.ident() else { continue };
        if tokens.get(k + 1).is_some_and(|n| n.is_punct("(") || n.is_punct(".")) {
            continue;
        }
        if tk.kind == TokenKind::Word && EXPR_KEYWORDS.iter().any(|kw| kw.eq_ignore_ascii_case(id))
        {
            continue;
        }
        if table.columns.iter().any(|c| c.name.eq_ignore_ascii_case(id))
            || table.name.eq_ignore_ascii_case(id)
        {
            continue;
        }
        out.push(id.to_string());
    }
    out
}

/// How to spell a quoted `MIGRATION_ALLOW_DROP` entry, for messages naming one.
pub(super) fn quoting_note(key: &str) -> &'static str {
    if key.contains('"') {
        " (names holding a space, dot, comma or quote go in double quotes, inner quotes doubled, \
         entries separated by commas; in a shell wrap the whole value in single quotes)"
    } else {
        ""
    }
}

/// One token of SQL text with its byte range, for rewriting identifiers in place.
struct SpanToken {
    start: usize,
    end: usize,
    kind: SpanKind,
}

enum SpanKind {
    /// An identifier or keyword (`quoted` for `"x"`, `` `x` ``, `[x]`), unquoted.
    Ident { name: String, quoted: bool },
    /// One punctuation character.
    Punct(char),
    /// A literal, number, variable or comment-free other text.
    Other,
}

/// Splits SQL into [`SpanToken`]s, skipping whitespace and comments.
fn span_tokens(sql: &str) -> Vec<SpanToken> {
    let chars: Vec<(usize, char)> = sql.char_indices().collect();
    let at = |i: usize| chars.get(i).map(|(_, c)| *c);
    let pos = |i: usize| chars.get(i).map_or(sql.len(), |(p, _)| *p);
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '$' || !c.is_ascii();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(c) = at(i) {
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '-' && at(i + 1) == Some('-') {
            while at(i).is_some_and(|c| c != '\n') {
                i += 1;
            }
            continue;
        }
        if c == '/' && at(i + 1) == Some('*') {
            i += 2;
            while at(i).is_some() && !(at(i) == Some('*') && at(i + 1) == Some('/')) {
                i += 1;
            }
            i = (i + 2).min(chars.len());
            continue;
        }
        let quote_end = |open: char, close: char, mut i: usize| {
            i += 1;
            while let Some(c) = at(i) {
                i += 1;
                if c == close {
                    if close == open && at(i) == Some(close) {
                        i += 1;
                    } else {
                        break;
                    }
                }
            }
            i
        };
        let kind = if c == '\'' || ((c == 'x' || c == 'X') && at(i + 1) == Some('\'')) {
            i = quote_end('\'', '\'', if c == '\'' { i } else { i + 1 });
            SpanKind::Other
        } else if c == '"' || c == '`' || c == '[' {
            let close = if c == '[' { ']' } else { c };
            i = quote_end(c, close, i);
            let inner = &sql[pos(start) + 1..pos(i).saturating_sub(1).max(pos(start) + 1)];
            let name = if c == '[' {
                inner.to_string()
            } else {
                inner.replace(&format!("{c}{c}"), &c.to_string())
            };
            SpanKind::Ident { name, quoted: true }
        } else if c.is_ascii_digit() || matches!(c, '?' | ':' | '@' | '$') {
            i += 1;
            while at(i).is_some_and(|c| word(c) || c == '.') {
                i += 1;
            }
            SpanKind::Other
        } else if word(c) {
            while at(i).is_some_and(word) {
                i += 1;
            }
            SpanKind::Ident { name: sql[pos(start)..pos(i)].to_string(), quoted: false }
        } else {
            i += 1;
            SpanKind::Punct(c)
        };
        out.push(SpanToken { start: pos(start), end: pos(i), kind });
    }
    out
}

/// Words that are SQL keywords in a view or trigger body: a bare one equal to a renamed column
/// is not rewritten (the object is refused instead).
const BODY_KEYWORDS: &[&str] = &[
    "abort",
    "after",
    "all",
    "as",
    "before",
    "begin",
    "by",
    "create",
    "cross",
    "delete",
    "each",
    "end",
    "fail",
    "for",
    "group",
    "having",
    "if",
    "ignore",
    "inner",
    "insert",
    "instead",
    "into",
    "join",
    "left",
    "limit",
    "new",
    "of",
    "offset",
    "old",
    "on",
    "order",
    "outer",
    "raise",
    "replace",
    "rollback",
    "row",
    "set",
    "temp",
    "temporary",
    "trigger",
    "union",
    "update",
    "using",
    "values",
    "view",
    "with",
];

/// The text of a view or trigger that uses only `table`, with every plain reference to a
/// column renamed by `renames` (`from`, bare or quoted, alone or qualified by the table, `NEW`
/// or `OLD`) replaced by its new name, quoted, and every other byte kept. `None` when an old
/// name also appears as something else there (a function, an alias, a keyword, qualified by
/// another name), so a text rewrite could change what the object means.
fn rewrite_columns(sql: &str, table: &str, renames: &[(String, String)]) -> Option<String> {
    let tokens = span_tokens(sql);
    let ident = |k: usize| match tokens.get(k).map(|t| &t.kind) {
        Some(SpanKind::Ident { name, quoted }) => Some((name.as_str(), *quoted)),
        _ => None,
    };
    let punct = |k: usize, p: char| matches!(tokens.get(k).map(|t| &t.kind), Some(SpanKind::Punct(c)) if *c == p);
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    for (k, tk) in tokens.iter().enumerate() {
        let Some((name, quoted)) = ident(k) else { continue };
        let Some((_, to)) = renames.iter().find(|(from, _)| from.eq_ignore_ascii_case(name)) else {
            continue;
        };
        let keyword = !quoted
            && (BODY_KEYWORDS.iter().chain(EXPR_KEYWORDS).any(|kw| kw.eq_ignore_ascii_case(name)));
        let function = punct(k + 1, '(');
        let alias = k > 0 && ident(k - 1).is_some_and(|(w, q)| !q && w.eq_ignore_ascii_case("as"));
        let qualifier_ok = !(k > 0 && punct(k - 1, '.'))
            || (k > 1
                && ident(k - 2).is_some_and(|(q, _)| {
                    q.eq_ignore_ascii_case(table)
                        || q.eq_ignore_ascii_case("new")
                        || q.eq_ignore_ascii_case("old")
                }));
        let qualifies = punct(k + 1, '.');
        if keyword
            || function
            || alias
            || !qualifier_ok
            || qualifies
            || name.eq_ignore_ascii_case(table)
        {
            return None;
        }
        edits.push((tk.start, tk.end, q(to)));
    }
    let mut out = sql.to_string();
    for (start, end, text) in edits.into_iter().rev() {
        out.replace_range(start..end, &text);
    }
    Some(out)
}

/// Whether `name` is one of SQLite's names for the rowid (`rowid`, `oid`, `_rowid_`, any case).
fn is_rowid_name(name: &str) -> bool {
    ["rowid", "oid", "_rowid_"].iter().any(|a| a.eq_ignore_ascii_case(name))
}

/// Why user SQL text cannot be pasted into a statement as one expression: a comment (`--`
/// would swallow the rest of the line, and with it a closing parenthesis or a breakpoint), a
/// `;`, an unterminated literal or quoted name, unbalanced parentheses.
fn expression_problem(expr: &str) -> Option<&'static str> {
    let mut chars = expr.chars().peekable();
    let mut depth: i64 = 0;
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' | '`' | '[' => {
                let close = if c == '[' { ']' } else { c };
                loop {
                    match chars.next() {
                        None => return Some("an unterminated quoted string or name"),
                        Some(x) if x == close => {
                            if close != ']' && chars.peek() == Some(&close) {
                                chars.next();
                            } else {
                                break;
                            }
                        }
                        Some(_) => {}
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => return Some("an SQL comment (`--`)"),
            '/' if chars.peek() == Some(&'*') => return Some("an SQL comment (`/*`)"),
            ';' => return Some("a `;`"),
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Some("an unbalanced `)`");
                }
            }
            _ => {}
        }
    }
    (depth != 0).then_some("an unclosed `(`")
}

/// The guards only a rebuild needs: readable CHECK errors for every new CHECK and uniqueness of
/// a changed primary key, both over the values the new table gets (converted, renamed,
/// backfilled, defaulted).
fn rebuild_guards(n: &Table, k: &mut Classified<'_>) {
    for (column, expr) in std::mem::take(&mut k.new_checks) {
        k.guards.push(Guard::Check { column, expr });
    }
    if k.pk_changed
        && !n.primary_key.is_empty()
        && n.primary_key.iter().all(|c| k.copy.iter().any(|(n, _)| n == c))
    {
        k.guards.push(Guard::Unique { columns: n.primary_key.clone(), constraint: "PRIMARY KEY" });
    }
}

/// The hidden rowid a rebuild copies explicitly (a rowid table without INTEGER PRIMARY KEY):
/// the first of `rowid`, `_rowid_`, `oid` that no column takes, with its L9 lint.
fn rowid_copy(o: &Table, n: &Table, lints: &mut Vec<Lint>) -> Option<&'static str> {
    if !o.without_rowid && has_hidden_rowid(n) {
        let free = ["rowid", "_rowid_", "oid"].into_iter().find(|alias| {
            !o.columns.iter().chain(n.columns.iter()).any(|c| c.name.eq_ignore_ascii_case(alias))
        });
        lints.push(if free.is_some() { Lint::RowidKept } else { Lint::RowidRenumbered });
        free
    } else {
        None
    }
}
