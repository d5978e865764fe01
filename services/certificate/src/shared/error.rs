//! What can go wrong in the certificate center, in its own terms. One enum
//! for every part of the center; `crate::error` is the one place it becomes
//! a gRPC status.

/// Why a read under a consent was refused (三解锁).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentRefusal {
    /// Not every party has unlocked it.
    Locked,
    /// The read limit is used up.
    LimitReached,
    /// Outside the consent's period.
    Expired,
    /// Revoked or declined by a party.
    Revoked,
    /// The caller is not the consent's app.
    WrongApp,
}

impl ConsentRefusal {
    /// The stable code put in the error details (`refusal` metadata).
    pub fn code(self) -> &'static str {
        match self {
            Self::Locked => "CONSENT_LOCKED",
            Self::LimitReached => "CONSENT_LIMIT_REACHED",
            Self::Expired => "CONSENT_EXPIRED",
            Self::Revoked => "CONSENT_REVOKED",
            Self::WrongApp => "CONSENT_WRONG_APP",
        }
    }
}

/// A failure of a certificate-center operation.
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    /// The request breaks the rules; one `(field, problem)` per offending
    /// field.
    #[error("invalid request: {0:?}")]
    Invalid(Vec<(String, String)>),
    /// `kind` is e.g. "issuer", "certificate", "consent".
    #[error("{kind} {id} not found")]
    NotFound { kind: &'static str, id: String },
    #[error("{kind} {key} already exists")]
    AlreadyExists { kind: &'static str, key: String },
    /// The client reused an idempotency key for a different request.
    #[error("request id {0} was already used for a different request")]
    RequestIdReused(String),
    /// The entity's state does not allow the operation.
    #[error("{0}")]
    FailedPrecondition(String),
    /// The entity changed since the caller read it.
    #[error("{kind} {id} was changed concurrently")]
    VersionConflict { kind: &'static str, id: String },
    /// The caller may not do this; `reason` is a stable code for the
    /// details.
    #[error("{message}")]
    Denied {
        reason: &'static str,
        target: String,
        message: String,
    },
    /// A consented read was refused; logged before this is returned.
    #[error("{message}")]
    ConsentRefused {
        refusal: ConsentRefusal,
        message: String,
    },
    /// Too busy to take the request now (scan queue full); retry shortly.
    #[error("{0}")]
    Overloaded(String),
    /// Signing or key material failed (bad encryption key, corrupt key);
    /// the cause is for the log, not the caller.
    #[error("key failure: {0}")]
    Keys(String),
    /// The database cannot be reached right now (restarting, failing
    /// over); the call may be retried.
    #[error("storage unavailable: {0}")]
    StorageUnavailable(String),
    /// Storage failed; the cause is for the log, not the caller.
    #[error("storage failure: {0}")]
    Storage(String),
}

impl CertificateError {
    pub fn invalid(field: &str, problem: impl Into<String>) -> Self {
        Self::Invalid(vec![(field.to_string(), problem.into())])
    }

    pub fn not_found(kind: &'static str, id: impl ToString) -> Self {
        Self::NotFound {
            kind,
            id: id.to_string(),
        }
    }

    /// A failure of the database or of what was read from it: unavailable
    /// when the database could not be reached, a storage failure otherwise.
    pub fn storage(cause: impl std::fmt::Display + 'static) -> Self {
        if zhongtai_store::is_unavailable_failure(&cause) {
            Self::StorageUnavailable(cause.to_string())
        } else {
            Self::Storage(cause.to_string())
        }
    }
}
