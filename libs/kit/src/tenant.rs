//! Tenants: an administrative division (GB/T 2260 code: 330000 a province,
//! 331100 a city in it, 331121 a county in that) and optionally a department
//! within it. Parsed once at the edge; the rest of the code holds valid values.

use std::fmt;

/// Why a tenant value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantError {
    #[error("division code must be 6 digits (e.g. 330000), got `{0}`")]
    DivisionFormat(String),
    #[error("`{0}` is not a province-level prefix (11..82)")]
    DivisionProvince(String),
    #[error(
        "department must be 1..64 lowercase letters, digits or '-', starting with a letter, got `{0}`"
    )]
    Department(String),
}

/// Level of an administrative division.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DivisionLevel {
    Province,
    City,
    County,
}

/// A six-digit administrative division code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DivisionCode([u8; 6]);

impl DivisionCode {
    pub fn parse(value: &str) -> Result<Self, TenantError> {
        let bytes = value.as_bytes();
        if bytes.len() != 6 || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(TenantError::DivisionFormat(value.to_string()));
        }
        let province = (bytes[0] - b'0') * 10 + (bytes[1] - b'0');
        if !(11..=82).contains(&province) {
            return Err(TenantError::DivisionProvince(value.to_string()));
        }
        let mut code = [0u8; 6];
        code.copy_from_slice(bytes);
        Ok(Self(code))
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("000000")
    }

    pub fn level(&self) -> DivisionLevel {
        match (&self.0[2..4], &self.0[4..6]) {
            (b"00", b"00") => DivisionLevel::Province,
            (_, b"00") => DivisionLevel::City,
            _ => DivisionLevel::County,
        }
    }

    /// True when `other` is this division or lies within it (a county within
    /// its city, a city within its province).
    pub fn contains(&self, other: &DivisionCode) -> bool {
        let prefix = match self.level() {
            DivisionLevel::Province => 2,
            DivisionLevel::City => 4,
            DivisionLevel::County => 6,
        };
        self.0[..prefix] == other.0[..prefix]
    }
}

impl fmt::Display for DivisionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A division and, optionally, a department within it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantId {
    pub division: DivisionCode,
    pub department: Option<String>,
}

impl TenantId {
    pub fn parse(division: &str, department: &str) -> Result<Self, TenantError> {
        let division = DivisionCode::parse(division)?;
        let department = if department.is_empty() {
            None
        } else {
            let valid = department.len() <= 64
                && department.starts_with(|c: char| c.is_ascii_lowercase())
                && department
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !valid {
                return Err(TenantError::Department(department.to_string()));
            }
            Some(department.to_string())
        };
        Ok(Self {
            division,
            department,
        })
    }

    /// `331100` or `331100/housing-fund`: the form used in event envelopes,
    /// keys and logs.
    pub fn key(&self) -> String {
        match &self.department {
            Some(department) => format!("{}/{department}", self.division),
            None => self.division.to_string(),
        }
    }

    /// Inverse of [`TenantId::key`].
    pub fn from_key(key: &str) -> Result<Self, TenantError> {
        match key.split_once('/') {
            Some((division, department)) => Self::parse(division, department),
            None => Self::parse(key, ""),
        }
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

/// As its key, `331100/housing-fund`, so stored documents read naturally.
impl serde::Serialize for TenantId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.key())
    }
}

impl<'de> serde::Deserialize<'de> for TenantId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let key = <String as serde::Deserialize>::deserialize(deserializer)?;
        TenantId::from_key(&key).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_levels_and_containment() {
        let province = DivisionCode::parse("330000").expect("province");
        let city = DivisionCode::parse("331100").expect("city");
        let county = DivisionCode::parse("331121").expect("county");
        let other_city = DivisionCode::parse("330100").expect("other city");
        assert_eq!(province.level(), DivisionLevel::Province);
        assert_eq!(city.level(), DivisionLevel::City);
        assert_eq!(county.level(), DivisionLevel::County);
        assert!(province.contains(&county));
        assert!(city.contains(&county));
        assert!(!other_city.contains(&county));
        assert!(!county.contains(&city));
    }

    #[test]
    fn rejects_bad_codes() {
        for bad in [
            "",
            "33110",
            "3311000",
            "33a100",
            "001100",
            "991100",
            "３３１１００",
        ] {
            assert!(DivisionCode::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn tenant_keys_round_trip() {
        let tenant = TenantId::parse("331100", "housing-fund").expect("tenant");
        assert_eq!(tenant.key(), "331100/housing-fund");
        assert_eq!(TenantId::from_key("331100/housing-fund"), Ok(tenant));
        assert_eq!(TenantId::from_key("331100").map(|t| t.department), Ok(None));
    }

    #[test]
    fn rejects_bad_departments() {
        for bad in ["Housing", "-x", "a b", "住房", &"a".repeat(65)] {
            assert!(TenantId::parse("331100", bad).is_err(), "{bad} accepted");
        }
    }
}
