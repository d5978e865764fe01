//! Reading a holder's data within a consent, and the log of every attempt.

use std::process::ExitCode;

use clap::Args;
use zhongtai_contracts::certificate::v1 as pb;

use super::super::certificates::view::{print_claims, status};
use super::super::endpoints::TargetArgs;
use super::super::flags::{PageArgs, RequestIdArg};
use super::super::labels;
use super::super::output::{
    emit, print_details, print_next_page, print_proto_json, print_section, print_table,
};
use super::super::rpc::{self, Answer as _};

#[derive(Args)]
pub struct ReadArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Consent id
    id: String,
    #[command(flatten)]
    request_id: RequestIdArg,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct UsageArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Consent id
    id: String,
    #[command(flatten)]
    page: PageArgs,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

pub async fn read(args: ReadArgs) -> anyhow::Result<ExitCode> {
    let request_id = args.request_id.resolve("");
    let response = rpc::consents(&args.target)?
        .read_consented_data(pb::ReadConsentedDataRequest {
            request_id: request_id.clone(),
            consent_id: args.id,
        })
        .await
        .answer_once("read the consented data", &request_id)?;
    if args.json {
        print_proto_json(&response)?;
        return Ok(ExitCode::SUCCESS);
    }
    let usage = response.usage.clone().unwrap_or_default();
    print_details(&[
        ("read", usage.read_number.to_string()),
        ("reads remaining", response.reads_remaining.to_string()),
        ("logged as", usage.id.clone()),
    ]);
    if response.certificates.is_empty() {
        print_section("Certificates");
        emit("(none)");
    }
    for certificate in &response.certificates {
        print_section(&format!(
            "{} {} ({})",
            certificate.certificate_type,
            certificate.certificate_id,
            status(certificate.status())
        ));
        print_claims(&certificate.claims);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn usage(args: UsageArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::consents(&args.target)?
        .list_consent_usage(pb::ListConsentUsageRequest {
            page: args.page.request(),
            consent_id: args.id,
        })
        .await
        .answer("list the consent's usage")?;
    if args.json {
        print_proto_json(&response)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = response
        .usages
        .iter()
        .map(|u| {
            vec![
                labels::time(u.time.as_ref()),
                labels::short(u.outcome().as_str_name(), "CONSENT_USAGE_OUTCOME_"),
                match u.read_number {
                    0 => String::new(),
                    n => n.to_string(),
                },
                labels::actor(u.reader.as_ref()),
                u.certificate_ids.len().to_string(),
                labels::list(&u.claims),
            ]
        })
        .collect();
    print_table(
        &[
            "TIME",
            "OUTCOME",
            "READ",
            "READER",
            "CERTIFICATES",
            "CLAIMS",
        ],
        &rows,
    );
    print_next_page(response.page.as_ref());
    Ok(ExitCode::SUCCESS)
}
