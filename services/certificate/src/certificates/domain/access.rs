//! Who may issue and change certificates, and who may read them.

use zhongtai_kit::auth::roles::MAINTAINERS;
use zhongtai_kit::{Caller, TenantId};

use crate::shared::{CertificateError, CertificateRecord, caller_holder_key};

/// Issuing and status changes are the issuing department's: an operator or
/// admin acting for the issuer's tenant.
pub fn require_issuer_staff(
    caller: &Caller,
    issuer_tenant: &TenantId,
    target: &str,
) -> Result<(), CertificateError> {
    if caller.tenant == *issuer_tenant && caller.has_any_role(MAINTAINERS) {
        return Ok(());
    }
    Err(CertificateError::Denied {
        reason: "NOT_ISSUER_STAFF",
        target: target.to_string(),
        message: format!(
            "only an operator or admin of {issuer_tenant} may issue or change its certificates; {} acts for {}",
            caller.subject, caller.tenant
        ),
    })
}

/// A certificate is readable by its holder and by readers whose scope
/// covers the issuing department.
pub fn may_read(caller: &Caller, record: &CertificateRecord) -> bool {
    caller_holder_key(caller) == Some(record.holder.key().as_str())
        || caller.read_scope().permits(&record.issuer_tenant)
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use uuid::Uuid;
    use zhongtai_credential::{Holder, IdDocumentType};
    use zhongtai_kit::Role;

    use super::*;
    use crate::shared::{CertificateStatus, StatusEntry};

    fn market() -> TenantId {
        TenantId::from_key("331100/market-regulation").unwrap()
    }

    #[test]
    fn staff_of_the_issuer_with_a_maintaining_role_only() {
        let operator = Caller::new("op", market(), &[Role::Operator]);
        assert!(require_issuer_staff(&operator, &market(), "c").is_ok());
        let viewer = Caller::new("v", market(), &[Role::Viewer]);
        assert!(require_issuer_staff(&viewer, &market(), "c").is_err());
        let other = Caller::new(
            "op",
            TenantId::from_key("331100/health").unwrap(),
            &[Role::Admin],
        );
        assert!(matches!(
            require_issuer_staff(&other, &market(), "c"),
            Err(CertificateError::Denied { .. })
        ));
    }

    #[test]
    fn holders_and_the_issuers_readers_may_read() {
        let now = Utc::now();
        let holder = Holder::Person {
            name: "张三".into(),
            id_type: IdDocumentType::ResidentIdCard,
            id_number: "33110019900101123X".into(),
        };
        let record = CertificateRecord {
            id: Uuid::now_v7(),
            serial_number: "s".into(),
            certificate_type: "health-certificate".into(),
            issuer_id: Uuid::now_v7(),
            issuer_tenant: market(),
            key_id: "k".into(),
            holder: holder.clone(),
            claims: Vec::new(),
            issued_at: now,
            valid_from: now,
            valid_until: None,
            status: CertificateStatus::Valid,
            status_reason: String::new(),
            status_entry: StatusEntry {
                group: "1".into(),
                index: 1,
            },
            token: String::new(),
            application_id: None,
            version: 1,
            updated_at: now,
        };
        let citizen =
            |key: &str| Caller::new(key, TenantId::parse("331100", "").unwrap(), &[Role::Viewer]);
        assert!(may_read(&citizen(&holder.key()), &record));
        assert!(!may_read(
            &citizen("person:resident-id-card:330102199001011234"),
            &record
        ));
        assert!(may_read(
            &Caller::new("v", market(), &[Role::Viewer]),
            &record
        ));
    }
}
