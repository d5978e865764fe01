//! Many Ed25519 signatures checked at once with ed25519-dalek's batch
//! equation, each answered as ring's one-at-a-time check answers it, at a
//! fraction of the cost per signature while they are good.
//!
//! Ring accepts a signature `(R, s)` by key `A` on message `M` when
//! `s < ℓ` and the encoding of `sB − H(R‖A‖M)·A` is the bytes of `R` (the
//! cofactorless equation). The batch instead checks that a random
//! combination `Σ zᵢ·(Rᵢ + hᵢAᵢ − sᵢB)` of decoded points is zero. The two
//! agree on every signature offered to the batch, which is only one with
//! - a canonical `s` (`s < ℓ`), as ring requires, whatever features
//!   ed25519-dalek is built with;
//! - canonical encodings of `R` and `A`: the batch decodes `R`, which
//!   would let a second encoding of the right point pass where ring's
//!   byte comparison fails it;
//! - a key of the large prime order (checked once per key), neither of
//!   small order nor with a small-order part: a signature whose equation
//!   misses by a small-order point fails ring but can pass the batch, and
//!   under such keys anyone can make one. Ring accepts
//!   signatures under these keys that nobody signed (under the identity
//!   key, any `R = sB`), so a trust list must never hold them; if one
//!   does, its signatures are checked one by one and get ring's answer.
//!
//! Everything else is checked by ring alone. Signatures are batched up
//! to [`MAX_BATCH`] at a time; a batch that fails is checked one by one,
//! which bounds the cost of any mix of bad signatures to about 1.4 times
//! that of checking each alone. A batch of one is checked alone, so it
//! costs what a single check does.
//!
//! One difference remains. A signature that misses only by a small-order
//! point added to `R` (`R = rB + T`, `s = r + h·a`) fails ring, yet passes
//! the batch when the batch's coefficient for it cancels `T` (one time in
//! two, four or eight, by the order of `T`). Only the holder of the private key can make one, so it
//! is no forgery: that key could sign the same token properly. Ring, and
//! so this crate, never sign that way, and finding `T` would cost a scalar
//! multiplication per signature, as much as checking it alone. As with any
//! batch verification, a set of signatures passes wrongly with a chance
//! of at most about 2⁻¹²⁸.

use std::ops::Range;
use std::sync::OnceLock;

use ed25519_dalek::{Signature, VerifyingKey, verify_batch};

use crate::PublicKey;

/// Below this many signatures a batch costs more than checking each alone.
const MIN_BATCH: usize = 2;

/// The most signatures checked in one batch. Larger batches save little
/// (measured here: 20.0 µs a signature in batches of 32, 18.3 µs in
/// batches of 128, 47.5 µs alone), and one bad signature sends its whole
/// batch to be checked one by one.
const MAX_BATCH: usize = 32;

/// A trusted key made ready for batch verification on first use, once:
/// decoded, or `None` when its signatures must be checked one by one.
#[derive(Clone, Default)]
pub(crate) struct BatchKey(OnceLock<Option<VerifyingKey>>);

impl std::fmt::Debug for BatchKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.0.get() {
            None => "not yet used",
            Some(Some(_)) => "batched",
            Some(None) => "checked alone",
        };
        write!(f, "BatchKey({state})")
    }
}

impl BatchKey {
    /// `key` must be the key this was made for, always the same one.
    fn prepared(&self, key: &PublicKey) -> Option<&VerifyingKey> {
        self.0.get_or_init(|| prepare(key)).as_ref()
    }
}

fn prepare(key: &PublicKey) -> Option<VerifyingKey> {
    if !is_canonical_point(&key.0) {
        return None;
    }
    // The identity passes as torsion-free, yet is of small order too.
    VerifyingKey::from_bytes(&key.0)
        .ok()
        .filter(|key| !key.is_weak() && key.to_edwards().is_torsion_free())
}

/// One signature to check: `signature` by `key` on `message`.
pub(crate) struct SignatureCheck<'a> {
    pub(crate) message: &'a [u8],
    pub(crate) signature: &'a [u8; 64],
    pub(crate) key: &'a PublicKey,
    /// Made for `key`.
    pub(crate) batch_key: &'a BatchKey,
}

impl SignatureCheck<'_> {
    fn verify_alone(&self) -> bool {
        self.key.verify(self.message, self.signature)
    }
}

/// Whether each signature is valid, as [`PublicKey::verify`] answers it.
pub(crate) fn verify_signatures(checks: &[SignatureCheck<'_>]) -> Vec<bool> {
    if checks.len() < MIN_BATCH {
        return checks.iter().map(SignatureCheck::verify_alone).collect();
    }
    let mut verdicts = vec![false; checks.len()];
    let mut batch = Batch::with_capacity(checks.len());
    for (index, check) in checks.iter().enumerate() {
        match check.batch_key.prepared(check.key) {
            Some(key) if is_canonical_signature(check.signature) => {
                batch.push(index, check.message, check.signature, key);
            }
            _ => verdicts[index] = check.verify_alone(),
        }
    }
    for group in batch.groups() {
        if group.len() >= MIN_BATCH && batch.holds(group.clone()) {
            for position in group {
                verdicts[batch.indices[position]] = true;
            }
        } else {
            // Halving the group would find one bad signature a little
            // sooner, but many (an attacker's) far later than this.
            for position in group {
                let index = batch.indices[position];
                verdicts[index] = checks[index].verify_alone();
            }
        }
    }
    verdicts
}

/// The batch-verifiable signatures, as the parallel slices
/// [`verify_batch`] takes, with where each came from in the checks.
struct Batch<'a> {
    indices: Vec<usize>,
    messages: Vec<&'a [u8]>,
    signatures: Vec<Signature>,
    keys: Vec<VerifyingKey>,
}

impl<'a> Batch<'a> {
    fn with_capacity(capacity: usize) -> Self {
        Self {
            indices: Vec::with_capacity(capacity),
            messages: Vec::with_capacity(capacity),
            signatures: Vec::with_capacity(capacity),
            keys: Vec::with_capacity(capacity),
        }
    }

    fn push(&mut self, index: usize, message: &'a [u8], signature: &[u8; 64], key: &VerifyingKey) {
        self.indices.push(index);
        self.messages.push(message);
        self.signatures.push(Signature::from_bytes(signature));
        self.keys.push(*key);
    }

    /// Consecutive groups of at most [`MAX_BATCH`], as even as can be.
    fn groups(&self) -> impl Iterator<Item = Range<usize>> + use<> {
        let len = self.indices.len();
        let count = len.div_ceil(MAX_BATCH);
        (0..count).map(move |n| n * len / count..(n + 1) * len / count)
    }

    fn holds(&self, group: Range<usize>) -> bool {
        verify_batch(
            &self.messages[group.clone()],
            &self.signatures[group.clone()],
            &self.keys[group],
        )
        .is_ok()
    }
}

/// ℓ, the order of the base point, little-endian.
const GROUP_ORDER: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// p = 2²⁵⁵ − 19, the field's modulus, little-endian.
const FIELD_MODULUS: [u8; 32] = {
    let mut p = [0xff; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    p
};

/// 1 and p − 1, the two `y` of the points with `x = 0`.
const ONE: [u8; 32] = {
    let mut one = [0; 32];
    one[0] = 1;
    one
};
const MINUS_ONE: [u8; 32] = {
    let mut minus_one = FIELD_MODULUS;
    minus_one[0] = 0xec;
    minus_one
};

fn is_canonical_signature(signature: &[u8; 64]) -> bool {
    let (r, s) = signature.split_at(32);
    let (Ok(r), Ok(s)) = (<&[u8; 32]>::try_from(r), <&[u8; 32]>::try_from(s)) else {
        return false;
    };
    is_canonical_point(r) && is_less(s, &GROUP_ORDER)
}

/// Whether `encoded` is the one encoding of its point: `y < p`, and no
/// sign bit on an `x` of zero.
fn is_canonical_point(encoded: &[u8; 32]) -> bool {
    let mut y = *encoded;
    y[31] &= 0x7f;
    let negative_x = encoded[31] & 0x80 != 0;
    is_less(&y, &FIELD_MODULUS) && !(negative_x && (y == ONE || y == MINUS_ONE))
}

/// `a < b`, both little-endian.
fn is_less(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().rev().lt(b.iter().rev())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_canonical_encodings_count_as_canonical() {
        assert!(is_less(&ONE, &GROUP_ORDER));
        assert!(!is_less(&GROUP_ORDER, &GROUP_ORDER));
        let mut below_order = GROUP_ORDER;
        below_order[0] -= 1;
        assert!(is_less(&below_order, &GROUP_ORDER));
        let mut above_order = GROUP_ORDER;
        above_order[1] += 1;
        assert!(!is_less(&above_order, &GROUP_ORDER));

        assert!(is_canonical_point(&ONE));
        assert!(is_canonical_point(&MINUS_ONE));
        let mut p_minus_two = MINUS_ONE;
        p_minus_two[0] -= 1;
        p_minus_two[31] |= 0x80;
        assert!(is_canonical_point(&p_minus_two));
        assert!(!is_canonical_point(&FIELD_MODULUS));
        let mut p_plus_one = FIELD_MODULUS;
        p_plus_one[0] += 1;
        assert!(!is_canonical_point(&p_plus_one));
        let mut negative_zero_x = ONE;
        negative_zero_x[31] |= 0x80;
        assert!(!is_canonical_point(&negative_zero_x));
        let mut negative_zero_x = MINUS_ONE;
        negative_zero_x[31] |= 0x80;
        assert!(!is_canonical_point(&negative_zero_x));
    }

    #[test]
    fn keys_with_a_small_order_part_are_not_batched() {
        let (key, _) = crate::SigningKey::generate("k").unwrap();
        assert!(BatchKey::default().prepared(&key.public_key()).is_some());
        let identity = PublicKey(ONE);
        assert!(BatchKey::default().prepared(&identity).is_none());
        let order_two = PublicKey(MINUS_ONE);
        assert!(BatchKey::default().prepared(&order_two).is_none());
    }
}
