//! Scanning codes at venues (扫码): each scan is verified in memory and
//! recorded for tracing (holder, venue, time). Scans are handed to the
//! [`ScanLog`], which writes them in batches; a scan is answered once it is
//! durable, so an answered scan is never lost. A retried scan id is
//! recorded once and answered as first recorded.

use std::sync::Arc;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use uuid::Uuid;
use zhongtai_credential::Holder;
use zhongtai_kit::auth::roles::REVIEWERS;
use zhongtai_kit::{Actor, Caller, Page, PageQuery};

use super::model::{CodeOutcome, ScanRecord};
use super::ports::{Logged, ScanLog, ScanRepository, Window};
use super::presentation::CodeMinter;
use super::venues::Venues;
use super::verification::{MAX_PRESENTATION_BYTES, Verifier};
use super::{Violations, parse_id};
use crate::shared::{CertificateError, caller_holder_key, require_holder};

/// How far a device's clock may put a scan in the past (offline scanners
/// upload later) and in the future.
const SCAN_TIME_PAST: Duration = Duration::hours(24);
const SCAN_TIME_FUTURE: Duration = Duration::minutes(5);
const MAX_DEVICE_ID_CHARS: usize = 64;
/// Longest window a scan list covers.
pub const MAX_WINDOW: Duration = Duration::days(31);

/// A scan as ScanCode reports it.
#[derive(Debug, Clone, Default)]
pub struct ScanDraft {
    pub scan_id: String,
    pub venue_id: String,
    pub payload: String,
    /// `None`: now.
    pub scan_time: Option<DateTime<Utc>>,
    pub device_id: String,
}

#[derive(Clone)]
pub struct Scanning {
    venues: Venues,
    verifier: Arc<Verifier>,
    minter: Arc<CodeMinter>,
    log: Arc<dyn ScanLog>,
    scans: Arc<dyn ScanRepository>,
}

impl Scanning {
    pub fn new(
        venues: Venues,
        verifier: Arc<Verifier>,
        minter: Arc<CodeMinter>,
        log: Arc<dyn ScanLog>,
        scans: Arc<dyn ScanRepository>,
    ) -> Self {
        Self {
            venues,
            verifier,
            minter,
            log,
            scans,
        }
    }

    /// Verifies and records a scan. A presentation that is no code at all
    /// is recorded as an unreadable scan, then refused as INVALID_ARGUMENT.
    pub async fn scan(
        &self,
        caller: &Caller,
        draft: &ScanDraft,
    ) -> Result<ScanRecord, CertificateError> {
        let now = super::now_micros();
        let (scan_id, venue_id, scan_time) = check_scan(draft, now)?;
        let venue = self.venues.for_scan(caller, venue_id).await?;
        let verdict = self.verifier.verify(&draft.payload, now).await?;
        let mut record = ScanRecord {
            scan_id,
            tenant: venue.tenant.clone(),
            venue_id,
            code_id: String::new(),
            code_kind: None,
            holder_key: String::new(),
            holder: None,
            outcome: CodeOutcome::Unreadable,
            holder_status: None,
            scan_time,
            record_time: now,
            device_id: draft.device_id.clone(),
            scanned_by: Actor::of(caller),
        };
        let unreadable = match &verdict {
            Ok(verification) => {
                record.outcome = verification.outcome;
                if let Some(payload) = &verification.payload {
                    record.code_id = payload.jti.clone();
                    record.code_kind = Some(payload.kind);
                    record.holder = Some(payload.holder.clone());
                    record.holder_status = Some(payload.st);
                    // Only a code the platform signed names its holder.
                    if verification.signed_by_platform {
                        record.holder_key = self.minter.holder_key(payload).unwrap_or_default();
                    }
                }
                None
            }
            Err(reason) => Some(reason.clone()),
        };
        let recorded = match self.log.record(record.clone()).await? {
            Logged::Recorded => record,
            Logged::AlreadyRecorded => self
                .scans
                .get(&caller.write_scope(), scan_id)
                .await?
                .ok_or_else(|| {
                    CertificateError::invalid("scan_id", "was already used for another scan")
                })?,
        };
        match unreadable {
            Some(reason) if recorded.outcome == CodeOutcome::Unreadable => {
                Err(CertificateError::invalid("payload", reason))
            }
            _ => Ok(recorded),
        }
    }

    /// Scans at one of the caller's venues within the window.
    pub async fn at_venue(
        &self,
        caller: &Caller,
        venue_id: &str,
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
        page: &PageQuery,
    ) -> Result<Page<ScanRecord>, CertificateError> {
        let mut v = Violations::default();
        let venue_id = match parse_id("venue_id", venue_id) {
            Ok(id) => Some(id),
            Err(_) => {
                v.add("venue_id", "required: a UUID");
                None
            }
        };
        let window = check_window(&mut v, start, end);
        let (Some(venue_id), Some(window), true) = (venue_id, window, v.is_empty()) else {
            return Err(v.into_error());
        };
        // The venue must be the caller's to read, else nothing is said.
        let venue = self.venues.get(caller, &venue_id.to_string()).await?;
        self.scans
            .at_venue(&caller.read_scope(), venue.id, window, page)
            .await
    }

    /// A holder's scans within the window: the holder's own (wherever
    /// they were), or anyone's for reviewers (Admins, Auditors) within
    /// their read scope.
    pub async fn of_holder(
        &self,
        caller: &Caller,
        holder: Option<&Holder>,
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
        page: &PageQuery,
    ) -> Result<Page<ScanRecord>, CertificateError> {
        let mut v = Violations::default();
        let window = check_window(&mut v, start, end);
        let (Some(window), true) = (window, v.is_empty()) else {
            return Err(v.into_error());
        };
        let (holder_key, own) = match holder {
            None => (require_holder(caller)?.to_string(), true),
            Some(holder) => {
                let key = holder.key();
                let own = caller_holder_key(caller) == Some(key.as_str());
                if !own && !caller.has_any_role(REVIEWERS) {
                    return Err(CertificateError::Denied {
                        reason: "NOT_THE_HOLDER",
                        target: "holder".into(),
                        message:
                            "only the holder, or an Admin or Auditor, may list a holder's scans"
                                .into(),
                    });
                }
                (key, own)
            }
        };
        self.scans
            .of_holder(&caller.read_scope(), &holder_key, own, window, page)
            .await
    }
}

/// The scan's id, venue and time, or every field problem.
fn check_scan(
    draft: &ScanDraft,
    now: DateTime<Utc>,
) -> Result<(Uuid, Uuid, DateTime<Utc>), CertificateError> {
    let mut v = Violations::default();
    let scan_id = Uuid::parse_str(&draft.scan_id).ok();
    if scan_id.is_none() {
        v.add("scan_id", "required: a UUID the device generates");
    }
    let venue_id = Uuid::parse_str(&draft.venue_id).ok();
    if venue_id.is_none() {
        v.add("venue_id", "required: a UUID");
    }
    if draft.payload.trim().is_empty() {
        v.add("payload", "required: the QR payload or token as scanned");
    } else if draft.payload.len() > MAX_PRESENTATION_BYTES {
        v.add(
            "payload",
            format!(
                "is {} bytes, more than the {MAX_PRESENTATION_BYTES} allowed",
                draft.payload.len()
            ),
        );
    }
    let scan_time = draft.scan_time.unwrap_or(now).trunc_subsecs(6);
    if scan_time < now - SCAN_TIME_PAST || scan_time > now + SCAN_TIME_FUTURE {
        v.add(
            "scan_time",
            "must be within the last 24 hours and at most 5 minutes ahead",
        );
    }
    let device_chars = draft.device_id.chars().count();
    if device_chars > MAX_DEVICE_ID_CHARS || draft.device_id.chars().any(char::is_control) {
        v.add(
            "device_id",
            format!("at most {MAX_DEVICE_ID_CHARS} characters, no control characters"),
        );
    }
    match (scan_id, venue_id, v.is_empty()) {
        (Some(scan_id), Some(venue_id), true) => Ok((scan_id, venue_id, scan_time)),
        _ => Err(v.into_error()),
    }
}

/// A window with both ends, start before end, at most [`MAX_WINDOW`].
pub fn check_window(
    v: &mut Violations,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
) -> Option<Window> {
    match (start, end) {
        (Some(start), Some(end)) if start >= end => {
            v.add("period", "end_time must be after start_time");
            None
        }
        (Some(start), Some(end)) if end - start > MAX_WINDOW => {
            v.add("period", "may cover at most 31 days");
            None
        }
        (Some(start), Some(end)) => Some(Window { start, end }),
        (start, end) => {
            if start.is_none() {
                v.add("period.start_time", "required");
            }
            if end.is_none() {
                v.add("period.end_time", "required");
            }
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> ScanDraft {
        ScanDraft {
            scan_id: Uuid::new_v4().to_string(),
            venue_id: Uuid::new_v4().to_string(),
            payload: "ZT1:ABC".into(),
            scan_time: None,
            device_id: "gate-1".into(),
        }
    }

    fn fields(error: CertificateError) -> Vec<String> {
        match error {
            CertificateError::Invalid(violations) => {
                violations.into_iter().map(|(field, _)| field).collect()
            }
            other => vec![other.to_string()],
        }
    }

    #[test]
    fn a_scan_names_its_id_venue_and_a_plausible_time() {
        let now = Utc::now();
        assert!(check_scan(&draft(), now).is_ok());
        let late = ScanDraft {
            scan_time: Some(now - Duration::hours(25)),
            ..draft()
        };
        assert_eq!(fields(check_scan(&late, now).unwrap_err()), ["scan_time"]);
        let early = ScanDraft {
            scan_time: Some(now + Duration::minutes(6)),
            ..draft()
        };
        assert_eq!(fields(check_scan(&early, now).unwrap_err()), ["scan_time"]);
        let bad = ScanDraft {
            scan_id: "1".into(),
            venue_id: String::new(),
            payload: "x".repeat(MAX_PRESENTATION_BYTES + 1),
            device_id: "d".repeat(65),
            ..draft()
        };
        assert_eq!(
            fields(check_scan(&bad, now).unwrap_err()),
            ["scan_id", "venue_id", "payload", "device_id"]
        );
    }

    #[test]
    fn windows_need_both_ends_in_order_within_31_days() {
        let now = Utc::now();
        let mut v = Violations::default();
        assert!(check_window(&mut v, Some(now - MAX_WINDOW), Some(now)).is_some());
        assert!(v.is_empty());
        assert!(check_window(&mut v, Some(now), Some(now)).is_none());
        assert!(
            check_window(
                &mut v,
                Some(now - MAX_WINDOW - Duration::seconds(1)),
                Some(now)
            )
            .is_none()
        );
        assert!(check_window(&mut v, None, Some(now)).is_none());
        assert!(check_window(&mut v, None, None).is_none());
        assert_eq!(
            fields(v.into_error()),
            [
                "period",
                "period",
                "period.start_time",
                "period.start_time",
                "period.end_time"
            ]
        );
    }
}
