//! What the gateway saw: `zhongtai usage` (quota use per capability and
//! window), `zhongtai gateway audit` (audited calls, newest first) and
//! `zhongtai gateway openapi` (the document integrators build against).

use std::process::ExitCode;

use clap::{Args, Subcommand};
use prost_types::Timestamp;
use zhongtai_contracts::common::v1::{PageRequest, Period};
use zhongtai_contracts::gateway::v1 as pb;

use super::values;
use crate::client::endpoints::TargetArgs;
use crate::client::flags;
use crate::client::labels;
use crate::client::output::{emit, print_next_page, print_proto_json, print_table};
use crate::client::rpc::{self, Answer as _};

#[derive(Args)]
pub struct UsageArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// App id
    #[arg(long, value_parser = values::app_id)]
    app: String,
    /// Only this capability
    #[arg(long, value_parser = values::capability)]
    capability: Option<String>,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
pub enum GatewayCommand {
    /// Audited calls through the gateway, newest first
    Audit(AuditArgs),
    /// The OpenAPI 3.1 document of the published capabilities
    Openapi(OpenApiArgs),
}

#[derive(Args)]
pub struct AuditArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Only this app's calls
    #[arg(long, value_parser = values::app_id)]
    app: Option<String>,
    /// Only calls of this capability
    #[arg(long, value_parser = values::capability)]
    capability: Option<String>,
    /// Only these outcomes, e.g. shed,rejected-limit (comma-separated or repeated)
    #[arg(long = "outcome", value_delimiter = ',',
          value_parser = flags::enum_value("zhongtai.gateway.v1.CallOutcome"))]
    outcomes: Vec<i32>,
    /// Only calls of this W3C trace id
    #[arg(long)]
    trace: Option<String>,
    /// From this day (UTC+8) or RFC 3339 time
    #[arg(long, value_parser = flags::from)]
    from: Option<Timestamp>,
    /// Until the end of this day (UTC+8), or this RFC 3339 time
    #[arg(long, value_parser = flags::until)]
    until: Option<Timestamp>,
    /// Records to show (the server caps it at 500)
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i32).range(1..=500))]
    limit: i32,
    /// Cursor printed under the previous page
    #[arg(long, default_value = "")]
    page_token: String,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct OpenApiArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Only the capabilities this app may call
    #[arg(long, value_parser = values::app_id)]
    app: Option<String>,
    /// YAML instead of JSON
    #[arg(long)]
    yaml: bool,
    /// Print the whole answer (document, media type, etag) as proto3 JSON
    #[arg(long)]
    json: bool,
}

/// `zhongtai usage`.
pub async fn usage(args: UsageArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::gateway(&args.target)?
        .get_usage(pb::GetUsageRequest {
            app_id: args.app,
            capability: args.capability.unwrap_or_default(),
        })
        .await
        .answer("get the usage")?;
    if args.json {
        print_proto_json(&response)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = response
        .usages
        .iter()
        .map(|u| {
            vec![
                u.capability.clone(),
                labels::short(u.window().as_str_name(), "QUOTA_WINDOW_"),
                u.used.to_string(),
                u.limit.to_string(),
                u.remaining.to_string(),
                labels::time(u.window_end_time.as_ref()),
            ]
        })
        .collect();
    print_table(
        &[
            "CAPABILITY",
            "WINDOW",
            "USED",
            "LIMIT",
            "REMAINING",
            "RESETS",
        ],
        &rows,
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn run(command: GatewayCommand) -> anyhow::Result<ExitCode> {
    match command {
        GatewayCommand::Audit(args) => audit(args).await,
        GatewayCommand::Openapi(args) => {
            let response = rpc::gateway(&args.target)?
                .get_open_api_document(openapi_request(&args))
                .await
                .answer("get the OpenAPI document")?;
            if args.json {
                print_proto_json(&response)?;
            } else {
                emit(response.document.trim_end());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The ListAuditRecords request the flags describe.
pub fn audit_request(args: &AuditArgs) -> pb::ListAuditRecordsRequest {
    let period = (args.from.is_some() || args.until.is_some()).then_some(Period {
        start_time: args.from,
        end_time: args.until,
    });
    pb::ListAuditRecordsRequest {
        page: Some(PageRequest {
            page_size: args.limit,
            page_token: args.page_token.clone(),
        }),
        app_id: args.app.clone().unwrap_or_default(),
        capability: args.capability.clone().unwrap_or_default(),
        outcomes: args.outcomes.clone(),
        period,
        trace_id: args.trace.clone().unwrap_or_default(),
    }
}

/// The GetOpenApiDocument request the flags describe.
pub fn openapi_request(args: &OpenApiArgs) -> pb::GetOpenApiDocumentRequest {
    pb::GetOpenApiDocumentRequest {
        app_id: args.app.clone().unwrap_or_default(),
        format: if args.yaml {
            pb::OpenApiFormat::Yaml
        } else {
            pb::OpenApiFormat::Json
        } as i32,
    }
}

async fn audit(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::gateway(&args.target)?
        .list_audit_records(audit_request(&args))
        .await
        .answer("list audit records")?;
    if args.json {
        print_proto_json(&response)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = response.records.iter().map(audit_row).collect();
    print_table(
        &[
            "TIME",
            "APP",
            "CAPABILITY",
            "CALL",
            "OUTCOME",
            "STATUS",
            "LATENCY",
            "REASON",
            "TRACE",
        ],
        &rows,
    );
    print_next_page(response.page.as_ref());
    Ok(ExitCode::SUCCESS)
}

/// One audited call as a table row.
pub fn audit_row(record: &pb::AuditRecord) -> Vec<String> {
    let capability = match record.capability_version.as_str() {
        "" => record.capability.clone(),
        version => format!("{} {version}", record.capability),
    };
    let call = match record.protocol() {
        pb::CallProtocol::Grpc => format!("gRPC {}", labels::clip(&record.path, 50)),
        _ => format!("{} {}", record.http_method, labels::clip(&record.path, 50)),
    };
    let status = match record.protocol() {
        pb::CallProtocol::Grpc => format!("grpc {}", record.grpc_code),
        _ => record.http_status.to_string(),
    };
    vec![
        labels::time(record.time.as_ref()),
        record.app_id.clone(),
        capability,
        call,
        labels::short(record.outcome().as_str_name(), "CALL_OUTCOME_"),
        status,
        latency(record.latency.as_ref()),
        record.error_reason.clone(),
        record.trace_id.clone(),
    ]
}

/// `12.5ms`, `2.00s`.
fn latency(latency: Option<&prost_types::Duration>) -> String {
    let Some(latency) = latency else {
        return String::new();
    };
    let micros = latency.seconds.saturating_mul(1_000_000) + i64::from(latency.nanos / 1000);
    if micros >= 1_000_000 {
        format!("{:.2}s", micros as f64 / 1e6)
    } else {
        format!("{:.1}ms", micros as f64 / 1e3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_read_in_milliseconds_or_seconds() {
        let d = |seconds, nanos| prost_types::Duration { seconds, nanos };
        assert_eq!(latency(Some(&d(0, 12_500_000))), "12.5ms");
        assert_eq!(latency(Some(&d(2, 0))), "2.00s");
        assert_eq!(latency(None), "");
    }
}
