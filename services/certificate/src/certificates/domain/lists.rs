//! Status lists: certificates are placed in groups of
//! [`MIN_STATUS_LIST_BITS`] positions, each group has a revocation and a
//! suspension list, and a list is published as a gzip bitstring signed by
//! the platform.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use zhongtai_credential::{Bitstring, MIN_STATUS_LIST_BITS, PLATFORM_ISSUER, SigningKey};

use crate::shared::{CertificateStatus, StatusEntry};

/// The JWS `typ` of a signed status list.
pub const STATUS_LIST_TYP: &str = "zt-status+jwt";
/// How long verifiers may cache a published list.
pub const STATUS_LIST_CACHE: Duration = Duration::minutes(5);
/// Positions of a group's lists.
pub const GROUP_SIZE: u64 = MIN_STATUS_LIST_BITS as u64;
/// Certificates placed in a group before the next one opens: half its
/// positions, so a random free position is found in a few tries and a
/// list's set bits say nothing about the order of issue.
pub const GROUP_CAPACITY: u64 = GROUP_SIZE / 2;

/// What a set bit means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ListPurpose {
    Revocation,
    Suspension,
}

impl ListPurpose {
    pub const ALL: [Self; 2] = [Self::Revocation, Self::Suspension];

    /// The stored name, also the suffix of the list id and the token's
    /// `statusPurpose`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Revocation => "revocation",
            Self::Suspension => "suspension",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|purpose| purpose.as_str() == name)
    }

    /// The certificate status whose certificates have their bit set.
    pub fn status(self) -> CertificateStatus {
        match self {
            Self::Revocation => CertificateStatus::Revoked,
            Self::Suspension => CertificateStatus::Suspended,
        }
    }

    /// The list of `group` with this purpose: `<group>-<purpose>`.
    pub fn list_id(self, group: &str) -> String {
        format!("{group}-{}", self.as_str())
    }
}

/// The group and purpose of a list id written by [`ListPurpose::list_id`];
/// groups are decimal numbers.
pub fn parse_list_id(id: &str) -> Option<(String, ListPurpose)> {
    let (group, purpose) = id.rsplit_once('-')?;
    let purpose = ListPurpose::from_name(purpose)?;
    let valid_group = !group.is_empty()
        && group.len() <= 18
        && group.bytes().all(|b| b.is_ascii_digit())
        && !group.starts_with('0');
    valid_group.then(|| (group.to_string(), purpose))
}

/// The list an entry's bit lives in, for `purpose`.
pub fn list_of(entry: &StatusEntry, purpose: ListPurpose) -> String {
    purpose.list_id(&entry.group)
}

/// One list at one version: exactly the bits of the certificates in its
/// status when that version was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListSnapshot {
    pub id: String,
    pub group: String,
    pub purpose: ListPurpose,
    pub version: i64,
    /// When this version was written.
    pub updated_at: DateTime<Utc>,
    pub bits: Bitstring,
}

impl ListSnapshot {
    /// A list of `size` bits with the given indexes set; indexes outside
    /// the list are ignored (they cannot be allocated).
    pub fn with_set_bits(
        group: &str,
        purpose: ListPurpose,
        version: i64,
        updated_at: DateTime<Utc>,
        size: u64,
        set: impl IntoIterator<Item = u64>,
    ) -> Result<Self, zhongtai_credential::FormatError> {
        let mut bits = Bitstring::new(usize::try_from(size).unwrap_or(usize::MAX))?;
        for index in set {
            if let Ok(index) = usize::try_from(index) {
                // An index beyond the list cannot have been allocated in it.
                let _ = bits.set(index, true);
            }
        }
        Ok(Self {
            id: purpose.list_id(group),
            group: group.to_string(),
            purpose,
            version,
            updated_at,
            bits,
        })
    }

    pub fn is_set(&self, index: u64) -> bool {
        usize::try_from(index)
            .ok()
            .and_then(|index| self.bits.get(index))
            .unwrap_or(false)
    }
}

/// A list as verifiers fetch it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedList {
    pub id: String,
    pub purpose: ListPurpose,
    pub size: u64,
    /// The gzip bitstring.
    pub encoded: Vec<u8>,
    pub version: i64,
    pub issued_at: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
    /// Compact JWS by the platform key over the same list.
    pub token: String,
}

/// Publishes `snapshot` at `now`: compressed, and signed by `platform`
/// with a payload in the W3C Bitstring Status List vocabulary.
pub fn publish(
    snapshot: &ListSnapshot,
    platform: &SigningKey,
    now: DateTime<Utc>,
) -> PublishedList {
    let encoded = snapshot.bits.encode_gzip();
    // The W3C text form is multibase: 'u' then base64url of the gzip bytes.
    let multibase = snapshot.bits.to_encoded_list();
    let encoded_list = multibase.strip_prefix('u').unwrap_or(&multibase);
    let valid_until = now + STATUS_LIST_CACHE;
    let payload = json!({
        "iss": PLATFORM_ISSUER,
        "sub": snapshot.id,
        "iat": now.timestamp(),
        "exp": valid_until.timestamp(),
        "statusPurpose": snapshot.purpose.as_str(),
        "encodedList": encoded_list,
        "size": snapshot.bits.len(),
        "version": snapshot.version,
    });
    let token = zhongtai_credential::sign_compact(platform, STATUS_LIST_TYP, &payload);
    PublishedList {
        id: snapshot.id.clone(),
        purpose: snapshot.purpose,
        size: snapshot.bits.len() as u64,
        encoded,
        version: snapshot.version,
        issued_at: snapshot.updated_at,
        valid_until,
        token,
    }
}

#[cfg(test)]
mod tests {
    use zhongtai_credential::{CompactJws, MIN_STATUS_LIST_BITS};

    use super::*;

    #[test]
    fn list_ids_name_group_and_purpose() {
        assert_eq!(ListPurpose::Revocation.list_id("12"), "12-revocation");
        assert_eq!(
            parse_list_id("12-suspension"),
            Some(("12".into(), ListPurpose::Suspension))
        );
        for bad in [
            "",
            "12",
            "-revocation",
            "012-revocation",
            "a-revocation",
            "12-expiry",
            "1-2-revocation",
        ] {
            assert_eq!(parse_list_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_published_list_decodes_to_its_bits_and_is_signed() {
        let snapshot = ListSnapshot::with_set_bits(
            "1",
            ListPurpose::Revocation,
            7,
            Utc::now(),
            GROUP_SIZE,
            [0, 9, GROUP_SIZE - 1, GROUP_SIZE + 5],
        )
        .unwrap();
        assert!(snapshot.is_set(9) && !snapshot.is_set(10) && !snapshot.is_set(u64::MAX));
        let (key, _) = SigningKey::generate("platform-1").unwrap();
        let now = Utc::now();
        let published = publish(&snapshot, &key, now);
        assert_eq!(published.size, MIN_STATUS_LIST_BITS as u64);
        let bits = Bitstring::decode_gzip(&published.encoded, MIN_STATUS_LIST_BITS).unwrap();
        assert_eq!(bits, snapshot.bits);
        let jws = CompactJws::parse(&published.token).unwrap();
        assert!(jws.verify(&key.public_key()));
        let payload: serde_json::Value = jws.payload_json().unwrap();
        assert_eq!(payload["statusPurpose"], "revocation");
        assert_eq!(payload["version"], 7);
        let text = format!("u{}", payload["encodedList"].as_str().unwrap());
        assert_eq!(
            Bitstring::from_encoded_list(&text, MIN_STATUS_LIST_BITS).unwrap(),
            snapshot.bits
        );
        assert_eq!(published.valid_until, now + STATUS_LIST_CACHE);
    }
}
