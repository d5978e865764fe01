//! Certificates issued through the public RPCs, for the tests of the parts
//! that use them (codes, consents) and of the certificates part itself.
//! Each helper creates the certificate type and its issuer on first use.

use tonic::{Code, Status};
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::certificate::v1::certificate_service_server::CertificateService;
use zhongtai_contracts::common::v1 as common;
use zhongtai_kit::Caller;

use super::{
    HEALTH, Harness, MARKET, business_licence_type, by, create_issuer, create_type,
    health_certificate_type, issuer_operator, organization, person, rid, text,
};

/// The company the default licence is issued to.
pub const COMPANY: &str = "丽水青瓷有限公司";
pub const COMPANY_CREDIT_CODE: &str = "91331100MA2A0B1C2D";

/// `certificate_type` exists (created now unless it already was).
pub async fn ensure_type(h: &Harness, certificate_type: pb::CertificateType) {
    match create_type(h, certificate_type).await {
        Ok(_) => {}
        Err(status) if status.code() == Code::AlreadyExists => {}
        Err(status) => panic!("creating a certificate type: {status:?}"),
    }
}

/// The issuer of `tenant` that may issue `code`: the first one listed, or
/// a new one.
pub async fn issuer_for(
    h: &Harness,
    tenant: &str,
    name: &str,
    certificate_type: pb::CertificateType,
) -> pb::Issuer {
    let code = certificate_type.code.clone();
    ensure_type(h, certificate_type).await;
    let (division, department) = tenant.split_once('/').unwrap_or((tenant, ""));
    let listed = h
        .api
        .list_issuers(by(
            &super::platform_admin(),
            pb::ListIssuersRequest {
                tenant: Some(common::Tenant {
                    division_code: division.into(),
                    department: department.into(),
                }),
                ..Default::default()
            },
        ))
        .await;
    if let Ok(listed) = listed
        && let Some(issuer) = listed
            .into_inner()
            .issuers
            .into_iter()
            .find(|issuer| issuer.certificate_types.contains(&code))
    {
        return issuer;
    }
    create_issuer(h, tenant, name, &[&code])
        .await
        .unwrap()
        .issuer
        .unwrap()
}

/// Market regulation's business-licence issuer.
pub async fn licence_issuer(h: &Harness) -> pb::Issuer {
    issuer_for(h, MARKET, "丽水市市场监督管理局", business_licence_type()).await
}

/// The health department's health-certificate issuer.
pub async fn health_issuer(h: &Harness) -> pb::Issuer {
    issuer_for(h, HEALTH, "丽水市卫生健康委员会", health_certificate_type()).await
}

/// A business-licence request of `issuer` for the default company.
pub fn licence_request(issuer: &pb::Issuer) -> pb::IssueCertificateRequest {
    pb::IssueCertificateRequest {
        request_id: rid(),
        certificate_type: "business-licence".into(),
        issuer_id: issuer.id.clone(),
        holder: Some(organization(COMPANY, COMPANY_CREDIT_CODE)),
        claims: vec![
            text("company_name", COMPANY),
            text("legal_representative", "王青"),
            pb::Claim {
                name: "registered_capital".into(),
                value: Some(pb::claim::Value::DecimalValue("1000000.00".into())),
            },
            pb::Claim {
                name: "established_on".into(),
                value: Some(pb::claim::Value::DateValue("2026-05-01".into())),
            },
        ],
        ..Default::default()
    }
}

/// Issues `request` as `caller`.
pub async fn issue(
    h: &Harness,
    caller: &Caller,
    request: pb::IssueCertificateRequest,
) -> Result<pb::Certificate, Status> {
    Ok(h.api
        .issue_certificate(by(caller, request))
        .await?
        .into_inner()
        .certificate
        .unwrap())
}

/// A business licence for the default company, issued by market
/// regulation.
pub async fn issue_licence(h: &Harness) -> pb::Certificate {
    let issuer = licence_issuer(h).await;
    issue(h, &issuer_operator(MARKET), licence_request(&issuer))
        .await
        .unwrap()
}

/// A business licence for another company.
pub async fn issue_licence_to(h: &Harness, company: &str, credit_code: &str) -> pb::Certificate {
    let issuer = licence_issuer(h).await;
    let mut request = licence_request(&issuer);
    request.holder = Some(organization(company, credit_code));
    request.claims[0] = text("company_name", company);
    issue(h, &issuer_operator(MARKET), request).await.unwrap()
}

/// A health certificate for the person with this resident identity card
/// number, issued by the health department.
pub async fn issue_health_certificate(
    h: &Harness,
    person_id_number: &str,
    name: &str,
) -> pb::Certificate {
    let issuer = health_issuer(h).await;
    let request = pb::IssueCertificateRequest {
        request_id: rid(),
        certificate_type: "health-certificate".into(),
        issuer_id: issuer.id,
        holder: Some(person(name, person_id_number)),
        claims: vec![
            text("occupation", "家政服务员"),
            pb::Claim {
                name: "examined_on".into(),
                value: Some(pb::claim::Value::DateValue("2026-03-01".into())),
            },
        ],
        ..Default::default()
    };
    issue(h, &issuer_operator(HEALTH), request).await.unwrap()
}

/// Online verification of a token as `caller`.
pub async fn verify(
    h: &Harness,
    caller: &Caller,
    token: &str,
    include_claims: bool,
) -> Result<pb::VerificationResult, Status> {
    Ok(h.api
        .verify_certificate(by(
            caller,
            pb::VerifyCertificateRequest {
                presentation: Some(pb::verify_certificate_request::Presentation::Token(
                    token.into(),
                )),
                include_claims,
            },
        ))
        .await?
        .into_inner()
        .result
        .unwrap())
}

/// Revokes certificate `id` as an operator of `tenant`.
pub async fn revoke(h: &Harness, tenant: &str, id: &str, reason: &str) -> pb::Certificate {
    h.api
        .revoke_certificate(by(
            &issuer_operator(tenant),
            pb::RevokeCertificateRequest {
                id: id.into(),
                reason: reason.into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .certificate
        .unwrap()
}

/// Suspends certificate `id` as an operator of `tenant`.
pub async fn suspend(h: &Harness, tenant: &str, id: &str, reason: &str) -> pb::Certificate {
    h.api
        .suspend_certificate(by(
            &issuer_operator(tenant),
            pb::SuspendCertificateRequest {
                id: id.into(),
                reason: reason.into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .certificate
        .unwrap()
}
