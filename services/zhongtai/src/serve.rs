//! `zhongtai serve <service>`: one service, production style.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use zhongtai_kit::config::{ServeConfig, load};
use zhongtai_kit::service::ServiceSettings;
use zhongtai_kit::{Platform, shutdown};
use zhongtai_mesh::MeshTls;

use crate::services::{ModuleSettings, ServiceName};

#[derive(Args)]
pub struct ServeArgs {
    /// Which service to run
    service: ServiceName,
    /// TOML configuration file; environment variables override it
    #[arg(long, env = "ZHONGTAI_CONFIG")]
    config: Option<PathBuf>,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    // Configuration is complete and valid before anything binds or connects.
    let config: ServeConfig = load(args.config.as_deref())?;
    let service = args.service.as_str();
    let _telemetry =
        zhongtai_telemetry::init(&config.telemetry.for_service(&format!("zhongtai-{service}")))
            .context("cannot initialise telemetry")?;
    let shutdown = shutdown::on_signal();

    if let Some(metrics) = &config.server.metrics_listen {
        zhongtai_kit::admin::serve(metrics, shutdown.clone()).await?;
    }
    let tls = match config.tls.files() {
        Some(files) => {
            let tls = MeshTls::from_files(&files).context("cannot load the service's TLS files")?;
            tracing::info!(cert = %files.cert.display(), "mutual TLS on");
            Some(tls)
        }
        None => {
            tracing::warn!(
                "TLS DISABLED by configuration (tls.disabled): calls travel in plaintext"
            );
            None
        }
    };
    let Some(platform) = connect(&config, tls.clone(), &shutdown).await? else {
        return Ok(ExitCode::SUCCESS);
    };
    let tokens = zhongtai_kit::auth::verifier_from_config(&config.auth)
        .await
        .context("cannot load the token keys (auth.jwks)")?;
    let settings = ServiceSettings {
        server: config.server.clone(),
        database: config.database.clone(),
        events: config.events.clone(),
        tokens,
        tls,
    };
    let modules = ModuleSettings {
        approval: config.approval.clone(),
        catalog: config.catalog.clone(),
        certificate: config.certificate.clone(),
        exchange: config.exchange.clone(),
        gateway: config.gateway.clone(),
        token_issuer: config.auth.issuer.clone(),
        token_audience: config.auth.audience.clone(),
    };
    let running = args
        .service
        .start(settings, &modules, platform, shutdown)
        .await?;
    running.wait().await?;
    tracing::info!(service, "stopped");
    Ok(ExitCode::SUCCESS)
}

async fn connect(
    config: &ServeConfig,
    tls: Option<MeshTls>,
    shutdown: &tokio_util::sync::CancellationToken,
) -> anyhow::Result<Option<Platform>> {
    match Platform::connect(&config.mesh, &config.events, tls, shutdown).await {
        Ok(platform) => Ok(Some(platform)),
        Err(zhongtai_kit::platform::PlatformError::Cancelled) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
