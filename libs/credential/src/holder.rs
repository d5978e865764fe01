//! Who a certificate or code is about.

use serde::{Deserialize, Serialize};

/// The identity document a person is known by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdDocumentType {
    /// 居民身份证
    ResidentIdCard,
    /// 护照
    Passport,
    /// 港澳台居民来往内地通行证
    MainlandTravelPermit,
    /// 外国人永久居留身份证
    ForeignPermanentResidentCard,
}

impl IdDocumentType {
    pub const ALL: [IdDocumentType; 4] = [
        Self::ResidentIdCard,
        Self::Passport,
        Self::MainlandTravelPermit,
        Self::ForeignPermanentResidentCard,
    ];

    /// The name used in tokens, keys and APIs, e.g. `"resident-id-card"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ResidentIdCard => "resident-id-card",
            Self::Passport => "passport",
            Self::MainlandTravelPermit => "mainland-travel-permit",
            Self::ForeignPermanentResidentCard => "foreign-permanent-resident-card",
        }
    }

    /// The type named by [`as_str`](Self::as_str), or `None`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

impl std::fmt::Display for IdDocumentType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The subject of a certificate or a code: a person or an organization.
///
/// In JSON the variant is the key and field names are short, because every
/// byte ends up in a QR code: `{"person":{"name":..,"id_type":..,"id_number":..}}`
/// or `{"org":{"name":..,"uscc":..}}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Holder {
    #[serde(rename = "person")]
    Person {
        name: String,
        id_type: IdDocumentType,
        id_number: String,
    },
    #[serde(rename = "org")]
    Organization {
        name: String,
        /// 统一社会信用代码 (18 characters).
        #[serde(rename = "uscc")]
        unified_social_credit_code: String,
    },
}

/// Characters of an identifier left readable by [`Holder::masked`].
const VISIBLE_SUFFIX_CHARS: usize = 4;

impl Holder {
    /// The same holder with the identifier (ID number or credit code) hidden
    /// but its last 4 characters, for codes shown to third parties:
    /// `33110019900101123X` becomes `**************123X`.
    pub fn masked(&self) -> Holder {
        match self {
            Self::Person {
                name,
                id_type,
                id_number,
            } => Self::Person {
                name: name.clone(),
                id_type: *id_type,
                id_number: mask(id_number),
            },
            Self::Organization {
                name,
                unified_social_credit_code,
            } => Self::Organization {
                name: name.clone(),
                unified_social_credit_code: mask(unified_social_credit_code),
            },
        }
    }

    /// A stable lookup key: `person:<id_type>:<id_number>` or `org:<code>`;
    /// certificates carry it as their `sub`.
    pub fn key(&self) -> String {
        match self {
            Self::Person {
                id_type, id_number, ..
            } => format!("person:{id_type}:{id_number}"),
            Self::Organization {
                unified_social_credit_code,
                ..
            } => {
                format!("org:{unified_social_credit_code}")
            }
        }
    }

    /// The holder's name (a person's or an organization's).
    pub fn name(&self) -> &str {
        match self {
            Self::Person { name, .. } | Self::Organization { name, .. } => name,
        }
    }
}

fn mask(identifier: &str) -> String {
    let hidden = identifier
        .chars()
        .count()
        .saturating_sub(VISIBLE_SUFFIX_CHARS);
    identifier
        .chars()
        .enumerate()
        .map(|(position, c)| if position < hidden { '*' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person() -> Holder {
        Holder::Person {
            name: "张三".to_owned(),
            id_type: IdDocumentType::ResidentIdCard,
            id_number: "33110019900101123X".to_owned(),
        }
    }

    fn company() -> Holder {
        Holder::Organization {
            name: "丽水市青田县某某有限公司".to_owned(),
            unified_social_credit_code: "91331121MA2E0ABC1X".to_owned(),
        }
    }

    #[test]
    fn masking_keeps_the_last_four_characters() {
        let Holder::Person {
            id_number, name, ..
        } = person().masked()
        else {
            panic!("not a person")
        };
        assert_eq!(id_number, "**************123X");
        assert_eq!(name, "张三");
        let Holder::Organization {
            unified_social_credit_code,
            ..
        } = company().masked()
        else {
            panic!("not an organization")
        };
        assert_eq!(unified_social_credit_code, "**************BC1X");
        assert_eq!(mask("护照号E1234567"), "*******4567");
        assert_eq!(mask("123"), "123");
    }

    #[test]
    fn keys_name_the_document() {
        assert_eq!(person().key(), "person:resident-id-card:33110019900101123X");
        assert_eq!(company().key(), "org:91331121MA2E0ABC1X");
    }

    #[test]
    fn json_uses_short_tagged_keys() {
        let json = serde_json::to_value(person()).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!({"person":{"name":"张三","id_type":"resident-id-card","id_number":"33110019900101123X"}})
        );
        let json = serde_json::to_value(company()).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!({"org":{"name":"丽水市青田县某某有限公司","uscc":"91331121MA2E0ABC1X"}})
        );
        let back: Holder = serde_json::from_value(json).unwrap_or_else(|_| person());
        assert_eq!(back, company());
    }

    #[test]
    fn document_type_names_round_trip() {
        for kind in IdDocumentType::ALL {
            assert_eq!(IdDocumentType::from_name(kind.as_str()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).ok(),
                Some(serde_json::json!(kind.as_str()))
            );
        }
        assert_eq!(IdDocumentType::from_name("driving-licence"), None);
    }
}
