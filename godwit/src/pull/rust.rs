//! Rendering the tables read from a database as `#[derive(Table)]` structs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use schema_core::introspect::FkShape;
use schema_core::model::SqlType;

use super::read::{self, RawColumn, RawDb, RawTable};

/// The Rust names given to the database's tables and columns.
pub(crate) struct Names {
    /// Struct name by table name.
    structs: BTreeMap<String, String>,
    /// Field ident (possibly `r#..`) by (table, column).
    fields: BTreeMap<(String, String), String>,
}

impl Names {
    /// Names for every table and column of `db`, unique within their scope.
    pub(crate) fn new(db: &RawDb) -> Self {
        let mut structs = BTreeMap::new();
        let mut used = BTreeSet::new();
        let mut fields = BTreeMap::new();
        for t in &db.tables {
            let name = unique(&mut used, struct_name(&t.name));
            structs.insert(t.name.clone(), name);
            let mut used_fields = BTreeSet::new();
            for c in &t.columns {
                let field = unique(&mut used_fields, field_name(&c.name));
                fields.insert((t.name.clone(), c.name.clone()), field);
            }
        }
        Self { structs, fields }
    }

    fn field(&self, table: &str, column: &str) -> &str {
        &self.fields[&(table.to_owned(), column.to_owned())]
    }
}

fn unique(used: &mut BTreeSet<String>, base: String) -> String {
    let mut name = base.clone();
    let mut n = 2;
    while !used.insert(name.clone()) {
        name = format!("{base}{n}");
        n += 1;
    }
    name
}

/// Names a struct may not take: the derive's own name, `include_db!`'s type, `Self`, and the
/// prelude names generated code relies on.
const RESERVED_TYPES: [&str; 10] =
    ["Table", "Db", "Self", "Option", "String", "Ok", "Err", "Some", "None", "Result"];

/// `user_profiles` -> `UserProfiles`; never a reserved or invalid name.
fn struct_name(table: &str) -> String {
    let mut out = String::new();
    for part in table.split(|c: char| !c.is_ascii_alphanumeric()).filter(|p| !p.is_empty()) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'T');
    }
    if RESERVED_TYPES.contains(&out.as_str()) {
        out.push_str("Row");
    }
    out
}

/// Rust keywords (2024 edition, strict and reserved).
const KEYWORDS: [&str; 51] = [
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "gen",
];

/// A field ident for `column`: the column name when it is a lowercase identifier (raw when a
/// keyword), else a sanitised snake_case name (the column name then goes in `name = ".."`).
fn field_name(column: &str) -> String {
    let plain = column.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && column.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && column != "_";
    if plain {
        return match column {
            "self" | "super" | "crate" => format!("{column}_"),
            k if KEYWORDS.contains(&k) => format!("r#{k}"),
            _ => column.to_owned(),
        };
    }
    let mut out = String::new();
    for c in column.chars() {
        if c.is_ascii_uppercase() && !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let mut out = out.trim_matches('_').to_owned();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "c_");
    }
    if KEYWORDS.contains(&out.as_str()) {
        out.push('_');
    }
    out
}

/// The column's SQL name written in the attribute when the field ident does not give it.
fn field_gives_name(field: &str, column: &str) -> bool {
    field.strip_prefix("r#").unwrap_or(field) == column
}

/// A Rust string literal for `s`.
fn lit(s: &str) -> String {
    format!("{s:?}")
}

/// What a table's struct could not say, found while rendering it.
#[derive(Debug, Default)]
pub(crate) struct Unexpressed {
    /// One line per thing, by table name.
    pub by_table: BTreeMap<String, Vec<String>>,
}

impl Unexpressed {
    fn note(&mut self, table: &str, what: String) {
        self.by_table.entry(table.to_owned()).or_default().push(what);
    }
}

/// The canonical type for a declared type, and whether it was canonical.
fn column_type(declared: &str) -> (SqlType, bool) {
    match SqlType::from_sql(declared).filter(|_| declared.trim() == declared) {
        Some(t) => (t, true),
        None => (affinity(declared), false),
    }
}

/// SQLite's affinity rules (section 3.1 of its datatype page).
fn affinity(declared: &str) -> SqlType {
    let d = declared.to_ascii_uppercase();
    if d.contains("INT") {
        SqlType::Integer
    } else if d.contains("CHAR") || d.contains("CLOB") || d.contains("TEXT") {
        SqlType::Text
    } else if d.contains("BLOB") || d.trim().is_empty() {
        SqlType::Blob
    } else if d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB") {
        SqlType::Real
    } else {
        SqlType::Numeric
    }
}

/// The Rust type of a column of SQL type `t`, and the `sql_type` it needs.
fn rust_type(t: SqlType) -> (&'static str, Option<&'static str>) {
    match t {
        SqlType::Integer => ("i64", None),
        SqlType::Real => ("f64", None),
        SqlType::Text => ("String", None),
        SqlType::Blob => ("Vec<u8>", None),
        SqlType::Numeric => ("migrate_runtime::rusqlite::types::Value", Some("NUMERIC")),
        SqlType::Any => ("migrate_runtime::rusqlite::types::Value", Some("ANY")),
    }
}

/// `default = ..` when the stored default is a literal of the field's Rust type, else
/// `default_sql = ".."`.
fn default_attr(default: &str, rust: &str) -> String {
    let d = default.trim();
    match rust {
        "i64" if d.parse::<i64>().is_ok() => return format!("default = {d}"),
        "f64" if d.parse::<f64>().is_ok() && d.contains('.') && !d.contains(['e', 'E']) => {
            return format!("default = {d}");
        }
        "String" => {
            if let Some(inner) = d.strip_prefix('\'').and_then(|s| s.strip_suffix('\''))
                && !inner.replace("''", "").contains('\'')
            {
                return format!("default = {}", lit(&inner.replace("''", "'")));
            }
        }
        _ => {}
    }
    format!("default_sql = {}", lit(d))
}

/// The whole schema file.
pub(crate) fn render(db: &RawDb, names: &Names, source: &str) -> (String, Unexpressed) {
    let mut out = String::new();
    let mut unexpressed = Unexpressed::default();
    let _ = writeln!(
        out,
        "//! The tables of `{source}`, pulled by `godwit pull`: each struct is one table (columns,\n\
         //! types, nullability, defaults, keys, indexes, foreign keys, checks, STRICT, WITHOUT\n\
         //! ROWID). What the model cannot express is listed at the end of this file with its SQL.\n"
    );
    out.push_str("use migrate_runtime::Table;\n");
    for t in &db.tables {
        out.push('\n');
        render_table(&mut out, t, db, names, &mut unexpressed);
    }
    out.push_str("\nmigrate_runtime::include_db!();\n");
    (out, unexpressed)
}

fn render_table(out: &mut String, t: &RawTable, db: &RawDb, names: &Names, un: &mut Unexpressed) {
    let s = &t.shape;
    let _ = writeln!(out, "/// The table `{}`.", t.name);
    out.push_str("#[derive(Table)]\n");
    let mut table_attr = vec![format!("name = {}", lit(&t.name))];
    if s.strict {
        table_attr.push("strict".into());
    }
    if s.without_rowid {
        table_attr.push("without_rowid".into());
    }
    let _ = writeln!(out, "#[table({})]", table_attr.join(", "));
    for what in &t.unmodelled {
        un.note(&t.name, format!("{what}: the model does not hold it"));
    }
    let columns: Vec<&RawColumn> = t.columns.iter().filter(|c| !c.generated).collect();
    for c in t.columns.iter().filter(|c| c.generated) {
        un.note(
            &t.name,
            format!("generated column {}: the model has no generated columns", c.name),
        );
    }
    let mut pk: Vec<&RawColumn> = columns.iter().copied().filter(|c| c.pk > 0).collect();
    pk.sort_by_key(|c| c.pk);
    if pk.len() > 1 {
        let fields: Vec<&str> = pk.iter().map(|c| names.field(&t.name, &c.name)).collect();
        let _ = writeln!(out, "#[primary_key({})]", fields.join(", "));
    }
    render_indexes(out, t, names, un);
    render_table_fks(out, t, db, names, un);
    for check in &t.checks {
        match &check.name {
            Some(n) => {
                let _ = writeln!(out, "#[check(name = {}, expr = {})]", lit(n), lit(&check.expr));
            }
            None => {
                let _ = writeln!(out, "#[check(expr = {})]", lit(&check.expr));
            }
        }
    }
    let _ = writeln!(out, "pub struct {} {{", names.structs[&t.name]);
    let single_fks = single_fks(t, db, names, un);
    for c in columns {
        render_field(out, t, c, pk.len() == 1, &single_fks, un, names);
    }
    out.push_str("}\n");
}

fn render_field(
    out: &mut String,
    t: &RawTable,
    c: &RawColumn,
    single_pk: bool,
    single_fks: &BTreeMap<String, String>,
    un: &mut Unexpressed,
    names: &Names,
) {
    let field = names.field(&t.name, &c.name);
    let (ty, canonical) = column_type(&c.declared);
    let (rust, sql_type) = rust_type(ty);
    let mut attrs = Vec::new();
    if !field_gives_name(field, &c.name) {
        attrs.push(format!("name = {}", lit(&c.name)));
    }
    let in_pk = single_pk && c.pk > 0;
    if in_pk {
        attrs.push("primary_key".to_owned());
        if t.shape.autoincrement {
            attrs.push("autoincrement".to_owned());
        }
    }
    if t.shape.constraint_indexes.contains(&("u".to_owned(), vec![c.name.clone()])) {
        attrs.push("unique".to_owned());
    }
    if let Some(t) = sql_type {
        attrs.push(format!("sql_type = {}", lit(t)));
    }
    if let Some(d) = &c.default {
        attrs.push(default_attr(d, rust));
    }
    if let Some(fk) = single_fks.get(&c.name) {
        attrs.push(fk.clone());
    }
    if !canonical {
        let declared = if c.declared.is_empty() {
            "with no type".to_owned()
        } else {
            format!("`{}`", c.declared)
        };
        let _ = writeln!(
            out,
            "    // declared {declared} in the database; the model declares {} (the same affinity)",
            ty.as_sql()
        );
        un.note(
            &t.name,
            format!("column {}: declared {declared}, the model declares {}", c.name, ty.as_sql()),
        );
    }
    if !attrs.is_empty() {
        let _ = writeln!(out, "    #[column({})]", attrs.join(", "));
    }
    // A primary-key column cannot be an Option in the model: it is NOT NULL there.
    let nullable = !c.not_null && !in_pk;
    if !c.not_null && in_pk {
        un.note(
            &t.name,
            format!(
                "column {}: a primary key without NOT NULL; the model's primary keys are NOT NULL",
                c.name
            ),
        );
    }
    if nullable {
        let _ = writeln!(out, "    pub {field}: Option<{rust}>,");
    } else {
        let _ = writeln!(out, "    pub {field}: {rust},");
    }
}

fn render_indexes(out: &mut String, t: &RawTable, names: &Names, un: &mut Unexpressed) {
    for (name, index) in &t.shape.indexes {
        if !read::plain_columns(index) {
            un.note(
                &t.name,
                format!(
                    "index {name}: expression, DESC or COLLATE keys are not in the model ({})",
                    index.columns.join(", ")
                ),
            );
            continue;
        }
        let fields: Vec<&str> = index.columns.iter().map(|c| names.field(&t.name, c)).collect();
        let mut parts = vec![format!("columns({})", fields.join(", "))];
        if index.unique {
            parts.push("unique".into());
        }
        parts.push(format!("name = {}", lit(name)));
        let sql = t.index_sql.iter().find(|(n, _)| n == name).map(|(_, sql)| sql.as_str());
        if let Some(predicate) = sql.and_then(read::index_where) {
            parts.push(format!("where = {}", lit(&predicate)));
        }
        let _ = writeln!(out, "#[index({})]", parts.join(", "));
    }
    for (origin, columns) in &t.shape.constraint_indexes {
        if origin == "u" && columns.len() > 1 {
            un.note(
                &t.name,
                format!(
                    "UNIQUE ({}): the model has no multi-column UNIQUE constraint \
                     (#[index(columns(..), unique)] is the closest, as a separate index)",
                    columns.join(", ")
                ),
            );
        }
    }
}

/// The action attribute value, `None` for NO ACTION (the model's default).
fn action(a: &str) -> Option<String> {
    (!a.eq_ignore_ascii_case("NO ACTION")).then(|| a.to_ascii_lowercase())
}

/// The action attributes of `fk`. An action the model refuses for these columns (`set null`
/// on a NOT NULL column, `set default` on a NOT NULL column without a default: SQLite accepts
/// both and fails when the action fires) is left out and noted.
fn fk_actions(fk: &FkShape, t: &RawTable, un: &mut Unexpressed) -> Vec<String> {
    let columns: Vec<&RawColumn> =
        t.columns.iter().filter(|c| fk.columns.contains(&c.name)).collect();
    let mut out = Vec::new();
    for (key, value) in [("on_delete", &fk.on_delete), ("on_update", &fk.on_update)] {
        let Some(a) = action(value) else { continue };
        let refused = match a.as_str() {
            "set null" => columns.iter().any(|c| c.not_null),
            "set default" => columns.iter().any(|c| c.not_null && c.default.is_none()),
            _ => false,
        };
        if refused {
            un.note(
                &t.name,
                format!(
                    "FOREIGN KEY ({}) {key} = {a}: the column is NOT NULL{}, so the action \
                     would fail when it fires; the struct leaves the action out",
                    fk.columns.join(", "),
                    if a == "set default" { " without a default" } else { "" }
                ),
            );
        } else {
            out.push(format!("{key} = {}", lit(&a)));
        }
    }
    out
}

/// Whether `fk`'s parent exists with every named column, and they are its primary key or
/// unique as the model sees it (the parser refuses any other parent key: SQLite fails every
/// write to such a child with "foreign key mismatch").
fn parent_ok(fk: &FkShape, db: &RawDb) -> bool {
    parent_problem(fk, db).is_none()
}

/// Why `fk` cannot be a struct attribute, if it cannot.
fn parent_problem(fk: &FkShape, db: &RawDb) -> Option<&'static str> {
    let Some(parent) = db.shape.tables.get(&fk.table) else {
        return Some("the parent table does not exist in this database");
    };
    if !fk.to.iter().all(|c| parent.columns.contains_key(c)) {
        return Some("a parent column does not exist in this database");
    }
    let same = |set: &[String]| {
        set.len() == fk.to.len()
            && set.iter().all(|s| fk.to.iter().any(|c| c.eq_ignore_ascii_case(s)))
    };
    let mut pk: Vec<(i64, String)> =
        parent.columns.iter().filter(|(_, c)| c.pk > 0).map(|(n, c)| (c.pk, n.clone())).collect();
    pk.sort();
    let pk: Vec<String> = pk.into_iter().map(|(_, n)| n).collect();
    let unique_column =
        fk.to.len() == 1 && parent.constraint_indexes.contains(&("u".to_owned(), fk.to.clone()));
    let unique_index = parent.indexes.values().any(|i| {
        i.unique && i.where_clause.is_none() && read::plain_columns(i) && same(&i.columns)
    });
    if same(&pk) || unique_column || unique_index {
        None
    } else {
        Some(
            "the parent key is neither the parent's primary key nor unique, so SQLite fails \
             every write to this table with \"foreign key mismatch\"",
        )
    }
}

/// Single-column foreign keys as `references = ..` column attributes, by column.
fn single_fks(
    t: &RawTable,
    db: &RawDb,
    names: &Names,
    un: &mut Unexpressed,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for fk in t.shape.foreign_keys.iter().filter(|fk| fk.columns.len() == 1) {
        if !parent_ok(fk, db) || out.contains_key(&fk.columns[0]) {
            continue;
        }
        let parent = &names.structs[&fk.table];
        let target = if read::to_primary_key(fk, db.shape.tables.get(&fk.table)) {
            parent.clone()
        } else {
            let field = names.field(&fk.table, &fk.to[0]);
            lit(&format!("{parent}::{}", field.strip_prefix("r#").unwrap_or(field)))
        };
        let mut parts = vec![format!("references = {target}")];
        parts.extend(fk_actions(fk, t, un));
        out.insert(fk.columns[0].clone(), parts.join(", "));
    }
    out
}

/// Composite foreign keys as `#[foreign_key(..)]`; foreign keys to a missing parent noted.
fn render_table_fks(
    out: &mut String,
    t: &RawTable,
    db: &RawDb,
    names: &Names,
    un: &mut Unexpressed,
) {
    let mut single_seen = BTreeSet::new();
    for fk in &t.shape.foreign_keys {
        if let Some(problem) = parent_problem(fk, db) {
            un.note(
                &t.name,
                format!(
                    "FOREIGN KEY ({}) REFERENCES {} ({}): {problem}; the struct leaves it out",
                    fk.columns.join(", "),
                    fk.table,
                    fk.to.join(", ")
                ),
            );
            continue;
        }
        if fk.columns.len() == 1 && single_seen.insert(fk.columns[0].clone()) {
            continue;
        }
        let columns: Vec<&str> = fk.columns.iter().map(|c| names.field(&t.name, c)).collect();
        let to: Vec<&str> = fk.to.iter().map(|c| names.field(&fk.table, c)).collect();
        let mut parts = vec![
            format!("columns({})", columns.join(", ")),
            format!("references = {}", names.structs[&fk.table]),
            format!("to({})", to.join(", ")),
        ];
        parts.extend(fk_actions(fk, t, un));
        let _ = writeln!(out, "#[foreign_key({})]", parts.join(", "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_rust() {
        assert_eq!(struct_name("user_profiles"), "UserProfiles");
        assert_eq!(struct_name("2fa codes"), "T2faCodes");
        assert_eq!(struct_name("table"), "TableRow");
        assert_eq!(struct_name("db"), "DbRow");
        assert_eq!(struct_name("ok"), "OkRow");
        assert_eq!(field_name("email"), "email");
        assert_eq!(field_name("type"), "r#type");
        assert_eq!(field_name("self"), "self_");
        assert_eq!(field_name("createdAt"), "created_at");
        assert_eq!(field_name("First Name"), "first_name");
        assert_eq!(field_name("1st"), "c_1st");
        assert!(field_gives_name("r#type", "type"));
        assert!(!field_gives_name("created_at", "createdAt"));
    }

    #[test]
    fn defaults_use_rust_literals_where_exact() {
        assert_eq!(default_attr("0", "i64"), "default = 0");
        assert_eq!(default_attr("-1.5", "f64"), "default = -1.5");
        assert_eq!(default_attr("'it''s'", "String"), "default = \"it's\"");
        assert_eq!(
            default_attr("CURRENT_TIMESTAMP", "String"),
            "default_sql = \"CURRENT_TIMESTAMP\""
        );
        assert_eq!(default_attr("'a' || 'b'", "String"), "default_sql = \"'a' || 'b'\"");
        assert_eq!(default_attr("1", "f64"), "default_sql = \"1\"");
    }

    #[test]
    fn affinity_follows_sqlite() {
        assert_eq!(column_type("VARCHAR(255)"), (SqlType::Text, false));
        assert_eq!(column_type("DATETIME"), (SqlType::Numeric, false));
        assert_eq!(column_type("BOOLEAN"), (SqlType::Numeric, false));
        assert_eq!(column_type("BIGINT"), (SqlType::Integer, false));
        assert_eq!(column_type(""), (SqlType::Blob, false));
        assert_eq!(column_type("integer"), (SqlType::Integer, true));
    }
}
