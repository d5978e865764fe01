//! Caller identity and authorisation, shared by every service.
//!
//! ```text
//! authorization: Bearer <JWT> ──▶ AccessLayer ──▶ TokenVerifier (JWKS) ──▶ Caller
//!                                     │                 refused: UNAUTHENTICATED
//!                                     ├─▶ AccessPolicy (roles per RPC)
//!                                     │                 refused: PERMISSION_DENIED + audit
//!                                     └─▶ handler: caller(&request)?.read_scope() …
//! ```

mod caller;
mod credential;
mod dev_issuer;
mod fetch;
mod jwks;
mod layer;
mod policy;
mod token;
mod verified;

use std::sync::Arc;

pub use caller::{Caller, Role, UnknownRole};
pub use credential::Credential;
pub use dev_issuer::{DEFAULT_AUDIENCE, DEV_ISSUER, DevIssuer, DevIssuerError};
pub use jwks::{JwksError, JwksSource, KeySet};
pub use layer::{AccessControl, AccessLayer, AccessService, Denial, DenialLog};
pub use policy::{Access, AccessPolicy, Refusal, Rule, ServicePolicy, roles};
pub use token::{Claims, TenantClaim, TokenError, TokenRules, TokenVerifier};

use crate::config::AuthConfig;
use crate::status::ApiError;

/// The verifier a production process builds from its configuration.
pub async fn verifier_from_config(config: &AuthConfig) -> Result<Arc<TokenVerifier>, JwksError> {
    let keys = KeySet::load(JwksSource::parse(&config.jwks), config.jwks_refresh()).await?;
    Ok(Arc::new(TokenVerifier::new(
        Arc::new(keys),
        TokenRules {
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            leeway: config.leeway(),
        },
    )))
}

/// The authenticated caller of a request. The access layer put it there;
/// its absence means the method is public and no token was sent.
pub fn caller<T>(request: &tonic::Request<T>) -> Result<Caller, ApiError> {
    request
        .extensions()
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| {
            ApiError::unauthenticated("this call needs a bearer token")
                .with_metadata("credential", TokenError::Missing.code())
        })
}

/// The bearer token the request was authenticated with, to call another
/// service on the caller's behalf; `None` for public calls without one.
pub fn credential<T>(request: &tonic::Request<T>) -> Option<Credential> {
    request.extensions().get::<Credential>().cloned()
}

/// `request` as the access layer hands it on once `caller` is authenticated:
/// for in-process calls of a handler and for handler tests.
pub fn acting_as<T>(mut request: tonic::Request<T>, caller: Caller) -> tonic::Request<T> {
    request.extensions_mut().insert(caller);
    request
}

/// A domain refusal: the caller is known but may not touch this target.
/// The access layer audits it on the way out.
pub fn denied(
    reason_code: &str,
    target: impl Into<String>,
    message: impl Into<String>,
) -> ApiError {
    ApiError::permission_denied(reason_code, message).with_metadata("target", target)
}

/// Refuses a filter naming a tenant outside the caller's read scope, rather
/// than silently answering with nothing.
pub fn require_readable(caller: &Caller, tenant: &crate::TenantId) -> Result<(), ApiError> {
    if caller.read_scope().permits(tenant) {
        return Ok(());
    }
    Err(denied(
        "TENANT_MISMATCH",
        format!("tenant/{tenant}"),
        format!(
            "{} acts for tenant {} and may not read tenant {tenant}'s records",
            caller.subject, caller.tenant
        ),
    ))
}
