//! A notebook CLI over two Godwit databases.
//!
//! ```text
//! notebook [--data DIR] add <notebook> <heading> <body...>
//! notebook [--data DIR] list
//! ```

use std::error::Error;

use migrate_runtime::{Crud, Options};
use notebook::library::{LibraryDb, Note, Notebook};
use notebook::settings::{Setting, SettingsDb};

fn main() -> Result<(), Box<dyn Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut dir = "notebook-data".to_owned();
    if args.first().map(String::as_str) == Some("--data") && args.len() > 1 {
        dir = args.remove(1);
        args.remove(0);
    }
    std::fs::create_dir_all(&dir)?;
    // A long upgrade (a table rebuild of a large library) draws a progress bar on stderr.
    let options = Options::new().progress(notebook::progress::draw);
    let mut library = LibraryDb::open_with(format!("{dir}/library.db"), &options)?;
    let mut settings = SettingsDb::open_and_migrate(format!("{dir}/settings.db"))?;

    match args.first().map(String::as_str) {
        Some("add") if args.len() >= 4 => {
            let (title, heading, body) = (&args[1], &args[2], args[3..].join(" "));
            let words = i64::try_from(body.split_whitespace().count())?;
            library.transaction(|tx| {
                let notebook = match tx.find(Notebook::COL.title.eq(title))?.pop() {
                    Some(notebook) => notebook.id,
                    // An id of 0 lets SQLite assign one; insert returns it.
                    None => {
                        tx.insert(&Notebook { id: 0, title: title.clone(), color: "green".into() })?
                    }
                };
                tx.insert(&Note {
                    id: 0,
                    notebook_id: notebook,
                    heading: heading.clone(),
                    body: body.clone(),
                    pinned: false,
                    word_count: Some(words),
                })?;
                Ok::<_, migrate_runtime::Error>(())
            })?;
            settings.transaction(|tx| {
                let last = Setting {
                    key: "last_notebook".into(),
                    value: title.clone(),
                    updated_at: unix_ms(),
                };
                // Update the setting, or insert it the first time.
                if !tx.update(&last)? {
                    tx.insert(&last)?;
                }
                Ok::<_, migrate_runtime::Error>(())
            })?;
        }
        Some("list") | None => {}
        Some(_) => {
            return Err(
                "usage: notebook [--data DIR] add <notebook> <heading> <body...> | list".into()
            );
        }
    }

    let mut notebooks = library.list::<Notebook>()?;
    notebooks.sort_by(|a, b| a.title.cmp(&b.title));
    for notebook in notebooks {
        let mut notes = library.find(Note::COL.notebook_id.eq(notebook.id))?;
        // Pinned notes first, then in the order they were written (key order).
        notes.sort_by_key(|n| !n.pinned);
        for note in notes {
            let pin = if note.pinned { "*" } else { " " };
            println!(
                "{pin} [{} ({})] {} ({} words)",
                notebook.title,
                notebook.color,
                note.heading,
                note.word_count.unwrap_or(0)
            );
        }
    }
    if let Some(last) = settings.get::<Setting>("last_notebook")? {
        println!("last notebook: {}", last.value);
    }
    Ok(())
}

fn unix_ms() -> i64 {
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}
