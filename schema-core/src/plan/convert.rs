//! Exact type conversion in SQL: the value a type change stores (`CAST(v AS T)`), the guard
//! condition that tells whether a value survives that cast and back, and the UTF-8 check a
//! blob needs before it becomes TEXT.
//!
//! Every comparison is exact: SQLite compares an INTEGER with a REAL exactly, so a real is
//! range-checked against `[-2^63, 2^63)` before it is cast (CAST saturates at the ends), an
//! integer becomes REAL only when the real equals it (`2^53 + 1` does not), and text is
//! compared in its text form (`'012'` and `'9223372036854775808'` are not integers).

use super::Finding;
use super::sql::{quote_ident as q, quote_str};
use crate::model::{Column, Schema, SqlType, Table};

/// The value a column of type `ty` gets from the SQL expression `value`: `CAST(value AS ty)`,
/// which yields the type's storage class for every non-NULL value (NUMERIC: integer or real),
/// or the value itself for `ANY`.
///
/// ```
/// use schema_core::model::SqlType;
/// use schema_core::plan::converted;
/// assert_eq!(converted("\"v\"", SqlType::Text), "CAST(\"v\" AS TEXT)");
/// assert_eq!(converted("\"v\"", SqlType::Any), "\"v\"");
/// ```
#[must_use]
pub fn converted(value: &str, ty: SqlType) -> String {
    match ty {
        SqlType::Any => value.to_string(),
        _ => format!("CAST({value} AS {})", ty.as_sql()),
    }
}

/// The L2 error for a `convert` on a column whose type does not change.
pub(super) fn unused_convert(table: &str, c: &Column) -> Finding {
    unused_convert_finding(table, &c.name, c.convert.as_deref().unwrap_or_default(), c.ty)
}

/// The L2 error for `#[column(convert = "<convert>")]` on column `column` of type `ty`, which
/// does not change.
pub(super) fn unused_convert_finding(
    table: &str,
    column: &str,
    convert: &str,
    ty: SqlType,
) -> Finding {
    Finding::error(
        "L2",
        format!(
            "table {table}: column {column} has #[column(convert = \"{convert}\")] but its type does not \
             change (it stays {}): remove convert, which only applies to the migration that changes the \
             column's type",
            ty.as_sql()
        ),
    )
}

/// The `convert` attributes of `new` that no type change against `old` uses: one L2 error
/// each. [`plan`](super::plan) reports them too, but the build runs no plan when the schema
/// did not change, which is exactly when a `convert` left behind after its migration was
/// generated goes unseen; call this then.
///
/// ```
/// use schema_core::model::{Column, Schema, SqlType, Table};
/// use schema_core::plan::unused_converts;
/// let mut t = Table::new("t");
/// t.columns.push(Column::new("at", SqlType::Text));
/// let mut old = Schema::default();
/// old.insert(t.clone());
/// t.columns[0].convert = Some("datetime(\"at\")".into());
/// let mut new = Schema::default();
/// new.insert(t);
/// assert!(unused_converts(&old, &new)[0].message.contains("remove convert"));
/// ```
#[must_use]
pub fn unused_converts(old: &Schema, new: &Schema) -> Vec<Finding> {
    let mut out = Vec::new();
    for nt in new.tables.values() {
        let ot =
            old.table(&nt.name).or_else(|| nt.renamed_from.as_deref().and_then(|f| old.table(f)));
        for nc in nt.columns.iter().filter(|c| c.convert.is_some()) {
            let oc = ot.and_then(|ot| {
                nc.renamed_from
                    .as_deref()
                    .filter(|_| ot.column(&nc.name).is_none())
                    .and_then(|f| ot.column(f))
                    .or_else(|| ot.column(&nc.name))
            });
            let used = match (ot, oc) {
                (Some(ot), Some(oc)) => oc.ty != nc.ty || (nt.strict && !ot.strict),
                _ => false,
            };
            if !used {
                out.push(unused_convert(&nt.name, nc));
            }
        }
    }
    out
}

/// An SQL condition that is true when the value of the SQL expression `e` does not convert
/// exactly to `ty` (converting it and back does not give it again), or `None` when every value
/// does (`ANY`). NULL always converts. A blob becoming TEXT passes here: its UTF-8 validity is
/// a separate guard statement of its own.
///
/// ```
/// use schema_core::model::SqlType;
/// use schema_core::plan::inexact;
/// let cond = inexact("\"v\"", SqlType::Integer).unwrap();
/// assert!(cond.contains("9223372036854775808.0"));
/// assert!(inexact("\"v\"", SqlType::Any).is_none());
/// ```
#[must_use]
pub fn inexact(e: &str, ty: SqlType) -> Option<String> {
    // A text `t` that is exactly an integer, or exactly a real, in SQLite's own text form.
    let int_text = |t: &str| format!("CAST(CAST({t} AS INTEGER) AS TEXT) = {t}");
    let real_text = |t: &str| format!("CAST(CAST({t} AS REAL) AS TEXT) = {t}");
    // A text that becomes REAL exactly: it is the real's text form (`'1.5'`, not `'12'`,
    // whose REAL reads back as `'12.0'`).
    let text_to_real = |t: &str| format!("NOT ({})", real_text(t));
    // A real that survives its text form (always, in SQLite 3.54's 17-digit rendering; kept
    // as a check so another rendering can only fail loudly).
    let real_via_text = format!("CAST(CAST({e} AS TEXT) AS REAL) <> {e}");
    let text_of_e = format!("CAST({e} AS TEXT)");
    let branches: Vec<(&str, String)> = match ty {
        SqlType::Any => return None,
        SqlType::Integer => vec![
            (
                "real",
                format!(
                    "NOT ({e} >= -9223372036854775808.0 AND {e} < 9223372036854775808.0 AND \
                     CAST({e} AS INTEGER) = {e})"
                ),
            ),
            ("text", format!("NOT ({})", int_text(e))),
            ("blob", format!("NOT ({})", int_text(&text_of_e))),
        ],
        SqlType::Real => vec![
            ("integer", format!("CAST({e} AS REAL) <> {e}")),
            ("text", text_to_real(e)),
            ("blob", text_to_real(&text_of_e)),
        ],
        SqlType::Text | SqlType::Blob => vec![("real", real_via_text)],
        SqlType::Numeric => {
            // NUMERIC stores an integer text as an integer, and a real as an integer when it is
            // one (`'2.0'` would come back as `'2'`): exact only for integer texts and for
            // reals' texts that are no integer.
            let numeric_text = |t: &str| {
                format!(
                    "NOT ({} OR ({} AND CAST({t} AS REAL) <> CAST(CAST({t} AS REAL) AS INTEGER)))",
                    int_text(t),
                    real_text(t)
                )
            };
            vec![("text", numeric_text(e)), ("blob", numeric_text(&text_of_e))]
        }
    };
    let whens: Vec<String> =
        branches.iter().map(|(class, cond)| format!("WHEN '{class}' THEN {cond}")).collect();
    Some(format!("CASE typeof({e}) {} ELSE 0 END", whens.join(" ")))
}

/// An SQL text expression showing a value in a message: `quote(v)`, cut to 80 characters.
#[must_use]
pub(super) fn shown(v: &str) -> String {
    format!(
        "CASE WHEN length(quote({v})) > 80 THEN substr(quote({v}), 1, 77) || '...' ELSE quote({v}) END"
    )
}

/// An SQL text expression over `table` naming one row in a message: by its primary key (`the
/// row with "id" = 7`, `the row with "a" = 'x', "b" = 2`), else by its rowid through an alias
/// no column shadows (`the row with rowid 7`), else `a row` (a rowid table whose columns are
/// named `rowid`, `_rowid_` and `oid`).
///
/// ```
/// use schema_core::model::{Column, SqlType, Table};
/// use schema_core::plan::row_label;
/// let mut t = Table::new("t");
/// t.columns.push(Column::new("rowid", SqlType::Text));
/// assert_eq!(row_label(&t), "'the row with rowid ' || \"_rowid_\"");
/// t.primary_key = vec!["rowid".into()];
/// assert_eq!(row_label(&t), "'the row with \"rowid\" = ' || quote(\"rowid\")");
/// ```
#[must_use]
pub fn row_label(table: &Table) -> String {
    if !table.primary_key.is_empty() {
        let parts: Vec<String> = table
            .primary_key
            .iter()
            .enumerate()
            .map(|(k, c)| {
                let lead = if k == 0 { "the row with " } else { "" };
                format!("{} || quote({})", quote_str(&format!("{lead}{} = ", q(c))), q(c))
            })
            .collect();
        return parts.join(" || ', ' || ");
    }
    if table.without_rowid {
        return "'a row'".to_string();
    }
    match rowid_alias(table) {
        Some(alias) => format!("'the row with rowid ' || {alias}"),
        None => "'a row'".to_string(),
    }
}

/// The first of `rowid`, `_rowid_`, `oid` that no column of `table` is named (ASCII
/// case-insensitively), so that it reads the rowid and not a column.
#[must_use]
pub(super) fn rowid_alias(table: &Table) -> Option<&'static str> {
    ["rowid", "_rowid_", "oid"]
        .into_iter()
        .find(|alias| !table.columns.iter().any(|c| c.name.eq_ignore_ascii_case(alias)))
        .map(|a| match a {
            "rowid" => "\"rowid\"",
            "_rowid_" => "\"_rowid_\"",
            _ => "\"oid\"",
        })
}

/// Marker letters of the UTF-8 check: continuation bytes `80-8F` (`a`), `90-9F` (`b`),
/// `A0-BF` (`c`); lead bytes `C2-DF` (`L`), `E0` (`E`), `E1-EC`/`EE-EF` (`M`), `ED` (`D`),
/// `F0` (`F`), `F1-F3` (`G`), `F4` (`H`); bytes never valid (`C0`, `C1`, `F5-FF`) (`Z`);
/// partial sequences needing two (`R`) or one (`Q`) more continuation byte.
const MARKERS: [char; 13] = ['a', 'b', 'c', 'L', 'E', 'M', 'D', 'F', 'G', 'H', 'Z', 'R', 'Q'];

fn byte_marker(b: u8) -> char {
    match b {
        0x80..=0x8F => 'a',
        0x90..=0x9F => 'b',
        0xA0..=0xBF => 'c',
        0xC2..=0xDF => 'L',
        0xE0 => 'E',
        0xE1..=0xEC | 0xEE | 0xEF => 'M',
        0xED => 'D',
        0xF0 => 'F',
        0xF1..=0xF3 => 'G',
        0xF4 => 'H',
        _ => 'Z',
    }
}

/// The reductions of well-formed sequences (RFC 3629 table 3-7: no overlongs, no surrogates,
/// nothing above U+10FFFF), in order: a four-byte lead with a valid second byte needs two more
/// (`R`), a three-byte lead with a valid second byte, or `R` with one, needs one more (`Q`);
/// `Q` or a two-byte lead with a continuation byte is a whole character (`x`). Each pattern
/// starts with a lead marker, which no continuation is, so one left-to-right pass of
/// `replace()` per pattern finds every sequence.
fn reductions() -> Vec<(String, char)> {
    let any = ['a', 'b', 'c'];
    let mut out = Vec::new();
    let mut push = |lead: char, second: &[char], to: char| {
        out.extend(second.iter().map(|s| (format!("{lead}{s}"), to)));
    };
    push('F', &['b', 'c'], 'R');
    push('G', &any, 'R');
    push('H', &['a'], 'R');
    push('E', &['c'], 'Q');
    push('M', &any, 'Q');
    push('D', &['a', 'b'], 'Q');
    push('R', &any, 'Q');
    push('Q', &any, 'x');
    push('L', &any, 'x');
    out
}

/// The replacements of the UTF-8 check, in order: marker letters and NUL in the text become
/// `x`; every byte `80-FF` becomes its marker; the [`reductions`]. What is left holds a marker
/// exactly when the bytes are not valid UTF-8.
fn utf8_replacements() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> =
        MARKERS.iter().map(|m| (format!("'{m}'"), "'x'".to_string())).collect();
    out.push(("CAST(X'00' AS TEXT)".into(), "'x'".into()));
    for b in 0x80..=0xFFu8 {
        out.push((format!("CAST(X'{b:02X}' AS TEXT)"), format!("'{}'", byte_marker(b))));
    }
    for (from, to) in reductions() {
        out.push((format!("'{from}'"), format!("'{to}'")));
    }
    out
}

/// Whether the SQL expression can give a blob: not when the old STRICT column it reads holds
/// another type, nor when it is a concatenation (`'user' || "id"`, text or NULL).
pub(super) fn may_be_blob(e: &str, strict_from: Option<SqlType>) -> bool {
    use super::sql::{strip_outer_parens, tokenize};
    if let Some(ty) = strict_from {
        return matches!(ty, SqlType::Blob | SqlType::Any);
    }
    let mut depth = 0usize;
    for t in tokenize(strip_outer_parens(e)) {
        if t.is_punct("(") {
            depth += 1;
        } else if t.is_punct(")") {
            depth = depth.saturating_sub(1);
        } else if depth == 0 && t.is_punct("||") {
            return false;
        }
    }
    true
}

/// An SQL condition, true when the blob `e` is not valid UTF-8: `<e as text after the
/// replacements> GLOB '*[<markers>]*'` (nested `replace()` calls, linear in the blob's size
/// per replacement; NUL became `x`, so GLOB sees the whole text).
#[must_use]
pub(super) fn utf8_invalid(e: &str) -> String {
    let mut s = format!("CAST({e} AS TEXT)");
    for (from, to) in utf8_replacements() {
        s = format!("replace({s}, {from}, {to})");
    }
    let markers: String = MARKERS.iter().collect();
    format!("{s} GLOB '*[{markers}]*'")
}

/// Whether `expr` is a literal already of `ty`'s storage class (`''` for TEXT, `0` for INTEGER,
/// `1.5` for REAL, `X'00'` for BLOB; anything for ANY), so it needs no cast and no guard.
fn literal_is_of(expr: &str, ty: SqlType) -> bool {
    use super::sql::{TokenKind, strip_outer_parens, tokenize};
    let tokens = tokenize(strip_outer_parens(expr));
    let lit = match tokens.as_slice() {
        [t] => t,
        [sign, t] if (sign.is_punct("-") || sign.is_punct("+")) && t.kind == TokenKind::Number => t,
        _ => return false,
    };
    let integer = lit.text.parse::<i64>().is_ok();
    let real = !integer && lit.kind == TokenKind::Number && lit.text.contains('.');
    match (lit.kind, ty) {
        (TokenKind::String | TokenKind::Number | TokenKind::Blob, SqlType::Any)
        | (TokenKind::String, SqlType::Text)
        | (TokenKind::Blob, SqlType::Blob) => true,
        (TokenKind::Number, SqlType::Integer | SqlType::Numeric) => integer,
        (TokenKind::Number, SqlType::Real) => real,
        _ => false,
    }
}

/// How a `backfill` value `value` (SQL over the old table, parenthesised) fills a column of
/// type `to`: the copy expression (cast to the type's storage class unless it is a literal of
/// it already) and the guard that fails the migration, naming the backfill, when a value it
/// gives does not convert exactly (checked only on rows matching `only_where`).
pub(super) fn backfill(
    column: &str,
    value: String,
    to: SqlType,
    only_where: Option<String>,
) -> (String, Option<super::Guard>) {
    if literal_is_of(&value, to) {
        return (value, None);
    }
    let expr = converted(&value, to);
    let guard = super::Guard::Convert {
        column: column.to_string(),
        value,
        origin: super::ValueOrigin::Backfill,
        to,
        only_where,
        strict_from: None,
    };
    (expr, Some(guard))
}

/// Whether a literal backfill or convert expression converts exactly to `ty`, when that can be
/// told without a database: `Some(false)` for a string that is no number going into an
/// INTEGER, REAL or NUMERIC column (`'x'`), or a fractional number going into an INTEGER one
/// (`1.5`); `None` when only SQLite can tell (expressions, blobs, numbers in other forms).
///
/// ```
/// use schema_core::model::SqlType;
/// use schema_core::plan::literal_converts;
/// assert_eq!(literal_converts("'x'", SqlType::Integer), Some(false));
/// assert_eq!(literal_converts("'12'", SqlType::Integer), Some(true));
/// assert_eq!(literal_converts("lower('X')", SqlType::Integer), None);
/// ```
#[must_use]
pub fn literal_converts(expr: &str, ty: SqlType) -> Option<bool> {
    use super::sql::{TokenKind, strip_outer_parens, tokenize};
    let tokens = tokenize(strip_outer_parens(expr));
    let (negative, lit) = match tokens.as_slice() {
        [t] => (false, t),
        [sign, t] if (sign.is_punct("-") || sign.is_punct("+")) && t.kind == TokenKind::Number => {
            (sign.is_punct("-"), t)
        }
        _ => return None,
    };
    let numeric = matches!(ty, SqlType::Integer | SqlType::Real | SqlType::Numeric);
    match lit.kind {
        TokenKind::String if numeric => {
            let text = lit.text[1..lit.text.len() - 1].replace("''", "'");
            let is_int = text.parse::<i64>().is_ok_and(|i| i.to_string() == text);
            if is_int || (ty != SqlType::Integer && text.parse::<f64>().is_ok()) {
                // Integers are exact; the exact text form of a real is SQLite's to judge.
                if is_int { Some(true) } else { None }
            } else {
                Some(false)
            }
        }
        TokenKind::Number if ty == SqlType::Integer => {
            let text = lit.text.replace('_', "");
            if text.starts_with("0x") || text.starts_with("0X") {
                return None;
            }
            let sign = if negative { "-" } else { "" };
            if format!("{sign}{text}").parse::<i64>().is_ok() {
                Some(true)
            } else {
                match text.parse::<f64>() {
                    Ok(f) if f.fract() != 0.0 || f.is_infinite() => Some(false),
                    _ => None,
                }
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reductions, run in Rust on marker strings, accept exactly what `str::from_utf8`
    /// accepts, for every sequence of up to three bytes from a set covering each class edge
    /// (and four and five with a tail).
    #[test]
    fn the_reductions_accept_exactly_utf8() {
        let edges: Vec<u8> = vec![
            0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0,
            0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF,
        ];
        let check = |bytes: &[u8]| {
            let mut s: String =
                bytes.iter().map(|&b| if b < 0x80 { 'x' } else { byte_marker(b) }).collect();
            for (from, to) in reductions() {
                s = s.replace(&from, &to.to_string());
            }
            let ok = !s.chars().any(|c| MARKERS.contains(&c));
            assert_eq!(ok, std::str::from_utf8(bytes).is_ok(), "{bytes:02X?} -> {s}");
        };
        for &a in &edges {
            check(&[a]);
            for &b in &edges {
                check(&[a, b]);
                for &c in &edges {
                    check(&[a, b, c]);
                    for &d in &[0x80u8, 0x8F, 0x90, 0xBF, 0xC0, 0x41] {
                        check(&[a, b, c, d]);
                        check(&[a, b, c, d, 0x80]);
                    }
                }
            }
        }
    }

    #[test]
    fn literals_are_judged_only_when_certain() {
        assert_eq!(literal_converts("'x'", SqlType::Real), Some(false));
        assert_eq!(literal_converts("'1.5'", SqlType::Real), None);
        assert_eq!(literal_converts("1.5", SqlType::Integer), Some(false));
        assert_eq!(literal_converts("-7", SqlType::Integer), Some(true));
        assert_eq!(literal_converts("'007'", SqlType::Integer), Some(false));
        assert_eq!(literal_converts("'x'", SqlType::Text), None);
        assert_eq!(literal_converts("X'00'", SqlType::Integer), None);
    }
}
