//! Which lines this process runs: every runnable log or enclave line whose
//! lease it holds, one task per line. Leases are renewed at a third of
//! their lifetime; a task stops as soon as its lease is lost, its line
//! leaves a runnable state, or the process shuts down (releasing the lease,
//! so another instance takes over without waiting for it to lapse).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::pipeline::sleep_unless_cancelled;
use super::{Runners, line_task};
use crate::domain::line::{Line, SourceSpec};

struct Running {
    stop: CancellationToken,
    task: JoinHandle<()>,
    lease_until: DateTime<Utc>,
    renewed_at: Instant,
}

/// Supervises lines until `stop`, then stops every task and releases its
/// lease.
pub(crate) async fn run(runners: Arc<Runners>, stop: CancellationToken) {
    let config = &runners.parts.config;
    let tick = config
        .refresh_interval()
        // Often enough that a renewal due at a third of the lease is never
        // a whole tick late.
        .min(config.lease_ttl() / 6)
        .max(Duration::from_millis(10));
    // Line tasks are spawned, so they would outlive a supervisor that is
    // dropped instead of stopped; the guard stops them with it.
    let stop = stop.child_token();
    let _stop_tasks_when_dropped = stop.clone().drop_guard();
    let mut running: HashMap<Uuid, Running> = HashMap::new();
    let mut refused: HashMap<Uuid, Instant> = HashMap::new();
    loop {
        supervise(&runners, &mut running, &mut refused, &stop).await;
        if !sleep_unless_cancelled(tick, &stop).await {
            break;
        }
    }
    let ids: Vec<Uuid> = running.keys().copied().collect();
    for id in ids {
        stop_line(&runners, &mut running, id, true).await;
    }
}

/// Whether a runner reads the line's source (push lines are fed instead).
fn has_runner(line: &Line) -> bool {
    line.is_runnable() && matches!(line.source, SourceSpec::Log(_) | SourceSpec::Enclave(_))
}

async fn supervise(
    runners: &Arc<Runners>,
    running: &mut HashMap<Uuid, Running>,
    // Lines another instance holds, with when we last asked: asked again
    // at lease-renewal pace rather than every round.
    refused: &mut HashMap<Uuid, Instant>,
    stop: &CancellationToken,
) {
    let finished: Vec<Uuid> = running
        .iter()
        .filter(|(_, line)| line.task.is_finished())
        .map(|(id, _)| *id)
        .collect();
    for id in finished {
        stop_line(runners, running, id, true).await;
    }
    let store = &runners.parts.store;
    let lines = match store.runnable_lines().await {
        Ok(lines) => lines,
        Err(error) => {
            tracing::warn!(error = %error, "listing runnable lines failed");
            stop_lapsed(runners, running).await;
            return;
        }
    };
    let wanted: HashMap<Uuid, Line> = lines
        .into_iter()
        .filter(has_runner)
        .map(|line| (line.id, line))
        .collect();
    let gone: Vec<Uuid> = running
        .keys()
        .filter(|id| !wanted.contains_key(id))
        .copied()
        .collect();
    for id in gone {
        stop_line(runners, running, id, true).await;
    }
    let ttl = runners.parts.config.lease_ttl();
    let owner = runners.owner();
    refused.retain(|id, _| wanted.contains_key(id));
    for (id, line) in wanted {
        let due = match running.get(&id) {
            Some(held) => held.renewed_at.elapsed() >= ttl / 3,
            None => refused.get(&id).is_none_or(|at| at.elapsed() >= ttl / 3),
        };
        if !due {
            continue;
        }
        let until = Utc::now() + chrono::Duration::from_std(ttl).unwrap_or_default();
        match store.acquire_lease(id, &owner, until).await {
            Ok(true) => {
                refused.remove(&id);
                match running.get_mut(&id) {
                    Some(held) => {
                        held.lease_until = until;
                        held.renewed_at = Instant::now();
                    }
                    None => {
                        let line_stop = stop.child_token();
                        let task =
                            tokio::spawn(line_task::run(runners.clone(), line, line_stop.clone()));
                        tracing::info!(line.id = %id, "running line");
                        running.insert(
                            id,
                            Running {
                                stop: line_stop,
                                task,
                                lease_until: until,
                                renewed_at: Instant::now(),
                            },
                        );
                    }
                }
            }
            Ok(false) => {
                refused.insert(id, Instant::now());
                if running.contains_key(&id) {
                    tracing::warn!(line.id = %id, "line lease lost to another instance");
                    stop_line(runners, running, id, false).await;
                }
            }
            Err(error) => {
                tracing::warn!(line.id = %id, error = %error, "renewing the line lease failed");
            }
        }
    }
    stop_lapsed(runners, running).await;
}

/// Stops lines whose lease ran out without a renewal: another instance
/// may be running them by now.
async fn stop_lapsed(runners: &Arc<Runners>, running: &mut HashMap<Uuid, Running>) {
    let now = Utc::now();
    let lapsed: Vec<Uuid> = running
        .iter()
        .filter(|(_, held)| held.lease_until <= now)
        .map(|(id, _)| *id)
        .collect();
    for id in lapsed {
        tracing::warn!(line.id = %id, "line lease lapsed; stopping the line");
        stop_line(runners, running, id, false).await;
    }
}

async fn stop_line(
    runners: &Arc<Runners>,
    running: &mut HashMap<Uuid, Running>,
    id: Uuid,
    release: bool,
) {
    let Some(held) = running.remove(&id) else {
        return;
    };
    held.stop.cancel();
    if let Err(error) = held.task.await
        && error.is_panic()
    {
        tracing::error!(line.id = %id, "line task panicked");
    }
    runners.forget_line(id);
    if release
        && let Err(error) = runners
            .parts
            .store
            .release_lease(id, &runners.owner())
            .await
    {
        tracing::warn!(line.id = %id, error = %error, "releasing the line lease failed");
    }
}
