//! The canonical request: the one text both sides build from a request and
//! sign, insensitive to what proxies may legitimately change (query order,
//! escaping, header case and folding whitespace).

use std::fmt::Write as _;

use http::HeaderMap;
use ring::digest;

use super::SignatureHeaders;

/// First line of every canonical request: the scheme and its version.
pub const ALGORITHM: &str = "ZT1-HMAC-SHA256";

/// Headers signed whenever the request carries them.
pub(super) const ALWAYS_SIGNED: [&str; 2] = ["content-type", "host"];

/// The text that is signed (lines joined by `\n`, no trailing newline).
pub fn canonical_request(
    method: &str,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    signed: &SignatureHeaders,
    body: &[u8],
) -> String {
    let names = signed_header_names(headers, &signed.signed_headers);
    let mut out = String::with_capacity(256 + path.len());
    out.push_str(ALGORITHM);
    out.push('\n');
    out.push_str(&method.to_ascii_uppercase());
    out.push('\n');
    out.push_str(path);
    out.push('\n');
    out.push_str(&canonical_query(query));
    out.push('\n');
    for name in &names {
        out.push_str(name);
        out.push(':');
        out.push_str(&header_value(headers, name));
        out.push('\n');
    }
    out.push_str(&names.join(";"));
    out.push('\n');
    // Writing to a String cannot fail.
    let _ = write!(out, "{}\n{}\n", signed.timestamp, signed.nonce);
    out.push_str(&hex::encode(digest::digest(&digest::SHA256, body)));
    out
}

/// Every signed header name, sorted: `host` and `content-type` when
/// present, and the `extra` ones the client listed.
pub fn signed_header_names(headers: &HeaderMap, extra: &[String]) -> Vec<String> {
    let mut names: Vec<String> = ALWAYS_SIGNED
        .iter()
        .filter(|name| headers.contains_key(**name))
        .map(|name| (*name).to_owned())
        .chain(extra.iter().map(|name| name.to_ascii_lowercase()))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The query in canonical form: parameters split on `&` (empty ones
/// dropped), name and value percent-decoded (`+` stays a plus; a `%` not
/// followed by two hex digits is literal) and re-encoded per RFC 3986,
/// sorted by name then value, joined `name=value` by `&`. A parameter
/// without `=` has an empty value.
pub fn canonical_query(query: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> = query
        .unwrap_or("")
        .split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            (reencode(name), reencode(value))
        })
        .collect();
    pairs.sort();
    let mut out = String::new();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// All values of `name`, joined by `,` in the order received, each trimmed
/// with inner runs of spaces and tabs collapsed to one space.
fn header_value(headers: &HeaderMap, name: &str) -> String {
    let values: Vec<String> = headers
        .get_all(name)
        .iter()
        .map(|value| collapse_whitespace(&String::from_utf8_lossy(value.as_bytes())))
        .collect();
    values.join(",")
}

fn collapse_whitespace(value: &str) -> String {
    value
        .split([' ', '\t'])
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn reencode(component: &str) -> String {
    let mut out = String::with_capacity(component.len());
    for byte in percent_decode(component.as_bytes()) {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        // from_str_radix alone would accept a sign: "%+f".
        let escaped = input
            .get(i + 1..i + 3)
            .filter(|hex| hex.iter().all(u8::is_ascii_hexdigit))
            .and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok());
        match (input[i], escaped) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}
