//! The derive's half of "the build sees every struct": the build script lists the structs it
//! parsed in `$OUT_DIR/godwit/<Db>.tables` (see `schema_core::parse::SEEN_LIST_EXTENSION`). When
//! the crate's build script wrote such lists, a struct in the crate's `src/` that no list names
//! was not seen by it (it is outside every schema file and its modules), so no migration
//! creates its table: the derive refuses it at compile time. The build script refuses it too
//! when it runs, but it does not rerun when only a file outside the schema changes; this check
//! does.
//!
//! Outside a build script run of schema-core (no `OUT_DIR`, no lists), and for structs outside
//! `src/` (integration tests, examples), nothing is checked.

use std::fs;
use std::path::{Path, PathBuf};

use proc_macro2::TokenStream;
use schema_core::parse::SEEN_LIST_EXTENSION;
use syn::ext::IdentExt as _;

/// A compile error at `ident` when the build script's lists exist and do not name it.
pub(crate) fn check(ident: &syn::Ident) -> Option<TokenStream> {
    let out_dir = std::env::var_os("OUT_DIR")?;
    let lists = read_lists(&Path::new(&out_dir).join("godwit"))?;
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    let src = fs::canonicalize(manifest_dir.join("src")).ok()?;
    let file = fs::canonicalize(ident.span().unwrap().local_file()?).ok()?;
    if !file.starts_with(&src) {
        return None;
    }
    let entry = format!("{}\t{}", file.to_string_lossy(), ident.unraw());
    if lists.iter().any(|list| list.lines().any(|line| line == entry)) {
        return None;
    }
    let mut schema_files: Vec<String> = lists
        .iter()
        .flat_map(|list| list.lines())
        .filter_map(|line| line.split_once('\t').map(|(path, _)| path))
        .map(|path| {
            let root = manifest_dir.canonicalize().unwrap_or_else(|_| manifest_dir.clone());
            Path::new(path).strip_prefix(&root).unwrap_or(Path::new(path)).display().to_string()
        })
        .collect();
    schema_files.sort();
    schema_files.dedup();
    let read = if schema_files.is_empty() {
        "the schema files".to_owned()
    } else {
        schema_files.join(", ")
    };
    let message = format!(
        "#[derive(Table)] struct `{}` is outside the schema: the build script reads {read} (and \
         the modules they declare), so no migration creates its table; move it into a schema \
         file or into a module one declares (`mod name;`)",
        ident.unraw()
    );
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
