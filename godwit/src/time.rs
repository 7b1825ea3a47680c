//! ISO-8601 formatting of the ledger's Unix-millisecond timestamps (no date crate needed).

/// Formats Unix milliseconds as ISO-8601 UTC with milliseconds, `YYYY-MM-DDTHH:MM:SS.mmmZ`.
///
/// ```
/// assert_eq!(godwit::iso8601_utc(0), "1970-01-01T00:00:00.000Z");
/// assert_eq!(godwit::iso8601_utc(1_796_691_600_123), "2026-12-08T01:00:00.123Z");
/// assert_eq!(godwit::iso8601_utc(-1), "1969-12-31T23:59:59.999Z");
/// ```
#[must_use]
pub fn iso8601_utc(unix_ms: i64) -> String {
    let secs = unix_ms.div_euclid(1000);
    let ms = unix_ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (year, month, day).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leap_days_and_century_rules() {
        // 2000-02-29 (a leap day of a 400-year century), 2024-02-29, 2100-03-01.
        assert_eq!(iso8601_utc(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso8601_utc(1_709_164_800_000), "2024-02-29T00:00:00.000Z");
        assert_eq!(iso8601_utc(4_107_542_400_000), "2100-03-01T00:00:00.000Z");
        assert_eq!(iso8601_utc(1_735_689_599_999), "2024-12-31T23:59:59.999Z");
    }
}
