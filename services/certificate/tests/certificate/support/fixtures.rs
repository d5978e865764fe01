//! Fixtures through the public RPCs: certificate types, issuers, callers.

use tonic::Status;
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::certificate::v1::certificate_service_server::CertificateService;
use zhongtai_contracts::common::v1 as common;
use zhongtai_kit::{Caller, Role};

use super::{Harness, by, rid, staff};

/// The platform operator's tenant (the default `certificate.platform_tenant`).
pub const PLATFORM: &str = "330000/big-data-bureau";
/// An issuing department.
pub const MARKET: &str = "331100/market-regulation";
pub const HEALTH: &str = "331100/health";

pub fn platform_admin() -> Caller {
    staff("platform-admin", PLATFORM, &[Role::Admin])
}

pub fn issuer_operator(tenant: &str) -> Caller {
    staff("issuer-operator", tenant, &[Role::Operator])
}

pub fn claim_def(
    name: &str,
    kind: pb::ClaimType,
    required: bool,
    in_code: bool,
) -> pb::ClaimDefinition {
    pb::ClaimDefinition {
        name: name.into(),
        title: name.into(),
        r#type: kind as i32,
        required,
        include_in_code: in_code,
    }
}

pub fn text(name: &str, value: &str) -> pb::Claim {
    pb::Claim {
        name: name.into(),
        value: Some(pb::claim::Value::StringValue(value.into())),
    }
}

/// A business licence type: organisations, company name and credit code
/// required, registered capital optional.
pub fn business_licence_type() -> pb::CertificateType {
    pb::CertificateType {
        code: "business-licence".into(),
        name: "营业执照".into(),
        description: "企业法人营业执照".into(),
        claims: vec![
            claim_def("company_name", pb::ClaimType::String, true, true),
            claim_def("legal_representative", pb::ClaimType::String, true, false),
            claim_def("registered_capital", pb::ClaimType::Decimal, false, false),
            claim_def("established_on", pb::ClaimType::Date, false, false),
        ],
        holder_kind: pb::HolderKind::Organization as i32,
        default_validity: Some(prost_types::Duration {
            seconds: 10 * 365 * 86_400,
            nanos: 0,
        }),
        ..Default::default()
    }
}

/// A health certificate type for persons, valid a year by default.
pub fn health_certificate_type() -> pb::CertificateType {
    pb::CertificateType {
        code: "health-certificate".into(),
        name: "健康证".into(),
        description: "从业人员健康证明".into(),
        claims: vec![
            claim_def("occupation", pb::ClaimType::String, true, true),
            claim_def("examined_on", pb::ClaimType::Date, true, false),
        ],
        holder_kind: pb::HolderKind::Person as i32,
        default_validity: Some(prost_types::Duration {
            seconds: 365 * 86_400,
            nanos: 0,
        }),
        ..Default::default()
    }
}

pub async fn create_type(
    h: &Harness,
    certificate_type: pb::CertificateType,
) -> Result<pb::CertificateType, Status> {
    Ok(h.api
        .create_certificate_type(by(
            &platform_admin(),
            pb::CreateCertificateTypeRequest {
                request_id: rid(),
                certificate_type: Some(certificate_type),
            },
        ))
        .await?
        .into_inner()
        .certificate_type
        .unwrap_or_default())
}

/// Creates an issuer of `tenant` allowed to issue `types`.
pub async fn create_issuer(
    h: &Harness,
    tenant: &str,
    name: &str,
    types: &[&str],
) -> Result<pb::CreateIssuerResponse, Status> {
    let (division, department) = tenant.split_once('/').unwrap_or((tenant, ""));
    Ok(h.api
        .create_issuer(by(
            &platform_admin(),
            pb::CreateIssuerRequest {
                request_id: rid(),
                tenant: Some(common::Tenant {
                    division_code: division.into(),
                    department: department.into(),
                }),
                name: name.into(),
                certificate_types: types.iter().map(|t| t.to_string()).collect(),
            },
        ))
        .await?
        .into_inner())
}

pub fn organization(name: &str, credit_code: &str) -> common::Holder {
    common::Holder {
        holder: Some(common::holder::Holder::Organization(common::Organization {
            name: name.into(),
            unified_social_credit_code: credit_code.into(),
        })),
    }
}

pub fn person(name: &str, id_number: &str) -> common::Holder {
    common::Holder {
        holder: Some(common::holder::Holder::Person(common::Person {
            name: name.into(),
            id_type: common::IdDocumentType::ResidentIdCard as i32,
            id_number: id_number.into(),
        })),
    }
}
