//! Who may call which certificate-center RPC. Trust and status lists are
//! public: verifiers anywhere fetch them without an account. Holder-facing
//! calls and consent parties are open to any authenticated caller here and
//! checked in the domain: the holder is the caller's own subject, and each
//! consent party has its own rule.

use zhongtai_kit::auth::roles::{ADMINS, MAINTAINERS, READERS, REVIEWERS};
use zhongtai_kit::auth::{Access, AccessPolicy, ServicePolicy};
use zhongtai_mesh::Priority;

const CERTIFICATES: ServicePolicy = ServicePolicy {
    service: "zhongtai.certificate.v1.CertificateService",
    methods: &[
        ("CreateIssuer", Access::AnyOf(ADMINS)),
        ("GetIssuer", Access::AnyOf(READERS)),
        ("ListIssuers", Access::AnyOf(READERS)),
        ("UpdateIssuer", Access::AnyOf(ADMINS)),
        ("RotateSigningKey", Access::AnyOf(ADMINS)),
        ("RevokeSigningKey", Access::AnyOf(ADMINS)),
        ("ListSigningKeys", Access::AnyOf(READERS)),
        ("GetTrustList", Access::Public),
        ("CreateCertificateType", Access::AnyOf(MAINTAINERS)),
        ("GetCertificateType", Access::AnyOf(READERS)),
        ("ListCertificateTypes", Access::AnyOf(READERS)),
        ("UpdateCertificateType", Access::AnyOf(MAINTAINERS)),
        ("IssueCertificate", Access::AnyOf(MAINTAINERS)),
        ("GetCertificate", Access::AnyOf(READERS)),
        ("ListCertificates", Access::AnyOf(READERS)),
        ("VerifyCertificate", Access::Authenticated),
        ("RevokeCertificate", Access::AnyOf(MAINTAINERS)),
        ("SuspendCertificate", Access::AnyOf(MAINTAINERS)),
        ("ReinstateCertificate", Access::AnyOf(MAINTAINERS)),
        ("GetStatusList", Access::Public),
        ("ListStatusLists", Access::Public),
    ],
};

const CODES: ServicePolicy = ServicePolicy {
    service: "zhongtai.certificate.v1.CodeService",
    methods: &[
        ("ShowCode", Access::Authenticated),
        ("ShowFamilyCodes", Access::Authenticated),
        ("LinkDependant", Access::Authenticated),
        ("UnlinkDependant", Access::Authenticated),
        ("ListDependants", Access::Authenticated),
        ("IssueOfflineCode", Access::AnyOf(MAINTAINERS)),
        ("RevokeOfflineCode", Access::AnyOf(MAINTAINERS)),
        ("VerifyCode", Access::Authenticated),
        ("RegisterVenue", Access::AnyOf(MAINTAINERS)),
        ("GetVenue", Access::AnyOf(READERS)),
        ("ListVenues", Access::AnyOf(READERS)),
        ("ScanCode", Access::AnyOf(MAINTAINERS)),
        ("ListVenueScans", Access::AnyOf(REVIEWERS)),
        ("ListHolderScans", Access::Authenticated),
    ],
};

const CONSENTS: ServicePolicy = ServicePolicy {
    service: "zhongtai.certificate.v1.ConsentService",
    methods: &[
        ("RequestConsent", Access::AnyOf(MAINTAINERS)),
        ("GetConsent", Access::Authenticated),
        ("ListConsents", Access::Authenticated),
        ("UnlockConsent", Access::Authenticated),
        ("DeclineConsent", Access::Authenticated),
        ("RevokeConsent", Access::Authenticated),
        ("ReadConsentedData", Access::AnyOf(MAINTAINERS)),
        ("ListConsentUsage", Access::Authenticated),
    ],
};

pub fn policy() -> AccessPolicy {
    AccessPolicy::new()
        .with(CERTIFICATES)
        .with(CODES)
        .with(CONSENTS)
}

/// What a spike sheds last: verifying and scanning codes and certificates,
/// and the trust and status lists verifiers need, are what citizens at a
/// gate wait on (S5). Listings and histories go first.
pub fn priority(path: &str) -> Priority {
    let method = path.rsplit('/').next().unwrap_or_default();
    match method {
        "VerifyCode" | "ScanCode" | "ShowCode" | "ShowFamilyCodes" | "VerifyCertificate"
        | "GetTrustList" | "GetStatusList" => Priority::Critical,
        _ if method.starts_with("List") => Priority::Sheddable,
        _ => Priority::Normal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_verification_is_shed_last_and_listings_first() {
        assert_eq!(
            priority("/zhongtai.certificate.v1.CodeService/VerifyCode"),
            Priority::Critical
        );
        assert_eq!(
            priority("/zhongtai.certificate.v1.CodeService/ListVenueScans"),
            Priority::Sheddable
        );
        assert_eq!(
            priority("/zhongtai.certificate.v1.CertificateService/IssueCertificate"),
            Priority::Normal
        );
    }
}
