//! `zhongtai up`: the whole platform in one process, for a laptop or a demo.
//! Each service still listens on its own loopback port and talks real gRPC;
//! only the registry, the event bus and the databases (SQLite files under the
//! data folder) are embedded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use zhongtai_kit::auth::{DevIssuer, JwksSource, KeySet, TokenVerifier};
use zhongtai_kit::config::{BusKind, DatabaseConfig, EventsConfig, MeshConfig, ServerConfig};
use zhongtai_kit::platform::channel_config;
use zhongtai_kit::service::ServiceSettings;
use zhongtai_kit::{Platform, Secret, shutdown};
use zhongtai_telemetry::{LogFormat, TelemetryConfig};

use crate::client::endpoints::{ENDPOINTS_FILE, Endpoints};
use crate::services::{ModuleSettings, ServiceName};

#[derive(Args)]
pub struct UpArgs {
    /// Folder for the SQLite databases and the endpoints file
    #[arg(long, env = "ZHONGTAI_DATA_DIR", default_value = ".data")]
    data_dir: PathBuf,
    /// Host every service listens on
    #[arg(long, env = "ZHONGTAI_HOST", default_value = "127.0.0.1")]
    host: String,
    /// Port of the first service; the others follow (approval, catalog,
    /// certificate, exchange, gateway). 0 picks free ports.
    #[arg(long, env = "ZHONGTAI_BASE_PORT", default_value_t = 50051)]
    base_port: u16,
    /// Port of the gateway's HTTP front door for integrators (0, or a
    /// --base-port of 0, picks a free one)
    #[arg(long, env = "ZHONGTAI_GATEWAY_PORT", default_value_t = 8080)]
    gateway_port: u16,
    /// Address of the Prometheus /metrics endpoint ("off" to disable)
    #[arg(
        long,
        env = "ZHONGTAI_METRICS_LISTEN",
        default_value = "127.0.0.1:9464"
    )]
    metrics: String,
    /// Log format: pretty, compact or json
    #[arg(long, env = "LOG_FORMAT", default_value = "pretty")]
    log_format: LogFormat,
}

pub async fn run(args: UpArgs) -> anyhow::Result<ExitCode> {
    let _telemetry = zhongtai_telemetry::init(&TelemetryConfig {
        service_name: "zhongtai".into(),
        log_format: args.log_format,
        log_filter: None,
        otlp_endpoint: std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok(),
    })
    .context("cannot initialise telemetry")?;
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create data folder {}", args.data_dir.display()))?;
    let data_dir = args
        .data_dir
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", args.data_dir.display()))?;

    let shutdown = shutdown::on_signal();
    let metrics = match args.metrics.as_str() {
        "off" => None,
        listen => Some(zhongtai_kit::admin::serve(listen, shutdown.clone()).await?),
    };
    let platform = Platform::embedded(channel_config(&MeshConfig::default()));
    let tokens = development_tokens(&data_dir).await?;
    let mut modules = embedded_modules(&data_dir)?;
    let gateway_port = if args.base_port == 0 {
        0
    } else {
        args.gateway_port
    };
    modules.gateway.listen = format!("{}:{gateway_port}", args.host);

    let mut running = Vec::new();
    let mut endpoints = BTreeMap::new();
    let mut http = BTreeMap::new();
    for (offset, service) in ServiceName::ALL.into_iter().enumerate() {
        let port = if args.base_port == 0 {
            0
        } else {
            args.base_port
                .checked_add(offset as u16)
                .context("--base-port is too high for five services")?
        };
        let settings = embedded_settings(service, &args.host, port, &data_dir, tokens.clone());
        let started = service
            .start(settings, &modules, platform.clone(), shutdown.clone())
            .await
            .with_context(|| format!("cannot start {service}"))?;
        endpoints.insert(service.to_string(), started.local_addr.to_string());
        for (_, addr) in &started.listeners {
            http.insert(service.to_string(), addr.to_string());
        }
        running.push(started);
    }

    let endpoints = Endpoints {
        services: endpoints,
        metrics: metrics.map(|addr| addr.to_string()),
        http,
        version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let file = data_dir.join(ENDPOINTS_FILE);
    endpoints
        .write(&file)
        .with_context(|| format!("cannot write {}", file.display()))?;
    print_banner(&endpoints, &data_dir);

    let mut failed = false;
    for service in running {
        let name = service.name;
        if let Err(e) = service.wait().await {
            tracing::error!(service = name, error = %e, "service stopped with an error");
            failed = true;
        }
    }
    let _ = std::fs::remove_file(&file);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn embedded_settings(
    service: ServiceName,
    host: &str,
    port: u16,
    data_dir: &Path,
    tokens: Arc<TokenVerifier>,
) -> ServiceSettings {
    let database = data_dir.join(format!("{service}.db"));
    ServiceSettings {
        server: ServerConfig {
            listen: format!("{host}:{port}"),
            metrics_listen: None,
            ..ServerConfig::default()
        },
        database: DatabaseConfig {
            url: Secret::new(format!("sqlite://{}", database.display())),
            max_connections: 4,
            ..DatabaseConfig::default()
        },
        events: EventsConfig {
            bus: BusKind::InProcess,
            relay_poll_ms: 200,
            ..EventsConfig::default()
        },
        tokens,
        // Loopback only, one process: plaintext is acceptable here.
        tls: None,
    }
}

/// Tokens of the development issuer whose key lives in the data folder —
/// fine on a laptop, never in production, and the log says so.
/// The defaults, with the certificate center's key encryption key and the
/// exchange center's masking key kept in the data folder (made on first
/// start, readable by the owner only), so signing keys and masked values
/// stay stable across restarts.
fn embedded_modules(data_dir: &Path) -> anyhow::Result<ModuleSettings> {
    let mut modules = ModuleSettings::default();
    modules.certificate.key_encryption_key =
        data_dir_secret(&data_dir.join(KEY_ENCRYPTION_KEY_FILE))?.into();
    modules.exchange.masking_key = data_dir_secret(&data_dir.join(MASKING_KEY_FILE))?.into();
    modules.exchange.sources = exchange_sources(std::env::vars());
    modules.gateway.secret_encryption_key =
        data_dir_secret(&data_dir.join(GATEWAY_SECRET_KEY_FILE))?.into();
    // The gateway signs its calls with the development issuer's key, which
    // every embedded service trusts.
    let issuer = DevIssuer::load_or_create(data_dir)
        .context("cannot set up the development token issuer")?;
    modules.gateway.token_signing_key = issuer.pkcs8_base64().to_string().into();
    modules.gateway.token_key_id = issuer.key_id().to_string();
    modules.token_issuer = zhongtai_kit::auth::DEV_ISSUER.to_string();
    modules.token_audience = zhongtai_kit::auth::DEFAULT_AUDIENCE.to_string();
    Ok(modules)
}

/// Source databases for exchange lines, named as `zhongtai serve exchange`
/// names them: `ZHONGTAI_EXCHANGE__SOURCES__<NAME>=postgres://…`. A log line
/// needs a PostgreSQL source even when the platform itself runs on SQLite.
fn exchange_sources(
    variables: impl Iterator<Item = (String, String)>,
) -> std::collections::BTreeMap<String, zhongtai_kit::Secret<String>> {
    const PREFIX: &str = "ZHONGTAI_EXCHANGE__SOURCES__";
    variables
        .filter_map(|(name, url)| {
            let source = name.strip_prefix(PREFIX)?.to_ascii_lowercase();
            (!source.is_empty()).then(|| (source, url.into()))
        })
        .collect()
}

/// The base64 of 32 random bytes kept at `path`, made on first use.
fn data_dir_secret(path: &Path) -> anyhow::Result<String> {
    if !path.exists() {
        use base64::Engine as _;
        let mut key = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut key)
            .map_err(|_| anyhow::anyhow!("no secure random numbers for {}", path.display()))?;
        let text = base64::engine::general_purpose::STANDARD.encode(key);
        write_private(path, &text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let key =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(key.trim().to_string())
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}

/// The embedded certificate center's key encryption key, in the data folder.
const KEY_ENCRYPTION_KEY_FILE: &str = "certificate-key-encryption.key";

/// The embedded exchange center's masking key, in the data folder.
const MASKING_KEY_FILE: &str = "exchange-masking.key";
const GATEWAY_SECRET_KEY_FILE: &str = "gateway-secret.key";

async fn development_tokens(data_dir: &Path) -> anyhow::Result<Arc<TokenVerifier>> {
    let issuer = DevIssuer::load_or_create(data_dir)
        .context("cannot set up the development token issuer")?;
    let jwks = DevIssuer::jwks_path(data_dir);
    let keys = KeySet::load(JwksSource::File(jwks.clone()), Duration::from_secs(60))
        .await
        .context("cannot load the development token keys")?;
    tracing::warn!(
        issuer = zhongtai_kit::auth::DEV_ISSUER,
        key = issuer.key_id(),
        jwks = %jwks.display(),
        "DEVELOPMENT TOKEN ISSUER IN USE: anyone with this data folder can mint tokens; \
         production verifies an identity provider's tokens (zhongtai serve, auth.jwks)"
    );
    Ok(Arc::new(TokenVerifier::new(
        Arc::new(keys),
        DevIssuer::rules(),
    )))
}

fn print_banner(endpoints: &Endpoints, data_dir: &Path) {
    println!(
        "Zhongtai is up (embedded: SQLite in {}, in-process registry and bus)",
        data_dir.display()
    );
    for (service, address) in &endpoints.services {
        println!("  {service:<12} grpc://{address}");
    }
    for (service, address) in &endpoints.http {
        println!(
            "  {:<12} http://{address}  (integrators: signed HTTP/JSON and gRPC)",
            format!("{service}-http")
        );
    }
    if let Some(metrics) = &endpoints.metrics {
        println!("  {:<12} http://{metrics}/metrics", "metrics");
    }
    println!("Try: zhongtai health    (Ctrl-C stops everything)");
    println!(
        "Token: export ZHONGTAI_TOKEN=$(zhongtai token issue --tenant 331100 --dept housing-fund --role operator)"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchange_sources_come_from_their_variables() {
        let sources = exchange_sources(
            [
                (
                    "ZHONGTAI_EXCHANGE__SOURCES__CIVIL_AFFAIRS".to_string(),
                    "postgres://u@db/civil".to_string(),
                ),
                ("ZHONGTAI_EXCHANGE__SOURCES__".to_string(), "x".to_string()),
                ("DATABASE_URL".to_string(), "postgres://other".to_string()),
            ]
            .into_iter(),
        );
        assert_eq!(sources.len(), 1);
        assert_eq!(sources["civil_affairs"].expose(), "postgres://u@db/civil");
    }
}
