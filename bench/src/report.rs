//! Results and their table: ours, the floor, the ratio, the goal and the peak memory.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One side's result: the median over rounds of each child's median, and the largest peak RSS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measured {
    /// Median time of one iteration.
    pub time: Duration,
    /// Largest `VmHWM` of the child processes, in KiB.
    pub peak_kib: Option<u64>,
}

/// One row of the table.
#[derive(Debug, Clone)]
pub struct Row {
    /// The benchmark.
    pub name: String,
    /// Ours; `None` when that side was not measured.
    pub ours: Option<Measured>,
    /// The floor.
    pub floor: Measured,
    /// The goal ratio, if any.
    pub goal: Option<f64>,
    /// The median of the per-round ratios ours / floor (each round measures both sides back to
    /// back, so a slow spell of the machine mostly cancels out).
    pub paired_ratio: Option<f64>,
}

impl Row {
    /// The reported ratio: [`Row::paired_ratio`] when known, else ours' median divided by the
    /// floor's.
    #[must_use]
    pub fn ratio(&self) -> Option<f64> {
        let ours = self.ours?;
        Some(self.paired_ratio.unwrap_or(ours.time.as_secs_f64() / self.floor.time.as_secs_f64()))
    }

    fn cells(&self) -> [String; 6] {
        let ratio = self.ratio();
        let goal = match (self.goal, ratio) {
            (Some(g), Some(r)) => format!("<= {g:.2}x {}", if r <= g { "met" } else { "NOT met" }),
            (Some(g), None) => format!("<= {g:.2}x"),
            (None, _) => "-".to_owned(),
        };
        let peak = |m: Option<Measured>| m.and_then(|m| m.peak_kib).map_or("-".to_owned(), mib);
        [
            self.name.clone(),
            self.ours.map_or("-".to_owned(), |m| duration(m.time)),
            duration(self.floor.time),
            ratio.map_or("-".to_owned(), |r| format!("{r:.2}x")),
            goal,
            format!("{} / {}", peak(self.ours), peak(Some(self.floor))),
        ]
    }
}

const HEADERS: [&str; 6] = ["benchmark", "ours", "floor", "ratio", "goal", "peak RSS ours / floor"];

/// The table as aligned plain text.
#[must_use]
pub fn plain_table(rows: &[Row]) -> String {
    let cells: Vec<[String; 6]> = rows.iter().map(Row::cells).collect();
    let mut widths = HEADERS.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |row: &[String]| {
        let parts: Vec<String> = row.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
        format!("{}\n", parts.join(" | ").trim_end())
    };
    let mut out = line(&HEADERS.map(str::to_owned));
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    out.push_str(&format!("{}\n", rule.join("-|-")));
    for row in &cells {
        out.push_str(&line(row));
    }
    out
}

/// The table in Markdown.
#[must_use]
pub fn markdown_table(rows: &[Row]) -> String {
    let mut out = format!("| {} |\n", HEADERS.join(" | "));
    out.push_str("|---|---:|---:|---:|---|---:|\n");
    for row in rows {
        let _ = writeln!(out, "| {} |", row.cells().join(" | "));
    }
    out
}

/// A duration in the unit that suits it.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(bench::report::duration(Duration::from_micros(1500)), "1.50 ms");
/// ```
#[must_use]
pub fn duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1e-3 {
        format!("{:.1} µs", s * 1e6)
    } else if s < 1.0 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{s:.3} s")
    }
}

/// KiB as MiB.
///
/// ```
/// assert_eq!(bench::report::mib(2048), "2.0 MiB");
/// ```
#[must_use]
pub fn mib(kib: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let m = kib as f64 / 1024.0;
    format!("{m:.1} MiB")
}

/// A count with thousands separators.
///
/// ```
/// assert_eq!(bench::report::count(1_000_000), "1,000,000");
/// ```
#[must_use]
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Facts about the machine and the run: date (UTC), SQLite version, CPU, cores, kernel.
#[must_use]
pub fn machine_facts() -> Vec<(&'static str, String)> {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or_else(|_| std::env::consts::OS.to_owned(), |s| s.trim().to_owned());
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines().next().and_then(|l| l.split_whitespace().nth(1)).and_then(|k| k.parse().ok())
        })
        .map_or_else(|| "unknown".to_owned(), |kib: u64| format!("{} GiB", kib / (1024 * 1024)));
    vec![
        ("date", utc_now()),
        ("sqlite", migrate_runtime::rusqlite::version().to_owned()),
        ("cpu", cpu),
        ("cores (nproc)", cores.to_string()),
        ("memory", mem),
        ("kernel", kernel),
    ]
}

/// The current time as `YYYY-MM-DD HH:MM UTC`.
#[must_use]
pub fn utc_now() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", rem / 3600, rem % 3600 / 60)
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
///
/// ```
/// assert_eq!(bench::report::civil_from_days(0), (1970, 1, 1));
/// assert_eq!(bench::report::civil_from_days(20_415), (2025, 11, 23));
/// ```
#[must_use]
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}
