//! The schema a database should have after a prefix of the folder's migrations.

use schema_core::build::folder::{Folder, Migration};
use schema_core::build::format::Snapshot;
use schema_core::build::replay;
use schema_core::introspect::{self, DbShape};

use crate::error::Error;
use crate::report_error;

/// What the database is compared with.
pub(crate) struct Expected {
    /// Tables (columns, keys, indexes, foreign keys, checks, STRICT, WITHOUT ROWID) from the
    /// snapshot; views and triggers from the replay, when it ran.
    pub shape: DbShape,
    /// Why views and triggers are not compared, if they are not.
    pub views_skipped: Option<String>,
}

/// The expected shape after `applied` (a prefix of the folder's migrations).
pub(crate) fn after(folder: &Folder, applied: &[Migration]) -> Result<Expected, Error> {
    let last = applied.last().expect("at least the head");
    // A hand-written migration not adopted yet has no snapshot: it leaves the schema of the
    // latest journaled one.
    let snapshot: Snapshot = match &last.snapshot {
        Some(file) => file.parse().map_err(Error::folder(&folder.dir))?,
        None => folder
            .latest_snapshot()
            .cloned()
            .unwrap_or_else(|| Snapshot::new(None, &schema_core::model::Schema::default())),
    };
    let mut shape = replay::fresh_shape(&snapshot.schema())
        .map_err(|e| Error::Expected { source: Box::new(e) })?;
    let views_skipped = match replayed_views(applied) {
        Ok(replayed) => {
            shape.views = replayed.views;
            shape.triggers = replayed.triggers;
            None
        }
        Err(why) => Some(why),
    };
    Ok(Expected { shape, views_skipped })
}

/// The views and triggers after replaying `applied` in memory; the reason when it fails.
fn replayed_views(applied: &[Migration]) -> Result<DbShape, String> {
    let mut conn = replay::open().map_err(|e| report_error(&e))?;
    for m in applied {
        replay::apply_migration(&mut conn, m)
            .map_err(|e| format!("replaying {} failed: {}", m.entry.tag, report_error(&e)))?;
    }
    introspect::describe(&conn).map_err(|e| e.to_string())
}
