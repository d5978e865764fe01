//! `zhongtai line push` and `line cursor`: a producer's changes, read from a
//! file of JSON lines (each a `zhongtai.exchange.v1.PushedChange` in proto3
//! JSON), streamed to a push line in bounded batches. Each run starts after
//! the line's cursor, so running it again after a broken stream resends
//! nothing the line already holds.

use std::fs::File;
use std::io::{BufRead as _, BufReader, Lines};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Args;
use prost_reflect::{DynamicMessage, MessageDescriptor};
use tonic::codegen::tokio_stream;
use zhongtai_contracts::exchange::v1::{self as pb, push_changes_request::Message};

use super::super::endpoints::TargetArgs;
use super::super::exchange::numbers::{grouped, grouped_unsigned};
use super::super::message_file;
use super::super::output::{emit, print_details, print_json};
use super::super::rpc::{self, Answer as _, Exchange};

/// Changes per stream, as the contract asks producers to bound them.
const BATCH_SIZE: usize = 10_000;
/// A full batch is published and confirmed downstream before the answer;
/// that takes longer than the few seconds a plain call is given.
const STREAM_DEADLINE: Duration = Duration::from_secs(120);
/// No single change comes near this; a longer line is not one.
const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;

#[derive(Args)]
pub struct PushArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Push line id
    id: String,
    /// File of JSON lines, one PushedChange each, sequences strictly increasing
    #[arg(short = 'f', long = "file")]
    file: PathBuf,
    /// Producer instance id, for the line's diagnostics
    #[arg(long, default_value = "zhongtai-cli")]
    producer_id: String,
    /// Print the totals as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct CursorArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Push line id
    id: String,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

pub async fn cursor(args: CursorArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::exchange(&args.target)?
        .get_push_cursor(pb::GetPushCursorRequest { line_id: args.id })
        .await
        .answer("get the push cursor")?;
    if args.json {
        super::super::output::print_proto_json(&response)?;
    } else {
        print_details(&[("acked sequence", response.acked_sequence.to_string())]);
    }
    Ok(ExitCode::SUCCESS)
}

/// What a push run did.
#[derive(Default)]
struct Totals {
    batches: u64,
    skipped: u64,
    accepted: i64,
    duplicates: i64,
    acked: u64,
}

pub async fn push(args: PushArgs) -> anyhow::Result<ExitCode> {
    let mut changes = ChangeFile::open(&args.file)?;
    let mut client = rpc::exchange(&args.target)?;
    let mut totals = Totals {
        acked: client
            .get_push_cursor(pb::GetPushCursorRequest {
                line_id: args.id.clone(),
            })
            .await
            .answer("get the push cursor")?
            .acked_sequence,
        ..Totals::default()
    };
    let json = args.json;
    let header = pb::PushHeader {
        line_id: args.id.clone(),
        producer_id: args.producer_id.clone(),
    };
    let sent = push_batches(
        std::iter::from_fn(|| changes.next_change().transpose()),
        &mut totals,
        |batch| send(client.clone(), header.clone(), batch),
        |totals, response| {
            if !json {
                emit(&format!(
                    "batch {}: accepted {}, duplicates {}, acked sequence {}",
                    totals.batches,
                    grouped(response.accepted_count),
                    grouped(response.duplicate_count),
                    totals.acked
                ));
            }
        },
    )
    .await;
    if let Err(error) = sent {
        return Err(error.context(format!(
            "pushed up to sequence {} of {} before stopping",
            totals.acked,
            args.file.display()
        )));
    }
    report(&totals, args.json)?;
    Ok(ExitCode::SUCCESS)
}

/// Sends the changes after the cursor in `totals.acked` in batches of at
/// most [`BATCH_SIZE`], one stream each; what a stream's answer does not
/// acknowledge goes again at the head of the next batch.
async fn push_batches<F>(
    changes: impl Iterator<Item = anyhow::Result<pb::PushedChange>>,
    totals: &mut Totals,
    mut send: impl FnMut(Vec<pb::PushedChange>) -> F,
    mut on_batch: impl FnMut(&Totals, &pb::PushChangesResponse),
) -> anyhow::Result<()>
where
    F: Future<Output = anyhow::Result<pb::PushChangesResponse>>,
{
    let mut changes = changes;
    let mut pending: Vec<pb::PushedChange> = Vec::new();
    loop {
        while pending.len() < BATCH_SIZE {
            let Some(change) = changes.next().transpose()? else {
                break;
            };
            if change.sequence <= totals.acked {
                totals.skipped += 1;
            } else {
                pending.push(change);
            }
        }
        if pending.is_empty() {
            return Ok(());
        }
        let response = send(pending.clone()).await?;
        totals.batches += 1;
        totals.accepted += response.accepted_count;
        totals.duplicates += response.duplicate_count;
        if response.acked_sequence <= totals.acked {
            bail!(
                "the line accepted nothing of a batch of {} changes (its cursor stays at {}); \
                 `zhongtai line status` says why",
                pending.len(),
                totals.acked
            );
        }
        totals.acked = response.acked_sequence;
        pending.retain(|c| c.sequence > totals.acked);
        on_batch(totals, &response);
    }
}

async fn send(
    mut client: Exchange,
    header: pb::PushHeader,
    changes: Vec<pb::PushedChange>,
) -> anyhow::Result<pb::PushChangesResponse> {
    let header = pb::PushChangesRequest {
        message: Some(Message::Header(header)),
    };
    let messages: Vec<pb::PushChangesRequest> = std::iter::once(header)
        .chain(changes.into_iter().map(|change| pb::PushChangesRequest {
            message: Some(Message::Change(change)),
        }))
        .collect();
    let mut request = tonic::Request::new(tokio_stream::iter(messages));
    request.set_timeout(STREAM_DEADLINE);
    client
        .push_changes(request)
        .await
        .answer("push the changes")
        .context(
            "run the same command again to go on: it resumes after the line's cursor, \
             so nothing is applied twice",
        )
}

fn report(totals: &Totals, json: bool) -> anyhow::Result<()> {
    if json {
        return print_json(&serde_json::json!({
            "batches": totals.batches,
            "acceptedCount": totals.accepted,
            "duplicateCount": totals.duplicates,
            "skippedCount": totals.skipped,
            "ackedSequence": totals.acked.to_string(),
        }));
    }
    print_details(&[
        ("accepted", grouped(totals.accepted)),
        ("duplicates", grouped(totals.duplicates)),
        (
            "skipped",
            format!(
                "{} (at or below the line's cursor)",
                grouped_unsigned(totals.skipped)
            ),
        ),
        ("acked sequence", totals.acked.to_string()),
    ]);
    Ok(())
}

/// The changes of a JSON-lines file, read one at a time, with their
/// sequences checked to increase.
struct ChangeFile {
    path: PathBuf,
    lines: Lines<BufReader<File>>,
    line_number: usize,
    last_sequence: u64,
    descriptor: MessageDescriptor,
}

impl ChangeFile {
    fn open(path: &Path) -> anyhow::Result<Self> {
        let file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        Ok(Self {
            path: path.to_path_buf(),
            lines: BufReader::new(file).lines(),
            line_number: 0,
            last_sequence: 0,
            descriptor: message_file::descriptor::<pb::PushedChange>()
                .map_err(anyhow::Error::msg)?,
        })
    }

    fn next_change(&mut self) -> anyhow::Result<Option<pb::PushedChange>> {
        loop {
            let Some(line) = self.lines.next() else {
                return Ok(None);
            };
            self.line_number += 1;
            let line = line.with_context(|| format!("cannot read {}", self.path.display()))?;
            if line.trim().is_empty() {
                continue;
            }
            let change =
                parse_change(&self.descriptor, &line, self.last_sequence).map_err(|problem| {
                    anyhow::anyhow!("{}:{}: {problem}", self.path.display(), self.line_number)
                })?;
            self.last_sequence = change.sequence;
            return Ok(Some(change));
        }
    }
}

/// One line as a PushedChange whose sequence follows `after`.
fn parse_change(
    descriptor: &MessageDescriptor,
    line: &str,
    after: u64,
) -> Result<pb::PushedChange, String> {
    if line.len() > MAX_LINE_BYTES {
        return Err(format!("longer than {MAX_LINE_BYTES} bytes"));
    }
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let change = DynamicMessage::deserialize(descriptor.clone(), &value)
        .map_err(|e| format!("not a PushedChange: {e}"))?
        .transcode_to::<pb::PushedChange>()
        .map_err(|e| format!("not a PushedChange: {e}"))?;
    if change.sequence == 0 {
        return Err("sequence must be 1 or more".into());
    }
    if change.sequence <= after {
        return Err(format!(
            "sequence {} does not follow {after}; sequences must strictly increase",
            change.sequence
        ));
    }
    Ok(change)
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    fn numbered(sequence: u64) -> anyhow::Result<pb::PushedChange> {
        Ok(pb::PushedChange {
            sequence,
            table: "public.permit".into(),
            ..Default::default()
        })
    }

    /// A line that accepts at most `take` changes of each stream.
    async fn push_to_line(
        cursor: u64,
        sequences: impl Iterator<Item = u64>,
        take: usize,
    ) -> (Totals, Vec<(u64, u64, usize)>) {
        let streams = RefCell::new(Vec::new());
        let mut totals = Totals {
            acked: cursor,
            ..Totals::default()
        };
        push_batches(
            sequences.map(numbered),
            &mut totals,
            |batch| {
                let first = batch.first().map_or(0, |c| c.sequence);
                let accepted = &batch[..batch.len().min(take)];
                let last = accepted.last().map_or(0, |c| c.sequence);
                streams.borrow_mut().push((first, last, batch.len()));
                let count = accepted.len() as i64;
                async move {
                    Ok(pb::PushChangesResponse {
                        acked_sequence: last,
                        accepted_count: count,
                        duplicate_count: 0,
                    })
                }
            },
            |_, _| {},
        )
        .await
        .unwrap();
        (totals, streams.into_inner())
    }

    #[tokio::test]
    async fn pushes_resume_after_the_cursor_in_bounded_streams() {
        let (totals, streams) = push_to_line(100, 1..=25_000, usize::MAX).await;
        assert_eq!(
            streams,
            [
                (101, 10_100, 10_000),
                (10_101, 20_100, 10_000),
                (20_101, 25_000, 4_900)
            ]
        );
        assert_eq!(totals.skipped, 100);
        assert_eq!(totals.accepted, 24_900);
        assert_eq!(totals.acked, 25_000);
    }

    #[tokio::test]
    async fn what_a_stream_leaves_unacknowledged_goes_again() {
        let (totals, streams) = push_to_line(0, 1..=12, 5).await;
        assert_eq!(streams, [(1, 5, 12), (6, 10, 7), (11, 12, 2)]);
        assert_eq!(totals.accepted, 12);
        assert_eq!(totals.batches, 3);
    }

    #[tokio::test]
    async fn a_line_that_accepts_nothing_stops_the_push() {
        let mut totals = Totals::default();
        let stuck = push_batches(
            (1..=3).map(numbered),
            &mut totals,
            |_| async { Ok(pb::PushChangesResponse::default()) },
            |_, _| {},
        )
        .await
        .unwrap_err();
        assert!(stuck.to_string().contains("accepted nothing"), "{stuck}");
    }

    fn descriptor() -> MessageDescriptor {
        message_file::descriptor::<pb::PushedChange>().unwrap()
    }

    #[test]
    fn json_lines_become_pushed_changes() {
        let line = r#"{"sequence": "7", "table": "public.permit", "operation": "CHANGE_OPERATION_INSERT",
            "key": [{"name": "permit_id", "stringValue": "P-7"}],
            "after": [{"name": "permit_id", "stringValue": "P-7"}, {"name": "floors", "intValue": "3"}],
            "commitTime": "2026-12-01T08:00:00Z"}"#;
        let change = parse_change(&descriptor(), line, 6).unwrap();
        assert_eq!(change.sequence, 7);
        assert_eq!(change.operation(), pb::ChangeOperation::Insert);
        assert_eq!(change.after.len(), 2);
        assert_eq!(change.commit_time.map(|t| t.seconds), Some(1_796_112_000));
    }

    #[test]
    fn sequences_must_increase_and_lines_must_be_changes() {
        let change = |sequence: u64| format!(r#"{{"sequence": {sequence}, "table": "t"}}"#);
        let stale = parse_change(&descriptor(), &change(5), 5).unwrap_err();
        assert!(stale.contains("strictly increase"), "{stale}");
        assert!(parse_change(&descriptor(), &change(0), 0).is_err());
        let unknown = parse_change(&descriptor(), r#"{"seq": 1}"#, 0).unwrap_err();
        assert!(unknown.contains("not a PushedChange"), "{unknown}");
        assert!(
            parse_change(&descriptor(), "{", 0)
                .unwrap_err()
                .contains("not JSON")
        );
    }
}
