//! The nanny's world: certificate types, the custodian's issuer, her
//! certificates, the app and the three parties, and the consent calls as
//! each of them makes them.

use chrono::{Duration, Utc};
use tonic::Status;
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::certificate::v1::certificate_service_server::CertificateService;
use zhongtai_contracts::certificate::v1::consent_service_server::ConsentService;
use zhongtai_contracts::common::v1 as common;
use zhongtai_kit::proto::timestamp;
use zhongtai_kit::{Caller, Role};

use crate::support::{
    HEALTH, Harness, by, citizen, claim_def, create_issuer, create_type, health_certificate_type,
    issuer_operator, person, platform_admin, rid, staff, text,
};

/// The custodian: the department that issued the nanny's certificates.
pub const HUMAN_RESOURCES: &str = "331100/human-resources";
pub const NANNY_ID: &str = "331102199001012345";
pub const NANNY_NAME: &str = "李秀英";
pub const APP_ID: &str = "home-service";
pub const QUALIFICATION: &str = "qualification-certificate";
pub const HEALTH_CERTIFICATE: &str = "health-certificate";
/// The claims the app asks for: not the certificate number, not the
/// examination date.
pub const SCOPED_CLAIMS: [&str; 3] = ["qualification", "level", "occupation"];

/// The integrator app, as the gateway calls for it.
pub fn app() -> Caller {
    staff(&format!("app:{APP_ID}"), "331100", &[Role::Operator])
}

pub fn other_app() -> Caller {
    staff("app:cheap-nannies", "331100", &[Role::Operator])
}

pub fn custodian() -> Caller {
    staff("hr-admin", HUMAN_RESOURCES, &[Role::Admin])
}

pub fn platform() -> Caller {
    platform_admin()
}

pub fn nanny() -> Caller {
    citizen(NANNY_ID)
}

/// Who acts for `party` rightfully.
pub fn acting_for(party: pb::ConsentParty) -> Caller {
    match party {
        pb::ConsentParty::Custodian => custodian(),
        pb::ConsentParty::Platform => platform(),
        _ => nanny(),
    }
}

pub const PARTIES: [pb::ConsentParty; 3] = [
    pb::ConsentParty::Custodian,
    pb::ConsentParty::Platform,
    pb::ConsentParty::Holder,
];

/// The text of a status's details (ErrorInfo reason and metadata,
/// BadRequest fields), for asserting on codes it carries.
pub fn details(status: &Status) -> String {
    String::from_utf8_lossy(status.details()).to_string()
}

/// Asserts a refused read: `code` and the `refusal` code in the details.
pub fn assert_refused<T: std::fmt::Debug>(
    answer: Result<T, Status>,
    code: tonic::Code,
    refusal: &str,
) {
    let status = answer.expect_err("the read is refused");
    assert_eq!(status.code(), code, "{status:?}");
    assert!(
        details(&status).contains(refusal),
        "{refusal} not in {status:?}"
    );
}

pub struct World {
    pub h: Harness,
    pub qualification: pb::Certificate,
    pub health: pb::Certificate,
    /// A health certificate of the nanny from another department: not the
    /// custodian's, so never disclosed under its consents.
    pub other_health: pb::Certificate,
}

impl World {
    pub async fn postgres() -> Self {
        Self::on(Harness::postgres().await).await
    }

    /// Types, issuers and the nanny's certificates on `h`.
    pub async fn on(h: Harness) -> Self {
        create_type(&h, qualification_type()).await.unwrap();
        create_type(&h, health_certificate_type()).await.unwrap();
        let issuer = create_issuer(
            &h,
            HUMAN_RESOURCES,
            "丽水市人力资源和社会保障局",
            &[QUALIFICATION, HEALTH_CERTIFICATE],
        )
        .await
        .unwrap()
        .issuer
        .unwrap();
        let other = create_issuer(&h, HEALTH, "丽水市卫生健康委员会", &[HEALTH_CERTIFICATE])
            .await
            .unwrap()
            .issuer
            .unwrap();
        let qualification = issue(
            &h,
            HUMAN_RESOURCES,
            &issuer,
            QUALIFICATION,
            vec![
                text("qualification", "育婴员"),
                text("level", "高级"),
                text("certificate_number", "Q-2026-0001"),
            ],
        )
        .await;
        let health = issue(
            &h,
            HUMAN_RESOURCES,
            &issuer,
            HEALTH_CERTIFICATE,
            health_claims("家政服务"),
        )
        .await;
        let other_health = issue(
            &h,
            HEALTH,
            &other,
            HEALTH_CERTIFICATE,
            health_claims("餐饮"),
        )
        .await;
        Self {
            h,
            qualification,
            health,
            other_health,
        }
    }

    /// The app's request: both types, the scoped claims, 30 days, 3 reads.
    pub fn request(&self) -> pb::RequestConsentRequest {
        let now = Utc::now();
        pb::RequestConsentRequest {
            request_id: rid(),
            app_id: APP_ID.into(),
            requester_name: "丽水好阿姨家政平台".into(),
            holder: Some(person(NANNY_NAME, NANNY_ID)),
            custodian: Some(tenant(HUMAN_RESOURCES)),
            certificate_types: vec![QUALIFICATION.into(), HEALTH_CERTIFICATE.into()],
            claims: SCOPED_CLAIMS.iter().map(|c| c.to_string()).collect(),
            purpose: "hiring check".into(),
            period: Some(common::Period {
                start_time: Some(timestamp(now)),
                end_time: Some(timestamp(now + Duration::days(30))),
            }),
            read_limit: 3,
        }
    }

    pub async fn ask_as(
        &self,
        who: &Caller,
        request: pb::RequestConsentRequest,
    ) -> Result<pb::Consent, Status> {
        Ok(self
            .h
            .consents
            .request_consent(by(who, request))
            .await?
            .into_inner()
            .consent
            .unwrap())
    }

    pub async fn ask(&self, request: pb::RequestConsentRequest) -> Result<pb::Consent, Status> {
        self.ask_as(&app(), request).await
    }

    /// A PENDING consent on the default terms.
    pub async fn pending(&self) -> pb::Consent {
        self.ask(self.request()).await.unwrap()
    }

    /// An ACTIVE consent on the default terms with `read_limit`.
    pub async fn active_with_limit(&self, read_limit: i64) -> pb::Consent {
        let consent = self
            .ask(pb::RequestConsentRequest {
                read_limit,
                ..self.request()
            })
            .await
            .unwrap();
        self.unlock_all(&consent.id).await
    }

    pub async fn active(&self) -> pb::Consent {
        self.active_with_limit(3).await
    }

    pub async fn unlock(
        &self,
        who: &Caller,
        id: &str,
        party: pb::ConsentParty,
    ) -> Result<pb::Consent, Status> {
        Ok(self
            .h
            .consents
            .unlock_consent(by(
                who,
                pb::UnlockConsentRequest {
                    id: id.into(),
                    party: party as i32,
                },
            ))
            .await?
            .into_inner()
            .consent
            .unwrap())
    }

    pub async fn unlock_all(&self, id: &str) -> pb::Consent {
        let mut consent = None;
        for party in PARTIES {
            consent = Some(self.unlock(&acting_for(party), id, party).await.unwrap());
        }
        consent.unwrap()
    }

    pub async fn decline(
        &self,
        who: &Caller,
        id: &str,
        party: pb::ConsentParty,
    ) -> Result<pb::Consent, Status> {
        Ok(self
            .h
            .consents
            .decline_consent(by(
                who,
                pb::DeclineConsentRequest {
                    id: id.into(),
                    party: party as i32,
                    reason: "不同意".into(),
                },
            ))
            .await?
            .into_inner()
            .consent
            .unwrap())
    }

    pub async fn revoke(
        &self,
        who: &Caller,
        id: &str,
        party: pb::ConsentParty,
    ) -> Result<pb::Consent, Status> {
        Ok(self
            .h
            .consents
            .revoke_consent(by(
                who,
                pb::RevokeConsentRequest {
                    id: id.into(),
                    party: party as i32,
                    reason: "已另择平台".into(),
                },
            ))
            .await?
            .into_inner()
            .consent
            .unwrap())
    }

    pub async fn read_with(
        &self,
        who: &Caller,
        id: &str,
        request_id: &str,
    ) -> Result<pb::ReadConsentedDataResponse, Status> {
        Ok(self
            .h
            .consents
            .read_consented_data(by(
                who,
                pb::ReadConsentedDataRequest {
                    request_id: request_id.into(),
                    consent_id: id.into(),
                },
            ))
            .await?
            .into_inner())
    }

    /// A read by the app with a fresh request id.
    pub async fn read(&self, id: &str) -> Result<pb::ReadConsentedDataResponse, Status> {
        self.read_with(&app(), id, &rid()).await
    }

    pub async fn get(&self, who: &Caller, id: &str) -> Result<pb::Consent, Status> {
        Ok(self
            .h
            .consents
            .get_consent(by(who, pb::GetConsentRequest { id: id.into() }))
            .await?
            .into_inner()
            .consent
            .unwrap())
    }

    pub async fn list(
        &self,
        who: &Caller,
        request: pb::ListConsentsRequest,
    ) -> Result<Vec<pb::Consent>, Status> {
        Ok(self
            .h
            .consents
            .list_consents(by(who, request))
            .await?
            .into_inner()
            .consents)
    }

    /// One page of `who`'s consents and the next page's token.
    pub async fn list_page(
        &self,
        who: &Caller,
        page_size: i32,
        page_token: &str,
    ) -> (Vec<pb::Consent>, String) {
        let response = self
            .h
            .consents
            .list_consents(by(
                who,
                pb::ListConsentsRequest {
                    page: Some(common::PageRequest {
                        page_size,
                        page_token: page_token.into(),
                    }),
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        let token = response.page.map(|p| p.next_page_token).unwrap_or_default();
        (response.consents, token)
    }

    /// Every logged attempt, newest first, as `who` sees them.
    pub async fn usage(&self, who: &Caller, id: &str) -> Result<Vec<pb::ConsentUsage>, Status> {
        Ok(self
            .h
            .consents
            .list_consent_usage(by(
                who,
                pb::ListConsentUsageRequest {
                    consent_id: id.into(),
                    ..Default::default()
                },
            ))
            .await?
            .into_inner()
            .usages)
    }

    /// Outcomes of the logged attempts, oldest first.
    pub async fn outcomes(&self, id: &str) -> Vec<pb::ConsentUsageOutcome> {
        let mut usage = self.usage(&nanny(), id).await.unwrap();
        usage.reverse();
        usage.iter().map(|u| u.outcome()).collect()
    }

    /// Events of `event_type` about consent `id` in the outbox.
    pub async fn events(&self, event_type: &str, id: &str) -> i64 {
        self.h
            .count(&format!(
                "event_outbox WHERE event_type = '{event_type}' AND subject = '{id}'"
            ))
            .await
    }

    /// Audit records of `action` on consent `id` that ended `outcome`
    /// (`allowed`, `denied`).
    pub async fn audited(&self, action: &str, id: &str, outcome: &str) -> i64 {
        self.h
            .count(&format!(
                "audit_log WHERE action = '{action}' AND target = 'consent/{id}' \
                 AND outcome = '{outcome}'"
            ))
            .await
    }

    /// Rows of the consent tables, the outbox and the audit log.
    pub async fn footprint(&self) -> [i64; 4] {
        [
            self.h.count("consents").await,
            self.h.count("consent_usage").await,
            self.h.count("event_outbox").await,
            self.h.count("audit_log").await,
        ]
    }
}

pub fn tenant(key: &str) -> common::Tenant {
    let (division, department) = key.split_once('/').unwrap_or((key, ""));
    common::Tenant {
        division_code: division.into(),
        department: department.into(),
    }
}

fn qualification_type() -> pb::CertificateType {
    pb::CertificateType {
        code: QUALIFICATION.into(),
        name: "职业资格证书".into(),
        description: "职业技能等级证书".into(),
        claims: vec![
            claim_def("qualification", pb::ClaimType::String, true, true),
            claim_def("level", pb::ClaimType::String, true, true),
            claim_def("certificate_number", pb::ClaimType::String, false, false),
        ],
        holder_kind: pb::HolderKind::Person as i32,
        default_validity: Some(prost_types::Duration {
            seconds: 3 * 365 * 86_400,
            nanos: 0,
        }),
        ..Default::default()
    }
}

fn health_claims(occupation: &str) -> Vec<pb::Claim> {
    vec![
        text("occupation", occupation),
        pb::Claim {
            name: "examined_on".into(),
            value: Some(pb::claim::Value::DateValue("2026-11-20".into())),
        },
    ]
}

async fn issue(
    h: &Harness,
    tenant: &str,
    issuer: &pb::Issuer,
    certificate_type: &str,
    claims: Vec<pb::Claim>,
) -> pb::Certificate {
    h.api
        .issue_certificate(by(
            &issuer_operator(tenant),
            pb::IssueCertificateRequest {
                request_id: rid(),
                certificate_type: certificate_type.into(),
                issuer_id: issuer.id.clone(),
                holder: Some(person(NANNY_NAME, NANNY_ID)),
                claims,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .certificate
        .unwrap()
}
