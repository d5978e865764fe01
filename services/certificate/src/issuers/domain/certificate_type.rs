//! Certificate types: what a new type must satisfy, and how a type may
//! change once certificates of it exist (only by adding optional claims, so
//! every certificate issued before still fits its type).

use chrono::{DateTime, Duration, Utc};
use zhongtai_credential::ClaimKind;

use crate::shared::{CertificateError, CertificateType, ClaimDefinition, HolderKind};

pub const MAX_CODE_CHARS: usize = 64;
pub const MIN_CODE_CHARS: usize = 3;
pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
pub const MAX_CLAIMS: usize = 100;
pub const MAX_CLAIM_NAME_CHARS: usize = 64;
pub const MAX_VALIDITY_YEARS: i64 = 100;

/// Fields UpdateCertificateType may change.
pub const UPDATABLE_FIELDS: [&str; 5] = [
    "name",
    "description",
    "claims",
    "holder_kind",
    "default_validity",
];

/// One claim as a request states it; `kind` is `None` when unspecified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimDraft {
    pub name: String,
    pub title: String,
    pub kind: Option<ClaimKind>,
    pub required: bool,
    pub include_in_code: bool,
}

/// A certificate type as a request states it, not yet checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeDraft {
    pub code: String,
    pub name: String,
    pub description: String,
    pub claims: Vec<ClaimDraft>,
    /// `None` when unspecified.
    pub holder_kind: Option<HolderKind>,
    /// `None`: certificates do not expire unless asked to.
    pub default_validity: Option<Duration>,
}

impl TypeDraft {
    /// The type at version 1, or every violation, named under `field`
    /// (e.g. `certificate_type.claims[2].name`).
    pub fn into_type(
        self,
        field: &str,
        now: DateTime<Utc>,
    ) -> Result<CertificateType, CertificateError> {
        let mut violations = Vec::new();
        if !is_type_code(&self.code) {
            violations.push((
                format!("{field}.code"),
                format!(
                    "must be {MIN_CODE_CHARS}..{MAX_CODE_CHARS} lowercase letters, digits or hyphens"
                ),
            ));
        }
        let claims = self.checked(field, &mut violations);
        if !violations.is_empty() {
            return Err(CertificateError::Invalid(violations));
        }
        let (claims, holder_kind) = claims.ok_or_else(|| CertificateError::Invalid(Vec::new()))?;
        Ok(CertificateType {
            code: self.code,
            name: self.name.trim().to_string(),
            description: self.description,
            claims,
            holder_kind,
            default_validity: self.default_validity,
            version: 1,
            created_at: now,
            updated_at: now,
        })
    }

    /// Checks everything but the code; `None` when a violation was recorded.
    fn checked(
        &self,
        field: &str,
        violations: &mut Vec<(String, String)>,
    ) -> Option<(Vec<ClaimDefinition>, HolderKind)> {
        let before = violations.len();
        check_text(
            violations,
            &format!("{field}.name"),
            &self.name,
            MAX_NAME_CHARS,
        );
        if self.description.chars().count() > MAX_DESCRIPTION_CHARS {
            violations.push((
                format!("{field}.description"),
                format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
            ));
        }
        let claims = check_claims(violations, &format!("{field}.claims"), &self.claims);
        if self.holder_kind.is_none() {
            violations.push((
                format!("{field}.holder_kind"),
                "required: PERSON, ORGANIZATION or ANY".into(),
            ));
        }
        if let Some(validity) = self.default_validity {
            let most = Duration::days(365 * MAX_VALIDITY_YEARS + MAX_VALIDITY_YEARS / 4);
            if validity <= Duration::zero() || validity > most {
                violations.push((
                    format!("{field}.default_validity"),
                    format!(
                        "must be positive and at most {MAX_VALIDITY_YEARS} years; leave it unset for no expiry"
                    ),
                ));
            }
        }
        if violations.len() > before {
            return None;
        }
        Some((claims, self.holder_kind?))
    }
}

/// New values for the fields an update names, not yet checked.
#[derive(Debug, Clone)]
pub struct TypeUpdate {
    pub code: String,
    /// The version the client read.
    pub version: i64,
    pub paths: Vec<String>,
    /// The type as the request states it; only the named fields are used.
    pub values: TypeDraft,
}

impl TypeUpdate {
    /// Unknown or immutable fields in the mask.
    pub fn mask_violations(&self) -> Vec<(String, String)> {
        mask_violations(&self.paths, &UPDATABLE_FIELDS)
    }
}

impl CertificateType {
    /// The type with `update` applied and the fields that really changed,
    /// or every violation. Existing claims must stay as they are; new ones
    /// must be optional, so certificates already issued still fit.
    pub fn updated(
        &self,
        update: &TypeUpdate,
        now: DateTime<Utc>,
    ) -> Result<(CertificateType, Vec<String>), CertificateError> {
        let pick = |name: &str| update.paths.iter().any(|p| p == name);
        let values = &update.values;
        let draft = TypeDraft {
            code: self.code.clone(),
            name: if pick("name") {
                values.name.clone()
            } else {
                self.name.clone()
            },
            description: if pick("description") {
                values.description.clone()
            } else {
                self.description.clone()
            },
            claims: if pick("claims") {
                values.claims.clone()
            } else {
                self.claims.iter().map(ClaimDraft::from).collect()
            },
            holder_kind: if pick("holder_kind") {
                values.holder_kind
            } else {
                Some(self.holder_kind)
            },
            default_validity: if pick("default_validity") {
                values.default_validity
            } else {
                self.default_validity
            },
        };
        let mut violations = Vec::new();
        let checked = draft.checked("certificate_type", &mut violations);
        if pick("claims") {
            check_claims_only_added(&mut violations, &self.claims, &values.claims);
        }
        let (claims, holder_kind) = match checked {
            Some(checked) if violations.is_empty() => checked,
            _ => return Err(CertificateError::Invalid(violations)),
        };
        let next = CertificateType {
            name: draft.name.trim().to_string(),
            description: draft.description,
            claims,
            holder_kind,
            default_validity: draft.default_validity,
            version: self.version + 1,
            updated_at: now,
            ..self.clone()
        };
        let changed: Vec<String> = [
            ("name", next.name != self.name),
            ("description", next.description != self.description),
            ("claims", next.claims != self.claims),
            ("holder_kind", next.holder_kind != self.holder_kind),
            (
                "default_validity",
                next.default_validity != self.default_validity,
            ),
        ]
        .into_iter()
        .filter(|(_, changed)| *changed)
        .map(|(name, _)| name.to_string())
        .collect();
        Ok((next, changed))
    }
}

impl From<&ClaimDefinition> for ClaimDraft {
    fn from(claim: &ClaimDefinition) -> Self {
        Self {
            name: claim.name.clone(),
            title: claim.title.clone(),
            kind: Some(claim.kind),
            required: claim.required,
            include_in_code: claim.include_in_code,
        }
    }
}

/// `^[a-z0-9-]{3,64}$`.
pub fn is_type_code(code: &str) -> bool {
    (MIN_CODE_CHARS..=MAX_CODE_CHARS).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Lowercase snake_case starting with a letter, at most 64 characters.
pub fn is_claim_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && name.len() <= MAX_CLAIM_NAME_CHARS
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn check_claims(
    violations: &mut Vec<(String, String)>,
    field: &str,
    claims: &[ClaimDraft],
) -> Vec<ClaimDefinition> {
    if claims.is_empty() || claims.len() > MAX_CLAIMS {
        violations.push((
            field.to_string(),
            format!("must have 1..{MAX_CLAIMS} claims (got {})", claims.len()),
        ));
        return Vec::new();
    }
    let mut checked = Vec::with_capacity(claims.len());
    for (i, claim) in claims.iter().enumerate() {
        let at = format!("{field}[{i}]");
        if !is_claim_name(&claim.name) {
            violations.push((
                format!("{at}.name"),
                format!(
                    "must be lowercase snake_case starting with a letter, 1..{MAX_CLAIM_NAME_CHARS} characters"
                ),
            ));
        } else if claims[..i].iter().any(|other| other.name == claim.name) {
            violations.push((
                format!("{at}.name"),
                format!("`{}` is listed twice", claim.name),
            ));
        }
        check_text(
            violations,
            &format!("{at}.title"),
            &claim.title,
            MAX_NAME_CHARS,
        );
        let Some(kind) = claim.kind else {
            violations.push((
                format!("{at}.type"),
                "required: STRING, INTEGER, BOOLEAN, DATE or DECIMAL".into(),
            ));
            continue;
        };
        checked.push(ClaimDefinition {
            name: claim.name.clone(),
            title: claim.title.trim().to_string(),
            kind,
            required: claim.required,
            include_in_code: claim.include_in_code,
        });
    }
    checked
}

/// Every existing claim kept with its name, type and requiredness; every
/// new one optional.
fn check_claims_only_added(
    violations: &mut Vec<(String, String)>,
    existing: &[ClaimDefinition],
    proposed: &[ClaimDraft],
) {
    for claim in existing {
        let kept = proposed.iter().find(|p| p.name == claim.name);
        match kept {
            Some(p) if p.kind == Some(claim.kind) && p.required == claim.required => {}
            Some(_) => violations.push((
                format!(
                    "certificate_type.claims[{}]",
                    proposed
                        .iter()
                        .position(|p| p.name == claim.name)
                        .unwrap_or_default()
                ),
                format!(
                    "claim `{}` exists; its type and requiredness cannot change",
                    claim.name
                ),
            )),
            None => violations.push((
                "certificate_type.claims".into(),
                format!(
                    "claim `{}` exists and cannot be removed; claims may only be added",
                    claim.name
                ),
            )),
        }
    }
    for (i, claim) in proposed.iter().enumerate() {
        let is_new = !existing.iter().any(|e| e.name == claim.name);
        if is_new && claim.required {
            violations.push((
                format!("certificate_type.claims[{i}].required"),
                "a claim added to an existing type must be optional: certificates issued before do not carry it".into(),
            ));
        }
    }
}

pub(crate) fn check_text(
    violations: &mut Vec<(String, String)>,
    field: &str,
    value: &str,
    max_chars: usize,
) {
    let chars = value.trim().chars().count();
    if chars == 0 || chars > max_chars || value.chars().any(char::is_control) {
        violations.push((
            field.to_string(),
            format!("required, 1..{max_chars} characters, no control characters"),
        ));
    }
}

/// Violations of an update mask against the fields it may name.
pub(crate) fn mask_violations(paths: &[String], updatable: &[&str]) -> Vec<(String, String)> {
    if paths.is_empty() {
        return vec![(
            "update_mask".into(),
            format!("must name at least one of {}", updatable.join(", ")),
        )];
    }
    paths
        .iter()
        .enumerate()
        .filter(|(_, path)| !updatable.contains(&path.as_str()))
        .map(|(i, path)| {
            (
                format!("update_mask.paths[{i}]"),
                format!(
                    "`{}` cannot be changed; updatable: {}",
                    path.chars().take(64).collect::<String>(),
                    updatable.join(", ")
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(name: &str, kind: ClaimKind, required: bool) -> ClaimDraft {
        ClaimDraft {
            name: name.into(),
            title: name.into(),
            kind: Some(kind),
            required,
            include_in_code: false,
        }
    }

    fn draft() -> TypeDraft {
        TypeDraft {
            code: "health-certificate".into(),
            name: "健康证".into(),
            description: String::new(),
            claims: vec![claim("occupation", ClaimKind::String, true)],
            holder_kind: Some(HolderKind::Person),
            default_validity: Some(Duration::days(365)),
        }
    }

    fn fields(error: CertificateError) -> Vec<String> {
        match error {
            CertificateError::Invalid(violations) => violations.into_iter().map(|v| v.0).collect(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn a_good_draft_becomes_version_one() {
        let now = Utc::now();
        let ty = draft().into_type("certificate_type", now).unwrap();
        assert_eq!(ty.version, 1);
        assert_eq!(ty.claims[0].kind, ClaimKind::String);
        assert_eq!(ty.created_at, now);
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut bad = draft();
        bad.code = "Bad Code".into();
        bad.name = " ".into();
        bad.claims = vec![
            claim("ok_name", ClaimKind::Date, false),
            claim("ok_name", ClaimKind::Date, false),
            claim("NotSnake", ClaimKind::String, false),
            ClaimDraft {
                kind: None,
                ..claim("kindless", ClaimKind::String, false)
            },
        ];
        bad.holder_kind = None;
        bad.default_validity = Some(Duration::zero());
        assert_eq!(
            fields(bad.into_type("certificate_type", Utc::now()).unwrap_err()),
            [
                "certificate_type.code",
                "certificate_type.name",
                "certificate_type.claims[1].name",
                "certificate_type.claims[2].name",
                "certificate_type.claims[3].type",
                "certificate_type.holder_kind",
                "certificate_type.default_validity",
            ]
        );
    }

    #[test]
    fn codes_and_claim_names_have_one_shape() {
        for good in ["abc", "business-licence", "a1-2", &"x".repeat(64)] {
            assert!(is_type_code(good), "{good}");
        }
        for bad in ["ab", "Abc", "a_b", "a b", "证照类型", &"x".repeat(65)] {
            assert!(!is_type_code(bad), "{bad}");
        }
        for good in ["a", "company_name", "x1_2"] {
            assert!(is_claim_name(good), "{good}");
        }
        for bad in ["", "1a", "_a", "A", "a-b", &"a".repeat(65)] {
            assert!(!is_claim_name(bad), "{bad}");
        }
    }

    #[test]
    fn claim_limits_and_validity_limits() {
        let mut none = draft();
        none.claims.clear();
        assert_eq!(
            fields(none.into_type("t", Utc::now()).unwrap_err()),
            ["t.claims"]
        );
        let mut many = draft();
        many.claims = (0..101)
            .map(|i| claim(&format!("c{i}"), ClaimKind::Integer, false))
            .collect();
        assert_eq!(
            fields(many.into_type("t", Utc::now()).unwrap_err()),
            ["t.claims"]
        );
        let mut long = draft();
        long.default_validity = Some(Duration::days(365 * 101));
        assert_eq!(
            fields(long.into_type("t", Utc::now()).unwrap_err()),
            ["t.default_validity"]
        );
        let mut forever = draft();
        forever.default_validity = None;
        assert!(forever.into_type("t", Utc::now()).is_ok());
    }

    fn update(paths: &[&str], values: TypeDraft) -> TypeUpdate {
        TypeUpdate {
            code: values.code.clone(),
            version: 1,
            paths: paths.iter().map(|p| p.to_string()).collect(),
            values,
        }
    }

    #[test]
    fn updates_may_add_optional_claims_only() {
        let now = Utc::now();
        let ty = draft().into_type("certificate_type", now).unwrap();
        let mut added = draft();
        added
            .claims
            .push(claim("examined_on", ClaimKind::Date, false));
        let (next, changed) = ty.updated(&update(&["claims"], added), now).unwrap();
        assert_eq!(changed, ["claims"]);
        assert_eq!(next.version, 2);
        assert_eq!(next.claims.len(), 2);

        let mut required = draft();
        required
            .claims
            .push(claim("examined_on", ClaimKind::Date, true));
        assert_eq!(
            fields(ty.updated(&update(&["claims"], required), now).unwrap_err()),
            ["certificate_type.claims[1].required"]
        );
        let mut removed = draft();
        removed.claims = vec![claim("other", ClaimKind::String, false)];
        assert_eq!(
            fields(ty.updated(&update(&["claims"], removed), now).unwrap_err()),
            ["certificate_type.claims"]
        );
        let mut retyped = draft();
        retyped.claims = vec![claim("occupation", ClaimKind::Integer, true)];
        assert_eq!(
            fields(ty.updated(&update(&["claims"], retyped), now).unwrap_err()),
            ["certificate_type.claims[0]"]
        );
    }

    #[test]
    fn an_update_changes_only_named_fields() {
        let now = Utc::now();
        let ty = draft().into_type("certificate_type", now).unwrap();
        let mut values = draft();
        values.name = "从业人员健康证".into();
        values.description = "ignored: not in the mask".into();
        let (next, changed) = ty.updated(&update(&["name"], values.clone()), now).unwrap();
        assert_eq!(changed, ["name"]);
        assert_eq!(next.description, "");
        let (_, unchanged) = ty.updated(&update(&["holder_kind"], draft()), now).unwrap();
        assert!(unchanged.is_empty());
        let bad_mask = update(&["code", "name"], values);
        assert_eq!(bad_mask.mask_violations().len(), 1);
        assert_eq!(update(&[], draft()).mask_violations().len(), 1);
    }
}
