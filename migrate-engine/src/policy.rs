//! The statement policy and the write targets, both from SQLite's authorizer: every action a
//! statement (and every trigger it fires) performs is reported while it is prepared, with names
//! already dequoted and schema qualifiers resolved. Nothing here reads SQL text.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rusqlite::hooks::{AuthAction, AuthContext, Authorization, TransactionOperation};

/// Pragmas a migration may run: read-only introspection, and the few settings that are part of
/// the database's content or safe inside the runner's transaction. Everything else is refused
/// (fail closed), whatever its quoting or schema qualifier: SQLite's authorizer reports the
/// dequoted name. Table-valued pragma functions (`SELECT * FROM pragma_table_info('t')`) reach
/// the authorizer as the same pragma action (`table_info`), so the same list decides them.
pub const ALLOWED_PRAGMAS: &[&str] = &[
    "table_info",
    "table_xinfo",
    "table_list",
    "index_list",
    "index_info",
    "index_xinfo",
    "foreign_key_list",
    "foreign_key_check",
    "integrity_check",
    "quick_check",
    "function_list",
    "pragma_list",
    "collation_list",
    "compile_options",
    "defer_foreign_keys",
    "user_version",
    "application_id",
    "optimize",
];

/// What one authorizer action means for the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Nothing to record (reads, functions, views, writes to `temp` or to SQLite's own tables).
    Nothing,
    /// Refused: the text says what (`COMMIT`, `PRAGMA locking_mode`).
    Refuse(String),
    /// Rows or the definition of this table of `main` change (lower-cased name).
    Touch(String),
    /// `ALTER TABLE` on this table (lower-cased): touched, and possibly renamed.
    Alter(String),
    /// An action the engine cannot classify: the foreign-key check covers the whole database.
    Widen(String),
}

/// SQLite's own tables, written by every DDL statement: not user data.
fn internal(table: &str) -> bool {
    [
        "sqlite_master",
        "sqlite_schema",
        "sqlite_temp_master",
        "sqlite_temp_schema",
        "sqlite_sequence",
    ]
    .iter()
    .any(|t| t.eq_ignore_ascii_case(table))
}

fn write(table: &str, database: Option<&str>) -> Effect {
    if database.is_some_and(|d| d.eq_ignore_ascii_case("temp")) || internal(table) {
        Effect::Nothing
    } else {
        Effect::Touch(table.to_ascii_lowercase())
    }
}

fn ddl(table: &str) -> Effect {
    if internal(table) { Effect::Nothing } else { Effect::Touch(table.to_ascii_lowercase()) }
}

/// The policy: what an action means, decided from the action alone.
pub(crate) fn classify(ctx: &AuthContext<'_>) -> Effect {
    match ctx.action {
        AuthAction::Transaction { operation } => Effect::Refuse(
            match operation {
                TransactionOperation::Begin => "BEGIN",
                TransactionOperation::Rollback => "ROLLBACK",
                // SQLite reports COMMIT and END as "COMMIT", which rusqlite does not name.
                _ => "COMMIT",
            }
            .to_owned(),
        ),
        AuthAction::Savepoint { operation, .. } => Effect::Refuse(
            match operation {
                TransactionOperation::Release => "RELEASE",
                TransactionOperation::Rollback => "ROLLBACK TO",
                _ => "SAVEPOINT",
            }
            .to_owned(),
        ),
        AuthAction::Attach { .. } => Effect::Refuse("ATTACH".to_owned()),
        AuthAction::Detach { .. } => Effect::Refuse("DETACH".to_owned()),
        AuthAction::Pragma { pragma_name, .. } => {
            if ALLOWED_PRAGMAS.iter().any(|p| p.eq_ignore_ascii_case(pragma_name)) {
                Effect::Nothing
            } else {
                Effect::Refuse(format!("PRAGMA {}", pragma_name.to_ascii_lowercase()))
            }
        }
        AuthAction::Insert { table_name }
        | AuthAction::Delete { table_name }
        | AuthAction::Update { table_name, .. } => write(table_name, ctx.database_name),
        AuthAction::CreateTable { table_name }
        | AuthAction::DropTable { table_name }
        | AuthAction::CreateTempTable { table_name }
        | AuthAction::DropTempTable { table_name }
        | AuthAction::CreateIndex { table_name, .. }
        | AuthAction::DropIndex { table_name, .. }
        | AuthAction::CreateTempIndex { table_name, .. }
        | AuthAction::DropTempIndex { table_name, .. }
        | AuthAction::CreateTrigger { table_name, .. }
        | AuthAction::DropTrigger { table_name, .. }
        | AuthAction::CreateTempTrigger { table_name, .. }
        | AuthAction::DropTempTrigger { table_name, .. }
        | AuthAction::CreateVtable { table_name, .. }
        | AuthAction::DropVtable { table_name, .. } => ddl(table_name),
        AuthAction::AlterTable { database_name, table_name } => {
            if database_name.eq_ignore_ascii_case("temp") {
                Effect::Nothing
            } else {
                Effect::Alter(table_name.to_ascii_lowercase())
            }
        }
        AuthAction::Read { .. }
        | AuthAction::Select
        | AuthAction::Function { .. }
        | AuthAction::Recursive
        | AuthAction::Analyze { .. }
        | AuthAction::Reindex { .. }
        | AuthAction::CreateView { .. }
        | AuthAction::DropView { .. }
        | AuthAction::CreateTempView { .. }
        | AuthAction::DropTempView { .. } => Effect::Nothing,
        // `Unknown` and whatever a newer rusqlite adds: fail closed.
        other => Effect::Widen(format!("{other:?}")),
    }
}

/// What the authorizer saw while it was enforcing.
#[derive(Debug, Default)]
struct State {
    /// Whether statements being prepared are a migration's (the engine's own queries are not
    /// judged and not recorded).
    enforcing: bool,
    /// The first refused action of the current statement.
    refusal: Option<String>,
    /// Tables of `main` whose rows or definition changed (lower-cased).
    touched: BTreeSet<String>,
    /// The first action that could not be classified.
    widened: Option<String>,
    /// Whether the current statement holds an `ALTER TABLE`.
    altered: bool,
    /// The first table of `main` the current statement inserts into (lower-cased).
    inserted: Option<String>,
    /// The tables of `main` the current statement reads (lower-cased), in the order reported.
    read: Vec<String>,
}

impl State {
    /// Records the insert target and the tables read, for [`Watch::take_copy_source`].
    fn note_copy(&mut self, ctx: &AuthContext<'_>) {
        let in_main = ctx.database_name.is_none_or(|d| d.eq_ignore_ascii_case("main"));
        match ctx.action {
            AuthAction::Insert { table_name } if in_main && !internal(table_name) => {
                self.inserted.get_or_insert_with(|| table_name.to_ascii_lowercase());
            }
            AuthAction::Read { table_name, .. }
                if in_main && !internal(table_name) && self.read.len() < 8 =>
            {
                let name = table_name.to_ascii_lowercase();
                if !self.read.contains(&name) {
                    self.read.push(name);
                }
            }
            _ => {}
        }
    }
}

/// The tables a run touched, as the authorizer saw them.
#[derive(Debug, Default, Clone)]
pub(crate) struct Touched {
    /// Lower-cased names.
    pub tables: BTreeSet<String>,
    /// Why the check must cover the whole database, if it must.
    pub widened: Option<String>,
}

/// The authorizer's shared state: one side lives in the callback SQLite calls, the other in the
/// statement loop.
#[derive(Debug, Clone, Default)]
pub(crate) struct Watch(Arc<Mutex<State>>);

impl Watch {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The authorizer callback.
    pub(crate) fn callback(&self) -> impl FnMut(AuthContext<'_>) -> Authorization + Send + 'static {
        let watch = self.clone();
        move |ctx: AuthContext<'_>| {
            let mut state = watch.lock();
            if !state.enforcing {
                return Authorization::Allow;
            }
            state.note_copy(&ctx);
            match classify(&ctx) {
                Effect::Nothing => {}
                Effect::Refuse(what) => {
                    log::debug!("refused {what} ({:?})", ctx.action);
                    state.refusal.get_or_insert(what);
                    return Authorization::Deny;
                }
                Effect::Touch(table) => {
                    state.touched.insert(table);
                }
                Effect::Alter(table) => {
                    state.touched.insert(table);
                    state.altered = true;
                }
                Effect::Widen(what) => {
                    log::debug!("unclassified action {what}: checking the whole database");
                    state.widened.get_or_insert(what);
                }
            }
            Authorization::Allow
        }
    }

    /// Judges and records the statements prepared until the guard is dropped. Clears the
    /// previous statement's refusal.
    pub(crate) fn enforce(&self) -> Enforcing<'_> {
        let mut state = self.lock();
        state.enforcing = true;
        state.refusal = None;
        state.inserted = None;
        state.read.clear();
        Enforcing(self)
    }

    /// The table the statement just prepared copies rows from, if it copies: it inserts into a
    /// table of `main` and reads another one (the first other one SQLite reported).
    pub(crate) fn take_copy_source(&self) -> Option<String> {
        let mut state = self.lock();
        let inserted = state.inserted.take()?;
        let read = std::mem::take(&mut state.read);
        read.into_iter().find(|t| *t != inserted)
    }

    /// The refusal of the current statement, if there was one.
    pub(crate) fn take_refusal(&self) -> Option<String> {
        self.lock().refusal.take()
    }

    /// Whether an `ALTER TABLE` was prepared since the last call.
    pub(crate) fn take_altered(&self) -> bool {
        std::mem::take(&mut self.lock().altered)
    }

    /// Records that table `new` (lower-cased) now holds a renamed table: it is touched.
    pub(crate) fn renamed(&self, new: &str) {
        self.lock().touched.insert(new.to_owned());
    }

    /// Everything touched since the last call, and a fresh start.
    pub(crate) fn take_touched(&self) -> Touched {
        let mut state = self.lock();
        state.altered = false;
        state.refusal = None;
        Touched { tables: std::mem::take(&mut state.touched), widened: state.widened.take() }
    }
}

/// While alive, the authorizer judges statements; see [`Watch::enforce`].
pub(crate) struct Enforcing<'w>(&'w Watch);

impl Drop for Enforcing<'_> {
    fn drop(&mut self) {
        self.0.lock().enforcing = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(action: AuthAction<'_>, db: Option<&'static str>) -> Effect {
        classify(&AuthContext { action, database_name: db, accessor: None })
    }

    #[test]
    fn pragmas_are_refused_unless_allowed() {
        let pragma = |name| ctx(AuthAction::Pragma { pragma_name: name, pragma_value: None }, None);
        assert_eq!(pragma("table_info"), Effect::Nothing);
        assert_eq!(pragma("TABLE_INFO"), Effect::Nothing);
        assert_eq!(pragma("user_version"), Effect::Nothing);
        for name in [
            "legacy_alter_table",
            "writable_schema",
            "foreign_keys",
            "journal_mode",
            "Locking_Mode",
            "cache_size",
        ] {
            assert_eq!(
                pragma(name),
                Effect::Refuse(format!("PRAGMA {}", name.to_ascii_lowercase()))
            );
        }
    }

    #[test]
    fn writes_to_temp_and_to_the_schema_table_are_not_user_tables() {
        let insert = |t, db| ctx(AuthAction::Insert { table_name: t }, db);
        assert_eq!(insert("Accounts", Some("main")), Effect::Touch("accounts".into()));
        assert_eq!(insert("x", Some("temp")), Effect::Nothing);
        assert_eq!(insert("sqlite_master", Some("main")), Effect::Nothing);
        assert_eq!(insert("sqlite_sequence", Some("main")), Effect::Nothing);
        let unknown = ctx(AuthAction::Unknown { code: 99, arg1: None, arg2: None }, None);
        assert!(matches!(unknown, Effect::Widen(_)), "{unknown:?}");
    }
}

#[cfg(test)]
mod sqlite_tests {
    use super::*;
    use rusqlite::Connection;
    use rusqlite::fallible_iterator::FallibleIterator as _;

    /// The tables one statement touches, as SQLite's authorizer reports them while preparing it.
    fn touched(setup: &str, sql: &str) -> (Vec<String>, Option<String>) {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(setup).unwrap();
        let watch = Watch::default();
        conn.authorizer(Some(watch.callback())).unwrap();
        {
            let mut batch = rusqlite::Batch::new(&conn, sql);
            loop {
                let next = {
                    let _judged = watch.enforce();
                    batch.next().unwrap()
                };
                let Some(mut stmt) = next else { break };
                let _judged = watch.enforce();
                let mut rows = stmt.raw_query();
                while rows.next().unwrap().is_some() {}
            }
        }
        let t = watch.take_touched();
        (t.tables.into_iter().collect(), t.widened)
    }

    /// What the old lexer's `writes` guessed (`sql::write_targets_are_read_from_the_statement`),
    /// now read from SQLite: exact for every form, including the ones it called unknown.
    #[test]
    fn write_targets_come_from_sqlite() {
        let setup = "CREATE TABLE \"we\"\"ird\" (a); CREATE TABLE notes (a); CREATE TABLE x (a);\n\
                     CREATE TABLE \"order\" (a); CREATE TABLE parent (id INTEGER PRIMARY KEY);\n\
                     CREATE TEMP TABLE \"__godwit_guard\" (a);\n\
                     CREATE TABLE t (a); CREATE TABLE audit (a);\n\
                     CREATE TRIGGER tr AFTER UPDATE ON t BEGIN INSERT INTO audit VALUES (NEW.a); END;";
        let one = |sql: &str| touched(setup, sql).0;
        assert_eq!(one("INSERT INTO \"we\"\"ird\" (a) VALUES (1)"), ["we\"ird"]);
        assert_eq!(one("insert or replace into notes select * from x"), ["notes"]);
        assert_eq!(one("REPLACE INTO notes VALUES (1)"), ["notes"]);
        assert_eq!(one("UPDATE OR ROLLBACK \"order\" SET a = 1"), ["order"]);
        assert_eq!(one("-- comment\nUPDATE notes SET a = 1"), ["notes"]);
        assert_eq!(one("DELETE FROM main.\"parent\" WHERE id = 1"), ["parent"]);
        assert_eq!(one("DELETE FROM main . parent"), ["parent"]);
        assert_eq!(one("DELETE FROM [main].[Parent]"), ["parent"]);
        assert_eq!(one("INSERT INTO temp.\"__godwit_guard\" SELECT 1"), Vec::<String>::new());
        assert_eq!(one("WITH w AS (SELECT 1) DELETE FROM notes"), ["notes"]);
        assert_eq!(one("SELECT * FROM notes"), Vec::<String>::new());
        // DDL, and the writes of the triggers a statement fires.
        assert_eq!(one("CREATE TABLE n (a)"), ["n"]);
        assert_eq!(one("ALTER TABLE notes ADD COLUMN b"), ["notes"]);
        assert_eq!(one("CREATE INDEX i ON x (a)"), ["x"]);
        assert_eq!(one("UPDATE t SET a = 2"), ["audit", "t"]);
        assert_eq!(one("DROP TRIGGER tr"), ["t"]);
        assert_eq!(touched(setup, "UPDATE t SET a = 2").1, None);
    }
}
