//! The one error type of the engine, and the foreign-key violation it reports.

use std::fmt;

/// Everything that can stop [`apply_checked`](crate::apply_checked). On every error the engine
/// has rolled back to its own savepoint and released it: the caller's transaction holds exactly
/// what it held before the call (the caller then rolls it back). [`Error::NotInTransaction`] and
/// [`Error::ForeignKeysOn`] are found before anything runs; a statement that made SQLite roll
/// back the whole transaction is an [`Error::Statement`] with the transaction already gone.
///
/// Messages are lowercase and never repeat the SQLite error: it is the [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The connection is in autocommit mode: the engine applies inside the caller's transaction
    /// (`BEGIN` / `BEGIN IMMEDIATE`) and never opens or commits one itself.
    #[error(
        "the connection is not inside a transaction: begin one (BEGIN IMMEDIATE) before applying \
         migrations, and commit it after"
    )]
    NotInTransaction,

    /// `foreign_keys` is on: a table rebuild would cascade into child tables. It must be switched
    /// off before the transaction begins (inside one the pragma is ignored).
    #[error(
        "foreign keys are on: applying now could delete or null rows of child tables; switch \
         them off (PRAGMA foreign_keys = OFF) before beginning the transaction"
    )]
    ForeignKeysOn,

    /// A statement does something a migration may not do: control the transaction, a savepoint,
    /// ATTACH/DETACH, or a pragma outside the allow-list. Found by SQLite's authorizer while the
    /// statement was prepared, so nothing of it ran.
    #[error(
        "migration {tag} statement {statement} is {what}, which migrations may not contain: the \
         runner wraps all pending migrations in one transaction and owns the connection's \
         settings; remove the statement ({first_line})"
    )]
    Refused {
        /// The migration's tag.
        tag: String,
        /// 1-based number of the statement in the migration, as SQLite splits it.
        statement: usize,
        /// The statement's first line.
        first_line: String,
        /// What was refused, e.g. `COMMIT`, `SAVEPOINT`, `ATTACH` or `PRAGMA locking_mode`.
        what: String,
    },

    /// A statement of a migration failed to prepare or to run.
    #[error("migration {tag} failed at statement {statement} ({first_line}); nothing was applied")]
    Statement {
        /// The migration's tag.
        tag: String,
        /// 1-based number of the statement in the migration, as SQLite splits it.
        statement: usize,
        /// The statement's first line.
        first_line: String,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },

    /// The migrations leave rows whose foreign keys point nowhere, and those rows were not
    /// there before.
    #[error(
        "applying {tags} would leave {} new foreign key violation(s): {}; nothing was applied",
        violations.len(),
        list(violations)
    )]
    ForeignKeyViolation {
        /// The migrations of the run (`0003_a` or `0003_a..0005_c`).
        tags: String,
        /// The new violations (at most 20 are listed in the message).
        violations: Vec<FkViolation>,
    },

    /// The foreign keys cannot be checked (SQLite's "foreign key mismatch": a foreign key names
    /// parent columns that are not the primary key or unique), before or after the migrations.
    /// Never a warning: what is committed is what was checked.
    #[error("{}", fk_check_message(tags, *phase))]
    ForeignKeyCheck {
        /// The migrations of the run.
        tags: String,
        /// Whether the database before the run or the result of the run could not be checked.
        phase: CheckPhase,
        /// SQLite's error, e.g. `foreign key mismatch - "child" referencing "parent"`.
        #[source]
        source: rusqlite::Error,
    },

    /// A view no longer compiles after the migrations.
    #[error("applying {tags} breaks view {view}; nothing was applied")]
    BrokenView {
        /// The migrations of the run.
        tags: String,
        /// The view's name.
        view: String,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },

    /// A trigger or view no longer resolves after the migrations (SQLite's own check of the whole
    /// schema, as an `ALTER TABLE .. RENAME` runs it). Not raised when the schema was already
    /// broken before the run.
    #[error("applying {tags} leaves the schema broken; nothing was applied")]
    BrokenSchema {
        /// The migrations of the run.
        tags: String,
        /// SQLite's error, e.g. `error in trigger tr: no such table: main.x`.
        #[source]
        source: rusqlite::Error,
    },

    /// The progress callback returned [`Control::Cancel`](crate::Control::Cancel): the statement
    /// running then was interrupted and everything the run did rolled back.
    #[error(
        "migrating was cancelled by the progress callback at migration {tag} statement \
         {statement}; nothing was applied"
    )]
    Cancelled {
        /// The migration that was running.
        tag: String,
        /// 1-based number of its statement that was running (or had just ended).
        statement: usize,
    },

    /// Any other SQLite error, with the step of the engine it happened in.
    #[error("sqlite error while {phase}{}; nothing was applied", in_tag(tag.as_deref()))]
    Sqlite {
        /// What the engine was doing.
        phase: Phase,
        /// The migration being applied, when there was one.
        tag: Option<String>,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
}

fn in_tag(tag: Option<&str>) -> String {
    tag.map(|t| format!(" (migration {t})")).unwrap_or_default()
}

fn fk_check_message(tags: &str, phase: CheckPhase) -> String {
    match phase {
        CheckPhase::After => format!(
            "applying {tags} leaves a foreign key that cannot be enforced; the parent columns \
             must be the primary key or unique; nothing was applied"
        ),
        CheckPhase::Before => format!(
            "the foreign keys of the database cannot be checked before applying {tags}, so the \
             run cannot be proven not to add violations; a foreign key's parent columns must be \
             the primary key or unique: fix the schema (or the migration) first; nothing was \
             applied"
        ),
    }
}

/// Which state of the database a failed foreign-key check read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckPhase {
    /// The database before the run (the baseline of pre-existing violations).
    Before,
    /// The database after the run.
    After,
}

/// The step of [`apply_checked`](crate::apply_checked) an [`Error::Sqlite`] happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// Reading or forcing the connection settings the engine owns for the run
    /// (`legacy_alter_table`, `writable_schema`, `foreign_keys`).
    Settings,
    /// Installing or removing the authorizer (or the progress handler of a
    /// [`ProgressHook`](crate::ProgressHook)).
    Authorizer,
    /// Creating, rolling back or releasing the engine's savepoint.
    Savepoint,
    /// Reading the schema (`sqlite_schema`, table lists).
    Schema,
    /// The caller's [`Recorder`](crate::Recorder).
    Record,
    /// Reading foreign-key lists and the columns of violating rows.
    ForeignKeys,
    /// Listing the views to check.
    Views,
}

impl Phase {
    /// A map from SQLite's error to [`Error::Sqlite`] in this phase, outside any migration.
    pub(crate) fn error(self) -> impl Fn(rusqlite::Error) -> Error + Copy {
        move |source| Error::Sqlite { phase: self, tag: None, source }
    }

    /// A map from SQLite's error to [`Error::Sqlite`] in this phase, in migration `tag`.
    pub(crate) fn error_in(self, tag: &str) -> impl Fn(rusqlite::Error) -> Error + Copy + '_ {
        move |source| Error::Sqlite { phase: self, tag: Some(tag.to_owned()), source }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Settings => "setting up the connection",
            Phase::Authorizer => "installing the statement policy",
            Phase::Savepoint => "managing the migration savepoint",
            Phase::Schema => "reading the schema",
            Phase::Record => "recording an applied migration",
            Phase::ForeignKeys => "reading foreign keys",
            Phase::Views => "listing views",
        })
    }
}

/// One row of `pragma_foreign_key_check`, with the offending column(s) and value(s).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FkViolation {
    /// The child table.
    pub table: String,
    /// The child row's rowid (`None` for a WITHOUT ROWID table).
    pub rowid: Option<i64>,
    /// The parent table the row points at.
    pub parent: String,
    /// The foreign key's id within the child table (`pragma_foreign_key_list`'s `id`).
    pub fk_id: i64,
    /// The child's columns of the foreign key (its `from` columns, in order); empty when they
    /// could not be read.
    pub columns: Vec<String>,
    /// The row's values of [`columns`](Self::columns) as SQL literals (`42`, `'abc'`, `X'00'`),
    /// in the same order; empty when the row could not be read (WITHOUT ROWID).
    pub values: Vec<String>,
}

impl fmt::Display for FkViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rowid {
            Some(rowid) => write!(f, "{} rowid {} -> {}", self.table, rowid, self.parent)?,
            None => write!(f, "{} (without rowid) -> {}", self.table, self.parent)?,
        }
        if !self.columns.is_empty() {
            let pairs: Vec<String> = self
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| match self.values.get(i) {
                    Some(v) => format!("{c} = {v}"),
                    None => c.clone(),
                })
                .collect();
            write!(f, " ({})", pairs.join(", "))?;
        }
        Ok(())
    }
}

fn list(v: &[FkViolation]) -> String {
    let mut s: Vec<String> = v.iter().take(20).map(ToString::to_string).collect();
    if v.len() > 20 {
        s.push(format!("and {} more", v.len() - 20));
    }
    s.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn a_violation_names_its_columns_and_values() {
        let v = FkViolation {
            table: "c".into(),
            rowid: Some(3),
            parent: "p".into(),
            fk_id: 0,
            columns: vec!["pid".into()],
            values: vec!["7".into()],
        };
        assert_eq!(v.to_string(), "c rowid 3 -> p (pid = 7)");
        let bare = FkViolation { columns: vec![], values: vec![], rowid: None, ..v };
        assert_eq!(bare.to_string(), "c (without rowid) -> p");
    }

    #[test]
    fn errors_cross_threads() {
        fn send_sync<T: Send + Sync + 'static>() {}
        send_sync::<Error>();
    }

    #[test]
    fn the_source_is_not_repeated_in_the_message() {
        let source = rusqlite::Error::InvalidQuery;
        let text = source.to_string();
        let e = Error::Statement {
            tag: "0001_x".into(),
            statement: 2,
            first_line: "DROP TABLE t;".into(),
            source,
        };
        assert!(!e.to_string().contains(&text), "{e}");
        assert_eq!(e.source().map(ToString::to_string), Some(text));
        let e = Error::Sqlite {
            phase: Phase::Record,
            tag: Some("0001_x".into()),
            source: rusqlite::Error::InvalidQuery,
        };
        assert_eq!(
            e.to_string(),
            "sqlite error while recording an applied migration (migration 0001_x); nothing was applied"
        );
    }
}
