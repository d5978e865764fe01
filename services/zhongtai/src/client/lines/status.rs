//! `zhongtai line status ID [--watch]`: where a line stands right now —
//! snapshot progress, source and confirmed positions, capture lag, and each
//! subscription's lag and backlog. `--watch` prints it again every second,
//! which is how long snapshots are followed.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use zhongtai_contracts::exchange::v1::{self as pb, LineState, SnapshotState};

use super::super::endpoints::TargetArgs;
use super::super::exchange::numbers::{grouped, lag};
use super::super::labels;
use super::super::output::{emit, print_details, print_proto_json, print_section, print_table};
use super::super::rpc::{self, Answer as _, Exchange};
use super::progress;
use super::view::state_with_reason;

const WATCH_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Args)]
pub struct StatusArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Line id
    id: String,
    /// Print the status again every second, until Ctrl-C
    #[arg(long)]
    watch: bool,
    /// With --watch: stop once the line is STREAMING (exit 1 if it fails
    /// or is deleted first)
    #[arg(long, requires = "watch")]
    until_streaming: bool,
    /// Print the answer as proto3 JSON (one document per refresh)
    #[arg(long)]
    json: bool,
}

pub async fn run(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let mut client = rpc::exchange(&args.target)?;
    if !args.watch {
        let status = fetch(&mut client, &args.id).await?;
        print(&status, args.json)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut first = true;
    loop {
        let answer = client
            .get_line_status(pb::GetLineStatusRequest {
                id: args.id.clone(),
            })
            .await;
        let status = match answer {
            // A center restarting mid-watch is what a watch is for: say so
            // and keep watching.
            Err(refusal) if !first && passes(refusal.code()) => {
                eprintln!(
                    "── {} ── no answer ({}); trying again",
                    labels::time(Some(&now())),
                    refusal.message()
                );
                if !wait().await {
                    return Ok(ExitCode::SUCCESS);
                }
                continue;
            }
            answer => answer.answer("get the line's status")?,
        };
        if !first && !args.json {
            emit("");
        }
        first = false;
        if !args.json {
            emit(&format!("── {} ──", labels::time(Some(&now()))));
        }
        print(&status, args.json)?;
        let state = status.line.as_ref().map(pb::Line::state);
        if args.until_streaming {
            match state {
                Some(LineState::Streaming) => return Ok(ExitCode::SUCCESS),
                Some(LineState::Failed | LineState::Deleted) => {
                    eprintln!("the line will not stream: it is {}", stopped(&status));
                    return Ok(ExitCode::FAILURE);
                }
                _ => {}
            }
        }
        if !wait().await {
            return Ok(ExitCode::SUCCESS);
        }
    }
}

/// Waits a refresh interval; false when Ctrl-C came first.
async fn wait() -> bool {
    tokio::select! {
        _ = tokio::time::sleep(WATCH_INTERVAL) => true,
        _ = tokio::signal::ctrl_c() => false,
    }
}

/// Failures that pass by themselves: the center or the network is briefly
/// away.
fn passes(code: tonic::Code) -> bool {
    matches!(
        code,
        tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Unknown
    )
}

async fn fetch(client: &mut Exchange, id: &str) -> anyhow::Result<pb::GetLineStatusResponse> {
    client
        .get_line_status(pb::GetLineStatusRequest { id: id.to_string() })
        .await
        .answer("get the line's status")
}

fn stopped(status: &pb::GetLineStatusResponse) -> String {
    status
        .line
        .as_ref()
        .map(state_with_reason)
        .unwrap_or_default()
}

fn now() -> prost_types::Timestamp {
    let at = chrono::Utc::now();
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

fn print(status: &pb::GetLineStatusResponse, json: bool) -> anyhow::Result<()> {
    if json {
        return print_proto_json(status);
    }
    let line = status.line.clone().unwrap_or_default();
    let snapshot = line.snapshot.as_ref();
    print_details(&[
        ("line", format!("{} {}", line.id, line.name)),
        ("state", state_with_reason(&line)),
        ("snapshot", progress::summary(snapshot)),
        ("source position", status.source_position.clone()),
        ("confirmed position", status.confirmed_position.clone()),
        ("capture lag", lag(status.capture_lag.as_ref())),
        (
            "last activity",
            labels::time(status.last_activity_time.as_ref()),
        ),
        (
            "captured",
            format!("{} changes", grouped(status.captured_total)),
        ),
    ]);
    if let Some(snapshot) = snapshot.filter(|s| shows_tables(s)) {
        print_section("Snapshot by table");
        let rows: Vec<Vec<String>> = snapshot
            .tables
            .iter()
            .map(|t| vec![t.table.clone(), progress::table_line(t)])
            .collect();
        print_table(&["TABLE", "PROGRESS"], &rows);
    }
    print_section("Subscriptions");
    let rows: Vec<Vec<String>> = status
        .subscriptions
        .iter()
        .map(|s| {
            vec![
                s.subscription_id.clone(),
                labels::tenant(s.subscriber.as_ref()),
                labels::short(s.state().as_str_name(), "SUBSCRIPTION_STATE_"),
                lag(s.lag.as_ref()),
                grouped(s.backlog),
            ]
        })
        .collect();
    print_table(&["ID", "SUBSCRIBER", "STATE", "LAG", "BACKLOG"], &rows);
    Ok(())
}

/// Per-table lines help while copying; once done the summary says it all.
fn shows_tables(snapshot: &pb::SnapshotProgress) -> bool {
    !snapshot.tables.is_empty()
        && matches!(
            snapshot.state(),
            SnapshotState::Running | SnapshotState::Pending | SnapshotState::Failed
        )
}
