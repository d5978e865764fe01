//! The caller's own bearer token, kept so a service can call another one on
//! the caller's behalf: the next service verifies the same identity and
//! applies its own rules, instead of trusting the first service's word.

use std::fmt;

/// A verified bearer token as received. Its text never appears in logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential(String);

impl Credential {
    pub(crate) fn new(token: &str) -> Self {
        Self(token.to_string())
    }

    /// For tests and tools that hold a token of their own.
    pub fn from_token(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// Adds `authorization: Bearer …` to an outgoing request.
    pub fn authorize<T>(&self, request: &mut tonic::Request<T>) {
        if let Ok(value) = format!("Bearer {}", self.0).parse() {
            request.metadata_mut().insert("authorization", value);
        }
    }

    /// `message` as a request carrying this credential.
    pub fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        self.authorize(&mut request);
        request
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credential(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_sent_as_a_bearer_header_and_never_printed() {
        let credential = Credential::from_token("abc.def.ghi");
        let request = credential.request(());
        assert_eq!(
            request
                .metadata()
                .get("authorization")
                .map(|v| v.to_str().ok()),
            Some(Some("Bearer abc.def.ghi"))
        );
        assert!(!format!("{credential:?}").contains("abc"));
    }
}
