//! Lexical checks of the user's text that reaches generated SQL and migration files: SQL
//! expressions in attributes (`default_sql`, `backfill`, `check`, `#[check(expr)]`,
//! `#[index(where)]`), names, and string defaults.
//!
//! The derive must stay light (no SQLite), so these checks are lexical: they refuse what would
//! break the statement around the expression or the file around the statement. The build
//! script then prepares each expression with SQLite itself (`build::sources`).

/// The statement separator of migration files (`build::format::BREAKPOINT`); a line holding
/// only this splits a file into statements, wherever it appears.
pub(crate) const BREAKPOINT: &str = "--> statement-breakpoint";

/// Whether `text` has a line that a migration file would read as a statement separator: once
/// CRLF is turned into LF (as every migration file's text is), a line that is exactly
/// [`BREAKPOINT`]. With spaces around it, or a lone `\r`, the line is content.
pub(crate) fn has_breakpoint_line(text: &str) -> bool {
    text.replace("\r\n", "\n").split('\n').any(|line| line == BREAKPOINT)
}

/// Why a name (table, column, index, check, `renamed_from`) cannot be written as is, if it
/// cannot: a line break or another control character would end the header comment or the line
/// it is quoted on.
pub(crate) fn name_problem(name: &str) -> Option<&'static str> {
    if name.chars().any(|c| c == '\n' || c == '\r') {
        Some("contains a line break")
    } else if name.chars().any(char::is_control) {
        Some("contains a control character")
    } else {
        None
    }
}

/// Why the SQL expression `text` cannot be embedded in a generated statement, if it cannot.
/// `attr` names the attribute in the message (`check`, `default_sql`, ..).
///
/// Refused: a breakpoint line; `--` and `/* */` comments (a `--` comment swallows the rest of
/// the line, e.g. the `)` closing `CHECK (..)`); a `;` (it ends the statement); unterminated
/// string literals and quoted identifiers; unbalanced parentheses.
pub(crate) fn expr_problem(text: &str, attr: &str) -> Option<String> {
    if has_breakpoint_line(text) {
        return Some(format!(
            "{attr} holds a line `{BREAKPOINT}`, which migration files use to separate \
             statements; remove that line"
        ));
    }
    let chars: Vec<char> = text.chars().collect();
    let mut depth = 0usize;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' | '"' | '`' | '[' => {
                let close = if c == '[' { ']' } else { c };
                match closing(&chars, i + 1, close) {
                    Some(end) => i = end,
                    None => {
                        let what = if c == '\'' { "string literal" } else { "quoted identifier" };
                        return Some(format!(
                            "{attr} has an unterminated {what} (a `{c}` without its closing \
                             `{close}`); close it"
                        ));
                    }
                }
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                return Some(format!(
                    "{attr} holds an SQL comment (`--`), which would swallow the rest of the \
                     generated line (the `)` closing the expression, say); remove the comment"
                ));
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                return Some(format!("{attr} holds an SQL comment (`/* */`); remove the comment"));
            }
            ';' => {
                return Some(format!(
                    "{attr} holds a `;`, which would end the generated statement; an attribute \
                     takes one SQL expression, so remove it"
                ));
            }
            '(' => depth += 1,
            ')' => {
                if depth == 0 {
                    return Some(format!(
                        "{attr} has a `)` without its `(`, which would close the generated \
                         statement's parenthesis; balance the parentheses"
                    ));
                }
                depth -= 1;
            }
            _ => {}
        }
        i += 1;
    }
    (depth > 0).then(|| format!("{attr} has a `(` without its `)`; balance the parentheses"))
}

/// The index of the `close` that ends a quoted token starting at `from` (a doubled quote is an
/// escaped one, except for `[..]`).
fn closing(chars: &[char], from: usize, close: char) -> Option<usize> {
    let mut j = from;
    while j < chars.len() {
        if chars[j] == close {
            if close != ']' && chars.get(j + 1) == Some(&close) {
                j += 2;
                continue;
            }
            return Some(j);
        }
        j += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_expressions() {
        for ok in [
            "karma >= 0",
            "length(name) > 0 AND name <> ''",
            "'it''s -- not a comment; (really'",
            "\"odd \"\" name\" IS NOT NULL",
            "[a-b] > 0",
            "x IN (1, (2), 3)",
            "a\n  AND b",
            "x - -1 > 0",
        ] {
            assert_eq!(expr_problem(ok, "check"), None, "{ok}");
        }
    }

    #[test]
    fn refuses_what_breaks_the_statement_or_the_file() {
        for (bad, needle) in [
            ("x > 0 -- c", "SQL comment (`--`)"),
            ("x > 0 /* c */", "`/* */`"),
            ("0); DROP TABLE users", "`)` without its `(`"),
            ("1; DROP TABLE users", "holds a `;`"),
            ("(x > 0", "`(` without its `)`"),
            ("'abc", "unterminated string literal"),
            ("\"abc", "unterminated quoted identifier"),
            ("'a\n--> statement-breakpoint\nb'", "--> statement-breakpoint"),
        ] {
            let problem = expr_problem(bad, "check").unwrap_or_else(|| panic!("{bad:?} passed"));
            assert!(problem.starts_with("check "), "{problem}");
            assert!(problem.contains(needle), "{bad:?}: {problem}");
        }
    }

    #[test]
    fn a_breakpoint_line_is_exactly_the_marker_on_its_own_line() {
        assert!(has_breakpoint_line("a\n--> statement-breakpoint\nb"));
        assert!(has_breakpoint_line("a\r\n--> statement-breakpoint\r\nb"));
        assert!(has_breakpoint_line("--> statement-breakpoint"));
        assert!(!has_breakpoint_line("a\n --> statement-breakpoint\nb"));
        assert!(!has_breakpoint_line("a\n--> statement-breakpoint \nb"));
        assert!(!has_breakpoint_line("a\r--> statement-breakpoint\rb"));
        assert!(!has_breakpoint_line("a --> statement-breakpoint"));
    }

    #[test]
    fn names_without_line_breaks_or_control_characters() {
        assert_eq!(name_problem("users \"x\" 🦤"), None);
        assert_eq!(name_problem("users\nDROP"), Some("contains a line break"));
        assert_eq!(name_problem("a\rb"), Some("contains a line break"));
        assert_eq!(name_problem("a\u{7}b"), Some("contains a control character"));
    }

    #[cfg(feature = "build")]
    #[test]
    fn the_breakpoint_is_the_one_migration_files_use() {
        let text = crate::build::format::migration_text(&[], &["A".into(), "B".into()]);
        assert_eq!(text, format!("A;\n{BREAKPOINT}\nB;\n"));
    }
}
