//! Online verification: the offline check against the trust list in
//! memory, then the status bits in memory. No database round trip on the
//! way, except the first time an issuer's department or a new group's
//! lists are needed on this instance.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use zhongtai_credential::{
    CertificatePayload, Claim, ClaimError, FormatError, Holder, Outcome, claims_from_json,
    issuer_id_of, verify_certificate,
};
use zhongtai_kit::{Caller, TenantId};

use super::Certificates;
use super::domain::verdict::{StatusBits, Verdict, may_see_holder, online, signature_verified};
use crate::metrics::{self, VerificationResult, VerifiedKind};
use crate::shared::{CertificateError, CertificateType, StatusEntry, caller_holder_key, now};

/// The answer to an online verification.
#[derive(Debug, Clone, PartialEq)]
pub struct Verification {
    pub verdict: Verdict,
    pub detail: String,
    pub key_id: String,
    /// The token's payload whenever it parsed (trusted only when the
    /// signature verified).
    pub payload: Option<CertificatePayload>,
    /// The holder as the caller may see it: masked unless the caller is the
    /// holder or the issuing department.
    pub holder: Option<Holder>,
    /// When asked for and the verdict is valid.
    pub claims: Vec<Claim>,
    pub trust_list_version: i64,
    pub checked_at: DateTime<Utc>,
}

impl Certificates {
    /// Verifies a token or QR payload; `Err(Invalid)` on `field` when it
    /// cannot be read at all.
    pub async fn verify(
        &self,
        caller: Option<&Caller>,
        field: &str,
        presentation: &str,
        include_claims: bool,
    ) -> Result<Verification, CertificateError> {
        let trust = self.keyring.trust_store().await?;
        let checked_at = now();
        let check = verify_certificate(presentation, &trust, checked_at).map_err(|error| {
            metrics::record(VerifiedKind::Certificate, VerificationResult::Invalid);
            unreadable(field, &error)
        })?;
        let mut verdict = Verdict::Offline(check.outcome);
        let mut detail = check.detail;
        if let Some(payload) = check
            .payload
            .as_ref()
            .filter(|_| signature_verified(check.outcome))
        {
            let entry = StatusEntry {
                group: payload.status.list.clone(),
                index: payload.status.idx,
            };
            let bits = self.status_bits(&entry).await?;
            verdict = online(check.outcome, bits);
            detail = match verdict {
                Verdict::Revoked => "the certificate has been revoked".into(),
                Verdict::Suspended => "the certificate is suspended".into(),
                Verdict::Offline(_) => detail,
            };
        }
        metrics::record(
            VerifiedKind::Certificate,
            VerificationResult::of_certificate(verdict),
        );
        let holder = match &check.payload {
            Some(payload) => Some(self.holder_for(caller, check.outcome, payload).await?),
            None => None,
        };
        let claims = match (&check.payload, include_claims && verdict.is_valid()) {
            (Some(payload), true) => self.typed_claims(payload).await?,
            _ => Vec::new(),
        };
        Ok(Verification {
            verdict,
            detail,
            key_id: check.key_id,
            payload: check.payload,
            holder,
            claims,
            trust_list_version: trust.version(),
            checked_at,
        })
    }

    async fn status_bits(&self, entry: &StatusEntry) -> Result<StatusBits, CertificateError> {
        self.ensure_loaded().await?;
        if let Some(bits) = self.board.bits(entry) {
            return Ok(bits);
        }
        for purpose in super::domain::lists::ListPurpose::ALL {
            self.load_list(&purpose.list_id(&entry.group)).await?;
        }
        Ok(self.board.bits(entry).unwrap_or_else(|| {
            // A token signed by a trusted issuer names a group that does
            // not exist: nothing can have revoked it.
            tracing::warn!(
                group = entry.group.as_str(),
                "verified certificate names an unknown status list"
            );
            StatusBits::default()
        }))
    }

    async fn holder_for(
        &self,
        caller: Option<&Caller>,
        outcome: Outcome,
        payload: &CertificatePayload,
    ) -> Result<Holder, CertificateError> {
        let caller_key = caller.and_then(caller_holder_key);
        let holder_key = payload.holder.key();
        let issuer_tenant =
            if signature_verified(outcome) && caller_key != Some(holder_key.as_str()) {
                match issuer_id_of(&payload.iss) {
                    Some(issuer) => self.issuer_tenant(issuer).await?,
                    None => None,
                }
            } else {
                None
            };
        let unmasked = may_see_holder(
            outcome,
            &holder_key,
            caller_key,
            caller.map(|c| &c.tenant),
            issuer_tenant.as_ref(),
        );
        Ok(if unmasked {
            payload.holder.clone()
        } else {
            payload.holder.masked()
        })
    }

    async fn issuer_tenant(&self, issuer: &str) -> Result<Option<TenantId>, CertificateError> {
        let known = self
            .issuer_tenants
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(issuer)
            .cloned();
        if known.is_some() {
            return Ok(known);
        }
        let Some(tenant) = self.keyring.issuer_tenant(issuer).await? else {
            return Ok(None);
        };
        self.issuer_tenants
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(issuer.to_string(), tenant.clone());
        Ok(Some(tenant))
    }

    /// The payload's claims typed by their certificate type's definitions,
    /// in the type's order.
    async fn typed_claims(
        &self,
        payload: &CertificatePayload,
    ) -> Result<Vec<Claim>, CertificateError> {
        // Types only ever gain optional claims: a cached type reads every
        // token issued before it was cached, and a claim it does not know
        // means it is older than the token.
        let cached = self.cached_type(&payload.vct);
        let typed = match &cached {
            Some(certificate_type) => read_claims(certificate_type, payload).ok(),
            None => None,
        };
        if let Some(claims) = typed {
            return Ok(claims);
        }
        let Some(certificate_type) = self.types.certificate_type(&payload.vct).await? else {
            return Ok(Vec::new());
        };
        let certificate_type = Arc::new(certificate_type);
        self.type_cache
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(payload.vct.clone(), certificate_type.clone());
        Ok(read_claims(&certificate_type, payload).unwrap_or_else(|error| {
            // A valid token's claims always fit its type; if they do not,
            // show none rather than guess.
            tracing::warn!(certificate = payload.jti.as_str(), %error, "claims do not fit their type");
            Vec::new()
        }))
    }

    fn cached_type(&self, code: &str) -> Option<Arc<CertificateType>> {
        self.type_cache
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(code)
            .cloned()
    }
}

fn read_claims(
    certificate_type: &CertificateType,
    payload: &CertificatePayload,
) -> Result<Vec<Claim>, ClaimError> {
    let mut claims = claims_from_json(&payload.claims, |name| {
        certificate_type
            .claim(name)
            .map(|definition| definition.kind)
    })?;
    // JSON objects come back ordered by name; show the type's order.
    claims.sort_by_key(|claim| {
        certificate_type
            .claims
            .iter()
            .position(|definition| definition.name == claim.name)
    });
    Ok(claims)
}

fn unreadable(field: &str, error: &FormatError) -> CertificateError {
    CertificateError::invalid(field, format!("cannot be read: {error}"))
}
