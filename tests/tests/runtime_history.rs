//! Randomised histories: a database migrated by one binary, then opened by another whose
//! migration list differs (edited files, other branches, gaps, older or newer). The outcome is
//! checked against a small reference model: either the ledger ends up equal to the second
//! binary's list, or the open is refused with the expected error and nothing changed.

mod runtime_support;

use migrate_runtime::rusqlite::Connection;
use migrate_runtime::{Error, Migration};

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Which file a binary has at an index.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Variant {
    /// The original file.
    Original,
    /// The same file, edited after release.
    Edited,
    /// A different migration from another branch with the same number.
    Branch,
}

fn file(idx: u32, v: Variant) -> (String, String) {
    match v {
        Variant::Original => (
            format!("{idx:04}_create_t{idx}"),
            format!("CREATE TABLE \"t{idx}\" (\"a\" INTEGER);\n"),
        ),
        Variant::Edited => (
            format!("{idx:04}_create_t{idx}"),
            format!("CREATE TABLE \"t{idx}\" (\"a\" INTEGER, \"edited\" TEXT);\n"),
        ),
        Variant::Branch => (
            format!("{idx:04}_create_b{idx}"),
            format!("CREATE TABLE \"b{idx}\" (\"a\" INTEGER);\n"),
        ),
    }
}

type Binary = Vec<(u32, Variant)>;

fn random_binary(rng: &mut XorShift) -> Binary {
    let n = rng.below(6) as u32;
    let mut out = Vec::new();
    for idx in 0..n {
        if rng.below(8) == 0 {
            continue; // a gap: this binary lacks the migration
        }
        let v = match rng.below(10) {
            0 => Variant::Edited,
            1 => Variant::Branch,
            _ => Variant::Original,
        };
        out.push((idx, v));
    }
    out
}

fn build(binary: &Binary) -> &'static [Migration] {
    let files: Vec<(String, String)> = binary.iter().map(|&(i, v)| file(i, v)).collect();
    let pairs: Vec<(&str, &str)> = files.iter().map(|(t, s)| (t.as_str(), s.as_str())).collect();
    runtime_support::migrations(&pairs)
}

/// The expected outcome of opening a database migrated with `a` using `b`.
#[derive(Debug, PartialEq, Eq)]
enum Expected {
    Ok,
    Edited(u32),
    Unknown(u32),
    Diverged(u32),
    OutOfOrder(u32),
}

fn reference(a: &Binary, b: &Binary) -> Expected {
    for &(idx, va) in a {
        match b.iter().find(|(i, _)| *i == idx) {
            None => return Expected::Unknown(idx),
            Some(&(_, vb)) => {
                let (ta, sa) = file(idx, va);
                let (tb, sb) = file(idx, vb);
                if ta != tb {
                    return Expected::Diverged(idx);
                }
                if sa != sb {
                    return Expected::Edited(idx);
                }
            }
        }
    }
    let last = a.iter().map(|(i, _)| *i).max();
    if let Some(last) = last
        && let Some(&(gap, _)) = b.iter().find(|(i, _)| *i < last && !a.iter().any(|(j, _)| j == i))
    {
        return Expected::OutOfOrder(gap);
    }
    Expected::Ok
}

fn observed(e: &Error) -> Expected {
    let idx_of = |tag: &str| tag[..4].parse::<u32>().unwrap();
    match e {
        Error::Edited { tag, .. } => Expected::Edited(idx_of(tag)),
        Error::UnknownApplied { idx, .. } => Expected::Unknown(*idx),
        Error::Diverged { idx, .. } => Expected::Diverged(*idx),
        Error::OutOfOrder { tag, .. } => Expected::OutOfOrder(idx_of(tag)),
        other => panic!("unexpected error {other:?}"),
    }
}

fn state(conn: &Connection) -> (Vec<(u32, String, String)>, Vec<String>) {
    let ledger = conn
        .prepare("SELECT idx, tag, hash FROM __schema_migrations ORDER BY idx")
        .map(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap()
        })
        .unwrap_or_default();
    let schema = conn
        .prepare("SELECT name || ':' || coalesce(sql, '') FROM sqlite_schema ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<Vec<String>, _>>()
        .unwrap();
    (ledger, schema)
}

#[test]
fn random_histories_end_up_exactly_migrated_or_untouched() {
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    let mut outcomes = std::collections::BTreeMap::<&str, usize>::new();
    for case in 0..400 {
        let a = random_binary(&mut rng);
        let b = if rng.below(3) == 0 {
            // Often the next release: the same list extended.
            let mut b = a.clone();
            let next = a.last().map_or(0, |(i, _)| i + 1);
            for i in next..next + rng.below(3) as u32 {
                b.push((i, Variant::Original));
            }
            b
        } else {
            random_binary(&mut rng)
        };
        let (ma, mb) = (build(&a), build(&b));
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        let first = migrate_runtime::migrate(&mut conn, ma).unwrap();
        assert_eq!(first.applied.len(), a.len(), "case {case}");
        let before = state(&conn);
        let expected = reference(&a, &b);
        match migrate_runtime::migrate(&mut conn, mb) {
            Ok(report) => {
                assert_eq!(expected, Expected::Ok, "case {case}: {a:?} then {b:?}");
                let ledger = state(&conn).0;
                let want: Vec<(u32, String, String)> =
                    mb.iter().map(|m| (m.idx, m.tag.to_owned(), m.hash.to_owned())).collect();
                assert_eq!(ledger, want, "case {case}: the ledger is the binary's list");
                assert_eq!(report.applied.len(), b.len() - a.len(), "case {case}");
                migrate_runtime::verify(&conn, mb).unwrap();
                *outcomes.entry("ok").or_default() += 1;
            }
            Err(e) => {
                assert_eq!(observed(&e), expected, "case {case}: {a:?} then {b:?}: {e}");
                assert_eq!(state(&conn), before, "case {case}: a refusal changed the database");
                *outcomes
                    .entry(match expected {
                        Expected::Edited(_) => "edited",
                        Expected::Unknown(_) => "unknown",
                        Expected::Diverged(_) => "diverged",
                        Expected::OutOfOrder(_) => "out of order",
                        Expected::Ok => unreachable!(),
                    })
                    .or_default() += 1;
            }
        }
        assert_eq!(count_fk(&conn), 1, "case {case}: foreign_keys restored");
    }
    // Every kind of outcome was exercised.
    for kind in ["ok", "edited", "unknown", "diverged", "out of order"] {
        assert!(outcomes.get(kind).copied().unwrap_or(0) > 0, "no {kind} case in {outcomes:?}");
    }
}

fn count_fk(conn: &Connection) -> i64 {
    conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap()
}
