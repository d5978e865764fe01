//! Rules of a `PushChanges` stream: what a pushed change must say, the
//! stream's limits, and which changes the line already holds.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::{Change, Column, HopTimes, Operation, PushSourceSpec, SourceTable};

/// Most changes one stream may carry.
pub const MAX_CHANGES_PER_STREAM: usize = 10_000;
/// Most encoded bytes one stream may carry.
pub const MAX_BYTES_PER_STREAM: usize = 16 * 1024 * 1024;
/// Most changes handed to delivery at once.
pub const DELIVERY_BATCH: usize = 1_000;

/// A pushed change after decoding, before the rules.
#[derive(Debug, Clone, PartialEq)]
pub struct PushedChange {
    pub sequence: u64,
    pub table: String,
    /// `None` when the producer left it unset.
    pub operation: Option<Operation>,
    pub key: Vec<Column>,
    pub before: Vec<Column>,
    pub after: Vec<Column>,
    pub commit_time: Option<DateTime<Utc>>,
    pub transaction_id: String,
}

/// Why a stream stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushRefusal {
    /// The change is malformed: (field, description).
    Invalid(String, String),
    /// The stream is over its count or size limit.
    TooLarge(String),
}

/// What a stream has carried so far.
#[derive(Debug, Clone, Default)]
pub struct PushStream {
    changes: usize,
    bytes: usize,
    last_sequence: Option<u64>,
}

/// What to do with one valid change.
#[derive(Debug, Clone, PartialEq)]
pub enum Admission {
    /// At or below the line's cursor: the line already holds it.
    Duplicate,
    Accept(Box<Change>),
}

impl PushStream {
    /// Counts one message of `encoded_len` bytes against the limits.
    pub fn count(&mut self, encoded_len: usize) -> Result<(), PushRefusal> {
        self.changes += 1;
        self.bytes = self.bytes.saturating_add(encoded_len);
        if self.changes > MAX_CHANGES_PER_STREAM {
            return Err(PushRefusal::TooLarge(format!(
                "a stream carries at most {MAX_CHANGES_PER_STREAM} changes; open another"
            )));
        }
        if self.bytes > MAX_BYTES_PER_STREAM {
            return Err(PushRefusal::TooLarge(format!(
                "a stream carries at most {MAX_BYTES_PER_STREAM} bytes; open another"
            )));
        }
        Ok(())
    }

    /// Checks `pushed` against the line's push source and the stream's
    /// order, and turns it into the line's change unless the line already
    /// holds it (`cursor`: the line's confirmed sequence).
    pub fn admit(
        &mut self,
        line_id: Uuid,
        spec: &PushSourceSpec,
        pushed: PushedChange,
        cursor: u64,
        now: DateTime<Utc>,
    ) -> Result<Admission, PushRefusal> {
        let at = |field: &str| format!("change[{}].{field}", self.changes.saturating_sub(1));
        if let Some(last) = self.last_sequence
            && pushed.sequence <= last
        {
            return Err(PushRefusal::Invalid(
                at("sequence"),
                format!(
                    "{} does not follow {last}: sequences must increase within a stream",
                    pushed.sequence
                ),
            ));
        }
        if pushed.sequence == 0 {
            return Err(PushRefusal::Invalid(
                at("sequence"),
                "sequences start at 1".into(),
            ));
        }
        let table = push_table(spec, &pushed.table).ok_or_else(|| {
            PushRefusal::Invalid(
                at("table"),
                format!("{:?} is not a table of this line", pushed.table),
            )
        })?;
        let operation = pushed
            .operation
            .ok_or_else(|| PushRefusal::Invalid(at("operation"), "is required".into()))?;
        let given: BTreeSet<&str> = pushed.key.iter().map(|c| c.name.as_str()).collect();
        let wanted: BTreeSet<&str> = table.key_columns.iter().map(String::as_str).collect();
        if given != wanted || given.len() != pushed.key.len() {
            return Err(PushRefusal::Invalid(
                at("key"),
                format!(
                    "must hold exactly the key columns of {}: {}",
                    table.qualified(),
                    table.key_columns.join(", ")
                ),
            ));
        }
        if operation.leaves_row() && pushed.after.is_empty() {
            return Err(PushRefusal::Invalid(
                at("after"),
                format!("is required for {}", operation.as_str()),
            ));
        }
        self.last_sequence = Some(pushed.sequence);
        if pushed.sequence <= cursor {
            return Ok(Admission::Duplicate);
        }
        Ok(Admission::Accept(Box::new(Change {
            line_id,
            position: pushed.sequence,
            index: 0,
            transaction_id: (!pushed.transaction_id.is_empty()).then_some(pushed.transaction_id),
            table: table.qualified(),
            operation,
            key: pushed.key,
            before: pushed.before,
            after: pushed.after,
            hops: HopTimes {
                commit: Some(pushed.commit_time.unwrap_or(now)),
                capture: Some(now),
                ..HopTimes::default()
            },
            subscription_id: None,
            grant_id: None,
        })))
    }
}

/// The push table `name` names: `schema.table`, or a bare table name when
/// it is unambiguous.
fn push_table<'a>(spec: &'a PushSourceSpec, name: &str) -> Option<&'a SourceTable> {
    if let Some(table) = spec.tables.iter().find(|t| t.qualified() == name) {
        return Some(table);
    }
    let mut bare = spec.tables.iter().filter(|t| t.name == name);
    match (bare.next(), bare.next()) {
        (Some(table), None) => Some(table),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Value;

    fn spec() -> PushSourceSpec {
        PushSourceSpec {
            tables: vec![SourceTable {
                schema: "public".into(),
                name: "person".into(),
                key_columns: vec!["id".into()],
            }],
            producer_subject: "app:population".into(),
        }
    }

    fn pushed(sequence: u64) -> PushedChange {
        PushedChange {
            sequence,
            table: "person".into(),
            operation: Some(Operation::Insert),
            key: vec![Column::new("id", Value::Int(1))],
            before: vec![],
            after: vec![Column::new("id", Value::Int(1))],
            commit_time: None,
            transaction_id: String::new(),
        }
    }

    fn admit(
        stream: &mut PushStream,
        change: PushedChange,
        cursor: u64,
    ) -> Result<Admission, PushRefusal> {
        stream.count(10)?;
        stream.admit(Uuid::nil(), &spec(), change, cursor, Utc::now())
    }

    #[test]
    fn accepted_changes_carry_the_sequence_as_position() {
        let mut stream = PushStream::default();
        let Ok(Admission::Accept(change)) = admit(&mut stream, pushed(5), 0) else {
            panic!("accepted");
        };
        assert_eq!(change.position, 5);
        assert_eq!(change.table, "public.person");
        assert!(change.hops.commit.is_some() && change.hops.capture.is_some());
    }

    #[test]
    fn changes_up_to_the_cursor_are_duplicates() {
        let mut stream = PushStream::default();
        assert_eq!(admit(&mut stream, pushed(3), 4), Ok(Admission::Duplicate));
        assert_eq!(admit(&mut stream, pushed(4), 4), Ok(Admission::Duplicate));
        assert!(matches!(
            admit(&mut stream, pushed(5), 4),
            Ok(Admission::Accept(_))
        ));
    }

    #[test]
    fn malformed_changes_are_refused_with_the_field() {
        let field = |change: PushedChange| match admit(&mut PushStream::default(), change, 0) {
            Err(PushRefusal::Invalid(field, _)) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(PushedChange {
                table: "licence".into(),
                ..pushed(1)
            }),
            "change[0].table"
        );
        assert_eq!(
            field(PushedChange {
                operation: None,
                ..pushed(1)
            }),
            "change[0].operation"
        );
        assert_eq!(
            field(PushedChange {
                key: vec![],
                ..pushed(1)
            }),
            "change[0].key"
        );
        assert_eq!(
            field(PushedChange {
                after: vec![],
                ..pushed(1)
            }),
            "change[0].after"
        );
        assert_eq!(
            field(PushedChange {
                sequence: 0,
                ..pushed(1)
            }),
            "change[0].sequence"
        );
        let delete = PushedChange {
            operation: Some(Operation::Delete),
            after: vec![],
            ..pushed(1)
        };
        assert!(admit(&mut PushStream::default(), delete, 0).is_ok());
    }

    #[test]
    fn sequences_must_increase_within_a_stream() {
        let mut stream = PushStream::default();
        assert!(admit(&mut stream, pushed(7), 0).is_ok());
        assert!(matches!(
            admit(&mut stream, pushed(7), 0),
            Err(PushRefusal::Invalid(field, _)) if field == "change[1].sequence"
        ));
    }

    #[test]
    fn streams_are_limited_in_count_and_size() {
        let mut stream = PushStream::default();
        for _ in 0..MAX_CHANGES_PER_STREAM {
            assert!(stream.count(1).is_ok());
        }
        assert!(matches!(stream.count(1), Err(PushRefusal::TooLarge(_))));
        let mut big = PushStream::default();
        assert!(matches!(
            big.count(MAX_BYTES_PER_STREAM + 1),
            Err(PushRefusal::TooLarge(_))
        ));
    }
}
