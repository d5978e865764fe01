//! Reports in their contract form, as returned, stored and published.

use std::time::Duration;

use zhongtai_contracts::exchange::v1 as pb;
use zhongtai_kit::proto::timestamp;

use crate::domain::reconciliation::{Discrepancy, DiscrepancyKind, Hop, Report, Tally, Verdict};

pub fn hop_message(hop: Hop) -> pb::Hop {
    match hop {
        Hop::Captured => pb::Hop::Captured,
        Hop::Published => pb::Hop::Published,
        Hop::Delivered => pb::Hop::Delivered,
        Hop::Applied => pb::Hop::Applied,
    }
}

pub fn verdict_message(verdict: Verdict) -> pb::ReconciliationVerdict {
    match verdict {
        Verdict::Balanced => pb::ReconciliationVerdict::Balanced,
        Verdict::Discrepant => pb::ReconciliationVerdict::Discrepant,
        Verdict::InProgress => pb::ReconciliationVerdict::InProgress,
    }
}

fn kind_message(kind: DiscrepancyKind) -> pb::DiscrepancyKind {
    match kind {
        DiscrepancyKind::Missing => pb::DiscrepancyKind::Missing,
        DiscrepancyKind::Duplicated => pb::DiscrepancyKind::Duplicated,
        DiscrepancyKind::Late => pb::DiscrepancyKind::Late,
        DiscrepancyKind::ChecksumMismatch => pb::DiscrepancyKind::ChecksumMismatch,
    }
}

pub fn duration(length: Duration) -> prost_types::Duration {
    prost_types::Duration::try_from(length).unwrap_or(prost_types::Duration {
        seconds: i64::MAX,
        nanos: 0,
    })
}

fn tally_message(tally: &Tally) -> pb::HopTally {
    pb::HopTally {
        hop: hop_message(tally.hop) as i32,
        subscription_id: tally
            .subscription_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        count: i64::try_from(tally.count).unwrap_or(i64::MAX),
        checksum: tally.checksum.clone(),
        min_position: tally.min_position,
        max_position: tally.max_position,
        filtered_count: i64::try_from(tally.filtered_count).unwrap_or(i64::MAX),
        max_lag: Some(duration(tally.max_lag)),
    }
}

fn discrepancy_message(discrepancy: &Discrepancy) -> pb::Discrepancy {
    pb::Discrepancy {
        kind: kind_message(discrepancy.kind) as i32,
        hop: hop_message(discrepancy.hop) as i32,
        subscription_id: discrepancy
            .subscription_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        count: i64::try_from(discrepancy.count).unwrap_or(i64::MAX),
        positions: discrepancy.positions.clone(),
        change_ids: discrepancy.change_ids.clone(),
        detail: discrepancy.detail.clone(),
    }
}

pub fn report_message(report: &Report) -> pb::ReconciliationReport {
    pb::ReconciliationReport {
        id: report.id.to_string(),
        line_id: report.line_id.to_string(),
        window_start_time: Some(timestamp(report.window.start)),
        window_end_time: Some(timestamp(report.window.end)),
        generate_time: Some(timestamp(report.generated_at)),
        verdict: verdict_message(report.verdict) as i32,
        tallies: report.tallies.iter().map(tally_message).collect(),
        discrepancies: report
            .discrepancies
            .iter()
            .map(discrepancy_message)
            .collect(),
        max_lag: Some(duration(report.max_lag)),
        p99_lag: Some(duration(report.p99_lag)),
    }
}

/// The report as a subscriber may see it: only its own subscriptions'
/// tallies and findings, and no line-level tally.
pub fn restricted_to(report: &mut pb::ReconciliationReport, subscriptions: &[String]) {
    report
        .tallies
        .retain(|t| subscriptions.contains(&t.subscription_id));
    report
        .discrepancies
        .retain(|d| subscriptions.contains(&d.subscription_id));
}
