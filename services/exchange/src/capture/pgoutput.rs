//! Decoding of pgoutput's logical replication messages, protocol version 1
//! (PostgreSQL's "Logical Replication Message Formats").

use chrono::{DateTime, Utc};

use super::reader::{Malformed, Reader};

/// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
const POSTGRES_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// A PostgreSQL timestamp (microseconds since 2000-01-01) in UTC.
pub fn postgres_time(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros.saturating_add(POSTGRES_EPOCH_MICROS))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The inverse of [`postgres_time`].
pub fn postgres_micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros() - POSTGRES_EPOCH_MICROS
}

/// One column of a relation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationColumn {
    /// Part of the replica identity key.
    pub key: bool,
    pub name: String,
    pub type_oid: u32,
    pub type_modifier: i32,
}

/// A table's shape, sent before its first change and after it changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub id: u32,
    pub schema: String,
    pub name: String,
    /// `d` default, `n` nothing, `f` full, `i` index.
    pub replica_identity: u8,
    pub columns: Vec<RelationColumn>,
}

impl Relation {
    /// `schema.name`.
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

/// One column value of a tuple.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TupleValue {
    Null,
    /// Unchanged TOAST value: not sent.
    Unchanged,
    Text(String),
}

/// How an old row is identified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OldKind {
    /// Only the replica identity key columns (others NULL).
    Key,
    /// The whole old row (REPLICA IDENTITY FULL).
    Full,
}

/// A decoded pgoutput message.
#[derive(Debug, Clone, PartialEq)]
pub enum LogicalMessage {
    Begin {
        final_lsn: u64,
        commit_time: DateTime<Utc>,
        xid: u32,
    },
    Commit {
        commit_lsn: u64,
        end_lsn: u64,
        commit_time: DateTime<Utc>,
    },
    Origin,
    Relation(Relation),
    Type,
    Insert {
        relation_id: u32,
        new: Vec<TupleValue>,
    },
    Update {
        relation_id: u32,
        old: Option<(OldKind, Vec<TupleValue>)>,
        new: Vec<TupleValue>,
    },
    Delete {
        relation_id: u32,
        old: (OldKind, Vec<TupleValue>),
    },
    Truncate {
        relation_ids: Vec<u32>,
    },
    /// A logical decoding message (`pg_logical_emit_message`); not carried.
    Message,
}

/// Decodes one message (the payload of an XLogData).
pub fn decode(data: &[u8]) -> Result<LogicalMessage, Malformed> {
    let mut reader = Reader::new(data);
    let message = match reader.u8()? {
        b'B' => LogicalMessage::Begin {
            final_lsn: reader.u64()?,
            commit_time: postgres_time(reader.i64()?),
            xid: reader.u32()?,
        },
        b'C' => {
            let _flags = reader.u8()?;
            LogicalMessage::Commit {
                commit_lsn: reader.u64()?,
                end_lsn: reader.u64()?,
                commit_time: postgres_time(reader.i64()?),
            }
        }
        b'O' => {
            let _lsn = reader.u64()?;
            let _name = reader.cstr()?;
            LogicalMessage::Origin
        }
        b'R' => LogicalMessage::Relation(relation(&mut reader)?),
        b'Y' => {
            let _id = reader.u32()?;
            let _schema = reader.cstr()?;
            let _name = reader.cstr()?;
            LogicalMessage::Type
        }
        b'I' => {
            let relation_id = reader.u32()?;
            expect(&mut reader, b'N')?;
            LogicalMessage::Insert {
                relation_id,
                new: tuple(&mut reader)?,
            }
        }
        b'U' => {
            let relation_id = reader.u32()?;
            let (old, new) = match reader.u8()? {
                b'N' => (None, tuple(&mut reader)?),
                marker @ (b'K' | b'O') => {
                    let old = (old_kind(marker), tuple(&mut reader)?);
                    expect(&mut reader, b'N')?;
                    (Some(old), tuple(&mut reader)?)
                }
                other => return Err(Malformed(format!("bad update tuple marker {other}"))),
            };
            LogicalMessage::Update {
                relation_id,
                old,
                new,
            }
        }
        b'D' => {
            let relation_id = reader.u32()?;
            let marker = reader.u8()?;
            if !matches!(marker, b'K' | b'O') {
                return Err(Malformed(format!("bad delete tuple marker {marker}")));
            }
            LogicalMessage::Delete {
                relation_id,
                old: (old_kind(marker), tuple(&mut reader)?),
            }
        }
        b'T' => {
            let count = reader.u32()?;
            let _options = reader.u8()?;
            // Each id takes 4 bytes: a count the message cannot hold is garbage.
            if usize::try_from(count).map_or(true, |c| c > reader.remaining() / 4) {
                return Err(Malformed(
                    "truncate lists more relations than it holds".into(),
                ));
            }
            let relation_ids = (0..count).map(|_| reader.u32()).collect::<Result<_, _>>()?;
            LogicalMessage::Truncate { relation_ids }
        }
        b'M' => LogicalMessage::Message,
        other => {
            return Err(Malformed(format!(
                "unknown pgoutput message {:?}",
                char::from(other)
            )));
        }
    };
    Ok(message)
}

fn old_kind(marker: u8) -> OldKind {
    if marker == b'K' {
        OldKind::Key
    } else {
        OldKind::Full
    }
}

fn expect(reader: &mut Reader<'_>, wanted: u8) -> Result<(), Malformed> {
    let got = reader.u8()?;
    if got == wanted {
        Ok(())
    } else {
        Err(Malformed(format!(
            "expected {:?}, got {:?}",
            char::from(wanted),
            char::from(got)
        )))
    }
}

fn relation(reader: &mut Reader<'_>) -> Result<Relation, Malformed> {
    let id = reader.u32()?;
    let schema = reader.cstr()?.to_owned();
    let name = reader.cstr()?.to_owned();
    let replica_identity = reader.u8()?;
    let count = column_count(reader)?;
    let mut columns = Vec::with_capacity(count);
    for _ in 0..count {
        let flags = reader.u8()?;
        columns.push(RelationColumn {
            key: flags & 1 == 1,
            name: reader.cstr()?.to_owned(),
            type_oid: reader.u32()?,
            type_modifier: reader.i32()?,
        });
    }
    Ok(Relation {
        id,
        schema,
        name,
        replica_identity,
        columns,
    })
}

fn column_count(reader: &mut Reader<'_>) -> Result<usize, Malformed> {
    let count = reader.i16()?;
    let count = usize::try_from(count).map_err(|_| Malformed("negative column count".into()))?;
    // Every column takes at least one byte.
    if count > reader.remaining() {
        return Err(Malformed("more columns than bytes".into()));
    }
    Ok(count)
}

fn tuple(reader: &mut Reader<'_>) -> Result<Vec<TupleValue>, Malformed> {
    let count = column_count(reader)?;
    let mut values = Vec::with_capacity(count);
    for _ in 0..count {
        let value = match reader.u8()? {
            b'n' => TupleValue::Null,
            b'u' => TupleValue::Unchanged,
            b't' => {
                let bytes = reader
                    .counted()?
                    .ok_or_else(|| Malformed("text value with NULL length".into()))?;
                TupleValue::Text(
                    String::from_utf8(bytes.to_vec())
                        .map_err(|_| Malformed("text value is not UTF-8".into()))?,
                )
            }
            b'b' => return Err(Malformed("binary values were not asked for".into())),
            other => return Err(Malformed(format!("bad tuple value kind {other}"))),
        };
        values.push(value);
    }
    Ok(values)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds pgoutput messages the way the server writes them.
    #[derive(Default)]
    pub struct Build(pub Vec<u8>);

    impl Build {
        pub fn new(kind: u8) -> Self {
            Self(vec![kind])
        }
        pub fn u8(mut self, v: u8) -> Self {
            self.0.push(v);
            self
        }
        pub fn i16(mut self, v: i16) -> Self {
            self.0.extend_from_slice(&v.to_be_bytes());
            self
        }
        pub fn u32(mut self, v: u32) -> Self {
            self.0.extend_from_slice(&v.to_be_bytes());
            self
        }
        pub fn i32(mut self, v: i32) -> Self {
            self.0.extend_from_slice(&v.to_be_bytes());
            self
        }
        pub fn u64(mut self, v: u64) -> Self {
            self.0.extend_from_slice(&v.to_be_bytes());
            self
        }
        pub fn i64(mut self, v: i64) -> Self {
            self.0.extend_from_slice(&v.to_be_bytes());
            self
        }
        pub fn cstr(mut self, v: &str) -> Self {
            self.0.extend_from_slice(v.as_bytes());
            self.0.push(0);
            self
        }
        /// Tuple data from text values (`None` = NULL).
        pub fn tuple(mut self, values: &[Option<&str>]) -> Self {
            self = self.i16(values.len() as i16);
            for value in values {
                match value {
                    None => self = self.u8(b'n'),
                    Some(text) => {
                        self = self.u8(b't').i32(text.len() as i32);
                        self.0.extend_from_slice(text.as_bytes());
                    }
                }
            }
            self
        }
    }

    pub fn relation_message(id: u32, columns: &[(&str, u32, bool)]) -> Vec<u8> {
        let mut build = Build::new(b'R')
            .u32(id)
            .cstr("public")
            .cstr("people")
            .u8(b'd')
            .i16(columns.len() as i16);
        for (name, oid, key) in columns {
            build = build.u8(u8::from(*key)).cstr(name).u32(*oid).i32(-1);
        }
        build.0
    }

    #[test]
    fn decodes_begin_and_commit() {
        let begin = Build::new(b'B').u64(0x10).i64(1_000_000).u32(77).0;
        assert_eq!(
            decode(&begin).unwrap(),
            LogicalMessage::Begin {
                final_lsn: 0x10,
                commit_time: postgres_time(1_000_000),
                xid: 77
            }
        );
        assert_eq!(postgres_time(0).to_rfc3339(), "2000-01-01T00:00:00+00:00");
        let commit = Build::new(b'C').u8(0).u64(0x10).u64(0x38).i64(5).0;
        assert_eq!(
            decode(&commit).unwrap(),
            LogicalMessage::Commit {
                commit_lsn: 0x10,
                end_lsn: 0x38,
                commit_time: postgres_time(5)
            }
        );
    }

    #[test]
    fn decodes_relations_with_key_flags() {
        let message = relation_message(9, &[("id", 23, true), ("name", 25, false)]);
        let LogicalMessage::Relation(relation) = decode(&message).unwrap() else {
            panic!("not a relation");
        };
        assert_eq!(relation.qualified(), "public.people");
        assert_eq!(relation.replica_identity, b'd');
        assert!(relation.columns[0].key && !relation.columns[1].key);
        assert_eq!(relation.columns[1].type_oid, 25);
    }

    #[test]
    fn decodes_row_changes() {
        let insert = Build::new(b'I').u32(9).u8(b'N').tuple(&[Some("1"), None]).0;
        assert_eq!(
            decode(&insert).unwrap(),
            LogicalMessage::Insert {
                relation_id: 9,
                new: vec![TupleValue::Text("1".into()), TupleValue::Null]
            }
        );
        let mut update = Build::new(b'U')
            .u32(9)
            .u8(b'O')
            .tuple(&[Some("1"), Some("old")])
            .u8(b'N')
            .i16(2)
            .u8(b't')
            .i32(1);
        update.0.push(b'1');
        update = update.u8(b'u');
        assert_eq!(
            decode(&update.0).unwrap(),
            LogicalMessage::Update {
                relation_id: 9,
                old: Some((
                    OldKind::Full,
                    vec![TupleValue::Text("1".into()), TupleValue::Text("old".into())]
                )),
                new: vec![TupleValue::Text("1".into()), TupleValue::Unchanged]
            }
        );
        let plain_update = Build::new(b'U').u32(9).u8(b'N').tuple(&[Some("2")]).0;
        assert!(matches!(
            decode(&plain_update).unwrap(),
            LogicalMessage::Update { old: None, .. }
        ));
        let delete = Build::new(b'D').u32(9).u8(b'K').tuple(&[Some("1"), None]).0;
        assert_eq!(
            decode(&delete).unwrap(),
            LogicalMessage::Delete {
                relation_id: 9,
                old: (
                    OldKind::Key,
                    vec![TupleValue::Text("1".into()), TupleValue::Null]
                )
            }
        );
        let truncate = Build::new(b'T').u32(2).u8(0).u32(9).u32(10).0;
        assert_eq!(
            decode(&truncate).unwrap(),
            LogicalMessage::Truncate {
                relation_ids: vec![9, 10]
            }
        );
    }

    #[test]
    fn skips_types_origins_and_messages() {
        let type_message = Build::new(b'Y').u32(1).cstr("public").cstr("mood").0;
        assert_eq!(decode(&type_message).unwrap(), LogicalMessage::Type);
        let origin = Build::new(b'O').u64(1).cstr("elsewhere").0;
        assert_eq!(decode(&origin).unwrap(), LogicalMessage::Origin);
        assert_eq!(decode(b"M\0").unwrap(), LogicalMessage::Message);
    }

    #[test]
    fn garbage_and_truncation_are_errors() {
        let insert = Build::new(b'I').u32(9).u8(b'N').tuple(&[Some("hello")]).0;
        for cut in 0..insert.len() {
            assert!(decode(&insert[..cut]).is_err(), "cut at {cut}");
        }
        let relation = relation_message(9, &[("id", 23, true)]);
        for cut in 0..relation.len() {
            assert!(decode(&relation[..cut]).is_err(), "cut at {cut}");
        }
        assert!(decode(b"Zjunk").is_err());
        assert!(decode(&Build::new(b'I').u32(9).u8(b'X').0).is_err());
        assert!(decode(&Build::new(b'I').u32(9).u8(b'N').i16(-1).0).is_err());
        assert!(decode(&Build::new(b'I').u32(9).u8(b'N').i16(30000).0).is_err());
        assert!(decode(&Build::new(b'T').u32(u32::MAX).u8(0).0).is_err());
        assert!(decode(&Build::new(b'D').u32(9).u8(b'N').tuple(&[]).0).is_err());
        let bad_utf8 = Build::new(b'I')
            .u32(9)
            .u8(b'N')
            .i16(1)
            .u8(b't')
            .i32(1)
            .u8(0xff)
            .0;
        assert!(decode(&bad_utf8).is_err());
        // Arbitrary bytes never panic.
        let mut seed = 7u32;
        for _ in 0..2000 {
            let len = (seed % 40) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (seed >> 16) as u8
                })
                .collect();
            let _ = decode(&bytes);
        }
    }
}
