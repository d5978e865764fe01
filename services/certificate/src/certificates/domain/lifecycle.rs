//! Revocation, suspension and reinstatement: which status changes are
//! allowed, and which status lists each one touches.

use chrono::{DateTime, Utc};

use super::lists::ListPurpose;
use crate::shared::{CertificateError, CertificateRecord, CertificateStatus};

/// Longest reason accepted, in characters.
pub const MAX_REASON_CHARS: usize = 2000;

/// A status change asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusAction {
    Revoke,
    Suspend,
    Reinstate,
}

impl StatusAction {
    /// The audit action name.
    pub fn audit_action(self) -> &'static str {
        match self {
            Self::Revoke => "certificate.certificate.revoke",
            Self::Suspend => "certificate.certificate.suspend",
            Self::Reinstate => "certificate.certificate.reinstate",
        }
    }
}

/// What an action does to a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// It is already where the action would take it: nothing is written.
    Unchanged,
    /// The certificate as it becomes, and the lists whose bits change, in
    /// the order their rows are locked (revocation first).
    Changed {
        record: Box<CertificateRecord>,
        lists: Vec<ListPurpose>,
    },
}

/// Applies `action` to `record` at `now`. Revocation is final (revoking
/// again changes nothing, suspending or reinstating is refused); an expired
/// certificate may still be revoked, but not suspended or reinstated.
pub fn transition(
    record: &CertificateRecord,
    action: StatusAction,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Transition, CertificateError> {
    let current = record.status_at(now);
    let (status, lists) = match (action, current) {
        (StatusAction::Revoke, CertificateStatus::Revoked)
        | (StatusAction::Suspend, CertificateStatus::Suspended)
        | (StatusAction::Reinstate, CertificateStatus::Valid) => return Ok(Transition::Unchanged),
        (StatusAction::Suspend | StatusAction::Reinstate, CertificateStatus::Revoked) => {
            return Err(CertificateError::FailedPrecondition(format!(
                "certificate {} is revoked, which is final",
                record.id
            )));
        }
        (StatusAction::Suspend | StatusAction::Reinstate, CertificateStatus::Expired) => {
            return Err(CertificateError::FailedPrecondition(format!(
                "certificate {} has expired, which is final",
                record.id
            )));
        }
        (StatusAction::Revoke, _) => {
            let mut lists = vec![ListPurpose::Revocation];
            // A suspended certificate's suspension bit is cleared as it is
            // revoked: each list's bits are exactly the certificates in its
            // status.
            if record.status == CertificateStatus::Suspended {
                lists.push(ListPurpose::Suspension);
            }
            (CertificateStatus::Revoked, lists)
        }
        (StatusAction::Suspend, _) => (CertificateStatus::Suspended, vec![ListPurpose::Suspension]),
        (StatusAction::Reinstate, _) => (CertificateStatus::Valid, vec![ListPurpose::Suspension]),
    };
    let mut changed = record.clone();
    changed.status = status;
    changed.status_reason = reason.to_string();
    changed.version += 1;
    changed.updated_at = now;
    Ok(Transition::Changed {
        record: Box::new(changed),
        lists,
    })
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use uuid::Uuid;
    use zhongtai_credential::Holder;
    use zhongtai_kit::TenantId;

    use super::*;
    use crate::shared::StatusEntry;

    fn certificate(status: CertificateStatus) -> CertificateRecord {
        let now = Utc::now();
        CertificateRecord {
            id: Uuid::now_v7(),
            serial_number: "2026-00000001".into(),
            certificate_type: "business-licence".into(),
            issuer_id: Uuid::now_v7(),
            issuer_tenant: TenantId::from_key("331100/market-regulation").unwrap(),
            key_id: "k".into(),
            holder: Holder::Organization {
                name: "x".into(),
                unified_social_credit_code: "91331100MA2A0B1C2D".into(),
            },
            claims: Vec::new(),
            issued_at: now,
            valid_from: now,
            valid_until: Some(now + Duration::days(1)),
            status,
            status_reason: String::new(),
            status_entry: StatusEntry {
                group: "1".into(),
                index: 3,
            },
            token: String::new(),
            application_id: None,
            version: 4,
            updated_at: now,
        }
    }

    fn changed(transition: Transition) -> (CertificateRecord, Vec<ListPurpose>) {
        match transition {
            Transition::Changed { record, lists } => (*record, lists),
            Transition::Unchanged => panic!("expected a change"),
        }
    }

    #[test]
    fn each_action_moves_to_its_status_and_touches_its_lists() {
        let now = Utc::now();
        let valid = certificate(CertificateStatus::Valid);
        let (revoked, lists) =
            changed(transition(&valid, StatusAction::Revoke, "吊销", now).unwrap());
        assert_eq!(revoked.status, CertificateStatus::Revoked);
        assert_eq!(revoked.status_reason, "吊销");
        assert_eq!(revoked.version, 5);
        assert_eq!(lists, [ListPurpose::Revocation]);

        let (suspended, lists) =
            changed(transition(&valid, StatusAction::Suspend, "核查", now).unwrap());
        assert_eq!(suspended.status, CertificateStatus::Suspended);
        assert_eq!(lists, [ListPurpose::Suspension]);

        let (reinstated, lists) =
            changed(transition(&suspended, StatusAction::Reinstate, "核查完毕", now).unwrap());
        assert_eq!(reinstated.status, CertificateStatus::Valid);
        assert_eq!(lists, [ListPurpose::Suspension]);

        let (_, lists) =
            changed(transition(&suspended, StatusAction::Revoke, "吊销", now).unwrap());
        assert_eq!(lists, [ListPurpose::Revocation, ListPurpose::Suspension]);
    }

    #[test]
    fn repeats_change_nothing_and_final_states_refuse() {
        let now = Utc::now();
        let revoked = certificate(CertificateStatus::Revoked);
        assert_eq!(
            transition(&revoked, StatusAction::Revoke, "again", now).unwrap(),
            Transition::Unchanged
        );
        for action in [StatusAction::Suspend, StatusAction::Reinstate] {
            assert!(matches!(
                transition(&revoked, action, "x", now),
                Err(CertificateError::FailedPrecondition(_))
            ));
        }
        let suspended = certificate(CertificateStatus::Suspended);
        assert_eq!(
            transition(&suspended, StatusAction::Suspend, "again", now).unwrap(),
            Transition::Unchanged
        );
        assert_eq!(
            transition(
                &certificate(CertificateStatus::Valid),
                StatusAction::Reinstate,
                "x",
                now
            )
            .unwrap(),
            Transition::Unchanged
        );
        let later = now + Duration::days(2);
        assert!(matches!(
            transition(&suspended, StatusAction::Reinstate, "x", later),
            Err(CertificateError::FailedPrecondition(_))
        ));
        let (expired_revoked, _) = changed(
            transition(
                &certificate(CertificateStatus::Valid),
                StatusAction::Revoke,
                "x",
                later,
            )
            .unwrap(),
        );
        assert_eq!(expired_revoked.status, CertificateStatus::Revoked);
    }
}
