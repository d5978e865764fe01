//! The line commands end to end against a stand-in exchange center on
//! loopback: what they send, and the exit status they end with.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::Parser;
use tonic::{Request, Response, Status, Streaming};
use zhongtai_contracts::exchange::v1::exchange_service_server::{
    ExchangeService, ExchangeServiceServer,
};
use zhongtai_contracts::exchange::v1::{self as pb, LineState, ReconciliationVerdict};

use super::super::endpoints::{ENDPOINTS_FILE, Endpoints};
use super::LineCommand;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    line: LineCommand,
}

/// Answers given in turn, and what was asked.
#[derive(Default)]
struct Center {
    line_states: Mutex<VecDeque<LineState>>,
    /// The status call (counted from 1) answered UNAVAILABLE.
    unavailable_at_call: Option<usize>,
    verdict: Mutex<ReconciliationVerdict>,
    cursor: Mutex<u64>,
    asked: Mutex<Vec<String>>,
    pushed: Mutex<Vec<Vec<u64>>>,
    reconciliations: Mutex<Vec<pb::GetReconciliationReportRequest>>,
    traces: Mutex<Vec<pb::TraceRecordRequest>>,
}

fn held<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Clone)]
struct Shared(Arc<Center>);

#[tonic::async_trait]
impl ExchangeService for Shared {
    async fn get_line_status(
        &self,
        request: Request<pb::GetLineStatusRequest>,
    ) -> Result<Response<pb::GetLineStatusResponse>, Status> {
        let call = {
            let mut asked = held(&self.0.asked);
            asked.push(format!("status {}", request.get_ref().id));
            asked.len()
        };
        if self.0.unavailable_at_call == Some(call) {
            return Err(Status::unavailable("the center is restarting"));
        }
        let state = {
            let mut states = held(&self.0.line_states);
            if states.len() > 1 {
                states.pop_front()
            } else {
                states.front().copied()
            }
        }
        .unwrap_or(LineState::Streaming);
        Ok(Response::new(pb::GetLineStatusResponse {
            line: Some(pb::Line {
                id: request.into_inner().id,
                name: "marriage-registration".into(),
                state: state as i32,
                snapshot: Some(pb::SnapshotProgress {
                    state: pb::SnapshotState::Running as i32,
                    rows_done: 61_234,
                    rows_total: 100_000,
                    rows_per_second: 8_120.0,
                    eta: Some(prost_types::Duration {
                        seconds: 5,
                        nanos: 0,
                    }),
                    tables: vec![
                        pb::TableSnapshotProgress {
                            table: "public.marriage_registration".into(),
                            rows_done: 51_234,
                            rows_total: 90_000,
                            completed: false,
                        },
                        pb::TableSnapshotProgress {
                            table: "public.divorce_registration".into(),
                            rows_done: 10_000,
                            rows_total: 10_000,
                            completed: true,
                        },
                    ],
                    ..Default::default()
                }),
                ..Default::default()
            }),
            source_position: "0/16B3748".into(),
            confirmed_position: "0/16B3700".into(),
            capture_lag: Some(prost_types::Duration {
                seconds: 0,
                nanos: 120_000_000,
            }),
            captured_total: 61_234,
            subscriptions: vec![pb::SubscriptionLag {
                subscription_id: "s-1".into(),
                subscriber: Some(zhongtai_contracts::common::v1::Tenant {
                    division_code: "330000".into(),
                    department: "housing-fund".into(),
                }),
                state: pb::SubscriptionState::Active as i32,
                lag: Some(prost_types::Duration {
                    seconds: 0,
                    nanos: 450_000_000,
                }),
                backlog: 1_204,
            }],
            ..Default::default()
        }))
    }

    async fn get_reconciliation_report(
        &self,
        request: Request<pb::GetReconciliationReportRequest>,
    ) -> Result<Response<pb::GetReconciliationReportResponse>, Status> {
        held(&self.0.reconciliations).push(request.into_inner());
        let verdict = *held(&self.0.verdict);
        let discrepancies = if verdict == ReconciliationVerdict::Discrepant {
            vec![pb::Discrepancy {
                kind: pb::DiscrepancyKind::Missing as i32,
                hop: pb::Hop::Delivered as i32,
                subscription_id: "s-1".into(),
                count: 2,
                positions: vec![23_901_000, 23_901_200],
                detail: "2 changes published but not delivered to subscription s-1".into(),
                ..Default::default()
            }]
        } else {
            Vec::new()
        };
        Ok(Response::new(pb::GetReconciliationReportResponse {
            report: Some(pb::ReconciliationReport {
                verdict: verdict as i32,
                tallies: vec![pb::HopTally {
                    hop: pb::Hop::Captured as i32,
                    count: 12,
                    checksum: "9f86d081884c7d659a2feaa0c55ad015".into(),
                    ..Default::default()
                }],
                discrepancies,
                ..Default::default()
            }),
        }))
    }

    async fn trace_record(
        &self,
        request: Request<pb::TraceRecordRequest>,
    ) -> Result<Response<pb::TraceRecordResponse>, Status> {
        let request = request.into_inner();
        let found = matches!(
            request.locator,
            Some(pb::trace_record_request::Locator::Position(_))
        );
        held(&self.0.traces).push(request);
        if !found {
            return Ok(Response::new(pb::TraceRecordResponse::default()));
        }
        let at = |ms: i64| prost_types::Timestamp {
            seconds: 1_796_112_000 + ms / 1000,
            nanos: i32::try_from((ms % 1000) * 1_000_000).unwrap_or(0),
        };
        let hops = pb::HopTimestamps {
            commit_time: Some(at(0)),
            capture_time: Some(at(4)),
            publish_time: Some(at(9)),
            deliver_time: Some(at(15)),
            apply_time: Some(at(21)),
        };
        Ok(Response::new(pb::TraceRecordResponse {
            traces: vec![pb::RecordTrace {
                change: Some(pb::ChangeRecord {
                    change_id: "l-1:23901000:0".into(),
                    position: 23_901_000,
                    position_text: "0/16CB4C8".into(),
                    table: "public.marriage_registration".into(),
                    operation: pb::ChangeOperation::Insert as i32,
                    key: vec![pb::ColumnValue {
                        name: "registration_id".into(),
                        value: Some(pb::column_value::Value::StringValue("MR2026-0001".into())),
                        unchanged: false,
                    }],
                    hops: Some(hops),
                    ..Default::default()
                }),
                deliveries: vec![
                    pb::DeliveryTrace {
                        subscription_id: "s-1".into(),
                        subscriber: "330000/housing-fund".into(),
                        hops: Some(hops),
                        last_hop: pb::Hop::Applied as i32,
                        filtered_out: false,
                        end_to_end_latency: Some(prost_types::Duration {
                            seconds: 0,
                            nanos: 21_000_000,
                        }),
                    },
                    pb::DeliveryTrace {
                        subscription_id: "s-2".into(),
                        subscriber: "331121".into(),
                        hops: Some(pb::HopTimestamps {
                            deliver_time: None,
                            apply_time: None,
                            ..hops
                        }),
                        last_hop: pb::Hop::Published as i32,
                        filtered_out: true,
                        end_to_end_latency: None,
                    },
                ],
            }],
        }))
    }

    async fn get_push_cursor(
        &self,
        _request: Request<pb::GetPushCursorRequest>,
    ) -> Result<Response<pb::GetPushCursorResponse>, Status> {
        Ok(Response::new(pb::GetPushCursorResponse {
            acked_sequence: *held(&self.0.cursor),
        }))
    }

    async fn push_changes(
        &self,
        request: Request<Streaming<pb::PushChangesRequest>>,
    ) -> Result<Response<pb::PushChangesResponse>, Status> {
        use pb::push_changes_request::Message;
        let mut stream = request.into_inner();
        let mut sequences = Vec::new();
        let mut headed = false;
        while let Some(message) = stream.message().await? {
            match message.message {
                Some(Message::Header(_)) if sequences.is_empty() => headed = true,
                Some(Message::Change(change)) if headed => sequences.push(change.sequence),
                _ => return Err(Status::invalid_argument("header first, then changes")),
            }
        }
        let acked = sequences.last().copied().unwrap_or(0);
        *held(&self.0.cursor) = acked;
        let accepted = sequences.len() as i64;
        held(&self.0.pushed).push(sequences);
        Ok(Response::new(pb::PushChangesResponse {
            acked_sequence: acked,
            accepted_count: accepted,
            duplicate_count: 0,
        }))
    }
}

/// A stand-in center on a free loopback port, found through an endpoints
/// file in its own folder.
struct Running {
    center: Arc<Center>,
    data_dir: PathBuf,
}

impl Running {
    async fn start(center: Center) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let center = Arc::new(center);
        let service = ExchangeServiceServer::new(Shared(center.clone()));
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
        );
        let data_dir = std::env::temp_dir().join(format!("zt-line-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&data_dir).unwrap();
        Endpoints {
            services: BTreeMap::from([("exchange".to_string(), address.to_string())]),
            metrics: None,
            http: BTreeMap::new(),
            version: String::new(),
        }
        .write(&data_dir.join(ENDPOINTS_FILE))
        .unwrap();
        Self { center, data_dir }
    }

    async fn run(&self, args: &[&str]) -> anyhow::Result<ExitCode> {
        let data_dir = self.data_dir.display().to_string();
        let argv = ["zhongtai"]
            .into_iter()
            .chain(args.iter().copied())
            .chain(["--data-dir", data_dir.as_str()]);
        let cli = Cli::try_parse_from(argv)?;
        super::run(cli.line).await
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

#[tokio::test]
async fn reconcile_exits_with_its_verdict_over_the_asked_window() {
    let running = Running::start(Center::default()).await;
    for (verdict, expected) in [
        (ReconciliationVerdict::Balanced, ExitCode::SUCCESS),
        (ReconciliationVerdict::Discrepant, ExitCode::FAILURE),
        (ReconciliationVerdict::InProgress, ExitCode::SUCCESS),
    ] {
        *held(&running.center.verdict) = verdict;
        let code = running
            .run(&["reconcile", "l-1", "--from", "-5m", "--subscription", "s-1"])
            .await
            .unwrap();
        assert_eq!(code, expected, "{verdict:?}");
    }
    let asked = held(&running.center.reconciliations);
    let request = &asked[0];
    assert_eq!(request.line_id, "l-1");
    assert_eq!(request.subscription_ids, ["s-1"]);
    let start = request.window_start_time.unwrap().seconds;
    let five_minutes_ago = chrono::Utc::now().timestamp() - 300;
    assert!((start - five_minutes_ago).abs() < 60, "{start}");
    assert!(request.window_end_time.is_none());
}

#[tokio::test]
async fn status_watches_until_the_line_streams_or_fails() {
    let streams = Center {
        line_states: Mutex::new(
            [
                LineState::Snapshotting,
                LineState::Snapshotting,
                LineState::Streaming,
            ]
            .into(),
        ),
        ..Center::default()
    };
    let running = Running::start(streams).await;
    let code = running
        .run(&["status", "l-1", "--watch", "--until-streaming"])
        .await
        .unwrap();
    assert_eq!(code, ExitCode::SUCCESS);
    assert_eq!(held(&running.center.asked).len(), 3);

    let fails = Center {
        line_states: Mutex::new([LineState::Failed].into()),
        ..Center::default()
    };
    let running = Running::start(fails).await;
    let code = running
        .run(&["status", "l-1", "--watch", "--until-streaming"])
        .await
        .unwrap();
    assert_eq!(code, ExitCode::FAILURE);
}

#[tokio::test]
async fn a_watch_outlasts_a_center_that_is_briefly_away() {
    // The channel retries an idempotent call the center refused as
    // unavailable; whatever it cannot hide, the watch reports and outlasts.
    let restarting = Center {
        line_states: Mutex::new([LineState::Snapshotting, LineState::Streaming].into()),
        unavailable_at_call: Some(2),
        ..Center::default()
    };
    let running = Running::start(restarting).await;
    let code = running
        .run(&["status", "l-1", "--watch", "--until-streaming"])
        .await
        .unwrap();
    assert_eq!(code, ExitCode::SUCCESS);
    assert_eq!(held(&running.center.asked).len(), 3);
}

#[tokio::test]
async fn trace_sends_the_key_it_was_given() {
    let running = Running::start(Center::default()).await;
    running
        .run(&[
            "trace",
            "l-1",
            "--table",
            "public.marriage_registration",
            "--key",
            "registration_id=MR2026-0001",
        ])
        .await
        .unwrap();
    let traced = held(&running.center.traces).remove(0);
    let Some(pb::trace_record_request::Locator::Key(key)) = traced.locator else {
        panic!("traced by key");
    };
    assert_eq!(key.table, "public.marriage_registration");
    assert_eq!(key.columns[0].name, "registration_id");
    let code = running
        .run(&["trace", "l-1", "--position", "23901000"])
        .await
        .unwrap();
    assert_eq!(code, ExitCode::SUCCESS);
    let refused = running.run(&["trace", "l-1", "--key", "a=1"]).await;
    assert!(refused.is_err(), "--key needs --table");
}

#[tokio::test]
async fn push_resumes_after_the_cursor() {
    let center = Center {
        cursor: Mutex::new(10),
        ..Center::default()
    };
    let running = Running::start(center).await;
    let file = running.data_dir.join("changes.jsonl");
    let lines: Vec<String> = (1..=25)
        .map(|sequence| format!(r#"{{"sequence": {sequence}, "table": "public.permit"}}"#))
        .collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    let path = file.display().to_string();
    let code = running
        .run(&["push", "l-1", "-f", path.as_str()])
        .await
        .unwrap();
    assert_eq!(code, ExitCode::SUCCESS);
    assert_eq!(
        *held(&running.center.pushed),
        [(11..=25).collect::<Vec<u64>>()]
    );
    // Everything is acknowledged now: a second run sends nothing.
    running
        .run(&["push", "l-1", "-f", path.as_str()])
        .await
        .unwrap();
    assert_eq!(held(&running.center.pushed).len(), 1);
}
