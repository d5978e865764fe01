//! Percent-decoding of path segments and query strings (RFC 3986; `+` is a
//! space only in query strings, as HTML forms send it).

use std::borrow::Cow;

/// `text` with `%XX` escapes (and, if `plus_is_space`, `+`) decoded; `None`
/// when an escape is malformed or the result is not UTF-8.
pub(crate) fn decode(text: &str, plus_is_space: bool) -> Option<Cow<'_, str>> {
    let needs_decoding = text.contains('%') || (plus_is_space && text.contains('+'));
    if !needs_decoding {
        return Some(Cow::Borrowed(text));
    }
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'%' => {
                let high = hex_value(*bytes.get(index + 1)?)?;
                let low = hex_value(*bytes.get(index + 2)?)?;
                decoded.push(high << 4 | low);
                index += 3;
            }
            b'+' if plus_is_space => {
                decoded.push(b' ');
                index += 1;
            }
            byte => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8(decoded).ok().map(Cow::Owned)
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_escapes_and_form_spaces() {
        assert_eq!(decode("a%2Fb%20c", false).as_deref(), Some("a/b c"));
        assert_eq!(decode("a+b", false).as_deref(), Some("a+b"));
        assert_eq!(decode("a+b", true).as_deref(), Some("a b"));
        assert_eq!(decode("%E8%AF%81", false).as_deref(), Some("证"));
    }

    #[test]
    fn refuses_broken_escapes() {
        assert_eq!(decode("%zz", false), None);
        assert_eq!(decode("abc%2", false), None);
        assert_eq!(decode("%FF", false), None);
    }
}
