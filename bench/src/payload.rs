//! The benchmarked call: `CertificateService/VerifyCertificate` with a
//! token of about 300 characters, answered `VALID`.

use bytes::{BufMut, Bytes, BytesMut};
use prost::Message;
use zhongtai_contracts::certificate::v1::{
    VerificationOutcome, VerificationResult, VerifyCertificateRequest, VerifyCertificateResponse,
    verify_certificate_request::Presentation,
};

/// The backend's gRPC service name.
pub const SERVICE: &str = "zhongtai.certificate.v1.CertificateService";
/// The method's HTTP/2 path (also the gateway's passthrough route).
pub const METHOD_PATH: &str = "/zhongtai.certificate.v1.CertificateService/VerifyCertificate";
/// Length of the token in the request.
pub const TOKEN_LEN: usize = 300;

/// The request message, encoded.
pub fn request() -> Bytes {
    // A JWT-shaped token: three base64url segments.
    let mut token = String::from("eyJhbGciOiJFZERTQSIsImtpZCI6ImNlcnQtMjAyNiJ9.");
    while token.len() < TOKEN_LEN - 44 {
        token.push_str("eyJqdGkiOiJjZXJ0LTEyMzQ1Njc4OTAifQ");
    }
    token.truncate(TOKEN_LEN - 44);
    token.push('.');
    token.push_str("c2lnbmF0dXJlLW9mLXRoZS1jZXJ0aWZpY2F0ZS0xMjM0");
    token.truncate(TOKEN_LEN);
    VerifyCertificateRequest {
        presentation: Some(Presentation::Token(token)),
        include_claims: false,
    }
    .encode_to_vec()
    .into()
}

/// The response message, encoded.
pub fn response() -> Bytes {
    VerifyCertificateResponse {
        result: Some(VerificationResult {
            outcome: VerificationOutcome::Valid as i32,
            certificate_id: "cert-1234567890".into(),
            certificate_type: "business-licence".into(),
            issuer_id: "330000/market-supervision".into(),
            key_id: "cert-2026".into(),
            status_checked: true,
            trust_list_version: 7,
            ..Default::default()
        }),
    }
    .encode_to_vec()
    .into()
}

/// The message as a gRPC length-prefixed frame: `0x00 ‖ u32 BE length ‖
/// message` (uncompressed). Messages here are far below 4 GiB.
pub fn frame(message: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(5 + message.len());
    out.put_u8(0);
    out.put_u32(u32::try_from(message.len()).unwrap_or(u32::MAX));
    out.put_slice(message);
    out.freeze()
}

/// Whether `bytes` is a `VerifyCertificateResponse` saying `VALID`.
pub fn is_valid_response(bytes: &[u8]) -> bool {
    VerifyCertificateResponse::decode(bytes)
        .ok()
        .and_then(|response| response.result)
        .is_some_and(|result| result.outcome == VerificationOutcome::Valid as i32)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_request_carries_a_token_of_the_stated_length() {
        let request = VerifyCertificateRequest::decode(request()).unwrap();
        let Some(Presentation::Token(token)) = request.presentation else {
            panic!("the request has no token");
        };
        assert_eq!(token.len(), TOKEN_LEN);
        assert_eq!(token.matches('.').count(), 2);
    }

    #[test]
    fn the_response_says_valid_and_other_bytes_do_not() {
        assert!(is_valid_response(&response()));
        assert!(!is_valid_response(b"\xff\xff"));
        let invalid = VerifyCertificateResponse {
            result: Some(VerificationResult {
                outcome: VerificationOutcome::Expired as i32,
                ..Default::default()
            }),
        };
        assert!(!is_valid_response(&invalid.encode_to_vec()));
    }

    #[test]
    fn a_frame_is_flag_length_and_message() {
        let framed = frame(b"abc");
        assert_eq!(&framed[..], b"\x00\x00\x00\x00\x03abc");
    }
}
