//! Counting the statements of a migration's text without preparing them (a later statement
//! cannot be prepared before the earlier ones ran), for the progress report's "statement j of m".

/// The statements of `sql` as SQLite splits them: `;` outside quotes, comments and trigger
/// bodies ends one; empty statements (`;;`, comments only) do not count. A lexical count: when
/// it disagrees with SQLite's own split (it never should for valid SQL), the progress report
/// raises `m` to the statement being run.
///
/// ```
/// use migrate_engine::count_statements;
/// assert_eq!(count_statements("CREATE TABLE \"a;\" (x); -- b;\n;INSERT INTO a VALUES (';')"), 2);
/// assert_eq!(
///     count_statements("CREATE TRIGGER t AFTER INSERT ON a BEGIN DELETE FROM a; SELECT 1; END; SELECT 2;"),
///     2
/// );
/// ```
#[must_use]
pub fn count_statements(sql: &str) -> usize {
    let mut lexer = Lexer { bytes: sql.as_bytes(), at: 0 };
    let mut count = 0;
    let mut current = Statement::default();
    while let Some(token) = lexer.next_token() {
        match token {
            Token::Semicolon if current.trigger_depth == 0 || current.after_end => {
                if current.words > 0 {
                    count += 1;
                }
                current = Statement::default();
            }
            Token::Semicolon => current.after_end = false,
            Token::Word(word) => current.word(word),
            Token::Other => {
                current.words += 1;
                current.after_end = false;
            }
        }
    }
    count + usize::from(current.words > 0)
}

/// What the counter knows of the statement being read.
#[derive(Debug, Default)]
struct Statement {
    /// Tokens so far (0: an empty statement).
    words: usize,
    /// The first words, upper-cased, to recognise `CREATE [TEMP|TEMPORARY] TRIGGER`.
    head: Vec<String>,
    /// Inside a trigger: `BEGIN` .. `END` nesting (`CASE` .. `END` nests too).
    trigger_depth: usize,
    /// Whether this is a trigger definition.
    trigger: bool,
    /// The last token was the `END` that closes the trigger body.
    after_end: bool,
}

impl Statement {
    fn word(&mut self, word: &str) {
        self.words += 1;
        self.after_end = false;
        let upper = word.to_ascii_uppercase();
        if self.head.len() < 3 {
            self.head.push(upper.clone());
            let h: Vec<&str> = self.head.iter().map(String::as_str).collect();
            if matches!(
                h.as_slice(),
                ["CREATE", "TRIGGER"] | ["CREATE", "TEMP" | "TEMPORARY", "TRIGGER"]
            ) {
                self.trigger = true;
            }
        }
        if !self.trigger {
            return;
        }
        match upper.as_str() {
            "BEGIN" if self.trigger_depth == 0 => self.trigger_depth = 1,
            "CASE" if self.trigger_depth > 0 => self.trigger_depth += 1,
            "END" if self.trigger_depth > 0 => {
                self.trigger_depth -= 1;
                self.after_end = self.trigger_depth == 0;
            }
            _ => {}
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Token<'s> {
    Semicolon,
    /// A bare word (keyword or identifier).
    Word(&'s str),
    /// Anything else: a quoted name, a literal, an operator.
    Other,
}

struct Lexer<'s> {
    bytes: &'s [u8],
    at: usize,
}

impl<'s> Lexer<'s> {
    fn peek(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.at + ahead).copied()
    }

    /// Skips to just after the first `close` (or to the end), doubled `close` included.
    fn skip_quoted(&mut self, close: u8, doubles: bool) {
        while let Some(b) = self.peek(0) {
            self.at += 1;
            if b == close {
                if doubles && self.peek(0) == Some(close) {
                    self.at += 1;
                } else {
                    return;
                }
            }
        }
    }

    fn next_token(&mut self) -> Option<Token<'s>> {
        loop {
            let b = self.peek(0)?;
            match b {
                b if b.is_ascii_whitespace() => self.at += 1,
                b'-' if self.peek(1) == Some(b'-') => {
                    while self.peek(0).is_some_and(|b| b != b'\n') {
                        self.at += 1;
                    }
                }
                b'/' if self.peek(1) == Some(b'*') => {
                    self.at += 2;
                    while self.peek(0).is_some()
                        && !(self.peek(0) == Some(b'*') && self.peek(1) == Some(b'/'))
                    {
                        self.at += 1;
                    }
                    self.at = (self.at + 2).min(self.bytes.len());
                }
                b';' => {
                    self.at += 1;
                    return Some(Token::Semicolon);
                }
                b'\'' | b'"' | b'`' => {
                    self.at += 1;
                    self.skip_quoted(b, true);
                    return Some(Token::Other);
                }
                b'[' => {
                    self.at += 1;
                    self.skip_quoted(b']', false);
                    return Some(Token::Other);
                }
                b if b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80 => {
                    let start = self.at;
                    while self.peek(0).is_some_and(|b| {
                        b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
                    }) {
                        self.at += 1;
                    }
                    let word = std::str::from_utf8(&self.bytes[start..self.at]).unwrap_or("");
                    return Some(Token::Word(word));
                }
                _ => {
                    self.at += 1;
                    return Some(Token::Other);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;
    use rusqlite::fallible_iterator::FallibleIterator as _;

    use super::count_statements;

    /// SQLite's own split, by preparing (and running) each statement.
    fn sqlite_count(sql: &str) -> usize {
        let conn = Connection::open_in_memory().unwrap();
        let mut batch = rusqlite::Batch::new(&conn, sql);
        let mut n = 0;
        while let Some(mut stmt) = batch.next().unwrap() {
            let mut rows = stmt.raw_query();
            while rows.next().unwrap().is_some() {}
            n += 1;
        }
        n
    }

    #[test]
    fn the_count_is_sqlites_split() {
        for sql in [
            "",
            ";;",
            "-- only a comment;\n",
            "/* a; b */ SELECT 1;",
            "CREATE TABLE \"a;\" (x); INSERT INTO \"a;\" VALUES (';'), ('''; ');",
            "CREATE TABLE [b;] (`c;`); SELECT 1",
            "CREATE TABLE t (a); CREATE TABLE log (a);\n\
             CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN\n\
               INSERT INTO log SELECT CASE WHEN NEW.a > 0 THEN 'x;' ELSE 'y' END;\n\
               DELETE FROM log WHERE a IS NULL;\n\
             END;\n\
             INSERT INTO t VALUES (1); SELECT begin_x FROM (SELECT 1 AS begin_x);",
            "CREATE TABLE t (a); create trigger \"tr\" before delete on t begin select 1; end ;",
            "SELECT 1; -- trailing\n",
        ] {
            assert_eq!(count_statements(sql), sqlite_count(sql), "{sql}");
        }
    }
}
