//! Capability names: lowercase dotted words such as `certificate.verify`.

use std::fmt;

/// A valid capability name: 3..100 characters, words of lowercase letters,
/// digits, '-' and '_' (each starting with a letter) joined by single dots.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CapabilityName(String);

impl CapabilityName {
    pub fn parse(value: &str) -> Result<Self, String> {
        if !(3..=100).contains(&value.len()) {
            return Err(format!("must be 3..100 characters, got {}", value.len()));
        }
        let words_valid = value.split('.').all(|word| {
            word.starts_with(|c: char| c.is_ascii_lowercase())
                && word
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        });
        if !words_valid {
            return Err(format!(
                "must be lowercase dotted words such as certificate.verify, got `{value}`"
            ));
        }
        Ok(Self(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CapabilityName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_dotted_lowercase_words() {
        for good in [
            "certificate.verify",
            "catalog.search_v2",
            "exchange.push-changes",
            "abc",
        ] {
            assert!(CapabilityName::parse(good).is_ok(), "{good} refused");
        }
    }

    #[test]
    fn refuses_everything_else() {
        let too_long = "a".repeat(101);
        for bad in [
            "ab",
            "Certificate.verify",
            ".certificate",
            "certificate.",
            "certificate..verify",
            "certificate.1verify",
            "certificate verify",
            "catalog.%",
            "\"catalog\"",
            too_long.as_str(),
        ] {
            assert!(CapabilityName::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
