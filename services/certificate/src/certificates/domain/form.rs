//! Claims from an approved application's form: each claim of the
//! certificate type takes the form field of the same name; other fields
//! are the application's own business.

use std::collections::BTreeMap;

use zhongtai_credential::{Claim, ClaimValue};

use crate::shared::CertificateType;

/// A form value as the approval center records it (a JSON value).
#[derive(Debug, Clone, PartialEq)]
pub enum FormValue {
    Text(String),
    Number(f64),
    Bool(bool),
    /// Null: the same as an absent field.
    Empty,
    /// A list or an object: no claim takes one.
    Nested,
}

impl FormValue {
    /// The text form claims are parsed from.
    fn text(&self) -> Option<String> {
        match self {
            Self::Text(text) => Some(text.clone()),
            // Whole numbers (within 2^53, exact in a JSON number) are
            // written without a fraction, so integer claims parse.
            Self::Number(n) if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 => {
                Some(format!("{n:.0}"))
            }
            Self::Number(n) if n.is_finite() => Some(n.to_string()),
            Self::Bool(b) => Some(b.to_string()),
            Self::Number(_) | Self::Empty | Self::Nested => None,
        }
    }
}

/// The claims `form` yields for `certificate_type`, or why it does not fit
/// (one sentence per field). Whether required claims are all present is
/// left to the issuing rules, which say so with the other problems.
pub fn claims_from_form(
    certificate_type: &CertificateType,
    form: &BTreeMap<String, FormValue>,
) -> Result<Vec<Claim>, Vec<String>> {
    let mut claims = Vec::new();
    let mut problems = Vec::new();
    for definition in &certificate_type.claims {
        let Some(value) = form.get(&definition.name) else {
            continue;
        };
        if *value == FormValue::Empty {
            continue;
        }
        let Some(text) = value.text() else {
            problems.push(format!(
                "form field {:?} holds no value a {} claim can take",
                definition.name, definition.kind
            ));
            continue;
        };
        match ClaimValue::parse(definition.kind, &definition.name, &text) {
            Ok(value) => claims.push(Claim {
                name: definition.name.clone(),
                value,
            }),
            Err(error) => problems.push(format!("form field {}", error)),
        }
    }
    if problems.is_empty() {
        Ok(claims)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use zhongtai_credential::ClaimKind;

    use super::*;
    use crate::shared::{ClaimDefinition, HolderKind};

    fn licence() -> CertificateType {
        let claim = |name: &str, kind| ClaimDefinition {
            name: name.into(),
            title: name.into(),
            kind,
            required: false,
            include_in_code: false,
        };
        CertificateType {
            code: "business-licence".into(),
            name: "营业执照".into(),
            description: String::new(),
            claims: vec![
                claim("company_name", ClaimKind::String),
                claim("employees", ClaimKind::Integer),
                claim("registered_capital", ClaimKind::Decimal),
                claim("established_on", ClaimKind::Date),
                claim("foreign_invested", ClaimKind::Boolean),
            ],
            holder_kind: HolderKind::Organization,
            default_validity: None,
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn form(fields: &[(&str, FormValue)]) -> BTreeMap<String, FormValue> {
        fields
            .iter()
            .map(|(name, value)| (name.to_string(), value.clone()))
            .collect()
    }

    #[test]
    fn fields_map_to_claims_by_name_and_kind() {
        let claims = claims_from_form(
            &licence(),
            &form(&[
                ("company_name", FormValue::Text("青瓷".into())),
                ("employees", FormValue::Number(12.0)),
                ("registered_capital", FormValue::Number(1000.5)),
                ("established_on", FormValue::Text("2026-05-01".into())),
                ("foreign_invested", FormValue::Bool(false)),
                ("contact_phone", FormValue::Text("13800000000".into())),
                ("note", FormValue::Empty),
            ]),
        )
        .unwrap();
        assert_eq!(
            claims.iter().map(|c| &c.value).collect::<Vec<_>>(),
            [
                &ClaimValue::String("青瓷".into()),
                &ClaimValue::Integer(12),
                &ClaimValue::Decimal("1000.5".into()),
                &ClaimValue::Date("2026-05-01".into()),
                &ClaimValue::Boolean(false),
            ]
        );
    }

    #[test]
    fn values_that_do_not_fit_are_each_named() {
        let problems = claims_from_form(
            &licence(),
            &form(&[
                ("employees", FormValue::Number(1.5)),
                ("established_on", FormValue::Text("May 1st".into())),
                ("company_name", FormValue::Nested),
            ]),
        )
        .unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("employees")));
    }
}
