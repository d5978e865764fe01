//! The consent use cases: who may do what (see [`super::identity`]), the
//! rules ([`super::rules`]), then storage through [`ConsentStore`], with
//! the record re-signed by the platform key on every change.

use std::sync::Arc;

use chrono::{DateTime, SubsecRound, Utc};
use uuid::Uuid;
use zhongtai_audit::{AuditRecord, Outcome};
use zhongtai_kit::{Actor, Caller, Page, PageQuery, audit_trail};

use super::disclosure::{claim_names, disclose};
use super::identity::{Parties, actor_of, caller_app_id};
use super::model::{Consent, ConsentFilter, ConsentRequest, Disclosure, Party, ReadOutcome, Usage};
use super::ports::{ConsentStore, Counted, Created, ReadToCount, Saved};
use super::record;
use super::rules::{self, Change};
use crate::shared::{
    CertificateDirectory, CertificateError, ConsentRefusal, Keyring, TypeRegistry,
};

/// How the expiry timer appears in events and the audit log.
pub const TIMER_ACTOR: &str = "certificate.consent-timer";
/// Consents the timer expires per tick.
const TIMER_BATCH: u64 = 100;
/// Times a party's change is decided again when another change got in
/// first (e.g. two parties unlocking at once).
const SAVE_ATTEMPTS: usize = 4;
const READ_ACTION: &str = "certificate.consent.read";

/// The consents part's use cases.
pub struct ConsentWorkflow {
    store: Arc<dyn ConsentStore>,
    keyring: Arc<dyn Keyring>,
    types: Arc<dyn TypeRegistry>,
    certificates: Arc<dyn CertificateDirectory>,
    parties: Parties,
}

impl ConsentWorkflow {
    pub fn new(
        store: Arc<dyn ConsentStore>,
        keyring: Arc<dyn Keyring>,
        types: Arc<dyn TypeRegistry>,
        certificates: Arc<dyn CertificateDirectory>,
        parties: Parties,
    ) -> Self {
        Self {
            store,
            keyring,
            types,
            certificates,
            parties,
        }
    }

    /// An app asks for consent: PENDING, no unlocks. Idempotent on the
    /// app's request id.
    pub async fn request(
        &self,
        caller: &Caller,
        request: ConsentRequest,
    ) -> Result<Consent, CertificateError> {
        require_app(caller, &request.app_id)?;
        let fingerprint = request.fingerprint();
        if let Some((existing, used_for)) = self
            .store
            .by_request(&caller.write_scope(), &request.app_id, &request.request_id)
            .await?
        {
            return same_request(existing, &used_for, &fingerprint, &request.request_id);
        }
        let mut change = rules::open(&request, Uuid::now_v7(), actor_of(caller), now())?;
        self.check_scope(&request).await?;
        self.seal(&mut change.consent).await?;
        let audit = audit_trail::allowed(caller, change.action, target(&change.consent));
        match self
            .store
            .create(&caller.write_scope(), &change, &fingerprint, &audit)
            .await?
        {
            Created::Created(consent) => Ok(consent),
            Created::Existing {
                consent,
                fingerprint: used_for,
            } => same_request(consent, &used_for, &fingerprint, &request.request_id),
        }
    }

    /// A consent the caller is a party to or asked for; NOT_FOUND for
    /// everyone else, so ids reveal nothing.
    pub async fn get(&self, caller: &Caller, id: Uuid) -> Result<Consent, CertificateError> {
        self.store
            .visible(&self.parties.viewer(caller), id)
            .await?
            .ok_or_else(|| CertificateError::not_found("consent", id))
    }

    pub async fn list(
        &self,
        caller: &Caller,
        filter: &ConsentFilter,
        page: &PageQuery,
    ) -> Result<Page<Consent>, CertificateError> {
        self.store
            .list(&self.parties.viewer(caller), filter, page)
            .await
    }

    pub async fn unlock(
        &self,
        caller: &Caller,
        id: Uuid,
        party: Party,
    ) -> Result<Consent, CertificateError> {
        self.change(caller, id, party, |consent, actor, now| {
            rules::unlock(consent, party, actor, now)
        })
        .await
    }

    pub async fn decline(
        &self,
        caller: &Caller,
        id: Uuid,
        party: Party,
        reason: &str,
    ) -> Result<Consent, CertificateError> {
        self.change(caller, id, party, |consent, actor, now| {
            rules::decline(consent, party, actor, reason, now)
        })
        .await
    }

    pub async fn revoke(
        &self,
        caller: &Caller,
        id: Uuid,
        party: Party,
        reason: &str,
    ) -> Result<Consent, CertificateError> {
        self.change(caller, id, party, |consent, actor, now| {
            rules::revoke(consent, party, actor, reason, now)
        })
        .await
    }

    /// A read under the consent by its app: logged and counted, or refused
    /// and logged. A retry with the request id of an allowed read returns
    /// that read again without counting.
    pub async fn read(
        &self,
        caller: &Caller,
        consent_id: Uuid,
        request_id: &str,
    ) -> Result<Disclosure, CertificateError> {
        let consent = self
            .store
            .addressed(&caller.write_scope(), consent_id)
            .await?
            .ok_or_else(|| CertificateError::not_found("consent", consent_id))?;
        let now = now();
        if caller_app_id(caller) != Some(consent.terms.app_id.as_str()) {
            return self
                .refuse(caller, &consent, request_id, ConsentRefusal::WrongApp, now)
                .await;
        }
        if let Some(earlier) = self.store.counted_read(&consent, request_id).await? {
            return match rules::replay_gate(&consent, now) {
                Ok(()) => Ok(earlier),
                Err(refusal) => {
                    self.refuse(caller, &consent, request_id, refusal, now)
                        .await
                }
            };
        }
        if let Err(refusal) = rules::read_gate(&consent, now) {
            return self
                .refuse(caller, &consent, request_id, refusal, now)
                .await;
        }
        let records = self
            .certificates
            .of_holder(&consent.holder_key(), &consent.terms.certificate_types)
            .await?;
        let certificates = disclose(&consent, &records, now);
        let usage = Usage {
            certificate_ids: certificates.iter().map(|c| c.certificate_id).collect(),
            claims: claim_names(&certificates),
            ..attempt(caller, &consent, request_id, ReadOutcome::Allowed, now)
        };
        let read = ReadToCount {
            audit: audit_trail::allowed(caller, READ_ACTION, target(&consent)),
            consent,
            usage,
            certificates,
            now,
            platform_key: self.keyring.platform_signer().await?,
        };
        match self.store.count_read(read).await? {
            Counted::Allowed(disclosure) | Counted::AlreadyCounted(disclosure) => Ok(disclosure),
            Counted::Refused { refusal, consent } => Err(CertificateError::ConsentRefused {
                refusal,
                message: rules::refusal_message(refusal, &consent, now),
            }),
        }
    }

    /// The consent's read attempts, for its parties and its app.
    pub async fn usage(
        &self,
        caller: &Caller,
        consent_id: Uuid,
        page: &PageQuery,
    ) -> Result<Page<Usage>, CertificateError> {
        let consent = self.get(caller, consent_id).await?;
        self.store.usage(&consent, page).await
    }

    /// One look for open consents past their period; returns how many it
    /// expired. Each is saved with a version check, so when several
    /// instances look at once exactly one of them acts.
    pub async fn expire_due(&self) -> Result<usize, CertificateError> {
        let now = now();
        let mut expired = 0;
        for consent in self.store.past_period(now, TIMER_BATCH).await? {
            let Some(mut change) = rules::expire(&consent, now) else {
                continue;
            };
            self.seal(&mut change.consent).await?;
            let audit = AuditRecord::new(
                TIMER_ACTOR,
                consent.terms.custodian.key(),
                change.action,
                target(&consent),
                Outcome::Allowed,
            );
            match self.store.save(&change, &audit).await? {
                Saved::Saved => {
                    expired += 1;
                    tracing::info!(consent = %consent.id, "consent expired");
                }
                Saved::Conflict => {
                    tracing::debug!(consent = %consent.id, "changed meanwhile; looked at again at the next tick");
                }
            }
        }
        Ok(expired)
    }

    /// Decides a party's change on the current consent and saves it,
    /// deciding again when another change got in first.
    async fn change(
        &self,
        caller: &Caller,
        id: Uuid,
        party: Party,
        decide: impl Fn(&Consent, Actor, DateTime<Utc>) -> Result<Option<Change>, CertificateError>,
    ) -> Result<Consent, CertificateError> {
        for _ in 0..SAVE_ATTEMPTS {
            let consent = self
                .store
                .addressed(&caller.write_scope(), id)
                .await?
                .ok_or_else(|| CertificateError::not_found("consent", id))?;
            self.parties.require(caller, party, &consent)?;
            let Some(mut change) = decide(&consent, actor_of(caller), now())? else {
                return Ok(consent);
            };
            self.seal(&mut change.consent).await?;
            let audit = audit_trail::allowed(caller, change.action, target(&consent));
            if self.store.save(&change, &audit).await? == Saved::Saved {
                return Ok(change.consent);
            }
        }
        Err(CertificateError::VersionConflict {
            kind: "consent",
            id: id.to_string(),
        })
    }

    async fn refuse(
        &self,
        caller: &Caller,
        consent: &Consent,
        request_id: &str,
        refusal: ConsentRefusal,
        now: DateTime<Utc>,
    ) -> Result<Disclosure, CertificateError> {
        let usage = attempt(
            caller,
            consent,
            request_id,
            ReadOutcome::Refused(refusal),
            now,
        );
        let mut audit =
            audit_trail::allowed(caller, READ_ACTION, target(consent)).with_reason(refusal.code());
        audit.outcome = Outcome::Denied;
        self.store.log_refusal(consent, &usage, &audit).await?;
        tracing::info!(consent = %consent.id, reader = %caller.subject, refusal = refusal.code(), "consented read refused");
        Err(CertificateError::ConsentRefused {
            refusal,
            message: rules::refusal_message(refusal, consent, now),
        })
    }

    /// Checks the scope against the certificate types: each exists and is
    /// issued to this kind of holder, each claim belongs to one of them.
    async fn check_scope(&self, request: &ConsentRequest) -> Result<(), CertificateError> {
        let mut violations = Vec::new();
        let mut known = Vec::new();
        for (i, code) in request.certificate_types.iter().enumerate() {
            match self.types.certificate_type(code).await? {
                None => violations.push((
                    format!("certificate_types[{i}]"),
                    format!("no certificate type {code:?}"),
                )),
                Some(kind) if !kind.holder_kind.admits(&request.holder) => violations.push((
                    format!("certificate_types[{i}]"),
                    format!(
                        "{code} is issued to {} holders only",
                        kind.holder_kind.as_str()
                    ),
                )),
                Some(kind) => known.push(kind),
            }
        }
        for (i, claim) in request.claims.iter().enumerate() {
            if !known.iter().any(|kind| kind.claim(claim).is_some()) {
                violations.push((
                    format!("claims[{i}]"),
                    format!("{claim:?} is not a claim of the certificate types in scope"),
                ));
            }
        }
        if violations.is_empty() {
            Ok(())
        } else {
            Err(CertificateError::Invalid(violations))
        }
    }

    async fn seal(&self, consent: &mut Consent) -> Result<(), CertificateError> {
        let key = self.keyring.platform_signer().await?;
        record::seal(consent, &key);
        Ok(())
    }
}

/// PERMISSION_DENIED unless the caller is the app `app_id`.
fn require_app(caller: &Caller, app_id: &str) -> Result<(), CertificateError> {
    match caller_app_id(caller) {
        Some(own) if own == app_id => Ok(()),
        Some(own) => Err(CertificateError::Denied {
            reason: "APP_MISMATCH",
            target: format!("app/{app_id}"),
            message: format!("app {own} may ask for consent only as itself, not as {app_id}"),
        }),
        None => Err(CertificateError::Denied {
            reason: "NOT_AN_APP",
            target: format!("app/{app_id}"),
            message: format!(
                "{} is no integrator app: consents are asked for by apps (token subject `app:<app id>`)",
                caller.subject
            ),
        }),
    }
}

fn same_request(
    consent: Consent,
    used_for: &str,
    fingerprint: &str,
    request_id: &str,
) -> Result<Consent, CertificateError> {
    if used_for == fingerprint {
        Ok(consent)
    } else {
        Err(CertificateError::RequestIdReused(request_id.to_string()))
    }
}

fn attempt(
    caller: &Caller,
    consent: &Consent,
    request_id: &str,
    outcome: ReadOutcome,
    now: DateTime<Utc>,
) -> Usage {
    Usage {
        id: Uuid::now_v7(),
        consent_id: consent.id,
        app_id: caller_app_id(caller)
            .unwrap_or(caller.subject.as_str())
            .to_string(),
        reader: actor_of(caller),
        outcome,
        read_number: 0,
        certificate_ids: Vec::new(),
        claims: Vec::new(),
        request_id: request_id.to_string(),
        at: now,
    }
}

fn target(consent: &Consent) -> String {
    format!("consent/{}", consent.id)
}

/// Now, at the microsecond precision the databases keep, so what is
/// stored, signed and returned agree.
fn now() -> DateTime<Utc> {
    crate::shared::now().trunc_subsecs(6)
}
