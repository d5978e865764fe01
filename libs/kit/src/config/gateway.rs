//! Settings of the capability gateway (`[gateway]`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ConfigProblem, Validate, check_socket_addr, decoded_len, problem};
use crate::secret::Secret;

/// Settings of the capability gateway (`[gateway]`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayConfig {
    /// Address of the integrators' front door (HTTP/1.1 and HTTP/2:
    /// HTTP/JSON capabilities and gRPC passthrough), `host:port`.
    pub listen: String,
    /// Base64 of the 32-byte key that encrypts app secrets at rest
    /// (`GATEWAY_SECRET_ENCRYPTION_KEY`). Required to serve the gateway.
    pub secret_encryption_key: Secret<String>,
    /// Base64 of the PKCS#8 Ed25519 key the gateway signs the short-lived
    /// tokens it calls backends with on an app's behalf
    /// (`GATEWAY_TOKEN_SIGNING_KEY`); its public key must be in the JWKS
    /// the services trust. Required to serve the gateway.
    pub token_signing_key: Secret<String>,
    /// Key id (`kid`) of that key in the JWKS.
    pub token_key_id: String,
    /// The platform operator's tenant: its admins manage capabilities and
    /// every app; other tenants' admins manage the apps they sponsor.
    pub platform_tenant: String,
    /// Largest difference between a signed request's timestamp and the
    /// gateway's clock, in seconds. Nonces are remembered twice as long.
    pub clock_skew_secs: u64,
    /// Largest request body accepted, in bytes (413 beyond).
    pub max_body_bytes: usize,
    /// How often each instance checks for changed apps, capabilities and
    /// policies, in milliseconds (changes apply within this).
    pub config_refresh_ms: u64,
    /// Calls processed at once before shedding refuses everything; the
    /// adaptive limit moves below it with observed latency.
    pub max_in_flight: usize,
    /// Audit records written per database batch.
    pub audit_batch_size: u32,
    /// Longest an audit record waits before its batch is written, in
    /// milliseconds.
    pub audit_flush_ms: u64,
    /// Audit records held in memory before new ones are counted as
    /// dropped (the front door never waits for the audit log).
    pub audit_queue_capacity: u32,
    /// Consecutive failures of a backend service that open its circuit.
    pub breaker_failures: u32,
    /// How long an open circuit refuses calls before one probe, in
    /// milliseconds.
    pub breaker_open_ms: u64,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            listen: "0.0.0.0:8080".into(),
            secret_encryption_key: Secret::new(String::new()),
            token_signing_key: Secret::new(String::new()),
            token_key_id: "gateway".into(),
            platform_tenant: "330000/big-data-bureau".into(),
            clock_skew_secs: 300,
            max_body_bytes: 1024 * 1024,
            config_refresh_ms: 200,
            max_in_flight: 2048,
            audit_batch_size: 500,
            audit_flush_ms: 200,
            audit_queue_capacity: 100_000,
            breaker_failures: 5,
            breaker_open_ms: 2_000,
        }
    }
}

impl GatewayConfig {
    pub fn clock_skew(&self) -> Duration {
        Duration::from_secs(self.clock_skew_secs)
    }

    pub fn config_refresh(&self) -> Duration {
        Duration::from_millis(self.config_refresh_ms)
    }

    pub fn audit_flush(&self) -> Duration {
        Duration::from_millis(self.audit_flush_ms)
    }

    pub fn breaker_open(&self) -> Duration {
        Duration::from_millis(self.breaker_open_ms)
    }

    /// The platform operator's tenant ([`GatewayConfig::platform_tenant`]).
    pub fn platform_tenant(&self) -> Result<crate::TenantId, crate::tenant::TenantError> {
        crate::TenantId::from_key(&self.platform_tenant)
    }
}

impl Validate for GatewayConfig {
    fn validate(&self, problems: &mut Vec<ConfigProblem>) {
        check_socket_addr(problems, "gateway.listen", &self.listen);
        let key = self.secret_encryption_key.expose();
        if !key.is_empty() && decoded_len(key) != Some(32) {
            problem(
                problems,
                "gateway.secret_encryption_key",
                "must be the base64 of exactly 32 bytes (e.g. `openssl rand -base64 32`)",
            );
        }
        let signing = self.token_signing_key.expose();
        if !signing.is_empty() && decoded_len(signing).is_none() {
            problem(
                problems,
                "gateway.token_signing_key",
                "must be the base64 of a PKCS#8 Ed25519 private key",
            );
        }
        if let Err(e) = self.platform_tenant() {
            problem(problems, "gateway.platform_tenant", e.to_string());
        }
        if self.token_key_id.trim().is_empty() {
            problem(problems, "gateway.token_key_id", "must not be empty");
        }
        let ranges: [(&str, u64, u64, u64); 6] = [
            ("gateway.clock_skew_secs", self.clock_skew_secs, 1, 3600),
            (
                "gateway.config_refresh_ms",
                self.config_refresh_ms,
                10,
                60_000,
            ),
            ("gateway.audit_flush_ms", self.audit_flush_ms, 1, 60_000),
            ("gateway.breaker_open_ms", self.breaker_open_ms, 10, 600_000),
            (
                "gateway.audit_batch_size",
                u64::from(self.audit_batch_size),
                1,
                10_000,
            ),
            (
                "gateway.breaker_failures",
                u64::from(self.breaker_failures),
                1,
                1_000,
            ),
        ];
        for (key, value, min, max) in ranges {
            if !(min..=max).contains(&value) {
                problem(problems, key, format!("must be {min}..={max}, got {value}"));
            }
        }
        if !(1024..=64 * 1024 * 1024).contains(&self.max_body_bytes) {
            problem(problems, "gateway.max_body_bytes", "must be 1 KiB..=64 MiB");
        }
        if !(1..=1_000_000).contains(&self.max_in_flight) {
            problem(problems, "gateway.max_in_flight", "must be 1..=1000000");
        }
        if self.audit_queue_capacity < self.audit_batch_size {
            problem(
                problems,
                "gateway.audit_queue_capacity",
                "must be at least gateway.audit_batch_size",
            );
        }
    }
}
