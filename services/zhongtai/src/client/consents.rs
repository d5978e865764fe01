//! `zhongtai consent …`: three-party unlock (三解锁). A third party's app
//! asks to read a holder's certificate data for a purpose, a period and a
//! number of reads; the custodian department, the platform and the holder
//! each unlock it; reads within it are logged and counted.

mod reads;
mod view;

use std::process::ExitCode;

use clap::{Args, Subcommand};
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::common::v1::{Period, Person, Tenant};

use super::certificates::values;
use super::endpoints::TargetArgs;
use super::flags::{self, PageArgs, RequestIdArg};
use super::output::{print_next_page, print_proto_json};
use super::rpc::{self, Answer as _};

#[derive(Subcommand)]
pub enum ConsentCommand {
    /// Ask for a holder's certificate data (as the integrator app)
    Request(RequestArgs),
    /// Show one consent with its unlocks
    Get(GetArgs),
    /// Consents you are a party to, newest first
    List(ListArgs),
    /// Unlock a consent for your party; the third unlock makes it ACTIVE
    Unlock(UnlockArgs),
    /// Refuse to unlock: the consent ends DECLINED
    Decline(EndArgs),
    /// Revoke a consent: reads are refused from now on
    Revoke(EndArgs),
    /// Read the holder's data within the consent (as the app); counted against its limit
    Read(reads::ReadArgs),
    /// Every read attempt, allowed or refused, newest first
    Usage(reads::UsageArgs),
}

#[derive(Args)]
pub struct RequestArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Requesting app id (your app)
    #[arg(long)]
    app: String,
    /// Display name of the requesting organisation
    #[arg(long)]
    requester: String,
    /// The data subject: NAME:IDNUMBER, or NAME:ID-TYPE:NUMBER
    #[arg(long, value_parser = values::person)]
    person: Person,
    /// Custodian department of the data, e.g. 331100/human-resources
    #[arg(long, value_parser = flags::tenant)]
    custodian: Tenant,
    /// Certificate type code in scope (repeatable)
    #[arg(long = "type", required = true)]
    types: Vec<String>,
    /// Claim name in scope (repeatable; default: every claim of those types)
    #[arg(long = "claim")]
    claims: Vec<String>,
    /// What the data is for
    #[arg(long)]
    purpose: String,
    /// How many days from now reads are allowed
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=366))]
    days: u32,
    /// Maximum number of reads
    #[arg(long)]
    limit: i64,
    #[command(flatten)]
    request_id: RequestIdArg,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct GetArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Consent id
    id: String,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Only these states (comma-separated): pending, active, declined,
    /// exhausted, expired, revoked
    #[arg(long, value_delimiter = ',',
          value_parser = flags::enum_value("zhongtai.certificate.v1.ConsentState"))]
    state: Vec<i32>,
    /// Only consents still waiting for this party: custodian, platform, holder
    #[arg(long, value_parser = flags::enum_value("zhongtai.certificate.v1.ConsentParty"))]
    awaiting: Option<i32>,
    #[command(flatten)]
    page: PageArgs,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct UnlockArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Consent id
    id: String,
    /// The party you act for: custodian, platform, holder
    #[arg(long, value_parser = flags::enum_value("zhongtai.certificate.v1.ConsentParty"))]
    party: i32,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct EndArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Consent id
    id: String,
    /// The party you act for: custodian, platform, holder
    #[arg(long, value_parser = flags::enum_value("zhongtai.certificate.v1.ConsentParty"))]
    party: i32,
    /// Why (required)
    #[arg(long)]
    reason: String,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

pub async fn run(command: ConsentCommand) -> anyhow::Result<ExitCode> {
    match command {
        ConsentCommand::Request(args) => request(args).await,
        ConsentCommand::Get(args) => get(args).await,
        ConsentCommand::List(args) => list(args).await,
        ConsentCommand::Unlock(args) => unlock(args).await,
        ConsentCommand::Decline(args) => decline(args).await,
        ConsentCommand::Revoke(args) => revoke(args).await,
        ConsentCommand::Read(args) => reads::read(args).await,
        ConsentCommand::Usage(args) => reads::usage(args).await,
    }
}

async fn request(args: RequestArgs) -> anyhow::Result<ExitCode> {
    let request_id = args.request_id.resolve("");
    let start = chrono::Utc::now().timestamp();
    let consent = rpc::consents(&args.target)?
        .request_consent(pb::RequestConsentRequest {
            request_id: request_id.clone(),
            app_id: args.app,
            requester_name: args.requester,
            holder: Some(values::person_holder(args.person)),
            custodian: Some(args.custodian),
            certificate_types: args.types,
            claims: args.claims,
            purpose: args.purpose,
            period: Some(Period {
                start_time: Some(prost_types::Timestamp {
                    seconds: start,
                    nanos: 0,
                }),
                end_time: Some(values::days_from_now(args.days)),
            }),
            read_limit: args.limit,
        })
        .await
        .answer_once("request the consent", &request_id)?
        .consent
        .unwrap_or_default();
    show(&consent, args.json)
}

async fn get(args: GetArgs) -> anyhow::Result<ExitCode> {
    let consent = rpc::consents(&args.target)?
        .get_consent(pb::GetConsentRequest { id: args.id })
        .await
        .answer("get the consent")?
        .consent
        .unwrap_or_default();
    show(&consent, args.json)
}

async fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::consents(&args.target)?
        .list_consents(pb::ListConsentsRequest {
            page: args.page.request(),
            states: args.state,
            awaiting_party: args.awaiting.unwrap_or(0),
        })
        .await
        .answer("list consents")?;
    if args.json {
        print_proto_json(&response)?;
    } else {
        view::print_consents(&response.consents);
        print_next_page(response.page.as_ref());
    }
    Ok(ExitCode::SUCCESS)
}

async fn unlock(args: UnlockArgs) -> anyhow::Result<ExitCode> {
    let consent = rpc::consents(&args.target)?
        .unlock_consent(pb::UnlockConsentRequest {
            id: args.id,
            party: args.party,
        })
        .await
        .answer("unlock the consent")?
        .consent
        .unwrap_or_default();
    show(&consent, args.json)
}

async fn decline(args: EndArgs) -> anyhow::Result<ExitCode> {
    let consent = rpc::consents(&args.target)?
        .decline_consent(pb::DeclineConsentRequest {
            id: args.id,
            party: args.party,
            reason: args.reason,
        })
        .await
        .answer("decline the consent")?
        .consent
        .unwrap_or_default();
    show(&consent, args.json)
}

async fn revoke(args: EndArgs) -> anyhow::Result<ExitCode> {
    let consent = rpc::consents(&args.target)?
        .revoke_consent(pb::RevokeConsentRequest {
            id: args.id,
            party: args.party,
            reason: args.reason,
        })
        .await
        .answer("revoke the consent")?
        .consent
        .unwrap_or_default();
    show(&consent, args.json)
}

fn show(consent: &pb::Consent, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        print_proto_json(consent)?;
    } else {
        view::print_consent(consent);
    }
    Ok(ExitCode::SUCCESS)
}
