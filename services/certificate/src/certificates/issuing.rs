//! Issuing certificates: on an issuer's request, and on an approved
//! application (see [`super::approvals`]). Both are idempotent: on the
//! request id, and on the application (one certificate per application).

use std::collections::BTreeMap;

use sea_orm::DatabaseTransaction;
use uuid::Uuid;
use zhongtai_audit::{AuditRecord, Outcome};
use zhongtai_credential::Holder;
use zhongtai_kit::{Actor, ActorKind, Caller, TenantId, audit_trail};

use super::Certificates;
use super::domain::access::require_issuer_staff;
use super::domain::draft::{IssueRequest, prepare, same_request};
use super::domain::form::{FormValue, claims_from_form};
use super::published;
use super::store::certificates::{self as certificates_store, Issued};
use crate::shared::{CertificateError, CertificateRecord, CertificateType, IssuerSigner, now};

const ISSUE_ACTION: &str = "certificate.certificate.issue";

/// An approved application that yields a certificate, as the approval
/// center described it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovedApplication {
    pub id: Uuid,
    /// The department that handled it: its issuer issues.
    pub tenant: TenantId,
    pub certificate_type: String,
    pub holder: Holder,
    pub form: BTreeMap<String, FormValue>,
}

/// Why an approved application yields no certificate. Retrying cannot
/// change it, so the event is settled with a warning and an audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotIssued {
    /// The event does not describe an application that can be issued on.
    Unreadable(String),
    UnknownType(String),
    /// No issuer of the handling department may issue the type.
    NoIssuer {
        tenant: String,
        certificate_type: String,
    },
    /// The form does not fill the type's claims.
    DoesNotFit(Vec<String>),
}

impl NotIssued {
    /// The audit record's reason.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unreadable(_) => "APPLICATION_UNREADABLE",
            Self::UnknownType(_) => "UNKNOWN_CERTIFICATE_TYPE",
            Self::NoIssuer { .. } => "NO_ISSUER",
            Self::DoesNotFit(_) => "FORM_DOES_NOT_FIT",
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Self::Unreadable(problem) => problem.clone(),
            Self::UnknownType(code) => format!("there is no certificate type {code:?}"),
            Self::NoIssuer {
                tenant,
                certificate_type,
            } => format!("no active issuer of {tenant} may issue {certificate_type:?}"),
            Self::DoesNotFit(problems) => problems.join("; "),
        }
    }
}

/// The certificate center's own consumer, as events and audit records name
/// it.
pub fn consumer_actor() -> Actor {
    Actor {
        kind: ActorKind::Service,
        subject: "certificate".into(),
        tenant: None,
        roles: Vec::new(),
    }
}

impl Certificates {
    /// Issues on an issuer's request. A request id seen before returns the
    /// certificate it issued (or RequestIdReused for another request); an
    /// application that already has a certificate returns it.
    pub async fn issue(
        &self,
        caller: &Caller,
        request: IssueRequest,
    ) -> Result<CertificateRecord, CertificateError> {
        let db = &self.deps.db;
        if let Some(existing) = certificates_store::by_request_id(db, &request.request_id).await? {
            return replayed(existing, &request, caller);
        }
        let certificate_type = self.known_type(&request.certificate_type).await?;
        let draft = prepare(&request, &certificate_type, Uuid::now_v7(), now())?;
        let signer = self
            .keyring
            .issuer_signer(request.issuer_id, &certificate_type.code)
            .await?;
        require_issuer_staff(
            caller,
            &signer.issuer_tenant,
            &format!("issuer/{}", signer.issuer_id),
        )?;
        if let Some(application) = request.application_id
            && let Some(existing) = certificates_store::by_application(db, application).await?
        {
            return issued_for_application(existing, &request, caller);
        }
        let actor = Actor::of(caller);
        let txn = zhongtai_store::begin_write(db)
            .await
            .map_err(CertificateError::storage)?;
        let issued = certificates_store::issue_in(&txn, &draft, &signer, |record| {
            (
                vec![published::issued(record, &actor, now())],
                audit_trail::allowed(caller, ISSUE_ACTION, target(record)),
            )
        })
        .await?;
        txn.commit().await.map_err(CertificateError::storage)?;
        match issued {
            Issued::New(record) => {
                self.deps.outbox.notify_one();
                tracing::info!(certificate = %record.id, certificate_type = record.certificate_type.as_str(), issuer = %record.issuer_id, "certificate issued");
                Ok(record)
            }
            // A concurrent request won the race: with this request id (a
            // retry), or for this application.
            Issued::Existing(existing) if same_request(&existing, &request, &caller.tenant) => {
                Ok(existing)
            }
            Issued::Existing(existing)
                if request.application_id.is_some()
                    && existing.application_id == request.application_id =>
            {
                issued_for_application(existing, &request, caller)
            }
            Issued::Existing(_) => Err(CertificateError::RequestIdReused(
                request.request_id.clone(),
            )),
        }
    }

    /// Issues on an approved application through the consumer's `txn`.
    /// `Ok(Err(..))`: it yields no certificate, and never will.
    pub async fn issue_on_application(
        &self,
        txn: &DatabaseTransaction,
        application: &ApprovedApplication,
    ) -> Result<Result<Issued, NotIssued>, CertificateError> {
        if let Some(existing) = certificates_store::by_application(txn, application.id).await? {
            return Ok(Ok(Issued::Existing(existing)));
        }
        let Some(certificate_type) = self
            .types
            .certificate_type(&application.certificate_type)
            .await?
        else {
            return Ok(Err(NotIssued::UnknownType(
                application.certificate_type.clone(),
            )));
        };
        let claims = match claims_from_form(&certificate_type, &application.form) {
            Ok(claims) => claims,
            Err(problems) => return Ok(Err(NotIssued::DoesNotFit(problems))),
        };
        let Some(signer) = self
            .signer_of_tenant(&application.tenant, &certificate_type.code)
            .await?
        else {
            return Ok(Err(NotIssued::NoIssuer {
                tenant: application.tenant.key(),
                certificate_type: certificate_type.code.clone(),
            }));
        };
        let request = IssueRequest {
            request_id: format!("application:{}", application.id),
            certificate_type: certificate_type.code.clone(),
            issuer_id: signer.issuer_id,
            holder: application.holder.clone(),
            claims,
            valid_from: None,
            validity: None,
            application_id: Some(application.id),
        };
        let draft = match prepare(&request, &certificate_type, Uuid::now_v7(), now()) {
            Ok(draft) => draft,
            Err(CertificateError::Invalid(violations)) => {
                let problems = violations
                    .into_iter()
                    .map(|(field, problem)| format!("{field}: {problem}"))
                    .collect();
                return Ok(Err(NotIssued::DoesNotFit(problems)));
            }
            Err(other) => return Err(other),
        };
        let actor = consumer_actor();
        let issued = certificates_store::issue_in(txn, &draft, &signer, |record| {
            (
                vec![published::issued(record, &actor, now())],
                consumer_audit(record.issuer_tenant.key(), target(record), Outcome::Allowed),
            )
        })
        .await?;
        Ok(Ok(issued))
    }

    /// Records why an application yielded nothing, in the consumer's `txn`.
    pub async fn record_not_issued(
        &self,
        txn: &DatabaseTransaction,
        application_id: &str,
        tenant: &str,
        why: &NotIssued,
    ) -> Result<(), CertificateError> {
        let record = consumer_audit(
            tenant.to_string(),
            format!("application/{application_id}"),
            Outcome::Failed,
        )
        .with_reason(why.code());
        certificates_store::append(txn, Vec::new(), &record).await
    }

    async fn known_type(&self, code: &str) -> Result<CertificateType, CertificateError> {
        self.types.certificate_type(code).await?.ok_or_else(|| {
            CertificateError::invalid(
                "certificate_type",
                format!("there is no certificate type {code:?}"),
            )
        })
    }

    /// The first (oldest) issuer of exactly `tenant` that may issue the
    /// type now.
    async fn signer_of_tenant(
        &self,
        tenant: &TenantId,
        certificate_type: &str,
    ) -> Result<Option<IssuerSigner>, CertificateError> {
        for issuer in self.keyring.issuers_of(tenant).await? {
            match self.keyring.issuer_signer(issuer, certificate_type).await {
                Ok(signer) => return Ok(Some(signer)),
                Err(
                    CertificateError::NotFound { .. } | CertificateError::FailedPrecondition(_),
                ) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(None)
    }
}

/// The certificate a request id issued, if `request` is the same request.
fn replayed(
    existing: CertificateRecord,
    request: &IssueRequest,
    caller: &Caller,
) -> Result<CertificateRecord, CertificateError> {
    if same_request(&existing, request, &caller.tenant) {
        Ok(existing)
    } else {
        Err(CertificateError::RequestIdReused(
            request.request_id.clone(),
        ))
    }
}

/// The certificate an application already has: the answer to a retry of
/// the same issue, a conflict for anything else.
fn issued_for_application(
    existing: CertificateRecord,
    request: &IssueRequest,
    caller: &Caller,
) -> Result<CertificateRecord, CertificateError> {
    let same = existing.issuer_tenant == caller.tenant
        && existing.issuer_id == request.issuer_id
        && existing.certificate_type == request.certificate_type
        && existing.holder == request.holder;
    if same {
        Ok(existing)
    } else {
        Err(CertificateError::AlreadyExists {
            kind: "certificate for application",
            key: request
                .application_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
        })
    }
}

fn consumer_audit(tenant: String, target: String, outcome: Outcome) -> AuditRecord {
    AuditRecord::new(
        consumer_actor().subject,
        tenant,
        ISSUE_ACTION,
        target,
        outcome,
    )
}

fn target(record: &CertificateRecord) -> String {
    format!("certificate/{}", record.id)
}
