//! The derive's half of "the build sees every struct": the build script lists the structs it
//! parsed in `$OUT_DIR/godwit/<Db>.tables` (`schema_core::parse::seen_entry` lines). When the
//! crate's build script wrote such lists, a struct in the crate's `src/` that no list names was
//! not seen by it (it is outside every schema file and the modules they declare), so no
//! migration creates its table; one whose entry differs was seen differently (an attribute
//! macro rewrote it?). The derive refuses both at compile time. The build script refuses a
//! stray struct too when it runs, but it does not rerun when only a file outside the schema
//! changes; this check does.
//!
//! Outside a build script run of schema-core (no `OUT_DIR`, no lists), for structs outside
//! `src/` (integration tests, examples), and where the compiler does not give the struct's
//! file, nothing is checked.

use std::fs;
use std::path::{Path, PathBuf};

use proc_macro2::TokenStream;
use schema_core::parse::{ParsedTable, SEEN_LIST_EXTENSION, seen_entry};
use syn::ext::IdentExt as _;

/// A compile error at the struct when the build script's lists exist and do not hold its entry.
pub(crate) fn check(parsed: &ParsedTable) -> Option<TokenStream> {
    let ident = &parsed.ident;
    let out_dir = std::env::var_os("OUT_DIR")?;
    let lists = read_lists(&Path::new(&out_dir).join("godwit"))?;
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    let root = fs::canonicalize(&manifest_dir).ok()?;
    let file = fs::canonicalize(ident.span().unwrap().local_file()?).ok()?;
    if !file.starts_with(root.join("src")) {
        return None;
    }
    let entry = seen_entry(&file, parsed);
    let lines = || lists.iter().flat_map(|list| list.lines());
    if lines().any(|line| line == entry) {
        return None;
    }
    let shown = |path: &Path| path.strip_prefix(&root).unwrap_or(path).display().to_string();
    let prefix = format!("{}\t{}\t", file.to_string_lossy(), ident.unraw());
    let message = if lines().any(|line| line.starts_with(&prefix)) {
        format!(
            "#[derive(Table)] struct `{}` differs from what the build script parsed in {} (an \
             attribute macro or macro_rules! that rewrites it?): the build script must see the \
             same struct the compiler does; write the struct and its attributes out in the file",
            ident.unraw(),
            shown(&file)
        )
    } else {
        let mut files: Vec<String> = lines()
            .filter_map(|line| line.split_once('\t').map(|(path, _)| shown(Path::new(path))))
            .collect();
        files.sort();
        files.dedup();
        format!(
            "#[derive(Table)] struct `{}` is outside the schema: the build script reads {} (and \
             the modules they declare), so no migration creates its table; move it into a schema \
             file or into a module one declares (`mod name;`)",
            ident.unraw(),
            if files.is_empty() { "the schema files".to_owned() } else { files.join(", ") }
        )
    };
    Some(syn::Error::new(ident.span(), message).to_compile_error())
}

/// The contents of every `*.tables` list in `dir`; `None` when there is none.
fn read_lists(dir: &Path) -> Option<Vec<String>> {
    let mut lists = Vec::new();
    for entry in fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == SEEN_LIST_EXTENSION)
            && let Ok(text) = fs::read_to_string(&path)
        {
            lists.push(text);
        }
    }
    (!lists.is_empty()).then_some(lists)
}
