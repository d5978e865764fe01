//! Online verification: the offline check of signature, trust list and
//! validity window, then the certificate's status bits.

use zhongtai_credential::Outcome;
use zhongtai_kit::TenantId;

/// The status bits of a certificate's entry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusBits {
    pub revoked: bool,
    pub suspended: bool,
}

/// The online answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The offline check decided (valid or a failure of its own).
    Offline(Outcome),
    Revoked,
    Suspended,
}

impl Verdict {
    pub fn is_valid(self) -> bool {
        self == Self::Offline(Outcome::Valid)
    }
}

/// Whether the issuer's signature over the token was verified, so its
/// payload (and its status entry) can be trusted.
pub fn signature_verified(outcome: Outcome) -> bool {
    !matches!(outcome, Outcome::SignatureInvalid | Outcome::UntrustedKey)
}

/// Combines the offline `outcome` with the status bits. Revocation is
/// reported over expiry and not-yet-valid, being final and the stronger
/// statement; suspension only over an otherwise valid certificate.
pub fn online(outcome: Outcome, bits: StatusBits) -> Verdict {
    match outcome {
        Outcome::Valid | Outcome::Expired | Outcome::NotYetValid if bits.revoked => {
            Verdict::Revoked
        }
        Outcome::Valid if bits.suspended => Verdict::Suspended,
        other => Verdict::Offline(other),
    }
}

/// Whether the verifier may see the holder's identifiers unmasked: the
/// holder themself, or the issuing department; only for a token whose
/// signature verified (a forged payload's holder is never trusted).
pub fn may_see_holder(
    outcome: Outcome,
    holder_key: &str,
    caller_holder_key: Option<&str>,
    caller_tenant: Option<&TenantId>,
    issuer_tenant: Option<&TenantId>,
) -> bool {
    signature_verified(outcome)
        && (caller_holder_key == Some(holder_key)
            || matches!((caller_tenant, issuer_tenant), (Some(a), Some(b)) if a == b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const REVOKED: StatusBits = StatusBits {
        revoked: true,
        suspended: false,
    };
    const SUSPENDED: StatusBits = StatusBits {
        revoked: false,
        suspended: true,
    };

    #[test]
    fn status_bits_decide_only_over_a_verified_signature() {
        assert_eq!(
            online(Outcome::Valid, StatusBits::default()),
            Verdict::Offline(Outcome::Valid)
        );
        assert_eq!(online(Outcome::Valid, REVOKED), Verdict::Revoked);
        assert_eq!(online(Outcome::Expired, REVOKED), Verdict::Revoked);
        assert_eq!(online(Outcome::Valid, SUSPENDED), Verdict::Suspended);
        assert_eq!(
            online(Outcome::Expired, SUSPENDED),
            Verdict::Offline(Outcome::Expired)
        );
        for forged in [Outcome::SignatureInvalid, Outcome::UntrustedKey] {
            assert_eq!(online(forged, REVOKED), Verdict::Offline(forged));
        }
        assert!(online(Outcome::Valid, StatusBits::default()).is_valid());
    }

    #[test]
    fn only_the_holder_and_the_issuer_see_identifiers() {
        let market = TenantId::from_key("331100/market-regulation").unwrap();
        let bank = TenantId::from_key("331100/agricultural-bank").unwrap();
        let key = "org:91331100MA2A0B1C2D";
        let see = |outcome, caller_key, caller_tenant| {
            may_see_holder(outcome, key, caller_key, caller_tenant, Some(&market))
        };
        assert!(see(Outcome::Valid, Some(key), None));
        assert!(see(Outcome::Expired, None, Some(&market)));
        assert!(!see(Outcome::Valid, None, Some(&bank)));
        assert!(!see(Outcome::Valid, Some("org:other"), Some(&bank)));
        assert!(!see(Outcome::SignatureInvalid, Some(key), Some(&market)));
        assert!(!may_see_holder(
            Outcome::Valid,
            key,
            None,
            Some(&market),
            None
        ));
    }
}
