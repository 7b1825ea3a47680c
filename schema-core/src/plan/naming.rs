//! The migration name derived from a plan's steps: what changed, within 60 characters, cut
//! only between whole parts.

use super::{Step, sanitise_name};

/// One part of a name.
enum Part {
    /// `{verb}_{table}[_{item}..]`: `add_users_bio_age`, `create_users_teams`.
    Verb { verb: &'static str, table: String, items: Vec<String> },
    /// `{table}_{change}[_and_{change}..]` for a rebuilt table: `tasks_make_title_not_null`.
    Rebuilt { table: String, changes: Vec<String> },
}

impl Part {
    fn text(&self) -> String {
        match self {
            Self::Verb { verb, table, items } => {
                let mut s = format!("{verb}_{table}");
                for i in items {
                    s.push('_');
                    s.push_str(i);
                }
                s
            }
            Self::Rebuilt { table, changes } if changes.is_empty() => format!("rebuild_{table}"),
            Self::Rebuilt { table, changes } => format!("{table}_{}", changes.join("_and_")),
        }
    }
}

/// The parts, merging consecutive steps with the same verb and table.
struct Parts(Vec<Part>);

impl Parts {
    fn push(&mut self, verb: &'static str, table: &str, item: Option<String>) {
        for p in &mut self.0 {
            if let Part::Verb { verb: v, table: t, items } = p
                && *v == verb
                && (t == table || item.is_none() && items.is_empty())
            {
                if let Some(i) = item {
                    if !items.contains(&i) {
                        items.push(i);
                    }
                } else if t != table {
                    *t = format!("{t}_{table}");
                }
                return;
            }
        }
        self.0.push(Part::Verb {
            verb,
            table: table.to_string(),
            items: item.into_iter().collect(),
        });
    }
}

/// The migration name for a list of steps (see [`super::Plan::name`]).
pub(super) fn name(steps: &[Step]) -> String {
    let mut parts = Parts(Vec::new());
    let mut temps = Temps(Vec::new());
    let created: Vec<&str> = steps
        .iter()
        .filter_map(|s| if let Step::CreateTable(t) = s { Some(t.name.as_str()) } else { None })
        .collect();
    for s in steps {
        match s {
            Step::CreateTable(t) => parts.push("create", &t.name, None),
            Step::DropTable { table } => parts.push("drop", table, None),
            Step::RenameTable { from, to, .. } => {
                if let Some(from) = temps.resolve("", from, to) {
                    parts.push("rename", &from, Some(format!("to_{to}")));
                }
            }
            Step::AddColumn { table, column, .. } => {
                parts.push("add", table, Some(column.name.clone()))
            }
            Step::DropColumn { table, column } => parts.push("drop", table, Some(column.clone())),
            Step::RenameColumn { table, from, to } => {
                if let Some(from) = temps.resolve(table, from, to) {
                    parts.push("rename", table, Some(format!("{from}_to_{to}")));
                }
            }
            Step::CreateIndex { table, index } => {
                if !created.contains(&table.as_str()) {
                    parts.push("index", table, Some(index.columns.join("_")));
                }
            }
            Step::DropIndex { table, name } => parts.push("drop_index", table, Some(name.clone())),
            Step::RebuildTable(r) => {
                let sm = &r.summary;
                let table = &r.table.name;
                let only = |n: usize| {
                    !sm.altered
                        && sm.added.len() + sm.dropped.len() + sm.renamed.len() == n
                        && n > 0
                };
                if only(sm.added.len()) {
                    sm.added.iter().for_each(|c| parts.push("add", table, Some(c.clone())));
                } else if only(sm.dropped.len()) {
                    sm.dropped.iter().for_each(|c| parts.push("drop", table, Some(c.clone())));
                } else if only(sm.renamed.len()) {
                    sm.renamed.iter().for_each(|(f, t)| {
                        parts.push("rename", table, Some(format!("{f}_to_{t}")))
                    });
                } else {
                    let mut changes: Vec<String> = Vec::new();
                    if !sm.added.is_empty() {
                        changes.push(format!("add_{}", sm.added.join("_")));
                    }
                    if !sm.dropped.is_empty() {
                        changes.push(format!("drop_{}", sm.dropped.join("_")));
                    }
                    for (f, t) in &sm.renamed {
                        changes.push(format!("rename_{f}_to_{t}"));
                    }
                    changes.extend(sm.changes.iter().cloned());
                    parts.0.push(Part::Rebuilt { table: table.clone(), changes });
                }
            }
        }
    }
    if parts.0.is_empty() {
        return "empty".to_string();
    }
    let joined = parts.0.iter().map(Part::text).collect::<Vec<_>>().join("_and_");
    let out = sanitise_name(&joined);
    if out.is_empty() { "migration".to_string() } else { out }
}

/// Renames through temporary names (swaps): `a` to `__godwit_a`, later `__godwit_a` to `b`,
/// named `a_to_b`.
struct Temps(Vec<(String, String, String)>);

impl Temps {
    /// The old name to show for the rename `from` to `to` in `table` (`""` for tables), or
    /// `None` for the first half of a rename through a temporary name.
    fn resolve(&mut self, table: &str, from: &str, to: &str) -> Option<String> {
        if is_temporary(to) {
            self.0.push((table.to_string(), to.to_string(), from.to_string()));
            return None;
        }
        if let Some(k) = self.0.iter().position(|(t, tmp, _)| t == table && tmp == from) {
            return Some(self.0.remove(k).2);
        }
        Some(from.to_string())
    }
}

/// A temporary name of a rename through a free name (`__godwit_a`, `__rename_t`): not part of
/// what the migration means.
fn is_temporary(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("__godwit_") || lower.starts_with("__rename_")
}
