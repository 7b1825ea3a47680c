//! `godwit pull` run as a process: a realistic database becomes structs; a real `cargo build`
//! of a temporary crate turns them into a first migration whose replayed schema equals the
//! database's.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::Command as Bin;
use schema_core::introspect::{describe, differences};

/// A shop with 11 tables: AUTOINCREMENT, a self-reference, composite primary and foreign keys,
/// partial and unique indexes, named and unnamed checks, defaults of every kind, STRICT with
/// ANY, WITHOUT ROWID, NUMERIC, keyword and mixed-case column names; and a view and a trigger.
const SHOP: &str = r#"
CREATE TABLE "customers" ("id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, "email" TEXT NOT NULL UNIQUE,
  "name" TEXT NOT NULL DEFAULT 'it''s me', "karma" INTEGER NOT NULL DEFAULT 0 CHECK (karma >= 0),
  "referrer_id" INTEGER REFERENCES customers(id) ON DELETE SET NULL,
  created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE products (sku TEXT PRIMARY KEY NOT NULL, title TEXT NOT NULL, price REAL NOT NULL DEFAULT 0.5,
  CONSTRAINT price_positive CHECK (price >= 0)) WITHOUT ROWID;
CREATE TABLE categories (id INTEGER PRIMARY KEY NOT NULL, parent_id INTEGER REFERENCES categories(id) ON DELETE CASCADE,
  "type" TEXT NOT NULL DEFAULT ('plain'), "Label" TEXT);
CREATE TABLE product_categories (sku TEXT NOT NULL REFERENCES products(sku) ON DELETE CASCADE,
  category_id INTEGER NOT NULL REFERENCES categories(id), PRIMARY KEY (sku, category_id)) WITHOUT ROWID;
CREATE TABLE orders (id INTEGER PRIMARY KEY NOT NULL, customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  status TEXT NOT NULL DEFAULT 'new', total NUMERIC, note TEXT);
CREATE TABLE order_lines (order_id INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE, line INTEGER NOT NULL,
  sku TEXT NOT NULL REFERENCES products(sku) ON UPDATE CASCADE, qty INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (order_id, line));
CREATE TABLE shipments (id INTEGER PRIMARY KEY NOT NULL, order_id INTEGER NOT NULL, line INTEGER NOT NULL, shipped_at TEXT,
  FOREIGN KEY (order_id, line) REFERENCES order_lines(order_id, line) ON UPDATE CASCADE ON DELETE RESTRICT);
CREATE TABLE settings (key TEXT PRIMARY KEY NOT NULL, value ANY, updated INTEGER NOT NULL DEFAULT (unixepoch())) STRICT;
CREATE TABLE reviews (id INTEGER PRIMARY KEY NOT NULL, sku TEXT NOT NULL REFERENCES products(sku), customer_id INTEGER REFERENCES customers(id) ON DELETE SET NULL,
  stars INTEGER NOT NULL, body BLOB, CHECK (stars BETWEEN 1 AND 5));
CREATE TABLE coupons (code TEXT PRIMARY KEY NOT NULL, percent REAL NOT NULL DEFAULT -1.5, active INTEGER NOT NULL DEFAULT 1);
CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, at TEXT NOT NULL DEFAULT (datetime('now')), what TEXT NOT NULL);
CREATE INDEX orders_open ON orders(customer_id, status) WHERE status <> 'done';
CREATE UNIQUE INDEX products_title ON products(title);
CREATE INDEX reviews_by_customer ON reviews(customer_id) WHERE customer_id IS NOT NULL;
CREATE UNIQUE INDEX coupons_active ON coupons(code, active);
CREATE VIEW open_orders AS SELECT * FROM orders WHERE status <> 'done';
CREATE TRIGGER orders_audit AFTER UPDATE OF status ON orders BEGIN INSERT INTO audit (what) VALUES ('order ' || NEW.id); END;
"#;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn godwit(dir: &Path, args: &[&str]) -> std::process::Output {
    Bin::cargo_bin("godwit").unwrap().current_dir(dir).args(args).output().unwrap()
}

fn shop(dir: &Path) -> PathBuf {
    let path = dir.join("shop.db");
    rusqlite::Connection::open(&path).unwrap().execute_batch(SHOP).unwrap();
    path
}

/// A crate in `dir` whose build.rs generates migrations from `src/schema.rs`, depending on the
/// workspace's crates by path, with the workspace's lock file.
fn temp_crate(dir: &Path) {
    let root = workspace_root();
    fs::create_dir_all(dir.join("src")).unwrap();
    fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"pulled_shop\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
             [workspace]\n\n[dependencies]\nmigrate-runtime = {{ path = {:?} }}\n\n\
             [build-dependencies]\nschema-core = {{ path = {:?} }}\n",
            root.join("migrate-runtime"),
            root.join("schema-core"),
        ),
    )
    .unwrap();
    fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    fs::write(dir.join("build.rs"), "fn main() {\n    schema_core::build::generate();\n}\n")
        .unwrap();
    fs::write(
        dir.join("src/lib.rs"),
        "//! The pulled shop.\n#![allow(missing_docs)]\npub mod schema;\n",
    )
    .unwrap();
}

#[test]
fn a_pulled_database_builds_into_a_first_migration_equal_to_it() {
    let tmp = tempfile::tempdir().unwrap();
    let db = shop(tmp.path());
    let krate = tmp.path().join("app");
    temp_crate(&krate);
    let out = godwit(tmp.path(), &["pull", "shop.db", "--out", "app/src/schema.rs"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    insta::with_settings!({ prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("pull_shop_stdout", stdout);
        insta::assert_snapshot!("pull_shop_schema", fs::read_to_string(krate.join("src/schema.rs")).unwrap());
    });

    // A real `cargo build`: the build script generates the first migration, the derive compiles
    // every struct (and its compile-time guard against the snapshot).
    let target = workspace_root().join("target").join("tmp").join("godwit-e2e");
    let build = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--offline", "--quiet"])
        .current_dir(&krate)
        .env("CARGO_TARGET_DIR", &target)
        .env("SCHEMA_MIGRATIONS", "write")
        .env_remove("CI")
        .env_remove("MIGRATION_NAME")
        .output()
        .unwrap();
    assert!(
        build.status.success(),
        "cargo build failed:\n{}",
        String::from_utf8_lossy(&build.stderr)
    );
    let first: Vec<PathBuf> = fs::read_dir(krate.join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    assert_eq!(first.len(), 1, "{first:?}");
    let sql = fs::read_to_string(&first[0]).unwrap();

    // The first migration, applied through the engine, yields exactly the database's tables.
    let mut replayed = schema_core::build::replay::open().unwrap();
    replayed.execute_batch("BEGIN").unwrap();
    migrate_engine::apply_checked(
        &mut replayed,
        &[migrate_engine::Step { tag: "0000", sql: &sql }],
        &mut (),
    )
    .unwrap();
    replayed.execute_batch("COMMIT").unwrap();
    let mut expected = describe(&rusqlite::Connection::open(&db).unwrap()).unwrap();
    expected.views.clear();
    expected.triggers.clear();
    let actual = describe(&replayed).unwrap();
    assert_eq!(differences(&expected, &actual), Vec::<String>::new());
    assert_eq!(actual.tables.len(), 11);
}

#[test]
fn what_the_model_cannot_express_is_listed_with_its_sql() {
    let tmp = tempfile::tempdir().unwrap();
    rusqlite::Connection::open(tmp.path().join("legacy.db"))
        .unwrap()
        .execute_batch(
            "CREATE TABLE people (id INTEGER PRIMARY KEY, \"First Name\" VARCHAR(40) NOT NULL, born DATETIME, \
             flag BOOLEAN DEFAULT FALSE, blob_col, full TEXT GENERATED ALWAYS AS ('x' || \"First Name\"),\
             UNIQUE (\"First Name\", born));\n\
             CREATE INDEX people_lower ON people(lower(\"First Name\"));\n\
             CREATE INDEX people_born_desc ON people(born DESC);\n\
             CREATE TABLE ok (id INTEGER PRIMARY KEY NOT NULL);",
        )
        .unwrap();
    let out = godwit(tmp.path(), &["pull", "legacy.db"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    for kept in [
        "//     CREATE TABLE people (id INTEGER PRIMARY KEY, \"First Name\" VARCHAR(40) NOT NULL",
        "//     CREATE INDEX people_lower ON people(lower(\"First Name\"));",
        "//     CREATE INDEX people_born_desc ON people(born DESC);",
        "generated column full",
    ] {
        assert!(stdout.contains(kept), "{kept}:\n{stdout}");
    }
    insta::with_settings!({ prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("pull_legacy", stdout);
    });
}

#[test]
fn usage_errors_exit_2_and_nothing_is_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    shop(tmp.path());
    fs::write(tmp.path().join("schema.rs"), "// mine\n").unwrap();
    let out = godwit(tmp.path(), &["pull", "shop.db", "--out", "schema.rs"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(fs::read_to_string(tmp.path().join("schema.rs")).unwrap(), "// mine\n");
    insta::with_settings!({ prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("pull_exists", String::from_utf8_lossy(&out.stderr));
    });
    let out = godwit(tmp.path(), &["pull", "nope.db"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!tmp.path().join("nope.db").exists());
    let out = godwit(tmp.path(), &["pull"]);
    assert_eq!(out.status.code(), Some(2));
}
