//! Credentials over gRPC: issue, rotate, revoke, list. Secrets appear only
//! in the issue and rotate responses; the rules are in
//! [`crate::domain::credential`].

use std::sync::Arc;
use std::time::Duration;

use tonic::{Request, Response, Status};
use zhongtai_contracts::gateway::v1 as pb;
use zhongtai_credential::KeySealer;
use zhongtai_kit::audit_trail;
use zhongtai_kit::auth::caller;
use zhongtai_kit::config::GatewayConfig;
use zhongtai_kit::proto::{page_query, page_response, timestamp};
use zhongtai_kit::{ApiError, Caller};

use super::apps::parse_app_id;
use crate::domain::credential::{self as rules, IssuedCredential, MAX_LIVE_CREDENTIALS};
use crate::domain::ports::now;
use crate::domain::{
    AdminAccess, App, AppRepository, AppScope, Credential, CredentialRepository, CredentialState,
    GatewayError,
};

/// The credential RPCs of the admin plane.
pub struct CredentialsApi {
    apps: Arc<dyn AppRepository>,
    credentials: Arc<dyn CredentialRepository>,
    access: AdminAccess,
    /// `None` without a configured encryption key: nothing can be issued.
    sealer: Option<Arc<KeySealer>>,
}

impl CredentialsApi {
    /// Credential RPCs sealing secrets with `sealer`.
    pub fn new(
        apps: Arc<dyn AppRepository>,
        credentials: Arc<dyn CredentialRepository>,
        access: AdminAccess,
        sealer: Option<Arc<KeySealer>>,
    ) -> Self {
        Self {
            apps,
            credentials,
            access,
            sealer,
        }
    }

    /// Credential RPCs with the sealer built from
    /// `config.secret_encryption_key` (none when it is empty or invalid;
    /// configuration validation reports that at start).
    pub fn from_config(
        apps: Arc<dyn AppRepository>,
        credentials: Arc<dyn CredentialRepository>,
        access: AdminAccess,
        config: &GatewayConfig,
    ) -> Self {
        let sealer = KeySealer::from_base64(config.secret_encryption_key.expose())
            .ok()
            .map(Arc::new);
        Self::new(apps, credentials, access, sealer)
    }

    /// IssueCredential: a new key and secret; the secret only here.
    pub async fn issue_credential(
        &self,
        request: Request<pb::IssueCredentialRequest>,
    ) -> Result<Response<pb::IssueCredentialResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let app_id = parse_app_id("app_id", &request.app_id)?;
        let validity = rules::validity(duration("validity", request.validity.as_ref())?)
            .map_err(|problem| ApiError::invalid_field("validity", problem))?;
        let app = self.app(&self.access.write_scope(&caller), app_id).await?;
        let at = now();
        let expires_at = match validity {
            Some(validity) => Some(
                rules::after(at, validity)
                    .ok_or_else(|| ApiError::invalid_field("validity", "is too long"))?,
            ),
            None => None,
        };
        let issued = self.mint(&app, at, expires_at)?;
        let audit = audit_trail::allowed(
            &caller,
            "gateway.credential.issue",
            target(&issued.stored.credential),
        );
        self.credentials
            .issue(&issued.stored, MAX_LIVE_CREDENTIALS, at, &audit)
            .await?;
        Ok(Response::new(pb::IssueCredentialResponse {
            credential: Some(credential_message(&issued.stored.credential, at)),
            secret: issued.secret,
        }))
    }

    /// RotateCredential: a new key and secret; the old one rotating for the grace period.
    pub async fn rotate_credential(
        &self,
        request: Request<pb::RotateCredentialRequest>,
    ) -> Result<Response<pb::RotateCredentialResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let grace = rules::grace_period(duration("grace_period", request.grace_period.as_ref())?)
            .map_err(|problem| ApiError::invalid_field("grace_period", problem))?;
        let (previous, app) = self.credential(&caller, &request.app_key).await?;
        let at = now();
        let previous_expires_at = rules::after(at, grace)
            .ok_or_else(|| ApiError::invalid_field("grace_period", "is too long"))?;
        // A rotation never extends the old key past an expiry it already had.
        let previous_expires_at = previous
            .expires_at
            .map_or(previous_expires_at, |at| at.min(previous_expires_at));
        let issued = self.mint(&app, at, None)?;
        let audit = audit_trail::allowed(&caller, "gateway.credential.rotate", target(&previous));
        let rotated = self
            .credentials
            .rotate(
                &issued.stored,
                &previous.app_key,
                previous_expires_at,
                at,
                &audit,
            )
            .await?;
        Ok(Response::new(pb::RotateCredentialResponse {
            credential: Some(credential_message(&issued.stored.credential, at)),
            secret: issued.secret,
            previous: Some(credential_message(&rotated, at)),
        }))
    }

    /// RevokeCredential: refused from now on.
    pub async fn revoke_credential(
        &self,
        request: Request<pb::RevokeCredentialRequest>,
    ) -> Result<Response<pb::RevokeCredentialResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let reason = request.reason.trim();
        let chars = reason.chars().count();
        if chars > rules::MAX_REVOKE_REASON_CHARS {
            return Err(ApiError::invalid_field(
                "reason",
                format!(
                    "must be at most {} characters (got {chars})",
                    rules::MAX_REVOKE_REASON_CHARS
                ),
            )
            .into());
        }
        let (credential, _) = self.credential(&caller, &request.app_key).await?;
        let audit = audit_trail::allowed(&caller, "gateway.credential.revoke", target(&credential))
            .with_reason(reason);
        let at = now();
        let revoked = self
            .credentials
            .revoke(&credential.app_key, at, reason, &audit)
            .await?;
        Ok(Response::new(pb::RevokeCredentialResponse {
            credential: Some(credential_message(&revoked, at)),
        }))
    }

    /// ListCredentials: an app's credentials, newest first, never secrets.
    pub async fn list_credentials(
        &self,
        request: Request<pb::ListCredentialsRequest>,
    ) -> Result<Response<pb::ListCredentialsResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let page = page_query(request.page.as_ref())?;
        let app_id = parse_app_id("app_id", &request.app_id)?;
        let app = self.app(&self.access.read_scope(&caller), app_id).await?;
        let page = self.credentials.list(app.id, &page).await?;
        let at = now();
        Ok(Response::new(pb::ListCredentialsResponse {
            credentials: page
                .items
                .iter()
                .map(|credential| credential_message(credential, at))
                .collect(),
            page: Some(page_response(page.next_page_token)),
        }))
    }

    async fn app(&self, scope: &AppScope, id: uuid::Uuid) -> Result<App, GatewayError> {
        self.apps
            .get(scope, id)
            .await?
            .ok_or_else(|| GatewayError::NotFound {
                kind: "app",
                id: id.to_string(),
            })
    }

    /// The credential `app_key` and its app, if the caller may change that
    /// app; NOT_FOUND otherwise, as for a key that does not exist.
    async fn credential(
        &self,
        caller: &Caller,
        app_key: &str,
    ) -> Result<(Credential, App), ApiError> {
        if !rules::is_app_key(app_key) {
            return Err(ApiError::invalid_field(
                "app_key",
                "must be `ztk_` followed by 32 lowercase hex digits",
            ));
        }
        let not_found = || GatewayError::NotFound {
            kind: "credential",
            id: app_key.to_string(),
        };
        let credential = self.credentials.get(app_key).await?.ok_or_else(not_found)?;
        let app = self
            .apps
            .get(&self.access.write_scope(caller), credential.app_id)
            .await?
            .ok_or_else(not_found)?;
        Ok((credential, app))
    }

    fn mint(
        &self,
        app: &App,
        at: chrono::DateTime<chrono::Utc>,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<IssuedCredential, ApiError> {
        let sealer = self
            .sealer
            .as_ref()
            .ok_or_else(|| ApiError::dependency_unavailable("gateway.secret_encryption_key"))?;
        rules::mint(app.id, at, expires_at, sealer).map_err(ApiError::internal)
    }
}

fn duration(
    field: &str,
    value: Option<&prost_types::Duration>,
) -> Result<Option<Duration>, ApiError> {
    match value {
        None => Ok(None),
        Some(d) => Duration::try_from(*d)
            .map(Some)
            .map_err(|_| ApiError::invalid_field(field, "must be a non-negative duration")),
    }
}

fn target(credential: &Credential) -> String {
    format!(
        "app/{}/credential/{}",
        credential.app_id, credential.app_key
    )
}

/// The contract form of a credential, its state as of `now`.
pub fn credential_message(
    credential: &Credential,
    now: chrono::DateTime<chrono::Utc>,
) -> pb::Credential {
    pb::Credential {
        app_key: credential.app_key.clone(),
        app_id: credential.app_id.to_string(),
        state: match credential.state_at(now) {
            CredentialState::Active => pb::CredentialState::Active,
            CredentialState::Rotating => pb::CredentialState::Rotating,
            CredentialState::Revoked => pb::CredentialState::Revoked,
            CredentialState::Expired => pb::CredentialState::Expired,
        } as i32,
        secret_hint: credential.secret_hint.clone(),
        create_time: Some(timestamp(credential.created_at)),
        expire_time: credential.expires_at.map(timestamp),
        revoke_time: credential.revoked_at.map(timestamp),
        last_used_time: credential.last_used_at.map(timestamp),
    }
}
