//! Codes verified together: under load many VerifyCode and ScanCode calls
//! are in flight at once, and checking their signatures as one batch costs
//! far less per signature than checking each alone. Calls hand their code
//! to one task, which takes everything that arrived in the same round of
//! the scheduler (it yields once before it looks, so calls ready to run
//! get there first) and verifies it together. An idle server answers a
//! lone call at once, with a batch of one: no call waits for others.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use zhongtai_credential::{CodeCheck, FormatError, TrustStore};

use crate::shared::{CertificateError, Keyring};

/// Codes verified in one go at most; the library batches them further.
const MAX_CODES: usize = 128;

/// An offline check of one code, with the trust list version it used.
pub type Checked = Result<(Result<CodeCheck, FormatError>, i64), CertificateError>;

struct Job {
    presentation: String,
    done: oneshot::Sender<Checked>,
}

/// How much batching there was: codes over batches is the mean batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchCounts {
    pub batches: u64,
    pub codes: u64,
}

#[derive(Default)]
struct Counters {
    batches: AtomicU64,
    codes: AtomicU64,
}

/// Hands codes to the batch task.
pub struct SignatureBatcher {
    keyring: Arc<dyn Keyring>,
    queue: mpsc::UnboundedSender<Job>,
    receiver: std::sync::Mutex<Option<mpsc::UnboundedReceiver<Job>>>,
    /// Whether the task runs; until it does, calls verify alone.
    running: Arc<AtomicBool>,
    counters: Arc<Counters>,
}

impl SignatureBatcher {
    pub fn new(keyring: Arc<dyn Keyring>) -> Self {
        let (queue, receiver) = mpsc::unbounded_channel();
        Self {
            keyring,
            queue,
            receiver: std::sync::Mutex::new(Some(receiver)),
            running: Arc::new(AtomicBool::new(false)),
            counters: Arc::default(),
        }
    }

    pub fn counts(&self) -> BatchCounts {
        BatchCounts {
            batches: self.counters.batches.load(Ordering::Relaxed),
            codes: self.counters.codes.load(Ordering::Relaxed),
        }
    }

    /// The offline check of `presentation` at about `now` (a batch is
    /// checked at the time it is taken up).
    pub async fn check(&self, presentation: &str, now: DateTime<Utc>) -> Checked {
        if self.running.load(Ordering::Acquire) {
            let (done, answer) = oneshot::channel();
            let job = Job {
                presentation: presentation.to_string(),
                done,
            };
            if self.queue.send(job).is_ok()
                && let Ok(checked) = answer.await
            {
                return checked;
            }
        }
        let trust = self.keyring.trust_store().await?;
        let check = zhongtai_credential::verify_code(presentation, &trust, now);
        Ok((check, trust.version()))
    }

    /// The batch task, until `stop`; `None` if it was taken already.
    pub fn task(
        &self,
        stop: CancellationToken,
    ) -> Option<impl Future<Output = ()> + Send + 'static> {
        let receiver = self.receiver.lock().ok()?.take()?;
        let keyring = self.keyring.clone();
        let running = self.running.clone();
        running.store(true, Ordering::Release);
        Some(run(keyring, receiver, running, self.counters.clone(), stop))
    }
}

async fn run(
    keyring: Arc<dyn Keyring>,
    mut queue: mpsc::UnboundedReceiver<Job>,
    running: Arc<AtomicBool>,
    counters: Arc<Counters>,
    stop: CancellationToken,
) {
    let mut jobs = Vec::with_capacity(MAX_CODES);
    loop {
        let first = tokio::select! {
            biased;
            job = queue.recv() => job,
            () = stop.cancelled() => None,
        };
        let Some(first) = first else { break };
        jobs.push(first);
        tokio::task::yield_now().await;
        // No waiting beyond that: under load, calls queue while a batch is
        // checked, so the next batch is larger by itself; a timed wait
        // measured here lowered the CPU a code costs but raised latency.
        gather(&mut queue, &mut jobs);
        counters.batches.fetch_add(1, Ordering::Relaxed);
        counters
            .codes
            .fetch_add(jobs.len() as u64, Ordering::Relaxed);
        answer(&keyring, &mut jobs).await;
    }
    // Calls from now on verify alone; those queued still get answers.
    running.store(false, Ordering::Release);
    queue.close();
    while let Some(job) = queue.recv().await {
        jobs.push(job);
        answer(&keyring, &mut jobs).await;
    }
}

fn gather(queue: &mut mpsc::UnboundedReceiver<Job>, jobs: &mut Vec<Job>) {
    while jobs.len() < MAX_CODES {
        match queue.try_recv() {
            Ok(job) => jobs.push(job),
            Err(_) => break,
        }
    }
}

async fn answer(keyring: &Arc<dyn Keyring>, jobs: &mut Vec<Job>) {
    let trust: Result<Arc<TrustStore>, CertificateError> = keyring.trust_store().await;
    let trust = match trust {
        Ok(trust) => trust,
        Err(error) => {
            for job in jobs.drain(..) {
                let _ = job
                    .done
                    .send(Err(CertificateError::Keys(error.to_string())));
            }
            return;
        }
    };
    let now = crate::shared::now();
    let presentations: Vec<&str> = jobs.iter().map(|job| job.presentation.as_str()).collect();
    let checks = zhongtai_credential::verify_codes(&presentations, &trust, now);
    for (job, check) in jobs.drain(..).zip(checks) {
        // A caller that went away needs no answer.
        let _ = job.done.send(Ok((check, trust.version())));
    }
}

#[cfg(test)]
mod tests {
    use zhongtai_credential::Outcome;

    use super::*;
    use crate::codes::domain::presentation::tests::{content, minter, sealer};

    #[tokio::test]
    async fn concurrent_codes_are_checked_together_each_with_its_own_answer() {
        let (minter, platform) = minter(sealer(1));
        let batcher = Arc::new(SignatureBatcher::new(platform));
        let stop = CancellationToken::new();
        let task = tokio::spawn(batcher.task(stop.clone()).unwrap_or_else(|| unreachable!()));

        let mut presentations = Vec::new();
        for n in 0..40 {
            let code = minter
                .sign(&minter.payload(&content()), None)
                .await
                .unwrap_or_else(|_| unreachable!());
            presentations.push(match n % 4 {
                // A signature character changed.
                1 => {
                    let mut token = code.token.clone();
                    let at = token.len() - 10;
                    let swapped = if &token[at..=at] == "A" { "B" } else { "A" };
                    token.replace_range(at..=at, swapped);
                    token
                }
                2 => "not a code".to_string(),
                _ => code.qr_payload,
            });
        }
        let checks = futures_of(&batcher, &presentations).await;
        for (n, checked) in checks.into_iter().enumerate() {
            let (check, version) = checked.unwrap_or_else(|_| unreachable!());
            assert_eq!(version, 1);
            match n % 4 {
                1 => assert_eq!(
                    check.map(|c| c.outcome),
                    Ok(Outcome::SignatureInvalid),
                    "{n}"
                ),
                2 => assert!(check.is_err(), "{n}"),
                _ => assert_eq!(check.map(|c| c.outcome), Ok(Outcome::Valid), "{n}"),
            }
        }
        stop.cancel();
        assert!(task.await.is_ok());
        // Without the task, a call is checked alone.
        let (check, _) = batcher
            .check(&presentations[0], Utc::now())
            .await
            .unwrap_or_else(|_| unreachable!());
        assert_eq!(check.map(|c| c.outcome), Ok(Outcome::Valid));
    }

    async fn futures_of(batcher: &Arc<SignatureBatcher>, presentations: &[String]) -> Vec<Checked> {
        let handles: Vec<_> = presentations
            .iter()
            .map(|presentation| {
                let batcher = batcher.clone();
                let presentation = presentation.clone();
                tokio::spawn(async move { batcher.check(&presentation, Utc::now()).await })
            })
            .collect();
        let mut checks = Vec::new();
        for handle in handles {
            checks.push(handle.await.unwrap_or_else(|_| unreachable!()));
        }
        checks
    }
}
