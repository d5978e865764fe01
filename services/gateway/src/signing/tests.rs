use std::time::Duration;

use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderValue};

use super::*;

// The worked example of docs/gateway.md, "Signing requests".
const APP_KEY_VALUE: &str = "ztk_0123456789abcdef0123456789abcdef";
const SECRET: &[u8] = b"zts_Wc3q2-example-secret-7Hk9";
const PATH: &str = "/v1/certificates/verify";
const QUERY: &str = "b=2&a=%e4%b8%ad+x&a=1&flag";
const BODY: &[u8] = br#"{"certificate_no":"330100-2026-000123"}"#;
const TIMESTAMP_VALUE: i64 = 1_780_000_000;
const NONCE_VALUE: &str = "n0nce-0123456789abcdef";
const CANONICAL: &str = "ZT1-HMAC-SHA256
POST
/v1/certificates/verify
a=%E4%B8%AD%2Bx&a=1&b=2&flag=
content-type:application/json
host:gateway.example.gov.cn
x-request-id:trace 42
content-type;host;x-request-id
1780000000
n0nce-0123456789abcdef
3163e4c78451da6e5a4b9573955a91a224885a1f3eb3d019dfcf86d2aae85f78";
const SIGNATURE_VALUE: &str = "m5SH8lXQ4A/+hYs6bT39xZu5bX5eVc8ZfMQ8Fd2V4d0=";
const SKEW: Duration = Duration::from_secs(300);

fn request_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("gateway.example.gov.cn"));
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("x-request-id", HeaderValue::from_static("trace  42"));
    headers
}

fn signed_request() -> HeaderMap {
    let mut headers = request_headers();
    let added = sign(
        APP_KEY_VALUE,
        SECRET,
        "POST",
        PATH,
        Some(QUERY),
        &headers,
        BODY,
        TIMESTAMP_VALUE,
        NONCE_VALUE,
    );
    for (name, value) in added {
        headers.insert(name, value);
    }
    headers
}

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap()
}

fn check(
    secret: &[u8],
    headers: &HeaderMap,
    method: &str,
    path: &str,
    query: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), AuthFailure> {
    let signed = parse_signature_headers(headers)?;
    verify(
        secret,
        &signed,
        method,
        path,
        query,
        headers,
        body,
        at(now),
        SKEW,
    )
}

#[test]
fn worked_example_is_a_fixed_vector() {
    let headers = signed_request();
    let signed = parse_signature_headers(&headers).unwrap();
    assert_eq!(
        canonical_request("post", PATH, Some(QUERY), &headers, &signed, BODY),
        CANONICAL
    );
    assert_eq!(headers["x-zt-signature"], SIGNATURE_VALUE);
    assert_eq!(headers["x-zt-signed-headers"], "x-request-id");
    assert_eq!(signed.signed_headers, vec!["x-request-id".to_string()]);
}

#[test]
fn a_correctly_signed_request_verifies() {
    let headers = signed_request();
    assert_eq!(
        check(
            SECRET,
            &headers,
            "POST",
            PATH,
            Some(QUERY),
            BODY,
            TIMESTAMP_VALUE
        ),
        Ok(())
    );
    // Query order and escaping may change on the way.
    let reordered = "flag=&a=1&a=%E4%B8%AD%2bx&b=%32";
    assert_eq!(
        check(
            SECRET,
            &headers,
            "POST",
            PATH,
            Some(reordered),
            BODY,
            TIMESTAMP_VALUE
        ),
        Ok(())
    );
}

#[test]
fn tampering_invalidates_the_signature() {
    let headers = signed_request();
    let now = TIMESTAMP_VALUE;
    let invalid = Err(AuthFailure::SignatureInvalid);
    let body = br#"{"certificate_no":"330100-2026-000124"}"#;
    assert_eq!(
        check(SECRET, &headers, "POST", PATH, Some(QUERY), body, now),
        invalid
    );
    let path = "/v1/certificates/verify2";
    assert_eq!(
        check(SECRET, &headers, "POST", path, Some(QUERY), BODY, now),
        invalid
    );
    let query = "b=3&a=%e4%b8%ad+x&a=1&flag";
    assert_eq!(
        check(SECRET, &headers, "POST", PATH, Some(query), BODY, now),
        invalid
    );
    assert_eq!(
        check(SECRET, &headers, "PUT", PATH, Some(QUERY), BODY, now),
        invalid
    );
    assert_eq!(
        check(b"zts_other", &headers, "POST", PATH, Some(QUERY), BODY, now),
        invalid
    );

    for (name, value) in [
        ("x-request-id", "trace 43"),
        ("host", "evil.example.com"),
        ("content-type", "text/plain"),
        ("x-zt-nonce", "n0nce-0123456789abcdeg"),
        ("x-zt-timestamp", "1780000001"),
    ] {
        let mut changed = headers.clone();
        changed.insert(name, HeaderValue::from_static(value));
        assert_eq!(
            check(SECRET, &changed, "POST", PATH, Some(QUERY), BODY, now),
            invalid,
            "{name} changed"
        );
    }
    // Dropping a header from the signed list changes what is signed.
    let mut unlisted = headers.clone();
    unlisted.remove("x-zt-signed-headers");
    assert_eq!(
        check(SECRET, &unlisted, "POST", PATH, Some(QUERY), BODY, now),
        invalid
    );
}

#[test]
fn header_whitespace_and_case_do_not_matter() {
    let mut headers = signed_request();
    headers.insert("x-request-id", HeaderValue::from_static(" trace \t 42  "));
    assert_eq!(
        check(
            SECRET,
            &headers,
            "POST",
            PATH,
            Some(QUERY),
            BODY,
            TIMESTAMP_VALUE
        ),
        Ok(())
    );
}

#[test]
fn timestamps_beyond_the_skew_are_refused_both_ways() {
    let headers = signed_request();
    let skew = i64::try_from(SKEW.as_secs()).unwrap();
    for now in [TIMESTAMP_VALUE - skew, TIMESTAMP_VALUE + skew] {
        assert_eq!(
            check(SECRET, &headers, "POST", PATH, Some(QUERY), BODY, now),
            Ok(())
        );
    }
    let early = check(
        SECRET,
        &headers,
        "POST",
        PATH,
        Some(QUERY),
        BODY,
        TIMESTAMP_VALUE - skew - 1,
    );
    assert_eq!(
        early,
        Err(AuthFailure::TimestampSkewed {
            offset_secs: skew + 1,
            allowed_secs: 300
        })
    );
    let late = check(
        SECRET,
        &headers,
        "POST",
        PATH,
        Some(QUERY),
        BODY,
        TIMESTAMP_VALUE + skew + 1,
    );
    assert_eq!(late.unwrap_err().reason(), "TIMESTAMP_SKEWED");
}

#[test]
fn a_missing_header_is_named() {
    for (name, display) in [
        ("x-zt-app-key", "X-Zt-App-Key"),
        ("x-zt-timestamp", "X-Zt-Timestamp"),
        ("x-zt-nonce", "X-Zt-Nonce"),
        ("x-zt-signature", "X-Zt-Signature"),
    ] {
        let mut headers = signed_request();
        headers.remove(name);
        let failure = parse_signature_headers(&headers).unwrap_err();
        assert_eq!(failure, AuthFailure::Missing { header: display });
        assert_eq!(failure.reason(), "SIGNATURE_MISSING");
        assert_eq!(
            failure.to_string(),
            format!("the {display} header is required")
        );
    }
}

#[test]
fn malformed_headers_are_refused_with_the_header_named() {
    let cases: [(&str, &str, &str); 9] = [
        ("x-zt-timestamp", "-1780000000", "X-Zt-Timestamp"),
        ("x-zt-timestamp", "1780000000.5", "X-Zt-Timestamp"),
        ("x-zt-nonce", "short", "X-Zt-Nonce"),
        ("x-zt-nonce", "has spaces in it, sadly", "X-Zt-Nonce"),
        ("x-zt-signature", "bm90IDMyIGJ5dGVz", "X-Zt-Signature"),
        ("x-zt-signature", "!!!", "X-Zt-Signature"),
        ("x-zt-app-key", "ztk/../../etc", "X-Zt-App-Key"),
        ("x-zt-signed-headers", "X-Request-Id", "X-Zt-Signed-Headers"),
        ("x-zt-signed-headers", "x-absent", "X-Zt-Signed-Headers"),
    ];
    for (name, value, display) in cases {
        let mut headers = signed_request();
        headers.insert(name, HeaderValue::from_static(value));
        let failure = parse_signature_headers(&headers).unwrap_err();
        assert_eq!(failure.reason(), "SIGNATURE_MALFORMED", "{name}: {value}");
        assert!(
            matches!(&failure, AuthFailure::Malformed { header, .. } if *header == display),
            "{failure:?}"
        );
    }
    let mut twice = signed_request();
    twice.append(
        "x-zt-nonce",
        HeaderValue::from_static("n0nce-0123456789abcdef"),
    );
    assert_eq!(
        parse_signature_headers(&twice).unwrap_err().to_string(),
        "the X-Zt-Nonce header is malformed: must be sent once"
    );
}

#[test]
fn canonical_query_decodes_reencodes_and_sorts() {
    assert_eq!(canonical_query(None), "");
    assert_eq!(canonical_query(Some("")), "");
    assert_eq!(
        canonical_query(Some("z=%7e&y=a b&&x&w=%zz&v=%41~")),
        "v=A~&w=%25zz&x=&y=a%20b&z=~"
    );
    assert_eq!(canonical_query(Some("a=2&a=10&A=1")), "A=1&a=10&a=2");
    assert_eq!(canonical_query(Some("q=%+f")), "q=%25%2Bf");
}

#[test]
fn without_host_or_content_type_only_listed_headers_are_signed() {
    let headers = HeaderMap::new();
    let signed = SignatureHeaders {
        app_key: APP_KEY_VALUE.into(),
        timestamp: 1,
        nonce: NONCE_VALUE.into(),
        signature: Vec::new(),
        signed_headers: Vec::new(),
    };
    let canonical = canonical_request("GET", "/", None, &headers, &signed, b"");
    assert_eq!(
        canonical,
        "ZT1-HMAC-SHA256\nGET\n/\n\n\n1\nn0nce-0123456789abcdef\n\
         e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}
