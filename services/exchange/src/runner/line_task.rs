//! One leased line: opens its source at the confirmed position, moves the
//! line through its states, runs every batch through the pipeline and
//! confirms it to the source afterwards. Transient trouble leaves the line
//! DEGRADED and reopens the source after the retry interval; permanent
//! trouble leaves it FAILED and ends the task.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::metrics::{self, METRICS};
use super::pipeline::{BatchError, sleep_unless_cancelled};
use super::{LogResume, Runners};
use crate::domain::flow::{ChangeSource, FlowError, SourceEvent};
use crate::domain::line::{Line, LineState, SnapshotProgress, SnapshotState, SourceSpec};
use crate::domain::ports::LineRuntime;

/// Snapshot progress is stored at most this often.
const PROGRESS_SAVE_INTERVAL: Duration = Duration::from_millis(500);

/// Why streaming ended.
enum Ended {
    /// Told to stop, or the line left a runnable state.
    Stopped,
    Failed(FlowError),
}

impl From<BatchError> for Ended {
    fn from(error: BatchError) -> Self {
        match error {
            BatchError::Flow(error) => Self::Failed(error),
            BatchError::Stopped => Self::Stopped,
        }
    }
}

impl From<FlowError> for Ended {
    fn from(error: FlowError) -> Self {
        Self::Failed(error)
    }
}

struct LineTask {
    runners: Arc<Runners>,
    line: Line,
    runtime: LineRuntime,
    stop: CancellationToken,
    progress_saved_at: Option<Instant>,
}

/// Runs `line` until `stop` fires or the line can no longer run.
pub(crate) async fn run(runners: Arc<Runners>, line: Line, stop: CancellationToken) {
    let mut task = LineTask {
        runners,
        line,
        runtime: LineRuntime::default(),
        stop,
        progress_saved_at: None,
    };
    while !task.stop.is_cancelled() {
        let failure = match task.attempt().await {
            Ended::Stopped => return,
            Ended::Failed(failure) => failure,
        };
        if task.stop.is_cancelled() || !task.fail(&failure).await {
            return;
        }
        let retry = task.runners.parts.config.retry_interval();
        if !sleep_unless_cancelled(retry, &task.stop).await {
            return;
        }
    }
}

impl LineTask {
    /// Opens the source and streams until something ends it.
    async fn attempt(&mut self) -> Ended {
        let store = &self.runners.parts.store;
        self.runtime = match store.runtime(self.line.id).await {
            Ok(runtime) => runtime,
            Err(error) => {
                return Ended::Failed(FlowError::Transient(format!(
                    "reading the line's position: {error}"
                )));
            }
        };
        let opened = tokio::select! {
            _ = self.stop.cancelled() => return Ended::Stopped,
            opened = self.open() => opened,
        };
        let mut source = match opened {
            Ok(source) => source,
            Err(error) => return Ended::Failed(error),
        };
        let ended = self.stream(source.as_mut()).await;
        source.close().await;
        ended
    }

    async fn open(&self) -> Result<Box<dyn ChangeSource>, FlowError> {
        let parts = &self.runners.parts;
        match &self.line.source {
            SourceSpec::Log(spec) => {
                let resume = LogResume {
                    confirmed_position: self.runtime.confirmed_position,
                    snapshot: self.runtime.snapshot.clone(),
                    batch_max_changes: parts.config.batch_max_changes,
                };
                parts.log_sources.open(self.line.id, spec, resume).await
            }
            SourceSpec::Enclave(spec) => {
                parts
                    .enclaves
                    .open_source(self.line.id, spec, self.runtime.confirmed_position)
                    .await
            }
            SourceSpec::Push(_) => Err(FlowError::Permanent(
                "push lines are fed by PushChanges, not read".into(),
            )),
        }
    }

    /// Whether the source still has a snapshot to copy before streaming.
    fn snapshot_pending(&self) -> bool {
        let wanted = matches!(&self.line.source, SourceSpec::Log(spec) if spec.snapshot);
        wanted
            && !matches!(
                self.runtime.snapshot.state,
                SnapshotState::Completed | SnapshotState::Skipped
            )
    }

    async fn stream(&mut self, source: &mut dyn ChangeSource) -> Ended {
        let mut snapshotting = self.snapshot_pending();
        if !snapshotting && let Err(ended) = self.enter(LineState::Streaming).await {
            return ended;
        }
        loop {
            let event = tokio::select! {
                _ = self.stop.cancelled() => return Ended::Stopped,
                event = source.next() => event,
            };
            let mut progressed = false;
            let step = match event {
                Ok(SourceEvent::Batch(batch)) => {
                    let confirm = batch.confirm_position;
                    match self
                        .runners
                        .deliver_for_task(&self.line, &mut self.runtime, batch, &self.stop)
                        .await
                    {
                        Ok(()) if confirm > 0 => source.confirm(confirm).await.map_err(Ended::from),
                        Ok(()) => Ok(()),
                        Err(error) => Err(error.into()),
                    }
                }
                Ok(SourceEvent::Heartbeat { position, at }) => {
                    self.heartbeat(source, position, at).await
                }
                Ok(SourceEvent::Progress(progress)) => {
                    snapshotting = true;
                    progressed = true;
                    self.progress(progress, false).await
                }
                Ok(SourceEvent::SnapshotCompleted(progress)) => {
                    snapshotting = false;
                    self.progress(progress, true).await
                }
                Err(error) => Err(Ended::Failed(error)),
            };
            if let Err(ended) = step {
                return ended;
            }
            // PROVISIONING until the snapshot reports progress; back from
            // DEGRADED once the source delivers again.
            let target = if !snapshotting {
                Some(LineState::Streaming)
            } else if progressed || self.line.state != LineState::Provisioning {
                Some(LineState::Snapshotting)
            } else {
                None
            };
            if let Some(target) = target
                && let Err(ended) = self.enter(target).await
            {
                return ended;
            }
        }
    }

    /// Nothing to deliver up to `position`: confirm it, so an idle or
    /// filtered source does not retain its log.
    async fn heartbeat(
        &mut self,
        source: &mut dyn ChangeSource,
        position: u64,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), Ended> {
        self.runtime.confirmed_position = self.runtime.confirmed_position.max(position);
        self.runtime.source_position = self.runtime.source_position.max(position);
        self.runtime.last_activity_at = Some(at);
        self.save().await?;
        source.confirm(self.runtime.confirmed_position).await?;
        Ok(())
    }

    async fn progress(&mut self, progress: SnapshotProgress, completed: bool) -> Result<(), Ended> {
        let labels = metrics::line(self.line.id);
        METRICS
            .snapshot_rows
            .get_or_create(&labels)
            .set(progress.rows_done as f64);
        // The total is an estimate taken at the start; once the snapshot is
        // done, what was copied is the total, so progress reads 100%.
        let total = if completed {
            progress.rows_done
        } else {
            progress.rows_total
        };
        METRICS
            .snapshot_rows_total_estimate
            .get_or_create(&labels)
            .set(total as f64);
        self.runtime.snapshot = progress;
        let due = self
            .progress_saved_at
            .is_none_or(|at| at.elapsed() >= PROGRESS_SAVE_INTERVAL);
        if completed || due {
            self.save().await?;
            self.progress_saved_at = Some(Instant::now());
        }
        Ok(())
    }

    async fn save(&self) -> Result<(), Ended> {
        self.runners
            .parts
            .store
            .save_runtime(self.line.id, &self.runtime)
            .await
            .map_err(|error| {
                Ended::Failed(FlowError::Transient(format!(
                    "saving the line's position: {error}"
                )))
            })
    }

    /// Moves the line to `state` unless it is there; stops when the line
    /// was paused or deleted meanwhile.
    async fn enter(&mut self, state: LineState) -> Result<(), Ended> {
        if self.line.state == state && self.line.state_reason.is_empty() {
            return Ok(());
        }
        self.set_state(state, "").await
    }

    async fn set_state(&mut self, state: LineState, reason: &str) -> Result<(), Ended> {
        match self
            .runners
            .parts
            .store
            .set_line_state(self.line.id, state, reason)
            .await
        {
            Ok(line) => {
                self.line = line;
                if self.line.is_runnable() {
                    Ok(())
                } else {
                    Err(Ended::Stopped)
                }
            }
            Err(error) => Err(Ended::Failed(FlowError::Transient(format!(
                "recording the line's state: {error}"
            )))),
        }
    }

    /// Records `failure` on the line; true when the line should retry.
    async fn fail(&mut self, failure: &FlowError) -> bool {
        tracing::warn!(line.id = %self.line.id, error = %failure, "line interrupted");
        let state = if failure.is_permanent() {
            LineState::Failed
        } else {
            LineState::Degraded
        };
        let reason = truncate(&failure.to_string(), 1000);
        if self.line.state == state && self.line.state_reason == reason {
            return !failure.is_permanent();
        }
        match self.set_state(state, &reason).await {
            Ok(()) => !failure.is_permanent(),
            Err(Ended::Stopped) => false,
            // The store is down too: keep trying, the lease says when to stop.
            Err(Ended::Failed(_)) => !failure.is_permanent(),
        }
    }
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}
