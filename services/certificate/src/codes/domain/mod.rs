//! The rules of codes, dependants, venues and scans, free of the contract
//! and of storage: use cases over the ports in [`ports`].

pub mod dependants;
pub mod model;
pub mod offline;
pub mod ports;
pub mod presentation;
pub mod scans;
pub mod showing;
pub mod signatures;
pub mod status;
pub mod venues;
pub mod verification;

use chrono::{DateTime, SubsecRound, Utc};
use uuid::Uuid;

use crate::shared::CertificateError;

const MAX_REQUEST_ID_CHARS: usize = 128;

/// The clock, to the microsecond both databases keep.
pub fn now_micros() -> DateTime<Utc> {
    crate::shared::now().trunc_subsecs(6)
}

/// Field problems of one request, reported together.
#[derive(Debug, Default)]
pub struct Violations(Vec<(String, String)>);

impl Violations {
    pub fn add(&mut self, field: &str, problem: impl Into<String>) {
        self.0.push((field.to_string(), problem.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_error(self) -> CertificateError {
        CertificateError::Invalid(self.0)
    }

    /// `Ok` when nothing was found.
    pub fn finish(self) -> Result<(), CertificateError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.into_error())
        }
    }
}

/// 1..128 characters, none of them control characters.
pub fn check_request_id(v: &mut Violations, request_id: &str) {
    let chars = request_id.chars().count();
    if chars == 0 || chars > MAX_REQUEST_ID_CHARS || request_id.chars().any(char::is_control) {
        v.add(
            "request_id",
            format!("required: 1..{MAX_REQUEST_ID_CHARS} characters, no control characters"),
        );
    }
}

/// At most `max_chars` characters without control characters; not blank
/// when `required`.
pub fn check_text(v: &mut Violations, field: &str, text: &str, max_chars: usize, required: bool) {
    let chars = text.chars().count();
    if required && text.trim().is_empty() {
        v.add(field, format!("required, 1..{max_chars} characters"));
    } else if chars > max_chars {
        v.add(
            field,
            format!("must be at most {max_chars} characters (got {chars})"),
        );
    } else if text.chars().any(char::is_control) {
        v.add(field, "must not contain control characters");
    }
}

/// A UUID named by `field`.
pub fn parse_id(field: &str, id: &str) -> Result<Uuid, CertificateError> {
    Uuid::parse_str(id).map_err(|_| CertificateError::invalid(field, "required: a UUID"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_and_texts_are_bounded() {
        let mut v = Violations::default();
        check_request_id(&mut v, "r-1");
        check_text(&mut v, "name", "体育馆", 3, true);
        assert!(v.is_empty());
        check_request_id(&mut v, "");
        check_request_id(&mut v, &"x".repeat(129));
        check_text(&mut v, "name", "  ", 3, true);
        check_text(&mut v, "address", "一二三四", 3, false);
        check_text(&mut v, "address", "a\nb", 3, false);
        assert_eq!(v.0.len(), 5);
        assert!(parse_id("id", "not-a-uuid").is_err());
    }
}
