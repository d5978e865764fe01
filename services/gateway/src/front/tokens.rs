//! The tokens the gateway calls backends with on an app's behalf: subject
//! `app:<app id>`, acting for the app's sponsor tenant, short-lived, signed
//! with the gateway's key (whose public half the services trust). Minted once
//! per app and reused until half their life has passed, so signing stays off
//! the hot path.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use uuid::Uuid;
use zhongtai_kit::TenantId;
use zhongtai_kit::auth::{Claims, Role, TenantClaim};

/// How long a minted token is valid.
const TOKEN_TTL: Duration = Duration::from_secs(300);

/// Why the gateway cannot sign its calls.
#[derive(Debug, thiserror::Error)]
pub enum TokenKeyError {
    #[error(
        "gateway.token_signing_key is required: set GATEWAY_TOKEN_SIGNING_KEY to the base64 of a PKCS#8 Ed25519 key whose public key is in the JWKS"
    )]
    Missing,
    #[error("gateway.token_signing_key is not base64")]
    Encoding,
    #[error("cannot sign a token: {0}")]
    Sign(String),
}

/// The backend-call credential of one app.
#[derive(Clone)]
pub struct AppToken {
    /// `Bearer <jwt>`, ready for the `authorization` header.
    pub authorization: http::HeaderValue,
    minted: Instant,
}

/// Mints and caches app tokens.
pub struct AppTokens {
    key: EncodingKey,
    key_id: String,
    issuer: String,
    audience: String,
    cache: RwLock<HashMap<Uuid, AppToken>>,
}

impl AppTokens {
    /// `pkcs8_base64`: the gateway's Ed25519 key; `issuer`/`audience`: what
    /// the services verify tokens against.
    pub fn new(
        pkcs8_base64: &str,
        key_id: &str,
        issuer: &str,
        audience: &str,
    ) -> Result<Arc<Self>, TokenKeyError> {
        let text = pkcs8_base64.trim();
        if text.is_empty() {
            return Err(TokenKeyError::Missing);
        }
        let der = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|_| TokenKeyError::Encoding)?;
        let tokens = Self {
            key: EncodingKey::from_ed_der(&der),
            key_id: key_id.to_string(),
            issuer: issuer.to_string(),
            audience: audience.to_string(),
            cache: RwLock::new(HashMap::new()),
        };
        // Fail at start, not on the first call, when the key cannot sign.
        tokens.mint(
            Uuid::nil(),
            &TenantId::from_key("330000").map_err(|e| TokenKeyError::Sign(e.to_string()))?,
        )?;
        Ok(Arc::new(tokens))
    }

    /// The current token of `app`, sponsored by `sponsor`.
    pub fn token(&self, app: Uuid, sponsor: &TenantId) -> Result<AppToken, TokenKeyError> {
        if let Some(token) = self.cached(app) {
            return Ok(token);
        }
        let token = self.mint(app, sponsor)?;
        let mut cache = match self.cache.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        cache.insert(app, token.clone());
        Ok(token)
    }

    /// Forgets every app's token (an app disabled or re-sponsored gets a
    /// fresh one).
    pub fn clear(&self) {
        let mut cache = match self.cache.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        cache.clear();
    }

    fn cached(&self, app: Uuid) -> Option<AppToken> {
        let cache = match self.cache.read() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        cache
            .get(&app)
            .filter(|token| token.minted.elapsed() < TOKEN_TTL / 2)
            .cloned()
    }

    fn mint(&self, app: Uuid, sponsor: &TenantId) -> Result<AppToken, TokenKeyError> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: format!("app:{app}"),
            aud: self.audience.clone(),
            exp: now + TOKEN_TTL.as_secs() as i64,
            nbf: now - 5,
            iat: now,
            jti: Some(Uuid::new_v4().to_string()),
            tenant: TenantClaim {
                division: sponsor.division.to_string(),
                department: sponsor.department.clone().unwrap_or_default(),
            },
            // Apps act within their sponsor's tenant and only through the
            // capabilities opened to them; operator is what reading
            // consented data needs.
            roles: vec![Role::Operator.as_str().to_string()],
            cross_tenant_read: Vec::new(),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.key_id.clone());
        let jwt = jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| TokenKeyError::Sign(e.to_string()))?;
        let authorization = http::HeaderValue::from_str(&format!("Bearer {jwt}"))
            .map_err(|e| TokenKeyError::Sign(e.to_string()))?;
        Ok(AppToken {
            authorization,
            minted: Instant::now(),
        })
    }
}
