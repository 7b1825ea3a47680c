//! A notebook CLI over two Godwit databases.
//!
//! ```text
//! notebook [--data DIR] add <notebook> <heading> <body...>
//! notebook [--data DIR] list
//! ```

use std::error::Error;

use migrate_runtime::rusqlite::{OptionalExtension, params};
use notebook::library::LibraryDb;
use notebook::settings::SettingsDb;

fn main() -> Result<(), Box<dyn Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut dir = "notebook-data".to_owned();
    if args.first().map(String::as_str) == Some("--data") && args.len() > 1 {
        dir = args.remove(1);
        args.remove(0);
    }
    std::fs::create_dir_all(&dir)?;
    let library = LibraryDb::open_and_migrate(format!("{dir}/library.db"))?;
    let settings = SettingsDb::open_and_migrate(format!("{dir}/settings.db"))?;

    match args.first().map(String::as_str) {
        Some("add") if args.len() >= 4 => {
            let (notebook, heading, body) = (&args[1], &args[2], args[3..].join(" "));
            let conn = library.conn();
            let id: Option<i64> = conn
                .query_row("SELECT id FROM notebooks WHERE title = ?1", [notebook], |r| r.get(0))
                .optional()?;
            let id = match id {
                Some(id) => id,
                None => {
                    conn.execute(
                        "INSERT INTO notebooks (title, color) VALUES (?1, 'green')",
                        [notebook],
                    )?;
                    conn.last_insert_rowid()
                }
            };
            let words = i64::try_from(body.split_whitespace().count())?;
            conn.execute(
                "INSERT INTO notes (notebook_id, heading, body, word_count) VALUES (?1, ?2, ?3, ?4)",
                params![id, heading, body, words],
            )?;
            settings.conn().execute(
                "INSERT INTO settings (key, value, updated_at) VALUES ('last_notebook', ?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                params![notebook, unix_ms()],
            )?;
        }
        Some("list") | None => {}
        Some(_) => {
            return Err(
                "usage: notebook [--data DIR] add <notebook> <heading> <body...> | list".into()
            );
        }
    }

    let mut stmt = library.conn().prepare(
        "SELECT b.title, b.color, n.heading, n.pinned, n.word_count
         FROM notes n JOIN notebooks b ON b.id = n.notebook_id
         ORDER BY b.title, n.pinned DESC, n.id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, bool>(3)?,
            r.get::<_, Option<i64>>(4)?,
        ))
    })?;
    for row in rows {
        let (notebook, color, heading, pinned, words) = row?;
        let pin = if pinned { "*" } else { " " };
        println!("{pin} [{notebook} ({color})] {heading} ({} words)", words.unwrap_or(0));
    }
    Ok(())
}

fn unix_ms() -> i64 {
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}
