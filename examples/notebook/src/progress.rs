//! The progress bar drawn on stderr while a long upgrade runs: a plain text bar (no terminal
//! crate), redrawn in place with `\r`.

use migrate_runtime::{Control, Progress};

/// Characters of the bar.
const WIDTH: usize = 20;

/// How far the whole run is, from 0 to 1: whole migrations done, plus the current one's
/// statements done, plus the running statement's rows.
#[must_use]
pub fn overall(p: &Progress<'_>) -> f64 {
    #[expect(clippy::cast_precision_loss, reason = "a fraction for display")]
    let (i, n, j, m) = (
        p.migration.saturating_sub(1) as f64,
        p.migrations.max(1) as f64,
        p.statement.saturating_sub(1) as f64,
        p.statements.max(1) as f64,
    );
    let in_statement = p.statement_fraction();
    ((i + (j + in_statement) / m) / n).clamp(0.0, 1.0)
}

/// One frame of the bar, e.g. `\r[#####...............] 2/7 rebuild books 26%`: the migration's
/// tag without its number, underscores as spaces.
#[must_use]
pub fn frame(p: &Progress<'_>) -> String {
    let fraction = overall(p);
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "0..=WIDTH and 0..=100"
    )]
    let (filled, percent) = (
        ((fraction * WIDTH as f64).round() as usize).min(WIDTH),
        (fraction * 100.0).floor() as u32,
    );
    let name = p.tag.split_once('_').map_or(p.tag, |(_, rest)| rest).replace('_', " ");
    format!(
        "\r[{}{}] {}/{} {name} {percent}%",
        "#".repeat(filled),
        ".".repeat(WIDTH - filled),
        p.migration,
        p.migrations
    )
}

/// The callback for [`Options::progress`](migrate_runtime::Options::progress): draws the frame
/// on stderr, and ends the line after the run's last statement.
pub fn draw(p: &Progress<'_>) -> Control {
    let done = p.ended && p.migration == p.migrations && p.statement == p.statements;
    eprint!("{}{}", frame(p), if done { "\n" } else { "" });
    Control::Continue
}
