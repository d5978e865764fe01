//! A handler that records an effect per event in the consumer's transaction
//! and then asks a test-provided verdict whether to succeed, so tests can
//! make it fail (after the effect was written, which must then roll back) or
//! act between "effect written" and "committed".

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sea_orm::DatabaseTransaction;
use zhongtai_events::{EventEnvelope, EventHandler, HandlerError};

use super::db::record_effect;

/// Decides the outcome of a handler run from the event and how many times
/// the handler has seen it (1 on the first run).
pub type Verdict = Arc<dyn Fn(&EventEnvelope, u32) -> Result<(), HandlerError> + Send + Sync>;

pub struct RecordingHandler {
    consumer: String,
    verdict: Verdict,
    runs: Mutex<HashMap<String, u32>>,
}

impl RecordingHandler {
    /// A handler whose runs all succeed.
    pub fn succeeding(consumer: &str) -> Arc<Self> {
        Self::with_verdict(consumer, Arc::new(|_, _| Ok(())))
    }

    pub fn with_verdict(consumer: &str, verdict: Verdict) -> Arc<Self> {
        Arc::new(Self {
            consumer: consumer.to_owned(),
            verdict,
            runs: Mutex::new(HashMap::new()),
        })
    }

    /// How many times the handler ran for `event_id`.
    pub fn runs(&self, event_id: &str) -> u32 {
        self.runs
            .lock()
            .expect("runs lock")
            .get(event_id)
            .copied()
            .unwrap_or(0)
    }
}

#[async_trait::async_trait]
impl EventHandler for RecordingHandler {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &EventEnvelope,
    ) -> Result<(), HandlerError> {
        let run = {
            let mut runs = self.runs.lock().expect("runs lock");
            let run = runs.entry(event.id.clone()).or_default();
            *run += 1;
            *run
        };
        record_effect(txn, &self.consumer, event).await?;
        (self.verdict)(event, run)
    }
}
