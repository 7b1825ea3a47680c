//! Hashes of migration text and the ledger's hash chain.

use sha2::{Digest, Sha256};

/// Lowercase hex SHA-256 of `bytes`.
fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The text that is hashed: a leading UTF-8 byte-order mark removed and every CRLF turned into LF,
/// so a Windows checkout of a migration file does not look edited.
///
/// ```
/// assert_eq!(migrate_runtime::normalise_sql("\u{feff}a;\r\nb;\r\n"), "a;\nb;\n");
/// ```
#[must_use]
pub fn normalise_sql(sql: &str) -> String {
    sql.strip_prefix('\u{feff}').unwrap_or(sql).replace("\r\n", "\n")
}

/// The hash of a migration as the ledger stores it: lowercase hex SHA-256 of
/// [`normalise_sql`]`(sql)`.
///
/// ```
/// use migrate_runtime::hash_sql;
///
/// let h = hash_sql("CREATE TABLE \"t\" (\"id\" INTEGER);\n");
/// assert_eq!(h.len(), 64);
/// // Line endings and a byte-order mark are not edits.
/// assert_eq!(h, hash_sql("\u{feff}CREATE TABLE \"t\" (\"id\" INTEGER);\r\n"));
/// ```
#[must_use]
pub fn hash_sql(sql: &str) -> String {
    sha256_hex(normalise_sql(sql).as_bytes())
}

/// The ledger's chain value of a migration: `sha256_hex(hash)` for the first migration and
/// `sha256_hex(prev_chain + hash)` (hex strings concatenated) for the others. The chain of the
/// last applied migration stands for the whole history, so an up-to-date database is checked with
/// one read.
///
/// ```
/// use migrate_runtime::{chain_hash, hash_sql};
///
/// let c0 = chain_hash(None, &hash_sql("CREATE TABLE a(x);"));
/// let c1 = chain_hash(Some(&c0), &hash_sql("CREATE TABLE b(y);"));
/// assert_ne!(c0, c1);
/// assert_eq!(c1.len(), 64);
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

/// The first seven characters of a hash, as error messages show it.
pub(crate) fn short(hash: &str) -> &str {
    hash.get(..7).unwrap_or(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_empty_and_abc_match_known_vectors() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn normalisation_removes_bom_and_crlf_only() {
        assert_eq!(normalise_sql("\u{feff}x\r\ny"), "x\ny");
        // A lone CR and an inner BOM are content.
        assert_eq!(normalise_sql("x\ry"), "x\ry");
        assert_eq!(normalise_sql("x\u{feff}"), "x\u{feff}");
        assert_ne!(hash_sql("a"), hash_sql("a "));
    }

    #[test]
    fn chain_follows_the_contract() {
        let h0 = hash_sql("a");
        let h1 = hash_sql("b");
        let c0 = chain_hash(None, &h0);
        assert_eq!(c0, sha256_hex(h0.as_bytes()));
        assert_eq!(chain_hash(Some(&c0), &h1), sha256_hex(format!("{c0}{h1}").as_bytes()));
        assert_eq!(short(&c0).len(), 7);
    }
}
