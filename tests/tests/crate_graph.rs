//! The crate graph an application links (issue 11, problem 8 / Deliver 6): migrate-runtime with
//! no default features compiles no schema model, no planner, no serde and no syn with `full`, and
//! does not force a bundled SQLite; with its defaults it bundles SQLite and re-exports the
//! derive.
//!
//! `cargo metadata` resolves features for the whole workspace (the `tests` and `bench` packages
//! turn `bundled` on), so the graph is read from `cargo tree -p migrate-runtime`, which resolves
//! that one package the way an application's build does.

use std::path::Path;
use std::process::Command;

/// One package of the tree: its depth, name and enabled features.
#[derive(Debug)]
struct Node {
    depth: usize,
    name: String,
    features: Vec<String>,
}

/// Every line of `cargo tree -p migrate-runtime -e normal` (with `extra` arguments), each with
/// the names of its ancestors.
fn tree(extra: &[&str]) -> Vec<(Node, Vec<String>)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let output = Command::new(cargo)
        .arg("tree")
        .arg("--manifest-path")
        .arg(&manifest)
        .args(["--offline", "-p", "migrate-runtime", "-e", "normal", "--prefix", "depth"])
        .args(["-f", "{p}|{f}"])
        .args(extra)
        .output()
        .expect("run cargo tree");
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    assert!(
        output.status.success(),
        "cargo tree failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut stack: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
        let digits = line.bytes().take_while(u8::is_ascii_digit).count();
        let depth: usize = line[..digits].parse().expect("depth prefix");
        let (package, features) = line[digits..].split_once('|').expect("name|features");
        let name = package.split_whitespace().next().expect("package name").to_owned();
        let features: Vec<String> = features
            .trim_end_matches(" (*)")
            .split(',')
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
            .collect();
        stack.truncate(depth);
        let ancestors = stack.clone();
        stack.push(name.clone());
        out.push((Node { depth, name, features }, ancestors));
    }
    assert!(out.first().is_some_and(|(n, _)| n.depth == 0 && n.name == "migrate-runtime"));
    out
}

fn find<'a>(graph: &'a [(Node, Vec<String>)], name: &str) -> Vec<&'a (Node, Vec<String>)> {
    graph.iter().filter(|(n, _)| n.name == name).collect()
}

#[test]
fn without_default_features_the_runtime_links_no_model_no_serde_and_no_bundled_sqlite() {
    let graph = tree(&["--no-default-features"]);
    for banned in
        ["schema-core", "schema-macros", "serde", "serde_core", "serde_derive", "serde_json"]
    {
        assert!(find(&graph, banned).is_empty(), "{banned} is in the graph: {graph:#?}");
    }
    // syn, quote and proc-macro2 may only appear as the compile-time dependencies of
    // thiserror's derive (the proc-macro behind the error type), never for the schema parser,
    // and syn never with `full` (the parser's feature).
    for macro_crate in ["syn", "quote", "proc-macro2", "unicode-ident"] {
        for (node, ancestors) in find(&graph, macro_crate) {
            assert!(
                ancestors.iter().any(|a| a == "thiserror-impl"),
                "{macro_crate} reached through {ancestors:?}, not thiserror's derive"
            );
            assert!(!node.features.iter().any(|f| f == "full"), "{node:?}");
        }
    }
    // rusqlite directly and through the engine (one package, listed under each), never bundled.
    let rusqlite = find(&graph, "rusqlite");
    assert!(rusqlite.iter().any(|(n, _)| n.depth == 1), "rusqlite is a direct dependency");
    for (node, _) in &rusqlite {
        assert!(!node.features.iter().any(|f| f == "bundled"), "{node:?}");
    }
    let engine = find(&graph, "migrate-engine");
    assert!(engine.iter().any(|(n, _)| n.depth == 1), "the engine is a direct dependency");
    let sys = find(&graph, "libsqlite3-sys");
    assert!(!sys.is_empty(), "{graph:#?}");
    for (node, _) in sys {
        assert!(!node.features.iter().any(|f| f.starts_with("bundled")), "{node:?}");
    }
}

#[test]
fn by_default_the_runtime_bundles_sqlite_and_re_exports_the_derive() {
    let graph = tree(&[]);
    let sys = find(&graph, "libsqlite3-sys");
    assert!(sys.iter().all(|(n, _)| n.features.iter().any(|f| f == "bundled")), "{sys:?}");
    let derive = find(&graph, "schema-macros");
    assert!(derive.iter().any(|(n, _)| n.depth == 1), "{graph:#?}");
    // Only the derive (a proc-macro, compile time) reaches the schema parser.
    for (_, ancestors) in find(&graph, "schema-core") {
        assert!(ancestors.iter().any(|a| a == "schema-macros"), "{ancestors:?}");
    }
}
