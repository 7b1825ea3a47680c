//! The notes library.

use migrate_runtime::Table;

/// A notebook holding notes.
#[derive(Debug, Table)]
#[table(name = "notebooks")]
#[index(columns(title), unique)]
pub struct Notebook {
    /// Row id.
    #[column(primary_key, autoincrement)]
    pub id: i64,
    /// Title shown in the sidebar.
    pub title: String,
    /// Sidebar colour; notebooks created before 0003 became blue.
    #[column(backfill = "'blue'")]
    pub color: String,
}

/// A note in a notebook; deleting the notebook deletes its notes.
#[derive(Debug, Table)]
#[table(name = "notes")]
#[index(columns(notebook_id, pinned))]
pub struct Note {
    /// Row id.
    #[column(primary_key, autoincrement)]
    pub id: i64,
    /// The notebook it belongs to.
    #[column(references = Notebook, on_delete = "cascade")]
    pub notebook_id: i64,
    /// Note heading (was `title` before 0002).
    #[column(renamed_from = "title")]
    pub heading: String,
    /// Note text.
    pub body: String,
    /// Pinned notes are listed first.
    #[column(default = false)]
    pub pinned: bool,
    /// Words in `body`; filled for older notes by the hand-written 0005.
    pub word_count: Option<i64>,
}

migrate_runtime::include_db!(LibraryDb);
