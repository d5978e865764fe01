//! Request validation at the edge: collect every problem with a request, then
//! answer INVALID_ARGUMENT once, listing them all (`google.rpc.BadRequest`).

use crate::status::ApiError;

/// Collects field violations of one request.
#[derive(Debug, Default)]
pub struct Validator {
    violations: Vec<(String, String)>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a violation.
    pub fn violation(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.violations.push((field.into(), description.into()));
    }

    /// Requires a non-blank string of at most `max_chars` characters.
    pub fn text(&mut self, field: &str, value: &str, max_chars: usize) {
        if value.trim().is_empty() {
            self.violation(field, "must not be empty");
        } else {
            self.max_chars(field, value, max_chars);
        }
    }

    /// Limits an optional string's length (in characters, not bytes: Chinese
    /// text counts each character once).
    pub fn max_chars(&mut self, field: &str, value: &str, max_chars: usize) {
        let chars = value.chars().count();
        if chars > max_chars {
            self.violation(
                field,
                format!("must be at most {max_chars} characters (got {chars})"),
            );
        }
    }

    /// Requires a code: 1..=`max_len` ASCII letters, digits, '-', '_' or '.'.
    pub fn code(&mut self, field: &str, value: &str, max_len: usize) {
        if value.is_empty() {
            self.violation(field, "must not be empty");
        } else if value.len() > max_len {
            self.violation(field, format!("must be at most {max_len} characters"));
        } else if !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            self.violation(
                field,
                "may contain only ASCII letters, digits, '-', '_' and '.'",
            );
        }
    }

    /// Limits the number of items in a list.
    pub fn max_items(&mut self, field: &str, count: usize, max: usize) {
        if count > max {
            self.violation(
                field,
                format!("must have at most {max} items (got {count})"),
            );
        }
    }

    /// Runs a parser and records its error message as a violation.
    pub fn parse<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        result: Result<T, E>,
    ) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(e) => {
                self.violation(field, e.to_string());
                None
            }
        }
    }

    /// `Ok` when nothing was recorded, else one INVALID_ARGUMENT listing all.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.violations.is_empty() {
            Ok(())
        } else {
            Err(ApiError::invalid_fields(self.violations))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_every_violation() {
        let mut v = Validator::new();
        v.text("name", "  ", 10);
        v.code("code", "bad code!", 32);
        v.max_chars("description", "婚姻登记信息", 5);
        let error = v.finish().expect_err("three violations");
        assert_eq!(error.code(), tonic::Code::InvalidArgument);
        assert_eq!(error.message(), "3 invalid fields");
    }

    #[test]
    fn counts_characters_not_bytes() {
        let mut v = Validator::new();
        v.max_chars("title", "婚姻登记信息", 6);
        assert!(v.finish().is_ok());
    }

    #[test]
    fn empty_validator_passes() {
        assert!(Validator::new().finish().is_ok());
    }
}
