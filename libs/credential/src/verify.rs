//! Offline verification of certificates and codes: signature, trust list
//! and validity window. Revocation and suspension are decided online by the
//! certificate center and are not checked here.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;

use crate::batch::{BatchKey, SignatureCheck, verify_signatures};
use crate::jws::CompactJws;
use crate::token::issuer_id_of;
use crate::{
    CERTIFICATE_TYP, CODE_TYP, CertificatePayload, CodePayload, FormatError, MAX_TOKEN_BYTES,
    PLATFORM_ISSUER, PublicKey, TrustStore, TrustedKey, token_from_presentation,
};

/// How a token fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Valid,
    /// The signature does not match the key named by `kid`: altered or forged.
    SignatureInvalid,
    /// The key is not in the trust list, is past its `verify_until`, or
    /// belongs to another issuer than the token names.
    UntrustedKey,
    Expired,
    NotYetValid,
    /// The issuer may not issue this certificate type.
    IssuerNotAuthorized,
}

impl Outcome {
    /// A stable lowercase name, e.g. `"signature-invalid"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::SignatureInvalid => "signature-invalid",
            Self::UntrustedKey => "untrusted-key",
            Self::Expired => "expired",
            Self::NotYetValid => "not-yet-valid",
            Self::IssuerNotAuthorized => "issuer-not-authorized",
        }
    }

    pub fn is_valid(self) -> bool {
        self == Self::Valid
    }
}

/// The result of [`verify_certificate`].
#[derive(Debug, Clone, PartialEq)]
pub struct CertificateCheck {
    pub outcome: Outcome,
    /// Why, in a sentence for the person checking.
    pub detail: String,
    /// The `kid` the token names.
    pub key_id: String,
    /// The payload whenever it parsed, also for failures (to show the id or
    /// type); not to be trusted unless `outcome` is `Valid`.
    pub payload: Option<CertificatePayload>,
}

/// The result of [`verify_code`].
#[derive(Debug, Clone, PartialEq)]
pub struct CodeCheck {
    pub outcome: Outcome,
    pub detail: String,
    pub key_id: String,
    /// As [`CertificateCheck::payload`].
    pub payload: Option<CodePayload>,
}

/// Codes are made on the server and checked on scanners seconds later; a
/// scanner's clock a little behind must not refuse a fresh code.
pub const CODE_CLOCK_SKEW_SECS: i64 = 60;

/// Verifies an e-certificate presented as a raw token or a `ZT1:` QR
/// payload. `Err` only when it cannot be read at all (damaged, oversize,
/// not a certificate token, or a signed payload of the wrong shape).
///
/// Checks, in order: the key is in the trust list, the signature, the key
/// may still verify and belongs to the token's issuer, the issuer may issue
/// the type, `nbf <= now`, `exp > now`.
pub fn verify_certificate(
    presentation: &str,
    trust: &TrustStore,
    now: DateTime<Utc>,
) -> Result<CertificateCheck, FormatError> {
    match read_certificate(presentation, trust)? {
        Read::Answered(check) => Ok(check),
        Read::Signed(signed) => {
            let signature_valid = signed.verify_alone();
            finish_certificate(signed, signature_valid, now)
        }
    }
}

/// Verifies e-certificates many at a time: element `i` of the answer is
/// what [`verify_certificate`] answers for `presentations[i]`, with the
/// signatures checked together (as [`verify_codes`] does).
pub fn verify_certificates(
    presentations: &[&str],
    trust: &TrustStore,
    now: DateTime<Utc>,
) -> Vec<Result<CertificateCheck, FormatError>> {
    verify_many(
        presentations,
        |presentation| read_certificate(presentation, trust),
        |signed, signature_valid| finish_certificate(signed, signature_valid, now),
    )
}

/// Verifies a presentation code (raw token or `ZT1:` QR payload) signed
/// by a platform key: `Err` only when it cannot be read at all. A code
/// issued up to [`CODE_CLOCK_SKEW_SECS`] in the future is accepted.
pub fn verify_code(
    presentation: &str,
    trust: &TrustStore,
    now: DateTime<Utc>,
) -> Result<CodeCheck, FormatError> {
    match read_code(presentation, trust)? {
        Read::Answered(check) => Ok(check),
        Read::Signed(signed) => {
            let signature_valid = signed.verify_alone();
            finish_code(signed, signature_valid, now)
        }
    }
}

/// Verifies presentation codes many at a time: element `i` of the answer
/// is what [`verify_code`] answers for `presentations[i]`.
///
/// The signatures are checked together, with Ed25519 batch verification
/// in groups of up to 32: over twice as fast per signature as one by one
/// while they are good; a group that fails is checked one by one. It is as
/// strict as the single check (non-canonical `s`, `R` or keys, and keys of
/// small order or with a small-order part, are checked alone) but for one
/// case only the holder of the signing key can make: a signature by that
/// key whose `R` carries an added small-order point fails alone and may
/// pass in a batch.
pub fn verify_codes(
    presentations: &[&str],
    trust: &TrustStore,
    now: DateTime<Utc>,
) -> Vec<Result<CodeCheck, FormatError>> {
    verify_many(
        presentations,
        |presentation| read_code(presentation, trust),
        |signed, signature_valid| finish_code(signed, signature_valid, now),
    )
}

/// A token read and its key found, its signature not yet checked.
struct Signed<'t, K> {
    jws: CompactJws,
    key_id: String,
    public_key: &'t PublicKey,
    batch_key: &'t BatchKey,
    /// What the token's key is trusted for.
    key: K,
}

impl<K> Signed<'_, K> {
    fn verify_alone(&self) -> bool {
        self.jws.verify(self.public_key)
    }

    fn signature_check(&self) -> SignatureCheck<'_> {
        SignatureCheck {
            message: self.jws.signing_input(),
            signature: self.jws.signature(),
            key: self.public_key,
            batch_key: self.batch_key,
        }
    }
}

/// A presentation read: answered already, or waiting for its signature.
#[expect(
    clippy::large_enum_variant,
    reason = "the answers (checks with payloads) are as large; boxing would allocate per token"
)]
enum Read<'t, K, C> {
    Answered(C),
    Signed(Signed<'t, K>),
}

fn verify_many<'t, K, C>(
    presentations: &[&str],
    read: impl Fn(&str) -> Result<Read<'t, K, C>, FormatError>,
    finish: impl Fn(Signed<'t, K>, bool) -> Result<C, FormatError>,
) -> Vec<Result<C, FormatError>> {
    let reads: Vec<_> = presentations
        .iter()
        .map(|presentation| read(presentation))
        .collect();
    let checks: Vec<SignatureCheck<'_>> = reads
        .iter()
        .filter_map(|read| match read {
            Ok(Read::Signed(signed)) => Some(signed.signature_check()),
            _ => None,
        })
        .collect();
    let mut verdicts = verify_signatures(&checks).into_iter();
    reads
        .into_iter()
        .map(|read| match read? {
            Read::Answered(check) => Ok(check),
            Read::Signed(signed) => finish(signed, verdicts.next().unwrap_or(false)),
        })
        .collect()
}

fn read_certificate<'t>(
    presentation: &str,
    trust: &'t TrustStore,
) -> Result<Read<'t, &'t TrustedKey, CertificateCheck>, FormatError> {
    let mut jws = read(presentation, CERTIFICATE_TYP)?;
    let key_id = jws.take_key_id();
    let Some((key, batch_key)) = trust.issuer_entry(&key_id) else {
        let detail = format!(
            "key {key_id:?} is not in the trust list (version {})",
            trust.version()
        );
        return Ok(Read::Answered(CertificateCheck {
            outcome: Outcome::UntrustedKey,
            detail,
            payload: parse_quietly(&jws),
            key_id,
        }));
    };
    Ok(Read::Signed(Signed {
        jws,
        key_id,
        public_key: &key.public_key,
        batch_key,
        key,
    }))
}

fn finish_certificate(
    signed: Signed<'_, &TrustedKey>,
    signature_valid: bool,
    now: DateTime<Utc>,
) -> Result<CertificateCheck, FormatError> {
    let Signed {
        jws, key_id, key, ..
    } = signed;
    let check = |outcome, detail: String, payload| CertificateCheck {
        outcome,
        detail,
        key_id: key_id.clone(),
        payload,
    };
    if !signature_valid {
        let detail =
            format!("the signature does not match key {key_id:?}: the certificate was altered");
        return Ok(check(
            Outcome::SignatureInvalid,
            detail,
            parse_quietly(&jws),
        ));
    }
    let payload: CertificatePayload = jws.payload_json()?;
    let now_secs = now.timestamp();

    let (outcome, detail) = if let Some(until) = key.verify_until.filter(|until| *until < now) {
        (
            Outcome::UntrustedKey,
            format!(
                "key {key_id:?} may verify only until {}",
                until.to_rfc3339()
            ),
        )
    } else if issuer_id_of(&payload.iss) != Some(key.issuer_id.as_str()) {
        let detail = format!(
            "key {key_id:?} belongs to issuer {}, not to {}",
            key.issuer_id, payload.iss
        );
        (Outcome::UntrustedKey, detail)
    } else if !key.certificate_types.contains(&payload.vct) {
        let detail = format!(
            "issuer {} may not issue certificates of type {:?}",
            key.issuer_id, payload.vct
        );
        (Outcome::IssuerNotAuthorized, detail)
    } else if payload.nbf > now_secs {
        (
            Outcome::NotYetValid,
            format!("the certificate is valid from {}", rfc3339(payload.nbf)),
        )
    } else if let Some(exp) = payload.exp.filter(|exp| *exp <= now_secs) {
        (
            Outcome::Expired,
            format!("the certificate expired at {}", rfc3339(exp)),
        )
    } else {
        (Outcome::Valid, String::from("valid"))
    };
    Ok(check(outcome, detail, Some(payload)))
}

fn read_code<'t>(
    presentation: &str,
    trust: &'t TrustStore,
) -> Result<Read<'t, (), CodeCheck>, FormatError> {
    let mut jws = read(presentation, CODE_TYP)?;
    let key_id = jws.take_key_id();
    let Some((public_key, batch_key)) = trust.platform_entry(&key_id) else {
        let detail = format!("key {key_id:?} is not a platform key of the trust list");
        let payload = parse_quietly(&jws);
        return Ok(Read::Answered(CodeCheck {
            outcome: Outcome::UntrustedKey,
            detail,
            key_id,
            payload,
        }));
    };
    Ok(Read::Signed(Signed {
        jws,
        key_id,
        public_key,
        batch_key,
        key: (),
    }))
}

fn finish_code(
    signed: Signed<'_, ()>,
    signature_valid: bool,
    now: DateTime<Utc>,
) -> Result<CodeCheck, FormatError> {
    let Signed { jws, key_id, .. } = signed;
    if !signature_valid {
        let detail = format!("the signature does not match key {key_id:?}: the code was altered");
        let payload = parse_quietly(&jws);
        return Ok(CodeCheck {
            outcome: Outcome::SignatureInvalid,
            detail,
            key_id,
            payload,
        });
    }
    let payload: CodePayload = jws.payload_json()?;
    let now_secs = now.timestamp();
    let (outcome, detail) = if payload.iss != PLATFORM_ISSUER {
        (
            Outcome::UntrustedKey,
            format!(
                "codes are issued by {PLATFORM_ISSUER}, not by {}",
                payload.iss
            ),
        )
    } else if payload.iat > now_secs.saturating_add(CODE_CLOCK_SKEW_SECS) {
        (
            Outcome::NotYetValid,
            format!(
                "the code is issued at {}, in the future",
                rfc3339(payload.iat)
            ),
        )
    } else if payload.exp <= now_secs {
        (
            Outcome::Expired,
            format!("the code expired at {}", rfc3339(payload.exp)),
        )
    } else {
        (Outcome::Valid, String::from("valid"))
    };
    Ok(CodeCheck {
        outcome,
        detail,
        key_id,
        payload: Some(payload),
    })
}

fn read(presentation: &str, typ: &'static str) -> Result<CompactJws, FormatError> {
    let token = token_from_presentation(presentation, MAX_TOKEN_BYTES)?;
    let jws = CompactJws::parse_owned(token, MAX_TOKEN_BYTES)?;
    jws.require_type(typ)?;
    Ok(jws)
}

fn parse_quietly<T: DeserializeOwned>(jws: &CompactJws) -> Option<T> {
    jws.payload_json().ok()
}

fn rfc3339(seconds: i64) -> String {
    DateTime::<Utc>::from_timestamp(seconds, 0).map_or_else(
        || format!("{seconds} seconds after 1970"),
        |at| at.to_rfc3339(),
    )
}
