//! Show and scan codes (亮码/扫码): personal, family and offline codes,
//! venues, and scans verified in memory and recorded in batches.
//!
//! The hot paths touch no database per call: VerifyCode is offline
//! verification against the trust list in memory plus a look into the
//! in-memory set of revoked offline codes; ScanCode adds a venue from
//! memory and hands the scan to a group commit that writes batches of
//! `scan_batch_size` (or what came within `scan_batch_linger_ms`), each
//! caller waiting only until its batch is durable. With
//! `scan_queue_capacity` scans waiting, ScanCode refuses at once
//! (RESOURCE_EXHAUSTED, retry). At shutdown the queue is written out
//! before the task ends.

pub mod api;
pub mod domain;
mod published;
mod store;

use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;
use zhongtai_kit::BackgroundTask;
use zhongtai_kit::batch::{BatchConfig, BatchRunner, BatchStats};

pub use api::CodeApi;

use crate::Deps;
use crate::shared::{CertificateDirectory, Keyring, TypeRegistry};
use domain::dependants::Guardianship;
use domain::model::ScanRecord;
use domain::offline::OfflineCodes;
use domain::presentation::CodeMinter;
use domain::scans::Scanning;
use domain::showing::Showing;
use domain::signatures::SignatureBatcher;
use domain::venues::Venues;
use domain::verification::{RevokedCodes, Verifier};
use store::{BatchedScanLog, ScanWriter};

/// The codes part of the center.
pub struct Codes {
    deps: Deps,
    showing: Arc<Showing>,
    guardianship: Guardianship,
    offline: OfflineCodes,
    venues: Venues,
    scanning: Scanning,
    verifier: Arc<Verifier>,
    signatures: Arc<SignatureBatcher>,
    revoked: Arc<RevokedCodes>,
    scan_log: Arc<BatchedScanLog>,
    /// Taken by the first [`Codes::background`].
    scan_writer: Mutex<Option<BatchRunner<ScanRecord, ScanWriter>>>,
}

impl Codes {
    pub fn new(
        deps: &Deps,
        keyring: Arc<dyn Keyring>,
        types: Arc<dyn TypeRegistry>,
        certificates: Arc<dyn CertificateDirectory>,
    ) -> Arc<Self> {
        let db = deps.db.clone();
        let config = &deps.config;
        let minter = Arc::new(CodeMinter::new(keyring.clone(), deps.sealer.clone()));
        let showing = Arc::new(Showing::new(
            certificates.clone(),
            types,
            minter.clone(),
            config.code_validity(),
        ));
        let offline_codes = Arc::new(store::SeaOfflineCodes::new(db.clone(), deps.outbox.clone()));
        let revoked = Arc::new(RevokedCodes::new(offline_codes.clone()));
        let signatures = Arc::new(SignatureBatcher::new(keyring));
        let verifier = Arc::new(Verifier::new(signatures.clone(), revoked.clone()));
        let venues = Venues::new(Arc::new(store::SeaVenues::new(
            db.clone(),
            deps.outbox.clone(),
        )));
        let (scan_log, scan_writer) = BatchedScanLog::new(
            db.clone(),
            BatchConfig::new(
                config.scan_batch_size as usize,
                config.scan_batch_linger(),
                config.scan_queue_capacity as usize,
            ),
        );
        let scan_log = Arc::new(scan_log);
        let scanning = Scanning::new(
            venues.clone(),
            verifier.clone(),
            minter,
            scan_log.clone(),
            Arc::new(store::SeaScans::new(db.clone())),
        );
        let guardianship = Guardianship::new(
            Arc::new(store::SeaDependants::new(db, deps.outbox.clone())),
            certificates,
            showing.clone(),
        );
        let offline = OfflineCodes::new(offline_codes, showing.clone(), revoked.clone());
        Arc::new(Self {
            deps: deps.clone(),
            showing,
            guardianship,
            offline,
            venues,
            scanning,
            verifier,
            signatures,
            revoked,
            scan_log,
            scan_writer: Mutex::new(Some(scan_writer)),
        })
    }

    /// The `CodeService` implementation.
    pub fn api(self: &Arc<Self>) -> CodeApi {
        CodeApi::new(self.clone())
    }

    /// The signature batcher, the scan writer (it writes out its queue when
    /// `stop` fires) and the refresh of revoked offline codes.
    pub fn background(self: &Arc<Self>, stop: CancellationToken) -> Vec<BackgroundTask> {
        let mut tasks: Vec<BackgroundTask> = Vec::new();
        if let Some(signatures) = self.signatures.task(stop.clone()) {
            tasks.push(Box::pin(signatures));
        }
        let writer = self.scan_writer.lock().ok().and_then(|mut w| w.take());
        if let Some(writer) = writer {
            tasks.push(Box::pin(writer.run(stop.clone())));
        }
        let revoked = self.revoked.clone();
        tasks.push(Box::pin(zhongtai_kit::timers::every(
            "certificate.offline-code-revocations",
            self.deps.config.refresh_interval(),
            stop,
            move || {
                let revoked = revoked.clone();
                async move { revoked.refresh().await }
            },
        )));
        tasks
    }

    /// How the signatures of verified codes were batched so far.
    pub fn signature_batches(&self) -> domain::signatures::BatchCounts {
        self.signatures.counts()
    }

    /// What the scan writer has done so far: batches, scans, failures.
    pub fn scan_batches(&self) -> BatchStats {
        self.scan_log.stats()
    }
}
