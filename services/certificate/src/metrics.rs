//! How verifications of certificates, codes and offline codes end, in the
//! process-wide Prometheus registry: the center's own results mapped onto
//! the few values dashboards and alerts use.

use std::sync::LazyLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use zhongtai_credential::{CodeKind, Outcome};
use zhongtai_telemetry::metrics::AlwaysDescribed;

use crate::certificates::domain::verdict::Verdict;
use crate::codes::domain::model::CodeOutcome;

/// What was presented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VerifiedKind {
    Certificate,
    Code,
    OfflineCode,
}

impl VerifiedKind {
    /// A code's kind as its payload names it; an unreadable presentation
    /// counts as a code.
    pub(crate) fn of_code(kind: Option<CodeKind>) -> Self {
        match kind {
            Some(CodeKind::Offline) => Self::OfflineCode,
            Some(CodeKind::Personal | CodeKind::Family) | None => Self::Code,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Certificate => "certificate",
            Self::Code => "code",
            Self::OfflineCode => "offline_code",
        }
    }
}

/// The `result` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VerificationResult {
    Valid,
    /// Forged, altered or not a presentation at all.
    Invalid,
    Revoked,
    Expired,
    /// Signed by a key the trust list does not hold, or by an issuer it
    /// does not authorise for the type: either way no trusted issuer.
    UnknownIssuer,
    /// Not yet valid, suspended.
    Other,
}

impl VerificationResult {
    fn of_offline(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Valid => Self::Valid,
            Outcome::SignatureInvalid => Self::Invalid,
            Outcome::UntrustedKey | Outcome::IssuerNotAuthorized => Self::UnknownIssuer,
            Outcome::Expired => Self::Expired,
            Outcome::NotYetValid => Self::Other,
        }
    }

    pub(crate) fn of_certificate(verdict: Verdict) -> Self {
        match verdict {
            Verdict::Offline(outcome) => Self::of_offline(outcome),
            Verdict::Revoked => Self::Revoked,
            Verdict::Suspended => Self::Other,
        }
    }

    pub(crate) fn of_code(outcome: CodeOutcome) -> Self {
        match outcome {
            CodeOutcome::Valid => Self::Valid,
            CodeOutcome::SignatureInvalid | CodeOutcome::Unreadable => Self::Invalid,
            CodeOutcome::UntrustedKey | CodeOutcome::IssuerNotAuthorized => Self::UnknownIssuer,
            CodeOutcome::Expired => Self::Expired,
            CodeOutcome::NotYetValid => Self::Other,
            CodeOutcome::Revoked => Self::Revoked,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Invalid => "invalid",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
            Self::UnknownIssuer => "unknown_issuer",
            Self::Other => "other",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerificationLabels {
    kind: String,
    result: String,
}

static VERIFICATIONS: LazyLock<Family<VerificationLabels, Counter>> = LazyLock::new(|| {
    let verifications = Family::default();
    zhongtai_telemetry::metrics::with_registry(|registry| {
        registry.register(
            "zhongtai_certificate_verifications",
            "Verifications of certificates, codes and offline codes, by result",
            AlwaysDescribed(verifications.clone()),
        );
    });
    verifications
});

/// Registers the family, so it is served before the first verification.
pub(crate) fn register() {
    LazyLock::force(&VERIFICATIONS);
}

pub(crate) fn record(kind: VerifiedKind, result: VerificationResult) {
    VERIFICATIONS
        .get_or_create(&VerificationLabels {
            kind: kind.as_str().to_string(),
            result: result.as_str().to_string(),
        })
        .inc();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_outcome_maps_to_a_contract_value() {
        let results: Vec<&str> = CodeOutcome::ALL
            .into_iter()
            .map(|outcome| VerificationResult::of_code(outcome).as_str())
            .collect();
        assert_eq!(
            results,
            [
                "valid",
                "invalid",
                "unknown_issuer",
                "expired",
                "other",
                "unknown_issuer",
                "revoked",
                "invalid"
            ]
        );
    }

    #[test]
    fn revocation_and_suspension_of_certificates_are_told_apart() {
        assert_eq!(
            VerificationResult::of_certificate(Verdict::Revoked).as_str(),
            "revoked"
        );
        assert_eq!(
            VerificationResult::of_certificate(Verdict::Suspended).as_str(),
            "other"
        );
        assert_eq!(
            VerificationResult::of_certificate(Verdict::Offline(Outcome::Expired)).as_str(),
            "expired"
        );
    }

    #[test]
    fn offline_codes_are_their_own_kind() {
        assert_eq!(
            VerifiedKind::of_code(Some(CodeKind::Offline)).as_str(),
            "offline_code"
        );
        assert_eq!(
            VerifiedKind::of_code(Some(CodeKind::Family)).as_str(),
            "code"
        );
        assert_eq!(VerifiedKind::of_code(None).as_str(), "code");
    }

    #[test]
    fn recorded_verifications_are_served_with_both_labels() {
        register();
        record(VerifiedKind::OfflineCode, VerificationResult::Revoked);
        let exposition = zhongtai_telemetry::metrics::encode();
        assert!(
            // Other tests of this binary may verify too: the sample, not its value.
            exposition.contains(
                "zhongtai_certificate_verifications_total{kind=\"offline_code\",result=\"revoked\"} "
            ),
            "{exposition}"
        );
    }
}
