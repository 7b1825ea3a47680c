//! The migration file format: normalisation, hashes, the ledger's chain, the breakpoint rule, and
//! the small text helpers messages use. One implementation for the build and the runtime.

use std::borrow::Cow;

use sha2::{Digest, Sha256};

/// The line that separates statements in a migration file. Only a line exactly equal to it (no
/// surrounding spaces) is a breakpoint; see [`chunks`].
pub const BREAKPOINT: &str = "--> statement-breakpoint";

/// The text of a migration as it is hashed and executed: a leading UTF-8 byte-order mark removed
/// and every CRLF turned into LF, so a Windows checkout neither looks edited nor stores `\r\n` in
/// rows. A lone CR and an inner byte-order mark are content. Borrowed when nothing changes.
///
/// ```
/// use std::borrow::Cow;
/// use migrate_engine::normalise;
///
/// assert_eq!(normalise("\u{feff}a;\r\nb;\r\n"), "a;\nb;\n");
/// assert!(matches!(normalise("a;\nb;\n"), Cow::Borrowed(_)));
/// ```
#[must_use]
pub fn normalise(text: &str) -> Cow<'_, str> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.contains("\r\n") { Cow::Owned(text.replace("\r\n", "\n")) } else { Cow::Borrowed(text) }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Lowercase hex SHA-256 of `bytes`.
///
/// ```
/// assert_eq!(
///     migrate_engine::sha256_hex(b"abc"),
///     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/// );
/// ```
#[must_use]
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

/// The hash of a migration as the ledger and the journal record it: [`sha256_hex`] of
/// [`normalise`]`(text)`.
///
/// ```
/// use migrate_engine::hash_sql;
///
/// let h = hash_sql("CREATE TABLE \"t\" (\"id\" INTEGER);\n");
/// assert_eq!(h.len(), 64);
/// // Line endings and a byte-order mark are not edits.
/// assert_eq!(h, hash_sql("\u{feff}CREATE TABLE \"t\" (\"id\" INTEGER);\r\n"));
/// ```
#[must_use]
pub fn hash_sql(text: &str) -> String {
    sha256_hex(normalise(text).as_bytes())
}

/// The ledger's chain value of a migration: `sha256_hex(hash)` for the first migration and
/// `sha256_hex(prev_chain + hash)` (the hex strings concatenated) for the others.
///
/// ```
/// use migrate_engine::{chain_hash, hash_sql, sha256_hex};
///
/// let h0 = hash_sql("CREATE TABLE a(x);");
/// let h1 = hash_sql("CREATE TABLE b(y);");
/// let c0 = chain_hash(None, &h0);
/// assert_eq!(c0, sha256_hex(h0.as_bytes()));
/// assert_eq!(chain_hash(Some(&c0), &h1), sha256_hex(format!("{c0}{h1}").as_bytes()));
/// ```
#[must_use]
pub fn chain_hash(prev: Option<&str>, hash: &str) -> String {
    match prev {
        None => sha256_hex(hash.as_bytes()),
        Some(prev) => {
            let mut s = String::with_capacity(prev.len() + hash.len());
            s.push_str(prev);
            s.push_str(hash);
            sha256_hex(s.as_bytes())
        }
    }
}

/// The first seven characters of a hash, as messages show it.
///
/// ```
/// assert_eq!(migrate_engine::short("0123456789abcdef"), "0123456");
/// assert_eq!(migrate_engine::short("ab"), "ab");
/// ```
#[must_use]
pub fn short(hash: &str) -> &str {
    hash.get(..7).unwrap_or(hash)
}

/// The chunks of a normalised migration text: the text between lines exactly equal to
/// [`BREAKPOINT`]. The line must be the whole line, without surrounding spaces; a line with extra
/// spaces is content, so SQLite sees it (inside a comment it is part of the comment, elsewhere it
/// fails to prepare, the same at build time and at runtime). A chunk may hold several statements
/// or only comments. Give it [`normalise`]d text: a `\r` before the line end is content too.
///
/// ```
/// use migrate_engine::chunks;
///
/// let sql = "CREATE TABLE a(x);\n--> statement-breakpoint\nCREATE TABLE b(y);\n";
/// assert_eq!(chunks(sql).collect::<Vec<_>>(), ["CREATE TABLE a(x);\n", "CREATE TABLE b(y);\n"]);
/// // Not a breakpoint: leading spaces.
/// assert_eq!(chunks("a;\n  --> statement-breakpoint\nb;").count(), 1);
/// ```
pub fn chunks(normalised: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(normalised);
    std::iter::from_fn(move || {
        let text = rest?;
        let mut pos = 0;
        for line in text.split_inclusive('\n') {
            let end = pos + line.len();
            if line.strip_suffix('\n').unwrap_or(line) == BREAKPOINT {
                rest = Some(&text[end..]);
                return Some(&text[..pos]);
            }
            pos = end;
        }
        rest = None;
        Some(text)
    })
}

/// The first line of a statement that is not blank and not a comment (trimmed, at most 120
/// characters and `...`), or the first non-blank line when there is none. For messages only.
///
/// ```
/// use migrate_engine::first_line;
///
/// assert_eq!(first_line("\n-- c\n  /* x */ INSERT INTO t\nVALUES (1)"), "INSERT INTO t");
/// assert_eq!(first_line("-- only\n"), "-- only");
/// ```
#[must_use]
pub fn first_line(stmt: &str) -> String {
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
        } else if let Some(after) = t.strip_prefix(';') {
            rest = after;
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

/// An SQL identifier quoted for any position: `"` + the name with `"` doubled + `"`.
///
/// ```
/// assert_eq!(migrate_engine::quote_ident("we\"ird"), "\"we\"\"ird\"");
/// ```
#[must_use]
pub fn quote_ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_known_vectors() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn normalisation_removes_a_leading_bom_and_crlf_only() {
        assert_eq!(normalise("\u{feff}x\r\ny"), "x\ny");
        assert_eq!(normalise("x\ry"), "x\ry");
        assert_eq!(normalise("x\u{feff}"), "x\u{feff}");
        assert!(matches!(normalise("\u{feff}x"), Cow::Borrowed("x")));
        assert_ne!(hash_sql("a"), hash_sql("a "));
    }

    #[test]
    fn chunks_split_on_exact_breakpoint_lines_only() {
        let sql = "-- header\nCREATE TABLE a(x);\n--> statement-breakpoint\nCREATE TABLE b(y);\n-- --> statement-breakpoint\n";
        let c: Vec<&str> = chunks(sql).collect();
        assert_eq!(
            c,
            [
                "-- header\nCREATE TABLE a(x);\n",
                "CREATE TABLE b(y);\n-- --> statement-breakpoint\n"
            ]
        );
        assert_eq!(chunks("x").collect::<Vec<_>>(), ["x"]);
        assert_eq!(chunks("").collect::<Vec<_>>(), [""]);
        // A breakpoint as the last line, without a newline, and two in a row.
        assert_eq!(chunks("a;\n--> statement-breakpoint").collect::<Vec<_>>(), ["a;\n", ""]);
        assert_eq!(
            chunks("a;\n--> statement-breakpoint\n--> statement-breakpoint\nb;")
                .collect::<Vec<_>>(),
            ["a;\n", "", "b;"]
        );
        // Surrounding spaces, a trailing tab or a CR make it content.
        for line in [
            " --> statement-breakpoint",
            "--> statement-breakpoint ",
            "--> statement-breakpoint\t",
            "--> statement-breakpoint\r",
        ] {
            assert_eq!(chunks(&format!("a;\n{line}\nb;")).count(), 1, "{line:?}");
        }
    }

    #[test]
    fn first_line_skips_comments_blanks_and_semicolons() {
        assert_eq!(first_line(";;\n-- x\nDROP TABLE t;"), "DROP TABLE t;");
        let long = format!("INSERT INTO t VALUES ('{}');", "é".repeat(300));
        let line = first_line(&long);
        assert_eq!(line.chars().count(), 123);
        assert!(line.starts_with("INSERT INTO t VALUES ('é") && line.ends_with("..."));
    }

    /// The ledger contract with fixed values (computed independently with Python's hashlib):
    /// databases migrated before the engine existed keep matching.
    #[test]
    fn hash_and_chain_match_fixed_vectors() {
        let h0 = hash_sql("\u{feff}a;\r\nb;\r\n");
        assert_eq!(h0, "02695dfcbe44ea48199fa3a03a95551182267d1b8a30a147e43fb5076246f506");
        let c0 = chain_hash(None, &h0);
        assert_eq!(c0, "e58b2b580f4df78754e55cc6ad3d1eb88ded91d3b7475fd07c01ba9360e21d29");
        let h1 = hash_sql("CREATE TABLE t (x);\n");
        assert_eq!(h1, "145a1dead5679f8b8983a3e6524d031c8f3bc8cd5d10ae7e2ff2b159750d131b");
        assert_eq!(
            chain_hash(Some(&c0), &h1),
            "04a9005fb02b898d473a9e99946d918ccdb976aec6ad9679d39cb840aedbeb47"
        );
    }

    #[test]
    fn chain_and_short() {
        let c0 = chain_hash(None, &hash_sql("a"));
        assert_eq!(short(&c0).len(), 7);
        assert_eq!(short(""), "");
    }
}
