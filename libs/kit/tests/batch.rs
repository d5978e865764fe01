//! Group commit as its users see it: many submits become few writes, a full
//! queue refuses at once, a stop writes what was accepted, and a write that
//! keeps failing reaches every submitter of its batch.

#![allow(clippy::unwrap_used)] // test helpers

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use zhongtai_kit::batch::{BatchConfig, GroupCommit, SubmitError};

/// Batches as the writer received them.
type Written = Arc<Mutex<Vec<Vec<u32>>>>;

fn recording_writer(
    written: &Written,
) -> impl FnMut(Arc<[u32]>) -> futures::future::Ready<Result<(), String>> + Send + 'static {
    let written = written.clone();
    move |batch| {
        written.lock().unwrap().push(batch.to_vec());
        futures::future::ready(Ok(()))
    }
}

fn config(max_batch: usize, linger_ms: u64, capacity: usize) -> BatchConfig {
    BatchConfig {
        first_backoff: Duration::from_millis(1),
        ..BatchConfig::new(max_batch, Duration::from_millis(linger_ms), capacity)
    }
}

#[tokio::test]
async fn many_submits_become_few_writes_of_bounded_size() {
    let written = Written::default();
    let (commit, runner) =
        GroupCommit::new("test", config(64, 20, 10_000), recording_writer(&written));
    let stop = CancellationToken::new();
    let task = tokio::spawn(runner.run(stop.clone()));

    let submits: Vec<_> = (0..1_000u32)
        .map(|n| {
            let commit = commit.clone();
            tokio::spawn(async move { commit.submit(n).await })
        })
        .collect();
    for submit in submits {
        assert_eq!(submit.await.unwrap(), Ok(()));
    }

    let batches = written.lock().unwrap().clone();
    let mut items: Vec<u32> = batches.iter().flatten().copied().collect();
    items.sort_unstable();
    assert_eq!(
        items,
        (0..1_000).collect::<Vec<_>>(),
        "every item written once"
    );
    assert!(
        batches.iter().all(|batch| batch.len() <= 64),
        "a batch is at most max_batch"
    );
    assert!(
        batches.len() < 100,
        "1000 items in {} writes",
        batches.len()
    );
    let stats = commit.stats();
    assert_eq!(stats.items, 1_000);
    assert_eq!(stats.batches, batches.len() as u64);
    assert_eq!(commit.pending(), 0);

    stop.cancel();
    task.await.unwrap();
}

#[tokio::test]
async fn a_full_queue_refuses_at_once_and_frees_up_after_the_write() {
    let release = Arc::new(Semaphore::new(0));
    let (started, mut writing) = mpsc::unbounded_channel();
    let writer = {
        let release = release.clone();
        move |batch: Arc<[u32]>| {
            let release = release.clone();
            let started = started.clone();
            async move {
                let _ = started.send(batch.to_vec());
                release
                    .acquire()
                    .await
                    .map(|permit| permit.forget())
                    .map_err(|e| e.to_string())
            }
        }
    };
    let (commit, runner) = GroupCommit::new("slow", config(10, 0, 1), writer);
    let stop = CancellationToken::new();
    let task = tokio::spawn(runner.run(stop.clone()));

    let first = tokio::spawn({
        let commit = commit.clone();
        async move { commit.submit(1).await }
    });
    assert_eq!(
        writing.recv().await,
        Some(vec![1]),
        "the slow write has begun"
    );
    assert_eq!(
        commit.submit(2).await,
        Err(SubmitError::Full {
            name: "slow",
            capacity: 1
        })
    );

    release.add_permits(1);
    assert_eq!(first.await.unwrap(), Ok(()));
    let third = tokio::spawn({
        let commit = commit.clone();
        async move { commit.submit(3).await }
    });
    assert_eq!(
        writing.recv().await,
        Some(vec![3]),
        "room again once answered"
    );
    release.add_permits(1);
    assert_eq!(third.await.unwrap(), Ok(()));

    stop.cancel();
    task.await.unwrap();
}

#[tokio::test]
async fn stop_ends_the_linger_and_writes_the_waiting_batch() {
    let written = Written::default();
    // A linger far longer than the test: only the stop makes the batch leave.
    let (commit, runner) = GroupCommit::new(
        "linger",
        config(100, 600_000, 100),
        recording_writer(&written),
    );
    let stop = CancellationToken::new();
    let task = tokio::spawn(runner.run(stop.clone()));

    let submits = spawn_submits(&commit, 0..10);
    while commit.pending() < 10 {
        tokio::task::yield_now().await;
    }
    assert!(
        written.lock().unwrap().is_empty(),
        "nothing written before the stop"
    );

    stop.cancel();
    for submit in submits {
        assert_eq!(
            submit.await.unwrap(),
            Ok(()),
            "accepted before the stop, written"
        );
    }
    task.await.unwrap();
    assert_eq!(all_items(&written), (0..10).collect::<Vec<_>>());
    assert_eq!(
        commit.submit(99).await,
        Err(SubmitError::Closed { name: "linger" })
    );
}

#[tokio::test]
async fn items_queued_behind_a_slow_write_are_written_before_the_task_ends() {
    let written = Written::default();
    let release = Arc::new(Semaphore::new(0));
    let writer = {
        let written = written.clone();
        let release = release.clone();
        move |batch: Arc<[u32]>| {
            let written = written.clone();
            let release = release.clone();
            async move {
                let permit = release.acquire().await.map_err(|e| e.to_string())?;
                permit.forget();
                written.lock().unwrap().push(batch.to_vec());
                Ok::<(), String>(())
            }
        }
    };
    let (commit, runner) = GroupCommit::new("drain", config(4, 0, 100), writer);
    let stop = CancellationToken::new();
    let task = tokio::spawn(runner.run(stop.clone()));

    let submits = spawn_submits(&commit, 0..10);
    while commit.pending() < 10 {
        tokio::task::yield_now().await;
    }
    stop.cancel();
    release.add_permits(100);
    for submit in submits {
        assert_eq!(submit.await.unwrap(), Ok(()));
    }
    task.await.unwrap();
    assert_eq!(all_items(&written), (0..10).collect::<Vec<_>>());
    assert!(written.lock().unwrap().iter().all(|batch| batch.len() <= 4));
    assert_eq!(
        commit.submit(99).await,
        Err(SubmitError::Closed { name: "drain" })
    );
}

fn spawn_submits(
    commit: &GroupCommit<u32>,
    items: std::ops::Range<u32>,
) -> Vec<tokio::task::JoinHandle<Result<(), SubmitError>>> {
    items
        .map(|n| {
            let commit = commit.clone();
            tokio::spawn(async move { commit.submit(n).await })
        })
        .collect()
}

fn all_items(written: &Written) -> Vec<u32> {
    let mut items: Vec<u32> = written.lock().unwrap().iter().flatten().copied().collect();
    items.sort_unstable();
    items
}

#[tokio::test]
async fn a_write_that_keeps_failing_reaches_every_submitter() {
    let calls = Arc::new(Mutex::new(0u32));
    let writer = {
        let calls = calls.clone();
        move |_batch: Arc<[u32]>| {
            *calls.lock().unwrap() += 1;
            futures::future::ready(Err::<(), _>("database away"))
        }
    };
    let config = BatchConfig {
        attempts: 3,
        ..config(10, 20, 100)
    };
    let (commit, runner) = GroupCommit::new("failing", config, writer);
    let stop = CancellationToken::new();
    let task = tokio::spawn(runner.run(stop.clone()));

    let (a, b) = tokio::join!(commit.submit(1), commit.submit(2));
    for answer in [a, b] {
        assert_eq!(
            answer,
            Err(SubmitError::Failed {
                name: "failing",
                reason: "database away".into()
            })
        );
    }
    let stats = commit.stats();
    assert_eq!(
        *calls.lock().unwrap(),
        3 * stats.failed_batches as u32,
        "3 attempts a batch"
    );
    assert_eq!(stats.failed_attempts, u64::from(*calls.lock().unwrap()));
    assert_eq!((stats.batches, stats.items), (0, 0));
    assert_eq!(
        commit.pending(),
        0,
        "failed items no longer count against capacity"
    );

    stop.cancel();
    task.await.unwrap();
}

#[tokio::test]
async fn a_write_that_fails_then_succeeds_is_retried_with_the_same_items() {
    let attempts = Arc::new(Mutex::new(Vec::<Vec<u32>>::new()));
    let writer = {
        let attempts = attempts.clone();
        move |batch: Arc<[u32]>| {
            let mut seen = attempts.lock().unwrap();
            seen.push(batch.to_vec());
            let result = if seen.len() < 3 {
                Err("deadlock detected")
            } else {
                Ok(())
            };
            futures::future::ready(result)
        }
    };
    let (commit, runner) = GroupCommit::new("flaky", config(10, 0, 100), writer);
    let stop = CancellationToken::new();
    let task = tokio::spawn(runner.run(stop.clone()));

    assert_eq!(commit.submit(7).await, Ok(()));
    assert_eq!(*attempts.lock().unwrap(), vec![vec![7], vec![7], vec![7]]);
    let stats = commit.stats();
    assert_eq!(
        (stats.batches, stats.items, stats.failed_attempts),
        (1, 1, 2)
    );

    stop.cancel();
    task.await.unwrap();
}
