//! Delivery policies: the projection, masking and row filter a grant (or a
//! backflow rule) imposes on every change a subscriber receives. Pure: the
//! same rules evaluate the same way at every enforcement point.
//!
//! # Projection and masking
//! `before` and `after` keep only the granted fields (no fields granted
//! means every column, unmasked). Each kept value is masked on its textual
//! form ([`Value::text`]):
//! - PARTIAL keeps `keep_first` leading and `keep_last` trailing characters
//!   (characters, not bytes, so Chinese names mask as people read them) and
//!   replaces the others with `mask_character`, preserving the length; when
//!   nothing lies between the kept ends nothing is replaced;
//! - REDACT replaces every character;
//! - HASH gives the lowercase hex HMAC-SHA256 of the text under the grant's
//!   [`hash_key`]: equal values stay joinable without being readable;
//! - NULLIFY delivers NULL.
//!
//! A masked value is always delivered as text, so a column keeps one type
//! for the receiver whatever the row. NULL and unchanged values stay as
//! they are: there is nothing to disguise.
//!
//! # Keys
//! Receivers apply updates and deletes by key, so every key column is
//! delivered in `key`: as it is when granted unmasked, otherwise HASH-masked
//! (a PARTIAL mask would make distinct keys collide), so the subscriber can
//! match rows without learning the value.
//!
//! # Row filter
//! A row is admitted when every condition holds. A missing, NULL or
//! unchanged value satisfies no operator. EQUALS, NOT_EQUALS and IN compare
//! text exactly, and typed values (numbers, dates, timestamps) by value;
//! GREATER_OR_EQUAL and LESS_THAN compare numbers numerically when both
//! sides parse as numbers, dates and timestamps by time, anything else by
//! code point; PREFIX tests the leading text; WITHIN_DIVISION treats the
//! trailing `00` pairs of a six-digit division code as wildcards (`330000`
//! admits every `33xxxx`, `331100` admits `3311xx`, `331121` only itself).
//! The filter sees the row before projection: a subscriber may be filtered
//! on a field it is not granted.
//!
//! # Operations
//! - INSERT and SNAPSHOT rows the filter does not admit are filtered out.
//! - An UPDATE whose new row is admitted is delivered as an update. One
//!   whose new row is not admitted is filtered out when the old row is known
//!   and was not admitted either; otherwise the row left the subscriber's
//!   slice (or may have) and a DELETE of its key is delivered.
//! - A DELETE is filtered out when the old row is known and was not
//!   admitted; otherwise it is delivered (key, and the projected old row).
//!
//! The old row counts as known only when it carries every field the filter
//! names: a source that sends only the key of an old row (PostgreSQL's
//! default replica identity) cannot prove the row was outside the slice, so
//! the delete is delivered, which a receiver without the row ignores.

use std::cmp::Ordering;

use chrono::{DateTime, NaiveDate, Utc};
use ring::hmac;
use serde::{Deserialize, Serialize};

use super::change::{Change, Column, Operation, Value, column};

/// How one field's values are disguised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskingKind {
    None,
    /// Keep `keep_first` leading and `keep_last` trailing characters.
    Partial,
    /// Every character replaced.
    Redact,
    /// Lowercase hex HMAC-SHA256 keyed per grant: joinable, not readable.
    Hash,
    /// Delivered as NULL.
    Nullify,
}

/// A masking rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaskingRule {
    pub kind: MaskingKind,
    pub keep_first: u32,
    pub keep_last: u32,
    /// A single character; `*` by default.
    pub mask_character: char,
}

impl MaskingRule {
    pub fn none() -> Self {
        Self {
            kind: MaskingKind::None,
            keep_first: 0,
            keep_last: 0,
            mask_character: '*',
        }
    }
}

/// One granted field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldAccess {
    pub field: String,
    pub masking: MaskingRule,
}

/// Comparison of a row condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowOperator {
    Equals,
    NotEquals,
    In,
    GreaterOrEqual,
    LessThan,
    Prefix,
    WithinDivision,
}

/// One condition on one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowCondition {
    pub field: String,
    pub operator: RowOperator,
    pub values: Vec<String>,
}

/// The conjunction of its conditions; empty admits every row.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RowFilter {
    pub conditions: Vec<RowCondition>,
}

/// What a subscriber may receive.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeliveryPolicy {
    /// Granted fields with their masking; empty means every column
    /// unmasked (a line within one tenant, a backflow rule without fields).
    pub fields: Vec<FieldAccess>,
    pub row_filter: RowFilter,
}

/// What a policy makes of one change for one subscriber.
// Consumed as soon as it is made; boxing the change would cost an
// allocation per change and subscriber for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Projected {
    /// Deliver this (projected, masked) change.
    Deliver(Change),
    /// The row filter excludes it: nothing is delivered, by design.
    FilteredOut,
}

impl MaskingRule {
    /// `value` as this rule lets a subscriber see it.
    pub fn mask(&self, value: &Value, hash_key: &[u8; 32]) -> Value {
        if self.kind == MaskingKind::None {
            return value.clone();
        }
        let Some(text) = value.text() else {
            return value.clone();
        };
        match self.kind {
            MaskingKind::None => value.clone(),
            MaskingKind::Partial => Value::Text(self.partial(&text)),
            MaskingKind::Redact => Value::Text(
                std::iter::repeat_n(self.mask_character, text.chars().count()).collect(),
            ),
            MaskingKind::Hash => Value::Text(keyed_hash(hash_key, &text)),
            MaskingKind::Nullify => Value::Null,
        }
    }

    fn partial(&self, text: &str) -> String {
        let length = text.chars().count();
        let keep_first = self.keep_first as usize;
        let keep_last = self.keep_last as usize;
        if keep_first.saturating_add(keep_last) >= length {
            return text.to_owned();
        }
        text.chars()
            .enumerate()
            .map(|(i, c)| {
                if i < keep_first || i >= length - keep_last {
                    c
                } else {
                    self.mask_character
                }
            })
            .collect()
    }
}

/// The per-grant (or per-rule) key of HASH masking:
/// HMAC-SHA256(masking key, `zhongtai-mask:` + scope id). Each grant hashes
/// differently, so two subscribers cannot join their hashed values.
pub fn hash_key(masking_key: &[u8], scope: &str) -> [u8; 32] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, masking_key);
    let tag = hmac::sign(&key, format!("zhongtai-mask:{scope}").as_bytes());
    let mut derived = [0u8; 32];
    derived.copy_from_slice(tag.as_ref());
    derived
}

/// Lowercase hex HMAC-SHA256 of `text` under `hash_key`.
fn keyed_hash(hash_key: &[u8; 32], text: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, hash_key);
    hex::encode(hmac::sign(&key, text.as_bytes()).as_ref())
}

impl DeliveryPolicy {
    /// The change as the subscriber may see it. `hash_key` keys HASH
    /// masking (see [`hash_key`]). Routing (`subscription_id`, `grant_id`)
    /// is left to the caller.
    pub fn apply(&self, change: &Change, hash_key: &[u8; 32]) -> Projected {
        match change.operation {
            Operation::Insert | Operation::Snapshot => {
                if self.admits(&change.after) {
                    Projected::Deliver(self.project(change, hash_key))
                } else {
                    Projected::FilteredOut
                }
            }
            Operation::Update => {
                let after = with_unchanged_from(&change.after, &change.before);
                if self.admits(&after) {
                    Projected::Deliver(self.project(change, hash_key))
                } else if self.knows(&change.before) && !self.admits(&change.before) {
                    Projected::FilteredOut
                } else {
                    Projected::Deliver(self.key_delete(change, hash_key))
                }
            }
            Operation::Delete => {
                if self.knows(&change.before) && !self.admits(&change.before) {
                    Projected::FilteredOut
                } else {
                    Projected::Deliver(self.project(change, hash_key))
                }
            }
        }
    }

    /// Whether a row (its columns) is admitted by the row filter.
    pub fn admits(&self, row: &[Column]) -> bool {
        self.row_filter
            .conditions
            .iter()
            .all(|condition| condition.holds(row))
    }

    /// Whether `row` carries every field the row filter names, so the
    /// filter can judge it.
    fn knows(&self, row: &[Column]) -> bool {
        !row.is_empty()
            && self
                .row_filter
                .conditions
                .iter()
                .all(|condition| column(row, &condition.field).is_some())
    }

    fn project(&self, change: &Change, hash_key: &[u8; 32]) -> Change {
        Change {
            key: self.project_key(&change.key, hash_key),
            before: self.project_row(&change.before, hash_key),
            after: self.project_row(&change.after, hash_key),
            ..change.clone()
        }
    }

    fn key_delete(&self, change: &Change, hash_key: &[u8; 32]) -> Change {
        Change {
            operation: Operation::Delete,
            key: self.project_key(&change.key, hash_key),
            before: Vec::new(),
            after: Vec::new(),
            ..change.clone()
        }
    }

    fn access(&self, field: &str) -> Option<&FieldAccess> {
        self.fields.iter().find(|access| access.field == field)
    }

    fn project_row(&self, row: &[Column], hash_key: &[u8; 32]) -> Vec<Column> {
        if self.fields.is_empty() {
            return row.to_vec();
        }
        row.iter()
            .filter_map(|col| {
                let access = self.access(&col.name)?;
                Some(Column::new(
                    col.name.clone(),
                    access.masking.mask(&col.value, hash_key),
                ))
            })
            .collect()
    }

    fn project_key(&self, key: &[Column], hash_key: &[u8; 32]) -> Vec<Column> {
        if self.fields.is_empty() {
            return key.to_vec();
        }
        let hash = MaskingRule {
            kind: MaskingKind::Hash,
            ..MaskingRule::none()
        };
        key.iter()
            .map(|col| match self.access(&col.name) {
                Some(access) if access.masking.kind == MaskingKind::None => col.clone(),
                _ => Column::new(col.name.clone(), hash.mask(&col.value, hash_key)),
            })
            .collect()
    }
}

/// `after` with its unchanged values taken from `before`, where known: the
/// filter judges the whole new row.
fn with_unchanged_from(after: &[Column], before: &[Column]) -> Vec<Column> {
    after
        .iter()
        .map(|col| match (&col.value, column(before, &col.name)) {
            (Value::Unchanged, Some(old)) => Column::new(col.name.clone(), old.clone()),
            _ => col.clone(),
        })
        .collect()
}

impl RowCondition {
    fn holds(&self, row: &[Column]) -> bool {
        let Some(value) = column(row, &self.field) else {
            return false;
        };
        let Some(text) = value.text() else {
            return false;
        };
        match self.operator {
            RowOperator::Equals | RowOperator::In => {
                self.values.iter().any(|wanted| equal(value, &text, wanted))
            }
            RowOperator::NotEquals => !self.values.iter().any(|wanted| equal(value, &text, wanted)),
            RowOperator::GreaterOrEqual => self
                .values
                .first()
                .is_some_and(|bound| compare(value, &text, bound) != Ordering::Less),
            RowOperator::LessThan => self
                .values
                .first()
                .is_some_and(|bound| compare(value, &text, bound) == Ordering::Less),
            RowOperator::Prefix => self
                .values
                .iter()
                .any(|prefix| text.starts_with(prefix.as_str())),
            RowOperator::WithinDivision => self
                .values
                .iter()
                .any(|division| within_division(&text, division)),
        }
    }
}

/// Text compares exactly (`"01"` is not `"1"`); typed values by value.
fn equal(value: &Value, text: &str, wanted: &str) -> bool {
    match value {
        Value::Text(_) | Value::Json(_) | Value::Bytes(_) | Value::Bool(_) => text == wanted,
        _ => compare(value, text, wanted) == Ordering::Equal,
    }
}

fn compare(value: &Value, text: &str, bound: &str) -> Ordering {
    match value {
        Value::Timestamp(at) => {
            if let Some(bound) = parse_instant(bound) {
                return at.cmp(&bound);
            }
        }
        Value::Date(_) => {
            if let (Some(date), Some(bound)) = (parse_instant(text), parse_instant(bound)) {
                return date.cmp(&bound);
            }
        }
        _ => {
            if let Some(order) = compare_numbers(text, bound) {
                return order;
            }
        }
    }
    text.cmp(bound)
}

fn compare_numbers(left: &str, right: &str) -> Option<Ordering> {
    let (left, right) = (left.trim(), right.trim());
    if let (Ok(l), Ok(r)) = (left.parse::<i64>(), right.parse::<i64>()) {
        return Some(l.cmp(&r));
    }
    let l = left.parse::<f64>().ok().filter(|n| n.is_finite())?;
    let r = right.parse::<f64>().ok().filter(|n| n.is_finite())?;
    l.partial_cmp(&r)
}

/// An RFC 3339 timestamp, or a `YYYY-MM-DD` date taken at midnight UTC.
fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text.trim()) {
        return Some(at.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|at| at.and_utc())
}

fn within_division(code: &str, division: &str) -> bool {
    let six_digits = |s: &str| s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit());
    if !six_digits(code) || !six_digits(division) {
        return false;
    }
    let mut prefix = division;
    while let Some(shorter) = prefix.strip_suffix("00") {
        prefix = shorter;
    }
    code.starts_with(prefix)
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::domain::change::HopTimes;

    const KEY: [u8; 32] = [7; 32];

    fn rule(kind: MaskingKind, keep_first: u32, keep_last: u32) -> MaskingRule {
        MaskingRule {
            kind,
            keep_first,
            keep_last,
            mask_character: '*',
        }
    }

    fn granted(field: &str, masking: MaskingRule) -> FieldAccess {
        FieldAccess {
            field: field.into(),
            masking,
        }
    }

    fn condition(field: &str, operator: RowOperator, values: &[&str]) -> RowCondition {
        RowCondition {
            field: field.into(),
            operator,
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    fn filtered(conditions: Vec<RowCondition>) -> DeliveryPolicy {
        DeliveryPolicy {
            fields: vec![],
            row_filter: RowFilter { conditions },
        }
    }

    fn row(district: &str, name: &str) -> Vec<Column> {
        vec![
            Column::new("id", Value::Int(1)),
            Column::new("name", Value::Text(name.into())),
            Column::new("district_code", Value::Text(district.into())),
        ]
    }

    fn change(operation: Operation, before: Vec<Column>, after: Vec<Column>) -> Change {
        Change {
            line_id: Uuid::nil(),
            position: 10,
            index: 0,
            transaction_id: None,
            table: "public.people".into(),
            operation,
            key: vec![Column::new("id", Value::Int(1))],
            before,
            after,
            hops: HopTimes::default(),
            subscription_id: None,
            grant_id: None,
        }
    }

    fn delivered(projected: Projected) -> Change {
        match projected {
            Projected::Deliver(change) => change,
            Projected::FilteredOut => panic!("expected a delivery"),
        }
    }

    #[test]
    fn partial_masking_counts_characters_not_bytes() {
        let keep_one = rule(MaskingKind::Partial, 1, 0);
        assert_eq!(
            keep_one.mask(&Value::Text("张三丰".into()), &KEY),
            Value::Text("张**".into())
        );
        let id_number = rule(MaskingKind::Partial, 0, 4);
        assert_eq!(
            id_number.mask(&Value::Text("330102199001011234".into()), &KEY),
            Value::Text("**************1234".into())
        );
        let hash_sign = MaskingRule {
            mask_character: '#',
            ..rule(MaskingKind::Partial, 1, 1)
        };
        assert_eq!(
            hash_sign.mask(&Value::Text("abcd".into()), &KEY),
            Value::Text("a##d".into())
        );
    }

    #[test]
    fn partial_masking_keeps_short_values_and_turns_numbers_into_text() {
        let wide = rule(MaskingKind::Partial, 2, 2);
        assert_eq!(
            wide.mask(&Value::Text("李四".into()), &KEY),
            Value::Text("李四".into())
        );
        assert_eq!(
            wide.mask(&Value::Int(12345), &KEY),
            Value::Text("12*45".into())
        );
    }

    #[test]
    fn redact_hash_and_nullify() {
        assert_eq!(
            rule(MaskingKind::Redact, 0, 0).mask(&Value::Text("王小明".into()), &KEY),
            Value::Text("***".into())
        );
        let hash = rule(MaskingKind::Hash, 0, 0);
        let Value::Text(hashed) = hash.mask(&Value::Text("x".into()), &KEY) else {
            panic!("a hash is text");
        };
        assert_eq!(hashed.len(), 64);
        assert!(
            hashed
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(
            hash.mask(&Value::Text("x".into()), &KEY),
            Value::Text(hashed.clone())
        );
        assert_ne!(
            hash.mask(&Value::Text("x".into()), &[8; 32]),
            Value::Text(hashed)
        );
        assert_eq!(
            rule(MaskingKind::Nullify, 0, 0).mask(&Value::Int(3), &KEY),
            Value::Null
        );
    }

    #[test]
    fn null_and_unchanged_values_are_never_masked() {
        for kind in [MaskingKind::Partial, MaskingKind::Redact, MaskingKind::Hash] {
            assert_eq!(rule(kind, 0, 0).mask(&Value::Null, &KEY), Value::Null);
            assert_eq!(
                rule(kind, 0, 0).mask(&Value::Unchanged, &KEY),
                Value::Unchanged
            );
        }
    }

    #[test]
    fn hash_key_matches_hmac_sha256_of_the_scope() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"Jefe");
        assert_eq!(
            hex::encode(hmac::sign(&key, b"what do ya want for nothing?").as_ref()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let grant = hash_key(b"secret", "grant-1");
        assert_eq!(grant, hash_key(b"secret", "grant-1"));
        assert_ne!(grant, hash_key(b"secret", "grant-2"));
        assert_ne!(grant, hash_key(b"other", "grant-1"));
    }

    #[test]
    fn projection_keeps_granted_fields_and_hashes_masked_keys() {
        let policy = DeliveryPolicy {
            fields: vec![
                granted("id", rule(MaskingKind::Partial, 0, 1)),
                granted("name", rule(MaskingKind::Partial, 1, 0)),
            ],
            row_filter: RowFilter::default(),
        };
        let out = delivered(policy.apply(
            &change(Operation::Insert, vec![], row("331100", "张三")),
            &KEY,
        ));
        assert_eq!(
            out.after,
            vec![
                Column::new("id", Value::Text("1".into())),
                Column::new("name", Value::Text("张*".into())),
            ]
        );
        let Value::Text(hashed) = &out.key[0].value else {
            panic!("masked keys are text");
        };
        assert_eq!(hashed.len(), 64, "a partially masked key goes hashed");
    }

    #[test]
    fn keys_go_as_they_are_only_when_granted_unmasked() {
        let unmasked = DeliveryPolicy {
            fields: vec![granted("id", MaskingRule::none())],
            row_filter: RowFilter::default(),
        };
        let out =
            delivered(unmasked.apply(&change(Operation::Insert, vec![], row("331100", "a")), &KEY));
        assert_eq!(out.key, vec![Column::new("id", Value::Int(1))]);
        assert_eq!(out.after, vec![Column::new("id", Value::Int(1))]);

        let not_granted = DeliveryPolicy {
            fields: vec![granted("name", MaskingRule::none())],
            row_filter: RowFilter::default(),
        };
        let out = delivered(
            not_granted.apply(&change(Operation::Insert, vec![], row("331100", "a")), &KEY),
        );
        assert_ne!(out.key, vec![Column::new("id", Value::Int(1))]);
        assert_eq!(
            out.after,
            vec![Column::new("name", Value::Text("a".into()))]
        );
    }

    #[test]
    fn no_fields_means_every_column_unmasked() {
        let policy = DeliveryPolicy::default();
        let original = change(Operation::Insert, vec![], row("331100", "张三"));
        assert_eq!(delivered(policy.apply(&original, &KEY)), original);
    }

    #[test]
    fn equality_operators() {
        let row = row("331121", "张三");
        assert!(
            filtered(vec![condition(
                "district_code",
                RowOperator::Equals,
                &["331121"]
            )])
            .admits(&row)
        );
        assert!(
            !filtered(vec![condition(
                "district_code",
                RowOperator::Equals,
                &["331100"]
            )])
            .admits(&row)
        );
        assert!(
            filtered(vec![condition(
                "district_code",
                RowOperator::NotEquals,
                &["331100"]
            )])
            .admits(&row)
        );
        assert!(
            filtered(vec![condition(
                "district_code",
                RowOperator::In,
                &["1", "331121"]
            )])
            .admits(&row)
        );
        assert!(!filtered(vec![condition("district_code", RowOperator::In, &[])]).admits(&row));
        assert!(filtered(vec![condition("id", RowOperator::Equals, &["1"])]).admits(&row));
        assert!(filtered(vec![condition("name", RowOperator::Prefix, &["张"])]).admits(&row));
        assert!(!filtered(vec![condition("name", RowOperator::Prefix, &["李"])]).admits(&row));
    }

    #[test]
    fn null_and_missing_values_satisfy_no_operator() {
        let row = vec![Column::new("district_code", Value::Null)];
        for operator in [
            RowOperator::Equals,
            RowOperator::NotEquals,
            RowOperator::In,
            RowOperator::GreaterOrEqual,
            RowOperator::LessThan,
            RowOperator::Prefix,
            RowOperator::WithinDivision,
        ] {
            assert!(
                !filtered(vec![condition("district_code", operator, &["331100"])]).admits(&row)
            );
            assert!(!filtered(vec![condition("absent", operator, &["331100"])]).admits(&row));
        }
    }

    #[test]
    fn ranges_compare_numbers_dates_and_text() {
        let amount = |value: Value| vec![Column::new("v", value)];
        let at_least_ten = filtered(vec![condition("v", RowOperator::GreaterOrEqual, &["10"])]);
        assert!(at_least_ten.admits(&amount(Value::Int(10))));
        assert!(!at_least_ten.admits(&amount(Value::Int(9))));
        assert!(at_least_ten.admits(&amount(Value::Numeric("10.5".into()))));
        assert!(
            at_least_ten.admits(&amount(Value::Text("100".into()))),
            "numerically, not by text"
        );
        let below = filtered(vec![condition("v", RowOperator::LessThan, &["2024-03-01"])]);
        assert!(below.admits(&amount(Value::Date("2024-02-29".into()))));
        assert!(!below.admits(&amount(Value::Date("2024-03-01".into()))));
        let noon = DateTime::parse_from_rfc3339("2024-02-29T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert!(below.admits(&amount(Value::Timestamp(noon))));
        let text = filtered(vec![condition("v", RowOperator::LessThan, &["b"])]);
        assert!(text.admits(&amount(Value::Text("abc".into()))));
        assert!(!text.admits(&amount(Value::Text("c".into()))));
    }

    #[test]
    fn within_division_treats_trailing_zero_pairs_as_wildcards() {
        let within = |filter: &str, code: &str| {
            filtered(vec![condition("d", RowOperator::WithinDivision, &[filter])])
                .admits(&[Column::new("d", Value::Text(code.into()))])
        };
        assert!(within("331100", "331100"));
        assert!(within("331100", "331121"));
        assert!(!within("331100", "331200"));
        assert!(within("330000", "330102"));
        assert!(!within("330000", "340102"));
        assert!(within("331121", "331121"));
        assert!(!within("331121", "331122"));
        assert!(!within("331100", "33112"), "not a division code");
    }

    #[test]
    fn inserts_outside_the_slice_are_filtered_out() {
        let city = filtered(vec![condition(
            "district_code",
            RowOperator::WithinDivision,
            &["331100"],
        )]);
        assert_eq!(
            city.apply(&change(Operation::Insert, vec![], row("330100", "a")), &KEY),
            Projected::FilteredOut
        );
        assert_eq!(
            city.apply(
                &change(Operation::Snapshot, vec![], row("330100", "a")),
                &KEY
            ),
            Projected::FilteredOut
        );
        assert!(matches!(
            city.apply(&change(Operation::Insert, vec![], row("331121", "a")), &KEY),
            Projected::Deliver(_)
        ));
    }

    #[test]
    fn an_update_leaving_the_slice_is_a_delete_of_the_key() {
        let city = filtered(vec![condition(
            "district_code",
            RowOperator::WithinDivision,
            &["331100"],
        )]);
        let moved = change(Operation::Update, row("331121", "a"), row("330100", "a"));
        let out = delivered(city.apply(&moved, &KEY));
        assert_eq!(out.operation, Operation::Delete);
        assert_eq!(out.key, moved.key);
        assert!(out.after.is_empty() && out.before.is_empty());

        // Without the old row it may have been inside: delete to be safe.
        let unknown = change(Operation::Update, vec![], row("330100", "a"));
        assert_eq!(
            delivered(city.apply(&unknown, &KEY)).operation,
            Operation::Delete
        );

        let outside = change(Operation::Update, row("330200", "a"), row("330100", "a"));
        assert_eq!(city.apply(&outside, &KEY), Projected::FilteredOut);

        let inside = change(Operation::Update, row("330100", "a"), row("331121", "a"));
        assert_eq!(
            delivered(city.apply(&inside, &KEY)).operation,
            Operation::Update
        );
    }

    #[test]
    fn unchanged_values_of_an_update_are_judged_by_the_old_row() {
        let city = filtered(vec![condition(
            "district_code",
            RowOperator::WithinDivision,
            &["331100"],
        )]);
        let mut after = row("331121", "b");
        after[2].value = Value::Unchanged;
        let update = change(Operation::Update, row("331121", "a"), after);
        assert_eq!(
            delivered(city.apply(&update, &KEY)).operation,
            Operation::Update
        );
    }

    #[test]
    fn deletes_are_filtered_only_when_the_old_row_was_outside() {
        let city = filtered(vec![condition(
            "district_code",
            RowOperator::WithinDivision,
            &["331100"],
        )]);
        let outside = change(Operation::Delete, row("330100", "a"), vec![]);
        assert_eq!(city.apply(&outside, &KEY), Projected::FilteredOut);
        let inside = change(Operation::Delete, row("331121", "a"), vec![]);
        assert_eq!(
            delivered(city.apply(&inside, &KEY)).operation,
            Operation::Delete
        );
        // Only the key of the old row: the filter cannot judge it.
        let key_only = change(
            Operation::Delete,
            vec![Column::new("id", Value::Int(1))],
            vec![],
        );
        assert_eq!(
            delivered(city.apply(&key_only, &KEY)).operation,
            Operation::Delete
        );
        let no_before = change(Operation::Delete, vec![], vec![]);
        assert_eq!(
            delivered(city.apply(&no_before, &KEY)).operation,
            Operation::Delete
        );
    }

    #[test]
    fn a_subscriber_is_filtered_on_a_field_it_is_not_granted() {
        let policy = DeliveryPolicy {
            fields: vec![granted("name", MaskingRule::none())],
            row_filter: RowFilter {
                conditions: vec![condition("district_code", RowOperator::Equals, &["331121"])],
            },
        };
        let out =
            delivered(policy.apply(&change(Operation::Insert, vec![], row("331121", "a")), &KEY));
        assert_eq!(
            out.after,
            vec![Column::new("name", Value::Text("a".into()))]
        );
        assert_eq!(
            policy.apply(&change(Operation::Insert, vec![], row("331122", "a")), &KEY),
            Projected::FilteredOut
        );
    }
}
