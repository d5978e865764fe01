//! Who may backflow to whom, and the ids a rule's line and subscription
//! take.

use sha2::{Digest, Sha256};
use uuid::Uuid;
use zhongtai_kit::TenantId;

/// Whether `target` lies strictly within `source`'s division: a county
/// within its city (331121 under 331100), a city within its province. The
/// department does not matter; the same division never qualifies.
pub fn is_child_tenant(source: &TenantId, target: &TenantId) -> bool {
    source.division != target.division && source.division.contains(&target.division)
}

/// A stable id derived from `parent` and `label`, so a retried request
/// names the same objects as the first attempt.
pub fn derived_id(parent: Uuid, label: &[u8]) -> Uuid {
    let mut hasher = Sha256::new();
    hasher.update(parent.as_bytes());
    hasher.update(label);
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// The rule id of a request: one rule per (enclave, request id).
pub fn rule_id(enclave_id: Uuid, request_id: &str) -> Uuid {
    derived_id(enclave_id, request_id.as_bytes())
}

/// `backflow-<rule id without hyphens>`.
pub fn line_name(rule_id: Uuid) -> String {
    let mut name = format!("backflow-{}", rule_id.simple());
    name.truncate(64);
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(key: &str) -> TenantId {
        TenantId::from_key(key).expect("tenant")
    }

    #[test]
    fn only_strict_children_qualify() {
        let city = tenant("331100/data-bureau");
        assert!(is_child_tenant(&city, &tenant("331121")));
        assert!(is_child_tenant(&city, &tenant("331121/data-bureau")));
        assert!(!is_child_tenant(&city, &tenant("331100/other")));
        assert!(!is_child_tenant(&city, &tenant("331200")));
        assert!(!is_child_tenant(&tenant("331121"), &city));
        assert!(is_child_tenant(&tenant("330000"), &city));
    }

    #[test]
    fn derived_ids_are_stable_and_distinct() {
        let rule = Uuid::new_v4();
        assert_eq!(derived_id(rule, b"line"), derived_id(rule, b"line"));
        assert_ne!(derived_id(rule, b"line"), derived_id(rule, b"subscription"));
        assert_ne!(rule_id(rule, "a"), rule_id(rule, "b"));
        assert!(line_name(rule).len() <= 64);
    }
}
