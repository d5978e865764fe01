//! The baseline: PostgreSQL's own `pg_recvlogical` with the `test_decoding`
//! plugin streaming the same burst from a slot of its own.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use sea_orm::{ConnectionTrait as _, DatabaseConnection, Statement};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::Command;

use crate::process::SERVER_CORE;

/// How long decoding the burst may take before the baseline gives up.
const DECODE_TIMEOUT: Duration = Duration::from_secs(120);

/// `pg_recvlogical`: `ZT_BENCH_PG_RECVLOGICAL`, else the newest
/// `/usr/lib/postgresql/<version>/bin/pg_recvlogical`, else `PATH`'s.
pub fn pg_recvlogical() -> PathBuf {
    if let Some(path) = std::env::var_os("ZT_BENCH_PG_RECVLOGICAL") {
        return path.into();
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin/pg_recvlogical");
            bin.exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map_or_else(|| PathBuf::from("pg_recvlogical"), |(_, bin)| bin)
}

/// A logical slot with `test_decoding`, created before the burst so that it
/// holds the burst's WAL.
pub struct RawSlot {
    pub name: String,
}

impl RawSlot {
    pub async fn create(db: &DatabaseConnection) -> anyhow::Result<Self> {
        let name = format!("zt_bench_raw_{}", uuid::Uuid::new_v4().simple());
        db.execute_unprepared(&format!(
            "SELECT pg_create_logical_replication_slot('{name}', 'test_decoding')"
        ))
        .await
        .context("cannot create the test_decoding slot")?;
        Ok(Self { name })
    }

    pub async fn drop_now(self, db: &DatabaseConnection) -> anyhow::Result<()> {
        db.execute_unprepared(&format!("SELECT pg_drop_replication_slot('{}')", self.name))
            .await
            .context("cannot drop the test_decoding slot")?;
        Ok(())
    }
}

/// The source's current WAL position, as text (`0/16B3748`).
pub async fn current_lsn(db: &DatabaseConnection) -> anyhow::Result<String> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT pg_current_wal_lsn()::text AS lsn",
        ))
        .await?
        .context("pg_current_wal_lsn returned nothing")?;
    Ok(row.try_get::<String>("", "lsn")?)
}

/// How fast `pg_recvlogical` emitted the burst.
#[derive(Debug, Clone, Copy)]
pub struct RawDecode {
    /// INSERT lines of the table seen.
    pub rows: u64,
    /// First to last INSERT line.
    pub span: Duration,
    /// Process start to its exit (connection and slot start included).
    pub total: Duration,
}

/// Streams `slot` up to `end_lsn` and counts the INSERT lines of `table`.
pub async fn decode(
    source_url: &str,
    slot: &RawSlot,
    end_lsn: &str,
    table: &str,
    pin: bool,
) -> anyhow::Result<RawDecode> {
    let bin = pg_recvlogical();
    let mut command = if pin {
        let mut command = Command::new("taskset");
        command.args(["-c", SERVER_CORE]).arg(&bin);
        command
    } else {
        Command::new(&bin)
    };
    command
        .args(["--start", "--no-loop", "-f", "-", "-o", "include-xids=0"])
        .args(["-o", "skip-empty-xacts=1"])
        .args(["-S", &slot.name, "-E", end_lsn, "-d", source_url])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let started = Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let stdout = child
        .stdout
        .take()
        .context("pg_recvlogical has no stdout")?;
    let marker = format!("table public.{table}: INSERT:");
    let counting = async {
        let mut lines = BufReader::new(stdout).lines();
        let mut rows = 0u64;
        let mut first = None;
        let mut last = started;
        while let Some(line) = lines.next_line().await? {
            if line.starts_with(&marker) {
                let now = Instant::now();
                first.get_or_insert(now);
                last = now;
                rows += 1;
            }
        }
        anyhow::Ok((rows, first.map_or(Duration::ZERO, |first| last - first)))
    };
    let (rows, span) = tokio::time::timeout(DECODE_TIMEOUT, counting)
        .await
        .context("pg_recvlogical did not reach the end of the burst in time")??;
    let output = child.wait_with_output().await?;
    anyhow::ensure!(
        output.status.success(),
        "pg_recvlogical failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(RawDecode {
        rows,
        span,
        total: started.elapsed(),
    })
}
