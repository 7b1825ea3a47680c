//! Every historical version of both stores, seeded with rows through the SQL of its own time,
//! upgraded to the current version: every row and constraint checked, for every version gap.
//! After the upgrade, rows are read and written through the typed API of the current structs.

use migrate_runtime::rusqlite::{Connection, params};
use migrate_runtime::{Crud, Migration};
use notebook::library::{LibraryDb, Note, Notebook};
use notebook::settings::{Setting, SettingsDb};

type Result<T = (), E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

/// A database file with the first `applied` migrations of `migrations` applied.
fn at_version(
    dir: &tempfile::TempDir,
    name: &str,
    migrations: &[Migration],
    applied: usize,
) -> Result<(std::path::PathBuf, Connection)> {
    let path = dir.path().join(name);
    let mut conn = Connection::open(&path)?;
    migrate_runtime::migrate(&mut conn, &migrations[..applied])?;
    Ok((path, conn))
}

fn has(applied: usize, tag_prefix: &str, migrations: &[Migration]) -> bool {
    migrations[..applied].iter().any(|m| m.tag.starts_with(tag_prefix))
}

/// The words of a body as migration 0005 counts them.
fn words(body: &str) -> i64 {
    i64::try_from(body.split(' ').filter(|w| !w.is_empty()).count()).unwrap()
}

const NOTES: [(i64, &str, &str); 3] =
    [(1, "Groceries", "milk eggs bread"), (1, "Empty", ""), (2, "Plan", "ship the second version")];

/// Seeds the library through the columns that exist after `applied` migrations.
fn seed_library(conn: &Connection, applied: usize) -> Result {
    let m = LibraryDb::MIGRATIONS;
    let color = has(applied, "0003", m);
    for title in ["Inbox", "Work", "Scratch"] {
        if color {
            conn.execute("INSERT INTO notebooks (title, color) VALUES (?1, 'green')", [title])?;
        } else {
            conn.execute("INSERT INTO notebooks (title) VALUES (?1)", [title])?;
        }
    }
    // The AUTOINCREMENT counter stands at 3 while the largest id is 2: rebuilds must keep it.
    conn.execute("DELETE FROM notebooks WHERE title = 'Scratch'", [])?;
    let heading = if has(applied, "0002", m) { "heading" } else { "title" };
    for (notebook, title, body) in NOTES {
        conn.execute(
            &format!("INSERT INTO notes (notebook_id, \"{heading}\", body) VALUES (?1, ?2, ?3)"),
            params![notebook, title, body],
        )?;
    }
    if has(applied, "0001", m) {
        conn.execute("UPDATE notes SET pinned = 1 WHERE body LIKE 'ship%'", [])?;
    }
    if has(applied, "0004", m) {
        // The app of that time wrote counts itself; 'Plan' carries a value 0005 must not touch.
        conn.execute("UPDATE notes SET word_count = length(body) WHERE body LIKE 'ship%'", [])?;
        if has(applied, "0005", m) {
            for (_, title, body) in NOTES.iter().filter(|n| n.1 != "Plan") {
                conn.execute(
                    "UPDATE notes SET word_count = ?1 WHERE \"heading\" = ?2",
                    params![words(body), title],
                )?;
            }
        }
    }
    Ok(())
}

fn assert_healthy(conn: &Connection, migrations: &[Migration]) -> Result {
    let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    assert_eq!(integrity, "ok");
    let violations: i64 =
        conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0))?;
    assert_eq!(violations, 0);
    let ledger: Vec<String> = conn
        .prepare("SELECT tag FROM __schema_migrations ORDER BY idx")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    assert_eq!(ledger, migrations.iter().map(|m| m.tag.to_owned()).collect::<Vec<_>>());
    let fk: bool = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
    assert!(fk, "open_and_migrate leaves foreign keys on");
    Ok(())
}

#[test]
fn library_upgrades_from_every_version() -> Result {
    let m = LibraryDb::MIGRATIONS;
    assert!(m.len() >= 7, "the example keeps a history of at least seven migrations");
    for applied in 1..=m.len() {
        let dir = tempfile::tempdir()?;
        let (path, conn) = at_version(&dir, "library.db", m, applied)?;
        seed_library(&conn, applied)?;
        drop(conn);

        let db = LibraryDb::open_and_migrate(&path)?;
        let conn = db.conn();
        assert_healthy(conn, m)?;
        let from = m[applied - 1].tag;

        let notebooks = conn.list::<Notebook>()?;
        let expected_color = if has(applied, "0003", m) { "green" } else { "blue" };
        let got: Vec<(i64, &str, &str)> =
            notebooks.iter().map(|n| (n.id, n.title.as_str(), n.color.as_str())).collect();
        assert_eq!(
            got,
            [(1, "Inbox", expected_color), (2, "Work", expected_color)],
            "notebooks after upgrading from {from}"
        );

        let notes = conn.list::<Note>()?;
        assert_eq!(notes.len(), NOTES.len(), "no note lost upgrading from {from}");
        for (note, (notebook, title, body)) in notes.iter().zip(NOTES) {
            assert_eq!(
                (note.notebook_id, note.heading.as_str(), note.body.as_str()),
                (notebook, title, body),
                "from {from}"
            );
            let is_plan = title == "Plan";
            assert_eq!(
                note.pinned,
                is_plan && has(applied, "0001", m),
                "pinned of {title} from {from}"
            );
            let expected_words = if is_plan && has(applied, "0004", m) {
                i64::try_from(body.len())?
            } else {
                words(body)
            };
            assert_eq!(note.word_count, Some(expected_words), "word_count of {title} from {from}");
        }

        // The AUTOINCREMENT counter survived every rebuild: 'Scratch' had id 3.
        let notebook = |title: &str| Notebook { id: 0, title: title.into(), color: "red".into() };
        let next = conn.insert(&notebook("Next"))?;
        assert_eq!(next, 4, "id reuse after upgrading from {from}");
        assert_eq!(conn.last_insert_rowid(), 4, "id reuse after upgrading from {from}");
        // The unique index added by 0006 holds on old rows.
        let duplicate = conn.insert(&notebook("Inbox"));
        assert!(
            duplicate.is_err(),
            "duplicate notebook title accepted after upgrading from {from}"
        );
        // The CASCADE from notes to notebooks still works after the parent was rebuilt.
        assert!(conn.delete::<Notebook>(1)?, "notebook 1 exists after upgrading from {from}");
        let left: i64 = conn.query_row("SELECT count(*) FROM notes", [], |r| r.get(0))?;
        assert_eq!(left, 1, "cascade after upgrading from {from}");
        assert_eq!(conn.list::<Note>()?.len(), 1, "cascade after upgrading from {from}");
        let indexes: i64 = conn.query_row("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name IN ('notebooks_title_key', 'notes_notebook_id_pinned_idx')", [], |r| r.get(0))?;
        assert_eq!(indexes, 2);
    }
    Ok(())
}

#[test]
fn settings_upgrade_from_every_version() -> Result {
    let m = SettingsDb::MIGRATIONS;
    for applied in 1..=m.len() {
        let dir = tempfile::tempdir()?;
        let (path, conn) = at_version(&dir, "settings.db", m, applied)?;
        if has(applied, "0001", m) {
            conn.execute(
                "INSERT INTO settings (key, value, updated_at) VALUES ('theme', 'dark', 5)",
                [],
            )?;
        } else {
            conn.execute("INSERT INTO settings (key, value) VALUES ('theme', 'dark')", [])?;
        }
        drop(conn);
        let db = SettingsDb::open_and_migrate(&path)?;
        assert_healthy(db.conn(), m)?;
        let settings = db.list::<Setting>()?;
        let expected_time = if has(applied, "0001", m) { 5 } else { 0 };
        let got: Vec<(&str, &str, i64)> =
            settings.iter().map(|s| (s.key.as_str(), s.value.as_str(), s.updated_at)).collect();
        assert_eq!(got, [("theme", "dark", expected_time)]);
        // The upgraded table takes writes through the current struct.
        let light = Setting { key: "theme".into(), value: "light".into(), updated_at: 6 };
        assert!(db.update(&light)?, "theme exists after upgrading from {}", m[applied - 1].tag);
        let read = db.get::<Setting>("theme")?.map(|s| (s.value, s.updated_at));
        assert_eq!(read, Some(("light".to_owned(), 6)));
    }
    Ok(())
}

#[test]
fn fresh_databases_reach_the_current_version() -> Result {
    let dir = tempfile::tempdir()?;
    let library = LibraryDb::open_and_migrate(dir.path().join("library.db"))?;
    assert_healthy(library.conn(), LibraryDb::MIGRATIONS)?;
    let settings = SettingsDb::open_and_migrate(dir.path().join("settings.db"))?;
    assert_healthy(settings.conn(), SettingsDb::MIGRATIONS)?;
    // Reopening an up-to-date database changes nothing.
    drop(library);
    let before = std::fs::read(dir.path().join("library.db"))?;
    let again = LibraryDb::open_and_migrate(dir.path().join("library.db"))?;
    drop(again);
    assert_eq!(before, std::fs::read(dir.path().join("library.db"))?);
    Ok(())
}
