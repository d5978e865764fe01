//! `zhongtai line reconcile` and `line reports`: a line's changes counted
//! and checksummed at every hop over a window, and what is missing,
//! duplicated or late, named by hop, subscription and position. The exit
//! status carries the verdict, so scripts can check a window.

use std::process::ExitCode;

use clap::Args;
use prost_types::Timestamp;
use zhongtai_contracts::exchange::v1::{self as pb, ReconciliationVerdict};

use super::super::endpoints::TargetArgs;
use super::super::exchange::numbers::{grouped, lag};
use super::super::exchange::window;
use super::super::flags::{self, PageArgs};
use super::super::labels;
use super::super::output::{
    emit, print_details, print_next_page, print_proto_json, print_section, print_table,
};
use super::super::rpc::{self, Answer as _};

/// A day's window of a busy line takes a while to tally, longer than the
/// few seconds a plain call is given.
const RECONCILE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(60);
/// Positions shown per discrepancy; the count says how many there are.
const POSITIONS_SHOWN: usize = 10;

#[derive(Args)]
pub struct ReconcileArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Line id
    id: String,
    /// Window start (by source commit time): a span before now like -5m,
    /// a day like 2026-12-01, or an RFC 3339 time
    #[arg(long, default_value = "-1h", allow_hyphen_values = true, value_parser = window::instant)]
    from: Timestamp,
    /// Window end, exclusive, in the same forms (default: now)
    #[arg(long, allow_hyphen_values = true, value_parser = window::instant)]
    to: Option<Timestamp>,
    /// Only these subscriptions (repeatable; default: all you may see)
    #[arg(long = "subscription")]
    subscriptions: Vec<String>,
    /// Print the answer as proto3 JSON (the exit status still carries the verdict)
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ReportsArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Line id
    id: String,
    /// Only reports with this verdict: balanced, discrepant, in-progress
    #[arg(long, value_parser = flags::enum_value("zhongtai.exchange.v1.ReconciliationVerdict"))]
    verdict: Option<i32>,
    #[command(flatten)]
    page: PageArgs,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

pub async fn reconcile(args: ReconcileArgs) -> anyhow::Result<ExitCode> {
    let mut request = tonic::Request::new(pb::GetReconciliationReportRequest {
        line_id: args.id,
        window_start_time: Some(args.from),
        window_end_time: args.to,
        subscription_ids: args.subscriptions,
    });
    request.set_timeout(RECONCILE_DEADLINE);
    let report = rpc::exchange(&args.target)?
        .get_reconciliation_report(request)
        .await
        .answer("reconcile the line")?
        .report
        .unwrap_or_default();
    if args.json {
        print_proto_json(&report)?;
    } else {
        show(&report);
        if let Some(note) = note(report.verdict()) {
            emit("");
            emit(note);
        }
    }
    Ok(exit_code(report.verdict()))
}

pub async fn reports(args: ReportsArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::exchange(&args.target)?
        .list_reconciliation_reports(pb::ListReconciliationReportsRequest {
            page: args.page.request(),
            line_id: args.id,
            verdict: args.verdict.unwrap_or(0),
        })
        .await
        .answer("list the line's reconciliation reports")?;
    if args.json {
        print_proto_json(&response)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = response
        .reports
        .iter()
        .map(|r| {
            vec![
                r.id.clone(),
                window_text(r),
                verdict(r),
                captured(r),
                r.discrepancies.len().to_string(),
                lag(r.max_lag.as_ref()),
                lag(r.p99_lag.as_ref()),
            ]
        })
        .collect();
    print_table(
        &[
            "ID",
            "WINDOW",
            "VERDICT",
            "CAPTURED",
            "DISCREPANCIES",
            "MAX LAG",
            "P99 LAG",
        ],
        &rows,
    );
    print_next_page(response.page.as_ref());
    Ok(ExitCode::SUCCESS)
}

/// 0 when balanced or still converging, 1 when discrepant; a report
/// without a verdict proves nothing, so it is not success either.
pub fn exit_code(verdict: ReconciliationVerdict) -> ExitCode {
    if succeeds(verdict) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn succeeds(verdict: ReconciliationVerdict) -> bool {
    matches!(
        verdict,
        ReconciliationVerdict::Balanced | ReconciliationVerdict::InProgress
    )
}

fn note(verdict: ReconciliationVerdict) -> Option<&'static str> {
    match verdict {
        ReconciliationVerdict::InProgress => Some(
            "note: the window is still open or changes are in flight; counts may yet converge — \
             reconcile again later, or pick a window that ended a while ago",
        ),
        ReconciliationVerdict::Unspecified => Some("note: the report carries no verdict"),
        ReconciliationVerdict::Balanced | ReconciliationVerdict::Discrepant => None,
    }
}

fn verdict(report: &pb::ReconciliationReport) -> String {
    labels::short(report.verdict().as_str_name(), "RECONCILIATION_VERDICT_")
}

fn window_text(report: &pb::ReconciliationReport) -> String {
    if report.window_start_time.is_none() && report.window_end_time.is_none() {
        return String::new();
    }
    format!(
        "{} – {}",
        labels::time(report.window_start_time.as_ref()),
        labels::time(report.window_end_time.as_ref())
    )
}

/// Changes the line captured in the window.
fn captured(report: &pb::ReconciliationReport) -> String {
    report
        .tallies
        .iter()
        .find(|t| t.hop() == pb::Hop::Captured)
        .map(|t| grouped(t.count))
        .unwrap_or_default()
}

pub fn hop(hop: pb::Hop) -> String {
    labels::short(hop.as_str_name(), "HOP_")
}

fn or_dash(text: &str) -> String {
    if text.is_empty() {
        "-".into()
    } else {
        text.to_string()
    }
}

fn show(report: &pb::ReconciliationReport) {
    print_details(&[
        ("report", report.id.clone()),
        ("line", report.line_id.clone()),
        ("window", window_text(report)),
        ("verdict", verdict(report)),
        ("max lag", lag(report.max_lag.as_ref())),
        ("p99 lag", lag(report.p99_lag.as_ref())),
        ("computed", labels::time(report.generate_time.as_ref())),
    ]);
    print_section("Hops");
    let rows: Vec<Vec<String>> = report
        .tallies
        .iter()
        .map(|t| {
            vec![
                hop(t.hop()),
                or_dash(&t.subscription_id),
                grouped(t.count),
                grouped(t.filtered_count),
                t.checksum.chars().take(12).collect(),
                t.min_position.to_string(),
                t.max_position.to_string(),
                lag(t.max_lag.as_ref()),
            ]
        })
        .collect();
    print_table(
        &[
            "HOP",
            "SUBSCRIPTION",
            "COUNT",
            "FILTERED",
            "CHECKSUM",
            "MIN POSITION",
            "MAX POSITION",
            "MAX LAG",
        ],
        &rows,
    );
    if report.discrepancies.is_empty() {
        return;
    }
    print_section("Discrepancies");
    for (i, d) in report.discrepancies.iter().enumerate() {
        if i > 0 {
            emit("");
        }
        print_details(&[
            (
                "kind",
                labels::short(d.kind().as_str_name(), "DISCREPANCY_KIND_"),
            ),
            ("hop", hop(d.hop())),
            ("subscription", d.subscription_id.clone()),
            ("changes", grouped(d.count)),
            ("first positions", positions(d)),
            (
                "first change ids",
                labels::list(d.change_ids.iter().take(3)),
            ),
            ("detail", d.detail.clone()),
        ]);
    }
}

/// The first positions, with how many more there are.
fn positions(discrepancy: &pb::Discrepancy) -> String {
    let shown = labels::list(
        discrepancy
            .positions
            .iter()
            .take(POSITIONS_SHOWN)
            .map(|p| p.to_string()),
    );
    let total = usize::try_from(discrepancy.count).unwrap_or(0);
    let listed = discrepancy.positions.len().min(POSITIONS_SHOWN);
    if total > listed && listed > 0 {
        format!("{shown} … ({} more)", grouped((total - listed) as i64))
    } else {
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exit_status_carries_the_verdict() {
        assert!(succeeds(ReconciliationVerdict::Balanced));
        assert!(!succeeds(ReconciliationVerdict::Discrepant));
        assert!(succeeds(ReconciliationVerdict::InProgress));
        assert!(!succeeds(ReconciliationVerdict::Unspecified));
        assert_eq!(
            exit_code(ReconciliationVerdict::Discrepant),
            ExitCode::FAILURE
        );
        assert_eq!(
            exit_code(ReconciliationVerdict::Balanced),
            ExitCode::SUCCESS
        );
        assert!(note(ReconciliationVerdict::InProgress).is_some());
        assert!(note(ReconciliationVerdict::Balanced).is_none());
    }

    #[test]
    fn long_position_lists_say_how_many_more() {
        let discrepancy = pb::Discrepancy {
            count: 25,
            positions: (1..=25).collect(),
            ..Default::default()
        };
        assert_eq!(
            positions(&discrepancy),
            "1, 2, 3, 4, 5, 6, 7, 8, 9, 10 … (15 more)"
        );
        let few = pb::Discrepancy {
            count: 2,
            positions: vec![7, 9],
            ..Default::default()
        };
        assert_eq!(positions(&few), "7, 9");
    }
}
