//! `zhongtai app …`: integrator apps of the capability gateway — register,
//! list, show, change, disable and enable them; their credentials under
//! `zhongtai app credential …`.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use prost_types::FieldMask;
use zhongtai_contracts::common::v1::{Organization, Tenant};
use zhongtai_contracts::gateway::v1 as pb;

use super::credentials::CredentialCommand;
use super::values;
use crate::client::endpoints::TargetArgs;
use crate::client::flags::{self, PageArgs, RequestIdArg};
use crate::client::labels;
use crate::client::output::{print_details, print_next_page, print_proto_json, print_table};
use crate::client::rpc::{self, Answer as _};

#[derive(Subcommand)]
pub enum AppCommand {
    /// Register an integrator app (a bank, a map app) sponsored by a tenant
    Register(RegisterArgs),
    /// Apps you sponsor (every app for the platform operator)
    List(ListArgs),
    /// Show one app
    Get(IdArgs),
    /// Change an app's name or allowed capabilities
    Update(UpdateArgs),
    /// Disable an app: its calls are refused from the next request on
    Disable(DisableArgs),
    /// Re-enable a disabled app
    Enable(IdArgs),
    /// An app's credentials: issue, rotate, revoke, list
    #[command(subcommand)]
    Credential(CredentialCommand),
}

#[derive(Args)]
pub struct RegisterArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Display name, e.g. 浙商银行手机银行
    #[arg(long)]
    name: String,
    /// Sponsoring tenant (the department that vetted the integrator), e.g. 331100/big-data
    #[arg(long, value_parser = flags::tenant)]
    sponsor: Tenant,
    /// Registered name of the organisation owning the app
    #[arg(long)]
    owner: Option<String>,
    /// Its unified social credit code (18 characters)
    #[arg(long)]
    owner_code: Option<String>,
    /// Who to contact about the app
    #[arg(long)]
    contact_name: Option<String>,
    /// Contact e-mail
    #[arg(long)]
    contact_email: Option<String>,
    /// Contact phone
    #[arg(long)]
    contact_phone: Option<String>,
    /// A capability the app may call, e.g. certificate.verify (repeatable)
    #[arg(long = "allow", value_name = "CAPABILITY", required = true, value_parser = values::capability)]
    allow: Vec<String>,
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
    /// Only apps in this state (active, disabled)
    #[arg(long, value_parser = flags::enum_value("zhongtai.gateway.v1.AppState"))]
    state: Option<i32>,
    /// Only apps allowed to call this capability
    #[arg(long, value_parser = values::capability)]
    capability: Option<String>,
    #[command(flatten)]
    page: PageArgs,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct IdArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// App id
    #[arg(value_parser = values::app_id)]
    id: String,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct UpdateArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// App id
    #[arg(value_parser = values::app_id)]
    id: String,
    /// The app's current version (`zhongtai app get` shows it); a stale one is refused
    #[arg(long)]
    version: i64,
    /// New display name
    #[arg(long)]
    name: Option<String>,
    /// The capabilities it may call from now on, replacing the list (repeatable)
    #[arg(long = "allow", value_name = "CAPABILITY", value_parser = values::capability)]
    allow: Vec<String>,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct DisableArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// App id
    #[arg(value_parser = values::app_id)]
    id: String,
    /// Why (shown to the app's sponsor and kept with the app)
    #[arg(long)]
    reason: String,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

pub async fn run(command: AppCommand) -> anyhow::Result<ExitCode> {
    match command {
        AppCommand::Register(args) => {
            let request = register_request(&args);
            let app = rpc::gateway(&args.target)?
                .register_app(request.clone())
                .await
                .answer_once("register the app", &request.request_id)?
                .app;
            show(&app.unwrap_or_default(), args.json)
        }
        AppCommand::List(args) => list(args).await,
        AppCommand::Get(args) => {
            let app = rpc::gateway(&args.target)?
                .get_app(pb::GetAppRequest { id: args.id })
                .await
                .answer("get the app")?
                .app;
            show(&app.unwrap_or_default(), args.json)
        }
        AppCommand::Update(args) => {
            let request = update_request(&args)?;
            let app = rpc::gateway(&args.target)?
                .update_app(request)
                .await
                .answer("update the app")?
                .app;
            show(&app.unwrap_or_default(), args.json)
        }
        AppCommand::Disable(args) => {
            let app = rpc::gateway(&args.target)?
                .disable_app(disable_request(&args))
                .await
                .answer("disable the app")?
                .app;
            show(&app.unwrap_or_default(), args.json)
        }
        AppCommand::Enable(args) => {
            let app = rpc::gateway(&args.target)?
                .enable_app(pb::EnableAppRequest { id: args.id })
                .await
                .answer("enable the app")?
                .app;
            show(&app.unwrap_or_default(), args.json)
        }
        AppCommand::Credential(command) => super::credentials::run(command).await,
    }
}

/// The RegisterApp request the flags describe.
pub fn register_request(args: &RegisterArgs) -> pb::RegisterAppRequest {
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let owner = (args.owner.is_some() || args.owner_code.is_some()).then(|| Organization {
        name: text(&args.owner),
        unified_social_credit_code: text(&args.owner_code),
    });
    let contact = (args.contact_name.is_some()
        || args.contact_email.is_some()
        || args.contact_phone.is_some())
    .then(|| pb::Contact {
        name: text(&args.contact_name),
        email: text(&args.contact_email),
        phone: text(&args.contact_phone),
    });
    pb::RegisterAppRequest {
        request_id: args.request_id.resolve(""),
        name: args.name.clone(),
        owner,
        contact,
        allowed_capabilities: args.allow.clone(),
        sponsor: Some(args.sponsor.clone()),
    }
}

/// The UpdateApp request the flags describe; the mask names what was given.
pub fn update_request(args: &UpdateArgs) -> anyhow::Result<pb::UpdateAppRequest> {
    let mut paths = Vec::new();
    if args.name.is_some() {
        paths.push("name".to_string());
    }
    if !args.allow.is_empty() {
        paths.push("allowed_capabilities".to_string());
    }
    if paths.is_empty() {
        anyhow::bail!("nothing to change: give --name and/or --allow");
    }
    Ok(pb::UpdateAppRequest {
        app: Some(pb::App {
            id: args.id.clone(),
            version: args.version,
            name: args.name.clone().unwrap_or_default(),
            allowed_capabilities: args.allow.clone(),
            ..Default::default()
        }),
        update_mask: Some(FieldMask { paths }),
    })
}

/// The DisableApp request the flags describe.
pub fn disable_request(args: &DisableArgs) -> pb::DisableAppRequest {
    pb::DisableAppRequest {
        id: args.id.clone(),
        reason: args.reason.clone(),
    }
}

/// The ListApps request the flags describe.
pub fn list_request(args: &ListArgs) -> pb::ListAppsRequest {
    pb::ListAppsRequest {
        page: args.page.request(),
        state: args.state.unwrap_or_default(),
        capability: args.capability.clone().unwrap_or_default(),
    }
}

async fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::gateway(&args.target)?
        .list_apps(list_request(&args))
        .await
        .answer("list apps")?;
    if args.json {
        print_proto_json(&response)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = response
        .apps
        .iter()
        .map(|app| {
            vec![
                app.id.clone(),
                app.name.clone(),
                state(app),
                labels::tenant(app.sponsor.as_ref()),
                labels::clip(&app.allowed_capabilities.join(", "), 60),
                app.version.to_string(),
            ]
        })
        .collect();
    print_table(
        &["ID", "NAME", "STATE", "SPONSOR", "ALLOWED", "VERSION"],
        &rows,
    );
    print_next_page(response.page.as_ref());
    Ok(ExitCode::SUCCESS)
}

fn state(app: &pb::App) -> String {
    labels::short(app.state().as_str_name(), "APP_STATE_")
}

fn show(app: &pb::App, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        print_proto_json(app)?;
        return Ok(ExitCode::SUCCESS);
    }
    let owner = app
        .owner
        .as_ref()
        .map(|o| match o.unified_social_credit_code.as_str() {
            "" => o.name.clone(),
            code => format!("{} ({code})", o.name),
        })
        .unwrap_or_default();
    let contact = app
        .contact
        .as_ref()
        .map(|c| {
            [&c.name, &c.email, &c.phone]
                .into_iter()
                .filter(|v| !v.is_empty())
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    print_details(&[
        ("id", app.id.clone()),
        ("name", app.name.clone()),
        ("state", state(app)),
        ("disabled because", app.disabled_reason.clone()),
        ("sponsor", labels::tenant(app.sponsor.as_ref())),
        ("owner", owner),
        ("contact", contact),
        ("allowed", app.allowed_capabilities.join(", ")),
        ("version", app.version.to_string()),
        ("registered", labels::time(app.create_time.as_ref())),
        ("updated", labels::time(app.update_time.as_ref())),
    ]);
    Ok(ExitCode::SUCCESS)
}
