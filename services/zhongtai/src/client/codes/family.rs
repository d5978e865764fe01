//! Family codes: a guardian links dependants (proven by a certificate such
//! as a birth medical certificate) and shows a code for each.

use std::process::ExitCode;

use clap::Args;
use zhongtai_contracts::certificate::v1 as pb;

use super::super::certificates::values;
use super::super::endpoints::TargetArgs;
use super::super::flags::{self, PageArgs, RequestIdArg};
use super::super::output::{emit, print_next_page, print_proto_json};
use super::super::rpc::{self, Answer as _};
use super::view;

#[derive(Args)]
pub struct FamilyArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Only this dependant link (repeatable; default: every active one)
    #[arg(long = "dependant")]
    dependants: Vec<String>,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct LinkArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The dependant's name as on their identity document
    #[arg(long)]
    name: String,
    /// Their identity document number
    #[arg(long)]
    id_number: String,
    /// resident-id-card, passport, mainland-travel-permit or foreign-permanent-resident-card
    #[arg(long, default_value = "resident-id-card")]
    id_type: String,
    /// You are their: parent, legal-guardian, child, spouse
    #[arg(long, value_parser = flags::enum_value("zhongtai.certificate.v1.Relationship"))]
    relationship: i32,
    /// Id of the certificate naming you both (e.g. a birth medical certificate)
    #[arg(long)]
    evidence: String,
    #[command(flatten)]
    request_id: RequestIdArg,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct DependantsArgs {
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    page: PageArgs,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct UnlinkArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Dependant link id
    id: String,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

pub async fn family(args: FamilyArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::codes(&args.target)?
        .show_family_codes(pb::ShowFamilyCodesRequest {
            dependant_ids: args.dependants,
            qr_image_format: 0,
            qr_image_size: 0,
        })
        .await
        .answer("show your family codes")?;
    if args.json {
        print_proto_json(&response)?;
        return Ok(ExitCode::SUCCESS);
    }
    if response.codes.is_empty() {
        emit("(none)");
    }
    for (i, code) in response.codes.iter().enumerate() {
        if i > 0 {
            emit("");
        }
        view::print_code(code);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn link(args: LinkArgs) -> anyhow::Result<ExitCode> {
    let dependant = values::person_of(&args.name, &args.id_number, &args.id_type)
        .map_err(anyhow::Error::msg)?;
    let request_id = args.request_id.resolve("");
    let link = rpc::codes(&args.target)?
        .link_dependant(pb::LinkDependantRequest {
            request_id: request_id.clone(),
            dependant: Some(dependant),
            relationship: args.relationship,
            evidence_certificate_id: args.evidence,
        })
        .await
        .answer_once("link the dependant", &request_id)?
        .dependant
        .unwrap_or_default();
    show(&link, args.json)
}

pub async fn dependants(args: DependantsArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::codes(&args.target)?
        .list_dependants(pb::ListDependantsRequest {
            page: args.page.request(),
        })
        .await
        .answer("list your dependants")?;
    if args.json {
        print_proto_json(&response)?;
    } else {
        view::print_dependants(&response.dependants);
        print_next_page(response.page.as_ref());
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn unlink(args: UnlinkArgs) -> anyhow::Result<ExitCode> {
    let link = rpc::codes(&args.target)?
        .unlink_dependant(pb::UnlinkDependantRequest { id: args.id })
        .await
        .answer("unlink the dependant")?
        .dependant
        .unwrap_or_default();
    show(&link, args.json)
}

fn show(link: &pb::Dependant, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        print_proto_json(link)?;
    } else {
        view::print_dependants(std::slice::from_ref(link));
    }
    Ok(ExitCode::SUCCESS)
}
