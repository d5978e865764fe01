//! `zhongtai line trace`: one record's changes, and for each the journey to
//! every subscription — commit, capture, publish, deliver, apply, as
//! milliseconds after the source commit — with the last hop reached.

use std::process::ExitCode;

use clap::{ArgGroup, Args};
use zhongtai_contracts::exchange::v1::{self as pb, trace_record_request::Locator};

use super::super::endpoints::TargetArgs;
use super::super::exchange::numbers::{lag, offset_ms};
use super::super::exchange::values::{self, pairs};
use super::super::labels;
use super::super::output::{emit, print_details, print_proto_json, print_section, print_table};
use super::super::rpc::{self, Answer as _};
use super::reconcile::hop;

#[derive(Args)]
#[command(group(ArgGroup::new("record").required(true).args(["key", "position", "change_id"])))]
pub struct TraceArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Line id
    id: String,
    /// Schema-qualified source table, with --key
    #[arg(long, requires = "key")]
    table: Option<String>,
    /// The row's key: col=value[,col=value], every change to it newest
    /// first; a column that is not text names its type, e.g. seq:int=2
    /// (types: int, double, numeric, bool, date, timestamp)
    #[arg(long, requires = "table", value_parser = record_key)]
    key: Option<RecordKeyColumns>,
    /// The changes at this source position
    #[arg(long)]
    position: Option<u64>,
    /// One change by id (<line id>:<position>:<index>)
    #[arg(long)]
    change_id: Option<String>,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

/// The key columns of `--key`, as one value.
#[derive(Clone)]
pub struct RecordKeyColumns(Vec<pb::ColumnValue>);

fn record_key(value: &str) -> Result<RecordKeyColumns, String> {
    values::key_flag(value).map(RecordKeyColumns)
}

pub async fn run(args: TraceArgs) -> anyhow::Result<ExitCode> {
    let locator = match (args.key, args.position, args.change_id) {
        (Some(RecordKeyColumns(columns)), _, _) => Locator::Key(pb::RecordKey {
            table: args.table.unwrap_or_default(),
            columns,
        }),
        (None, Some(position), _) => Locator::Position(position),
        (None, None, Some(change_id)) => Locator::ChangeId(change_id),
        (None, None, None) => {
            anyhow::bail!("name the record: --table and --key, --position or --change-id")
        }
    };
    let text_key = matches!(&locator, Locator::Key(key) if key.columns.iter().all(|c| {
        matches!(c.value, Some(pb::column_value::Value::StringValue(_)))
    }));
    let response = rpc::exchange(&args.target)?
        .trace_record(pb::TraceRecordRequest {
            line_id: args.id,
            locator: Some(locator),
        })
        .await
        .answer("trace the record")?;
    if args.json {
        print_proto_json(&response)?;
        return Ok(ExitCode::SUCCESS);
    }
    if response.traces.is_empty() {
        emit("no change of this record was found on the line");
        if text_key {
            emit("(key values went as text; a column of another type names it, e.g. id:int=42)");
        }
        return Ok(ExitCode::SUCCESS);
    }
    for (i, trace) in response.traces.iter().enumerate() {
        if i > 0 {
            emit("");
        }
        show(trace);
    }
    Ok(ExitCode::SUCCESS)
}

fn show(trace: &pb::RecordTrace) {
    let change = trace.change.clone().unwrap_or_default();
    let hops = change.hops.unwrap_or_default();
    print_details(&[
        ("change", change.change_id.clone()),
        ("position", change.position_text.clone()),
        (
            "operation",
            labels::short(change.operation().as_str_name(), "CHANGE_OPERATION_"),
        ),
        ("table", change.table.clone()),
        ("key", pairs(&change.key)),
        ("transaction", change.transaction_id.clone()),
        ("committed", labels::time(hops.commit_time.as_ref())),
        (
            "captured",
            after_commit(hops.commit_time.as_ref(), hops.capture_time.as_ref()),
        ),
    ]);
    print_section("Deliveries");
    let rows: Vec<Vec<String>> = trace
        .deliveries
        .iter()
        .map(|d| {
            let at = d.hops.unwrap_or_default();
            let commit = at.commit_time.or(hops.commit_time);
            let since = |t: Option<&prost_types::Timestamp>| after_commit(commit.as_ref(), t);
            vec![
                d.subscription_id.clone(),
                d.subscriber.clone(),
                since(at.capture_time.as_ref()),
                since(at.publish_time.as_ref()),
                since(at.deliver_time.as_ref()),
                since(at.apply_time.as_ref()),
                hop(d.last_hop()),
                if d.filtered_out { "yes" } else { "no" }.into(),
                lag(d.end_to_end_latency.as_ref()),
            ]
        })
        .collect();
    print_table(
        &[
            "SUBSCRIPTION",
            "SUBSCRIBER",
            "CAPTURE",
            "PUBLISH",
            "DELIVER",
            "APPLY",
            "LAST HOP",
            "FILTERED",
            "END TO END",
        ],
        &rows,
    );
}

/// `+12 ms` after the commit; `-` when the hop was not reached.
fn after_commit(
    commit: Option<&prost_types::Timestamp>,
    at: Option<&prost_types::Timestamp>,
) -> String {
    match offset_ms(commit, at) {
        Some(ms) => format!("+{ms} ms"),
        None if at.is_some() => labels::time(at),
        None => "-".into(),
    }
}

#[cfg(test)]
mod tests {
    use prost_types::Timestamp;

    use super::*;

    #[test]
    fn hops_read_as_offsets_from_the_commit() {
        let commit = Timestamp {
            seconds: 10,
            nanos: 0,
        };
        let applied = Timestamp {
            seconds: 10,
            nanos: 48_000_000,
        };
        assert_eq!(after_commit(Some(&commit), Some(&applied)), "+48 ms");
        assert_eq!(after_commit(Some(&commit), None), "-");
    }
}
