//! P5's part of `RESULTS.md`.

use std::fmt::Write as _;

use super::metrics::{BatchFigures, StageMeans};
use super::{ExchangeLagResults, spread};
use crate::stats::Spread;

pub fn section(results: &ExchangeLagResults) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "## P5 — exchange: source commit to subscriber receipt\n"
    );
    let _ = writeln!(
        md,
        "`zhongtai serve exchange` alone (pinned to core 0 when pinning is on) against a \
         fresh platform database, RabbitMQ, etcd and a fresh database on the PostgreSQL 15 \
         logical-replication source; one line (`pgoutput`, no snapshot) on one table and one \
         queue subscription, consumed by the bench itself (auto-acknowledged). TLS is off on \
         this loopback benchmark (`ZHONGTAI_TLS__DISABLED=true`); tokens are checked. Latency \
         per row: {}. The producer is open loop: one transaction every {} ms on schedule (100 \
         rows/s = 1 row per commit, 10,000 rows/s = 100 rows per commit), after a warm-up at \
         10,000 rows/s; it commits with `synchronous_commit = on`, PostgreSQL's default (the \
         test cluster's own default is off, which lets walsenders wait up to \
         `wal_writer_delay`, 200 ms, for WAL to be flushed). Delivered rows/s: distinct rows received over first commit → last \
         receipt (plus one commit interval). Every stretch starts once the exchange has \
         confirmed the previous one.\n",
        results.latency_clock,
        results
            .levels
            .first()
            .map_or(10, |level| level.commit_interval_ms)
    );
    levels_table(&mut md, results);
    repetitions_table(&mut md, results);
    burst_table(&mut md, results);
    where_the_time_goes(&mut md, results);
    for note in &results.notes {
        let _ = writeln!(md, "\n- {note}");
    }
    md
}

fn levels_table(md: &mut String, results: &ExchangeLagResults) {
    let _ = writeln!(
        md,
        "| Offered rows/s | Rows per commit | Delivered rows/s | p50 ms | p95 ms | p99 ms | max ms | Lost | Duplicated | p99 target |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|");
    for level in &results.levels {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | ≤ {:.0} ms |",
            level.target_rows_per_sec,
            level.rows_per_commit,
            optional(level.delivered_per_sec, 0),
            optional(level.p50_ms, 1),
            optional(level.p95_ms, 1),
            optional(level.p99_ms, 1),
            optional(level.max_ms, 1),
            level.lost,
            level.duplicates,
            level.p99_target_ms
        );
    }
    let _ = writeln!(
        md,
        "\nMedian [min–max] over {} repetitions of {} s each. Per repetition:\n",
        results.levels.first().map_or(0, |level| level.runs.len()),
        results.levels.first().map_or(0.0, |level| level.seconds)
    );
}

fn repetitions_table(md: &mut String, results: &ExchangeLagResults) {
    let _ = writeln!(
        md,
        "| Offered rows/s | Run | Committed | Delivered | Committed rows/s | Delivered rows/s | p50 ms | p95 ms | p99 ms | max ms |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|");
    for level in &results.levels {
        for (index, run) in level.runs.iter().enumerate() {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {:.0} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} |",
                level.target_rows_per_sec,
                index + 1,
                run.committed,
                run.delivered,
                run.committed_per_sec,
                run.delivered_per_sec,
                run.p50_ms,
                run.p95_ms,
                run.p99_ms,
                run.max_ms,
            );
        }
    }
}

fn burst_table(md: &mut String, results: &ExchangeLagResults) {
    let burst = &results.burst;
    let _ = writeln!(
        md,
        "\nMaximum sustained rate: a burst of {} rows committed as fast as one connection \
         can, {} rows per transaction, while the line streams; the exchange's rate is rows \
         over its first → last receipt. The baseline is PostgreSQL's own `pg_recvlogical` \
         (`test_decoding`) on a slot created just before the same burst, run once the \
         exchange has delivered it, counting the table's `INSERT` lines first → last (the \
         same WAL, decoded by the same server).\n",
        burst.rows, burst.rows_per_commit
    );
    let _ = writeln!(
        md,
        "| | Exchange rows/s | Raw decoding rows/s | Exchange / raw | Lost | Duplicated |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|");
    let _ = writeln!(
        md,
        "| Median [min–max] | {} | {} | {} | {} | {} |",
        optional(burst.exchange_per_sec, 0),
        optional(burst.raw_per_sec, 0),
        optional(burst.ratio, 3),
        burst.lost,
        burst.duplicates
    );
    for (index, run) in burst.runs.iter().enumerate() {
        let _ = writeln!(
            md,
            "| Run {} (committed in {:.2} s{}) | {:.0} | {} | {} | {} | {} |",
            index + 1,
            run.insert_seconds,
            run.raw_total_seconds
                .map_or_else(String::new, |s| format!("; pg_recvlogical ran {s:.2} s")),
            run.exchange_per_sec,
            run.raw_per_sec
                .map_or_else(|| "—".into(), |r| format!("{r:.0}")),
            run.ratio.map_or_else(|| "—".into(), |r| format!("{r:.3}")),
            run.lost,
            run.duplicates
        );
    }
}

fn where_the_time_goes(md: &mut String, results: &ExchangeLagResults) {
    let _ = writeln!(
        md,
        "\n**Where the time goes.** A row's way: PostgreSQL decodes the commit and sends it \
         over the slot; the exchange hands each source transaction, with those already read behind it, to the runner as one batch \
         (split above `batch_max_changes`, 5,000); the runner publishes one persistent message \
         per change and waits for RabbitMQ's publisher confirms, writes the journal (platform \
         PostgreSQL), stores the delivered positions and the line's runtime, confirms to the \
         source, and only then reads the next transaction. The subscriber receives a message \
         as soon as the broker routes it, so a row waits for every transaction before it to \
         pass all of these steps: once a batch's fixed cost exceeds the gap between commits, \
         the queue of transactions — and the latency — grows for as long as the load lasts. \
         The journal and the positions go to the platform PostgreSQL over TLS \
         (`sslmode=prefer`, PostgreSQL's default, and the server offers it): the client (sqlx \
         0.9.0) writes each 16 KB TLS record separately without `TCP_NODELAY`, so a statement \
         above one record would wait about 40 ms for the server's delayed ACK (44 ms for 16–128 \
         KB over TLS against 0.3–0.9 ms in plain text, measured on this machine); the \
         exchange's statements stay below 12 KB, a round trip each. \
         The exchange's own figures per stretch (`zhongtai_exchange_batch_seconds` and its \
         `batch delivered` debug lines, whole milliseconds each; mean over the repetitions):\n"
    );
    let _ = writeln!(
        md,
        "| Stretch | Batches | Changes per batch | Mean batch ms | Publish + confirms ms | Journal ms | Store ms | Runner busy |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|");
    let mut rows: Vec<(String, Option<BatchFigures>, Option<StageMeans>)> = results
        .levels
        .iter()
        .map(|level| {
            (
                format!("{} rows/s", level.target_rows_per_sec),
                mean_batches(level.runs.iter().map(|run| run.batches.as_ref())),
                mean_stages(level.runs.iter().map(|run| run.stages.as_ref())),
            )
        })
        .collect();
    rows.push((
        "burst".into(),
        mean_batches(results.burst.runs.iter().map(|run| run.batches.as_ref())),
        mean_stages(results.burst.runs.iter().map(|run| run.stages.as_ref())),
    ));
    let dash = || "—".to_string();
    for (stretch, batches, stages) in rows {
        let _ = writeln!(
            md,
            "| {stretch} | {} | {} | {} | {} | {} | {} | {} |",
            batches.map_or_else(dash, |b| b.batches.to_string()),
            batches.map_or_else(dash, |b| format!("{:.1}", b.changes_per_batch)),
            batches.map_or_else(dash, |b| format!("{:.2}", b.mean_batch_ms)),
            stages.map_or_else(dash, |s| format!("{:.2}", s.deliver_ms)),
            stages.map_or_else(dash, |s| format!("{:.2}", s.journal_ms)),
            stages.map_or_else(dash, |s| format!("{:.2}", s.store_ms)),
            batches.map_or_else(dash, |b| format!("{:.0}%", b.busy_share * 100.0)),
        );
    }
}

fn mean_of<T: Copy>(items: &[T], figure: impl Fn(T) -> f64) -> f64 {
    items.iter().map(|item| figure(*item)).sum::<f64>() / items.len().max(1) as f64
}

fn mean_batches<'a>(runs: impl Iterator<Item = Option<&'a BatchFigures>>) -> Option<BatchFigures> {
    let runs: Vec<BatchFigures> = runs.flatten().copied().collect();
    (!runs.is_empty()).then(|| BatchFigures {
        batches: mean_of(&runs, |run| run.batches as f64).round() as u64,
        mean_batch_ms: mean_of(&runs, |run| run.mean_batch_ms),
        changes_per_batch: mean_of(&runs, |run| run.changes_per_batch),
        busy_share: mean_of(&runs, |run| run.busy_share),
    })
}

fn mean_stages<'a>(runs: impl Iterator<Item = Option<&'a StageMeans>>) -> Option<StageMeans> {
    let runs: Vec<StageMeans> = runs.flatten().copied().collect();
    (!runs.is_empty()).then(|| StageMeans {
        batches: mean_of(&runs, |run| run.batches as f64).round() as u64,
        deliver_ms: mean_of(&runs, |run| run.deliver_ms),
        journal_ms: mean_of(&runs, |run| run.journal_ms),
        store_ms: mean_of(&runs, |run| run.store_ms),
    })
}

fn optional(value: Option<Spread>, decimals: usize) -> String {
    value.map_or_else(|| "—".into(), |value| spread(value, decimals))
}
