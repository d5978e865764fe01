//! Callers who are holders. A citizen signs in to a micro app with a token
//! whose subject is their holder key, `person:<id-type>:<id-number>` (the
//! form `zhongtai_credential::Holder::key` produces), e.g.
//! `person:resident-id-card:330102199001011234`. Holder-facing calls (show a
//! code, link a dependant, unlock a consent as the holder) act for that
//! person and nobody else.

use zhongtai_kit::Caller;

use super::error::CertificateError;

/// The holder key of a caller who signed in as a person.
pub fn caller_holder_key(caller: &Caller) -> Option<&str> {
    let subject = caller.subject.as_str();
    let mut parts = subject.splitn(3, ':');
    let valid = parts.next() == Some("person")
        && parts.next().is_some_and(|id_type| {
            zhongtai_credential::IdDocumentType::from_name(id_type).is_some()
        })
        && parts.next().is_some_and(|number| !number.is_empty());
    valid.then_some(subject)
}

/// As [`caller_holder_key`], or PERMISSION_DENIED for callers who are not a
/// person.
pub fn require_holder(caller: &Caller) -> Result<&str, CertificateError> {
    caller_holder_key(caller).ok_or_else(|| CertificateError::Denied {
        reason: "NOT_A_HOLDER",
        target: caller.subject.clone(),
        message: "only a holder signed in as a person (subject `person:<id-type>:<id-number>`) may do this".into(),
    })
}

#[cfg(test)]
mod tests {
    use zhongtai_kit::{Role, TenantId};

    use super::*;

    fn caller(subject: &str) -> Caller {
        Caller::new(
            subject,
            TenantId::parse("331100", "").unwrap_or_else(|_| unreachable!()),
            &[Role::Viewer],
        )
    }

    #[test]
    fn only_person_subjects_are_holders() {
        let key = "person:resident-id-card:330102199001011234";
        assert_eq!(caller_holder_key(&caller(key)), Some(key));
        for subject in [
            "alice",
            "person:",
            "person:resident-id-card:",
            "person:library-card:123",
            "org:91330000MA0000000X",
        ] {
            assert_eq!(caller_holder_key(&caller(subject)), None, "{subject}");
        }
        assert!(require_holder(&caller("alice")).is_err());
    }
}
