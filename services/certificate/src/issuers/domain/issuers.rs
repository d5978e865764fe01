//! Use cases on issuers and their keys.

use std::sync::Arc;

use chrono::SubsecRound;
use uuid::Uuid;
use zhongtai_kit::{Actor, Caller, Page, PageQuery, audit_trail};

use super::authority::Authority;
use super::issuer::{Issuer, IssuerDraft, IssuerState, IssuerUpdate};
use super::keyring::KeyCache;
use super::keys::{KeyRecord, KeyState, MAX_REASON_CHARS, new_issuer_key, rotation_grace};
use super::ports::{
    IssuerChange, IssuerFilter, IssuerRepository, IssuerVisibility, NewIssuer, Revocation,
    Rotation, Saved, TypeRepository,
};
use super::trust_list::PublishedTrustList;
use super::types::check_request_id;
use crate::shared::{CertificateError, IssuerSigner};

/// A rotation's result.
#[derive(Debug, Clone)]
pub struct Rotated {
    pub new_key: KeyRecord,
    pub retired_key: KeyRecord,
    pub trust_list_version: i64,
}

/// A revocation's result.
#[derive(Debug, Clone)]
pub struct Revoked {
    pub key: KeyRecord,
    pub replacement: Option<KeyRecord>,
}

/// What GetTrustList answers.
pub enum TrustListAnswer {
    NotModified,
    Current(Arc<PublishedTrustList>),
}

/// Issuer and key operations.
#[derive(Clone)]
pub struct IssuerAdmin {
    issuers: Arc<dyn IssuerRepository>,
    types: Arc<dyn TypeRepository>,
    keys: Arc<KeyCache>,
    authority: Authority,
}

impl IssuerAdmin {
    pub fn new(
        issuers: Arc<dyn IssuerRepository>,
        types: Arc<dyn TypeRepository>,
        keys: Arc<KeyCache>,
        authority: Authority,
    ) -> Self {
        Self {
            issuers,
            types,
            keys,
            authority,
        }
    }

    /// Creates an issuer with its first key, once per `request_id`.
    pub async fn create(
        &self,
        caller: &Caller,
        request_id: &str,
        draft: IssuerDraft,
    ) -> Result<(Issuer, KeyRecord), CertificateError> {
        check_request_id(request_id)?;
        self.authority.require_platform_admin(caller, "issuer")?;
        let violations = draft.violations();
        if !violations.is_empty() {
            return Err(CertificateError::Invalid(violations));
        }
        if let Some(made) = self.replay_create(request_id, &draft).await? {
            return Ok(made);
        }
        self.check_types_exist("certificate_types", &draft.certificate_types)
            .await?;
        let now = crate::shared::now().trunc_subsecs(6);
        let mut issuer = draft.clone().into_issuer(Uuid::now_v7(), now);
        let key = new_issuer_key(self.keys.sealer(), issuer.id, now)?;
        issuer.active_key_id = Some(key.record.key_id.clone());
        let audit = audit_trail::allowed(
            caller,
            "certificate.issuer.create",
            format!("issuer/{}", issuer.id),
        );
        let new = NewIssuer {
            request_id,
            issuer: &issuer,
            key: &key,
            actor: &Actor::of(caller),
        };
        match self.issuers.create(new, &audit).await? {
            Saved::Saved(list) => {
                self.keys.remember(key.signer.clone());
                self.install(list).await;
                tracing::info!(issuer = %issuer.id, tenant = %issuer.tenant, key = %key.record.key_id, "issuer created");
                Ok((issuer, key.record))
            }
            Saved::Conflict => self
                .replay_create(request_id, &draft)
                .await?
                .ok_or_else(|| CertificateError::Storage("a lost create left nothing".into())),
        }
    }

    /// What an earlier request with this id created, if the same.
    async fn replay_create(
        &self,
        request_id: &str,
        draft: &IssuerDraft,
    ) -> Result<Option<(Issuer, KeyRecord)>, CertificateError> {
        let Some(made) = self.issuers.key_made_by(request_id).await? else {
            return Ok(None);
        };
        let issuer = self
            .issuers
            .get(&IssuerVisibility::Everything, made.record.issuer_id)
            .await?;
        match issuer {
            // An issuer's first key replaces none; a rotation's does.
            Some(issuer) if made.replaces.is_none() && draft.matches(&issuer) => {
                Ok(Some((issuer, made.record)))
            }
            _ => Err(CertificateError::RequestIdReused(request_id.to_string())),
        }
    }

    async fn check_types_exist(
        &self,
        field: &str,
        codes: &[String],
    ) -> Result<(), CertificateError> {
        let existing = self.types.existing(codes).await?;
        let missing: Vec<(String, String)> = codes
            .iter()
            .enumerate()
            .filter(|(_, code)| !existing.contains(code))
            .map(|(i, code)| {
                (
                    format!("{field}[{i}]"),
                    format!("no certificate type `{code}`"),
                )
            })
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(CertificateError::Invalid(missing))
        }
    }

    fn visibility(&self, caller: &Caller) -> IssuerVisibility {
        if self.authority.is_platform(caller) {
            IssuerVisibility::Everything
        } else {
            IssuerVisibility::Scope(caller.read_scope())
        }
    }

    /// An issuer the caller may read; others are not found.
    pub async fn get(&self, caller: &Caller, id: &str) -> Result<Issuer, CertificateError> {
        let uuid = parse_id("id", id)?;
        self.issuers
            .get(&self.visibility(caller), uuid)
            .await?
            .ok_or_else(|| CertificateError::not_found("issuer", id))
    }

    /// Issuers the caller may read; naming a tenant out of reach is refused.
    pub async fn list(
        &self,
        caller: &Caller,
        filter: &IssuerFilter,
        page: &PageQuery,
    ) -> Result<Page<Issuer>, CertificateError> {
        let visibility = self.visibility(caller);
        if let (Some(tenant), IssuerVisibility::Scope(scope)) = (&filter.tenant, &visibility)
            && !scope.permits(tenant)
        {
            return Err(CertificateError::Denied {
                reason: "TENANT_MISMATCH",
                target: format!("tenant/{tenant}"),
                message: format!(
                    "{} acts for tenant {} and may not read tenant {tenant}'s records",
                    caller.subject, caller.tenant
                ),
            });
        }
        self.issuers.list(&visibility, filter, page).await
    }

    /// Changes the fields `update` names, if the caller read the stored
    /// version; a change that changes nothing writes nothing.
    pub async fn update(
        &self,
        caller: &Caller,
        update: &IssuerUpdate,
    ) -> Result<Issuer, CertificateError> {
        let mut violations = update.mask_violations();
        let id = Uuid::parse_str(&update.id);
        if id.is_err() {
            violations.push(("issuer.id".into(), "must be a UUID".into()));
        }
        let id = match id {
            Ok(id) if violations.is_empty() => id,
            _ => return Err(CertificateError::Invalid(violations)),
        };
        self.authority
            .require_platform_admin(caller, format!("issuer/{id}"))?;
        let issuer = self.existing_issuer(id).await?;
        let conflict = || CertificateError::VersionConflict {
            kind: "issuer",
            id: id.to_string(),
        };
        if update.version != issuer.version {
            return Err(conflict());
        }
        let now = crate::shared::now().trunc_subsecs(6);
        let (next, changed_fields) = issuer.updated(update, now)?;
        if changed_fields.is_empty() {
            return Ok(issuer);
        }
        if changed_fields.iter().any(|f| f == "certificate_types") {
            self.check_types_exist("issuer.certificate_types", &next.certificate_types)
                .await?;
        }
        let audit =
            audit_trail::allowed(caller, "certificate.issuer.update", format!("issuer/{id}"));
        let change = IssuerChange {
            issuer: next.clone(),
            expected_version: issuer.version,
            changed_fields,
            actor: Actor::of(caller),
        };
        match self.issuers.update(&change, &audit).await? {
            Saved::Saved(list) => {
                if let Some(list) = list {
                    self.install(list).await;
                }
                tracing::info!(issuer = %id, version = next.version, changed = ?change.changed_fields, "issuer updated");
                Ok(next)
            }
            Saved::Conflict => Err(conflict()),
        }
    }

    async fn existing_issuer(&self, id: Uuid) -> Result<Issuer, CertificateError> {
        self.issuers
            .get(&IssuerVisibility::Everything, id)
            .await?
            .ok_or_else(|| CertificateError::not_found("issuer", id))
    }

    /// Replaces the issuer's active key, once per `request_id`; the old key
    /// verifies what it signed until that expires.
    pub async fn rotate(
        &self,
        caller: &Caller,
        request_id: &str,
        issuer_id: &str,
    ) -> Result<Rotated, CertificateError> {
        check_request_id(request_id)?;
        let id = parse_id("issuer_id", issuer_id)?;
        let Some(issuer) = self.issuers.get(&IssuerVisibility::Everything, id).await? else {
            return Err(CertificateError::not_found("issuer", issuer_id));
        };
        self.authority.require_key_admin(caller, &issuer)?;
        if let Some(done) = self.replay_rotation(request_id, id).await? {
            return Ok(done);
        }
        let active = self.issuers.active_key(id).await?.ok_or_else(|| {
            CertificateError::FailedPrecondition(format!("issuer {id} has no active key"))
        })?;
        let latest = self.issuers.latest_expiry(&active.key_id).await?;
        let now = crate::shared::now().trunc_subsecs(6);
        let retired = active.retired(now, latest.verify_until(now));
        let new_key = new_issuer_key(self.keys.sealer(), id, now)?;
        let audit = audit_trail::allowed(
            caller,
            "certificate.signing_key.rotate",
            format!("issuer/{id}"),
        );
        let rotation = Rotation {
            request_id,
            issuer: &issuer,
            retired: &retired,
            new_key: &new_key,
            actor: &Actor::of(caller),
        };
        match self.issuers.rotate(rotation, &audit).await? {
            Saved::Saved(list) => {
                let version = list.version;
                self.keys.remember(new_key.signer.clone());
                self.install(list).await;
                tracing::info!(issuer = %id, new_key = %new_key.record.key_id, retired = %retired.key_id, "signing key rotated");
                Ok(Rotated {
                    new_key: new_key.record,
                    retired_key: retired,
                    trust_list_version: version,
                })
            }
            Saved::Conflict => match self.replay_rotation(request_id, id).await? {
                Some(done) => Ok(done),
                None => Err(CertificateError::VersionConflict {
                    kind: "issuer",
                    id: id.to_string(),
                }),
            },
        }
    }

    async fn replay_rotation(
        &self,
        request_id: &str,
        issuer_id: Uuid,
    ) -> Result<Option<Rotated>, CertificateError> {
        let Some(new_key) = self.issuers.key_made_by(request_id).await? else {
            return Ok(None);
        };
        let replaced = match &new_key.replaces {
            Some(replaced) if new_key.record.issuer_id == issuer_id => {
                self.issuers.key(replaced).await?
            }
            _ => None,
        };
        let Some(retired) = replaced else {
            return Err(CertificateError::RequestIdReused(request_id.to_string()));
        };
        Ok(Some(Rotated {
            new_key: new_key.record,
            retired_key: retired.record,
            trust_list_version: self.issuers.trust_list_version().await?,
        }))
    }

    /// Revokes a key (again: no change). A revoked active key is replaced.
    pub async fn revoke(
        &self,
        caller: &Caller,
        key_id: &str,
        reason: &str,
    ) -> Result<Revoked, CertificateError> {
        let mut violations = Vec::new();
        if key_id.is_empty() || key_id.len() > 64 {
            violations.push((
                "key_id".to_string(),
                "required, 1..64 characters".to_string(),
            ));
        }
        let reason_chars = reason.trim().chars().count();
        if reason_chars == 0 || reason_chars > MAX_REASON_CHARS {
            violations.push((
                "reason".to_string(),
                format!("required, 1..{MAX_REASON_CHARS} characters"),
            ));
        }
        if !violations.is_empty() {
            return Err(CertificateError::Invalid(violations));
        }
        self.authority
            .require_platform_admin(caller, format!("signing_key/{key_id}"))?;
        let stored = self
            .issuers
            .key(key_id)
            .await?
            .ok_or_else(|| CertificateError::not_found("signing key", key_id))?;
        let key = stored.record;
        if key.state == KeyState::Revoked {
            return Ok(Revoked {
                key,
                replacement: None,
            });
        }
        let issuer = self.existing_issuer(key.issuer_id).await?;
        let now = crate::shared::now().trunc_subsecs(6);
        let revoked = key.revoked(now, reason.trim());
        let replacement = if key.state == KeyState::Active {
            Some(new_issuer_key(self.keys.sealer(), issuer.id, now)?)
        } else {
            None
        };
        let audit = audit_trail::allowed(
            caller,
            "certificate.signing_key.revoke",
            format!("signing_key/{key_id}"),
        );
        let revocation = Revocation {
            issuer: &issuer,
            key: &revoked,
            replacement: replacement.as_ref(),
            reason: reason.trim(),
            actor: &Actor::of(caller),
        };
        match self.issuers.revoke(revocation, &key, &audit).await? {
            Saved::Saved(list) => {
                if let Some(replacement) = &replacement {
                    self.keys.remember(replacement.signer.clone());
                }
                self.install(list).await;
                tracing::warn!(key = %key_id, issuer = %issuer.id, "signing key revoked");
                Ok(Revoked {
                    key: revoked,
                    replacement: replacement.map(|r| r.record),
                })
            }
            Saved::Conflict => Err(CertificateError::VersionConflict {
                kind: "signing key",
                id: key_id.to_string(),
            }),
        }
    }

    /// An issuer's keys, newest first, for those who may read the issuer.
    pub async fn keys(
        &self,
        caller: &Caller,
        issuer_id: &str,
        page: &PageQuery,
    ) -> Result<Page<KeyRecord>, CertificateError> {
        let id = parse_id("issuer_id", issuer_id)?;
        if self
            .issuers
            .get(&self.visibility(caller), id)
            .await?
            .is_none()
        {
            return Err(CertificateError::not_found("issuer", issuer_id));
        }
        self.issuers.keys(id, page).await
    }

    /// The current signed list, or `NotModified` when the caller holds it.
    pub async fn trust_list(
        &self,
        if_newer_than_version: i64,
    ) -> Result<TrustListAnswer, CertificateError> {
        let published = self.keys.published().await?;
        if if_newer_than_version > 0 && published.list.version <= if_newer_than_version {
            return Ok(TrustListAnswer::NotModified);
        }
        Ok(TrustListAnswer::Current(published))
    }

    /// The active key of an issuer that may issue `certificate_type`.
    pub async fn signer(
        &self,
        issuer_id: Uuid,
        certificate_type: &str,
    ) -> Result<IssuerSigner, CertificateError> {
        let issuer = self.existing_issuer(issuer_id).await?;
        if issuer.state == IssuerState::Suspended {
            return Err(CertificateError::FailedPrecondition(format!(
                "issuer {issuer_id} is suspended and issues nothing new"
            )));
        }
        if !issuer.may_issue(certificate_type) {
            return Err(CertificateError::FailedPrecondition(format!(
                "issuer {issuer_id} may not issue certificates of type `{certificate_type}`"
            )));
        }
        let key_id = issuer.active_key_id.clone().ok_or_else(|| {
            CertificateError::FailedPrecondition(format!("issuer {issuer_id} has no active key"))
        })?;
        let key = match self.keys.cached_signer(&key_id) {
            Some(key) => key,
            None => {
                let stored = self.issuers.key(&key_id).await?;
                self.keys
                    .signer(&key_id, || stored.map(|s| s.sealed_private_key))?
            }
        };
        Ok(IssuerSigner {
            issuer_id,
            issuer_tenant: issuer.tenant,
            key,
        })
    }

    /// Extends the `verify_until` of recently retired keys to certificates
    /// they signed that were stored after the rotation read them (issued
    /// with the old key while the rotation committed). Returns how many
    /// keys it extended.
    pub async fn catch_up_retired_keys(&self) -> Result<usize, CertificateError> {
        let now = crate::shared::now().trunc_subsecs(6);
        let mut extended = 0;
        for key in self
            .issuers
            .retired_since(now - rotation_grace() * 2)
            .await?
        {
            let latest = self.issuers.latest_expiry(&key.key_id).await?;
            let Some(retired_at) = key.retired_at else {
                continue;
            };
            let needed = latest.verify_until(retired_at);
            let later = match (needed, key.verify_until) {
                (None, Some(_)) => true,
                (Some(needed), Some(current)) => needed > current,
                (_, None) => false,
            };
            if !later {
                continue;
            }
            // The center's own key work, for no tenant.
            let audit = zhongtai_audit::AuditRecord::new(
                "certificate",
                "",
                "certificate.signing_key.extend",
                format!("signing_key/{}", key.key_id),
                zhongtai_audit::Outcome::Allowed,
            );
            if let Saved::Saved(list) = self
                .issuers
                .extend_verify_until(&key, needed, &audit)
                .await?
            {
                tracing::info!(key = %key.key_id, verify_until = ?needed, "a retired key verifies longer: it signed a certificate during its rotation");
                self.install(list).await;
                extended += 1;
            }
        }
        Ok(extended)
    }

    /// Puts a just-committed list in place; a failure here leaves the
    /// refresh loop to catch up, it does not undo the committed change.
    async fn install(&self, list: super::trust_list::TrustList) {
        if let Err(error) = self.keys.install(list).await {
            tracing::warn!(%error, "cannot install the new trust list; the refresh will");
        }
    }
}

fn parse_id(field: &str, id: &str) -> Result<Uuid, CertificateError> {
    Uuid::parse_str(id).map_err(|_| CertificateError::invalid(field, "must be a UUID"))
}
