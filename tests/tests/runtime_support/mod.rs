//! Shared by the runtime tests and the `runtime_helper` binary: migrations built from files or
//! strings the way the build script builds them (hash of the normalised text, running chain).

#![allow(dead_code)]

use std::path::Path;

use migrate_runtime::{Migration, chain_hash, hash_sql};

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// Migrations from `(tag, sql)` pairs; the index is the tag's leading number.
pub fn migrations(items: &[(&str, &str)]) -> &'static [Migration] {
    let mut out = Vec::with_capacity(items.len());
    let mut prev: Option<&'static str> = None;
    for (tag, sql) in items {
        let idx: u32 =
            tag.split('_').next().and_then(|n| n.parse().ok()).expect("tag starts with its index");
        let hash = leak(hash_sql(sql));
        let chain = leak(chain_hash(prev, hash));
        prev = Some(chain);
        out.push(Migration {
            idx,
            tag: leak((*tag).to_owned()),
            sql: leak((*sql).to_owned()),
            hash,
            chain,
        });
    }
    Box::leak(out.into_boxed_slice())
}

/// Every `NNNN_*.sql` file of `dir`, in order.
pub fn load_dir(dir: &Path) -> &'static [Migration] {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("read migrations dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .map(|p| {
            let tag = p.file_stem().unwrap().to_str().unwrap().to_owned();
            let sql = std::fs::read_to_string(&p).expect("read migration");
            (tag, sql)
        })
        .collect();
    files.sort();
    let items: Vec<(&str, &str)> = files.iter().map(|(t, s)| (t.as_str(), s.as_str())).collect();
    migrations(&items)
}

/// Writes `(tag, sql)` pairs as `<tag>.sql` files into `dir`.
pub fn write_dir(dir: &Path, items: &[(&str, &str)]) {
    std::fs::create_dir_all(dir).expect("create migrations dir");
    for (tag, sql) in items {
        std::fs::write(dir.join(format!("{tag}.sql")), sql).expect("write migration");
    }
}

/// The message of `err`'s source (the error it wraps), which its own message does not repeat;
/// panics when it has none.
pub fn source_message(err: &dyn std::error::Error) -> String {
    err.source().unwrap_or_else(|| panic!("{err} has no source")).to_string()
}
