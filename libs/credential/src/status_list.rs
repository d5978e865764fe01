//! Bitstring status lists in the style of the W3C Bitstring Status List:
//! one bit a certificate (set = revoked or suspended), published gzip
//! compressed, large enough that a list does not reveal which holder a
//! verifier asks about.

use base64::Engine as _;

use crate::FormatError;
use crate::deflate::{gzip_compress, gzip_inflate};
use crate::encoding::B64URL;

/// The smallest list (16 KiB): the W3C minimum, for herd privacy.
pub const MIN_STATUS_LIST_BITS: usize = 131_072;

/// A fixed-length list of bits. Bit `i` is the `(i mod 8)`-th most
/// significant bit of byte `i / 8`, so index 0 is the left-most bit.
#[derive(Clone, PartialEq, Eq)]
pub struct Bitstring {
    bytes: Vec<u8>,
}

impl Bitstring {
    /// A list of `bits` zero bits; at least [`MIN_STATUS_LIST_BITS`], in
    /// whole bytes.
    pub fn new(bits: usize) -> Result<Self, FormatError> {
        check_size(bits)?;
        Ok(Self {
            bytes: vec![0; bits / 8],
        })
    }

    /// Number of bits.
    pub fn len(&self) -> usize {
        self.bytes.len() * 8
    }

    /// Never true: a list has at least [`MIN_STATUS_LIST_BITS`].
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn get(&self, index: usize) -> Option<bool> {
        let byte = self.bytes.get(index / 8)?;
        Some(byte & mask(index) != 0)
    }

    pub fn set(&mut self, index: usize, value: bool) -> Result<(), FormatError> {
        let len = self.len();
        let byte = self
            .bytes
            .get_mut(index / 8)
            .ok_or(FormatError::StatusIndex { index, len })?;
        if value {
            *byte |= mask(index);
        } else {
            *byte &= !mask(index);
        }
        Ok(())
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, FormatError> {
        check_size(bytes.len().saturating_mul(8))?;
        Ok(Self { bytes })
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The gzip form lists are published in.
    pub fn encode_gzip(&self) -> Vec<u8> {
        gzip_compress(&self.bytes)
    }

    /// Reads the gzip form of a list of exactly `expected_bits`; output
    /// beyond `expected_bits / 8` bytes is refused while inflating.
    pub fn decode_gzip(gz: &[u8], expected_bits: usize) -> Result<Self, FormatError> {
        check_size(expected_bits)?;
        let expected = expected_bits / 8;
        let bytes = gzip_inflate(gz, expected)?;
        if bytes.len() != expected {
            return Err(FormatError::StatusListLength {
                actual: bytes.len(),
                expected,
            });
        }
        Self::from_bytes(bytes)
    }

    /// The W3C `encodedList` text: multibase base64url (`u` prefix) of the
    /// gzip form.
    pub fn to_encoded_list(&self) -> String {
        let mut text = String::from("u");
        B64URL.encode_string(self.encode_gzip(), &mut text);
        text
    }

    /// Reads an `encodedList` written by [`to_encoded_list`](Self::to_encoded_list).
    pub fn from_encoded_list(text: &str, expected_bits: usize) -> Result<Self, FormatError> {
        let encoded = text.strip_prefix('u').ok_or(FormatError::Base64 {
            part: "encoded list",
        })?;
        let gz = B64URL.decode(encoded).map_err(|_| FormatError::Base64 {
            part: "encoded list",
        })?;
        Self::decode_gzip(&gz, expected_bits)
    }
}

impl std::fmt::Debug for Bitstring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = self
            .bytes
            .iter()
            .map(|b| b.count_ones() as usize)
            .sum::<usize>();
        write!(f, "Bitstring({} bits, {set} set)", self.len())
    }
}

fn mask(index: usize) -> u8 {
    0x80 >> (index % 8)
}

fn check_size(bits: usize) -> Result<(), FormatError> {
    if bits < MIN_STATUS_LIST_BITS || !bits.is_multiple_of(8) {
        return Err(FormatError::StatusListSize {
            bits,
            minimum: MIN_STATUS_LIST_BITS,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_zero_is_the_most_significant_bit_of_the_first_byte() {
        let mut list = Bitstring::new(MIN_STATUS_LIST_BITS).unwrap();
        list.set(0, true).unwrap();
        list.set(9, true).unwrap();
        list.set(MIN_STATUS_LIST_BITS - 1, true).unwrap();
        assert_eq!(&list.as_bytes()[..2], &[0b1000_0000, 0b0100_0000]);
        assert_eq!(list.as_bytes().last(), Some(&0b0000_0001));
        assert_eq!(list.get(0), Some(true));
        assert_eq!(list.get(1), Some(false));
        assert_eq!(list.get(9), Some(true));
        list.set(9, false).unwrap();
        assert_eq!(list.get(9), Some(false));
        assert_eq!(list.as_bytes()[1], 0);
        assert_eq!(list.get(MIN_STATUS_LIST_BITS), None);
        assert_eq!(
            list.set(MIN_STATUS_LIST_BITS, true),
            Err(FormatError::StatusIndex {
                index: MIN_STATUS_LIST_BITS,
                len: MIN_STATUS_LIST_BITS
            })
        );
        assert_eq!(list.len(), MIN_STATUS_LIST_BITS);
    }

    #[test]
    fn lists_below_the_minimum_or_in_partial_bytes_are_refused() {
        assert!(Bitstring::new(MIN_STATUS_LIST_BITS - 8).is_err());
        assert!(Bitstring::new(MIN_STATUS_LIST_BITS + 3).is_err());
        assert!(Bitstring::new(MIN_STATUS_LIST_BITS + 8).is_ok());
        assert!(Bitstring::from_bytes(vec![0; 1000]).is_err());
    }

    #[test]
    fn gzip_round_trip_with_a_hard_limit() {
        let mut list = Bitstring::new(MIN_STATUS_LIST_BITS * 2).unwrap();
        for index in [3, 77, 100_000, 262_143] {
            list.set(index, true).unwrap();
        }
        let gz = list.encode_gzip();
        assert!(gz.starts_with(&[0x1f, 0x8b]));
        assert!(
            gz.len() < 1024,
            "a sparse list compresses well: {} bytes",
            gz.len()
        );
        assert_eq!(
            Bitstring::decode_gzip(&gz, MIN_STATUS_LIST_BITS * 2),
            Ok(list.clone())
        );
        assert_eq!(
            Bitstring::decode_gzip(&gz, MIN_STATUS_LIST_BITS),
            Err(FormatError::InflatedTooLarge {
                limit: MIN_STATUS_LIST_BITS / 8
            })
        );
        assert_eq!(
            Bitstring::decode_gzip(&gz, MIN_STATUS_LIST_BITS * 3),
            Err(FormatError::StatusListLength {
                actual: MIN_STATUS_LIST_BITS * 2 / 8,
                expected: MIN_STATUS_LIST_BITS * 3 / 8
            })
        );
        assert_eq!(
            Bitstring::decode_gzip(b"not gzip", MIN_STATUS_LIST_BITS),
            Err(FormatError::Compression)
        );
        assert_eq!(
            Bitstring::decode_gzip(&gz[..gz.len() - 8], MIN_STATUS_LIST_BITS * 2),
            Err(FormatError::Compression)
        );

        let encoded = list.to_encoded_list();
        assert!(encoded.starts_with('u'));
        assert_eq!(
            Bitstring::from_encoded_list(&encoded, MIN_STATUS_LIST_BITS * 2),
            Ok(list)
        );
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_limit() {
        let bomb = gzip_compress(&vec![0u8; 4 * 1024 * 1024]);
        assert!(bomb.len() < 16 * 1024);
        assert_eq!(
            Bitstring::decode_gzip(&bomb, MIN_STATUS_LIST_BITS),
            Err(FormatError::InflatedTooLarge {
                limit: MIN_STATUS_LIST_BITS / 8
            })
        );
    }
}
