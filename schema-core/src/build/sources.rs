//! The source files of a schema, and what the build checks about them before planning.
//!
//! - [`SchemaSources::read`]: the schema file and every module it declares (`mod more;`,
//!   `#[path = "x.rs"] mod more;`), followed with Rust's module path rules, each parsed with the
//!   derive's parser.
//! - [`refuse_strays`]: a `#[derive(Table)]` struct anywhere else in the crate's `src/` (in
//!   `main.rs`, in a module no schema file declares) is refused, naming its file and line; files
//!   that invoke `include_db!` (the schema files of every database of the crate) and their
//!   modules are not strays.
//! - [`check_expressions`]: every SQL expression attribute is prepared by SQLite against its
//!   table, so a mistake is reported at the attribute, not as a failed migration.
//! - [`seen_list`]: the structs this build script saw, for the derive's compile-time check
//!   ([`parse::SEEN_LIST_EXTENSION`]).

use std::collections::BTreeSet;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use proc_macro2::Span;
use syn::ext::IdentExt as _;
use syn::spanned::Spanned as _;

use crate::error::Error;
use crate::model::{DefaultValue, Schema, Table};
use crate::parse::{self, ExprSite, ParsedTable};
use crate::plan;

/// One source file of a schema.
#[derive(Debug)]
pub(crate) struct SourceFile {
    /// Absolute path.
    pub(crate) path: PathBuf,
    /// The path shown in messages (relative to the manifest dir).
    pub(crate) shown: PathBuf,
    /// The file's text.
    pub(crate) text: String,
    /// The module path from the schema file's module, `""` or `more::`.
    module: String,
    /// Whether its `mod` declaration (or an enclosing one) carries `#[cfg]`.
    under_cfg: bool,
    /// Where its own `mod x;` declarations look for their files.
    kind: FileKind,
    syntax: syn::File,
}

/// Rust's two kinds of module files (The Rust Reference, "Module source filenames").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    /// `mod.rs`, `lib.rs`, `main.rs` or a file loaded through `#[path]`: its submodules are in
    /// its own directory.
    ModRs,
    /// Any other `x.rs`: its submodules are in `x/`.
    NonModRs,
}

impl FileKind {
    fn of_name(path: &Path) -> Self {
        match path.file_name().and_then(|n| n.to_str()) {
            Some("mod.rs" | "lib.rs" | "main.rs") => Self::ModRs,
            _ => Self::NonModRs,
        }
    }
}

/// A file a `mod x;` may be loaded from.
#[derive(Debug, Clone)]
struct Candidate {
    path: PathBuf,
    kind: FileKind,
}

impl SourceFile {
    /// The error for `error`, shown at its line in this file.
    fn error(&self, error: syn::Error) -> Error {
        Error::Schema { path: self.shown.clone(), source_text: self.text.clone(), error }
    }

    /// The span-map name of this file (`Span::file`), if it has any token.
    fn span_file(&self) -> Option<String> {
        self.syntax.items.first().map(|item| item.span().file())
    }
}

/// A parsed table, with the file it is in and the Rust path that names it from the schema
/// file's module (`User`, `more::Invoice`, `billing::Invoice` for an inline `mod billing`).
#[derive(Debug)]
pub(crate) struct Located {
    /// The table.
    pub(crate) parsed: ParsedTable,
    /// Index into [`SchemaSources::files`].
    pub(crate) file: usize,
    /// The Rust path from the schema file's module.
    pub(crate) rust_path: String,
}

/// The schema file and the module files it declares, in the order they were found.
#[derive(Debug)]
pub(crate) struct SchemaSources {
    pub(crate) files: Vec<SourceFile>,
}

/// A `mod name;` declaration found while walking a file.
struct ModDecl {
    /// The files rustc would load, in the order it tries them.
    candidates: Vec<Candidate>,
    module: String,
    under_cfg: bool,
    span: Span,
    name: String,
}

impl SchemaSources {
    /// Reads the schema file `schema` (relative to `manifest_dir`) and every module file it
    /// declares, recursively.
    ///
    /// # Errors
    /// [`Error::SchemaFileMissing`], [`Error::Io`], [`Error::Schema`] for a file that does not
    /// parse or a declared module whose file does not exist.
    pub(crate) fn read(manifest_dir: &Path, schema: &Path) -> Result<Self, Error> {
        let root = manifest_dir.join(schema);
        let text = match fs::read_to_string(&root) {
            Ok(s) => s,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(Error::SchemaFileMissing { path: root });
            }
            Err(source) => return Err(Error::Io { action: "read", path: root, source }),
        };
        let first = Candidate { path: root, kind: FileKind::of_name(schema) };
        let first = parse_source(first, schema.to_path_buf(), text, String::new(), false)?;
        let mut files = vec![first];
        let mut i = 0;
        while i < files.len() {
            for decl in module_decls(&files[i]) {
                let found = decl.candidates.iter().find(|c| c.path.is_file());
                if found.is_none() && decl.under_cfg {
                    // `#[cfg(..)] mod x;` whose file is absent: rustc only needs it when the
                    // cfg holds, and a table in it would be refused anyway.
                    continue;
                }
                let Some(found) = found.cloned() else {
                    let tried: Vec<String> =
                        decl.candidates.iter().map(|c| shown(manifest_dir, &c.path)).collect();
                    return Err(files[i].error(syn::Error::new(
                        decl.span,
                        format_args!(
                            "module `{}` is declared here but {} does not exist; the build script \
                             follows the schema's module declarations as rustc does",
                            decl.name,
                            tried.join(" nor ")
                        ),
                    )));
                };
                if files.iter().any(|f| f.path == found.path) {
                    continue;
                }
                let text = fs::read_to_string(&found.path).map_err(|source| Error::Io {
                    action: "read",
                    path: found.path.clone(),
                    source,
                })?;
                let shown_path = PathBuf::from(shown(manifest_dir, &found.path));
                files.push(parse_source(found, shown_path, text, decl.module, decl.under_cfg)?);
            }
            i += 1;
        }
        Ok(Self { files })
    }

    /// The absolute paths of every file, for `cargo:rerun-if-changed`.
    pub(crate) fn paths(&self) -> impl Iterator<Item = &Path> {
        self.files.iter().map(|f| f.path.as_path())
    }

    /// Parses the `#[derive(Table)]` structs of every file.
    ///
    /// # Errors
    /// [`Error::Schema`] with the mistakes of the first file that has any.
    pub(crate) fn parse(&self) -> Result<Vec<Located>, Error> {
        let mut out = Vec::new();
        for (index, file) in self.files.iter().enumerate() {
            let tables = parse::parse_items_under(&file.syntax.items, file.under_cfg)
                .map_err(|e| file.error(e))?;
            let paths = struct_paths(&file.syntax.items);
            for parsed in tables {
                let start = parsed.ident.span().start();
                let local = paths
                    .iter()
                    .find(|p| (p.line, p.column) == (start.line, start.column))
                    .map_or_else(|| parsed.rust_name.clone(), |p| p.path.clone());
                out.push(Located {
                    rust_path: format!("{}{local}", file.module),
                    parsed,
                    file: index,
                });
            }
        }
        Ok(out)
    }

    /// [`parse::resolve`] over every file's tables; an error is shown in the file it points
    /// into (the first such file when several have errors).
    ///
    /// # Errors
    /// [`Error::Schema`].
    pub(crate) fn resolve(&self, located: &[Located]) -> Result<Schema, Error> {
        let tables: Vec<ParsedTable> = located.iter().map(|l| l.parsed.clone()).collect();
        parse::resolve(&tables).map_err(|error| self.attribute(error))
    }

    /// Splits a combined error by file and returns the errors of the first file.
    fn attribute(&self, error: syn::Error) -> Error {
        let keys: Vec<Option<String>> = self.files.iter().map(SourceFile::span_file).collect();
        let file_of = |e: &syn::Error| {
            let key = e.span().file();
            keys.iter().position(|k| k.as_deref() == Some(key.as_str())).unwrap_or(0)
        };
        let mut groups: Vec<(usize, syn::Error)> = Vec::new();
        for e in error {
            let index = file_of(&e);
            match groups.iter_mut().find(|(i, _)| *i == index) {
                Some((_, combined)) => combined.combine(e),
                None => groups.push((index, e)),
            }
        }
        groups.sort_by_key(|(i, _)| *i);
        let (index, error) = groups.into_iter().next().expect("a syn::Error holds one error");
        self.files[index].error(error)
    }
}

fn parse_source(
    file: Candidate,
    shown: PathBuf,
    text: String,
    module: String,
    under_cfg: bool,
) -> Result<SourceFile, Error> {
    match syn::parse_file(&text) {
        Ok(syntax) => Ok(SourceFile {
            path: file.path,
            shown,
            text,
            module,
            under_cfg,
            kind: file.kind,
            syntax,
        }),
        Err(error) => Err(Error::Schema { path: shown, source_text: text, error }),
    }
}

/// `path` relative to `base` when it is under it, for messages.
fn shown(base: &Path, path: &Path) -> String {
    path.strip_prefix(base).unwrap_or(path).to_string_lossy().replace('\\', "/")
}

/// Every `mod name;` of `file` (inline modules walked), with the paths rustc would load
/// (The Rust Reference, "Module source filenames" and "the path attribute"). A file loaded
/// through `#[path]` is treated as a mod-rs file, as rustc does.
fn module_decls(file: &SourceFile) -> Vec<ModDecl> {
    let parent = file.path.parent().unwrap_or(Path::new("")).to_path_buf();
    let dir = match file.kind {
        FileKind::ModRs => parent.clone(),
        FileKind::NonModRs => {
            let stem = file.path.file_stem().map(|s| s.to_string_lossy().into_owned());
            parent.join(stem.unwrap_or_default())
        }
    };
    let mut out = Vec::new();
    let cx =
        WalkDir { dir, path_base: parent, module: file.module.clone(), under_cfg: file.under_cfg };
    walk_mods(&file.syntax.items, &cx, &mut out);
    out
}

/// Where `mod` declarations of the items being walked resolve.
struct WalkDir {
    /// Where `mod x;` looks for `x.rs` and `x/mod.rs`.
    dir: PathBuf,
    /// What `#[path = ".."]` is relative to.
    path_base: PathBuf,
    module: String,
    under_cfg: bool,
}

fn walk_mods(items: &[syn::Item], cx: &WalkDir, out: &mut Vec<ModDecl>) {
    for item in items {
        let syn::Item::Mod(m) = item else { continue };
        let name = m.ident.unraw().to_string();
        let under_cfg = cx.under_cfg || parse::has_cfg(&m.attrs);
        let path_attr = m.attrs.iter().find_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) if nv.path.is_ident("path") => match &nv.value {
                syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        });
        match &m.content {
            Some((_, inner)) => {
                let dir = match &path_attr {
                    Some(p) => cx.path_base.join(p),
                    None => cx.dir.join(&name),
                };
                let inner_cx = WalkDir {
                    path_base: dir.clone(),
                    dir,
                    module: format!("{}{name}::", cx.module),
                    under_cfg,
                };
                walk_mods(inner, &inner_cx, out);
            }
            None => {
                let candidates = match &path_attr {
                    Some(p) => {
                        vec![Candidate { path: cx.path_base.join(p), kind: FileKind::ModRs }]
                    }
                    None => vec![
                        Candidate {
                            path: cx.dir.join(format!("{name}.rs")),
                            kind: FileKind::NonModRs,
                        },
                        Candidate {
                            path: cx.dir.join(&name).join("mod.rs"),
                            kind: FileKind::ModRs,
                        },
                    ],
                };
                out.push(ModDecl {
                    candidates,
                    module: format!("{}{name}::", cx.module),
                    under_cfg,
                    span: m.ident.span(),
                    name,
                });
            }
        }
    }
}

/// A struct of a file with the path that names it from the file's module, keyed by the line
/// and column of its identifier.
struct StructPath {
    line: usize,
    column: usize,
    path: String,
}

fn struct_paths(items: &[syn::Item]) -> Vec<StructPath> {
    fn walk(items: &[syn::Item], prefix: &str, out: &mut Vec<StructPath>) {
        for item in items {
            match item {
                syn::Item::Struct(s) => {
                    let start = s.ident.span().start();
                    out.push(StructPath {
                        line: start.line,
                        column: start.column,
                        path: format!("{prefix}{}", s.ident),
                    });
                }
                syn::Item::Mod(m) => {
                    if let Some((_, items)) = &m.content {
                        walk(items, &format!("{prefix}{}::", m.ident), out);
                    }
                }
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    walk(items, "", &mut out);
    out
}

/// Refuses a `#[derive(Table)]` struct in the crate's `src/` that belongs to no database: not
/// in `sources`, and not in a file that invokes `include_db!` (another database's schema file)
/// or a module such a file declares. Only files containing the text `Table` are parsed.
///
/// # Errors
/// [`Error::Schema`] at the first stray struct's file and line, with the fix.
pub(crate) fn refuse_strays(
    manifest_dir: &Path,
    schema: &Path,
    sources: &SchemaSources,
) -> Result<(), Error> {
    let mut rs_files = Vec::new();
    list_rs_files(&manifest_dir.join("src"), &mut rs_files);
    rs_files.sort();
    let mut covered: BTreeSet<PathBuf> = sources.paths().map(canonical).collect();
    let mut candidates = Vec::new();
    for path in rs_files {
        if covered.contains(&canonical(&path)) {
            continue;
        }
        let Ok(text) = fs::read_to_string(&path) else { continue };
        if !text.contains("Table") && !text.contains("include_db") {
            continue;
        }
        // A file that does not parse is rustc's to report.
        let Ok(syntax) = syn::parse_file(&text) else { continue };
        if invokes_include_db(&syntax.items) {
            // Another database's schema file: it and its modules are that build's to check.
            let rel = PathBuf::from(shown(manifest_dir, &path));
            if let Ok(other) = SchemaSources::read(manifest_dir, &rel) {
                covered.extend(other.paths().map(canonical));
            }
            continue;
        }
        candidates.push((path, text, syntax));
    }
    for (path, text, syntax) in candidates {
        if covered.contains(&canonical(&path)) {
            continue;
        }
        let mut errors: Option<syn::Error> = None;
        for ident in table_idents(&syntax.items) {
            let error = syn::Error::new(
                ident.span(),
                format_args!(
                    "#[derive(Table)] struct `{ident}` is outside the schema: the build script \
                     reads {} and the modules it declares, so it generates no migration for this \
                     struct; move it into {} or into a module that file declares (`mod name;`)",
                    schema.display(),
                    schema.display()
                ),
            );
            match &mut errors {
                Some(all) => all.combine(error),
                None => errors = Some(error),
            }
        }
        if let Some(error) = errors {
            return Err(Error::Schema {
                path: PathBuf::from(shown(manifest_dir, &path)),
                source_text: text,
                error,
            });
        }
    }
    Ok(())
}

fn canonical(path: &Path) -> PathBuf {
    fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

fn list_rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let hidden = path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            list_rs_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Whether the items (inline modules included) invoke `include_db!`.
fn invokes_include_db(items: &[syn::Item]) -> bool {
    items.iter().any(|item| match item {
        syn::Item::Macro(m) => m.mac.path.segments.last().is_some_and(|s| s.ident == "include_db"),
        syn::Item::Mod(syn::ItemMod { content: Some((_, items)), .. }) => invokes_include_db(items),
        _ => false,
    })
}

/// The identifiers of the `#[derive(Table)]` items (inline modules included).
fn table_idents(items: &[syn::Item]) -> Vec<&syn::Ident> {
    let mut out = Vec::new();
    for item in items {
        match item {
            syn::Item::Struct(s) if parse::derives_table(&s.attrs) => out.push(&s.ident),
            syn::Item::Enum(e) if parse::derives_table(&e.attrs) => out.push(&e.ident),
            syn::Item::Union(u) if parse::derives_table(&u.attrs) => out.push(&u.ident),
            syn::Item::Mod(syn::ItemMod { content: Some((_, items)), .. }) => {
                out.extend(table_idents(items));
            }
            _ => {}
        }
    }
    out
}

/// Prepares every SQL expression attribute of the schema with SQLite, each in its table with
/// no other expression: a `check`, `default_sql` or `where` that SQLite refuses (a syntax
/// error, a column that does not exist, a default that is not constant) and a `backfill` with
/// a syntax error are reported at the attribute, with SQLite's reason.
///
/// # Errors
/// [`Error::Schema`] at the first file with a refused expression; [`Error::Sqlite`] when the
/// in-memory database cannot be opened.
pub(crate) fn check_expressions(
    sources: &SchemaSources,
    located: &[Located],
    schema: &Schema,
) -> Result<(), Error> {
    let conn = rusqlite::Connection::open_in_memory()?;
    let mut errors: Vec<(usize, syn::Error)> = Vec::new();
    for l in located {
        let Some(table) = schema.table(&l.parsed.table.name) else { continue };
        let bare = bare_table(table);
        if run_ddl(&conn, &bare, None).is_err() {
            // Not an expression's doing: the proof reports what is wrong with the table.
            continue;
        }
        for (site, span) in &l.parsed.spans.exprs {
            let Some((expr, problem)) = try_site(&conn, table, &bare, site) else { continue };
            errors.push((
                l.file,
                syn::Error::new(
                    *span,
                    format_args!(
                        "{} = {expr:?} is refused by SQLite in table `{}`: {problem}; fix the \
                         expression (it names SQL columns, as they are in this version of the \
                         table)",
                        site.attr(),
                        table.name
                    ),
                ),
            ));
        }
    }
    let Some(first) = errors.iter().map(|(f, _)| *f).min() else { return Ok(()) };
    let mut combined: Option<syn::Error> = None;
    for (_, e) in errors.into_iter().filter(|(f, _)| *f == first) {
        match &mut combined {
            Some(all) => all.combine(e),
            None => combined = Some(e),
        }
    }
    Err(sources.files[first].error(combined.expect("one error at least")))
}

/// The table without any SQL expression: no checks, no `default_sql`, no indexes, no foreign
/// keys.
fn bare_table(table: &Table) -> Table {
    let mut bare = table.clone();
    bare.checks.clear();
    bare.indexes.clear();
    bare.foreign_keys.clear();
    for c in &mut bare.columns {
        c.check = None;
        if matches!(c.default, Some(DefaultValue::Sql(_))) {
            c.default = None;
        }
    }
    bare
}

/// Creates `table` (and its indexes) inside a savepoint that is always rolled back; then runs
/// `query` (prepared only) if given.
fn run_ddl(conn: &rusqlite::Connection, table: &Table, query: Option<&str>) -> Result<(), String> {
    let mut schema = Schema::default();
    schema.insert(table.clone());
    conn.execute_batch("SAVEPOINT godwit_check").map_err(|e| e.to_string())?;
    let mut result = Ok(());
    for statement in plan::create_statements(&schema) {
        if let Err(e) = conn.execute_batch(&statement) {
            result = Err(e.to_string());
            break;
        }
    }
    if result.is_ok()
        && let Some(query) = query
        && let Err(e) = conn.prepare(query)
    {
        result = Err(e.to_string());
    }
    conn.execute_batch("ROLLBACK TO godwit_check; RELEASE godwit_check")
        .map_err(|e| e.to_string())?;
    result
}

/// Tries one expression in the bare table; `Some((expr, SQLite's reason))` when refused.
fn try_site(
    conn: &rusqlite::Connection,
    table: &Table,
    bare: &Table,
    site: &ExprSite,
) -> Option<(String, String)> {
    let mut variant = bare.clone();
    let mut query = None;
    let expr = match site {
        ExprSite::TableCheck(i) => {
            let check = table.checks.get(*i)?.clone();
            let expr = check.expr.clone();
            variant.checks.push(check);
            expr
        }
        ExprSite::ColumnCheck(name) => {
            let expr = table.column(name)?.check.clone()?;
            variant.columns.iter_mut().find(|c| &c.name == name)?.check = Some(expr.clone());
            expr
        }
        ExprSite::DefaultSql(name) => {
            let default = table.column(name)?.default.clone()?;
            let DefaultValue::Sql(expr) = &default else { return None };
            let expr = expr.clone();
            variant.columns.iter_mut().find(|c| &c.name == name)?.default = Some(default);
            expr
        }
        ExprSite::IndexWhere(name) => {
            let index = table.indexes.iter().find(|i| &i.name == name)?.clone();
            let expr = index.where_clause.clone()?;
            variant.indexes.push(index);
            expr
        }
        ExprSite::Backfill(name) | ExprSite::Convert(name) => {
            let column = table.column(name)?;
            let expr = if matches!(site, ExprSite::Backfill(_)) {
                column.backfill.clone()?
            } else {
                column.convert.clone()?
            };
            query = Some(format!("SELECT ({expr}) FROM \"{}\"", table.name.replace('"', "\"\"")));
            expr
        }
    };
    let problem = run_ddl(conn, &variant, query.as_deref()).err()?;
    // A backfill or convert runs against the old table's rows: only its syntax is checkable
    // here.
    if matches!(site, ExprSite::Backfill(_) | ExprSite::Convert(_)) && !is_syntax_error(&problem) {
        return None;
    }
    Some((expr, problem))
}

fn is_syntax_error(message: &str) -> bool {
    ["syntax error", "incomplete input", "unrecognized token"].iter().any(|s| message.contains(s))
}

/// The list of the structs the build script saw (see [`parse::SEEN_LIST_EXTENSION`]): one
/// [`parse::seen_entry`] line per table, sorted.
pub(crate) fn seen_list(sources: &SchemaSources, located: &[Located]) -> String {
    let mut lines: Vec<String> = located
        .iter()
        .map(|l| parse::seen_entry(&canonical(&sources.files[l.file].path), &l.parsed))
        .collect();
    lines.sort();
    lines.dedup();
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// Refuses a `u64`/`usize` field when no manifest of the crate (its `Cargo.toml`, or one of
/// the parent directories' up to the workspace root) names rusqlite's `fallible_uint` feature:
/// the derive would then fail to compile, so the build must not write a migration first.
///
/// # Errors
/// [`Error::Schema`] at the first such field, naming the feature.
pub(crate) fn check_fallible_uint(
    manifest_dir: &Path,
    sources: &SchemaSources,
    located: &[Located],
) -> Result<(), Error> {
    let wide = located.iter().find_map(|l| {
        l.parsed.fields.iter().find(|f| parse::needs_fallible_uint(&f.ty)).map(|f| (l, f))
    });
    let Some((l, field)) = wide else { return Ok(()) };
    let mut dir = Some(manifest_dir);
    while let Some(d) = dir {
        if let Ok(manifest) = fs::read_to_string(d.join("Cargo.toml")) {
            if manifest.contains(parse::FALLIBLE_UINT_FEATURE) {
                return Ok(());
            }
            if manifest.contains("[workspace]") {
                break;
            }
        }
        dir = d.parent();
    }
    let feature = parse::FALLIBLE_UINT_FEATURE;
    let error = syn::Error::new(
        field.ty.span(),
        format_args!(
            "field `{}` is read and written through rusqlite's `{feature}` feature, which \
             Cargo.toml does not enable, so the derive would not compile; add to [dependencies]: \
             rusqlite = {{ version = \"0.43\", features = [\"{feature}\"] }} (the rusqlite \
             migrate-runtime uses), or use i64",
            field.ident.unraw()
        ),
    );
    Err(sources.files[l.file].error(error))
}
