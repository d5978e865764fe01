//! What a production-style process needs to start: a development PKI for
//! mutual TLS and a development token issuer whose JWKS the services trust —
//! the same artefacts `zhongtai certs init` and `zhongtai token issue` make.

use std::time::Duration;

use zhongtai_kit::auth::{DEV_ISSUER, DevIssuer};
use zhongtai_kit::{Role, TenantId};
use zhongtai_mesh::tls::dev;
use zhongtai_mesh::{MeshTls, TlsFiles};

/// Certificates and a token issuer in a temporary folder.
/// The certificate center's key encryption key in tests (base64 of 32 bytes).
pub const TEST_KEY_ENCRYPTION_KEY: &str = "dGVzdC1rZXktZW5jcnlwdGlvbi1rZXktMzItYnl0ZXM=";

/// The exchange center's masking key in tests (base64 of 32 bytes).
pub const TEST_MASKING_KEY: &str = "dGVzdC1leGNoYW5nZS1tYXNraW5nLWtleS0zMmJ5dGU=";

/// The gateway's app-secret encryption key in tests (base64 of 32 bytes).
pub const TEST_GATEWAY_SECRET_KEY: &str = "dGVzdC1nYXRld2F5LWFwcC1zZWNyZXQta2V5LTMyYnk=";

pub struct Security {
    dir: tempfile::TempDir,
    issuer: DevIssuer,
}

/// Identities the development PKI holds besides the services.
const CLIENT: &str = "cli";

impl Security {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        let services = [
            "approval",
            "catalog",
            "certificate",
            "exchange",
            "gateway",
            CLIENT,
        ];
        dev::generate(&dir.path().join("certs"), &services, 1).expect("development PKI");
        let issuer = DevIssuer::load_or_create(dir.path()).expect("development issuer");
        Self { dir, issuer }
    }

    /// The certificate files of `name` (a service or "cli").
    pub fn files(&self, name: &str) -> TlsFiles {
        dev::files_for(&self.dir.path().join("certs"), name)
    }

    /// Environment for `zhongtai serve <service>`: mTLS and token checks on,
    /// the certificate center's key encryption key and the exchange
    /// center's masking key.
    pub fn serve_env(&self, service: &str) -> Vec<(&'static str, String)> {
        let files = self.files(service);
        vec![
            (
                "ZHONGTAI_AUTH__JWKS",
                DevIssuer::jwks_path(self.dir.path()).display().to_string(),
            ),
            ("ZHONGTAI_AUTH__ISSUER", DEV_ISSUER.to_string()),
            ("ZHONGTAI_TLS__CA", files.ca.display().to_string()),
            ("ZHONGTAI_TLS__CERT", files.cert.display().to_string()),
            ("ZHONGTAI_TLS__KEY", files.key.display().to_string()),
            (
                "SIGNING_KEY_ENCRYPTION_KEY",
                TEST_KEY_ENCRYPTION_KEY.to_string(),
            ),
            ("EXCHANGE_MASKING_KEY", TEST_MASKING_KEY.to_string()),
            (
                "GATEWAY_SECRET_ENCRYPTION_KEY",
                TEST_GATEWAY_SECRET_KEY.to_string(),
            ),
            (
                "GATEWAY_TOKEN_SIGNING_KEY",
                self.issuer.pkcs8_base64().to_string(),
            ),
            (
                "ZHONGTAI_GATEWAY__TOKEN_KEY_ID",
                self.issuer.key_id().to_string(),
            ),
        ]
    }

    /// The public keys services verify tokens with.
    pub fn jwks_path(&self) -> std::path::PathBuf {
        DevIssuer::jwks_path(self.dir.path())
    }

    /// The issuer, for tokens with hand-made claims.
    pub fn issuer(&self) -> &DevIssuer {
        &self.issuer
    }

    /// The client identity of operators' tools.
    pub fn client_tls(&self) -> MeshTls {
        MeshTls::from_files(&self.files(CLIENT)).expect("client certificate")
    }

    /// A valid token for `tenant` ("331100/market-regulation") with `roles`.
    pub fn token(&self, tenant: &str, roles: &[Role]) -> String {
        self.token_of("scenario", tenant, roles)
    }

    /// A valid token of one named user (`subject`) of `tenant` with `roles`.
    pub fn token_of(&self, subject: &str, tenant: &str, roles: &[Role]) -> String {
        let tenant = TenantId::from_key(tenant).expect("tenant");
        self.issuer
            .issue(subject, &tenant, roles, Duration::from_secs(3600))
            .expect("token")
    }

    /// `authorization` metadata carrying `token`.
    pub fn bearer(token: &str) -> tonic::metadata::MetadataValue<tonic::metadata::Ascii> {
        format!("Bearer {token}").parse().expect("header value")
    }
}

impl Default for Security {
    fn default() -> Self {
        Self::new()
    }
}

/// Adds `authorization: Bearer <token>` to every call of a generated client
/// (`Client::with_interceptor(channel, BearerToken::new(token))`).
#[derive(Clone)]
pub struct BearerToken(tonic::metadata::MetadataValue<tonic::metadata::Ascii>);

impl BearerToken {
    pub fn new(token: &str) -> Self {
        Self(Security::bearer(token))
    }
}

impl tonic::service::Interceptor for BearerToken {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        request
            .metadata_mut()
            .insert("authorization", self.0.clone());
        Ok(request)
    }
}
