//! `zhongtai certificate issuer …`: issuing departments and their signing
//! keys (public parts only: no call ever returns a private key).

use std::process::ExitCode;

use clap::{Args, Subcommand};
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::common::v1::Tenant;

use super::super::endpoints::TargetArgs;
use super::super::flags::{self, PageArgs, RequestIdArg};
use super::super::labels;
use super::super::output::{
    print_details, print_next_page, print_proto_json, print_section, print_table,
};
use super::super::rpc::{self, Answer as _};

#[derive(Subcommand)]
pub enum IssuerCommand {
    /// Create an issuer with its first Ed25519 signing key
    Create(CreateArgs),
    /// Show one issuer
    Get(IdArgs),
    /// List issuers, in creation order
    List(ListArgs),
    /// Give an issuer a new signing key; the old one keeps verifying what it signed
    RotateKey(RotateArgs),
    /// An issuer's signing keys (public parts), newest first
    Keys(KeysArgs),
}

#[derive(Args)]
pub struct CreateArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The issuing department, e.g. 331100/market-regulation
    #[arg(long, value_parser = flags::tenant)]
    tenant: Tenant,
    /// Display name, e.g. 丽水市市场监督管理局
    #[arg(long)]
    name: String,
    /// Certificate type code it may issue (repeatable)
    #[arg(long = "type", required = true)]
    types: Vec<String>,
    #[command(flatten)]
    request_id: RequestIdArg,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct IdArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Issuer id
    id: String,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct RotateArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Issuer id
    id: String,
    #[command(flatten)]
    request_id: RequestIdArg,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Only issuers of this tenant (331100 or 331100/market-regulation)
    #[arg(long, value_parser = flags::tenant)]
    tenant: Option<Tenant>,
    #[command(flatten)]
    page: PageArgs,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct KeysArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Issuer id
    id: String,
    #[command(flatten)]
    page: PageArgs,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

pub async fn run(command: IssuerCommand) -> anyhow::Result<ExitCode> {
    match command {
        IssuerCommand::Create(args) => create(args).await,
        IssuerCommand::Get(args) => get(args).await,
        IssuerCommand::List(args) => list(args).await,
        IssuerCommand::RotateKey(args) => rotate_key(args).await,
        IssuerCommand::Keys(args) => keys(args).await,
    }
}

async fn create(args: CreateArgs) -> anyhow::Result<ExitCode> {
    let request_id = args.request_id.resolve("");
    let response = rpc::certificate(&args.target)?
        .create_issuer(pb::CreateIssuerRequest {
            request_id: request_id.clone(),
            tenant: Some(args.tenant),
            name: args.name,
            certificate_types: args.types,
        })
        .await
        .answer_once("create the issuer", &request_id)?;
    if args.json {
        print_proto_json(&response)?;
        return Ok(ExitCode::SUCCESS);
    }
    print_issuer(&response.issuer.unwrap_or_default());
    print_section("Signing key");
    print_keys(response.signing_key.as_slice());
    Ok(ExitCode::SUCCESS)
}

async fn get(args: IdArgs) -> anyhow::Result<ExitCode> {
    let issuer = rpc::certificate(&args.target)?
        .get_issuer(pb::GetIssuerRequest { id: args.id })
        .await
        .answer("get the issuer")?
        .issuer
        .unwrap_or_default();
    if args.json {
        print_proto_json(&issuer)?;
    } else {
        print_issuer(&issuer);
    }
    Ok(ExitCode::SUCCESS)
}

async fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::certificate(&args.target)?
        .list_issuers(pb::ListIssuersRequest {
            page: args.page.request(),
            tenant: args.tenant,
        })
        .await
        .answer("list issuers")?;
    if args.json {
        print_proto_json(&response)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = response
        .issuers
        .iter()
        .map(|i| {
            vec![
                i.id.clone(),
                i.name.clone(),
                labels::tenant(i.tenant.as_ref()),
                labels::list(&i.certificate_types),
                state(i),
                i.active_key_id.clone(),
            ]
        })
        .collect();
    print_table(
        &["ID", "NAME", "TENANT", "TYPES", "STATE", "ACTIVE KEY"],
        &rows,
    );
    print_next_page(response.page.as_ref());
    Ok(ExitCode::SUCCESS)
}

async fn rotate_key(args: RotateArgs) -> anyhow::Result<ExitCode> {
    let request_id = args.request_id.resolve("");
    let response = rpc::certificate(&args.target)?
        .rotate_signing_key(pb::RotateSigningKeyRequest {
            request_id: request_id.clone(),
            issuer_id: args.id,
        })
        .await
        .answer_once("rotate the signing key", &request_id)?;
    if args.json {
        print_proto_json(&response)?;
        return Ok(ExitCode::SUCCESS);
    }
    let keys: Vec<pb::SigningKey> = response
        .new_key
        .into_iter()
        .chain(response.retired_key)
        .collect();
    print_keys(&keys);
    print_section(&format!(
        "Published in trust list version {}",
        response.trust_list_version
    ));
    Ok(ExitCode::SUCCESS)
}

async fn keys(args: KeysArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::certificate(&args.target)?
        .list_signing_keys(pb::ListSigningKeysRequest {
            page: args.page.request(),
            issuer_id: args.id,
        })
        .await
        .answer("list the issuer's signing keys")?;
    if args.json {
        print_proto_json(&response)?;
    } else {
        print_keys(&response.keys);
        print_next_page(response.page.as_ref());
    }
    Ok(ExitCode::SUCCESS)
}

fn state(issuer: &pb::Issuer) -> String {
    labels::short(issuer.state().as_str_name(), "ISSUER_STATE_")
}

fn print_issuer(issuer: &pb::Issuer) {
    print_details(&[
        ("id", issuer.id.clone()),
        ("name", issuer.name.clone()),
        ("tenant", labels::tenant(issuer.tenant.as_ref())),
        ("types", labels::list(&issuer.certificate_types)),
        ("state", state(issuer)),
        ("active key", issuer.active_key_id.clone()),
        ("version", issuer.version.to_string()),
        ("created", labels::time(issuer.create_time.as_ref())),
        ("updated", labels::time(issuer.update_time.as_ref())),
    ]);
}

/// Public keys one per row, as the trust list publishes them.
pub fn print_keys(keys: &[pb::SigningKey]) {
    use base64::Engine as _;
    let rows: Vec<Vec<String>> = keys
        .iter()
        .map(|k| {
            vec![
                k.key_id.clone(),
                labels::short(k.state().as_str_name(), "SIGNING_KEY_STATE_"),
                labels::time(k.activate_time.as_ref()),
                labels::time(k.retire_time.as_ref()),
                labels::time(k.verify_until_time.as_ref()),
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&k.public_key),
            ]
        })
        .collect();
    print_table(
        &[
            "KEY",
            "STATE",
            "ACTIVE SINCE",
            "RETIRED",
            "VERIFIES UNTIL",
            "PUBLIC KEY",
        ],
        &rows,
    );
}
