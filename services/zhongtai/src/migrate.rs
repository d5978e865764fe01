//! `zhongtai migrate <service>`: apply one service's database migrations and
//! exit — the migration step a deployment runs before rolling out new
//! instances (the Helm chart's migration Job).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use zhongtai_kit::config::{MigrateConfig, load};

use crate::services::ServiceName;

#[derive(Args)]
pub struct MigrateArgs {
    /// Whose database to migrate
    service: ServiceName,
    /// TOML configuration file; environment variables override it
    #[arg(long, env = "ZHONGTAI_CONFIG")]
    config: Option<PathBuf>,
}

pub async fn run(args: MigrateArgs) -> anyhow::Result<ExitCode> {
    let config: MigrateConfig = load(args.config.as_deref())?;
    let service = args.service.as_str();
    let _telemetry = zhongtai_telemetry::init(
        &config
            .telemetry
            .for_service(&format!("zhongtai-{service}-migrate")),
    )
    .context("cannot initialise telemetry")?;
    args.service.migrate(&config.database).await?;
    tracing::info!(service, "database migrated");
    Ok(ExitCode::SUCCESS)
}
