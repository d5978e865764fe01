//! Changes in their contract form (`zhongtai.exchange.v1.ChangeRecord`):
//! the body of every queue message and of record traces, and pushed
//! changes read back. Shared by every part that crosses the wire.

use chrono::{DateTime, Utc};
use zhongtai_contracts::exchange::v1 as pb;
use zhongtai_contracts::exchange::v1::column_value::Value as PbValue;
use zhongtai_kit::proto::timestamp;

use crate::domain::change::{Change, Column, HopTimes, Operation, Value, lsn_text};

/// How a change's position reads: an LSN for log lines, a decimal
/// sequence for push and enclave lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PositionStyle {
    Lsn,
    Sequence,
}

impl PositionStyle {
    pub fn text(self, position: u64) -> String {
        match self {
            Self::Lsn => lsn_text(position),
            Self::Sequence => position.to_string(),
        }
    }
}

pub fn operation_message(operation: Operation) -> pb::ChangeOperation {
    match operation {
        Operation::Insert => pb::ChangeOperation::Insert,
        Operation::Update => pb::ChangeOperation::Update,
        Operation::Delete => pb::ChangeOperation::Delete,
        Operation::Snapshot => pb::ChangeOperation::Snapshot,
    }
}

/// `None` for UNSPECIFIED and values the contract does not define.
pub fn operation(value: i32) -> Option<Operation> {
    match pb::ChangeOperation::try_from(value).ok()? {
        pb::ChangeOperation::Unspecified => None,
        pb::ChangeOperation::Insert => Some(Operation::Insert),
        pb::ChangeOperation::Update => Some(Operation::Update),
        pb::ChangeOperation::Delete => Some(Operation::Delete),
        pb::ChangeOperation::Snapshot => Some(Operation::Snapshot),
    }
}

pub fn column_message(column: &Column) -> pb::ColumnValue {
    let (value, unchanged) = match &column.value {
        Value::Null => (None, false),
        Value::Unchanged => (None, true),
        Value::Bool(b) => (Some(PbValue::BoolValue(*b)), false),
        Value::Int(i) => (Some(PbValue::IntValue(*i)), false),
        Value::Double(d) => (Some(PbValue::DoubleValue(*d)), false),
        Value::Text(s) => (Some(PbValue::StringValue(s.clone())), false),
        Value::Numeric(s) => (Some(PbValue::NumericValue(s.clone())), false),
        Value::Bytes(b) => (Some(PbValue::BytesValue(b.clone())), false),
        Value::Date(s) => (Some(PbValue::DateValue(s.clone())), false),
        Value::Timestamp(t) => (Some(PbValue::TimestampValue(timestamp(*t))), false),
        Value::Json(s) => (Some(PbValue::JsonValue(s.clone())), false),
    };
    pb::ColumnValue {
        name: column.name.clone(),
        value,
        unchanged,
    }
}

/// The domain column of a contract value. A timestamp outside chrono's
/// range is `Err` with the column name, for the caller to report.
pub fn column(message: &pb::ColumnValue) -> Result<Column, String> {
    let value = if message.unchanged {
        Value::Unchanged
    } else {
        match &message.value {
            None => Value::Null,
            Some(PbValue::BoolValue(b)) => Value::Bool(*b),
            Some(PbValue::IntValue(i)) => Value::Int(*i),
            Some(PbValue::DoubleValue(d)) => Value::Double(*d),
            Some(PbValue::StringValue(s)) => Value::Text(s.clone()),
            Some(PbValue::NumericValue(s)) => Value::Numeric(s.clone()),
            Some(PbValue::BytesValue(b)) => Value::Bytes(b.clone()),
            Some(PbValue::DateValue(s)) => Value::Date(s.clone()),
            Some(PbValue::TimestampValue(t)) => Value::Timestamp(
                time(t).ok_or_else(|| format!("{}: timestamp out of range", message.name))?,
            ),
            Some(PbValue::JsonValue(s)) => Value::Json(s.clone()),
        }
    };
    Ok(Column::new(message.name.clone(), value))
}

/// A contract timestamp as UTC; `None` when out of range.
pub fn time(at: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    let nanos = u32::try_from(at.nanos).ok()?;
    DateTime::from_timestamp(at.seconds, nanos)
}

pub fn hops_message(hops: &HopTimes) -> pb::HopTimestamps {
    pb::HopTimestamps {
        commit_time: hops.commit.map(timestamp),
        capture_time: hops.capture.map(timestamp),
        publish_time: hops.publish.map(timestamp),
        deliver_time: hops.deliver.map(timestamp),
        apply_time: hops.apply.map(timestamp),
    }
}

/// The contract form of a change.
pub fn change_record(change: &Change, style: PositionStyle) -> pb::ChangeRecord {
    pb::ChangeRecord {
        change_id: change.change_id(),
        line_id: change.line_id.to_string(),
        position: change.position,
        index: change.index,
        position_text: style.text(change.position),
        transaction_id: change.transaction_id.clone().unwrap_or_default(),
        table: change.table.clone(),
        operation: operation_message(change.operation) as i32,
        key: change.key.iter().map(column_message).collect(),
        before: change.before.iter().map(column_message).collect(),
        after: change.after.iter().map(column_message).collect(),
        hops: Some(hops_message(&change.hops)),
        subscription_id: change
            .subscription_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        grant_id: change.grant_id.map(|id| id.to_string()).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    #[test]
    fn columns_round_trip_through_the_contract() {
        let at = DateTime::from_timestamp(1_770_000_000, 123_000).unwrap_or_default();
        for value in [
            Value::Null,
            Value::Unchanged,
            Value::Bool(true),
            Value::Int(-7),
            Value::Double(1.5),
            Value::Text("张三".into()),
            Value::Numeric("1234.50".into()),
            Value::Bytes(vec![0, 255]),
            Value::Date("2026-12-01".into()),
            Value::Timestamp(at),
            Value::Json("{\"a\":1}".into()),
        ] {
            let original = Column::new("c", value);
            assert_eq!(column(&column_message(&original)), Ok(original));
        }
    }

    #[test]
    fn records_carry_identity_and_position_text() {
        let change = Change {
            line_id: Uuid::nil(),
            position: 0x16B3748,
            index: 2,
            transaction_id: Some("731".into()),
            table: "public.t".into(),
            operation: Operation::Update,
            key: vec![Column::new("id", Value::Int(1))],
            before: vec![],
            after: vec![Column::new("id", Value::Int(1))],
            hops: HopTimes::default(),
            subscription_id: None,
            grant_id: None,
        };
        let record = change_record(&change, PositionStyle::Lsn);
        assert_eq!(record.change_id, change.change_id());
        assert_eq!(record.position_text, "0/16B3748");
        assert_eq!(record.operation, pb::ChangeOperation::Update as i32);
        assert_eq!(
            change_record(&change, PositionStyle::Sequence).position_text,
            "23803720"
        );
    }
}

/// Delivery policies in their contract form (`zhongtai.common.v1`
/// FieldAccess, RowFilter), for grants, backflow rules and queries.
pub mod policy {
    use zhongtai_contracts::common::v1 as common;

    use crate::domain::policy::{
        DeliveryPolicy, FieldAccess, MaskingKind, MaskingRule, RowCondition, RowFilter, RowOperator,
    };

    /// A contract masking rule; `Err` names what is wrong, for the caller's
    /// field violation.
    pub fn masking(rule: Option<&common::MaskingRule>) -> Result<MaskingRule, String> {
        let Some(rule) = rule else {
            return Ok(MaskingRule::none());
        };
        let kind = match common::MaskingKind::try_from(rule.kind) {
            Ok(common::MaskingKind::Unspecified | common::MaskingKind::None) => MaskingKind::None,
            Ok(common::MaskingKind::Partial) => MaskingKind::Partial,
            Ok(common::MaskingKind::Redact) => MaskingKind::Redact,
            Ok(common::MaskingKind::Hash) => MaskingKind::Hash,
            Ok(common::MaskingKind::Nullify) => MaskingKind::Nullify,
            Err(_) => return Err(format!("{} is not a masking kind", rule.kind)),
        };
        let keep = |value: i32, name: &str| {
            u32::try_from(value).map_err(|_| format!("{name} must be >= 0"))
        };
        let mut characters = rule.mask_character.chars();
        let mask_character = match (characters.next(), characters.next()) {
            (None, _) => '*',
            (Some(c), None) => c,
            (Some(_), Some(_)) => return Err("mask_character must be a single character".into()),
        };
        Ok(MaskingRule {
            kind,
            keep_first: keep(rule.keep_first, "keep_first")?,
            keep_last: keep(rule.keep_last, "keep_last")?,
            mask_character,
        })
    }

    pub fn masking_message(rule: &MaskingRule) -> common::MaskingRule {
        let kind = match rule.kind {
            MaskingKind::None => common::MaskingKind::None,
            MaskingKind::Partial => common::MaskingKind::Partial,
            MaskingKind::Redact => common::MaskingKind::Redact,
            MaskingKind::Hash => common::MaskingKind::Hash,
            MaskingKind::Nullify => common::MaskingKind::Nullify,
        };
        common::MaskingRule {
            kind: kind as i32,
            keep_first: i32::try_from(rule.keep_first).unwrap_or(i32::MAX),
            keep_last: i32::try_from(rule.keep_last).unwrap_or(i32::MAX),
            mask_character: rule.mask_character.to_string(),
        }
    }

    pub fn fields(fields: &[common::FieldAccess]) -> Result<Vec<FieldAccess>, String> {
        fields
            .iter()
            .map(|access| {
                if access.field.is_empty() {
                    return Err("a field name is empty".to_string());
                }
                Ok(FieldAccess {
                    field: access.field.clone(),
                    masking: masking(access.masking.as_ref())
                        .map_err(|e| format!("{}: {e}", access.field))?,
                })
            })
            .collect()
    }

    pub fn fields_message(fields: &[FieldAccess]) -> Vec<common::FieldAccess> {
        fields
            .iter()
            .map(|access| common::FieldAccess {
                field: access.field.clone(),
                masking: Some(masking_message(&access.masking)),
            })
            .collect()
    }

    /// A contract row filter; at most 16 conditions, IN with 1..1000
    /// values, every other operator exactly one.
    pub fn row_filter(filter: Option<&common::RowFilter>) -> Result<RowFilter, String> {
        let Some(filter) = filter else {
            return Ok(RowFilter::default());
        };
        if filter.conditions.len() > 16 {
            return Err("at most 16 conditions".into());
        }
        let conditions = filter
            .conditions
            .iter()
            .enumerate()
            .map(|(i, condition)| {
                let operator = match common::RowOperator::try_from(condition.operator) {
                    Ok(common::RowOperator::Equals) => RowOperator::Equals,
                    Ok(common::RowOperator::NotEquals) => RowOperator::NotEquals,
                    Ok(common::RowOperator::In) => RowOperator::In,
                    Ok(common::RowOperator::GreaterOrEqual) => RowOperator::GreaterOrEqual,
                    Ok(common::RowOperator::LessThan) => RowOperator::LessThan,
                    Ok(common::RowOperator::Prefix) => RowOperator::Prefix,
                    Ok(common::RowOperator::WithinDivision) => RowOperator::WithinDivision,
                    Ok(common::RowOperator::Unspecified) | Err(_) => {
                        return Err(format!("conditions[{i}]: operator is required"));
                    }
                };
                if condition.field.is_empty() {
                    return Err(format!("conditions[{i}]: field is required"));
                }
                let values = condition.values.len();
                let fits = if operator == RowOperator::In {
                    (1..=1000).contains(&values)
                } else {
                    values == 1
                };
                if !fits {
                    return Err(format!(
                        "conditions[{i}]: {values} values do not fit the operator"
                    ));
                }
                if operator == RowOperator::WithinDivision
                    && !condition.values[0].bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(format!(
                        "conditions[{i}]: WITHIN_DIVISION takes a six-digit division code"
                    ));
                }
                Ok(RowCondition {
                    field: condition.field.clone(),
                    operator,
                    values: condition.values.clone(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(RowFilter { conditions })
    }

    pub fn row_filter_message(filter: &RowFilter) -> common::RowFilter {
        common::RowFilter {
            conditions: filter
                .conditions
                .iter()
                .map(|condition| common::RowCondition {
                    field: condition.field.clone(),
                    operator: match condition.operator {
                        RowOperator::Equals => common::RowOperator::Equals,
                        RowOperator::NotEquals => common::RowOperator::NotEquals,
                        RowOperator::In => common::RowOperator::In,
                        RowOperator::GreaterOrEqual => common::RowOperator::GreaterOrEqual,
                        RowOperator::LessThan => common::RowOperator::LessThan,
                        RowOperator::Prefix => common::RowOperator::Prefix,
                        RowOperator::WithinDivision => common::RowOperator::WithinDivision,
                    } as i32,
                    values: condition.values.clone(),
                })
                .collect(),
        }
    }

    /// The policy of a grant's (or rule's) fields and row filter.
    pub fn delivery_policy(
        fields_in: &[common::FieldAccess],
        filter: Option<&common::RowFilter>,
    ) -> Result<DeliveryPolicy, String> {
        Ok(DeliveryPolicy {
            fields: fields(fields_in)?,
            row_filter: row_filter(filter)?,
        })
    }
}
