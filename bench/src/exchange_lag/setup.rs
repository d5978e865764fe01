//! What P5 runs against: a fresh platform database, a fresh department
//! database on the logical-replication source with one table, `zhongtai
//! serve exchange` alone (no other service of the mesh), and a line on that
//! table with one queue subscription.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use base64::Engine as _;
use sea_orm::{ConnectionTrait as _, Database, DatabaseConnection};
use tokio::io::{AsyncBufReadExt as _, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tonic::Request;
use tonic::transport::Channel;
use zhongtai_contracts::exchange::v1 as pb;
use zhongtai_contracts::exchange::v1::exchange_service_client::ExchangeServiceClient;
use zhongtai_kit::auth::{DEV_ISSUER, DevIssuer};
use zhongtai_kit::{Role, TenantId};

use crate::process::SERVER_CORE;

/// The tenant that owns the line and its subscription.
const TENANT: &str = "331100/civil-affairs";
/// How the line names the source in `ZHONGTAI_EXCHANGE__SOURCES__…`.
const CONNECTION_REF: &str = "bench-department";
/// How long start-up steps (process ready, line streaming) may take.
const START_TIMEOUT: Duration = Duration::from_secs(90);
/// The most of the process's output kept for error messages.
const LOG_TAIL_BYTES: usize = 64 * 1024;

/// A database created for this run and dropped at its end.
pub struct ScratchDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl ScratchDatabase {
    /// Creates `zt_bench_p5_<random>` on the server of `admin_url`.
    pub async fn create(admin_url: &str) -> anyhow::Result<Self> {
        let name = format!("zt_bench_p5_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(admin_url)
            .await
            .with_context(|| format!("cannot connect to PostgreSQL at {admin_url}"))?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .with_context(|| format!("cannot create database {name}"))?;
        let _ = admin.close().await;
        Ok(Self {
            url: replace_database(admin_url, &name),
            admin_url: admin_url.to_owned(),
            name,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Drops the database, and first the replication slots in it (a
    /// database with slots cannot be dropped).
    pub async fn drop_now(self) -> anyhow::Result<()> {
        let admin = Database::connect(self.admin_url.as_str()).await?;
        let name = &self.name;
        admin
            .execute_unprepared(&format!(
                "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots \
                 WHERE database = '{name}' AND active_pid IS NOT NULL"
            ))
            .await?;
        // A terminated walsender releases its slot a moment later.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let dropped = admin
                .execute_unprepared(&format!(
                    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots \
                     WHERE database = '{name}'"
                ))
                .await;
            if dropped.is_ok() || Instant::now() > deadline {
                dropped.with_context(|| format!("cannot drop the slots of {name}"))?;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .with_context(|| format!("cannot drop database {name}"))?;
        let _ = admin.close().await;
        Ok(())
    }
}

fn replace_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{database}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// Where the exchange process finds its backing services.
pub struct ExchangeEnv<'a> {
    pub platform_url: &'a str,
    pub source_url: &'a str,
    pub amqp_url: &'a str,
    pub etcd_endpoints: &'a str,
    /// Unique per run: the events exchange, queue prefix and registry prefix.
    pub run_id: &'a str,
}

/// The run's own topic exchange for domain events.
pub fn events_exchange(run_id: &str) -> String {
    format!("zt-bench-p5.{run_id}")
}

/// A running `zhongtai serve exchange` and a token its API accepts.
pub struct ExchangeProcess {
    child: Child,
    log: Arc<Mutex<String>>,
    stages: Arc<Mutex<StageTimes>>,
    pub grpc: SocketAddr,
    pub metrics: SocketAddr,
    pub token: String,
    /// Holds the JWKS the process reads.
    _auth_dir: tempfile::TempDir,
}

impl ExchangeProcess {
    /// Starts the process and waits until it logs "serving".
    pub async fn start(bin: &Path, env: &ExchangeEnv<'_>, pin: bool) -> anyhow::Result<Self> {
        let auth_dir = tempfile::tempdir().context("cannot create a temporary folder")?;
        let issuer =
            DevIssuer::load_or_create(auth_dir.path()).context("cannot create the token issuer")?;
        let tenant = TenantId::from_key(TENANT).context("the bench tenant is malformed")?;
        let token = issuer
            .issue(
                "p5-bench",
                &tenant,
                &[Role::Admin, Role::Operator, Role::Viewer],
                Duration::from_secs(4 * 3600),
            )
            .context("cannot issue a token")?;
        let grpc = free_local_address()?;
        let metrics = free_local_address()?;
        let masking_key = base64::engine::general_purpose::STANDARD
            .encode(uuid::Uuid::new_v4().as_bytes().repeat(2));
        let source_env = format!(
            "ZHONGTAI_EXCHANGE__SOURCES__{}",
            CONNECTION_REF.replace('-', "_").to_uppercase()
        );
        let mut command = if pin {
            let mut command = Command::new("taskset");
            command.args(["-c", SERVER_CORE]).arg(bin);
            command
        } else {
            Command::new(bin)
        };
        command
            .args(["serve", "exchange"])
            .env("DATABASE_URL", env.platform_url)
            .env("AMQP_URL", env.amqp_url)
            .env("ETCD_ENDPOINTS", env.etcd_endpoints)
            .env(source_env, env.source_url)
            .env("ZHONGTAI_SERVER__LISTEN", grpc.to_string())
            .env("ZHONGTAI_SERVER__METRICS_LISTEN", metrics.to_string())
            .env("ZHONGTAI_EVENTS__EXCHANGE", events_exchange(env.run_id))
            .env(
                "ZHONGTAI_EVENTS__QUEUE_PREFIX",
                format!("zt-bench-p5-{}", env.run_id),
            )
            .env(
                "ZHONGTAI_MESH__PREFIX",
                format!("/zt-bench-p5/{}", env.run_id),
            )
            // Loopback benchmark: plain gRPC between the bench and the process.
            .env("ZHONGTAI_TLS__DISABLED", "true")
            .env(
                "ZHONGTAI_AUTH__JWKS",
                DevIssuer::jwks_path(auth_dir.path()).display().to_string(),
            )
            .env("ZHONGTAI_AUTH__ISSUER", DEV_ISSUER)
            .env("EXCHANGE_MASKING_KEY", masking_key)
            // Each batch's stage times ("batch delivered") are debug lines.
            .env("RUST_LOG", "info,zhongtai_exchange::runner::pipeline=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let log = Arc::new(Mutex::new(String::new()));
        let stages = Arc::new(Mutex::new(StageTimes::default()));
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(read_output(stdout, log.clone(), stages.clone()));
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(read_output(stderr, log.clone(), stages.clone()));
        }
        let mut process = Self {
            child,
            log,
            stages,
            grpc,
            metrics,
            token,
            _auth_dir: auth_dir,
        };
        let started = Instant::now();
        while !process.output().contains("serving") {
            if let Ok(Some(status)) = process.child.try_wait() {
                anyhow::bail!(
                    "zhongtai serve exchange exited ({status}) before serving:\n{}",
                    process.output()
                );
            }
            anyhow::ensure!(
                started.elapsed() < START_TIMEOUT,
                "zhongtai serve exchange did not serve within {} s:\n{}",
                START_TIMEOUT.as_secs(),
                process.output()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(process)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The last part of what the process printed.
    pub fn output(&self) -> String {
        self.log.lock().map(|log| log.clone()).unwrap_or_default()
    }

    /// The stage times of the batches so far.
    pub fn stage_times(&self) -> StageTimes {
        self.stages
            .lock()
            .map(|stages| stages.clone())
            .unwrap_or_default()
    }

    /// The last `count` lines the process printed.
    pub fn output_tail(&self, count: usize) -> String {
        let output = self.output();
        let lines: Vec<&str> = output.lines().collect();
        lines[lines.len().saturating_sub(count)..].join("\n")
    }

    /// The queues of the domain-event consumers the process started (from
    /// its "event consumer started" log lines).
    pub fn event_consumer_queues(&self) -> Vec<String> {
        const FIELD: &str = "\"subscription\":\"";
        self.output()
            .lines()
            .filter(|line| line.contains("event consumer started"))
            .filter_map(|line| {
                let start = line.find(FIELD)? + FIELD.len();
                let end = line[start..].find('"')? + start;
                Some(line[start..end].to_owned())
            })
            .collect()
    }

    /// SIGTERM, then SIGKILL after 15 s.
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
        }
        if tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// Keeps the tail of the output for error messages, and takes the stage
/// times out of "batch delivered" lines (too many to keep).
async fn read_output(
    stream: impl AsyncRead + Unpin,
    log: Arc<Mutex<String>>,
    stages: Arc<Mutex<StageTimes>>,
) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if line.contains("\"batch delivered\"") {
            if let Ok(mut stages) = stages.lock() {
                stages.add_log_line(&line);
            }
            continue;
        }
        let Ok(mut log) = log.lock() else { return };
        log.push_str(&line);
        log.push('\n');
        if log.len() > LOG_TAIL_BYTES {
            let cut = log.len() - LOG_TAIL_BYTES / 2;
            let cut = (cut..log.len())
                .find(|&i| log.is_char_boundary(i))
                .unwrap_or(log.len());
            log.drain(..cut);
        }
    }
}

/// Where the exchange's batches spent their time, by batch size, summed
/// from its "batch delivered" lines (whole milliseconds each).
#[derive(Debug, Clone, Default)]
pub struct StageTimes {
    /// Changes per batch → totals.
    pub by_size: std::collections::BTreeMap<u64, StageTotals>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StageTotals {
    pub batches: u64,
    /// Publishing with publisher confirms.
    pub deliver_ms: u64,
    /// The journal write.
    pub journal_ms: u64,
    /// Storing delivered positions and the line's runtime.
    pub store_ms: u64,
}

impl StageTotals {
    /// Per-batch means; `None` without batches.
    pub fn means(&self) -> Option<super::metrics::StageMeans> {
        let batches = self.batches as f64;
        (self.batches > 0).then(|| super::metrics::StageMeans {
            batches: self.batches,
            deliver_ms: self.deliver_ms as f64 / batches,
            journal_ms: self.journal_ms as f64 / batches,
            store_ms: self.store_ms as f64 / batches,
        })
    }
}

impl StageTimes {
    fn add_log_line(&mut self, line: &str) {
        let Ok(fields) = serde_json::from_str::<serde_json::Value>(line) else {
            return;
        };
        let field = |name: &str| {
            let value = fields
                .get(name)
                .or_else(|| fields.get("fields")?.get(name))?;
            value
                .as_u64()
                .or_else(|| value.as_str().and_then(|text| text.parse().ok()))
        };
        let (Some(changes), Some(deliver), Some(journal), Some(store)) = (
            field("changes"),
            field("deliver_ms"),
            field("journal_ms"),
            field("store_ms"),
        ) else {
            return;
        };
        let totals = self.by_size.entry(changes).or_default();
        totals.batches += 1;
        totals.deliver_ms += deliver;
        totals.journal_ms += journal;
        totals.store_ms += store;
    }

    /// What happened since `earlier`, for batches of `sizes` changes.
    pub fn since(&self, earlier: &Self, sizes: impl std::ops::RangeBounds<u64>) -> StageTotals {
        let mut out = StageTotals::default();
        for (size, totals) in self.by_size.range(sizes) {
            let before = earlier.by_size.get(size).copied().unwrap_or_default();
            out.batches += totals.batches - before.batches.min(totals.batches);
            out.deliver_ms += totals.deliver_ms.saturating_sub(before.deliver_ms);
            out.journal_ms += totals.journal_ms.saturating_sub(before.journal_ms);
            out.store_ms += totals.store_ms.saturating_sub(before.store_ms);
        }
        out
    }
}

fn free_local_address() -> anyhow::Result<SocketAddr> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").context("no free port on 127.0.0.1")?;
    Ok(listener.local_addr()?)
}

/// The line and subscription P5 measures.
pub struct Line {
    client: ExchangeServiceClient<Channel>,
    token: String,
    pub id: String,
    pub queue: String,
}

impl Line {
    /// Creates a log line on `public.<table>` of the source (no initial
    /// snapshot: the table is empty) and a queue subscription, and waits
    /// until the line streams.
    pub async fn create(process: &ExchangeProcess, table: &str) -> anyhow::Result<Self> {
        let channel = Channel::from_shared(format!("http://{}", process.grpc))?
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .context("cannot connect to the exchange's gRPC port")?;
        let mut client = ExchangeServiceClient::new(channel);
        let token = process.token.clone();
        let line = client
            .create_line(authorized(
                pb::CreateLineRequest {
                    request_id: uuid::Uuid::new_v4().to_string(),
                    line: Some(pb::Line {
                        name: format!("p5-{}", table.replace('_', "-")),
                        source: Some(pb::line::Source::LogSource(pb::LogSource {
                            connection_ref: CONNECTION_REF.into(),
                            tables: vec![pb::SourceTable {
                                schema: "public".into(),
                                name: table.into(),
                                key_columns: vec![],
                            }],
                            snapshot_mode: pb::SnapshotMode::Never as i32,
                            ..Default::default()
                        })),
                        ..Default::default()
                    }),
                },
                &token,
            ))
            .await
            .context("CreateLine failed")?
            .into_inner()
            .line
            .context("CreateLine answered no line")?;
        let subscription = client
            .create_subscription(authorized(
                pb::CreateSubscriptionRequest {
                    request_id: uuid::Uuid::new_v4().to_string(),
                    line_id: line.id.clone(),
                    grant_id: String::new(),
                    queue: Some(pb::QueueDelivery::default()),
                    enclave: None,
                },
                &token,
            ))
            .await
            .context("CreateSubscription failed")?
            .into_inner()
            .subscription
            .context("CreateSubscription answered no subscription")?;
        let queue = subscription
            .queue
            .map(|q| q.queue)
            .filter(|q| !q.is_empty())
            .context("the subscription has no queue")?;
        let mut created = Self {
            client,
            token,
            id: line.id,
            queue,
        };
        created.wait_until_streaming().await?;
        Ok(created)
    }

    async fn wait_until_streaming(&mut self) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            let status = self
                .client
                .get_line_status(authorized(
                    pb::GetLineStatusRequest {
                        id: self.id.clone(),
                    },
                    &self.token,
                ))
                .await
                .context("GetLineStatus failed")?
                .into_inner();
            let state = status.line.as_ref().map(pb::Line::state);
            if state == Some(pb::LineState::Streaming) {
                return Ok(());
            }
            anyhow::ensure!(
                started.elapsed() < START_TIMEOUT,
                "the line is not streaming after {} s: {status:?}",
                START_TIMEOUT.as_secs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the line's confirmed position reaches `wanted` (a
    /// change's `position`): its batch is delivered, journaled and recorded.
    pub async fn wait_confirmed(&mut self, wanted: u64, patience: Duration) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            let status = self
                .client
                .get_line_status(authorized(
                    pb::GetLineStatusRequest {
                        id: self.id.clone(),
                    },
                    &self.token,
                ))
                .await
                .context("GetLineStatus failed")?
                .into_inner();
            if parse_lsn(&status.confirmed_position).is_some_and(|confirmed| confirmed >= wanted) {
                return Ok(());
            }
            anyhow::ensure!(
                started.elapsed() < patience,
                "the line has not confirmed position {wanted:X} after {} s (confirmed {:?})",
                patience.as_secs(),
                status.confirmed_position
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Deletes the line: the exchange drops its slot and publication.
    pub async fn delete(mut self) -> anyhow::Result<()> {
        self.client
            .delete_line(authorized(
                pb::DeleteLineRequest {
                    id: self.id.clone(),
                    force: true,
                },
                &self.token,
            ))
            .await
            .context("DeleteLine failed")?;
        Ok(())
    }
}

/// `0/16B3748` as a number.
fn parse_lsn(text: &str) -> Option<u64> {
    let (high, low) = text.split_once('/')?;
    Some((u64::from_str_radix(high, 16).ok()? << 32) | u64::from_str_radix(low, 16).ok()?)
}

fn authorized<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    if let Ok(value) = format!("Bearer {token}").parse() {
        request.metadata_mut().insert("authorization", value);
    }
    request
}

/// Creates the measured table on the source.
pub async fn create_table(source: &DatabaseConnection, table: &str) -> anyhow::Result<()> {
    source
        .execute_unprepared(&format!(
            "CREATE TABLE public.{table} (id bigint PRIMARY KEY, payload text NOT NULL, \
             committed_at timestamptz NOT NULL DEFAULT clock_timestamp())"
        ))
        .await
        .context("cannot create the source table")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{parse_lsn, replace_database};

    #[test]
    fn stage_times_are_summed_by_batch_size() {
        let mut stages = super::StageTimes::default();
        let line = |changes: u64, deliver: u64| {
            format!(
                "{{\"level\":\"DEBUG\",\"message\":\"batch delivered\",\"changes\":{changes},\
                 \"deliver_ms\":{deliver},\"journal_ms\":2,\"store_ms\":1}}"
            )
        };
        stages.add_log_line(&line(1, 3));
        let earlier = stages.clone();
        stages.add_log_line(&line(1, 5));
        stages.add_log_line(&line(100, 7));
        stages.add_log_line("not json");
        let ones = stages.since(&earlier, 1..=1);
        assert_eq!(
            ones,
            super::StageTotals {
                batches: 1,
                deliver_ms: 5,
                journal_ms: 2,
                store_ms: 1
            }
        );
        assert_eq!(stages.since(&super::StageTimes::default(), ..).batches, 3);
    }

    #[test]
    fn lsns_are_read_as_numbers() {
        assert_eq!(parse_lsn("0/16B3748"), Some(0x16B_3748));
        assert_eq!(parse_lsn("1/0"), Some(1 << 32));
        assert_eq!(parse_lsn(""), None);
        assert_eq!(parse_lsn("x/1"), None);
    }

    #[test]
    fn the_database_name_is_replaced() {
        assert_eq!(
            replace_database("postgres://postgres@127.0.0.1:55433/postgres", "x"),
            "postgres://postgres@127.0.0.1:55433/x"
        );
        assert_eq!(
            replace_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
    }
}
