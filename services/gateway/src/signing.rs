//! Signed requests: the canonical request and its HMAC-SHA256 signature
//! (scheme `ZT1-HMAC-SHA256`, specified in docs/gateway.md, "Signing
//! requests").
//!
//! Integrators sign every call with their app secret; the front door reads
//! the signature headers ([`parse_signature_headers`]), looks the app key
//! up, and [`verify`]s. [`sign`] is the client side of the same scheme.

mod canonical;
mod failure;
mod headers;

pub use canonical::{ALGORITHM, canonical_query, canonical_request, signed_header_names};
pub use failure::AuthFailure;
pub use headers::{
    APP_KEY, MAX_SIGNED_HEADERS, NONCE, SIGNATURE, SIGNED_HEADERS, SignatureHeaders, TIMESTAMP,
    parse_signature_headers,
};

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderName, HeaderValue};
use ring::hmac;

/// Checks the timestamp is within ±`skew` of `now` (`TIMESTAMP_SKEWED`),
/// then the signature, compared in constant time (`SIGNATURE_INVALID`).
#[allow(clippy::too_many_arguments)] // the parts of one HTTP request
pub fn verify(
    secret: &[u8],
    signed: &SignatureHeaders,
    method: &str,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
    skew: Duration,
) -> Result<(), AuthFailure> {
    let offset = signed.timestamp.saturating_sub(now.timestamp());
    let allowed = i64::try_from(skew.as_secs()).unwrap_or(i64::MAX);
    if offset.unsigned_abs() > allowed.unsigned_abs() {
        return Err(AuthFailure::TimestampSkewed {
            offset_secs: offset,
            allowed_secs: skew.as_secs(),
        });
    }
    let canonical = canonical_request(method, path, query, headers, signed, body);
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    hmac::verify(&key, canonical.as_bytes(), &signed.signature)
        .map_err(|_| AuthFailure::SignatureInvalid)
}

/// Client side (tests, benchmarks, Rust integrators): the headers to add to
/// a request so the gateway accepts it — app key, timestamp, nonce,
/// signature, and `X-Zt-Signed-Headers` when `headers` holds more than
/// `host` and `content-type`. Every header in `headers` is signed except
/// the `x-zt-*` ones.
#[allow(clippy::too_many_arguments)] // the parts of one HTTP request
pub fn sign(
    app_key: &str,
    secret: &[u8],
    method: &str,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    timestamp: i64,
    nonce: &str,
) -> Vec<(HeaderName, HeaderValue)> {
    let extra: Vec<String> = headers
        .keys()
        .map(HeaderName::as_str)
        .filter(|name| !name.starts_with("x-zt-") && !canonical::ALWAYS_SIGNED.contains(name))
        .map(str::to_owned)
        .collect();
    let mut extra = extra;
    extra.sort();
    extra.dedup();
    let unsigned = SignatureHeaders {
        app_key: app_key.to_owned(),
        timestamp,
        nonce: nonce.to_owned(),
        signature: Vec::new(),
        signed_headers: extra.clone(),
    };
    let canonical = canonical_request(method, path, query, headers, &unsigned, body);
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let signature = BASE64.encode(hmac::sign(&key, canonical.as_bytes()).as_ref());

    let mut out = Vec::with_capacity(5);
    let mut push = |name: &'static str, value: String| {
        // Values that are not valid header text cannot be sent; the server
        // then reports the header as missing, which names the problem.
        if let Ok(value) = HeaderValue::from_str(&value) {
            out.push((HeaderName::from_static(name), value));
        }
    };
    push(APP_KEY, app_key.to_owned());
    push(TIMESTAMP, timestamp.to_string());
    push(NONCE, nonce.to_owned());
    push(SIGNATURE, signature);
    if !extra.is_empty() {
        push(SIGNED_HEADERS, extra.join(";"));
    }
    out
}

#[cfg(test)]
mod tests;
