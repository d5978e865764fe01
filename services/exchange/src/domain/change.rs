//! Captured row changes: what a line carries from its source to every
//! subscriber, and the identity and content hash each hop tallies.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The value of one column, typed as the contract's `ColumnValue`.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// smallint, integer, bigint.
    Int(i64),
    /// real, double precision.
    Double(f64),
    /// text, varchar, char, uuid, masked values of any type.
    Text(String),
    /// numeric, exactly as the source wrote it.
    Numeric(String),
    Bytes(Vec<u8>),
    /// `YYYY-MM-DD`.
    Date(String),
    Timestamp(DateTime<Utc>),
    /// JSON text.
    Json(String),
    /// The source did not send it because it did not change (PostgreSQL
    /// unchanged TOAST); the receiver keeps its current value.
    Unchanged,
}

impl Value {
    /// The value's textual form, as masking and row filters see it; `None`
    /// for NULL and unchanged values.
    pub fn text(&self) -> Option<String> {
        match self {
            Self::Null | Self::Unchanged => None,
            Self::Bool(b) => Some(b.to_string()),
            Self::Int(i) => Some(i.to_string()),
            Self::Double(d) => Some(d.to_string()),
            Self::Text(s) | Self::Numeric(s) | Self::Date(s) | Self::Json(s) => Some(s.clone()),
            Self::Bytes(b) => Some(hex::encode(b)),
            Self::Timestamp(t) => Some(t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        }
    }

    /// Feeds a type-tagged, unambiguous encoding into a hasher.
    fn hash_into(&self, hasher: &mut Sha256) {
        match self {
            Self::Null => hasher.update([0]),
            Self::Unchanged => hasher.update([1]),
            Self::Bool(b) => hasher.update([2, u8::from(*b)]),
            Self::Int(i) => {
                hasher.update([3]);
                hasher.update(i.to_be_bytes());
            }
            Self::Double(d) => {
                hasher.update([4]);
                hasher.update(d.to_bits().to_be_bytes());
            }
            Self::Text(s) => tagged_bytes(hasher, 5, s.as_bytes()),
            Self::Numeric(s) => tagged_bytes(hasher, 6, s.as_bytes()),
            Self::Bytes(b) => tagged_bytes(hasher, 7, b),
            Self::Date(s) => tagged_bytes(hasher, 8, s.as_bytes()),
            Self::Timestamp(t) => {
                hasher.update([9]);
                hasher.update(t.timestamp_micros().to_be_bytes());
            }
            Self::Json(s) => tagged_bytes(hasher, 10, s.as_bytes()),
        }
    }
}

fn tagged_bytes(hasher: &mut Sha256, tag: u8, bytes: &[u8]) {
    hasher.update([tag]);
    hasher.update((bytes.len() as u64).to_be_bytes());
    hasher.update(bytes);
}

/// One named column value.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub value: Value,
}

impl Column {
    pub fn new(name: impl Into<String>, value: Value) -> Self {
        Self {
            name: name.into(),
            value,
        }
    }
}

/// The value of `name` among `columns`.
pub fn column<'a>(columns: &'a [Column], name: &str) -> Option<&'a Value> {
    columns.iter().find(|c| c.name == name).map(|c| &c.value)
}

/// What happened to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    Insert,
    Update,
    Delete,
    /// An existing row copied by the initial snapshot (an upsert).
    Snapshot,
}

impl Operation {
    pub const ALL: [Self; 4] = [Self::Insert, Self::Update, Self::Delete, Self::Snapshot];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Insert => "insert",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::Snapshot => "snapshot",
        }
    }

    /// Inverse of [`Operation::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.as_str() == name)
    }

    /// Whether the row exists after the change.
    pub fn leaves_row(self) -> bool {
        !matches!(self, Self::Delete)
    }
}

/// When a change passed each hop; `None` means not (yet) reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HopTimes {
    pub commit: Option<DateTime<Utc>>,
    pub capture: Option<DateTime<Utc>>,
    pub publish: Option<DateTime<Utc>>,
    pub deliver: Option<DateTime<Utc>>,
    pub apply: Option<DateTime<Utc>>,
}

/// One row change of a line, in source order.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub line_id: Uuid,
    /// Commit position at the source: the commit LSN (end of the commit
    /// record) for log lines, the producer's sequence for push lines, the
    /// enclave change-log sequence for enclave lines. Snapshot rows carry the
    /// snapshot's consistent position, below every streamed change.
    pub position: u64,
    /// Position within the source transaction (or snapshot), from 0.
    pub index: u32,
    pub transaction_id: Option<String>,
    /// Schema-qualified source table, e.g. `public.marriage_registration`.
    pub table: String,
    pub operation: Operation,
    /// Key columns identifying the row.
    pub key: Vec<Column>,
    /// Row before the change, where the source provides it.
    pub before: Vec<Column>,
    /// Row after the change (insert, update, snapshot).
    pub after: Vec<Column>,
    pub hops: HopTimes,
    /// Set once fanned out to a subscription.
    pub subscription_id: Option<Uuid>,
    pub grant_id: Option<Uuid>,
}

impl Change {
    /// Stable id, `<line id>:<position>:<index>`: identical on every
    /// redelivery, so receivers deduplicate on it.
    pub fn change_id(&self) -> String {
        change_id(self.line_id, self.position, self.index)
    }

    /// SHA-256 of what the change says (table, operation, key, before,
    /// after), independent of timestamps and routing: the same change
    /// hashes the same at every hop that sees the same content.
    pub fn content_hash(&self) -> [u8; 32] {
        let mut hasher = Sha256::new();
        tagged_bytes(&mut hasher, 0, self.table.as_bytes());
        tagged_bytes(&mut hasher, 1, self.operation.as_str().as_bytes());
        for (tag, columns) in [(2, &self.key), (3, &self.before), (4, &self.after)] {
            hasher.update([tag]);
            hasher.update((columns.len() as u64).to_be_bytes());
            for column in columns {
                tagged_bytes(&mut hasher, 5, column.name.as_bytes());
                column.value.hash_into(&mut hasher);
            }
        }
        hasher.finalize().into()
    }

    /// The per-key ordering guard: a receiver applies a change only when
    /// this is above what it last applied for the row.
    pub fn order(&self) -> (u64, u32) {
        (self.position, self.index)
    }
}

/// `<line id>:<position>:<index>`.
pub fn change_id(line_id: Uuid, position: u64, index: u32) -> String {
    format!("{line_id}:{position}:{index}")
}

/// An order-independent checksum of a set of changes: the wrapping sum of
/// the first 16 bytes of SHA-256(change id ‖ content hash). Equal sets give
/// equal checksums; a duplicate or a changed content changes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SetChecksum {
    sum: u128,
    count: u64,
}

impl SetChecksum {
    pub fn add(&mut self, change_id: &str, content_hash: &[u8; 32]) {
        self.sum = self.sum.wrapping_add(member_hash(change_id, content_hash));
        self.count += 1;
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// Lowercase hex, 32 digits.
    pub fn hex(&self) -> String {
        format!("{:032x}", self.sum)
    }
}

/// One member's contribution to a [`SetChecksum`].
pub fn member_hash(change_id: &str, content_hash: &[u8; 32]) -> u128 {
    let mut hasher = Sha256::new();
    tagged_bytes(&mut hasher, 0, change_id.as_bytes());
    hasher.update(content_hash);
    let digest = hasher.finalize();
    let mut first = [0u8; 16];
    first.copy_from_slice(&digest[..16]);
    u128::from_be_bytes(first)
}

/// PostgreSQL's textual LSN form, e.g. `0/16B3748`.
pub fn lsn_text(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF)
}

/// Inverse of [`lsn_text`].
pub fn parse_lsn(text: &str) -> Option<u64> {
    let (high, low) = text.split_once('/')?;
    let high = u64::from_str_radix(high, 16).ok()?;
    let low = u64::from_str_radix(low, 16).ok()?;
    (high <= u64::from(u32::MAX) && low <= u64::from(u32::MAX)).then_some((high << 32) | low)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(position: u64, after: &str) -> Change {
        Change {
            line_id: Uuid::nil(),
            position,
            index: 0,
            transaction_id: None,
            table: "public.t".into(),
            operation: Operation::Insert,
            key: vec![Column::new("id", Value::Int(1))],
            before: vec![],
            after: vec![Column::new("name", Value::Text(after.into()))],
            hops: HopTimes::default(),
            subscription_id: None,
            grant_id: None,
        }
    }

    #[test]
    fn content_hash_ignores_routing_but_not_content() {
        let a = change(1, "x");
        let mut routed = a.clone();
        routed.subscription_id = Some(Uuid::new_v4());
        routed.hops.capture = Some(Utc::now());
        assert_eq!(a.content_hash(), routed.content_hash());
        assert_ne!(a.content_hash(), change(1, "y").content_hash());
        // Type tags keep 1 (integer) and "1" (text) apart.
        let mut text = a.clone();
        text.key[0].value = Value::Text("1".into());
        assert_ne!(a.content_hash(), text.content_hash());
    }

    #[test]
    fn set_checksum_is_order_independent_and_sees_duplicates() {
        let (a, b) = (change(1, "x"), change(2, "y"));
        let mut one = SetChecksum::default();
        one.add(&a.change_id(), &a.content_hash());
        one.add(&b.change_id(), &b.content_hash());
        let mut other = SetChecksum::default();
        other.add(&b.change_id(), &b.content_hash());
        other.add(&a.change_id(), &a.content_hash());
        assert_eq!(one.hex(), other.hex());
        other.add(&a.change_id(), &a.content_hash());
        assert_ne!(one.hex(), other.hex());
    }

    #[test]
    fn lsn_text_round_trips() {
        assert_eq!(lsn_text(0x16B3748), "0/16B3748");
        assert_eq!(lsn_text((3 << 32) | 0xAB), "3/AB");
        assert_eq!(parse_lsn("3/AB"), Some((3 << 32) | 0xAB));
        assert_eq!(parse_lsn("0/16B3748"), Some(0x16B3748));
        assert_eq!(parse_lsn("nope"), None);
        assert_eq!(parse_lsn("1/"), None);
    }

    #[test]
    fn change_ids_name_line_position_and_index() {
        let c = change(42, "x");
        assert_eq!(c.change_id(), "00000000-0000-0000-0000-000000000000:42:0");
    }
}
