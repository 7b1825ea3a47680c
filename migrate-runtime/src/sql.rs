//! Reading migration text: chunks between `--> statement-breakpoint` lines, the first keywords of
//! a statement, and the statements a migration must not contain.

/// The line that separates statements in a migration file.
pub const STATEMENT_BREAKPOINT: &str = "--> statement-breakpoint";

/// The chunks of a migration: the text between lines equal to [`STATEMENT_BREAKPOINT`] (a
/// trailing `\r` and surrounding spaces are ignored on that line). Chunks may still hold several
/// statements, or only comments.
pub(crate) fn chunks(sql: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut pos = 0;
    for line in sql.split_inclusive('\n') {
        if line.trim() == STATEMENT_BREAKPOINT {
            out.push(&sql[start..pos]);
            start = pos + line.len();
        }
        pos += line.len();
    }
    out.push(&sql[start..]);
    out
}

/// The first line of a statement that is not blank and not a comment (trimmed, at most 120
/// characters), or the first line when there is none.
pub(crate) fn first_line(stmt: &str) -> String {
    let line = first_line_full(stmt);
    match line.char_indices().nth(120) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None => line,
    }
}

fn first_line_full(stmt: &str) -> String {
    let mut rest = stmt;
    loop {
        let t = rest.trim_start();
        if let Some(after) = t.strip_prefix("--") {
            rest = after.split_once('\n').map_or("", |(_, r)| r);
        } else if let Some(after) = t.strip_prefix("/*") {
            rest = after.split_once("*/").map_or("", |(_, r)| r);
        } else {
            let line = t.lines().next().unwrap_or("").trim();
            return if line.is_empty() {
                stmt.trim().lines().next().unwrap_or("").to_owned()
            } else {
                line.to_owned()
            };
        }
    }
}

/// One token of SQL text, as far as this module cares.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// A bare word, upper-cased (keywords and unquoted identifiers).
    Word(String),
    /// A quoted identifier or string literal (contents irrelevant here).
    Quoted,
    /// `;`
    Semi,
    /// `.`
    Dot,
    /// Any other punctuation or number.
    Other,
}

/// Tokenises SQL, skipping comments and whitespace. Unterminated quotes or comments run to the
/// end of the text.
fn tokens(sql: &str) -> Vec<Tok> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0c => i += 1,
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i += 2;
            }
            b'\'' | b'"' | b'`' => {
                i += 1;
                loop {
                    if i >= b.len() {
                        break;
                    }
                    if b[i] == c {
                        if b.get(i + 1) == Some(&c) {
                            i += 2;
                            continue;
                        }
                        i += 1;
                        break;
                    }
                    i += 1;
                }
                out.push(Tok::Quoted);
            }
            b'[' => {
                while i < b.len() && b[i] != b']' {
                    i += 1;
                }
                i += 1;
                out.push(Tok::Quoted);
            }
            b';' => {
                out.push(Tok::Semi);
                i += 1;
            }
            b'.' => {
                out.push(Tok::Dot);
                i += 1;
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                let start = i;
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric()
                        || b[i] == b'_'
                        || b[i] == b'$'
                        || b[i] >= 0x80)
                {
                    i += 1;
                }
                out.push(Tok::Word(sql[start..i].to_ascii_uppercase()));
            }
            _ => {
                out.push(Tok::Other);
                i += 1;
            }
        }
    }
    out
}

/// Why a statement may not be part of a migration, if it may not: it would end, start or nest
/// the runner's transaction, or change what the runner owns outside it.
fn forbidden_in(words: &[&str]) -> Option<&'static str> {
    let first = *words.first()?;
    Some(match first {
        "BEGIN" => "BEGIN",
        "COMMIT" => "COMMIT",
        "END" => "END",
        "ROLLBACK" => "ROLLBACK",
        "SAVEPOINT" => "SAVEPOINT",
        "RELEASE" => "RELEASE",
        "VACUUM" => "VACUUM",
        "ATTACH" => "ATTACH",
        "DETACH" => "DETACH",
        "PRAGMA" => match words.get(1).copied() {
            Some("FOREIGN_KEYS") => "PRAGMA foreign_keys",
            Some("JOURNAL_MODE") => "PRAGMA journal_mode",
            Some("LOCKING_MODE") => "PRAGMA locking_mode",
            _ => return None,
        },
        _ => return None,
    })
}

/// The forbidden keyword a single statement starts with (exact: the statement comes from
/// SQLite's own splitting).
pub(crate) fn forbidden_statement(stmt: &str) -> Option<&'static str> {
    let toks = tokens(stmt);
    let words = leading_words(&toks);
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    forbidden_in(&words)
}

/// The first words of a statement, with `PRAGMA schema.name` reduced to `PRAGMA NAME`.
fn leading_words(toks: &[Tok]) -> Vec<String> {
    let mut words = Vec::new();
    let mut i = 0;
    while i < toks.len() && words.len() < 2 {
        match &toks[i] {
            Tok::Word(w) => {
                // `PRAGMA main.foreign_keys`: skip the schema name.
                if words.len() == 1 && toks.get(i + 1) == Some(&Tok::Dot) {
                    i += 2;
                    continue;
                }
                words.push(w.clone());
            }
            Tok::Quoted if words.len() == 1 && toks.get(i + 1) == Some(&Tok::Dot) => {
                i += 2;
                continue;
            }
            _ => break,
        }
        i += 1;
    }
    words
}

/// A statement found by [`scan`] that the runner refuses to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Forbidden {
    /// 1-based number of the statement in the migration.
    pub statement: usize,
    /// What it is, e.g. `COMMIT` or `PRAGMA foreign_keys`.
    pub keyword: &'static str,
}

/// Scans a whole migration for statements that control transactions (or `PRAGMA foreign_keys`,
/// `VACUUM`, `ATTACH`, ...), which would break the runner's all-or-nothing transaction.
/// Trigger bodies (`CREATE TRIGGER .. BEGIN .. END`) are understood, including `CASE .. END`
/// inside them.
pub(crate) fn scan(sql: &str) -> Option<Forbidden> {
    statements(sql).into_iter().enumerate().find_map(|(i, words)| {
        let ws: Vec<&str> = words.iter().map(String::as_str).collect();
        forbidden_in(&ws).map(|keyword| Forbidden { statement: i + 1, keyword })
    })
}

/// The leading words of every statement of a migration, in order.
fn statements(sql: &str) -> Vec<Vec<String>> {
    let sql = sql.strip_prefix('\u{feff}').unwrap_or(sql);
    let mut out = Vec::new();
    for chunk in chunks(sql) {
        let toks = tokens(chunk);
        let mut i = 0;
        while i < toks.len() {
            if toks[i] == Tok::Semi {
                i += 1;
                continue;
            }
            out.push(leading_words(&toks[i..]));
            i = statement_end(&toks, i);
        }
    }
    out
}

/// The index just past the `;` that ends the statement starting at `start`.
fn statement_end(toks: &[Tok], start: usize) -> usize {
    let is_trigger = {
        let mut j = start;
        let mut found = false;
        // CREATE [TEMP|TEMPORARY] TRIGGER
        if matches!(toks.get(j), Some(Tok::Word(w)) if w == "CREATE") {
            j += 1;
            if matches!(toks.get(j), Some(Tok::Word(w)) if w == "TEMP" || w == "TEMPORARY") {
                j += 1;
            }
            found = matches!(toks.get(j), Some(Tok::Word(w)) if w == "TRIGGER");
        }
        found
    };
    let mut i = start;
    if is_trigger {
        // Find BEGIN, then the END that closes the body (CASE .. END nests).
        while i < toks.len() && !matches!(&toks[i], Tok::Word(w) if w == "BEGIN") {
            i += 1;
        }
        let mut case_depth = 0usize;
        i += 1;
        while i < toks.len() {
            match &toks[i] {
                Tok::Word(w) if w == "CASE" => case_depth += 1,
                Tok::Word(w) if w == "END" => {
                    if case_depth == 0 {
                        i += 1;
                        break;
                    }
                    case_depth -= 1;
                }
                _ => {}
            }
            i += 1;
        }
    }
    while i < toks.len() && toks[i] != Tok::Semi {
        i += 1;
    }
    i + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_split_on_breakpoint_lines_only() {
        let sql = "-- header\nCREATE TABLE a(x);\n--> statement-breakpoint\r\nCREATE TABLE b(y);\n-- --> statement-breakpoint\n";
        let c = chunks(sql);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0], "-- header\nCREATE TABLE a(x);\n");
        assert_eq!(c[1], "CREATE TABLE b(y);\n-- --> statement-breakpoint\n");
        assert_eq!(chunks("x").len(), 1);
    }

    #[test]
    fn first_line_skips_comments_and_blanks() {
        assert_eq!(first_line("\n-- c\n  /* x */ INSERT INTO t\nVALUES (1)"), "INSERT INTO t");
        assert_eq!(first_line("-- only\n"), "-- only");
        let long = format!("INSERT INTO t VALUES ('{}');", "é".repeat(300));
        let line = first_line(&long);
        assert_eq!(line.chars().count(), 123);
        assert!(line.starts_with("INSERT INTO t VALUES ('é") && line.ends_with("..."));
    }

    #[test]
    fn scan_finds_transaction_control() {
        let f = |s: &str| scan(s).map(|f| (f.statement, f.keyword));
        assert_eq!(f("CREATE TABLE a(x);\nCOMMIT;"), Some((2, "COMMIT")));
        assert_eq!(f("begin immediate;"), Some((1, "BEGIN")));
        assert_eq!(f("PRAGMA foreign_keys = OFF;"), Some((1, "PRAGMA foreign_keys")));
        assert_eq!(f("pragma main.foreign_keys=0"), Some((1, "PRAGMA foreign_keys")));
        assert_eq!(f("PRAGMA \"main\".journal_mode=delete"), Some((1, "PRAGMA journal_mode")));
        assert_eq!(f("CREATE TABLE a(x);\n--> statement-breakpoint\nVACUUM;"), Some((2, "VACUUM")));
        assert_eq!(f("END TRANSACTION"), Some((1, "END")));
        assert_eq!(f("\u{feff}COMMIT"), Some((1, "COMMIT")));
        assert_eq!(f("SAVEPOINT s; RELEASE s;"), Some((1, "SAVEPOINT")));
        assert_eq!(f("ATTACH 'x' AS y"), Some((1, "ATTACH")));
    }

    #[test]
    fn scan_accepts_trigger_bodies_strings_and_comments() {
        let ok = [
            "CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET x = CASE WHEN 1 THEN 2 ELSE 3 END; DELETE FROM u; END;\nCREATE TABLE z(a);",
            "CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END",
            "INSERT INTO t VALUES ('COMMIT; BEGIN');",
            "-- COMMIT;\nCREATE TABLE \"begin\"(x); /* ROLLBACK; */",
            "CREATE TABLE [end](x); PRAGMA legacy_alter_table = ON;",
            "PRAGMA defer_foreign_keys = ON",
            "\u{feff}CREATE TABLE t(x);",
            "",
        ];
        for s in ok {
            assert_eq!(scan(s), None, "{s}");
        }
    }

    /// The scanner's statement numbers must be SQLite's, or the numbers in the pre-check and in
    /// execution errors would disagree.
    #[test]
    fn statement_count_agrees_with_sqlite() {
        use rusqlite::fallible_iterator::FallibleIterator;
        let sql = "-- header: allow-drop x\n\
            CREATE TABLE \"t;1\" (\"a\" TEXT DEFAULT 'x;y', \"b\" INTEGER);\n\
            --> statement-breakpoint\n\
            /* a comment; with a semicolon */ INSERT INTO \"t;1\" (\"a\") VALUES ('it''s; fine'), ('z');\n\
            CREATE TABLE [br;ack] (`x;y`);\n\
            CREATE TABLE \"log\" (\"m\" TEXT);\n\
            CREATE TRIGGER \"tr\" AFTER INSERT ON \"t;1\" WHEN CASE WHEN NEW.\"b\" IS NULL THEN 1 ELSE 0 END\n\
            BEGIN\n\
              INSERT INTO \"log\" VALUES (CASE NEW.\"a\" WHEN 'a' THEN 'begin' ELSE 'end' END);\n\
              UPDATE \"log\" SET \"m\" = 'commit;' WHERE \"m\" IS NULL;\n\
            END;\n\
            --> statement-breakpoint\n\
            ;;\n\
            CREATE VIEW \"v\" AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) SELECT i FROM n;\n\
            SELECT 'end;' -- trailing comment; here\n\
            ;\n\
            -- only a comment\n";
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let mut sqlite_count = 0;
        for chunk in chunks(sql) {
            let mut batch = rusqlite::Batch::new(&conn, chunk);
            while let Some(mut stmt) = batch.next().unwrap() {
                sqlite_count += 1;
                let mut rows = stmt.raw_query();
                while rows.next().unwrap().is_some() {}
            }
        }
        assert_eq!(sqlite_count, 7);
        assert_eq!(statements(sql).len(), sqlite_count);
        assert_eq!(scan(sql), None);
    }

    #[test]
    fn forbidden_statement_reads_the_leading_keyword() {
        assert_eq!(forbidden_statement("\n-- c\n COMMIT"), Some("COMMIT"));
        assert_eq!(forbidden_statement("CREATE TABLE t(x)"), None);
    }
}

/// What a single statement writes, as far as the foreign-key check after a run cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Writes {
    /// Rows of no table of the main schema (a query, DDL, which the runner sees through
    /// `sqlite_schema`, or a write to a `temp` table).
    Nothing,
    /// Rows of this table (`INSERT`, `REPLACE`, `UPDATE` or `DELETE`).
    Table(String),
    /// Something the runner cannot tell (a `WITH` statement, an unknown verb): check everything.
    Unknown,
}

/// The table a statement writes rows of, read from its first words. Conservative: whatever is
/// not recognised is [`Writes::Unknown`].
pub(crate) fn writes(stmt: &str) -> Writes {
    let words = names(stmt, 12);
    let word = |i: usize| words.get(i).map(|(w, quoted)| if *quoted { "" } else { w.as_str() });
    let upper = |i: usize| word(i).map(str::to_ascii_uppercase);
    let Some(verb) = upper(0) else { return Writes::Nothing };
    let name_at = match verb.as_str() {
        "CREATE" | "DROP" | "ALTER" | "SELECT" | "VALUES" | "EXPLAIN" | "ANALYZE" | "REINDEX"
        | "PRAGMA" => return Writes::Nothing,
        "INSERT" | "REPLACE" => {
            match (1..words.len()).find(|&i| upper(i).as_deref() == Some("INTO")) {
                Some(i) => i + 1,
                None => return Writes::Unknown,
            }
        }
        // UPDATE [OR <conflict>] name
        "UPDATE" if upper(1).as_deref() == Some("OR") => 3,
        "UPDATE" => 1,
        "DELETE" if upper(1).as_deref() == Some("FROM") => 2,
        _ => return Writes::Unknown,
    };
    let Some((first, _)) = words.get(name_at) else { return Writes::Unknown };
    // `schema.table`: the names list holds both parts; a `.` was between them.
    match words.get(name_at + 1) {
        Some((second, _)) if dotted(stmt, first, second) => {
            if first.eq_ignore_ascii_case("temp") {
                Writes::Nothing
            } else {
                Writes::Table(second.clone())
            }
        }
        _ => Writes::Table(first.clone()),
    }
}

/// The first `limit` names of a statement, with their text (quoted identifiers unquoted, `""`
/// undoubled) and whether they were quoted. Stops at anything that is neither a name nor a `.`.
fn names(stmt: &str, limit: usize) -> Vec<(String, bool)> {
    let b = stmt.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() && out.len() < limit {
        match b[i] {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0c | b'.' => i += 1,
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = stmt[i + 2..].find("*/").map_or(b.len(), |end| i + 2 + end + 2);
            }
            q @ (b'"' | b'`' | b'[') => {
                let close = if q == b'[' { b']' } else { q };
                let mut text = Vec::new();
                i += 1;
                while i < b.len() {
                    if b[i] == close {
                        if close != b']' && b.get(i + 1) == Some(&close) {
                            text.push(close);
                            i += 2;
                            continue;
                        }
                        i += 1;
                        break;
                    }
                    text.push(b[i]);
                    i += 1;
                }
                out.push((String::from_utf8_lossy(&text).into_owned(), true));
            }
            c if c == b'_' || c.is_ascii_alphabetic() || c >= 0x80 => {
                let start = i;
                while i < b.len()
                    && (b[i] == b'_'
                        || b[i] == b'$'
                        || b[i].is_ascii_alphanumeric()
                        || b[i] >= 0x80)
                {
                    i += 1;
                }
                out.push((stmt[start..i].to_owned(), false));
            }
            _ => break,
        }
    }
    out
}

/// Whether `first` and `second` appear as `first.second` (a schema-qualified name).
fn dotted(stmt: &str, first: &str, second: &str) -> bool {
    let squash: String = stmt.chars().filter(|c| !c.is_whitespace()).collect();
    let quoted = crate::typed::quote_ident;
    [first.to_owned(), quoted(first)].iter().any(|f| {
        [second.to_owned(), quoted(second)].iter().any(|s| squash.contains(&format!("{f}.{s}")))
    })
}

#[cfg(test)]
mod writes_tests {
    use super::{Writes, writes};

    fn table(name: &str) -> Writes {
        Writes::Table(name.to_owned())
    }

    #[test]
    fn write_targets_are_read_from_the_statement() {
        assert_eq!(writes("INSERT INTO \"we\"\"ird\" (a) VALUES (1)"), table("we\"ird"));
        assert_eq!(writes("insert or replace into notes select * from x"), table("notes"));
        assert_eq!(writes("REPLACE INTO t VALUES (1)"), table("t"));
        assert_eq!(writes("UPDATE OR ROLLBACK \"order\" SET a = 1"), table("order"));
        assert_eq!(writes("-- comment\nUPDATE notes SET a = 1"), table("notes"));
        assert_eq!(writes("DELETE FROM main.\"parent\" WHERE id = 1"), table("parent"));
        assert_eq!(writes("DELETE FROM main . parent"), table("parent"));
        assert_eq!(writes("INSERT INTO temp.\"__godwit_guard\" SELECT 1"), Writes::Nothing);
        assert_eq!(writes("CREATE TABLE t (a)"), Writes::Nothing);
        assert_eq!(writes("ALTER TABLE t ADD COLUMN b"), Writes::Nothing);
        assert_eq!(writes("SELECT 1"), Writes::Nothing);
        assert_eq!(writes("WITH x AS (SELECT 1) DELETE FROM t"), Writes::Unknown);
        assert_eq!(writes("UPSERT t"), Writes::Unknown);
        assert_eq!(writes("\"INSERT\" INTO t"), Writes::Unknown);
    }
}
