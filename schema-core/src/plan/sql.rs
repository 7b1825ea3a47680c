//! SQL text helpers shared by the renderer and the introspection: quoting, and a small
//! SQLite tokenizer (quoted identifiers, strings, blobs, numbers, nested parentheses,
//! comments) used to normalise expressions and to scan view and trigger bodies.

/// Quotes an identifier for SQLite: `"` + name with every `"` doubled + `"`.
///
/// ```
/// use schema_core::plan::sql::quote_ident;
/// assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
/// ```
#[must_use]
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a string literal for SQLite: `'` + text with every `'` doubled + `'`.
///
/// ```
/// use schema_core::plan::sql::quote_str;
/// assert_eq!(quote_str("it's"), "'it''s'");
/// ```
#[must_use]
pub fn quote_str(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The kind of a [`Token`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A bare word: keyword or unquoted identifier.
    Word,
    /// A quoted identifier (`"x"`, `` `x` `` or `[x]`); the token text is the unquoted name.
    Quoted,
    /// A string literal; the token text is the literal as written, quotes included.
    String,
    /// A blob literal `x'..'`, as written.
    Blob,
    /// A numeric literal, as written.
    Number,
    /// A bound-parameter placeholder (`?`, `?1`, `:a`, `@a`, `$a`), as written.
    Variable,
    /// An operator or punctuation character sequence.
    Punct,
}

/// One SQL token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// What kind of token this is.
    pub kind: TokenKind,
    /// The token text (for [`TokenKind::Quoted`] the name without quotes).
    pub text: String,
}

impl Token {
    /// Whether the token is a bare keyword equal to `kw` (ASCII case-insensitive).
    #[must_use]
    pub fn is_kw(&self, kw: &str) -> bool {
        self.kind == TokenKind::Word && self.text.eq_ignore_ascii_case(kw)
    }

    /// Whether the token is this punctuation.
    #[must_use]
    pub fn is_punct(&self, p: &str) -> bool {
        self.kind == TokenKind::Punct && self.text == p
    }

    /// The identifier this token names, if it can name one (bare word or quoted name).
    #[must_use]
    pub fn ident(&self) -> Option<&str> {
        match self.kind {
            TokenKind::Word | TokenKind::Quoted => Some(&self.text),
            _ => None,
        }
    }

    /// The canonical text of the token for comparisons: identifiers that are plain words are
    /// ASCII-lowercased without quotes, other quoted identifiers keep their `"` quoting, literals
    /// and operators stay as written.
    #[must_use]
    pub fn normalised(&self) -> String {
        match self.kind {
            TokenKind::Word => self.text.to_ascii_lowercase(),
            TokenKind::Quoted => {
                if is_plain_word(&self.text) {
                    self.text.to_ascii_lowercase()
                } else {
                    quote_ident(&self.text)
                }
            }
            TokenKind::Blob => self.text.to_ascii_lowercase(),
            _ => self.text.clone(),
        }
    }
}

fn is_plain_word(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// Splits SQL text into tokens, skipping whitespace and comments. Never fails: an unterminated
/// literal or comment runs to the end of the text.
///
/// ```
/// use schema_core::plan::sql::{tokenize, TokenKind};
/// let t = tokenize("CHECK (\"we\"\"ird\" > 'a''b') -- note");
/// assert_eq!(t.len(), 6);
/// assert_eq!(t[2].kind, TokenKind::Quoted);
/// assert_eq!(t[2].text, "we\"ird");
/// assert_eq!(t[4].text, "'a''b'");
/// ```
#[must_use]
pub fn tokenize(sql: &str) -> Vec<Token> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let n = chars.len();
    let text = |a: usize, b: usize| chars[a..b].iter().collect::<String>();
    while i < n {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '-' && chars.get(i + 1) == Some(&'-') {
            while i < n && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i < n && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i = (i + 2).min(n);
        } else if c == '\'' {
            let start = i;
            i = skip_quoted(&chars, i, '\'');
            out.push(Token { kind: TokenKind::String, text: text(start, i) });
        } else if (c == 'x' || c == 'X') && chars.get(i + 1) == Some(&'\'') {
            let start = i;
            i = skip_quoted(&chars, i + 1, '\'');
            out.push(Token { kind: TokenKind::Blob, text: text(start, i) });
        } else if c == '"' || c == '`' {
            let start = i;
            i = skip_quoted(&chars, i, c);
            let inner_end = if i > start + 1 && chars[i - 1] == c { i - 1 } else { i };
            let doubled: String = [c, c].iter().collect();
            let name = text(start + 1, inner_end).replace(&doubled, &c.to_string());
            out.push(Token { kind: TokenKind::Quoted, text: name });
        } else if c == '[' {
            let start = i + 1;
            while i < n && chars[i] != ']' {
                i += 1;
            }
            out.push(Token { kind: TokenKind::Quoted, text: text(start, i.min(n)) });
            i = (i + 1).min(n);
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let start = i;
            if c == '0' && matches!(chars.get(i + 1), Some('x' | 'X')) {
                i += 2;
                while i < n && chars[i].is_ascii_hexdigit() {
                    i += 1;
                }
            } else {
                while i < n && (chars[i].is_ascii_digit() || chars[i] == '.' || chars[i] == '_') {
                    i += 1;
                }
                if i < n && (chars[i] == 'e' || chars[i] == 'E') {
                    let mut j = i + 1;
                    if j < n && (chars[j] == '+' || chars[j] == '-') {
                        j += 1;
                    }
                    if j < n && chars[j].is_ascii_digit() {
                        i = j;
                        while i < n && chars[i].is_ascii_digit() {
                            i += 1;
                        }
                    }
                }
            }
            out.push(Token { kind: TokenKind::Number, text: text(start, i) });
        } else if c.is_alphabetic() || c == '_' || !c.is_ascii() {
            let start = i;
            while i < n
                && (chars[i].is_alphanumeric()
                    || chars[i] == '_'
                    || chars[i] == '$'
                    || !chars[i].is_ascii())
            {
                i += 1;
            }
            out.push(Token { kind: TokenKind::Word, text: text(start, i) });
        } else if matches!(c, '?' | ':' | '@' | '$') {
            let start = i;
            i += 1;
            while i < n && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token { kind: TokenKind::Variable, text: text(start, i) });
        } else {
            let two: String = chars[i..(i + 2).min(n)].iter().collect();
            let len =
                if ["||", "<=", ">=", "==", "!=", "<>", "<<", ">>", "->"].contains(&two.as_str()) {
                    if two == "->" && chars.get(i + 2) == Some(&'>') { 3 } else { 2 }
                } else {
                    1
                };
            out.push(Token { kind: TokenKind::Punct, text: text(i, i + len) });
            i += len;
        }
    }
    out
}

/// Index just past the closing quote of a literal starting at `start` (a doubled quote is an
/// escaped quote).
fn skip_quoted(chars: &[char], start: usize, q: char) -> usize {
    let mut i = start + 1;
    while i < chars.len() {
        if chars[i] == q {
            if chars.get(i + 1) == Some(&q) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    chars.len()
}

/// The normalised token stream of an SQL text, joined by single spaces: comments and whitespace
/// removed, plain identifiers and keywords lowercased and unquoted. Two texts that SQLite reads
/// the same way (up to quoting and case) normalise to the same string.
///
/// ```
/// use schema_core::plan::sql::normalise;
/// assert_eq!(normalise("\"Karma\"  >= 0 /* c */"), normalise("karma>=0"));
/// ```
#[must_use]
pub fn normalise(sql: &str) -> String {
    join_tokens(&tokenize(sql))
}

/// The tokens of the `WHERE` predicate of a `CREATE INDEX` statement (a partial index), without
/// a trailing `;`; `None` when the index has no top-level `WHERE`.
///
/// ```
/// use schema_core::plan::sql::{index_where_tokens, join_tokens};
/// let t = index_where_tokens("CREATE INDEX i ON t (a) WHERE a IS NOT NULL;").unwrap();
/// assert_eq!(join_tokens(&t), "a is not null"); // normalised: keywords lower-cased
/// assert!(index_where_tokens("CREATE INDEX i ON t (a)").is_none());
/// ```
#[must_use]
pub fn index_where_tokens(sql: &str) -> Option<Vec<Token>> {
    let tokens = tokenize(sql);
    let mut depth = 0usize;
    for (k, t) in tokens.iter().enumerate() {
        if t.is_punct("(") {
            depth += 1;
        } else if t.is_punct(")") {
            depth = depth.saturating_sub(1);
        } else if depth == 0 && t.is_kw("WHERE") {
            return Some(
                tokens[k + 1..]
                    .iter()
                    .filter(|t| !(t.kind == TokenKind::Punct && t.text == ";"))
                    .cloned()
                    .collect(),
            );
        }
    }
    None
}

/// Joins tokens in their normalised form with single spaces.
#[must_use]
pub fn join_tokens(tokens: &[Token]) -> String {
    tokens.iter().map(Token::normalised).collect::<Vec<_>>().join(" ")
}

/// Normalises an expression after renaming identifiers: every identifier token equal (ASCII
/// case-insensitively) to a key of `renames` is replaced by its value.
#[must_use]
pub fn normalise_renamed(sql: &str, renames: &[(String, String)]) -> String {
    let tokens: Vec<Token> = tokenize(sql)
        .into_iter()
        .map(|t| match t.ident() {
            Some(id) => match renames.iter().find(|(from, _)| from.eq_ignore_ascii_case(id)) {
                Some((_, to)) => Token { kind: TokenKind::Quoted, text: to.clone() },
                None => t,
            },
            None => t,
        })
        .collect();
    join_tokens(&tokens)
}

/// Whether the SQL text mentions `name` as an identifier (ASCII case-insensitive). A
/// conservative scan: it may report a mention where SQLite would resolve the name to something
/// else, never the other way round.
///
/// ```
/// use schema_core::plan::sql::mentions;
/// assert!(mentions("SELECT id FROM \"Users\"", "users"));
/// assert!(!mentions("SELECT 'users' FROM t", "users"));
/// ```
#[must_use]
pub fn mentions(sql: &str, name: &str) -> bool {
    tokenize(sql).iter().any(|t| t.ident().is_some_and(|id| id.eq_ignore_ascii_case(name)))
}

/// Strips parentheses that enclose a whole expression, repeatedly: `((1))` becomes `1`.
#[must_use]
pub fn strip_outer_parens(expr: &str) -> &str {
    let mut s = expr.trim();
    loop {
        if !(s.starts_with('(') && s.ends_with(')')) {
            return s;
        }
        let tokens = tokenize(s);
        let mut depth = 0usize;
        let mut closes_at_end = true;
        for (k, t) in tokens.iter().enumerate() {
            if t.is_punct("(") {
                depth += 1;
            } else if t.is_punct(")") {
                depth = depth.saturating_sub(1);
                if depth == 0 && k + 1 != tokens.len() {
                    closes_at_end = false;
                    break;
                }
            }
        }
        if !closes_at_end {
            return s;
        }
        s = s[1..s.len() - 1].trim();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizer_handles_quotes_comments_and_nesting() {
        let t = tokenize("a/*x*/-- y\n[b c]`d``e` x'0A' 1.5e3 ?1 <> 'it''s'");
        let texts: Vec<_> = t.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts, ["a", "b c", "d`e", "x'0A'", "1.5e3", "?1", "<>", "'it''s'"]);
    }

    #[test]
    fn normalise_unquotes_plain_identifiers_only() {
        assert_eq!(normalise("\"A\" + \"sp ace\""), "a + \"sp ace\"");
        assert_eq!(normalise_renamed("code > 0", &[("code".into(), "sku".into())]), "sku > 0");
    }

    #[test]
    fn strip_outer_parens_keeps_inner_groups() {
        assert_eq!(strip_outer_parens("((1+1))"), "1+1");
        assert_eq!(strip_outer_parens("(a) + (b)"), "(a) + (b)");
    }
}
