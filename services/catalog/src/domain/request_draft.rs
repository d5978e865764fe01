//! An access request as sent, and the rules it must follow: checked first
//! on its own (purpose, period, masking), then against the resource's
//! schema (fields, row filter), every problem reported at once.

use std::collections::HashSet;

use chrono::{DateTime, Months, SubsecRound, Utc};
use uuid::Uuid;
use zhongtai_kit::TenantId;

use super::access_request::{FieldAccess, MAX_PURPOSE_CHARS, Period};
use super::drafts::{MaskingDraft, Parsed};
use super::masking::{self, MaskingRule};
use super::resource::Resource;
use super::row_filter::{self, RowFilter};
use super::validation::{MAX_FIELDS, Violations, text_problem};

/// Longest period of use, from its start.
pub const MAX_PERIOD_MONTHS: u32 = 36;

/// A requested field as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldAccessDraft {
    pub field: String,
    pub masking: Option<MaskingDraft>,
}

/// A request as sent, not yet checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRequestDraft {
    pub request_id: String,
    pub resource_id: String,
    pub fields: Vec<FieldAccessDraft>,
    pub purpose: String,
    /// Unset starts now.
    pub start: Option<Parsed<DateTime<Utc>>>,
    pub end: Option<Parsed<DateTime<Utc>>>,
    pub row_filter: RowFilter,
    /// Unset is the requester.
    pub grantee: Option<Parsed<TenantId>>,
}

/// What the request's own text says, checked without the resource.
#[derive(Debug, Clone)]
pub struct CheckedShape {
    pub resource_id: Option<Uuid>,
    pub period: Option<Period>,
    pub grantee: Option<TenantId>,
    /// The requested masking of each field, where it is valid.
    pub masking: Vec<Option<MaskingRule>>,
}

impl AccessRequestDraft {
    /// Checks everything that does not depend on the resource.
    pub fn check_shape(&self, now: DateTime<Utc>, v: &mut Violations) -> CheckedShape {
        let resource_id = match Uuid::parse_str(&self.resource_id) {
            Ok(id) => Some(id),
            Err(_) => {
                v.add("resource_id", "must be a UUID");
                None
            }
        };
        v.check("purpose", text_problem(&self.purpose, MAX_PURPOSE_CHARS));
        if self.fields.is_empty() || self.fields.len() > MAX_FIELDS {
            v.add(
                "fields",
                format!(
                    "must name 1..{MAX_FIELDS} fields (got {})",
                    self.fields.len()
                ),
            );
        }
        let masking = self
            .fields
            .iter()
            .enumerate()
            .map(|(i, field)| match &field.masking {
                None => None,
                Some(draft) => match draft.check() {
                    Ok(rule) => Some(rule),
                    Err(problems) => {
                        for (part, problem) in problems {
                            v.add(format!("fields[{i}].masking.{part}"), problem);
                        }
                        None
                    }
                },
            })
            .collect();
        let grantee = match &self.grantee {
            None => None,
            Some(parsed) => v.parsed("grantee", parsed),
        };
        CheckedShape {
            resource_id,
            period: self.check_period(now, v),
            grantee,
            masking,
        }
    }

    fn check_period(&self, now: DateTime<Utc>, v: &mut Violations) -> Option<Period> {
        let start = match &self.start {
            None => Some(now),
            Some(parsed) => v.parsed("period.start_time", parsed),
        };
        let end = match &self.end {
            None => {
                v.add("period.end_time", "is required");
                None
            }
            Some(parsed) => v.parsed("period.end_time", parsed),
        };
        let (start, end) = (start?.trunc_subsecs(6), end?.trunc_subsecs(6));
        let latest = start.checked_add_months(Months::new(MAX_PERIOD_MONTHS));
        if end <= start {
            v.add("period.end_time", "must be after the start");
        } else if latest.is_none_or(|latest| end > latest) {
            v.add(
                "period.end_time",
                format!(
                    "must be at most {} years after the start",
                    MAX_PERIOD_MONTHS / 12
                ),
            );
        } else if end <= now {
            v.add("period.end_time", "must be in the future");
        } else {
            return Some(Period { start, end });
        }
        None
    }

    /// The fields with their effective masking, checked against the
    /// resource's schema, and the row filter's problems.
    pub fn check_against(
        &self,
        resource: &Resource,
        masking: &[Option<MaskingRule>],
        v: &mut Violations,
    ) -> Vec<FieldAccess> {
        let mut seen = HashSet::new();
        let mut fields = Vec::with_capacity(self.fields.len());
        for (i, requested) in self.fields.iter().enumerate() {
            let Some(field) = resource.details.field(&requested.field) else {
                v.add(
                    format!("fields[{i}].field"),
                    format!(
                        "`{}` is not a field of resource {}",
                        requested.field, resource.code
                    ),
                );
                continue;
            };
            if !seen.insert(field.name.as_str()) {
                v.add(
                    format!("fields[{i}].field"),
                    format!("`{}` is requested twice", field.name),
                );
                continue;
            }
            let requested_masking = masking.get(i).cloned().flatten();
            fields.push(FieldAccess {
                field: field.name.clone(),
                masking: masking::effective(
                    requested_masking.as_ref(),
                    field.default_masking.as_ref(),
                ),
            });
        }
        for (path, problem) in row_filter::problems(&self.row_filter, &resource.details) {
            v.add(format!("row_filter.{path}"), problem);
        }
        fields
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::masking::MaskingKind;
    use crate::domain::resource::{
        FieldType, OpenAttribute, ResourceDetails, ResourceField, ResourceLayer, ResourceState,
        Sensitivity, Sharing, UpdateFrequency,
    };
    use crate::domain::row_filter::{RowCondition, RowOperator};

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_750_000_000, 0).unwrap_or_default()
    }

    fn resource() -> Resource {
        let field = |name: &str, default_masking: Option<MaskingRule>| ResourceField {
            name: name.into(),
            title: String::new(),
            description: String::new(),
            field_type: FieldType::String,
            sensitivity: Sensitivity::Sensitive,
            primary_key: false,
            nullable: false,
            default_masking,
        };
        Resource {
            id: Uuid::from_u128(1),
            owner: TenantId::parse("331100", "civil-affairs").unwrap_or_else(|_| unreachable!()),
            code: "marriage-registration".into(),
            details: ResourceDetails {
                title: "婚姻登记信息".into(),
                description: String::new(),
                fields: vec![
                    field("husband_name", None),
                    field(
                        "husband_id_number",
                        Some(MaskingRule {
                            keep_last: 4,
                            ..MaskingRule::of(MaskingKind::Partial)
                        }),
                    ),
                ],
                layer: ResourceLayer::Base,
                sharing: Sharing::Conditional,
                sharing_conditions: String::new(),
                open: OpenAttribute::Closed,
                update_frequency: UpdateFrequency::Daily,
                line_id: None,
                source_table: String::new(),
                tags: Vec::new(),
            },
            state: ResourceState::Published,
            version: 1,
            created_at: now(),
            updated_at: now(),
        }
    }

    fn draft() -> AccessRequestDraft {
        AccessRequestDraft {
            request_id: "r-1".into(),
            resource_id: Uuid::from_u128(1).to_string(),
            fields: vec![
                FieldAccessDraft {
                    field: "husband_name".into(),
                    masking: None,
                },
                FieldAccessDraft {
                    field: "husband_id_number".into(),
                    masking: Some(MaskingDraft {
                        kind: Ok(MaskingKind::None),
                        keep_first: 0,
                        keep_last: 0,
                        mask_character: String::new(),
                    }),
                },
            ],
            purpose: "provident-fund loan".into(),
            start: None,
            end: Some(Ok(now() + chrono::Duration::days(365))),
            row_filter: RowFilter::default(),
            grantee: None,
        }
    }

    fn paths(v: Violations) -> Vec<String> {
        v.0.into_iter().map(|(path, _)| path).collect()
    }

    #[test]
    fn a_good_request_gets_the_stricter_masking() {
        let mut v = Violations::default();
        let shape = draft().check_shape(now(), &mut v);
        assert_eq!(shape.period.map(|p| p.start), Some(now()));
        let fields = draft().check_against(&resource(), &shape.masking, &mut v);
        assert!(v.is_empty(), "{:?}", v.0);
        assert_eq!(fields[0].masking, None);
        assert_eq!(
            fields[1].masking,
            Some(MaskingRule {
                keep_last: 4,
                ..MaskingRule::of(MaskingKind::Partial)
            })
        );
    }

    #[test]
    fn shape_problems_are_all_reported() {
        let mut bad = draft();
        bad.resource_id = "nope".into();
        bad.purpose = String::new();
        bad.end = None;
        bad.grantee = Some(Err("division code must be 6 digits".into()));
        let mut v = Violations::default();
        bad.check_shape(now(), &mut v);
        assert_eq!(
            paths(v),
            ["resource_id", "purpose", "grantee", "period.end_time"]
        );
    }

    #[test]
    fn periods_end_after_the_start_within_three_years() {
        for (end, ok) in [
            (now() - chrono::Duration::days(1), false),
            (now(), false),
            (now() + chrono::Duration::days(3 * 365), true),
            (now() + chrono::Duration::days(3 * 366 + 1), false),
        ] {
            let mut v = Violations::default();
            let request = AccessRequestDraft {
                end: Some(Ok(end)),
                ..draft()
            };
            assert_eq!(
                request.check_shape(now(), &mut v).period.is_some(),
                ok,
                "{end}"
            );
        }
    }

    #[test]
    fn unknown_and_repeated_fields_and_bad_filters_are_refused() {
        let mut bad = draft();
        bad.fields.push(FieldAccessDraft {
            field: "husband_name".into(),
            masking: None,
        });
        bad.fields.push(FieldAccessDraft {
            field: "wife_name".into(),
            masking: None,
        });
        bad.row_filter = RowFilter {
            conditions: vec![RowCondition {
                field: "district".into(),
                operator: Some(RowOperator::Equals),
                values: vec!["x".into()],
            }],
        };
        let mut v = Violations::default();
        let shape = bad.check_shape(now(), &mut v);
        bad.check_against(&resource(), &shape.masking, &mut v);
        assert_eq!(
            paths(v),
            [
                "fields[2].field",
                "fields[3].field",
                "row_filter.conditions[0].field"
            ]
        );
    }
}
