//! A family and a city's venues: a parent with a health certificate, two
//! children with birth medical certificates naming her, a gate clerk, a
//! service-counter clerk, and the code calls as each of them makes them.

use chrono::{Duration, Utc};
use tonic::Status;
use zhongtai_certificate::shared::Keyring;
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::certificate::v1::code_service_server::CodeService;
use zhongtai_contracts::common::v1 as common;
use zhongtai_credential::{CODE_TYP, CodeKind, CodePayload, Holder, HolderStatus, IdDocumentType};
use zhongtai_kit::proto::timestamp;
use zhongtai_kit::{Caller, Role};

use crate::support::{
    HEALTH, Harness, by, citizen, claim_def, issue, issue_health_certificate, issuer_for,
    issuer_operator, person, rid, staff, text,
};

pub const PARENT_ID: &str = "331102198801014321";
pub const PARENT_NAME: &str = "陈丽";
pub const CHILD_IDS: [&str; 2] = ["331102201501010012", "331102201801010034"];
pub const CHILD_NAMES: [&str; 2] = ["陈小明", "陈小红"];
pub const STRANGER_ID: &str = "330102197001015555";
/// A district's culture and tourism bureau runs the venues.
pub const VENUES: &str = "331102/culture-tourism";
pub const OTHER_CITY: &str = "330100/culture-tourism";
/// The service counter issuing offline codes.
pub const COUNTER: &str = "331102/service-center";
pub const BIRTH_CERTIFICATE: &str = "birth-medical-certificate";

pub fn parent() -> Caller {
    citizen(PARENT_ID)
}

pub fn gate_clerk() -> Caller {
    staff("gate-clerk", VENUES, &[Role::Operator])
}

pub fn venue_auditor() -> Caller {
    staff("venue-auditor", VENUES, &[Role::Auditor])
}

pub fn counter_clerk() -> Caller {
    staff("counter-clerk", COUNTER, &[Role::Operator])
}

pub fn person_message(name: &str, id_number: &str) -> common::Person {
    common::Person {
        name: name.into(),
        id_type: common::IdDocumentType::ResidentIdCard as i32,
        id_number: id_number.into(),
    }
}

fn birth_certificate_type() -> pb::CertificateType {
    pb::CertificateType {
        code: BIRTH_CERTIFICATE.into(),
        name: "出生医学证明".into(),
        description: "新生儿出生医学证明".into(),
        claims: vec![
            claim_def("mother_id_number", pb::ClaimType::String, true, false),
            claim_def("birth_date", pb::ClaimType::Date, true, false),
        ],
        holder_kind: pb::HolderKind::Person as i32,
        ..Default::default()
    }
}

pub struct World {
    pub h: Harness,
}

impl World {
    pub async fn new() -> Self {
        Self::on(Harness::postgres().await)
    }

    pub fn on(h: Harness) -> Self {
        Self { h }
    }

    /// The parent's health certificate (its occupation shows in codes).
    pub async fn parent_certified(&self) -> pb::Certificate {
        issue_health_certificate(&self.h, PARENT_ID, PARENT_NAME).await
    }

    /// Child `i`'s birth medical certificate naming the parent as mother.
    pub async fn birth_certificate(&self, i: usize) -> pb::Certificate {
        let issuer = issuer_for(
            &self.h,
            HEALTH,
            "丽水市妇幼保健院",
            birth_certificate_type(),
        )
        .await;
        let request = pb::IssueCertificateRequest {
            request_id: rid(),
            certificate_type: BIRTH_CERTIFICATE.into(),
            issuer_id: issuer.id,
            holder: Some(person(CHILD_NAMES[i], CHILD_IDS[i])),
            claims: vec![
                text("mother_id_number", PARENT_ID),
                pb::Claim {
                    name: "birth_date".into(),
                    value: Some(pb::claim::Value::DateValue("2015-01-01".into())),
                },
            ],
            ..Default::default()
        };
        issue(&self.h, &issuer_operator(HEALTH), request)
            .await
            .unwrap()
    }

    pub async fn show(&self, caller: &Caller) -> Result<pb::PresentationCode, Status> {
        Ok(self
            .h
            .codes
            .show_code(by(caller, pb::ShowCodeRequest::default()))
            .await?
            .into_inner()
            .code
            .unwrap())
    }

    pub async fn verify(&self, payload: &str) -> Result<pb::VerifyCodeResponse, Status> {
        Ok(self
            .h
            .codes
            .verify_code(by(
                &gate_clerk(),
                pb::VerifyCodeRequest {
                    payload: payload.into(),
                },
            ))
            .await?
            .into_inner())
    }

    pub async fn outcome(&self, payload: &str) -> pb::VerificationOutcome {
        self.verify(payload)
            .await
            .unwrap()
            .result
            .unwrap()
            .outcome()
    }

    /// A code signed with the platform key as the center would, but with
    /// the times given.
    pub async fn signed_code(&self, issued_secs_ago: i64, valid_secs: i64) -> String {
        let platform = self.h.center.issuers.platform_signer().await.unwrap();
        let now = Utc::now().timestamp();
        let payload = CodePayload {
            iss: zhongtai_credential::PLATFORM_ISSUER.into(),
            jti: uuid::Uuid::new_v4().to_string(),
            iat: now - issued_secs_ago,
            exp: now - issued_secs_ago + valid_secs,
            kind: CodeKind::Personal,
            holder: Holder::Person {
                name: PARENT_NAME.into(),
                id_type: IdDocumentType::ResidentIdCard,
                id_number: PARENT_ID.into(),
            }
            .masked(),
            st: HolderStatus::Normal,
            claims: Default::default(),
            dep: None,
        };
        zhongtai_credential::qr_payload(&zhongtai_credential::sign_compact(
            &platform, CODE_TYP, &payload,
        ))
    }

    pub async fn link(
        &self,
        guardian: &Caller,
        child: usize,
        evidence: &str,
        request_id: &str,
    ) -> Result<pb::Dependant, Status> {
        Ok(self
            .h
            .codes
            .link_dependant(by(
                guardian,
                pb::LinkDependantRequest {
                    request_id: request_id.into(),
                    dependant: Some(person_message(CHILD_NAMES[child], CHILD_IDS[child])),
                    relationship: pb::Relationship::Parent as i32,
                    evidence_certificate_id: evidence.into(),
                },
            ))
            .await?
            .into_inner()
            .dependant
            .unwrap())
    }

    pub async fn family_codes(
        &self,
        guardian: &Caller,
        ids: &[&str],
    ) -> Result<Vec<pb::PresentationCode>, Status> {
        Ok(self
            .h
            .codes
            .show_family_codes(by(
                guardian,
                pb::ShowFamilyCodesRequest {
                    dependant_ids: ids.iter().map(|id| id.to_string()).collect(),
                    ..Default::default()
                },
            ))
            .await?
            .into_inner()
            .codes)
    }

    pub async fn issue_offline(
        &self,
        request_id: &str,
        id_number: &str,
        days: i64,
    ) -> Result<pb::PresentationCode, Status> {
        Ok(self
            .h
            .codes
            .issue_offline_code(by(
                &counter_clerk(),
                pb::IssueOfflineCodeRequest {
                    request_id: request_id.into(),
                    holder: Some(person_message(PARENT_NAME, id_number)),
                    validity: Some(prost_types::Duration {
                        seconds: days * 86_400,
                        nanos: 0,
                    }),
                    ..Default::default()
                },
            ))
            .await?
            .into_inner()
            .code
            .unwrap())
    }

    pub async fn register_venue(&self, caller: &Caller, name: &str) -> Result<pb::Venue, Status> {
        Ok(self
            .h
            .codes
            .register_venue(by(
                caller,
                pb::RegisterVenueRequest {
                    request_id: rid(),
                    name: name.into(),
                    address: "丽水市莲都区人民街1号".into(),
                    division_code: caller.tenant.division.to_string(),
                },
            ))
            .await?
            .into_inner()
            .venue
            .unwrap())
    }

    pub async fn scan(
        &self,
        venue_id: &str,
        payload: &str,
        scan_id: &str,
        minutes_ago: i64,
    ) -> Result<pb::ScanRecord, Status> {
        Ok(self
            .h
            .codes
            .scan_code(by(
                &gate_clerk(),
                pb::ScanCodeRequest {
                    scan_id: scan_id.into(),
                    venue_id: venue_id.into(),
                    payload: payload.into(),
                    scan_time: Some(timestamp(Utc::now() - Duration::minutes(minutes_ago))),
                    device_id: "gate-1".into(),
                },
            ))
            .await?
            .into_inner()
            .scan
            .unwrap())
    }

    pub async fn venue_scans(
        &self,
        caller: &Caller,
        venue_id: &str,
        from_minutes_ago: i64,
        to_minutes_ago: i64,
        page: common::PageRequest,
    ) -> Result<pb::ListVenueScansResponse, Status> {
        Ok(self
            .h
            .codes
            .list_venue_scans(by(
                caller,
                pb::ListVenueScansRequest {
                    page: Some(page),
                    venue_id: venue_id.into(),
                    period: Some(window(from_minutes_ago, to_minutes_ago)),
                },
            ))
            .await?
            .into_inner())
    }

    pub async fn holder_scans(
        &self,
        caller: &Caller,
        holder: Option<common::Holder>,
        from_minutes_ago: i64,
        to_minutes_ago: i64,
    ) -> Result<Vec<pb::ScanRecord>, Status> {
        Ok(self
            .h
            .codes
            .list_holder_scans(by(
                caller,
                pb::ListHolderScansRequest {
                    page: None,
                    holder,
                    period: Some(window(from_minutes_ago, to_minutes_ago)),
                },
            ))
            .await?
            .into_inner()
            .scans)
    }

    /// Rows of the codes tables, the outbox and the audit log.
    pub async fn footprint(&self) -> [i64; 6] {
        [
            self.h.count("venues").await,
            self.h.count("venue_scans").await,
            self.h.count("dependant_links").await,
            self.h.count("offline_codes").await,
            self.h.count("event_outbox").await,
            self.h.count("audit_log").await,
        ]
    }

    pub async fn events(&self, event_type: &str, subject: &str) -> i64 {
        self.h
            .count(&format!(
                "event_outbox WHERE event_type = '{event_type}' AND subject = '{subject}'"
            ))
            .await
    }
}

/// `[now - from, now - to)`.
pub fn window(from_minutes_ago: i64, to_minutes_ago: i64) -> common::Period {
    let now = Utc::now();
    common::Period {
        start_time: Some(timestamp(now - Duration::minutes(from_minutes_ago))),
        end_time: Some(timestamp(now - Duration::minutes(to_minutes_ago))),
    }
}

/// The fields a status's BadRequest names.
pub fn fields(status: &Status) -> Vec<String> {
    use tonic_types::StatusExt;
    status
        .get_details_bad_request()
        .map(|bad| bad.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}
