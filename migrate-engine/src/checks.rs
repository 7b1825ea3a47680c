//! The checks after the migrations: foreign keys (scoped to what the run touched), views, and
//! SQLite's own schema check.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rusqlite::{Connection, OptionalExtension as _};

use crate::error::FkViolation;
use crate::policy::Touched;
use crate::text::quote_ident;

/// The user tables of `sqlite_schema`: lower-cased name to (root page, SQL).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Tables(pub BTreeMap<String, (i64, Option<String>)>);

impl Tables {
    pub(crate) fn read(conn: &Connection) -> rusqlite::Result<Self> {
        let mut stmt = conn.prepare_cached(
            "SELECT lower(name), rootpage, sql FROM sqlite_schema \
             WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?;
        Ok(Self(rows.collect::<rusqlite::Result<_>>()?))
    }

    pub(crate) fn names(&self) -> BTreeSet<String> {
        self.0.keys().cloned().collect()
    }
}

/// The table renames of a run, in order (lower-cased), learnt from `ALTER TABLE` and the table
/// names before and after it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Renames(Vec<(String, String)>);

impl Renames {
    pub(crate) fn push(&mut self, old: String, new: String) {
        self.0.push((old, new));
    }

    /// The name a table of the database before the run has after it.
    pub(crate) fn forward(&self, name: &str) -> String {
        let mut name = name.to_ascii_lowercase();
        for (old, new) in &self.0 {
            if name == *old {
                name.clone_from(new);
            }
        }
        name
    }

    /// The name a table after the run had before it.
    pub(crate) fn backward(&self, name: &str) -> String {
        let mut name = name.to_ascii_lowercase();
        for (old, new) in self.0.iter().rev() {
            if name == *new {
                name.clone_from(old);
            }
        }
        name
    }
}

/// Which tables the foreign-key check reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scope {
    /// The whole database.
    All,
    /// These tables (lower-cased names after the run): the touched ones and their children.
    Tables(Vec<String>),
}

/// The scope after a run: the tables the authorizer saw touched, the tables whose entry in
/// `sqlite_schema` changed, and every table with a foreign key to one of them. The whole
/// database when an action could not be classified, or when the run touched at least half the
/// tables (one pass is cheaper then, e.g. on a first install).
pub(crate) fn scope(
    conn: &Connection,
    before: &Tables,
    touched: &Touched,
) -> rusqlite::Result<Scope> {
    if touched.widened.is_some() {
        return Ok(Scope::All);
    }
    let after = Tables::read(conn)?;
    let mut all = touched.tables.clone();
    for (name, entry) in &after.0 {
        if before.0.get(name) != Some(entry) {
            all.insert(name.clone());
        }
    }
    all.extend(before.0.keys().filter(|n| !after.0.contains_key(*n)).cloned());
    if all.len() * 2 >= after.0.len() {
        return Ok(Scope::All);
    }
    let mut parents_of =
        conn.prepare_cached("SELECT DISTINCT lower(\"table\") FROM pragma_foreign_key_list(?1)")?;
    let mut tables = Vec::new();
    for name in after.0.keys() {
        if all.contains(name) {
            tables.push(name.clone());
            continue;
        }
        let parents: Vec<String> =
            parents_of.query_map([name], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        if parents.iter().any(|p| all.contains(p)) {
            tables.push(name.clone());
        }
    }
    Ok(Scope::Tables(tables))
}

fn violation(r: &rusqlite::Row<'_>) -> rusqlite::Result<FkViolation> {
    Ok(FkViolation {
        table: r.get(0)?,
        rowid: r.get(1)?,
        parent: r.get(2)?,
        fk_id: r.get(3)?,
        columns: Vec::new(),
        values: Vec::new(),
    })
}

/// The rows of `pragma_foreign_key_check` over `tables` (all when `None`).
fn fk_check(conn: &Connection, tables: Option<&[String]>) -> rusqlite::Result<Vec<FkViolation>> {
    let Some(tables) = tables else {
        let mut stmt = conn.prepare("SELECT * FROM pragma_foreign_key_check")?;
        return stmt.query_map([], violation)?.collect();
    };
    let mut stmt = conn.prepare_cached("SELECT * FROM pragma_foreign_key_check(?1)")?;
    let mut out = Vec::new();
    for table in tables {
        for row in stmt.query_map([table], violation)? {
            out.push(row?);
        }
    }
    Ok(out)
}

/// The violations after a run, over `scope`.
pub(crate) fn check_after(conn: &Connection, scope: &Scope) -> rusqlite::Result<Vec<FkViolation>> {
    match scope {
        Scope::All => fk_check(conn, None),
        Scope::Tables(tables) => fk_check(conn, Some(tables)),
    }
}

/// The violations before the run (the savepoint rolled back), over the tables of `scope` under
/// their names before the run (and under their own names); the tables the run created have none.
pub(crate) fn check_before(
    conn: &Connection,
    scope: &Scope,
    renames: &Renames,
    before: &Tables,
) -> rusqlite::Result<Vec<FkViolation>> {
    match scope {
        Scope::All => fk_check(conn, None),
        Scope::Tables(tables) => {
            // A table under its name before the run, and the table that had its name (it may
            // have been replaced by a rebuild): reading more before the run only makes fewer
            // violations look new when they were there.
            let old: BTreeSet<String> = tables
                .iter()
                .flat_map(|t| [renames.backward(t), t.clone()])
                .filter(|t| before.0.contains_key(t))
                .collect();
            let old: Vec<String> = old.into_iter().collect();
            fk_check(conn, Some(&old))
        }
    }
}

/// What identifies a violation across a run: child table, rowid and parent table (lower-cased).
/// Not the foreign key's id: a rebuild renumbers them.
type Key = (String, Option<i64>, String);

fn key(table: &str, rowid: Option<i64>, parent: &str) -> Key {
    (table.to_ascii_lowercase(), rowid, parent.to_ascii_lowercase())
}

/// The violations in `after` that are not in `before` (as multisets). A violation before the run
/// matches one after it under its names mapped through the run's renames, or else under the
/// same names (a table renamed away and a new one created under its name, as a rebuild that
/// renames the old table first does); each one before matches at most one after.
pub(crate) fn new_violations(
    before: &[FkViolation],
    after: Vec<FkViolation>,
    renames: &Renames,
) -> Vec<FkViolation> {
    let mut used = vec![false; before.len()];
    let mut by_forward: HashMap<Key, Vec<usize>> = HashMap::new();
    let mut by_name: HashMap<Key, Vec<usize>> = HashMap::new();
    for (i, v) in before.iter().enumerate() {
        let forward = key(&renames.forward(&v.table), v.rowid, &renames.forward(&v.parent));
        by_forward.entry(forward).or_default().push(i);
        by_name.entry(key(&v.table, v.rowid, &v.parent)).or_default().push(i);
    }
    let mut take = |index: &HashMap<Key, Vec<usize>>, k: &Key| {
        let found = index.get(k)?.iter().copied().find(|&i| !used[i])?;
        used[found] = true;
        Some(found)
    };
    let mut out = Vec::new();
    for v in after {
        let k = key(&v.table, v.rowid, &v.parent);
        if take(&by_forward, &k).is_none() && take(&by_name, &k).is_none() {
            out.push(v);
        }
    }
    out
}

/// At most this many violations get their columns and values read (the message lists 20).
const DESCRIBED: usize = 100;

/// Fills in the child columns of each violation's foreign key and the row's values of them.
pub(crate) fn describe(conn: &Connection, violations: &mut [FkViolation]) -> rusqlite::Result<()> {
    let mut columns = conn.prepare_cached(
        "SELECT \"from\" FROM pragma_foreign_key_list(?1) WHERE \"id\" = ?2 ORDER BY \"seq\"",
    )?;
    let mut names = conn.prepare_cached("SELECT lower(name) FROM pragma_table_xinfo(?1)")?;
    for v in violations.iter_mut().take(DESCRIBED) {
        v.columns = columns
            .query_map(rusqlite::params![v.table, v.fk_id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let Some(rowid) = v.rowid else { continue };
        if v.columns.is_empty() {
            continue;
        }
        // The rowid under a name no column of the table shadows.
        let shadowed: BTreeSet<String> =
            names.query_map([&v.table], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        let Some(rowid_name) =
            ["rowid", "_rowid_", "oid"].into_iter().find(|n| !shadowed.contains(*n))
        else {
            continue;
        };
        let list: Vec<String> =
            v.columns.iter().map(|c| format!("quote({})", quote_ident(c))).collect();
        let sql = format!(
            "SELECT {} FROM {} WHERE {rowid_name} = ?1",
            list.join(", "),
            quote_ident(&v.table)
        );
        let n = v.columns.len();
        let values: Option<Vec<String>> = conn
            .query_row(&sql, [rowid], |r| (0..n).map(|i| r.get::<_, String>(i)).collect())
            .optional()?;
        v.values = values.unwrap_or_default().into_iter().map(|s| clip(&s)).collect();
    }
    Ok(())
}

/// A value literal cut to a readable length.
fn clip(s: &str) -> String {
    match s.char_indices().nth(60) {
        Some((cut, _)) => format!("{}...", &s[..cut]),
        None => s.to_owned(),
    }
}

/// The first view that no longer compiles, with SQLite's error.
pub(crate) fn broken_view(
    conn: &Connection,
) -> rusqlite::Result<Option<(String, rusqlite::Error)>> {
    let views: Vec<String> = {
        let mut stmt =
            conn.prepare("SELECT name FROM sqlite_schema WHERE type = 'view' ORDER BY name")?;
        stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?
    };
    for view in views {
        let probe = format!("SELECT * FROM {} LIMIT 0", quote_ident(&view));
        let result = conn.prepare(&probe).and_then(|mut s| s.raw_query().next().map(|_| ()));
        if let Err(e) = result {
            return Ok(Some((view, e)));
        }
    }
    Ok(None)
}

/// Whether the schema has a view or trigger (SQLite's schema check has nothing to do otherwise).
pub(crate) fn has_views_or_triggers(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type IN ('view', 'trigger'))",
        [],
        |r| r.get(0),
    )
}

/// SQLite's own schema check: `ALTER TABLE .. RENAME` re-resolves every view and trigger of the
/// schema and fails on one that names a missing table or column. Run on a throw-away table inside
/// a savepoint that is rolled back (dropping a [`rusqlite::Savepoint`] rolls back and releases),
/// so it leaves nothing behind. Needs `legacy_alter_table = OFF`, which the engine forces.
/// Given the savepoint, so it works on a connection and inside the engine's own savepoint.
pub(crate) fn schema_probe(probe: rusqlite::Savepoint<'_>) -> rusqlite::Result<()> {
    let result = probe.execute_batch(
        "CREATE TABLE \"__godwit_probe\" (\"x\");\n\
         ALTER TABLE \"__godwit_probe\" RENAME TO \"__godwit_probe_renamed\";",
    );
    probe.finish()?;
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Touched;

    fn v(table: &str, rowid: i64, parent: &str, fk_id: i64) -> FkViolation {
        FkViolation {
            table: table.into(),
            rowid: Some(rowid),
            parent: parent.into(),
            fk_id,
            columns: vec![],
            values: vec![],
        }
    }

    #[test]
    fn new_violations_are_a_multiset_difference() {
        let none = Renames::default();
        let out = new_violations(
            &[v("a", 1, "p", 0), v("b", 2, "p", 0)],
            vec![v("a", 1, "p", 0), v("b", 2, "p", 0), v("b", 3, "p", 0), v("a", 1, "p", 0)],
            &none,
        );
        assert_eq!(out, vec![v("b", 3, "p", 0), v("a", 1, "p", 0)]);
        // Not keyed by the fk id, and case-insensitive.
        assert!(new_violations(&[v("A", 1, "P", 0)], vec![v("a", 1, "p", 3)], &none).is_empty());
    }

    fn conn(setup: &str) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
        conn.execute_batch(setup).unwrap();
        conn
    }

    const TABLES: &str = "CREATE TABLE p (id INTEGER PRIMARY KEY);\n\
        CREATE TABLE c (id INTEGER PRIMARY KEY, pid REFERENCES p (id));\n\
        CREATE TABLE g (id INTEGER PRIMARY KEY, cid REFERENCES C (id));\n\
        CREATE TABLE u1 (x); CREATE TABLE u2 (x); CREATE TABLE u3 (x); CREATE TABLE u4 (x);";

    fn touched(tables: &[&str]) -> Touched {
        Touched { tables: tables.iter().map(|t| (*t).to_owned()).collect(), widened: None }
    }

    #[test]
    fn the_scope_is_the_touched_tables_and_their_children() {
        let conn = conn(TABLES);
        let before = Tables::read(&conn).unwrap();
        let scope = |t: &[&str]| scope(&conn, &before, &touched(t)).unwrap();
        let tables = |t: &[&str]| Scope::Tables(t.iter().map(|t| (*t).to_owned()).collect());
        assert_eq!(scope(&["p"]), tables(&["c", "p"]));
        assert_eq!(scope(&["c"]), tables(&["c", "g"]));
        assert_eq!(scope(&[]), tables(&[]));
        // A dropped table is still a parent of its children; a temp-only name matches nothing.
        assert_eq!(scope(&["nope"]), tables(&[]));
        // At least half the tables touched: one pass over the database.
        assert_eq!(scope(&["u1", "u2", "u3", "u4"]), Scope::All);
        let widened = Touched { widened: Some("Unknown".into()), ..touched(&["p"]) };
        assert_eq!(super::scope(&conn, &before, &widened).unwrap(), Scope::All);
        // A table whose schema entry changed is touched without the authorizer saying so.
        conn.execute_batch("ALTER TABLE u1 ADD COLUMN y").unwrap();
        assert_eq!(scope(&[]), tables(&["u1"]));
    }

    #[test]
    fn a_violation_is_described_by_column_and_value_even_with_a_rowid_column() {
        let conn = conn(
            "CREATE TABLE p (id INTEGER PRIMARY KEY);\n\
             CREATE TABLE c (rowid TEXT, a INTEGER, b TEXT, FOREIGN KEY (a, b) REFERENCES p2 (x, y));\n\
             INSERT INTO c VALUES ('shadow', 7, 'it''s');",
        );
        let mut found = fk_check(&conn, None).unwrap();
        describe(&conn, &mut found).unwrap();
        assert_eq!(found[0].to_string(), "c rowid 1 -> p2 (a = 7, b = 'it''s')");
    }

    #[test]
    fn renames_map_old_violations_to_their_new_names() {
        let mut r = Renames::default();
        r.push("c".into(), "c2".into());
        r.push("p".into(), "q".into());
        assert_eq!(
            (r.forward("C"), r.backward("c2"), r.backward("x")),
            ("c2".into(), "c".into(), "x".into())
        );
        assert!(new_violations(&[v("c", 1, "p", 0)], vec![v("c2", 1, "q", 0)], &r).is_empty());
        // A table renamed away and a new one under its name: each old violation matches once.
        let mut r = Renames::default();
        r.push("c".into(), "c_old".into());
        let out = new_violations(
            &[v("c", 1, "p", 0)],
            vec![v("c_old", 1, "p", 0), v("c", 1, "p", 0)],
            &r,
        );
        assert_eq!(out, vec![v("c", 1, "p", 0)]);
        assert!(new_violations(&[v("c", 1, "p", 0)], vec![v("c", 1, "p", 0)], &r).is_empty());
    }
}
