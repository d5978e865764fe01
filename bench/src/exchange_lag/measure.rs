//! The run: set up, warm up, then per repetition the two fixed-rate levels
//! and the burst with its raw-decoding baseline; clean up however it ends.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use sea_orm::{Database, DatabaseConnection};

use super::flow::{Commit, Producer, QueueConsumer, Receipt, delivered, last_position};
use super::metrics::{BatchCounters, BatchFigures};
use super::raw::{self, RawSlot};
use super::setup::{ExchangeEnv, ExchangeProcess, Line, ScratchDatabase, create_table};
use super::{BurstResults, BurstRun, ExchangeLagResults, LevelResults, LevelRun};
use crate::section::{self, SectionOptions};
use crate::stats::Spread;

/// The measured source table.
const TABLE: &str = "p5_rows";
/// One commit every this long at both fixed-rate levels.
const COMMIT_INTERVAL: Duration = Duration::from_millis(10);
/// Rows per transaction in the burst.
const BURST_ROWS_PER_COMMIT: i64 = 10_000;
/// A stretch gives up on missing rows after this long without a receipt.
const PATIENCE: Duration = Duration::from_secs(15);

/// How much of the exchange's output an error carries.
const LOG_LINES_IN_ERRORS: usize = 20;

/// A fixed offered rate and its p99 target.
struct Level {
    rows_per_sec: u64,
    p99_target_ms: f64,
}

fn levels() -> Vec<Level> {
    super::LATENCY_TARGETS
        .iter()
        .map(|&(rows_per_sec, _, p99_target_ms)| Level {
            rows_per_sec,
            p99_target_ms,
        })
        .collect()
}

struct Plan {
    level_duration: Duration,
    warm_up: Duration,
    burst_rows: i64,
    repetitions: usize,
}

impl Plan {
    fn of(options: &SectionOptions) -> Self {
        Self {
            level_duration: Duration::from_secs(if options.quick { 2 } else { 10 }),
            warm_up: Duration::from_secs(if options.quick { 1 } else { 3 }),
            burst_rows: if options.quick { 10_000 } else { 100_000 },
            repetitions: options.repetitions.max(1),
        }
    }
}

/// Runs P5 against fresh databases and a process of its own.
pub async fn run(options: &SectionOptions) -> anyhow::Result<ExchangeLagResults> {
    let bin = section::zhongtai_bin()?;
    let platform_admin = section::backing("ZT_TEST_POSTGRES_URL")?;
    let source_admin = section::backing("ZT_TEST_SOURCE_POSTGRES_URL")?;
    let amqp_url = section::backing("ZT_TEST_AMQP_URL")?;
    let etcd_endpoints = section::backing("ZT_TEST_ETCD_ENDPOINTS")?;
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let platform = ScratchDatabase::create(&platform_admin).await?;
    let source = match ScratchDatabase::create(&source_admin).await {
        Ok(source) => source,
        Err(error) => {
            let _ = platform.drop_now().await;
            return Err(error);
        }
    };
    let env = ExchangeEnv {
        platform_url: platform.url(),
        source_url: source.url(),
        amqp_url: &amqp_url,
        etcd_endpoints: &etcd_endpoints,
        run_id: &run_id,
    };
    let outcome = measure(options, &bin, &env).await;
    let mut cleanup = Vec::new();
    if let Err(error) = source.drop_now().await {
        cleanup.push(format!("the source database was not dropped: {error:#}"));
    }
    if let Err(error) = platform.drop_now().await {
        cleanup.push(format!("the platform database was not dropped: {error:#}"));
    }
    let mut results = outcome?;
    results.notes.extend(cleanup);
    Ok(results)
}

async fn measure(
    options: &SectionOptions,
    bin: &std::path::Path,
    env: &ExchangeEnv<'_>,
) -> anyhow::Result<ExchangeLagResults> {
    let source_db = Database::connect(env.source_url)
        .await
        .context("cannot connect to the source database")?;
    create_table(&source_db, TABLE).await?;
    let process = ExchangeProcess::start(bin, env, options.pin).await?;
    if let Some(pid) = process.pid() {
        eprintln!("  P5 zhongtai serve exchange is process {pid}");
    }
    let mut queues = Vec::new();
    let mut notes = Vec::new();
    let measured = measure_line(options, env, &process, &source_db, &mut queues, &mut notes).await;
    queues.extend(process.event_consumer_queues());
    if let Err(error) = remove_rabbitmq_objects(env, &queues).await {
        notes.push(format!("RabbitMQ objects were left behind: {error:#}"));
    }
    let output = process.output_tail(LOG_LINES_IN_ERRORS);
    process.stop().await;
    let _ = source_db.close().await;
    let mut results =
        measured.map_err(|error| error.context(format!("the exchange's last lines:\n{output}")))?;
    results.notes.extend(notes);
    Ok(results)
}

/// Creates the line, measures through it and deletes it; `queues` gets the
/// subscription's queue, `notes` what was not cleaned up.
async fn measure_line(
    options: &SectionOptions,
    env: &ExchangeEnv<'_>,
    process: &ExchangeProcess,
    source_db: &DatabaseConnection,
    queues: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> anyhow::Result<ExchangeLagResults> {
    let mut line = Line::create(process, TABLE).await?;
    queues.push(line.queue.clone());
    let measured = async {
        let mut consumer = QueueConsumer::start(env.amqp_url, &line.queue).await?;
        let mut producer = Producer::new(source_db.clone(), TABLE);
        let mut stretch = Stretch {
            process,
            line: &mut line,
            source_db,
            producer: &mut producer,
            consumer: &mut consumer,
        };
        let results = measure_levels(options, env, &mut stretch).await;
        let unreadable = consumer
            .unreadable
            .load(std::sync::atomic::Ordering::Relaxed);
        consumer.close().await;
        let mut results = results?;
        if unreadable > 0 {
            results.notes.push(format!(
                "{unreadable} queue messages were not a ChangeRecord with an integer id key"
            ));
        }
        anyhow::Ok(results)
    }
    .await;
    if let Err(error) = line.delete().await {
        notes.push(format!("the line was not deleted: {error:#}"));
    }
    measured
}

/// What every measured stretch uses.
struct Stretch<'a> {
    process: &'a ExchangeProcess,
    line: &'a mut Line,
    source_db: &'a DatabaseConnection,
    producer: &'a mut Producer,
    consumer: &'a mut QueueConsumer,
}

impl Stretch<'_> {
    /// Waits until the exchange has confirmed the last change received
    /// (its batch journaled and recorded), so the next stretch starts with
    /// an idle runner and this one's batch counters are complete.
    async fn settle(&mut self, receipts: &[Receipt]) -> anyhow::Result<()> {
        if let Some(position) = last_position(receipts) {
            self.line.wait_confirmed(position, PATIENCE).await?;
            // The batch's log line and histogram entry follow its confirm.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }
}

async fn measure_levels(
    options: &SectionOptions,
    env: &ExchangeEnv<'_>,
    stretch: &mut Stretch<'_>,
) -> anyhow::Result<ExchangeLagResults> {
    let plan = Plan::of(options);
    wait_for_first_row(stretch.producer, stretch.consumer).await?;
    // Warm-up at the high level's commit pattern; its figures are dropped.
    let start = stretch.producer.next_id();
    stretch
        .producer
        .fixed_rate(100, COMMIT_INTERVAL, plan.warm_up)
        .await?;
    let end = stretch.producer.next_id();
    let receipts = stretch.consumer.collect(start..end, PATIENCE).await;
    stretch.settle(&receipts).await?;

    let levels = levels();
    let mut level_runs: Vec<Vec<LevelRun>> = levels.iter().map(|_| Vec::new()).collect();
    let mut burst_runs = Vec::new();
    let mut notes = Vec::new();
    for repetition in 0..plan.repetitions {
        for (level, runs) in levels.iter().zip(&mut level_runs) {
            eprintln!(
                "  P5 repetition {}: {} rows/s for {} s",
                repetition + 1,
                level.rows_per_sec,
                plan.level_duration.as_secs()
            );
            runs.push(run_level(level, plan.level_duration, stretch).await?);
        }
        eprintln!(
            "  P5 repetition {}: burst of {} rows",
            repetition + 1,
            plan.burst_rows
        );
        let (burst, note) = run_burst(plan.burst_rows, options.pin, env, stretch).await?;
        burst_runs.push(burst);
        notes.extend(note.filter(|note| !notes.contains(note)));
    }
    let levels = levels
        .iter()
        .zip(level_runs)
        .map(|(level, runs)| summarize_level(level, plan.level_duration, runs))
        .collect();
    Ok(ExchangeLagResults {
        latency_clock: "receipt time in the bench process minus the time the producer's COMMIT \
                        returned (both std::time::Instant on this machine)"
            .into(),
        levels,
        burst: summarize_burst(plan.burst_rows, burst_runs),
        notes,
    })
}

/// The subscription starts delivering within the exchange's refresh
/// interval of its creation: commit single rows until one arrives.
async fn wait_for_first_row(
    producer: &mut Producer,
    consumer: &mut QueueConsumer,
) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let commit = producer.commit(1).await?;
        let arrived = consumer
            .collect(
                commit.first_id..commit.first_id + 1,
                Duration::from_millis(500),
            )
            .await;
        if !arrived.is_empty() {
            return Ok(());
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(60),
            "no row reached the subscription's queue within 60 s"
        );
    }
}

async fn batch_counters(process: &ExchangeProcess) -> Option<(BatchCounters, Instant)> {
    BatchCounters::read(process.metrics)
        .await
        .ok()
        .map(|counters| (counters, Instant::now()))
}

fn batch_figures(
    before: Option<(BatchCounters, Instant)>,
    after: Option<(BatchCounters, Instant)>,
) -> Option<BatchFigures> {
    let ((before, from), (after, to)) = before.zip(after)?;
    Some(after.since(&before, to - from))
}

fn millis(micros: Option<f64>) -> f64 {
    micros.map_or(f64::NAN, |micros| micros / 1_000.0)
}

fn per_sec(rows: u64, span: Duration) -> f64 {
    rows as f64 / span.as_secs_f64().max(f64::EPSILON)
}

async fn run_level(
    level: &Level,
    duration: Duration,
    stretch: &mut Stretch<'_>,
) -> anyhow::Result<LevelRun> {
    let rows_per_commit = rows_per_commit(level);
    let stages_before = stretch.process.stage_times();
    let before = batch_counters(stretch.process).await;
    let start = stretch.producer.next_id();
    let commits = stretch
        .producer
        .fixed_rate(rows_per_commit, COMMIT_INTERVAL, duration)
        .await?;
    let end = stretch.producer.next_id();
    let receipts = stretch.consumer.collect(start..end, PATIENCE).await;
    stretch.settle(&receipts).await?;
    let after = batch_counters(stretch.process).await;
    let figures = delivered(&commits, &receipts);
    let latency = |q| millis(figures.latencies.quantile_micros(q));
    Ok(LevelRun {
        committed: figures.committed,
        delivered: figures.delivered,
        lost: figures.lost,
        duplicates: figures.duplicates,
        // One commit interval added: N commits on schedule span N intervals.
        committed_per_sec: per_sec(figures.committed, figures.commit_span + COMMIT_INTERVAL),
        delivered_per_sec: per_sec(figures.delivered, figures.delivery_span + COMMIT_INTERVAL),
        p50_ms: latency(0.50),
        p95_ms: latency(0.95),
        p99_ms: latency(0.99),
        max_ms: latency(1.0),
        batches: batch_figures(before, after),
        stages: stretch
            .process
            .stage_times()
            .since(&stages_before, ..)
            .means(),
    })
}

fn rows_per_commit(level: &Level) -> i64 {
    let commits_per_sec = 1_000 / COMMIT_INTERVAL.as_millis().max(1) as u64;
    i64::try_from((level.rows_per_sec / commits_per_sec).max(1)).unwrap_or(1)
}

async fn run_burst(
    rows: i64,
    pin: bool,
    env: &ExchangeEnv<'_>,
    stretch: &mut Stretch<'_>,
) -> anyhow::Result<(BurstRun, Option<String>)> {
    let source_db = stretch.source_db;
    let slot = RawSlot::create(source_db).await;
    let stages_before = stretch.process.stage_times();
    let before = batch_counters(stretch.process).await;
    let start = stretch.producer.next_id();
    let inserting = Instant::now();
    let commits: Vec<Commit> = stretch.producer.burst(rows, BURST_ROWS_PER_COMMIT).await?;
    let insert_seconds = inserting.elapsed().as_secs_f64();
    let end_lsn = raw::current_lsn(source_db).await?;
    let end = stretch.producer.next_id();
    let receipts = stretch.consumer.collect(start..end, PATIENCE).await;
    stretch.settle(&receipts).await?;
    let after = batch_counters(stretch.process).await;
    let figures = delivered(&commits, &receipts);
    let exchange_per_sec = per_sec(figures.delivered, figures.receipt_span);
    let mut note = None;
    let raw = match slot {
        Ok(slot) => {
            let decoded = raw::decode(env.source_url, &slot, &end_lsn, TABLE, pin).await;
            let dropped = slot.drop_now(source_db).await;
            if let Err(error) = dropped {
                note = Some(format!("the test_decoding slot was not dropped: {error:#}"));
            }
            match decoded {
                Ok(decoded) => Some(decoded),
                Err(error) => {
                    note = Some(format!("raw logical decoding not measured: {error:#}"));
                    None
                }
            }
        }
        Err(error) => {
            note = Some(format!("raw logical decoding not measured: {error:#}"));
            None
        }
    };
    let raw_per_sec = raw.map(|raw| per_sec(raw.rows, raw.span));
    Ok((
        BurstRun {
            insert_seconds,
            delivered: figures.delivered,
            lost: figures.lost,
            duplicates: figures.duplicates,
            exchange_per_sec,
            raw_rows: raw.map(|raw| raw.rows),
            raw_per_sec,
            raw_total_seconds: raw.map(|raw| raw.total.as_secs_f64()),
            ratio: raw_per_sec.map(|raw| exchange_per_sec / raw.max(f64::EPSILON)),
            batches: batch_figures(before, after),
            stages: stretch
                .process
                .stage_times()
                .since(&stages_before, ..)
                .means(),
        },
        note,
    ))
}

fn spread_of<T>(runs: &[T], figure: impl Fn(&T) -> f64) -> Option<Spread> {
    Spread::of(&runs.iter().map(figure).collect::<Vec<_>>())
}

fn summarize_level(level: &Level, duration: Duration, runs: Vec<LevelRun>) -> LevelResults {
    LevelResults {
        target_rows_per_sec: level.rows_per_sec,
        rows_per_commit: u64::try_from(rows_per_commit(level)).unwrap_or(1),
        commit_interval_ms: COMMIT_INTERVAL.as_millis() as u64,
        seconds: duration.as_secs_f64(),
        p99_target_ms: level.p99_target_ms,
        delivered_per_sec: spread_of(&runs, |run| run.delivered_per_sec),
        p50_ms: spread_of(&runs, |run| run.p50_ms),
        p95_ms: spread_of(&runs, |run| run.p95_ms),
        p99_ms: spread_of(&runs, |run| run.p99_ms),
        max_ms: spread_of(&runs, |run| run.max_ms),
        lost: runs.iter().map(|run| run.lost).sum(),
        duplicates: runs.iter().map(|run| run.duplicates).sum(),
        runs,
    }
}

fn summarize_burst(rows: i64, runs: Vec<BurstRun>) -> BurstResults {
    let measured = |figure: fn(&BurstRun) -> Option<f64>| {
        let values: Option<Vec<f64>> = runs.iter().map(figure).collect();
        values.and_then(|values| Spread::of(&values))
    };
    BurstResults {
        rows: u64::try_from(rows).unwrap_or(0),
        rows_per_commit: u64::try_from(BURST_ROWS_PER_COMMIT).unwrap_or(0),
        exchange_per_sec: spread_of(&runs, |run| run.exchange_per_sec),
        raw_per_sec: measured(|run| run.raw_per_sec),
        ratio: measured(|run| run.ratio),
        lost: runs.iter().map(|run| run.lost).sum(),
        duplicates: runs.iter().map(|run| run.duplicates).sum(),
        runs,
    }
}

/// The queues the run declared (each with the retry and dead-letter queues
/// an event consumer may have) and the run's events exchange.
async fn remove_rabbitmq_objects(env: &ExchangeEnv<'_>, queues: &[String]) -> anyhow::Result<()> {
    let connection =
        lapin::Connection::connect(env.amqp_url, lapin::ConnectionProperties::default()).await?;
    for queue in queues {
        for name in [
            queue.clone(),
            format!("{queue}.retry"),
            format!("{queue}.dlq"),
        ] {
            // A failed delete closes its channel: one channel each.
            let channel = connection.create_channel().await?;
            let _ = channel
                .queue_delete(
                    name.as_str().into(),
                    lapin::options::QueueDeleteOptions::default(),
                )
                .await;
        }
    }
    let channel = connection.create_channel().await?;
    channel
        .exchange_delete(
            super::setup::events_exchange(env.run_id).as_str().into(),
            lapin::options::ExchangeDeleteOptions::default(),
        )
        .await?;
    let _ = connection.close(200, "done".into()).await;
    Ok(())
}
