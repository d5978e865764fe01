//! Printable offline codes for people without a phone, issued at a service
//! counter (by its clerks, Operators or Admins of the counter's tenant):
//! valid for days to a year, so each one is stored and can be revoked
//! alone (lost, replaced); a revoked offline code verifies as REVOKED on
//! every instance within the refresh interval.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;
use zhongtai_credential::{CodeKind, CodePayload, Holder};
use zhongtai_kit::{Actor, Caller, audit_trail};

use super::model::{MintedCode, OfflineCode, QrRequest};
use super::ports::{Inserted, OfflineCodeRepository};
use super::presentation::{claims_of_code, code_time, expiry};
use super::showing::{CodeSubject, Showing};
use super::verification::RevokedCodes;
use super::{Violations, check_request_id, check_text, parse_id};
use crate::shared::CertificateError;

const MIN_VALIDITY: Duration = Duration::days(1);
const MAX_VALIDITY: Duration = Duration::days(366);
const MAX_REASON_CHARS: usize = 500;

/// An offline code as IssueOfflineCode asks for it; the holder's shape is
/// checked at the edge.
#[derive(Debug, Clone)]
pub struct OfflineDraft {
    pub request_id: String,
    /// A person, identity checked at the counter.
    pub holder: Holder,
    pub validity: Option<Duration>,
    pub image: Option<QrRequest>,
}

#[derive(Clone)]
pub struct OfflineCodes {
    codes: Arc<dyn OfflineCodeRepository>,
    showing: Arc<Showing>,
    revoked: Arc<RevokedCodes>,
}

impl OfflineCodes {
    pub fn new(
        codes: Arc<dyn OfflineCodeRepository>,
        showing: Arc<Showing>,
        revoked: Arc<RevokedCodes>,
    ) -> Self {
        Self {
            codes,
            showing,
            revoked,
        }
    }

    /// Issues a code once per request id; a repeat answers the same code.
    pub async fn issue(
        &self,
        caller: &Caller,
        draft: &OfflineDraft,
    ) -> Result<MintedCode, CertificateError> {
        let mut v = Violations::default();
        check_request_id(&mut v, &draft.request_id);
        let validity = match draft.validity {
            // Codes keep whole seconds.
            Some(validity) if (MIN_VALIDITY..=MAX_VALIDITY).contains(&validity) => {
                Some(Duration::seconds(validity.num_seconds()))
            }
            _ => {
                v.add("validity", "required: 1 day to 366 days");
                None
            }
        };
        if !matches!(draft.holder, Holder::Person { .. }) {
            v.add("holder", "must be a person");
        }
        let (Some(validity), true) = (validity, v.is_empty()) else {
            return Err(v.into_error());
        };
        let scope = caller.write_scope();
        if let Some(existing) = self.codes.by_request(&scope, &draft.request_id).await? {
            return self.repeat(existing, draft, validity).await;
        }

        let issued_at = code_time(crate::shared::now());
        let expires_at = expiry(issued_at, validity.to_std().unwrap_or_default());
        let subject = CodeSubject {
            holder_key: draft.holder.key(),
            fallback_name: draft.holder.name().to_string(),
            kind: CodeKind::Offline,
            dependant_id: None,
        };
        let Some(mut content) = self
            .showing
            .content(&subject, issued_at, expires_at, false)
            .await?
        else {
            return Err(CertificateError::Storage("no code content".into()));
        };
        // Named as on the identity document the clerk checked.
        content.holder = draft.holder.clone();
        let payload = self.showing.minter().payload(&content);
        let mut code = self.showing.minter().sign(&payload, draft.image).await?;
        code.claims = content.claims.clone();
        let id = Uuid::parse_str(&payload.jti)
            .map_err(|_| CertificateError::Storage("a code id is not a UUID".into()))?;
        let record = OfflineCode {
            id,
            tenant: caller.tenant.clone(),
            holder_key: draft.holder.key(),
            holder: payload.holder.clone(),
            key_id: code.key_id.clone(),
            issued_at,
            expires_at,
            revoked_at: None,
            revoke_reason: String::new(),
            payload: serde_json::to_value(&payload).map_err(CertificateError::storage)?,
            issued_by: Actor::of(caller),
        };
        let audit = audit_trail::allowed(
            caller,
            "certificate.offline_code.issue",
            format!("offline_code/{id}"),
        );
        match self
            .codes
            .insert(&record, &draft.request_id, &audit)
            .await?
        {
            Inserted::Inserted => {
                tracing::info!(code = %id, tenant = %caller.tenant, "offline code issued");
                Ok(code)
            }
            Inserted::Duplicate => {
                let existing = self
                    .codes
                    .by_request(&scope, &draft.request_id)
                    .await?
                    .ok_or_else(|| {
                        CertificateError::Storage(
                            "an offline code insert conflicted with nothing".into(),
                        )
                    })?;
                self.repeat(existing, draft, validity).await
            }
        }
    }

    /// Revokes one of the counter's codes; revoking again answers the
    /// first revocation's time.
    pub async fn revoke(
        &self,
        caller: &Caller,
        id: &str,
        reason: &str,
    ) -> Result<DateTime<Utc>, CertificateError> {
        let id = parse_id("id", id)?;
        let mut v = Violations::default();
        check_text(&mut v, "reason", reason, MAX_REASON_CHARS, false);
        v.finish()?;
        let scope = caller.write_scope();
        let code = self
            .codes
            .get(&scope, id)
            .await?
            .ok_or_else(|| CertificateError::not_found("offline code", id))?;
        if let Some(at) = code.revoked_at {
            return Ok(at);
        }
        let now = super::now_micros();
        let revoked = OfflineCode {
            revoked_at: Some(now),
            revoke_reason: reason.trim().to_string(),
            ..code
        };
        let audit = audit_trail::allowed(
            caller,
            "certificate.offline_code.revoke",
            format!("offline_code/{id}"),
        );
        if self
            .codes
            .revoke(&revoked, &Actor::of(caller), &audit)
            .await?
        {
            self.revoked.mark(id, revoked.expires_at);
            tracing::info!(code = %id, "offline code revoked");
            return Ok(now);
        }
        let stored = self
            .codes
            .get(&scope, id)
            .await?
            .ok_or_else(|| CertificateError::not_found("offline code", id))?;
        stored
            .revoked_at
            .ok_or_else(|| CertificateError::Storage("a revocation was lost".into()))
    }

    /// The code a repeated request gets: the stored claim set, signed
    /// again (the same token while the platform key is the same).
    async fn repeat(
        &self,
        existing: OfflineCode,
        draft: &OfflineDraft,
        validity: Duration,
    ) -> Result<MintedCode, CertificateError> {
        if existing.holder_key != draft.holder.key()
            || existing.expires_at - existing.issued_at != validity
        {
            return Err(CertificateError::RequestIdReused(draft.request_id.clone()));
        }
        let payload: CodePayload = serde_json::from_value(existing.payload.clone())
            .map_err(|e| CertificateError::Storage(format!("offline code {}: {e}", existing.id)))?;
        let mut code = self.showing.minter().sign(&payload, draft.image).await?;
        code.claims = claims_of_code(&payload.claims);
        Ok(code)
    }
}
