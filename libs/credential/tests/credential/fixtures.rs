//! A small trust world: two issuers, a retired key, the platform key.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;
use zhongtai_credential::{
    CERTIFICATE_TYP, CODE_TYP, CertificatePayload, Claim, ClaimValue, CodeKind, CodePayload,
    Holder, HolderStatus, IdDocumentType, PLATFORM_ISSUER, SigningKey, StatusRef,
    TrustListDocument, TrustListIssuer, TrustListKey, TrustStore, claims_to_json, issuer_uri,
    sign_compact,
};

pub const MARKET_REGULATION: &str = "0196a1c2-7d3e-7b51-9c0a-4f2b8e6d1a01";
pub const CIVIL_AFFAIRS: &str = "0196a1c2-7d3e-7b51-9c0a-4f2b8e6d1a02";

pub struct World {
    pub market_regulation: SigningKey,
    /// Market regulation's key retired at the end of 2025.
    pub retired: SigningKey,
    pub civil_affairs: SigningKey,
    pub platform: SigningKey,
    pub document: TrustListDocument,
    pub trust: TrustStore,
}

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 8, 0, 0).single().unwrap()
}

fn key(key: &SigningKey, verify_until: Option<i64>) -> TrustListKey {
    TrustListKey {
        kid: key.key_id().to_owned(),
        x: key.public_key().to_base64url(),
        verify_until,
    }
}

/// A key from a fixed seed (a PKCS#8 v1 document), so tokens, and so their
/// QR sizes, are the same on every run.
pub fn fixed_key(key_id: &str, seed: u8) -> SigningKey {
    let mut pkcs8 = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    pkcs8.extend((0..32u8).map(|i| i.wrapping_mul(31).wrapping_add(seed)));
    SigningKey::from_pkcs8(key_id, &pkcs8).unwrap()
}

pub fn world() -> World {
    let market_regulation = fixed_key("mr-2026", 1);
    let retired = fixed_key("mr-2024", 2);
    let civil_affairs = fixed_key("ca-2026", 3);
    let platform = fixed_key("platform-2026", 4);
    let end_of_2025 = Utc
        .with_ymd_and_hms(2025, 12, 31, 16, 0, 0)
        .single()
        .unwrap()
        .timestamp();
    let document = TrustListDocument {
        version: 7,
        iat: now().timestamp() - 3600,
        next_update: now().timestamp() + 3600,
        issuers: vec![
            TrustListIssuer {
                id: MARKET_REGULATION.to_owned(),
                name: "丽水市市场监督管理局".to_owned(),
                tenant: "331100/market-regulation".to_owned(),
                certificate_types: vec!["business-licence".to_owned(), "food-licence".to_owned()],
                keys: vec![
                    key(&market_regulation, None),
                    key(&retired, Some(end_of_2025)),
                ],
            },
            TrustListIssuer {
                id: CIVIL_AFFAIRS.to_owned(),
                name: "丽水市民政局".to_owned(),
                tenant: "331100/civil-affairs".to_owned(),
                certificate_types: vec!["marriage-certificate".to_owned()],
                keys: vec![key(&civil_affairs, None)],
            },
        ],
        platform_keys: vec![key(&platform, None)],
    };
    let trust = document.to_store().unwrap();
    World {
        market_regulation,
        retired,
        civil_affairs,
        platform,
        document,
        trust,
    }
}

pub fn company() -> Holder {
    Holder::Organization {
        name: "丽水市莲都区青山绿水农业科技有限公司".to_owned(),
        unified_social_credit_code: "91331102MA2HX7K63Q".to_owned(),
    }
}

/// A business licence with the ten claims a real one prints.
pub fn licence() -> CertificatePayload {
    let text = |name: &str, value: &str| Claim {
        name: name.to_owned(),
        value: ClaimValue::String(value.to_owned()),
    };
    let date = |name: &str, value: &str| Claim {
        name: name.to_owned(),
        value: ClaimValue::Date(value.to_owned()),
    };
    let claims = vec![
        text("type", "有限责任公司（自然人投资或控股）"),
        text("legal_representative", "王建华"),
        Claim {
            name: "registered_capital".to_owned(),
            value: ClaimValue::Decimal("5000000.00".to_owned()),
        },
        date("established", "2021-03-18"),
        date("term_until", "2051-03-17"),
        text(
            "address",
            "浙江省丽水市莲都区紫金街道丽阳街 188 号 3 幢 502 室",
        ),
        text(
            "scope",
            "一般项目：农业科学研究和试验发展；技术服务、技术开发、技术咨询；农产品销售",
        ),
        text("registration_authority", "丽水市莲都区市场监督管理局"),
        date("issued_on", "2026-05-31"),
        text("operating_status", "存续"),
    ];
    CertificatePayload {
        iss: issuer_uri(MARKET_REGULATION),
        sub: company().key(),
        jti: "0196a1c2-9f10-7c22-8d3b-5e7a9c0b2d11".to_owned(),
        iat: now().timestamp() - 86_400,
        nbf: now().timestamp() - 86_400,
        exp: Some(now().timestamp() + 365 * 86_400),
        vct: "business-licence".to_owned(),
        sn: "331102000202605310001".to_owned(),
        holder: company(),
        claims: claims_to_json(&claims),
        status: StatusRef {
            list: "0196a1c2-a000-7000-8000-000000000001".to_owned(),
            idx: 40_961,
        },
    }
}

pub fn certificate(key: &SigningKey, payload: &CertificatePayload) -> String {
    sign_compact(key, CERTIFICATE_TYP, payload)
}

pub fn resident() -> Holder {
    Holder::Person {
        name: "张三".to_owned(),
        id_type: IdDocumentType::ResidentIdCard,
        id_number: "33110219900101123X".to_owned(),
    }
}

pub fn personal_code() -> CodePayload {
    CodePayload {
        iss: PLATFORM_ISSUER.to_owned(),
        jti: "0196a1c2-b111-7222-8333-944455566677".to_owned(),
        iat: now().timestamp() - 10,
        exp: now().timestamp() + 50,
        kind: CodeKind::Personal,
        holder: resident().masked(),
        st: HolderStatus::Normal,
        claims: json!({"vaccinated": true})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        dep: None,
    }
}

pub fn code(key: &SigningKey, payload: &CodePayload) -> String {
    sign_compact(key, CODE_TYP, payload)
}

/// xorshift64*: deterministic, so a failure reproduces.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Flips, replaces, inserts or deletes a few bytes (never none).
pub fn mutate(random: &mut XorShift, original: &[u8]) -> Vec<u8> {
    let mut bytes = original.to_vec();
    for _ in 0..1 + random.below(3) {
        let at = random.below(bytes.len().max(1));
        match random.below(4) {
            0 if !bytes.is_empty() => bytes[at] ^= 1 << random.below(8),
            1 if !bytes.is_empty() => bytes[at] = random.next() as u8,
            2 => bytes.insert(at.min(bytes.len()), random.next() as u8),
            _ if bytes.len() > 1 => {
                bytes.remove(at);
            }
            _ => bytes.push(b'.'),
        }
    }
    bytes
}
