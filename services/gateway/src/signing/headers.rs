//! The signature headers of a request, read and checked for shape.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::HeaderMap;

use super::AuthFailure;

/// The app key header (lowercase, as `http` names headers).
pub const APP_KEY: &str = "x-zt-app-key";
/// The Unix-seconds timestamp header.
pub const TIMESTAMP: &str = "x-zt-timestamp";
/// The per-request nonce header.
pub const NONCE: &str = "x-zt-nonce";
/// The base64 HMAC-SHA256 signature header.
pub const SIGNATURE: &str = "x-zt-signature";
/// The optional list of further signed headers.
pub const SIGNED_HEADERS: &str = "x-zt-signed-headers";
/// Most names `X-Zt-Signed-Headers` may list.
pub const MAX_SIGNED_HEADERS: usize = 16;

const MAX_APP_KEY_LEN: usize = 64;
const NONCE_LEN: std::ops::RangeInclusive<usize> = 16..=64;
const MAX_HEADER_NAME_LEN: usize = 64;
const SIGNATURE_LEN: usize = 32;

/// What a request's signature headers say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeaders {
    pub app_key: String,
    /// Unix seconds.
    pub timestamp: i64,
    pub nonce: String,
    /// The decoded HMAC-SHA256 (32 bytes).
    pub signature: Vec<u8>,
    /// Further headers the client signed (lowercase, sorted, without
    /// `host` and `content-type`, which are signed whenever present).
    pub signed_headers: Vec<String>,
}

/// Reads the signature headers: `SIGNATURE_MISSING` naming the first one
/// absent, `SIGNATURE_MALFORMED` naming one that is unusable.
pub fn parse_signature_headers(headers: &HeaderMap) -> Result<SignatureHeaders, AuthFailure> {
    let app_key = required(headers, APP_KEY, "X-Zt-App-Key")?;
    let timestamp = required(headers, TIMESTAMP, "X-Zt-Timestamp")?;
    let nonce = required(headers, NONCE, "X-Zt-Nonce")?;
    let signature = required(headers, SIGNATURE, "X-Zt-Signature")?;

    if app_key.is_empty() || app_key.len() > MAX_APP_KEY_LEN || !is_token(app_key) {
        return Err(AuthFailure::malformed(
            "X-Zt-App-Key",
            format!("must be 1..={MAX_APP_KEY_LEN} characters of A-Z a-z 0-9 _ -"),
        ));
    }
    let timestamp = parse_timestamp(timestamp)?;
    if !NONCE_LEN.contains(&nonce.len()) || !is_token(nonce) {
        return Err(AuthFailure::malformed(
            "X-Zt-Nonce",
            "must be 16..=64 characters of A-Z a-z 0-9 _ -",
        ));
    }
    let signature = BASE64
        .decode(signature)
        .ok()
        .filter(|bytes| bytes.len() == SIGNATURE_LEN)
        .ok_or_else(|| {
            AuthFailure::malformed(
                "X-Zt-Signature",
                "must be the standard padded base64 of a 32-byte HMAC-SHA256",
            )
        })?;
    let signed_headers = match single(headers, SIGNED_HEADERS, "X-Zt-Signed-Headers")? {
        Some(list) => parse_signed_headers(list, headers)?,
        None => Vec::new(),
    };
    Ok(SignatureHeaders {
        app_key: app_key.to_owned(),
        timestamp,
        nonce: nonce.to_owned(),
        signature,
        signed_headers,
    })
}

fn required<'h>(
    headers: &'h HeaderMap,
    name: &'static str,
    display: &'static str,
) -> Result<&'h str, AuthFailure> {
    single(headers, name, display)?.ok_or(AuthFailure::Missing { header: display })
}

/// The header's one value; two values of a signature header are ambiguous.
fn single<'h>(
    headers: &'h HeaderMap,
    name: &'static str,
    display: &'static str,
) -> Result<Option<&'h str>, AuthFailure> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthFailure::malformed(display, "must be sent once"));
    }
    value
        .to_str()
        .map(|v| Some(v.trim()))
        .map_err(|_| AuthFailure::malformed(display, "must be visible ASCII"))
}

fn parse_timestamp(value: &str) -> Result<i64, AuthFailure> {
    let malformed = || AuthFailure::malformed("X-Zt-Timestamp", "must be Unix seconds in decimal");
    // Digits only: no sign, no fraction, and short enough to never overflow.
    if value.is_empty() || value.len() > 12 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed());
    }
    value.parse().map_err(|_| malformed())
}

fn parse_signed_headers(list: &str, headers: &HeaderMap) -> Result<Vec<String>, AuthFailure> {
    let display = "X-Zt-Signed-Headers";
    let mut names = Vec::new();
    for name in list.split(';').map(str::trim).filter(|n| !n.is_empty()) {
        let valid = name.len() <= MAX_HEADER_NAME_LEN
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid {
            return Err(AuthFailure::malformed(
                display,
                format!("`{name}` is not a lowercase header name"),
            ));
        }
        if name == SIGNATURE || name == SIGNED_HEADERS {
            return Err(AuthFailure::malformed(
                display,
                format!("`{name}` cannot be signed"),
            ));
        }
        if !headers.contains_key(name) {
            return Err(AuthFailure::malformed(
                display,
                format!("lists `{name}`, which the request does not carry"),
            ));
        }
        if !super::canonical::ALWAYS_SIGNED.contains(&name) {
            names.push(name.to_owned());
        }
    }
    names.sort();
    names.dedup();
    if names.len() > MAX_SIGNED_HEADERS {
        return Err(AuthFailure::malformed(
            display,
            format!("lists more than {MAX_SIGNED_HEADERS} headers"),
        ));
    }
    Ok(names)
}

fn is_token(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}
