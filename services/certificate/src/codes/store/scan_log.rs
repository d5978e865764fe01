//! The scan log: scans are written in batches by one background task (the
//! kit's group commit), each ScanCode waiting only for its batch. A scan id
//! already recorded is ignored by the insert and remembered here, so its
//! ScanCode can answer the scan as first recorded.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use sea_orm::DatabaseConnection;
use uuid::Uuid;
use zhongtai_kit::batch::{BatchConfig, BatchRunner, GroupCommit, SubmitError};

use super::scans::insert_scans;
use crate::codes::domain::model::ScanRecord;
use crate::codes::domain::ports::{Logged, ScanLog};
use crate::shared::CertificateError;

/// Ids of scans a batch found recorded already, until their ScanCode
/// looks; bounded in case a caller gave up before looking.
type Repeats = Arc<Mutex<HashSet<Uuid>>>;
const MAX_REPEATS: usize = 100_000;

type Written = Pin<Box<dyn Future<Output = Result<(), CertificateError>> + Send>>;

/// The batch writer, boxed so the runner's type can be named.
pub type ScanWriter = Box<dyn FnMut(Arc<[ScanRecord]>) -> Written + Send>;

pub struct BatchedScanLog {
    commit: GroupCommit<ScanRecord>,
    repeats: Repeats,
}

impl BatchedScanLog {
    /// The log and the runner to spawn as a background task.
    pub fn new(
        db: DatabaseConnection,
        config: BatchConfig,
    ) -> (Self, BatchRunner<ScanRecord, ScanWriter>) {
        let repeats = Repeats::default();
        let writer: ScanWriter = {
            let repeats = repeats.clone();
            Box::new(move |batch: Arc<[ScanRecord]>| {
                let db = db.clone();
                let repeats = repeats.clone();
                Box::pin(async move {
                    let inserted = insert_scans(&db, &batch).await?;
                    if inserted.len() < batch.len()
                        && let Ok(mut repeats) = repeats.lock()
                    {
                        if repeats.len() > MAX_REPEATS {
                            repeats.clear();
                        }
                        repeats.extend(
                            batch
                                .iter()
                                .map(|scan| scan.scan_id)
                                .filter(|id| !inserted.contains(id)),
                        );
                    }
                    Ok(())
                })
            })
        };
        let (commit, runner) = GroupCommit::new("certificate.scans", config, writer);
        (Self { commit, repeats }, runner)
    }

    /// Batches written so far (for tests and metrics).
    pub fn stats(&self) -> zhongtai_kit::batch::BatchStats {
        self.commit.stats()
    }
}

#[async_trait]
impl ScanLog for BatchedScanLog {
    async fn record(&self, scan: ScanRecord) -> Result<Logged, CertificateError> {
        let scan_id = scan.scan_id;
        match self.commit.submit(scan).await {
            Ok(()) => {}
            Err(SubmitError::Full { capacity, .. }) => {
                return Err(CertificateError::Overloaded(format!(
                    "{capacity} scans are waiting to be recorded; retry shortly"
                )));
            }
            Err(SubmitError::Closed { .. }) => {
                return Err(CertificateError::Overloaded(
                    "this instance is shutting down; retry on another".into(),
                ));
            }
            Err(failed @ SubmitError::Failed { .. }) => {
                return Err(CertificateError::Storage(failed.to_string()));
            }
        }
        let repeated = self
            .repeats
            .lock()
            .map(|mut repeats| repeats.remove(&scan_id))
            .unwrap_or(false);
        Ok(if repeated {
            Logged::AlreadyRecorded
        } else {
            Logged::Recorded
        })
    }
}
