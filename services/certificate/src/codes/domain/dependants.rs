//! Guardians and their dependants (family codes). A guardian (the caller,
//! signed in as a person) links a dependant with a certificate that names
//! both: either the dependant holds it and one of its claims is the
//! guardian's identity number (a birth medical certificate naming the
//! mother), or the guardian holds it and a claim is the dependant's (a
//! marriage certificate naming the spouse). The certificate must be in
//! force when linking.

use std::sync::Arc;

use uuid::Uuid;
use zhongtai_credential::Holder;
use zhongtai_kit::{Actor, Caller, Page, PageQuery, audit_trail};

use super::model::{DependantLink, DependantState, MintedCode, QrRequest, Relationship};
use super::ports::{DependantRepository, Inserted};
use super::presentation::{code_time, expiry};
use super::showing::Showing;
use super::status::{identifier, in_force, person_of_key};
use super::{Violations, check_request_id, now_micros, parse_id};
use crate::shared::{CertificateDirectory, CertificateError, CertificateRecord, require_holder};

/// Active links a guardian may have at once.
pub const MAX_ACTIVE_DEPENDANTS: usize = 20;
/// Links one ShowFamilyCodes may name.
pub const MAX_FAMILY_CODES: usize = 50;

/// A link as LinkDependant asks for it; the dependant's shape is checked
/// at the edge.
#[derive(Debug, Clone)]
pub struct LinkDraft {
    pub request_id: String,
    pub dependant: Holder,
    pub relationship: Option<Relationship>,
    pub evidence_certificate_id: String,
}

#[derive(Clone)]
pub struct Guardianship {
    links: Arc<dyn DependantRepository>,
    directory: Arc<dyn CertificateDirectory>,
    showing: Arc<Showing>,
}

impl Guardianship {
    pub fn new(
        links: Arc<dyn DependantRepository>,
        directory: Arc<dyn CertificateDirectory>,
        showing: Arc<Showing>,
    ) -> Self {
        Self {
            links,
            directory,
            showing,
        }
    }

    pub async fn link(
        &self,
        caller: &Caller,
        draft: &LinkDraft,
    ) -> Result<DependantLink, CertificateError> {
        let guardian_key = require_holder(caller)?.to_string();
        let mut v = Violations::default();
        check_request_id(&mut v, &draft.request_id);
        if draft.relationship.is_none() {
            v.add("relationship", "required: a known relationship");
        }
        if draft.dependant.key() == guardian_key {
            v.add("dependant", "must be someone other than the caller");
        }
        let evidence_id = match parse_id("evidence_certificate_id", &draft.evidence_certificate_id)
        {
            Ok(id) => Some(id),
            Err(_) => {
                v.add("evidence_certificate_id", "required: a UUID");
                None
            }
        };
        let (Some(relationship), Some(evidence_id), true) =
            (draft.relationship, evidence_id, v.is_empty())
        else {
            return Err(v.into_error());
        };
        if let Some(existing) = self
            .links
            .by_request(&guardian_key, &draft.request_id)
            .await?
        {
            return same_request(existing, draft, relationship, evidence_id);
        }

        let now = now_micros();
        let evidence = self
            .directory
            .certificate(evidence_id)
            .await?
            .ok_or_else(|| CertificateError::not_found("certificate", evidence_id))?;
        if !in_force(&evidence, now) {
            return Err(CertificateError::FailedPrecondition(format!(
                "evidence certificate {evidence_id} is not valid ({})",
                evidence.status_at(now).as_str()
            )));
        }
        if !names_both(&evidence, &guardian_key, &draft.dependant) {
            return Err(CertificateError::FailedPrecondition(format!(
                "evidence certificate {evidence_id} does not name both the caller and the dependant"
            )));
        }
        let active = self.links.active(&guardian_key).await?;
        if active.len() >= MAX_ACTIVE_DEPENDANTS {
            return Err(CertificateError::FailedPrecondition(format!(
                "a guardian may link at most {MAX_ACTIVE_DEPENDANTS} dependants"
            )));
        }
        let guardian = self.guardian(&guardian_key, &evidence).await?;
        let link = DependantLink {
            id: Uuid::now_v7(),
            guardian,
            dependant: draft.dependant.clone(),
            relationship,
            evidence_certificate_id: evidence_id,
            state: DependantState::Active,
            created_at: now,
            updated_at: now,
        };
        let audit = audit_trail::allowed(
            caller,
            "certificate.dependant.link",
            format!("dependant/{}", link.id),
        );
        match self
            .links
            .insert(&link, &draft.request_id, &Actor::of(caller), &audit)
            .await?
        {
            Inserted::Inserted => {
                tracing::info!(link = %link.id, "dependant linked");
                Ok(link)
            }
            Inserted::Duplicate => {
                match self
                    .links
                    .by_request(&guardian_key, &draft.request_id)
                    .await?
                {
                    Some(existing) => same_request(existing, draft, relationship, evidence_id),
                    None => Err(CertificateError::AlreadyExists {
                        kind: "dependant link",
                        key: draft.dependant.masked().key(),
                    }),
                }
            }
        }
    }

    /// Removes one of the caller's links; removing a removed link answers
    /// it as it is.
    pub async fn unlink(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<DependantLink, CertificateError> {
        let guardian_key = require_holder(caller)?;
        let id = parse_id("id", id)?;
        let link = self.own_link(guardian_key, id).await?;
        if link.state == DependantState::Removed {
            return Ok(link);
        }
        let removed = DependantLink {
            state: DependantState::Removed,
            updated_at: now_micros(),
            ..link
        };
        let audit = audit_trail::allowed(
            caller,
            "certificate.dependant.unlink",
            format!("dependant/{id}"),
        );
        if self
            .links
            .remove(&removed, &Actor::of(caller), &audit)
            .await?
        {
            tracing::info!(link = %id, "dependant unlinked");
            Ok(removed)
        } else {
            // Removed concurrently: answer what is stored.
            self.own_link(guardian_key, id).await
        }
    }

    pub async fn list(
        &self,
        caller: &Caller,
        page: &PageQuery,
    ) -> Result<Page<DependantLink>, CertificateError> {
        self.links.list(require_holder(caller)?, page).await
    }

    /// Family codes for the caller's active links, or for the ones named.
    pub async fn family_codes(
        &self,
        caller: &Caller,
        ids: &[String],
        image: Option<QrRequest>,
    ) -> Result<Vec<MintedCode>, CertificateError> {
        let guardian_key = require_holder(caller)?;
        let mut v = Violations::default();
        if ids.len() > MAX_FAMILY_CODES {
            v.add(
                "dependant_ids",
                format!("at most {MAX_FAMILY_CODES} links (got {})", ids.len()),
            );
        }
        let mut wanted = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            match Uuid::parse_str(id) {
                Ok(id) if !wanted.contains(&id) => wanted.push(id),
                Ok(_) => {}
                Err(_) => v.add(&format!("dependant_ids[{i}]"), "must be a UUID"),
            }
        }
        v.finish()?;
        let active = self.links.active(guardian_key).await?;
        let links = if wanted.is_empty() {
            active
        } else {
            let mut chosen = Vec::with_capacity(wanted.len());
            for id in wanted {
                match active.iter().find(|link| link.id == id) {
                    Some(link) => chosen.push(link.clone()),
                    None => {
                        let link = self.own_link(guardian_key, id).await?;
                        return Err(CertificateError::FailedPrecondition(format!(
                            "dependant link {} is {}",
                            link.id,
                            link.state.as_str()
                        )));
                    }
                }
            }
            chosen
        };
        let issued_at = code_time(crate::shared::now());
        let expires_at = expiry(issued_at, self.showing.validity());
        let mut codes = Vec::with_capacity(links.len());
        for link in links {
            let subject = Showing::family_subject(&link.dependant, link.id);
            // The link itself was proven, so a dependant without
            // certificates of their own still gets a (NORMAL) code.
            let Some(content) = self
                .showing
                .content(&subject, issued_at, expires_at, false)
                .await?
            else {
                continue;
            };
            codes.push(self.showing.sign(&content, image).await?);
        }
        Ok(codes)
    }

    async fn own_link(
        &self,
        guardian_key: &str,
        id: Uuid,
    ) -> Result<DependantLink, CertificateError> {
        self.links
            .get(guardian_key, id)
            .await?
            .ok_or_else(|| CertificateError::not_found("dependant link", id))
    }

    /// The guardian as the link shows them: named as on the evidence if
    /// they hold it, else as on their newest certificate.
    async fn guardian(
        &self,
        guardian_key: &str,
        evidence: &CertificateRecord,
    ) -> Result<Holder, CertificateError> {
        let name = if evidence.holder.key() == guardian_key {
            evidence.holder.name().to_string()
        } else {
            self.directory
                .of_holder(guardian_key, &[])
                .await?
                .first()
                .map(|c| c.holder.name().to_string())
                .unwrap_or_default()
        };
        person_of_key(guardian_key, &name).ok_or_else(|| {
            CertificateError::FailedPrecondition("the guardian must be a person".into())
        })
    }
}

/// Whether `evidence` names both the guardian and the dependant: held by
/// one, with a claim equal to the other's identity number.
pub fn names_both(evidence: &CertificateRecord, guardian_key: &str, dependant: &Holder) -> bool {
    let has_claim = |number: &str| {
        evidence
            .claims
            .iter()
            .any(|claim| claim.value.to_text().eq_ignore_ascii_case(number))
    };
    let holder_key = evidence.holder.key();
    let guardian_number = guardian_key.rsplit(':').next().unwrap_or_default();
    (holder_key == dependant.key() && has_claim(guardian_number))
        || (holder_key == guardian_key && has_claim(identifier(dependant)))
}

fn same_request(
    existing: DependantLink,
    draft: &LinkDraft,
    relationship: Relationship,
    evidence_id: Uuid,
) -> Result<DependantLink, CertificateError> {
    if existing.dependant.key() == draft.dependant.key()
        && existing.relationship == relationship
        && existing.evidence_certificate_id == evidence_id
    {
        Ok(existing)
    } else {
        Err(CertificateError::RequestIdReused(draft.request_id.clone()))
    }
}

#[cfg(test)]
mod tests {
    use zhongtai_credential::{Claim, ClaimValue};

    use super::*;
    use crate::codes::domain::status::tests::{certificate, person};
    use crate::shared::CertificateStatus;

    const MOTHER: &str = "person:resident-id-card:33110019900101123X";

    fn with_holder(holder: Holder, claims: &[(&str, &str)]) -> CertificateRecord {
        let mut record = certificate(
            "birth-medical-certificate",
            CertificateStatus::Valid,
            None,
            &[],
        );
        record.holder = holder;
        record.claims = claims
            .iter()
            .map(|(name, value)| Claim {
                name: (*name).into(),
                value: ClaimValue::String((*value).into()),
            })
            .collect();
        record
    }

    #[test]
    fn evidence_held_by_the_dependant_names_the_guardian() {
        let child = person("331100202401010012");
        let birth = with_holder(child.clone(), &[("mother_id_number", "33110019900101123x")]);
        assert!(names_both(&birth, MOTHER, &child));
        let stranger = "person:resident-id-card:330100198001010011";
        assert!(!names_both(&birth, stranger, &child));
        assert!(!names_both(&birth, MOTHER, &person("331100202401010099")));
    }

    #[test]
    fn evidence_held_by_the_guardian_names_the_dependant() {
        let spouse = person("330100198801010022");
        let marriage = with_holder(
            person("33110019900101123X"),
            &[("spouse_id_number", "330100198801010022")],
        );
        assert!(names_both(&marriage, MOTHER, &spouse));
        assert!(!names_both(
            &marriage,
            MOTHER,
            &person("330100198801010033")
        ));
    }
}
