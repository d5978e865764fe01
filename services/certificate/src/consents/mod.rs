//! Three-party unlock (三解锁): an integrator app asks for a holder's
//! certificate data for a purpose, a period and a read limit; the consent
//! becomes usable only once the custodian department, the platform and the
//! holder have each unlocked it; reads within it return the scoped data and
//! are logged and counted; past the limit, after the period, or once any
//! party revoked it, reads are refused at once.
//!
//! # Who is who
//! - **The app**: a caller whose token subject is `app:<app_id>` (the
//!   gateway calls on the app's behalf). `RequestConsent` must name that
//!   app id (else `PERMISSION_DENIED`, `APP_MISMATCH` or `NOT_AN_APP`), and
//!   only that app reads under the consent (anyone else's read is refused
//!   `CONSENT_WRONG_APP` and logged on the consent).
//! - **CUSTODIAN**: a caller with role Admin in exactly the consent's
//!   custodian tenant (no cross-tenant grant makes one).
//! - **PLATFORM**: a caller with role Admin in `certificate.platform_tenant`.
//! - **HOLDER**: a caller whose holder key (`shared::require_holder`,
//!   subject `person:<id-type>:<id-number>`) is the consent holder's
//!   `Holder::key()`.
//!
//! The holder is a person: nobody signs in as an organisation, so a
//! consent about one could never be unlocked and is refused at request.
//!
//! Unlocking, declining or revoking for a party one is not is
//! `PERMISSION_DENIED` (`NOT_CONSENT_PARTY`) and changes nothing, whoever
//! asks; likewise a read by anyone but the app is refused (and logged).
//! `GetConsent`, `ListConsents` and `ListConsentUsage` show a consent to its
//! three parties and its app only; to everyone else it does not exist
//! (`NOT_FOUND`).
//!
//! # Reads
//! A read is decided in one transaction with a guarded update (ACTIVE,
//! within the period, reads below the limit), so concurrent reads never
//! pass the limit. Every attempt is logged in `consent_usage` and raises
//! `certificate.consent.read`; refused attempts commit their log entry
//! although the call fails. The read that uses up the limit makes the
//! consent EXHAUSTED. A retry with the request id of an allowed read returns
//! that read again, uncounted. The data is the holder's VALID certificates
//! of the consent's types issued by the custodian, with only the claims in
//! scope, never the signed token.
//!
//! # The signed record
//! `signed_record` is a compact JWS (EdDSA, `typ` `zt-consent+jwt`) by the
//! platform key over the agreed terms, re-signed on every change; verify it
//! with the platform key of the trust list. See [`domain::record`].
//!
//! # Expiry
//! Reads past the period's end are refused at once; a timer every
//! `certificate.timer_interval_ms` records such consents as EXPIRED.

pub mod api;
pub mod domain;
mod published;
mod store;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use zhongtai_kit::BackgroundTask;

pub use api::ConsentApi;

use crate::Deps;
use crate::shared::{CertificateDirectory, Keyring, TypeRegistry};

/// The consents part of the center.
pub struct Consents {
    workflow: Arc<domain::ConsentWorkflow>,
    timer_interval: std::time::Duration,
}

impl Consents {
    pub fn new(
        deps: &Deps,
        keyring: Arc<dyn Keyring>,
        types: Arc<dyn TypeRegistry>,
        certificates: Arc<dyn CertificateDirectory>,
    ) -> Arc<Self> {
        let platform_tenant = match deps.config.platform_tenant() {
            Ok(tenant) => Some(tenant),
            Err(error) => {
                tracing::error!(%error, "certificate.platform_tenant is unusable: nobody can unlock consents as the platform");
                None
            }
        };
        let store = Arc::new(store::SeaConsents::new(
            deps.db.clone(),
            deps.outbox.clone(),
        ));
        Arc::new(Self {
            workflow: Arc::new(domain::ConsentWorkflow::new(
                store,
                keyring,
                types,
                certificates,
                domain::Parties::new(platform_tenant),
            )),
            timer_interval: deps.config.timer_interval(),
        })
    }

    /// The `ConsentService` implementation.
    pub fn api(self: &Arc<Self>) -> ConsentApi {
        ConsentApi::new(self.workflow.clone())
    }

    /// Work beside the server: expiring consents past their period.
    pub fn background(self: &Arc<Self>, stop: CancellationToken) -> Vec<BackgroundTask> {
        let workflow = self.workflow.clone();
        let task = zhongtai_kit::timers::every(
            "certificate.consent-expiry",
            self.timer_interval,
            stop,
            move || {
                let workflow = workflow.clone();
                async move { workflow.expire_due().await }
            },
        );
        vec![Box::pin(task)]
    }
}
