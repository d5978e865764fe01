//! Who may call which certificate-center RPC. Trust and status lists are
//! public: verifiers anywhere fetch them without an account.

use zhongtai_kit::Role;
use zhongtai_kit::auth::roles::{ADMINS, MAINTAINERS, READERS, REVIEWERS};
use zhongtai_kit::auth::{Access, AccessPolicy, ServicePolicy};

/// Apps acting for a holder (showing codes, answering consent requests).
const HOLDER_APPS: &[Role] = &[Role::Admin, Role::Operator];

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
        ("ShowCode", Access::AnyOf(HOLDER_APPS)),
        ("ShowFamilyCodes", Access::AnyOf(HOLDER_APPS)),
        ("LinkDependant", Access::AnyOf(HOLDER_APPS)),
        ("UnlinkDependant", Access::AnyOf(HOLDER_APPS)),
        ("ListDependants", Access::AnyOf(HOLDER_APPS)),
        ("IssueOfflineCode", Access::AnyOf(HOLDER_APPS)),
        ("RevokeOfflineCode", Access::AnyOf(HOLDER_APPS)),
        ("VerifyCode", Access::Authenticated),
        ("RegisterVenue", Access::AnyOf(MAINTAINERS)),
        ("GetVenue", Access::AnyOf(READERS)),
        ("ListVenues", Access::AnyOf(READERS)),
        ("ScanCode", Access::AnyOf(MAINTAINERS)),
        ("ListVenueScans", Access::AnyOf(REVIEWERS)),
        ("ListHolderScans", Access::AnyOf(REVIEWERS)),
    ],
};

const CONSENTS: ServicePolicy = ServicePolicy {
    service: "zhongtai.certificate.v1.ConsentService",
    methods: &[
        ("RequestConsent", Access::AnyOf(MAINTAINERS)),
        ("GetConsent", Access::AnyOf(READERS)),
        ("ListConsents", Access::AnyOf(READERS)),
        ("UnlockConsent", Access::AnyOf(HOLDER_APPS)),
        ("DeclineConsent", Access::AnyOf(HOLDER_APPS)),
        ("RevokeConsent", Access::AnyOf(HOLDER_APPS)),
        ("ReadConsentedData", Access::AnyOf(MAINTAINERS)),
        ("ListConsentUsage", Access::AnyOf(READERS)),
    ],
};

pub fn policy() -> AccessPolicy {
    AccessPolicy::new()
        .with(CERTIFICATES)
        .with(CODES)
        .with(CONSENTS)
}
