//! Snapshot progress as text: `[######....] 61,234 / 100,000 rows (61%) ·
//! 8,120 rows/s · ETA 5s`, for a line and for each of its tables.

use zhongtai_contracts::exchange::v1::{SnapshotProgress, SnapshotState, TableSnapshotProgress};

use super::super::exchange::numbers::{eta, grouped};
use super::super::labels;

/// Cells of a progress bar.
const BAR_WIDTH: usize = 20;

/// `[######..............]`; all dots when the total is unknown.
pub fn bar(done: i64, total: i64) -> String {
    let filled = match percent(done, total) {
        Some(percent) => usize::try_from(percent).unwrap_or(0) * BAR_WIDTH / 100,
        None => 0,
    };
    format!(
        "[{}{}]",
        "#".repeat(filled),
        ".".repeat(BAR_WIDTH.saturating_sub(filled))
    )
}

/// Whole percent done, at most 100; `None` when the total is unknown.
fn percent(done: i64, total: i64) -> Option<i64> {
    if total <= 0 {
        return None;
    }
    let done = i128::from(done.max(0));
    let share = done * 100 / i128::from(total);
    Some(i64::try_from(share.min(100)).unwrap_or(100))
}

/// `61,234 / 100,000 rows (61%)`, or `61,234 rows` when the total is unknown.
fn counts(done: i64, total: i64) -> String {
    match percent(done, total) {
        Some(percent) => format!("{} / {} rows ({percent}%)", grouped(done), grouped(total)),
        None => format!("{} rows", grouped(done)),
    }
}

/// The whole progress line of a running snapshot.
pub fn line(snapshot: &SnapshotProgress) -> String {
    let mut text = format!(
        "{} {}",
        bar(snapshot.rows_done, snapshot.rows_total),
        counts(snapshot.rows_done, snapshot.rows_total)
    );
    if snapshot.rows_per_second > 0.0 {
        text.push_str(&format!(
            " · {} rows/s",
            grouped(snapshot.rows_per_second.round() as i64)
        ));
    }
    if let Some(remaining) = &snapshot.eta {
        text.push_str(&format!(" · ETA {}", eta(remaining)));
    }
    text
}

/// One table's progress: a bar and counts, or `done`.
pub fn table_line(table: &TableSnapshotProgress) -> String {
    if table.completed {
        return format!(
            "{} {} · done",
            bar(1, 1),
            grouped(table.rows_done) + " rows"
        );
    }
    format!(
        "{} {}",
        bar(table.rows_done, table.rows_total),
        counts(table.rows_done, table.rows_total)
    )
}

/// Where a snapshot stands, in one line: its progress while it runs,
/// otherwise its state with what it copied.
pub fn summary(snapshot: Option<&SnapshotProgress>) -> String {
    let Some(snapshot) = snapshot else {
        return String::new();
    };
    let state = labels::short(snapshot.state().as_str_name(), "SNAPSHOT_STATE_");
    match snapshot.state() {
        SnapshotState::Unspecified => String::new(),
        SnapshotState::Running => line(snapshot),
        SnapshotState::Completed => format!(
            "{state}: {} rows, consistent at {}{}",
            grouped(snapshot.rows_done),
            snapshot.consistent_position,
            match &snapshot.complete_time {
                Some(at) => format!(" ({})", labels::time(Some(at))),
                None => String::new(),
            }
        ),
        SnapshotState::Failed => format!("{state} after {}", counts(snapshot.rows_done, -1)),
        SnapshotState::Pending | SnapshotState::Skipped => state,
    }
}

#[cfg(test)]
mod tests {
    use prost_types::Duration;

    use super::*;

    #[test]
    fn a_running_snapshot_reads_as_a_progress_bar() {
        let snapshot = SnapshotProgress {
            state: SnapshotState::Running as i32,
            rows_done: 61_234,
            rows_total: 100_000,
            rows_per_second: 8_120.4,
            eta: Some(Duration {
                seconds: 5,
                nanos: 0,
            }),
            ..Default::default()
        };
        assert_eq!(
            line(&snapshot),
            "[############........] 61,234 / 100,000 rows (61%) · 8,120 rows/s · ETA 5s"
        );
        assert_eq!(summary(Some(&snapshot)), line(&snapshot));
    }

    #[test]
    fn unknown_totals_and_overshoots_stay_in_the_bar() {
        assert_eq!(bar(500, -1), format!("[{}]", ".".repeat(20)));
        assert_eq!(bar(120, 100), format!("[{}]", "#".repeat(20)));
        assert_eq!(bar(0, 100), format!("[{}]", ".".repeat(20)));
        let unknown = SnapshotProgress {
            state: SnapshotState::Running as i32,
            rows_done: 1_500,
            rows_total: -1,
            ..Default::default()
        };
        assert_eq!(line(&unknown), format!("[{}] 1,500 rows", ".".repeat(20)));
    }

    #[test]
    fn tables_and_finished_snapshots_read_plainly() {
        let done = TableSnapshotProgress {
            table: "public.t".into(),
            rows_done: 2_000,
            rows_total: 1_990,
            completed: true,
        };
        assert_eq!(
            table_line(&done),
            format!("[{}] 2,000 rows · done", "#".repeat(20))
        );
        let completed = SnapshotProgress {
            state: SnapshotState::Completed as i32,
            rows_done: 100_000,
            consistent_position: "0/16B3748".into(),
            ..Default::default()
        };
        assert_eq!(
            summary(Some(&completed)),
            "COMPLETED: 100,000 rows, consistent at 0/16B3748"
        );
        let skipped = SnapshotProgress {
            state: SnapshotState::Skipped as i32,
            ..Default::default()
        };
        assert_eq!(summary(Some(&skipped)), "SKIPPED");
    }
}
