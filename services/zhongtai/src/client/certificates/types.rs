//! `zhongtai certificate type …`: certificate types (证照类型) and the
//! typed claims their certificates carry.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use zhongtai_contracts::certificate::v1 as pb;

use super::super::endpoints::TargetArgs;
use super::super::flags::{PageArgs, RequestIdArg};
use super::super::labels;
use super::super::message_file::read_message;
use super::super::output::{
    print_details, print_next_page, print_proto_json, print_section, print_table,
};
use super::super::rpc::{self, Answer as _};

#[derive(Subcommand)]
pub enum TypeCommand {
    /// Create a certificate type from a YAML CreateCertificateTypeRequest
    Create(CreateArgs),
    /// Show one certificate type with its claims
    Get(GetArgs),
    /// List certificate types
    List(ListArgs),
}

#[derive(Args)]
pub struct CreateArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// YAML file: `certificateType:` with code, name, claims, holderKind,
    /// defaultValidity (see examples/certificate-type-*.yaml)
    #[arg(short = 'f', long = "file")]
    file: PathBuf,
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
    /// Type code, e.g. business-licence
    code: String,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    page: PageArgs,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

pub async fn run(command: TypeCommand) -> anyhow::Result<ExitCode> {
    match command {
        TypeCommand::Create(args) => create(args).await,
        TypeCommand::Get(args) => get(args).await,
        TypeCommand::List(args) => list(args).await,
    }
}

async fn create(args: CreateArgs) -> anyhow::Result<ExitCode> {
    let mut request: pb::CreateCertificateTypeRequest = read_message(&args.file)?;
    if request.certificate_type.is_none() {
        anyhow::bail!(
            "{}: certificateType: the type to create is missing",
            args.file.display()
        );
    }
    request.request_id = args.request_id.resolve(&request.request_id);
    let request_id = request.request_id.clone();
    let created = rpc::certificate(&args.target)?
        .create_certificate_type(request)
        .await
        .answer_once("create the certificate type", &request_id)?
        .certificate_type
        .unwrap_or_default();
    show(&created, args.json)
}

async fn get(args: GetArgs) -> anyhow::Result<ExitCode> {
    let found = fetch(&args.target, &args.code).await?;
    show(&found, args.json)
}

/// The certificate type `code`, as the server has it.
pub async fn fetch(target: &TargetArgs, code: &str) -> anyhow::Result<pb::CertificateType> {
    Ok(rpc::certificate(target)?
        .get_certificate_type(pb::GetCertificateTypeRequest {
            code: code.to_string(),
        })
        .await
        .answer(&format!("get certificate type {code}"))?
        .certificate_type
        .unwrap_or_default())
}

async fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::certificate(&args.target)?
        .list_certificate_types(pb::ListCertificateTypesRequest {
            page: args.page.request(),
        })
        .await
        .answer("list certificate types")?;
    if args.json {
        print_proto_json(&response)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = response
        .certificate_types
        .iter()
        .map(|t| {
            vec![
                t.code.clone(),
                t.name.clone(),
                holder_kind(t),
                t.claims.len().to_string(),
                validity(t),
                t.version.to_string(),
            ]
        })
        .collect();
    print_table(
        &["CODE", "NAME", "HOLDER", "CLAIMS", "VALIDITY", "VERSION"],
        &rows,
    );
    print_next_page(response.page.as_ref());
    Ok(ExitCode::SUCCESS)
}

fn holder_kind(certificate_type: &pb::CertificateType) -> String {
    labels::short(certificate_type.holder_kind().as_str_name(), "HOLDER_KIND_")
}

fn validity(certificate_type: &pb::CertificateType) -> String {
    match certificate_type.default_validity.as_ref() {
        Some(validity) => labels::duration(Some(validity)),
        None => "no expiry".into(),
    }
}

fn show(certificate_type: &pb::CertificateType, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        print_proto_json(certificate_type)?;
        return Ok(ExitCode::SUCCESS);
    }
    print_details(&[
        ("code", certificate_type.code.clone()),
        ("name", certificate_type.name.clone()),
        (
            "description",
            labels::clip(&certificate_type.description, 100),
        ),
        ("holder", holder_kind(certificate_type)),
        ("default validity", validity(certificate_type)),
        ("version", certificate_type.version.to_string()),
        (
            "created",
            labels::time(certificate_type.create_time.as_ref()),
        ),
        (
            "updated",
            labels::time(certificate_type.update_time.as_ref()),
        ),
    ]);
    print_section("Claims");
    let yes = |flag: bool| if flag { "yes" } else { "no" }.to_string();
    let rows: Vec<Vec<String>> = certificate_type
        .claims
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                c.title.clone(),
                labels::short(c.r#type().as_str_name(), "CLAIM_TYPE_"),
                yes(c.required),
                yes(c.include_in_code),
            ]
        })
        .collect();
    print_table(&["NAME", "TITLE", "TYPE", "REQUIRED", "IN CODE"], &rows);
    Ok(ExitCode::SUCCESS)
}
