//! Verifying a code online: the offline check against the trust list in
//! memory (signatures of concurrent calls checked together, see
//! [`super::signatures`]), plus revocation of offline codes from a set in
//! memory. No database round trip per call: this is the path that takes
//! the spikes.
//!
//! The revoked set is loaded on first use, updated at once by revocations
//! made here, and re-read every `refresh_interval` for revocations made on
//! other instances ([`RevokedCodes::refresh`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;
use zhongtai_credential::{CERTIFICATE_TYP, CodeKind, CodePayload, FormatError};

use super::model::CodeOutcome;
use super::ports::OfflineCodeRepository;
use super::signatures::SignatureBatcher;
use crate::metrics::{self, VerificationResult, VerifiedKind};
use crate::shared::CertificateError;

/// Largest presentation accepted, in bytes (a code is well under 1 KiB).
pub const MAX_PRESENTATION_BYTES: usize = 4 * 1024;

/// How far back each refresh looks beyond the previous one: covers
/// transactions that commit a little after their revocation time and
/// clocks a little apart between instances.
const REFRESH_OVERLAP: Duration = Duration::seconds(60);

/// A code's verdict at one moment.
#[derive(Debug, Clone)]
pub struct Verification {
    pub outcome: CodeOutcome,
    pub detail: String,
    pub key_id: String,
    /// Whenever it parsed; trusted only when the outcome is `Valid`.
    pub payload: Option<CodePayload>,
    /// Whether the signature held (the payload is the platform's).
    pub signed_by_platform: bool,
    pub trust_list_version: i64,
    pub checked_at: DateTime<Utc>,
    /// Whether revocation was looked up (offline codes).
    pub revocation_checked: bool,
}

/// Checks presented codes.
pub struct Verifier {
    signatures: Arc<SignatureBatcher>,
    revoked: Arc<RevokedCodes>,
}

impl Verifier {
    pub fn new(signatures: Arc<SignatureBatcher>, revoked: Arc<RevokedCodes>) -> Self {
        Self {
            signatures,
            revoked,
        }
    }

    /// The size limit, in the caller's field terms.
    pub fn check_size(presentation: &str) -> Result<(), CertificateError> {
        if presentation.len() > MAX_PRESENTATION_BYTES {
            return Err(CertificateError::invalid(
                "payload",
                format!(
                    "is {} bytes, more than the {MAX_PRESENTATION_BYTES} allowed",
                    presentation.len()
                ),
            ));
        }
        Ok(())
    }

    /// The verdict on `presentation` at `now`; the inner `Err` when it is
    /// not a code at all (why, in a sentence), the outer one when the
    /// center itself failed.
    pub async fn verify(
        &self,
        presentation: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<Verification, String>, CertificateError> {
        let (check, trust_list_version) = self.signatures.check(presentation, now).await?;
        let check = match check {
            Ok(check) => check,
            Err(error) => {
                metrics::record(VerifiedKind::Code, VerificationResult::Invalid);
                return Ok(Err(unreadable(&error)));
            }
        };
        let signed_by_platform = !matches!(
            check.outcome,
            zhongtai_credential::Outcome::SignatureInvalid
                | zhongtai_credential::Outcome::UntrustedKey
        );
        let mut verification = Verification {
            outcome: CodeOutcome::from_offline(check.outcome),
            detail: check.detail,
            key_id: check.key_id,
            payload: check.payload,
            signed_by_platform,
            trust_list_version,
            checked_at: now,
            revocation_checked: false,
        };
        let offline = verification
            .payload
            .as_ref()
            .filter(|p| p.kind == CodeKind::Offline);
        if let (Some(payload), true) = (offline, verification.outcome == CodeOutcome::Valid) {
            verification.revocation_checked = true;
            if self.revoked.is_revoked(&payload.jti).await? {
                verification.outcome = CodeOutcome::Revoked;
                verification.detail = "the offline code was revoked".to_string();
            }
        }
        metrics::record(
            VerifiedKind::of_code(verification.payload.as_ref().map(|p| p.kind)),
            VerificationResult::of_code(verification.outcome),
        );
        Ok(Ok(verification))
    }
}

/// Why a presentation is not a code, for the person at the scanner.
fn unreadable(error: &FormatError) -> String {
    match error {
        FormatError::WrongType {
            found: Some(found), ..
        } if found == CERTIFICATE_TYP => {
            "this is an e-certificate, not a presentation code: verify it with VerifyCertificate"
                .to_string()
        }
        other => other.to_string(),
    }
}

/// Offline codes revoked and not yet expired, by id.
pub struct RevokedCodes {
    repository: Arc<dyn OfflineCodeRepository>,
    revoked: RwLock<HashMap<Uuid, DateTime<Utc>>>,
    loaded: tokio::sync::OnceCell<()>,
    /// When the last refresh began; the next reads revocations from a
    /// little before.
    last_refresh: Mutex<Option<DateTime<Utc>>>,
}

impl RevokedCodes {
    pub fn new(repository: Arc<dyn OfflineCodeRepository>) -> Self {
        Self {
            repository,
            revoked: RwLock::new(HashMap::new()),
            loaded: tokio::sync::OnceCell::new(),
            last_refresh: Mutex::new(None),
        }
    }

    /// Whether the code `id` is revoked; the first call waits for the
    /// initial load, so no instance answers VALID for a revoked code
    /// because it has just started.
    pub async fn is_revoked(&self, id: &str) -> Result<bool, CertificateError> {
        let Ok(id) = Uuid::parse_str(id) else {
            return Ok(false);
        };
        self.loaded
            .get_or_try_init(|| async { self.refresh().await.map(|_| ()) })
            .await?;
        Ok(self
            .revoked
            .read()
            .map(|revoked| revoked.contains_key(&id))
            .unwrap_or(false))
    }

    /// Takes a revocation made on this instance into account at once.
    pub fn mark(&self, id: Uuid, expires_at: DateTime<Utc>) {
        if let Ok(mut revoked) = self.revoked.write() {
            revoked.insert(id, expires_at);
        }
    }

    /// Reads the revocations made since shortly before the last refresh
    /// (all unexpired ones the first time) and forgets expired codes.
    /// Returns how many were read.
    pub async fn refresh(&self) -> Result<usize, CertificateError> {
        let now = crate::shared::now();
        let since = self
            .last_refresh
            .lock()
            .ok()
            .and_then(|last| *last)
            .map(|last| last - REFRESH_OVERLAP);
        let found = self.repository.revoked_since(since, now).await?;
        let read = found.len();
        if let Ok(mut revoked) = self.revoked.write() {
            revoked.retain(|_, expires_at| *expires_at > now);
            for (id, expires_at) in found {
                if expires_at > now {
                    revoked.insert(id, expires_at);
                }
            }
        }
        if let Ok(mut last) = self.last_refresh.lock() {
            *last = Some(now);
        }
        Ok(read)
    }
}
