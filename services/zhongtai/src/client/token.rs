//! `zhongtai token issue`: a development token from the embedded platform's
//! issuer, for trying the APIs against `make run`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use serde::Serialize;
use zhongtai_kit::auth::DevIssuer;
use zhongtai_kit::{DivisionCode, Role, TenantId};

use super::output::print_json;

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Mint a token with the development issuer of a `zhongtai up` data folder
    Issue(IssueArgs),
}

#[derive(Args)]
pub struct IssueArgs {
    /// Data folder of the `zhongtai up` platform (holds the development key)
    #[arg(long, env = "ZHONGTAI_DATA_DIR", default_value = ".data")]
    data_dir: PathBuf,
    /// Division code of the tenant, e.g. 331100
    #[arg(long)]
    tenant: String,
    /// Department within the division, e.g. housing-fund
    #[arg(long, default_value = "")]
    dept: String,
    /// Role to grant (repeatable): admin, operator, approver, auditor, viewer
    #[arg(long = "role", required = true)]
    roles: Vec<String>,
    /// Subject (user or app id) the token names
    #[arg(long, default_value = "dev-user")]
    subject: String,
    /// Lifetime, e.g. 30m, 8h, 3600s
    #[arg(long, default_value = "8h", value_parser = parse_ttl)]
    ttl: Duration,
    /// Division whose other tenants' records the bearer may read (repeatable)
    #[arg(long)]
    cross_tenant_read: Vec<String>,
    /// Print the token and its claims as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Issued {
    token: String,
    subject: String,
    tenant: String,
    roles: Vec<String>,
    expires_at: String,
}

pub fn run(command: TokenCommand) -> anyhow::Result<ExitCode> {
    match command {
        TokenCommand::Issue(args) => issue(args),
    }
}

fn issue(args: IssueArgs) -> anyhow::Result<ExitCode> {
    let tenant = TenantId::parse(&args.tenant, &args.dept).context("invalid --tenant/--dept")?;
    let roles = args
        .roles
        .iter()
        .map(|r| r.parse::<Role>())
        .collect::<Result<Vec<_>, _>>()?;
    let cross_tenant_read = args
        .cross_tenant_read
        .iter()
        .map(|code| DivisionCode::parse(code))
        .collect::<Result<Vec<_>, _>>()
        .context("invalid --cross-tenant-read")?;
    if !args.data_dir.is_dir() {
        bail!(
            "{} does not exist: start the platform with `make run` (or pass --data-dir)",
            args.data_dir.display()
        );
    }
    let issuer = DevIssuer::load_or_create(&args.data_dir)?;
    let mut claims = issuer.claims(&args.subject, &tenant, &roles, args.ttl);
    claims.cross_tenant_read = cross_tenant_read.iter().map(|d| d.to_string()).collect();
    let token = issuer.sign(&claims)?;
    if args.json {
        print_json(&Issued {
            token,
            subject: claims.sub,
            tenant: tenant.key(),
            roles: claims.roles,
            expires_at: chrono::DateTime::from_timestamp(claims.exp, 0)
                .map(|t| t.to_rfc3339())
                .unwrap_or_default(),
        })?;
    } else {
        eprintln!(
            "development token for {} ({tenant}, roles: {}), valid {}s; use it with\n  export ZHONGTAI_TOKEN=<token>",
            args.subject,
            claims.roles.join(","),
            args.ttl.as_secs()
        );
        println!("{token}");
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_ttl(value: &str) -> Result<Duration, String> {
    let (number, unit) = value.split_at(
        value
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(value.len()),
    );
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{value}` is not a duration like 30m, 8h or 3600s"))?;
    let seconds = match unit {
        "" | "s" => number,
        "m" => number.saturating_mul(60),
        "h" => number.saturating_mul(3600),
        "d" => number.saturating_mul(86_400),
        _ => return Err(format!("`{value}`: unit must be s, m, h or d")),
    };
    if seconds == 0 || seconds > 30 * 86_400 {
        return Err("a token lives between 1 second and 30 days".into());
    }
    Ok(Duration::from_secs(seconds))
}
