//! Use cases on certificate types.

use std::sync::Arc;

use chrono::SubsecRound;
use zhongtai_kit::{Actor, Caller, Page, PageQuery, audit_trail};

use super::authority::Authority;
use super::certificate_type::{TypeDraft, TypeUpdate};
use super::ports::{CreateOutcome, Saved, TypeChange, TypeRepository};
use crate::shared::{CertificateError, CertificateType};

/// Certificate-type operations.
#[derive(Clone)]
pub struct TypeCatalog {
    repository: Arc<dyn TypeRepository>,
    authority: Authority,
}

impl TypeCatalog {
    pub fn new(repository: Arc<dyn TypeRepository>, authority: Authority) -> Self {
        Self {
            repository,
            authority,
        }
    }

    /// Creates a type once per `request_id`.
    pub async fn create(
        &self,
        caller: &Caller,
        request_id: &str,
        draft: TypeDraft,
    ) -> Result<CertificateType, CertificateError> {
        check_request_id(request_id)?;
        let target = format!("certificate_type/{}", draft.code);
        self.authority.require_type_maintainer(caller, &target)?;
        let now = crate::shared::now().trunc_subsecs(6);
        let certificate_type = draft.into_type("certificate_type", now)?;
        let audit = audit_trail::allowed(caller, "certificate.certificate_type.create", target);
        let outcome = self
            .repository
            .create(request_id, &certificate_type, &Actor::of(caller), &audit)
            .await?;
        match outcome {
            CreateOutcome::Created(created) => {
                tracing::info!(code = %created.code, "certificate type created");
                Ok(created)
            }
            CreateOutcome::AlreadyCreated(existing) => {
                if same_definition(&existing, &certificate_type) {
                    Ok(existing)
                } else {
                    Err(CertificateError::RequestIdReused(request_id.to_string()))
                }
            }
        }
    }

    pub async fn get(&self, code: &str) -> Result<CertificateType, CertificateError> {
        if code.is_empty() {
            return Err(CertificateError::invalid("code", "required"));
        }
        self.repository
            .get(code)
            .await?
            .ok_or_else(|| CertificateError::not_found("certificate type", code))
    }

    pub async fn list(&self, page: &PageQuery) -> Result<Page<CertificateType>, CertificateError> {
        self.repository.list(page).await
    }

    /// Changes the fields `update` names if the caller read the stored
    /// version; a change that changes nothing writes nothing.
    pub async fn update(
        &self,
        caller: &Caller,
        update: &TypeUpdate,
    ) -> Result<CertificateType, CertificateError> {
        let violations = update.mask_violations();
        if !violations.is_empty() {
            return Err(CertificateError::Invalid(violations));
        }
        let target = format!("certificate_type/{}", update.code);
        self.authority.require_type_maintainer(caller, &target)?;
        let current = self.get(&update.code).await?;
        let conflict = || CertificateError::VersionConflict {
            kind: "certificate type",
            id: update.code.clone(),
        };
        if update.version != current.version {
            return Err(conflict());
        }
        let now = crate::shared::now().trunc_subsecs(6);
        let (next, changed_fields) = current.updated(update, now)?;
        if changed_fields.is_empty() {
            return Ok(current);
        }
        let audit = audit_trail::allowed(caller, "certificate.certificate_type.update", target);
        let change = TypeChange {
            certificate_type: next.clone(),
            expected_version: current.version,
            changed_fields,
            actor: Actor::of(caller),
        };
        match self.repository.update(&change, &audit).await? {
            Saved::Saved(()) => {
                tracing::info!(code = %next.code, version = next.version, changed = ?change.changed_fields, "certificate type updated");
                Ok(next)
            }
            Saved::Conflict => Err(conflict()),
        }
    }
}

/// Whether a replayed create asked for the same type.
fn same_definition(a: &CertificateType, b: &CertificateType) -> bool {
    a.code == b.code
        && a.name == b.name
        && a.description == b.description
        && a.claims == b.claims
        && a.holder_kind == b.holder_kind
        && a.default_validity == b.default_validity
}

/// Idempotency keys are 1..128 characters.
pub fn check_request_id(request_id: &str) -> Result<(), CertificateError> {
    if request_id.is_empty() || request_id.chars().count() > 128 {
        return Err(CertificateError::invalid(
            "request_id",
            "must be 1..128 characters",
        ));
    }
    Ok(())
}
