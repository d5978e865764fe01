//! Issuers: departments that issue certificates with their own keys.

use chrono::{DateTime, Utc};
use uuid::Uuid;
use zhongtai_kit::TenantId;

use super::certificate_type::{check_text, is_type_code, mask_violations};
use crate::shared::CertificateError;

pub const MAX_ISSUER_NAME_CHARS: usize = 200;
pub const MAX_ISSUER_TYPES: usize = 50;

/// Fields UpdateIssuer may change.
pub const UPDATABLE_FIELDS: [&str; 3] = ["name", "certificate_types", "state"];

/// Whether an issuer may issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssuerState {
    Active,
    /// Issues nothing new; what it issued still verifies until expiry.
    Suspended,
}

impl IssuerState {
    pub const ALL: [Self; 2] = [Self::Active, Self::Suspended];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
        }
    }

    /// Inverse of [`IssuerState::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == name)
    }
}

/// An issuing department.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer {
    pub id: Uuid,
    pub tenant: TenantId,
    /// Display name, e.g. `浙江省市场监督管理局`.
    pub name: String,
    /// Type codes it may issue, in the order given.
    pub certificate_types: Vec<String>,
    pub state: IssuerState,
    /// The key signing its new certificates; `None` only for issuers made
    /// outside the API (the center always gives one).
    pub active_key_id: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Issuer {
    pub fn may_issue(&self, certificate_type: &str) -> bool {
        self.certificate_types.iter().any(|t| t == certificate_type)
    }
}

/// A new issuer as a request states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerDraft {
    pub tenant: TenantId,
    pub name: String,
    pub certificate_types: Vec<String>,
}

impl IssuerDraft {
    /// Shape checks; whether the types exist is the use case's check.
    pub fn violations(&self) -> Vec<(String, String)> {
        let mut violations = Vec::new();
        check_text(&mut violations, "name", &self.name, MAX_ISSUER_NAME_CHARS);
        check_types(&mut violations, &self.certificate_types);
        violations
    }

    /// The issuer at version 1 (its key is added by the caller).
    pub fn into_issuer(self, id: Uuid, now: DateTime<Utc>) -> Issuer {
        Issuer {
            id,
            tenant: self.tenant,
            name: self.name.trim().to_string(),
            certificate_types: self.certificate_types,
            state: IssuerState::Active,
            active_key_id: None,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    /// Whether `issuer` is what this draft creates (idempotent replay).
    pub fn matches(&self, issuer: &Issuer) -> bool {
        issuer.tenant == self.tenant
            && issuer.name == self.name.trim()
            && issuer.certificate_types == self.certificate_types
    }
}

/// New values for the fields an update names, not yet checked.
#[derive(Debug, Clone)]
pub struct IssuerUpdate {
    pub id: String,
    pub version: i64,
    pub paths: Vec<String>,
    pub name: String,
    pub certificate_types: Vec<String>,
    /// `None` when unspecified.
    pub state: Option<IssuerState>,
}

impl IssuerUpdate {
    pub fn mask_violations(&self) -> Vec<(String, String)> {
        mask_violations(&self.paths, &UPDATABLE_FIELDS)
    }

    pub fn names(&self, field: &str) -> bool {
        self.paths.iter().any(|p| p == field)
    }
}

impl Issuer {
    /// The issuer with `update` applied and the fields that really changed,
    /// or every violation (as `issuer.<field>`).
    pub fn updated(
        &self,
        update: &IssuerUpdate,
        now: DateTime<Utc>,
    ) -> Result<(Issuer, Vec<String>), CertificateError> {
        let mut violations = Vec::new();
        let mut next = self.clone();
        if update.names("name") {
            check_text(
                &mut violations,
                "issuer.name",
                &update.name,
                MAX_ISSUER_NAME_CHARS,
            );
            next.name = update.name.trim().to_string();
        }
        if update.names("certificate_types") {
            let mut type_violations = Vec::new();
            check_types(&mut type_violations, &update.certificate_types);
            violations.extend(
                type_violations
                    .into_iter()
                    .map(|(field, problem)| (format!("issuer.{field}"), problem)),
            );
            next.certificate_types = update.certificate_types.clone();
        }
        if update.names("state") {
            match update.state {
                Some(state) => next.state = state,
                None => violations.push((
                    "issuer.state".into(),
                    "required: ACTIVE or SUSPENDED".into(),
                )),
            }
        }
        if !violations.is_empty() {
            return Err(CertificateError::Invalid(violations));
        }
        let changed: Vec<String> = [
            ("name", next.name != self.name),
            (
                "certificate_types",
                next.certificate_types != self.certificate_types,
            ),
            ("state", next.state != self.state),
        ]
        .into_iter()
        .filter(|(_, changed)| *changed)
        .map(|(name, _)| name.to_string())
        .collect();
        if !changed.is_empty() {
            next.version += 1;
            next.updated_at = now;
        }
        Ok((next, changed))
    }
}

/// 1..50 type codes of the right shape, none twice (`certificate_types[i]`).
fn check_types(violations: &mut Vec<(String, String)>, types: &[String]) {
    if types.is_empty() || types.len() > MAX_ISSUER_TYPES {
        violations.push((
            "certificate_types".into(),
            format!(
                "must list 1..{MAX_ISSUER_TYPES} certificate types (got {})",
                types.len()
            ),
        ));
        return;
    }
    for (i, code) in types.iter().enumerate() {
        if !is_type_code(code) {
            violations.push((
                format!("certificate_types[{i}]"),
                "is not a certificate type code".into(),
            ));
        } else if types[..i].contains(code) {
            violations.push((
                format!("certificate_types[{i}]"),
                format!("`{code}` is listed twice"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> IssuerDraft {
        IssuerDraft {
            tenant: TenantId::from_key("331100/market-regulation").unwrap(),
            name: "丽水市市场监督管理局".into(),
            certificate_types: vec!["business-licence".into()],
        }
    }

    fn fields(violations: &[(String, String)]) -> Vec<&str> {
        violations.iter().map(|v| v.0.as_str()).collect()
    }

    #[test]
    fn state_names_round_trip() {
        for state in IssuerState::ALL {
            assert_eq!(IssuerState::from_name(state.as_str()), Some(state));
        }
        assert_eq!(IssuerState::Suspended.as_str(), "suspended");
        assert_eq!(IssuerState::from_name("ACTIVE"), None);
        assert_eq!(IssuerState::from_name("revoked"), None);
    }

    #[test]
    fn drafts_are_checked_field_by_field() {
        assert!(draft().violations().is_empty());
        let mut bad = draft();
        bad.name = "x".repeat(201);
        bad.certificate_types = vec!["ok-type".into(), "Bad".into(), "ok-type".into()];
        assert_eq!(
            fields(&bad.violations()),
            ["name", "certificate_types[1]", "certificate_types[2]"]
        );
        let mut none = draft();
        none.certificate_types.clear();
        assert_eq!(fields(&none.violations()), ["certificate_types"]);
        let mut many = draft();
        many.certificate_types = (0..51).map(|i| format!("type-{i}")).collect();
        assert_eq!(fields(&many.violations()), ["certificate_types"]);
    }

    #[test]
    fn a_replay_matches_only_the_same_request() {
        let issuer = draft().into_issuer(Uuid::nil(), Utc::now());
        assert!(draft().matches(&issuer));
        let mut other = draft();
        other.name = "另一个".into();
        assert!(!other.matches(&issuer));
    }

    #[test]
    fn updates_change_named_fields_and_count_versions() {
        let issuer = draft().into_issuer(Uuid::nil(), Utc::now());
        let update = IssuerUpdate {
            id: issuer.id.to_string(),
            version: 1,
            paths: vec!["state".into()],
            name: "ignored".into(),
            certificate_types: Vec::new(),
            state: Some(IssuerState::Suspended),
        };
        let (next, changed) = issuer.updated(&update, Utc::now()).unwrap();
        assert_eq!(changed, ["state"]);
        assert_eq!(next.version, 2);
        assert_eq!(next.name, issuer.name);
        let same = IssuerUpdate {
            state: Some(IssuerState::Active),
            ..update.clone()
        };
        let (unchanged, none) = issuer.updated(&same, Utc::now()).unwrap();
        assert!(none.is_empty());
        assert_eq!(unchanged.version, 1);
        let bad = IssuerUpdate {
            paths: vec!["certificate_types".into(), "state".into()],
            state: None,
            ..update
        };
        match issuer.updated(&bad, Utc::now()) {
            Err(CertificateError::Invalid(v)) => {
                assert_eq!(fields(&v), ["issuer.certificate_types", "issuer.state"])
            }
            other => panic!("{other:?}"),
        }
    }
}
