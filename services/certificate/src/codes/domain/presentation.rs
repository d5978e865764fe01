//! Signing presentation codes with the platform key.
//!
//! A code shows its holder masked (`**************123X`), yet venues'
//! scans must be traceable to the person. So each code also carries the
//! holder's identity sealed with the center's key (claim [`HOLDER_REF_CLAIM`],
//! bound to the code id): opaque to whoever scans it, different in every
//! code, and readable by the center alone when it records a scan. Minting
//! writes nothing; the code verifies with the trust list alone.

use std::sync::Arc;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;
use zhongtai_credential::{
    CODE_TYP, Claim, ClaimValue, CodeKind, CodePayload, Holder, HolderStatus, IdDocumentType,
    KeySealer, PLATFORM_ISSUER, QrError, QrImageFormat, base45, claims_to_json, qr_payload,
    render_qr, sign_compact,
};

use super::model::{MintedCode, QrImage, QrRequest};
use crate::shared::{CertificateError, Keyring};

/// The claim carrying the sealed holder identity. Certificate claim names
/// start with a letter, so it never collides with one.
pub const HOLDER_REF_CLAIM: &str = "_h";

const HOLDER_REF_CONTEXT: &[u8] = b"zhongtai.code-holder.v1:";

/// What a code is to say.
#[derive(Debug, Clone)]
pub struct CodeContent {
    pub kind: CodeKind,
    /// Unmasked; masked in the code.
    pub holder: Holder,
    pub status: HolderStatus,
    pub claims: Vec<Claim>,
    pub dependant_id: Option<Uuid>,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Signs codes with the platform key.
pub struct CodeMinter {
    keyring: Arc<dyn Keyring>,
    sealer: Arc<KeySealer>,
}

impl CodeMinter {
    pub fn new(keyring: Arc<dyn Keyring>, sealer: Arc<KeySealer>) -> Self {
        Self { keyring, sealer }
    }

    /// The claim set of a new code; its id is fresh and unguessable.
    pub fn payload(&self, content: &CodeContent) -> CodePayload {
        let id = Uuid::new_v4().to_string();
        let mut claims = claims_to_json(&content.claims);
        if let Some(sealed) = self.seal_holder(&id, &content.holder) {
            claims.insert(HOLDER_REF_CLAIM.to_string(), Value::String(sealed));
        }
        CodePayload {
            iss: PLATFORM_ISSUER.to_string(),
            jti: id,
            iat: content.issued_at.timestamp(),
            exp: content.expires_at.timestamp(),
            kind: content.kind,
            holder: content.holder.masked(),
            st: content.status,
            claims,
            dep: content.dependant_id.map(|id| id.to_string()),
        }
    }

    /// Signs `payload` into a code, rendering `image` if asked. Signing the
    /// same payload again gives the same token (Ed25519 is deterministic)
    /// while the platform key stays the same.
    pub async fn sign(
        &self,
        payload: &CodePayload,
        image: Option<QrRequest>,
    ) -> Result<MintedCode, CertificateError> {
        let signer = self.keyring.platform_signer().await?;
        let token = sign_compact(&signer, CODE_TYP, payload);
        let qr_payload = qr_payload(&token);
        let image = image
            .map(|request| render(&qr_payload, request))
            .transpose()?;
        let dependant_id = payload
            .dep
            .as_deref()
            .and_then(|id| Uuid::parse_str(id).ok());
        Ok(MintedCode {
            id: payload.jti.clone(),
            kind: payload.kind,
            holder: payload.holder.clone(),
            status: payload.st,
            claims: claims_of_code(&payload.claims),
            issued_at: at(payload.iat),
            expires_at: at(payload.exp),
            token,
            qr_payload,
            key_id: signer.key_id().to_string(),
            dependant_id,
            image,
        })
    }

    /// The holder key a code's sealed identity names, if it opens: the code
    /// was made by this center for that code id.
    pub fn holder_key(&self, payload: &CodePayload) -> Option<String> {
        let Value::String(sealed) = payload.claims.get(HOLDER_REF_CLAIM)? else {
            return None;
        };
        let sealed = base45::decode(sealed).ok()?;
        let plain = self.sealer.open(&sealed, &context(&payload.jti)).ok()?;
        let plain = String::from_utf8(plain).ok()?;
        let mut chars = plain.chars();
        let index = chars.next()?.to_digit(10)? as usize;
        let id_type = IdDocumentType::ALL.get(index)?;
        let number = chars.as_str();
        (!number.is_empty()).then(|| format!("person:{id_type}:{number}"))
    }

    /// Persons only: codes are shown by people.
    fn seal_holder(&self, code_id: &str, holder: &Holder) -> Option<String> {
        let Holder::Person {
            id_type, id_number, ..
        } = holder
        else {
            return None;
        };
        let index = IdDocumentType::ALL.iter().position(|t| t == id_type)?;
        // The shortest form: the document type's index, then the number.
        let plain = format!("{index}{id_number}");
        Some(base45::encode(
            &self.sealer.seal(plain.as_bytes(), &context(code_id)),
        ))
    }
}

fn context(code_id: &str) -> Vec<u8> {
    [HOLDER_REF_CONTEXT, code_id.as_bytes()].concat()
}

/// The claims a code shows, without the sealed identity. Codes keep claims
/// as JSON: text, dates and decimals come back as text.
pub fn claims_of_code(claims: &Map<String, Value>) -> Vec<Claim> {
    claims
        .iter()
        .filter(|(name, _)| name.as_str() != HOLDER_REF_CLAIM)
        .filter_map(|(name, value)| {
            let value = match value {
                Value::String(text) => ClaimValue::String(text.clone()),
                Value::Bool(b) => ClaimValue::Boolean(*b),
                Value::Number(n) => ClaimValue::Integer(n.as_i64()?),
                _ => return None,
            };
            Some(Claim {
                name: name.clone(),
                value,
            })
        })
        .collect()
}

/// A QR image request from the contract's format and size: `None` for no
/// image (unless `default_format`), size 0 for `default_size`.
pub fn qr_request(
    format: Option<QrImageFormat>,
    size: i32,
    default_format: Option<QrImageFormat>,
    default_size: u32,
) -> Result<Option<QrRequest>, CertificateError> {
    let size = match size {
        0 => default_size,
        64..=2048 => size.unsigned_abs(),
        _ => {
            return Err(CertificateError::invalid(
                "qr_image_size",
                "must be 0 (the default) or 64..2048 pixels",
            ));
        }
    };
    Ok(format
        .or(default_format)
        .map(|format| QrRequest { format, size }))
}

fn render(text: &str, request: QrRequest) -> Result<QrImage, CertificateError> {
    let data = render_qr(text, request.format, request.size).map_err(|error| match error {
        QrError::SizeOutOfRange { .. } | QrError::TooSmall { .. } => {
            CertificateError::invalid("qr_image_size", error.to_string())
        }
        QrError::TooLong => CertificateError::FailedPrecondition(error.to_string()),
        QrError::Png { .. } => CertificateError::Keys(format!("QR image: {error}")),
    })?;
    Ok(QrImage {
        format: request.format,
        data,
        size: request.size,
    })
}

/// The whole second a code's times are kept to (JWT times are seconds).
pub fn code_time(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(0)
}

/// Seconds since the epoch as an instant; out-of-range values (never
/// produced here) become the epoch.
pub fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or_default()
}

/// The expiry of a code made at `issued_at` valid for `validity`.
pub fn expiry(issued_at: DateTime<Utc>, validity: std::time::Duration) -> DateTime<Utc> {
    let validity = Duration::from_std(validity).unwrap_or(Duration::MAX);
    issued_at.checked_add_signed(validity).unwrap_or(issued_at)
}

#[cfg(test)]
pub(crate) mod tests {
    use zhongtai_credential::{SigningKey, TrustStore, verify_code};

    use super::*;
    use crate::codes::domain::status::tests::person;

    pub(crate) fn sealer(byte: u8) -> Arc<KeySealer> {
        Arc::new(KeySealer::new(&[byte; 32]).unwrap_or_else(|_| unreachable!()))
    }

    pub(crate) struct Platform(pub(crate) Arc<zhongtai_credential::SigningKey>);

    #[async_trait::async_trait]
    impl Keyring for Platform {
        async fn issuer_signer(
            &self,
            issuer_id: Uuid,
            _: &str,
        ) -> Result<crate::shared::IssuerSigner, CertificateError> {
            Err(CertificateError::not_found("issuer", issuer_id))
        }
        async fn platform_signer(&self) -> Result<Arc<SigningKey>, CertificateError> {
            Ok(self.0.clone())
        }
        async fn issuers_of(
            &self,
            _: &zhongtai_kit::TenantId,
        ) -> Result<Vec<Uuid>, CertificateError> {
            Ok(Vec::new())
        }
        async fn issuer_tenant(
            &self,
            _: &str,
        ) -> Result<Option<zhongtai_kit::TenantId>, CertificateError> {
            Ok(None)
        }
        async fn trust_store(&self) -> Result<Arc<TrustStore>, CertificateError> {
            let key = &self.0;
            Ok(Arc::new(TrustStore::new(
                1,
                vec![],
                vec![(key.key_id().to_string(), key.public_key())],
            )))
        }
    }

    pub(crate) fn minter(sealer: Arc<KeySealer>) -> (CodeMinter, Arc<Platform>) {
        let (key, _) = SigningKey::generate("platform-test").unwrap_or_else(|_| unreachable!());
        let platform = Arc::new(Platform(Arc::new(key)));
        (CodeMinter::new(platform.clone(), sealer), platform)
    }

    pub(crate) fn content() -> CodeContent {
        let now = code_time(Utc::now());
        CodeContent {
            kind: CodeKind::Personal,
            holder: person("33110019900101123X"),
            status: HolderStatus::Attention,
            claims: vec![Claim {
                name: "occupation".into(),
                value: ClaimValue::String("育婴员".into()),
            }],
            dependant_id: None,
            issued_at: now,
            expires_at: now + Duration::minutes(5),
        }
    }

    #[tokio::test]
    async fn a_code_masks_its_holder_but_the_center_can_name_them() {
        let (minter, platform) = minter(sealer(7));
        let payload = minter.payload(&content());
        let code = minter
            .sign(&payload, None)
            .await
            .unwrap_or_else(|_| unreachable!());
        let trust = platform
            .trust_store()
            .await
            .unwrap_or_else(|_| unreachable!());
        let check =
            verify_code(&code.qr_payload, &trust, Utc::now()).unwrap_or_else(|_| unreachable!());
        assert!(check.outcome.is_valid());
        let shown = check.payload.unwrap_or_else(|| unreachable!());
        assert_eq!(shown.holder, person("33110019900101123X").masked());
        assert!(!code.token.contains("33110019900101123X"));
        assert_eq!(
            minter.holder_key(&shown).as_deref(),
            Some("person:resident-id-card:33110019900101123X")
        );
        assert_eq!(
            code.claims,
            content().claims,
            "the sealed identity is not a claim"
        );
        assert_eq!(code.status, HolderStatus::Attention);

        // Another center's key, or the identity moved to another code,
        // names nobody.
        let (other, _) = self::minter(sealer(8));
        assert_eq!(other.holder_key(&shown), None);
        let moved = CodePayload {
            jti: Uuid::new_v4().to_string(),
            ..shown
        };
        assert_eq!(minter.holder_key(&moved), None);
    }

    #[tokio::test]
    async fn signing_the_same_payload_again_gives_the_same_token() {
        let (minter, _) = minter(sealer(7));
        let payload = minter.payload(&content());
        let first = minter
            .sign(&payload, None)
            .await
            .unwrap_or_else(|_| unreachable!());
        let again = minter
            .sign(&payload, None)
            .await
            .unwrap_or_else(|_| unreachable!());
        assert_eq!(first.token, again.token);
        assert_ne!(minter.payload(&content()).jti, payload.jti, "ids are fresh");
    }

    #[test]
    fn image_sizes_are_checked_and_defaulted() {
        let png = Some(QrImageFormat::Png);
        assert_eq!(qr_request(None, 0, None, 512).ok(), Some(None));
        assert_eq!(
            qr_request(png, 0, None, 512).ok(),
            Some(Some(QrRequest {
                format: QrImageFormat::Png,
                size: 512
            }))
        );
        assert_eq!(
            qr_request(None, 0, png, 1024)
                .ok()
                .flatten()
                .map(|r| r.size),
            Some(1024)
        );
        for bad in [-1, 1, 63, 2049, i32::MAX] {
            assert!(qr_request(png, bad, None, 512).is_err(), "{bad}");
        }
    }
}
