//! `zhongtai app credential …`: app keys and their secrets. A secret is
//! printed once, when issued or rotated; nothing can show it again.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use prost_types::Duration;
use zhongtai_contracts::gateway::v1 as pb;

use super::values;
use crate::client::endpoints::TargetArgs;
use crate::client::flags::PageArgs;
use crate::client::labels;
use crate::client::output::{emit, print_details, print_next_page, print_proto_json, print_table};
use crate::client::rpc::{self, Answer as _};

/// Said under every printed secret.
pub const SHOWN_ONCE: &str =
    "The secret is shown only this once: store it now (it cannot be retrieved later).";

#[derive(Subcommand)]
pub enum CredentialCommand {
    /// Issue a new app key and secret for an app
    Issue(IssueArgs),
    /// Replace a key: a new key and secret; the old key is accepted during the grace period
    Rotate(RotateArgs),
    /// Revoke a key at once
    Revoke(RevokeArgs),
    /// An app's keys (never their secrets)
    List(ListArgs),
}

#[derive(Args)]
pub struct IssueArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// App id
    #[arg(value_parser = values::app_id)]
    app_id: String,
    /// Lifetime, e.g. 90d (default: no expiry)
    #[arg(long, value_parser = values::duration)]
    validity: Option<Duration>,
    /// Print the credential and its secret as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct RotateArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// App key to replace (ztk_…)
    key: String,
    /// How long the old key stays accepted, 0s..30d (default 24h)
    #[arg(long, value_parser = values::duration)]
    grace: Option<Duration>,
    /// Print the credentials and the new secret as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct RevokeArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// App key (ztk_…)
    key: String,
    /// Why
    #[arg(long, default_value = "")]
    reason: String,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// App id
    #[arg(value_parser = values::app_id)]
    app_id: String,
    #[command(flatten)]
    page: PageArgs,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

pub async fn run(command: CredentialCommand) -> anyhow::Result<ExitCode> {
    match command {
        CredentialCommand::Issue(args) => {
            let response = rpc::gateway(&args.target)?
                .issue_credential(issue_request(&args))
                .await
                .answer("issue a credential")?;
            if args.json {
                print_proto_json(&response)?;
            } else {
                show_secret(
                    &response.credential.unwrap_or_default(),
                    &response.secret,
                    None,
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        CredentialCommand::Rotate(args) => {
            let response = rpc::gateway(&args.target)?
                .rotate_credential(rotate_request(&args))
                .await
                .answer("rotate the credential")?;
            if args.json {
                print_proto_json(&response)?;
            } else {
                show_secret(
                    &response.credential.unwrap_or_default(),
                    &response.secret,
                    response.previous.as_ref(),
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        CredentialCommand::Revoke(args) => {
            let credential = rpc::gateway(&args.target)?
                .revoke_credential(pb::RevokeCredentialRequest {
                    app_key: args.key,
                    reason: args.reason,
                })
                .await
                .answer("revoke the credential")?
                .credential
                .unwrap_or_default();
            if args.json {
                print_proto_json(&credential)?;
            } else {
                print_details(&details(&credential));
            }
            Ok(ExitCode::SUCCESS)
        }
        CredentialCommand::List(args) => list(args).await,
    }
}

/// The IssueCredential request the flags describe.
pub fn issue_request(args: &IssueArgs) -> pb::IssueCredentialRequest {
    pb::IssueCredentialRequest {
        app_id: args.app_id.clone(),
        validity: args.validity,
    }
}

/// The RotateCredential request the flags describe.
pub fn rotate_request(args: &RotateArgs) -> pb::RotateCredentialRequest {
    pb::RotateCredentialRequest {
        app_key: args.key.trim().to_string(),
        grace_period: args.grace,
    }
}

async fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::gateway(&args.target)?
        .list_credentials(pb::ListCredentialsRequest {
            page: args.page.request(),
            app_id: args.app_id,
        })
        .await
        .answer("list credentials")?;
    if args.json {
        print_proto_json(&response)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = response
        .credentials
        .iter()
        .map(|c| {
            vec![
                c.app_key.clone(),
                state(c),
                format!("…{}", c.secret_hint),
                labels::time(c.create_time.as_ref()),
                labels::time(c.expire_time.as_ref()),
                labels::time(c.last_used_time.as_ref()),
            ]
        })
        .collect();
    print_table(
        &[
            "APP KEY",
            "STATE",
            "SECRET",
            "ISSUED",
            "EXPIRES",
            "LAST USED",
        ],
        &rows,
    );
    print_next_page(response.page.as_ref());
    Ok(ExitCode::SUCCESS)
}

fn state(credential: &pb::Credential) -> String {
    labels::short(credential.state().as_str_name(), "CREDENTIAL_STATE_")
}

fn details(credential: &pb::Credential) -> Vec<(&'static str, String)> {
    vec![
        ("app key", credential.app_key.clone()),
        ("app", credential.app_id.clone()),
        ("state", state(credential)),
        ("secret ends", credential.secret_hint.clone()),
        ("issued", labels::time(credential.create_time.as_ref())),
        ("expires", labels::time(credential.expire_time.as_ref())),
        ("revoked", labels::time(credential.revoke_time.as_ref())),
        (
            "last used",
            labels::time(credential.last_used_time.as_ref()),
        ),
    ]
}

fn show_secret(credential: &pb::Credential, secret: &str, previous: Option<&pb::Credential>) {
    let mut lines = details(credential);
    lines.insert(1, ("secret", secret.to_string()));
    print_details(&lines);
    if let Some(previous) = previous {
        emit(&format!(
            "previous key {} stays accepted until {}",
            previous.app_key,
            labels::time(previous.expire_time.as_ref())
        ));
    }
    emit("");
    emit(SHOWN_ONCE);
}
