//! The chain hash: what links each sealed record to the one before it.
//!
//! `hash(n) = SHA-256(hash(n-1) ‖ n ‖ fields)`, where `hash(0)` is 32 zero
//! bytes, `n` is the sequence number as 8 big-endian bytes and every field
//! is preceded by its length (8 big-endian bytes). The length prefixes stop
//! text moving from one field to its neighbour ("ab"+"c" vs "a"+"bc") while
//! the hash stays the same.

use chrono::SecondsFormat;
use sha2::{Digest as _, Sha256};

use crate::entity::audit_log;

/// A SHA-256 chain hash.
pub(crate) type Digest = [u8; 32];

/// What the first record links to.
pub(crate) const GENESIS: Digest = [0; 32];

/// The hashed fields of a record, in hashing order: record id, time, actor,
/// tenant, action, target, outcome, reason, trace id, peer.
pub(crate) type Fields<'a> = [&'a str; 10];

/// The chain hash of the record at `sequence` following `prev`.
pub(crate) fn chain_hash(prev: &Digest, sequence: u64, fields: &Fields<'_>) -> Digest {
    let mut hasher = Sha256::new();
    hasher.update(prev);
    hasher.update(sequence.to_be_bytes());
    for field in fields {
        hasher.update((field.len() as u64).to_be_bytes());
        hasher.update(field.as_bytes());
    }
    hasher.finalize().into()
}

/// The chain hash of a stored record, from its fields in their canonical text
/// form (hyphenated lowercase id, RFC 3339 UTC time with microseconds).
pub(crate) fn record_hash(prev: &Digest, sequence: u64, row: &audit_log::Model) -> Digest {
    let record_id = row.record_id.hyphenated().to_string();
    let at = row.at.to_rfc3339_opts(SecondsFormat::Micros, true);
    chain_hash(
        prev,
        sequence,
        &[
            &record_id,
            &at,
            &row.actor,
            &row.tenant,
            &row.action,
            &row.target,
            &row.outcome,
            &row.reason,
            &row.trace_id,
            &row.peer,
        ],
    )
}

/// Lowercase hex, the stored form of a hash.
pub(crate) fn to_hex(digest: &Digest) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(digest.len() * 2);
    for byte in digest {
        hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
        hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    hex
}

/// Parses a stored hash; `None` unless it is exactly 64 hex digits.
pub(crate) fn from_hex(hex: &str) -> Option<Digest> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut digest = [0u8; 32];
    for (byte, pair) in digest.iter_mut().zip(bytes.chunks_exact(2)) {
        let high = char::from(pair[0]).to_digit(16)?;
        let low = char::from(pair[1]).to_digit(16)?;
        *byte = u8::try_from(high * 16 + low).ok()?;
    }
    Some(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: Fields<'static> = [
        "0190c3e5-0000-7000-8000-000000000001",
        "2025-03-01T08:30:00.123456Z",
        "alice",
        "331100/housing-fund",
        "/zhongtai.approval.v1.ApprovalService/CreateServiceItem",
        "service_item/42",
        "denied",
        "ROLE_NOT_ALLOWED",
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "10.0.0.7:51234",
    ];

    #[test]
    fn the_same_record_hashes_the_same() {
        assert_eq!(
            chain_hash(&GENESIS, 1, &FIELDS),
            chain_hash(&GENESIS, 1, &FIELDS)
        );
    }

    #[test]
    fn changing_any_field_changes_the_hash() {
        let original = chain_hash(&GENESIS, 1, &FIELDS);
        for index in 0..FIELDS.len() {
            let changed_value = format!("{}x", FIELDS[index]);
            let mut changed = FIELDS;
            changed[index] = &changed_value;
            assert_ne!(
                chain_hash(&GENESIS, 1, &changed),
                original,
                "field {index} is not covered by the hash"
            );
        }
    }

    #[test]
    fn sequence_and_previous_hash_are_covered() {
        let original = chain_hash(&GENESIS, 1, &FIELDS);
        assert_ne!(chain_hash(&GENESIS, 2, &FIELDS), original);
        let mut other_prev = GENESIS;
        other_prev[31] = 1;
        assert_ne!(chain_hash(&other_prev, 1, &FIELDS), original);
    }

    #[test]
    fn text_cannot_move_across_a_field_boundary() {
        let mut shifted = FIELDS;
        // "alice" + "331100/housing-fund" → "alice3" + "31100/housing-fund":
        // the concatenation is the same, the hash must not be.
        shifted[2] = "alice3";
        shifted[3] = "31100/housing-fund";
        assert_eq!(shifted.concat(), FIELDS.concat());
        assert_ne!(
            chain_hash(&GENESIS, 1, &shifted),
            chain_hash(&GENESIS, 1, &FIELDS)
        );

        let mut emptied = FIELDS;
        emptied[7] = "";
        emptied[8] = "ROLE_NOT_ALLOWED4bf92f3577b34da6a3ce929d0e0e4736";
        assert_eq!(emptied.concat(), FIELDS.concat());
        assert_ne!(
            chain_hash(&GENESIS, 1, &emptied),
            chain_hash(&GENESIS, 1, &FIELDS)
        );
    }

    #[test]
    fn genesis_link_is_sha256_of_the_documented_layout() {
        // Recomputed by hand from the layout in the module docs, so the
        // format cannot drift without this test noticing.
        let mut expected = Sha256::new();
        expected.update([0u8; 32]);
        expected.update(1u64.to_be_bytes());
        for field in FIELDS {
            expected.update((field.len() as u64).to_be_bytes());
            expected.update(field.as_bytes());
        }
        let expected: Digest = expected.finalize().into();
        assert_eq!(chain_hash(&GENESIS, 1, &FIELDS), expected);
    }

    #[test]
    fn stored_rows_hash_in_their_canonical_text_form() {
        let at = chrono::DateTime::parse_from_rfc3339("2025-03-01T16:30:00.123456+08:00")
            .expect("valid time")
            .with_timezone(&chrono::Utc);
        let row = audit_log::Model {
            id: 1,
            record_id: uuid::Uuid::parse_str("0190C3E5-0000-7000-8000-000000000001")
                .expect("valid id"),
            at,
            actor: FIELDS[2].into(),
            tenant: FIELDS[3].into(),
            action: FIELDS[4].into(),
            target: FIELDS[5].into(),
            outcome: FIELDS[6].into(),
            reason: FIELDS[7].into(),
            trace_id: FIELDS[8].into(),
            peer: FIELDS[9].into(),
            seq: None,
            prev_hash: None,
            hash: None,
            sealed_at: None,
        };
        assert_eq!(
            record_hash(&GENESIS, 1, &row),
            chain_hash(&GENESIS, 1, &FIELDS)
        );
    }

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        let digest = chain_hash(&GENESIS, 7, &FIELDS);
        let hex = to_hex(&digest);
        assert_eq!(hex.len(), 64);
        assert_eq!(from_hex(&hex), Some(digest));
        assert_eq!(from_hex(&hex.to_uppercase()), Some(digest));
        assert_eq!(to_hex(&GENESIS), "0".repeat(64));
        assert_eq!(from_hex(&hex[..63]), None);
        assert_eq!(from_hex(&format!("{}zz", &hex[..62])), None);
        assert_eq!(from_hex("é".repeat(32).as_str()), None);
    }
}
