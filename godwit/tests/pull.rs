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
/// ANY, WITHOUT ROWID, NUMERIC, keyword and mixed-case column names. [`VIEW`] and [`TRIGGER`]
/// complete it where a test wants them.
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
"#;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn godwit(dir: &Path, args: &[&str]) -> std::process::Output {
    Bin::cargo_bin("godwit").unwrap().current_dir(dir).args(args).output().unwrap()
}

fn shop(dir: &Path) -> PathBuf {
    let path = dir.join("shop.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(SHOP).unwrap();
    conn.execute_batch(
        "INSERT INTO customers (email) VALUES ('a@x');\n\
         INSERT INTO products VALUES ('p1', 'Pen', 1.5);\n\
         INSERT INTO orders (id, customer_id) VALUES (1, 1);\n\
         INSERT INTO order_lines (order_id, line, sku) VALUES (1, 1, 'p1');",
    )
    .unwrap();
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
    rusqlite::Connection::open(&db).unwrap().execute_batch(&format!("{VIEW}\n{TRIGGER}")).unwrap();
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
    cargo_build(&krate);
    let first =
        fs::read_to_string(krate.join(format!("migrations/{}.sql", tags(&krate)[0]))).unwrap();
    assert_eq!(tags(&krate).len(), 1);

    // The first migration, applied through the engine, yields exactly the database's tables.
    let mut replayed = schema_core::build::replay::open().unwrap();
    replayed.execute_batch("BEGIN").unwrap();
    migrate_engine::apply_checked(
        &mut replayed,
        &[migrate_engine::Step { tag: "0000", sql: &first }],
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

    // Baseline now: the database's view and trigger are not in the migrations yet.
    let out = godwit(tmp.path(), &["baseline", "shop.db", "--migrations", "app/migrations"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("unexpected view open_orders")
            && stdout.contains("unexpected trigger orders_audit"),
        "{stdout}"
    );

    // The user does what the pulled file says: a hand-written migration for them, adopted by
    // the next build; then the baseline proves the whole schema and records both migrations.
    let out = godwit(&krate, &["new", "views_and_triggers"]);
    assert_eq!(out.status.code(), Some(0));
    let custom = krate.join("migrations/0001_views_and_triggers.sql");
    let header = fs::read_to_string(&custom).unwrap();
    let objects = [VIEW, TRIGGER].join("\n--> statement-breakpoint\n");
    fs::write(&custom, format!("{header}{objects}\n")).unwrap();
    cargo_build(&krate);
    let after = tags(&krate);
    assert_eq!(after.len(), 2, "{after:?}");
    assert_eq!(after[1], "0001_views_and_triggers");
    let out = godwit(tmp.path(), &["baseline", "shop.db", "--migrations", "app/migrations"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let out = godwit(tmp.path(), &["status", "--db", "shop.db", "--migrations", "app/migrations"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let out = godwit(tmp.path(), &["diff", "shop.db", "--migrations", "app/migrations"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));

    // The runtime, given the folder's migrations as the app embeds them, finds the database up
    // to date and keeps every row.
    let migrations = runtime_migrations(&krate.join("migrations"));
    let mut conn = rusqlite::Connection::open(&db).unwrap();
    migrate_runtime::verify(&conn, &migrations).unwrap();
    assert!(migrate_runtime::migrate(&mut conn, &migrations).unwrap().is_empty());
    let lines: i64 = conn.query_row("SELECT count(*) FROM order_lines", [], |r| r.get(0)).unwrap();
    assert_eq!(lines, 1);
}

/// The folder's migrations as `include_db!` embeds them (leaked: the runtime's type holds
/// `&'static str`s).
fn runtime_migrations(dir: &Path) -> Vec<migrate_runtime::Migration> {
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let journal: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("meta/_journal.json")).unwrap()).unwrap();
    let mut chain: Option<String> = None;
    let mut out = Vec::new();
    for e in journal["entries"].as_array().unwrap() {
        let tag = e["tag"].as_str().unwrap().to_owned();
        let sql = fs::read_to_string(dir.join(format!("{tag}.sql"))).unwrap();
        let hash = migrate_runtime::hash_sql(&sql);
        let next = migrate_runtime::chain_hash(chain.as_deref(), &hash);
        chain = Some(next.clone());
        out.push(migrate_runtime::Migration {
            idx: u32::try_from(e["idx"].as_u64().unwrap()).unwrap(),
            tag: leak(tag),
            sql: leak(sql),
            hash: leak(hash),
            chain: leak(next),
        });
    }
    out
}

/// The view and trigger of [`SHOP`], as a hand-written migration holds them.
const VIEW: &str = "CREATE VIEW open_orders AS SELECT * FROM orders WHERE status <> 'done';";
const TRIGGER: &str = "CREATE TRIGGER orders_audit AFTER UPDATE OF status ON orders BEGIN INSERT INTO audit (what) VALUES ('order ' || NEW.id); END;";

/// The target directory the workspace's end-to-end tests share (`tests::e2e` uses the same
/// rule): `GODWIT_E2E_TARGET_DIR`, else `<target>/tmp/godwit-e2e` next to this test binary's.
fn shared_target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("GODWIT_E2E_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().unwrap();
    let target =
        exe.ancestors().nth(3).map_or_else(|| workspace_root().join("target"), Path::to_path_buf);
    target.join("tmp").join("godwit-e2e")
}

/// `cargo build` of the temp crate in write mode, sharing the e2e tests' target directory.
fn cargo_build(krate: &Path) {
    let target = shared_target_dir();
    let build = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--offline", "--quiet"])
        .current_dir(krate)
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
}

/// The migration tags of the temp crate's folder, sorted.
fn tags(krate: &Path) -> Vec<String> {
    let mut tags: Vec<String> = fs::read_dir(krate.join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    tags.sort();
    tags
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
             CREATE TABLE ok (id INTEGER PRIMARY KEY NOT NULL, \
               tag TEXT COLLATE NOCASE DEFAULT ('a' COLLATE BINARY) CHECK (tag <> 'B' COLLATE NOCASE));\n\
             CREATE TABLE soft (id INTEGER PRIMARY KEY NOT NULL, v TEXT UNIQUE ON CONFLICT REPLACE);\n\
             CREATE TABLE child (id INTEGER PRIMARY KEY NOT NULL, ok_id INTEGER NOT NULL REFERENCES ok(id) ON DELETE SET NULL);",
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
        "a column collation (COLLATE): the model does not hold it",
        "an ON CONFLICT clause: the model does not hold it",
        "FOREIGN KEY (ok_id) on_delete = set null: the column is NOT NULL",
        "//     CREATE TABLE child (id INTEGER PRIMARY KEY NOT NULL, ok_id INTEGER NOT NULL REFERENCES ok(id) ON DELETE SET NULL);",
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

#[test]
fn foreign_keys_the_model_refuses_are_listed_not_fatal() {
    let tmp = tempfile::tempdir().unwrap();
    rusqlite::Connection::open(tmp.path().join("fks.db"))
        .unwrap()
        .execute_batch(
            "CREATE TABLE p (id INTEGER PRIMARY KEY NOT NULL, name TEXT);\n\
             CREATE TABLE \"we\"\"ird\" (id INTEGER PRIMARY KEY NOT NULL, pname TEXT REFERENCES p(name),\n\
               gone INTEGER REFERENCES nowhere(id), \"select\" TEXT CHECK (\"select\" <> 'x\"y'));\n\
             CREATE TABLE multi (a INTEGER NOT NULL, b INTEGER NOT NULL, c INTEGER, PRIMARY KEY (a, b),\n\
               FOREIGN KEY (c) REFERENCES multi(a), FOREIGN KEY (a, b) REFERENCES multi(b, a));",
        )
        .unwrap();
    let out = godwit(tmp.path(), &["pull", "fks.db"]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    for expected in [
        "FOREIGN KEY (pname) REFERENCES p (name): the parent key is neither",
        "FOREIGN KEY (gone) REFERENCES nowhere (id): the parent table does not exist",
        "FOREIGN KEY (c) REFERENCES multi (a): the parent key is neither",
        "#[foreign_key(columns(a, b), references = Multi, to(b, a))]",
        "#[table(name = \"we\\\"ird\")]",
    ] {
        assert!(stdout.contains(expected), "{expected}:\n{stdout}");
    }
}
