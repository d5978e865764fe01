//! Typed configuration for a Zhongtai process: defaults, then a TOML file,
//! then environment variables — `ZHONGTAI_<SECTION>__<KEY>` for everything,
//! plus the conventional 12-factor names `DATABASE_URL`, `ETCD_ENDPOINTS`,
//! `AMQP_URL`, `OTEL_EXPORTER_OTLP_ENDPOINT`, `LOG_FORMAT` and `POD_IP`.
//! Everything is validated before a port is bound; a problem is reported with
//! the key that holds it.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Deserializer, Serialize};

use crate::secret::Secret;
use zhongtai_telemetry::{LogFormat, TelemetryConfig};

mod gateway;
pub use gateway::GatewayConfig;

/// Prefix of Zhongtai's own environment variables.
pub const ENV_PREFIX: &str = "ZHONGTAI_";

/// Configuration of one service process (`zhongtai serve <service>`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServeConfig {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub mesh: MeshConfig,
    pub events: EventsConfig,
    pub telemetry: TelemetrySettings,
    pub auth: AuthConfig,
    pub tls: TlsConfig,
    pub approval: ApprovalConfig,
    pub catalog: CatalogConfig,
    pub certificate: CertificateConfig,
    pub exchange: ExchangeConfig,
    pub gateway: GatewayConfig,
}

/// Settings of the exchange center (`[exchange]`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ExchangeConfig {
    /// Base64 of the 32-byte secret that keys HASH masking
    /// (`EXCHANGE_MASKING_KEY`); each grant hashes with its own key derived
    /// from it. Required to serve the exchange center.
    pub masking_key: Secret<String>,
    /// Source database connections lines refer to by name
    /// (`LogSource.connection_ref`), as PostgreSQL URLs, e.g.
    /// `ZHONGTAI_EXCHANGE__SOURCES__CIVIL_AFFAIRS=postgres://…`. Names match
    /// with `-` and `_` taken as equal and case ignored.
    pub sources: std::collections::BTreeMap<String, Secret<String>>,
    /// How long a runner holds a line before it must renew its lease, in
    /// milliseconds; another instance takes the line over after it lapses.
    pub lease_ttl_ms: u64,
    /// How often runners re-read subscriptions (grant revocations stop
    /// delivery within this) and look for lines to take, in milliseconds.
    pub refresh_interval_ms: u64,
    /// Wait before a degraded line retries its source or sinks, in
    /// milliseconds.
    pub retry_interval_ms: u64,
    /// Most changes delivered and confirmed as one batch.
    pub batch_max_changes: u32,
    /// Length of a reconciliation window, in seconds.
    pub reconcile_window_secs: u64,
    /// A change reaching a hop later than this after its source commit is
    /// reported LATE, in milliseconds.
    pub late_threshold_ms: u64,
    /// How long journal entries (per-change hop records) are kept, in hours.
    pub journal_retention_hours: u64,
    /// Whether each enclave gets its own PostgreSQL role that alone can use
    /// its schema (reads run as that role). Needs CREATEROLE; ignored on
    /// SQLite.
    pub enclave_roles: bool,
}

impl Default for ExchangeConfig {
    fn default() -> Self {
        Self {
            masking_key: Secret::new(String::new()),
            sources: std::collections::BTreeMap::new(),
            lease_ttl_ms: 10_000,
            refresh_interval_ms: 500,
            retry_interval_ms: 1_000,
            batch_max_changes: 5_000,
            reconcile_window_secs: 60,
            late_threshold_ms: 5_000,
            journal_retention_hours: 168,
            enclave_roles: true,
        }
    }
}

impl ExchangeConfig {
    /// The masking key's bytes; `Err` says what is wrong with it.
    pub fn masking_key_bytes(&self) -> Result<Vec<u8>, String> {
        use base64::Engine as _;
        let key = self.masking_key.expose().trim();
        if key.is_empty() {
            return Err(
                "exchange.masking_key is required: set EXCHANGE_MASKING_KEY to the base64 \
                        of 32 random bytes (e.g. `openssl rand -base64 32`)"
                    .into(),
            );
        }
        base64::engine::general_purpose::STANDARD
            .decode(key)
            .map_err(|_| "exchange.masking_key is not base64".to_string())
    }

    /// The URL of source connection `name`, if configured.
    pub fn source_url(&self, name: &str) -> Option<&str> {
        let wanted = normalized_source_name(name);
        self.sources
            .iter()
            .find(|(key, _)| normalized_source_name(key) == wanted)
            .map(|(_, url)| url.expose().as_str())
    }

    pub fn lease_ttl(&self) -> Duration {
        Duration::from_millis(self.lease_ttl_ms)
    }

    pub fn refresh_interval(&self) -> Duration {
        Duration::from_millis(self.refresh_interval_ms)
    }

    pub fn retry_interval(&self) -> Duration {
        Duration::from_millis(self.retry_interval_ms)
    }

    pub fn reconcile_window(&self) -> Duration {
        Duration::from_secs(self.reconcile_window_secs)
    }

    pub fn late_threshold(&self) -> Duration {
        Duration::from_millis(self.late_threshold_ms)
    }

    pub fn journal_retention(&self) -> Duration {
        Duration::from_secs(self.journal_retention_hours * 3600)
    }
}

fn normalized_source_name(name: &str) -> String {
    name.to_ascii_lowercase().replace('-', "_")
}

/// Settings of the approval center (`[approval]`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ApprovalConfig {
    /// How often persisted SLA deadlines (reminders, escalations) are
    /// checked, in milliseconds.
    pub timer_interval_ms: u64,
}

impl Default for ApprovalConfig {
    fn default() -> Self {
        Self {
            timer_interval_ms: 1000,
        }
    }
}

impl ApprovalConfig {
    pub fn timer_interval(&self) -> Duration {
        Duration::from_millis(self.timer_interval_ms)
    }
}

/// Settings of the certificate center (`[certificate]`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct CertificateConfig {
    /// Base64 of the 32-byte key that encrypts signing keys at rest
    /// (`SIGNING_KEY_ENCRYPTION_KEY`). Required to serve the certificate
    /// center; losing it makes every stored private key unusable.
    pub key_encryption_key: Secret<String>,
    /// The platform operator's tenant: its admins unlock consents as the
    /// platform party (三解锁) and administer issuers.
    pub platform_tenant: String,
    /// How long a personal or family code verifies, in seconds.
    pub code_validity_secs: u64,
    /// How often each instance re-reads keys and status lists changed by
    /// other instances, in milliseconds (revocations reach online verifiers
    /// within this).
    pub refresh_interval_ms: u64,
    /// Scans written per database batch.
    pub scan_batch_size: u32,
    /// Longest a scan waits for its batch to fill before it is written, in
    /// milliseconds.
    pub scan_batch_linger_ms: u64,
    /// Scans waiting to be written before ScanCode refuses more
    /// (RESOURCE_EXHAUSTED, retry) instead of queueing without bound.
    pub scan_queue_capacity: u32,
    /// How often consents past their period are expired, in milliseconds.
    pub timer_interval_ms: u64,
}

impl Default for CertificateConfig {
    fn default() -> Self {
        Self {
            key_encryption_key: Secret::new(String::new()),
            platform_tenant: "330000/big-data-bureau".into(),
            code_validity_secs: 300,
            refresh_interval_ms: 250,
            scan_batch_size: 500,
            scan_batch_linger_ms: 5,
            scan_queue_capacity: 20_000,
            timer_interval_ms: 1000,
        }
    }
}

impl CertificateConfig {
    pub fn code_validity(&self) -> Duration {
        Duration::from_secs(self.code_validity_secs)
    }

    pub fn refresh_interval(&self) -> Duration {
        Duration::from_millis(self.refresh_interval_ms)
    }

    pub fn scan_batch_linger(&self) -> Duration {
        Duration::from_millis(self.scan_batch_linger_ms)
    }

    pub fn timer_interval(&self) -> Duration {
        Duration::from_millis(self.timer_interval_ms)
    }

    /// The platform operator's tenant ([`CertificateConfig::platform_tenant`]).
    pub fn platform_tenant(&self) -> Result<crate::TenantId, crate::tenant::TenantError> {
        crate::TenantId::from_key(&self.platform_tenant)
    }
}

/// Settings of the catalog center (`[catalog]`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct CatalogConfig {
    /// Department of the data bureau in each division: its data-access
    /// service item reviews access requests on that division's resources.
    pub data_bureau_department: String,
    /// Code of the data bureau's service item (kind DATA_ACCESS) that access
    /// requests run as.
    pub access_review_item: String,
    /// Approve requests on UNCONDITIONAL resources without an application.
    pub auto_approve_unconditional: bool,
    /// How often grants past their period are expired, in milliseconds.
    pub timer_interval_ms: u64,
}

impl Default for CatalogConfig {
    fn default() -> Self {
        Self {
            data_bureau_department: "data-bureau".into(),
            access_review_item: "data-access".into(),
            auto_approve_unconditional: true,
            timer_interval_ms: 1000,
        }
    }
}

impl CatalogConfig {
    pub fn timer_interval(&self) -> Duration {
        Duration::from_millis(self.timer_interval_ms)
    }
}

/// How the gRPC server listens, protects itself and shuts down.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address the gRPC server binds, `host:port` (port 0 picks a free one).
    pub listen: String,
    /// `host:port` other instances dial; default: the listen address, with an
    /// unspecified host replaced by `POD_IP` (or 127.0.0.1).
    pub advertise: Option<String>,
    /// Address of the HTTP endpoint serving `/metrics` and `/healthz`; none
    /// disables it.
    pub metrics_listen: Option<String>,
    /// Address of a plaintext gRPC listener serving only the health
    /// protocol, for probes that cannot present a mesh certificate
    /// (kubelet's gRPC probes); none disables it.
    pub probe_listen: Option<String>,
    /// Failure zone reported in discovery (e.g. the availability zone).
    pub zone: String,
    /// Relative share of traffic this instance should take.
    pub weight: u32,
    /// Largest accepted request message, in bytes.
    pub max_message_bytes: usize,
    /// Requests processed at once before shedding the least important.
    pub max_in_flight: usize,
    /// Requests per second admitted (token bucket); none for no limit.
    pub rate_limit_per_second: Option<u32>,
    /// Upper bound of any request's duration, in milliseconds (a caller's
    /// shorter `grpc-timeout` wins).
    pub request_timeout_ms: u64,
    /// How long shutdown waits for in-flight requests, in milliseconds.
    pub drain_timeout_ms: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "0.0.0.0:50051".into(),
            advertise: None,
            metrics_listen: Some("0.0.0.0:9464".into()),
            probe_listen: None,
            zone: "default".into(),
            weight: 100,
            max_message_bytes: 4 * 1024 * 1024,
            max_in_flight: 1024,
            rate_limit_per_second: None,
            request_timeout_ms: 30_000,
            drain_timeout_ms: 10_000,
        }
    }
}

impl ServerConfig {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    pub fn drain_timeout(&self) -> Duration {
        Duration::from_millis(self.drain_timeout_ms)
    }
}

/// The service's own database.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `postgres://…` or `sqlite://path` (`DATABASE_URL`).
    pub url: Secret<String>,
    pub max_connections: u32,
    pub connect_timeout_ms: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: Secret::default(),
            max_connections: 16,
            connect_timeout_ms: 5_000,
        }
    }
}

/// Which service registry to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RegistryKind {
    #[default]
    Etcd,
    /// In-process registry: only for all services in one process.
    InProcess,
}

/// Discovery and client behaviour.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MeshConfig {
    pub registry: RegistryKind,
    /// etcd client URLs (`ETCD_ENDPOINTS`, comma-separated).
    #[serde(deserialize_with = "list_or_comma_separated")]
    pub etcd_endpoints: Vec<String>,
    /// Key prefix under which instances register.
    pub prefix: String,
    /// Registration lease TTL, in seconds: how long a dead instance may stay
    /// in discovery.
    pub lease_ttl_secs: u64,
    /// Client deadline when the caller sets none, in milliseconds.
    pub default_deadline_ms: u64,
    /// Attempts per idempotent call, including the first.
    pub max_attempts: u32,
    /// Dial timeout for a new connection, in milliseconds.
    pub connect_timeout_ms: u64,
}

impl Default for MeshConfig {
    fn default() -> Self {
        Self {
            registry: RegistryKind::Etcd,
            etcd_endpoints: vec!["http://127.0.0.1:2379".into()],
            prefix: "/zhongtai/services".into(),
            lease_ttl_secs: 5,
            default_deadline_ms: 10_000,
            max_attempts: 3,
            connect_timeout_ms: 1_000,
        }
    }
}

/// Which event bus to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BusKind {
    #[default]
    Rabbitmq,
    /// In-process bus: only for all services in one process.
    InProcess,
}

/// Event publishing and consumption.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventsConfig {
    pub bus: BusKind,
    /// `amqp://user:pass@host:5672/vhost` (`AMQP_URL`).
    pub amqp_url: Secret<String>,
    /// Topic exchange all domain events are published to.
    pub exchange: String,
    /// Prefix of this platform's consumer queues; set it when two platforms
    /// share one RabbitMQ vhost. Empty keeps plain queue names.
    pub queue_prefix: String,
    /// Outbox rows published per batch.
    pub relay_batch_size: u32,
    /// How often the relay looks for unpublished events when not woken, in ms.
    pub relay_poll_ms: u64,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            bus: BusKind::Rabbitmq,
            amqp_url: Secret::new("amqp://guest:guest@127.0.0.1:5672/%2f".into()),
            exchange: "zhongtai.events".into(),
            queue_prefix: String::new(),
            relay_batch_size: 256,
            relay_poll_ms: 500,
        }
    }
}

/// Logs and traces.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetrySettings {
    /// `json`, `pretty` or `compact` (`LOG_FORMAT`).
    pub log_format: LogFormat,
    /// Log filter directives; `RUST_LOG` wins when set.
    pub log_filter: Option<String>,
    /// OTLP/gRPC collector (`OTEL_EXPORTER_OTLP_ENDPOINT`); unset: no export.
    pub otlp_endpoint: Option<String>,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            log_format: LogFormat::Json,
            log_filter: None,
            otlp_endpoint: None,
        }
    }
}

impl TelemetrySettings {
    pub fn for_service(&self, service_name: &str) -> TelemetryConfig {
        TelemetryConfig {
            service_name: service_name.to_string(),
            log_format: self.log_format,
            log_filter: self.log_filter.clone(),
            otlp_endpoint: self.otlp_endpoint.clone(),
        }
    }
}

/// How callers are authenticated.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// The identity provider's JWKS: a file path (a mounted ConfigMap) or an
    /// `https://` URL. Required.
    pub jwks: String,
    /// Expected `iss` of tokens. Required.
    pub issuer: String,
    /// Expected `aud` of tokens.
    pub audience: String,
    /// Tolerated clock difference with the issuer, in seconds.
    pub leeway_secs: u64,
    /// How often the JWKS is re-read, in seconds (unknown key ids trigger an
    /// earlier reload).
    pub jwks_refresh_secs: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            jwks: String::new(),
            issuer: String::new(),
            audience: "zhongtai".into(),
            leeway_secs: 60,
            jwks_refresh_secs: 300,
        }
    }
}

impl AuthConfig {
    pub fn leeway(&self) -> Duration {
        Duration::from_secs(self.leeway_secs)
    }

    pub fn jwks_refresh(&self) -> Duration {
        Duration::from_secs(self.jwks_refresh_secs)
    }
}

/// Mutual TLS between services: PEM files, as a Kubernetes Secret or
/// cert-manager mounts them. Required unless explicitly disabled.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// CA certificate(s) that sign the mesh's certificates (`ca.crt`).
    pub ca: Option<String>,
    /// This service's certificate chain (`tls.crt`), SAN = the service name.
    pub cert: Option<String>,
    /// Its private key (`tls.key`).
    pub key: Option<String>,
    /// Run without TLS (e.g. behind a mesh sidecar that terminates mTLS).
    pub disabled: bool,
}

impl TlsConfig {
    /// The files, unless TLS is disabled; validation made sure all three
    /// are set when it is not.
    pub fn files(&self) -> Option<zhongtai_mesh::TlsFiles> {
        if self.disabled {
            return None;
        }
        Some(zhongtai_mesh::TlsFiles {
            ca: self.ca.clone().unwrap_or_default().into(),
            cert: self.cert.clone().unwrap_or_default().into(),
            key: self.key.clone().unwrap_or_default().into(),
        })
    }
}

/// A configuration problem, with the key that holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub key: String,
    pub problem: String,
}

/// Why configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    MissingFile(String),
    #[error("invalid configuration:\n{}", format_problems(.0))]
    Parse(Vec<ConfigProblem>),
    #[error("invalid configuration:\n{}", format_problems(.0))]
    Invalid(Vec<ConfigProblem>),
}

fn format_problems(problems: &[ConfigProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {}: {}", p.key, p.problem))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One problem per value that did not parse, named by its dotted key and
/// where it came from (file or environment variable).
fn parse_problems(error: figment::Error) -> Vec<ConfigProblem> {
    error
        .into_iter()
        .map(|e| {
            let key = if e.path.is_empty() {
                "(top level)".to_string()
            } else {
                e.path.join(".").to_ascii_lowercase()
            };
            let source = e.metadata.as_ref().map(|metadata| match &metadata.source {
                Some(figment::Source::File(path)) => path.display().to_string(),
                _ if metadata.name.contains("environment") => variable_for(&key),
                _ => metadata.name.to_string(),
            });
            let problem = match source {
                Some(source) => format!("{} (from {source})", e.kind),
                None => e.kind.to_string(),
            };
            ConfigProblem { key, problem }
        })
        .collect()
}

/// Configuration sections that can check themselves.
pub trait Validate {
    fn validate(&self, problems: &mut Vec<ConfigProblem>);
}

/// Loads `T` from its defaults, the optional TOML `file`, and the environment.
pub fn load<T>(file: Option<&Path>) -> Result<T, ConfigError>
where
    T: Serialize + for<'de> Deserialize<'de> + Default + Validate,
{
    let mut figment = Figment::from(Serialized::defaults(T::default()));
    if let Some(file) = file {
        if !file.exists() {
            return Err(ConfigError::MissingFile(file.display().to_string()));
        }
        figment = figment.merge(Toml::file(file));
    }
    let config: T = figment
        .merge(twelve_factor_env())
        // ZHONGTAI_CONFIG names the file itself; it is not a key.
        .merge(Env::prefixed(ENV_PREFIX).ignore(&["config"]).split("__"))
        .extract()
        .map_err(|e| ConfigError::Parse(parse_problems(e)))?;
    let mut problems = Vec::new();
    config.validate(&mut problems);
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError::Invalid(problems))
    }
}

/// The conventional variable names operators and platforms already set, and
/// the keys they fill.
const TWELVE_FACTOR: [(&str, &str); 9] = [
    ("DATABASE_URL", "database.url"),
    ("ETCD_ENDPOINTS", "mesh.etcd_endpoints"),
    ("AMQP_URL", "events.amqp_url"),
    ("OTEL_EXPORTER_OTLP_ENDPOINT", "telemetry.otlp_endpoint"),
    ("LOG_FORMAT", "telemetry.log_format"),
    (
        "SIGNING_KEY_ENCRYPTION_KEY",
        "certificate.key_encryption_key",
    ),
    ("EXCHANGE_MASKING_KEY", "exchange.masking_key"),
    (
        "GATEWAY_SECRET_ENCRYPTION_KEY",
        "gateway.secret_encryption_key",
    ),
    ("GATEWAY_TOKEN_SIGNING_KEY", "gateway.token_signing_key"),
];

fn twelve_factor_env() -> Env {
    Env::raw().filter_map(|variable| {
        let variable = variable.as_str().to_ascii_uppercase();
        TWELVE_FACTOR
            .iter()
            .find(|(name, _)| *name == variable)
            .map(|(_, key)| (*key).into())
    })
}

/// The environment variable that sets `key` (dotted, lower case).
fn variable_for(key: &str) -> String {
    TWELVE_FACTOR
        .iter()
        .find(|(_, k)| *k == key)
        .map(|(name, _)| (*name).to_string())
        .unwrap_or_else(|| {
            format!(
                "{ENV_PREFIX}{}",
                key.replace('.', "__").to_ascii_uppercase()
            )
        })
}

fn list_or_comma_separated<'de, D>(deserializer: D) -> Result<Vec<String>, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrString {
        List(Vec<String>),
        String(String),
    }
    Ok(match ListOrString::deserialize(deserializer)? {
        ListOrString::List(list) => list,
        ListOrString::String(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
    })
}

fn problem(problems: &mut Vec<ConfigProblem>, key: &str, message: impl fmt::Display) {
    problems.push(ConfigProblem {
        key: key.to_string(),
        problem: message.to_string(),
    });
}

/// Checks that `value` is a `host:port` socket address.
pub fn check_socket_addr(problems: &mut Vec<ConfigProblem>, key: &str, value: &str) {
    if value.parse::<SocketAddr>().is_err() {
        problem(
            problems,
            key,
            format!("`{value}` is not a socket address (expected ip:port, e.g. 0.0.0.0:50051)"),
        );
    }
}

fn check_scheme(problems: &mut Vec<ConfigProblem>, key: &str, value: &str, schemes: &[&str]) {
    let scheme = value.split_once(':').map(|(scheme, _)| scheme);
    if !scheme.is_some_and(|s| schemes.contains(&s)) {
        problem(
            problems,
            key,
            format!(
                "must be a URL starting with {}",
                schemes.join(": or ") + ":"
            ),
        );
    }
}

fn check_range<T: PartialOrd + fmt::Display>(
    problems: &mut Vec<ConfigProblem>,
    key: &str,
    value: T,
    min: T,
    max: T,
) {
    if value < min || value > max {
        problem(
            problems,
            key,
            format!("{value} is out of range ({min}..={max})"),
        );
    }
}

impl Validate for ServerConfig {
    fn validate(&self, problems: &mut Vec<ConfigProblem>) {
        check_socket_addr(problems, "server.listen", &self.listen);
        if let Some(metrics) = &self.metrics_listen {
            check_socket_addr(problems, "server.metrics_listen", metrics);
        }
        if let Some(probe) = &self.probe_listen {
            check_socket_addr(problems, "server.probe_listen", probe);
        }
        if let Some(advertise) = &self.advertise
            && advertise
                .rsplit_once(':')
                .and_then(|(_, p)| p.parse::<u16>().ok())
                .is_none()
        {
            problem(
                problems,
                "server.advertise",
                format!("`{advertise}` is not host:port"),
            );
        }
        check_range(problems, "server.weight", self.weight, 1, 10_000);
        check_range(
            problems,
            "server.max_message_bytes",
            self.max_message_bytes,
            1024,
            64 * 1024 * 1024,
        );
        check_range(
            problems,
            "server.max_in_flight",
            self.max_in_flight,
            1,
            1_000_000,
        );
        if let Some(rate) = self.rate_limit_per_second {
            check_range(
                problems,
                "server.rate_limit_per_second",
                rate,
                1,
                10_000_000,
            );
        }
        check_range(
            problems,
            "server.request_timeout_ms",
            self.request_timeout_ms,
            10,
            3_600_000,
        );
        check_range(
            problems,
            "server.drain_timeout_ms",
            self.drain_timeout_ms,
            0,
            600_000,
        );
    }
}

impl Validate for DatabaseConfig {
    fn validate(&self, problems: &mut Vec<ConfigProblem>) {
        if self.url.expose().is_empty() {
            problem(problems, "database.url", "is required (set DATABASE_URL)");
        } else {
            check_scheme(
                problems,
                "database.url",
                self.url.expose(),
                &["postgres", "postgresql", "sqlite"],
            );
        }
        check_range(
            problems,
            "database.max_connections",
            self.max_connections,
            1,
            1000,
        );
    }
}

impl Validate for MeshConfig {
    fn validate(&self, problems: &mut Vec<ConfigProblem>) {
        if self.registry == RegistryKind::Etcd {
            if self.etcd_endpoints.is_empty() {
                problem(
                    problems,
                    "mesh.etcd_endpoints",
                    "at least one endpoint is required",
                );
            }
            for endpoint in &self.etcd_endpoints {
                check_scheme(
                    problems,
                    "mesh.etcd_endpoints",
                    endpoint,
                    &["http", "https"],
                );
            }
        }
        if !self.prefix.starts_with('/') || self.prefix.ends_with('/') {
            problem(
                problems,
                "mesh.prefix",
                "must start with '/' and not end with '/'",
            );
        }
        check_range(problems, "mesh.lease_ttl_secs", self.lease_ttl_secs, 2, 300);
        check_range(
            problems,
            "mesh.default_deadline_ms",
            self.default_deadline_ms,
            10,
            3_600_000,
        );
        check_range(problems, "mesh.max_attempts", self.max_attempts, 1, 10);
        check_range(
            problems,
            "mesh.connect_timeout_ms",
            self.connect_timeout_ms,
            10,
            60_000,
        );
    }
}

impl Validate for EventsConfig {
    fn validate(&self, problems: &mut Vec<ConfigProblem>) {
        if self.bus == BusKind::Rabbitmq {
            check_scheme(
                problems,
                "events.amqp_url",
                self.amqp_url.expose(),
                &["amqp", "amqps"],
            );
        }
        if self.exchange.trim().is_empty() {
            problem(problems, "events.exchange", "must not be empty");
        }
        check_range(
            problems,
            "events.relay_batch_size",
            self.relay_batch_size,
            1,
            10_000,
        );
        check_range(
            problems,
            "events.relay_poll_ms",
            self.relay_poll_ms,
            10,
            60_000,
        );
    }
}

impl Validate for TelemetrySettings {
    fn validate(&self, problems: &mut Vec<ConfigProblem>) {
        if let Some(endpoint) = &self.otlp_endpoint {
            check_scheme(
                problems,
                "telemetry.otlp_endpoint",
                endpoint,
                &["http", "https"],
            );
        }
    }
}

/// Configuration of a migration run (`zhongtai migrate <service>`): only
/// the database and logs. Other sections a deployment sets for the service
/// itself are accepted and ignored, so the migration step can share its
/// environment.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MigrateConfig {
    pub database: DatabaseConfig,
    pub telemetry: TelemetrySettings,
}

impl Validate for MigrateConfig {
    fn validate(&self, problems: &mut Vec<ConfigProblem>) {
        self.database.validate(problems);
        self.telemetry.validate(problems);
    }
}

impl Validate for ServeConfig {
    fn validate(&self, problems: &mut Vec<ConfigProblem>) {
        self.server.validate(problems);
        self.database.validate(problems);
        self.mesh.validate(problems);
        self.events.validate(problems);
        self.telemetry.validate(problems);
        self.auth.validate(problems);
        self.tls.validate(problems);
        self.approval.validate(problems);
        self.catalog.validate(problems);
        self.certificate.validate(problems);
        self.exchange.validate(problems);
        self.gateway.validate(problems);
    }
}

impl Validate for ExchangeConfig {
    fn validate(&self, problems: &mut Vec<ConfigProblem>) {
        let key = self.masking_key.expose();
        if !key.is_empty() && decoded_len(key) != Some(32) {
            problem(
                problems,
                "exchange.masking_key",
                "must be the base64 of exactly 32 bytes (e.g. `openssl rand -base64 32`)",
            );
        }
        for (name, url) in &self.sources {
            let url = url.expose();
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                problem(
                    problems,
                    &format!("exchange.sources.{name}"),
                    "must be a postgres:// URL",
                );
            }
        }
        check_range(
            problems,
            "exchange.lease_ttl_ms",
            self.lease_ttl_ms,
            1000,
            600_000,
        );
        check_range(
            problems,
            "exchange.refresh_interval_ms",
            self.refresh_interval_ms,
            50,
            60_000,
        );
        check_range(
            problems,
            "exchange.retry_interval_ms",
            self.retry_interval_ms,
            50,
            600_000,
        );
        check_range(
            problems,
            "exchange.batch_max_changes",
            self.batch_max_changes,
            1,
            100_000,
        );
        check_range(
            problems,
            "exchange.reconcile_window_secs",
            self.reconcile_window_secs,
            1,
            86_400,
        );
        check_range(
            problems,
            "exchange.late_threshold_ms",
            self.late_threshold_ms,
            1,
            86_400_000,
        );
        check_range(
            problems,
            "exchange.journal_retention_hours",
            self.journal_retention_hours,
            1,
            24 * 366,
        );
    }
}

impl Validate for CertificateConfig {
    fn validate(&self, problems: &mut Vec<ConfigProblem>) {
        let key = self.key_encryption_key.expose();
        if !key.is_empty() && decoded_len(key) != Some(32) {
            problem(
                problems,
                "certificate.key_encryption_key",
                "must be the base64 of exactly 32 bytes (e.g. `openssl rand -base64 32`)",
            );
        }
        if let Err(e) = self.platform_tenant() {
            problem(problems, "certificate.platform_tenant", e.to_string());
        }
        check_range(
            problems,
            "certificate.code_validity_secs",
            self.code_validity_secs,
            30,
            3600,
        );
        check_range(
            problems,
            "certificate.refresh_interval_ms",
            self.refresh_interval_ms,
            50,
            60_000,
        );
        check_range(
            problems,
            "certificate.scan_batch_size",
            self.scan_batch_size,
            1,
            10_000,
        );
        check_range(
            problems,
            "certificate.scan_batch_linger_ms",
            self.scan_batch_linger_ms,
            0,
            1000,
        );
        check_range(
            problems,
            "certificate.scan_queue_capacity",
            self.scan_queue_capacity,
            1,
            1_000_000,
        );
        check_range(
            problems,
            "certificate.timer_interval_ms",
            self.timer_interval_ms,
            10,
            600_000,
        );
    }
}

/// Length of `text` decoded as standard or URL-safe base64, if it is either.
fn decoded_len(text: &str) -> Option<usize> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    STANDARD
        .decode(text.trim())
        .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim().trim_end_matches('=')))
        .ok()
        .map(|bytes| bytes.len())
}

impl Validate for ApprovalConfig {
    fn validate(&self, problems: &mut Vec<ConfigProblem>) {
        check_range(
            problems,
            "approval.timer_interval_ms",
            self.timer_interval_ms,
            10,
            600_000,
        );
    }
}

impl Validate for CatalogConfig {
    fn validate(&self, problems: &mut Vec<ConfigProblem>) {
        if self.data_bureau_department.is_empty() {
            problem(
                problems,
                "catalog.data_bureau_department",
                "must not be empty",
            );
        } else if let Err(e) = crate::TenantId::parse("330000", &self.data_bureau_department) {
            problem(problems, "catalog.data_bureau_department", e.to_string());
        }
        let code = &self.access_review_item;
        let valid = (3..=64).contains(&code.len())
            && code
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid {
            problem(
                problems,
                "catalog.access_review_item",
                format!(
                    "`{code}` is not a service item code (3..64 lowercase letters, digits, '-')"
                ),
            );
        }
        check_range(
            problems,
            "catalog.timer_interval_ms",
            self.timer_interval_ms,
            10,
            600_000,
        );
    }
}

impl Validate for AuthConfig {
    fn validate(&self, problems: &mut Vec<ConfigProblem>) {
        if self.jwks.trim().is_empty() {
            problem(
                problems,
                "auth.jwks",
                "is required: the identity provider's JWKS file or https:// URL",
            );
        }
        if self.issuer.trim().is_empty() {
            problem(problems, "auth.issuer", "is required: the tokens' `iss`");
        }
        if self.audience.trim().is_empty() {
            problem(problems, "auth.audience", "must not be empty");
        }
        check_range(problems, "auth.leeway_secs", self.leeway_secs, 0, 300);
        check_range(
            problems,
            "auth.jwks_refresh_secs",
            self.jwks_refresh_secs,
            10,
            86_400,
        );
    }
}

impl Validate for TlsConfig {
    fn validate(&self, problems: &mut Vec<ConfigProblem>) {
        if self.disabled {
            return;
        }
        for (key, value) in [
            ("tls.ca", &self.ca),
            ("tls.cert", &self.cert),
            ("tls.key", &self.key),
        ] {
            if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
                problem(
                    problems,
                    key,
                    "is required: services talk mutual TLS (set tls.disabled = true only \
                     where something else provides it)",
                );
            }
        }
    }
}

#[cfg(test)]
// figment's Jail returns its own large error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;

    fn load_serve(file: Option<&Path>) -> Result<ServeConfig, ConfigError> {
        load::<ServeConfig>(file)
    }

    /// The security settings every production process needs.
    fn set_security(jail: &mut Jail) {
        jail.set_env("ZHONGTAI_AUTH__JWKS", "/etc/zhongtai/jwks.json");
        jail.set_env("ZHONGTAI_AUTH__ISSUER", "https://idp.example.gov");
        jail.set_env("ZHONGTAI_TLS__CA", "/tls/ca.crt");
        jail.set_env("ZHONGTAI_TLS__CERT", "/tls/tls.crt");
        jail.set_env("ZHONGTAI_TLS__KEY", "/tls/tls.key");
    }

    #[test]
    fn twelve_factor_variables_fill_the_sections() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            set_security(jail);
            jail.set_env("DATABASE_URL", "postgres://u:p@db/approval");
            jail.set_env("ETCD_ENDPOINTS", "http://e1:2379, http://e2:2379");
            jail.set_env("AMQP_URL", "amqp://mq:5672/%2f");
            jail.set_env("ZHONGTAI_SERVER__LISTEN", "127.0.0.1:6000");
            let config = load_serve(None).map_err(|e| e.to_string())?;
            assert_eq!(config.database.url.expose(), "postgres://u:p@db/approval");
            assert_eq!(
                config.mesh.etcd_endpoints,
                vec!["http://e1:2379", "http://e2:2379"]
            );
            assert_eq!(config.events.amqp_url.expose(), "amqp://mq:5672/%2f");
            assert_eq!(config.server.listen, "127.0.0.1:6000");
            Ok(())
        });
    }

    #[test]
    fn file_then_environment() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file(
                "zhongtai.toml",
                "[database]\nurl = \"sqlite://x.db\"\n[server]\nweight = 7\nzone = \"a\"\n",
            )?;
            set_security(jail);
            jail.set_env("ZHONGTAI_SERVER__ZONE", "b");
            let config = load_serve(Some(Path::new("zhongtai.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(config.server.weight, 7);
            assert_eq!(config.server.zone, "b");
            Ok(())
        });
    }

    #[test]
    fn bad_values_name_their_keys() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.set_env("DATABASE_URL", "mysql://nope");
            jail.set_env("ZHONGTAI_SERVER__LISTEN", "not-an-address");
            jail.set_env("ZHONGTAI_MESH__LEASE_TTL_SECS", "1");
            let message = load_serve(None).expect_err("invalid").to_string();
            assert!(message.contains("database.url"), "{message}");
            assert!(message.contains("server.listen"), "{message}");
            assert!(message.contains("mesh.lease_ttl_secs"), "{message}");
            Ok(())
        });
    }

    #[test]
    fn type_errors_name_their_keys() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.set_env("DATABASE_URL", "sqlite://x.db");
            jail.set_env("ZHONGTAI_SERVER__WEIGHT", "heavy");
            let message = load_serve(None).expect_err("type error").to_string();
            assert!(message.contains("server.weight"), "{message}");
            assert!(message.contains("ZHONGTAI_SERVER__WEIGHT"), "{message}");
            Ok(())
        });
    }

    #[test]
    fn production_refuses_to_run_without_tls_or_token_keys() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.set_env("DATABASE_URL", "sqlite://x.db");
            let message = load_serve(None).expect_err("insecure").to_string();
            for key in ["auth.jwks", "auth.issuer", "tls.ca", "tls.cert", "tls.key"] {
                assert!(message.contains(key), "{key} not named: {message}");
            }
            set_security(jail);
            jail.set_env("ZHONGTAI_TLS__CERT", "");
            let message = load_serve(None).expect_err("no cert").to_string();
            assert!(message.contains("tls.cert"), "{message}");
            jail.set_env("ZHONGTAI_TLS__DISABLED", "true");
            assert!(
                load_serve(None).is_ok(),
                "explicitly disabled TLS is allowed"
            );
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_rejected() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file("zhongtai.toml", "[server]\nlisten_port = 1\n")?;
            let message = load_serve(Some(Path::new("zhongtai.toml")))
                .expect_err("unknown key")
                .to_string();
            assert!(message.contains("listen_port"), "{message}");
            Ok(())
        });
    }

    #[test]
    fn missing_file_is_an_error() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            let error = load_serve(Some(Path::new("nope.toml"))).expect_err("missing");
            assert!(matches!(error, ConfigError::MissingFile(_)));
            Ok(())
        });
    }

    #[test]
    fn secrets_do_not_print() {
        let config = DatabaseConfig {
            url: Secret::new("postgres://u:hunter2@db/x".into()),
            ..DatabaseConfig::default()
        };
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
