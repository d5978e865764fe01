//! `zhongtai audit verify`: recomputes a service's audit hash chain from its
//! database and names the first record that was altered or removed.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use zhongtai_store::StoreConfig;

use crate::client::output::print_json;
use crate::services::ServiceName;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check a service's audit chain; exits 1 when a record was tampered with
    Verify(VerifyArgs),
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The service's database (postgres://… or sqlite://…)
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Or: a service of a `zhongtai up` platform, with --data-dir
    #[arg(long, conflicts_with = "database_url")]
    service: Option<ServiceName>,
    /// Data folder of the `zhongtai up` platform
    #[arg(long, env = "ZHONGTAI_DATA_DIR", default_value = ".data")]
    data_dir: PathBuf,
    #[arg(long)]
    json: bool,
}

pub async fn run(command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Verify(args) => verify(args).await,
    }
}

async fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let url = match (&args.database_url, args.service) {
        (_, Some(service)) => {
            let file = args.data_dir.join(format!("{service}.db"));
            if !file.exists() {
                bail!(
                    "{} does not exist: is this the platform's data folder?",
                    file.display()
                );
            }
            format!("sqlite://{}", file.display())
        }
        (Some(url), None) => url.clone(),
        (None, None) => bail!("say which audit log to check: --database-url URL or --service NAME"),
    };
    let db = zhongtai_store::connect(&StoreConfig {
        url: url.clone(),
        max_connections: 2,
        ..StoreConfig::default()
    })
    .await
    .with_context(|| format!("cannot open {}", zhongtai_store::redact_url(&url)))?;
    let report = zhongtai_audit::verify(&db)
        .await
        .context("cannot read the audit log")?;
    if args.json {
        print_json(&report)?;
    } else {
        println!("{report}");
    }
    Ok(if report.is_intact() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
