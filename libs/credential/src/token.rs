//! The payloads (JWT claim sets) of the two token kinds: e-certificates,
//! signed by an issuer's key, and presentation codes, signed by the
//! platform.
//!
//! Keys are short because every byte ends up in a QR code; the registered
//! JWT claims (`iss`, `sub`, `jti`, `iat`, `nbf`, `exp`) keep their meaning
//! so standard JWT libraries check the validity window too.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Holder;

/// The JWS `typ` of an e-certificate.
pub const CERTIFICATE_TYP: &str = "zt-cert+jwt";
/// The JWS `typ` of a presentation code.
pub const CODE_TYP: &str = "zt-code+jwt";
/// The `iss` of presentation codes.
pub const PLATFORM_ISSUER: &str = "zhongtai:platform";

const ISSUER_URI_PREFIX: &str = "zhongtai:issuer:";

/// The `iss` of certificates issued by issuer `issuer_id`: `zhongtai:issuer:<id>`.
pub fn issuer_uri(issuer_id: &str) -> String {
    format!("{ISSUER_URI_PREFIX}{issuer_id}")
}

/// The issuer id in an `iss` written by [`issuer_uri`].
pub fn issuer_id_of(iss: &str) -> Option<&str> {
    iss.strip_prefix(ISSUER_URI_PREFIX)
}

/// Where a certificate's revocation/suspension bit lives: list id and index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StatusRef {
    pub list: String,
    pub idx: u64,
}

/// The claim set of an e-certificate (JWS `typ` [`CERTIFICATE_TYP`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertificatePayload {
    /// `zhongtai:issuer:<issuer uuid>`, see [`issuer_uri`].
    pub iss: String,
    /// [`Holder::key`] of the holder.
    pub sub: String,
    /// The certificate id (uuid).
    pub jti: String,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Valid from, seconds since the epoch.
    pub nbf: i64,
    /// Valid until (exclusive), seconds since the epoch; `None` = no end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// The certificate type code, e.g. `business-licence`.
    pub vct: String,
    /// The serial number printed on the certificate.
    pub sn: String,
    pub holder: Holder,
    /// Typed claims as JSON, see [`claims_to_json`](crate::claims_to_json).
    #[serde(default)]
    pub claims: Map<String, Value>,
    pub status: StatusRef,
}

/// What a presentation code stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CodeKind {
    /// The holder's own code, shown from their phone.
    Personal,
    /// A code a guardian shows for a dependant (see `dep`).
    Family,
    /// A longer-lived code printed or saved for use without a network.
    Offline,
}

/// The holder's status as the code shows it to the checker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HolderStatus {
    Normal,
    Attention,
    Restricted,
}

impl CodeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Personal => "personal",
            Self::Family => "family",
            Self::Offline => "offline",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Personal, Self::Family, Self::Offline]
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

impl HolderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Attention => "attention",
            Self::Restricted => "restricted",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Normal, Self::Attention, Self::Restricted]
            .into_iter()
            .find(|status| status.as_str() == name)
    }
}

/// The claim set of a presentation code (JWS `typ` [`CODE_TYP`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodePayload {
    /// Always [`PLATFORM_ISSUER`].
    pub iss: String,
    /// The code id (uuid).
    pub jti: String,
    pub iat: i64,
    /// Valid until (exclusive), seconds since the epoch.
    pub exp: i64,
    pub kind: CodeKind,
    /// Already masked by the signer ([`Holder::masked`]).
    pub holder: Holder,
    pub st: HolderStatus,
    #[serde(default)]
    pub claims: Map<String, Value>,
    /// The dependant link id, for family codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dep: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IdDocumentType;
    use serde_json::json;

    #[test]
    fn certificate_json_uses_the_documented_keys() {
        let payload = CertificatePayload {
            iss: issuer_uri("7c1e"),
            sub: "org:91331121MA2E0ABC1X".into(),
            jti: "c-1".into(),
            iat: 100,
            nbf: 100,
            exp: None,
            vct: "business-licence".into(),
            sn: "331121-2026-000001".into(),
            holder: Holder::Organization {
                name: "某某公司".into(),
                unified_social_credit_code: "91331121MA2E0ABC1X".into(),
            },
            claims: Map::new(),
            status: StatusRef {
                list: "l-1".into(),
                idx: 42,
            },
        };
        let json = serde_json::to_value(&payload).unwrap();
        assert_eq!(
            json,
            json!({"iss":"zhongtai:issuer:7c1e","sub":"org:91331121MA2E0ABC1X","jti":"c-1","iat":100,"nbf":100,
                   "vct":"business-licence","sn":"331121-2026-000001",
                   "holder":{"org":{"name":"某某公司","uscc":"91331121MA2E0ABC1X"}},
                   "claims":{},"status":{"list":"l-1","idx":42}})
        );
        let with_exp = CertificatePayload {
            exp: Some(200),
            ..payload
        };
        assert_eq!(serde_json::to_value(&with_exp).unwrap()["exp"], json!(200));
        assert_eq!(issuer_id_of(&with_exp.iss), Some("7c1e"));
    }

    #[test]
    fn code_json_uses_the_documented_keys() {
        let payload = CodePayload {
            iss: PLATFORM_ISSUER.into(),
            jti: "k-1".into(),
            iat: 1,
            exp: 61,
            kind: CodeKind::Family,
            holder: Holder::Person {
                name: "李四".into(),
                id_type: IdDocumentType::Passport,
                id_number: "****4567".into(),
            },
            st: HolderStatus::Attention,
            claims: Map::new(),
            dep: Some("link-9".into()),
        };
        let json = serde_json::to_value(&payload).unwrap();
        assert_eq!(json["kind"], json!("family"));
        assert_eq!(json["st"], json!("attention"));
        assert_eq!(json["dep"], json!("link-9"));
        let without = serde_json::to_value(CodePayload {
            dep: None,
            ..payload
        })
        .unwrap();
        assert!(without.get("dep").is_none());
        assert_eq!(CodeKind::from_name("offline"), Some(CodeKind::Offline));
        assert_eq!(
            HolderStatus::from_name("restricted"),
            Some(HolderStatus::Restricted)
        );
    }
}
