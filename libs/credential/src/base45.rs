//! Base45 (RFC 9285): bytes as text in the QR alphanumeric character set,
//! which QR codes store in 5.5 bits per character instead of 8.

use crate::FormatError;

const ALPHABET: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// Encodes bytes as base45 text.
pub fn encode(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len().div_ceil(2) * 3);
    let mut push = |value: usize| text.push(char::from(ALPHABET[value % 45]));
    let mut pairs = bytes.chunks_exact(2);
    for pair in &mut pairs {
        let n = usize::from(pair[0]) * 256 + usize::from(pair[1]);
        push(n);
        push(n / 45);
        push(n / (45 * 45));
    }
    if let [last] = pairs.remainder() {
        let n = usize::from(*last);
        push(n);
        push(n / 45);
    }
    text
}

/// Decodes base45 text; any character outside the alphabet, a dangling
/// single character or a group whose value overflows is an error.
pub fn decode(text: &str) -> Result<Vec<u8>, FormatError> {
    let text = text.as_bytes();
    let mut bytes = Vec::with_capacity(text.len() / 3 * 2 + 1);
    for (group, chunk) in text.chunks(3).enumerate() {
        let start = group * 3;
        let mut n: u32 = 0;
        let mut weight = 1;
        for (offset, &c) in chunk.iter().enumerate() {
            let digit = value_of(c).ok_or(FormatError::Base45 {
                position: start + offset,
                reason: "not a base45 character",
            })?;
            n += digit * weight;
            weight *= 45;
        }
        match chunk.len() {
            3 if n <= 0xFFFF => bytes.extend_from_slice(&[(n >> 8) as u8, n as u8]),
            2 if n <= 0xFF => bytes.push(n as u8),
            1 => {
                return Err(FormatError::Base45 {
                    position: start,
                    reason: "a single trailing character (the text looks truncated)",
                });
            }
            _ => {
                return Err(FormatError::Base45 {
                    position: start,
                    reason: "the group's value is too large",
                });
            }
        }
    }
    Ok(bytes)
}

fn value_of(c: u8) -> Option<u32> {
    let value = match c {
        b'0'..=b'9' => c - b'0',
        b'A'..=b'Z' => c - b'A' + 10,
        b' ' => 36,
        b'$' => 37,
        b'%' => 38,
        b'*' => 39,
        b'+' => 40,
        b'-' => 41,
        b'.' => 42,
        b'/' => 43,
        b':' => 44,
        _ => return None,
    };
    Some(u32::from(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_9285_examples() {
        assert_eq!(encode(b"AB"), "BB8");
        assert_eq!(encode(b"Hello!!"), "%69 VD92EX0");
        assert_eq!(encode(b"base-45"), "UJCLQE7W581");
        assert_eq!(decode("QED8WEX0").as_deref(), Ok(&b"ietf!"[..]));
        assert_eq!(encode(b""), "");
        assert_eq!(decode("").as_deref(), Ok(&b""[..]));
    }

    #[test]
    fn every_byte_pair_round_trips() {
        let bytes: Vec<u8> = (0..=255u8)
            .flat_map(|a| [a, a.wrapping_mul(7)])
            .chain([255])
            .collect();
        assert_eq!(decode(&encode(&bytes)), Ok(bytes));
    }

    #[test]
    fn malformed_text_is_refused() {
        assert!(matches!(
            decode("GGW"),
            Err(FormatError::Base45 { position: 0, .. })
        )); // 65535 + 1
        assert!(matches!(
            decode("BB8A"),
            Err(FormatError::Base45 { position: 3, .. })
        ));
        assert!(matches!(
            decode("BB8a"),
            Err(FormatError::Base45 { position: 3, .. })
        ));
        assert!(matches!(
            decode(":::"),
            Err(FormatError::Base45 { position: 0, .. })
        ));
        assert!(matches!(decode("Z9"), Err(FormatError::Base45 { .. })));
        assert!(decode("BB8中文").is_err());
    }
}
