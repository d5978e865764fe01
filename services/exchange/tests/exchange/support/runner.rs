//! Fakes around the line runner: an in-memory runner store, a recording
//! journal, scripted sources, a sink that fails on demand, and a TCP proxy
//! in front of the real broker to cut connections.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use zhongtai_events::{QueuePublisher, RabbitConfig};
use zhongtai_exchange::domain::ExchangeError;
use zhongtai_exchange::domain::change::{Change, Column, HopTimes, Operation, Value};
use zhongtai_exchange::domain::flow::{
    Accepted, ChangeSource, DeliveryRecord, DeliverySink, FlowError, Journal, SourceEvent,
};
use zhongtai_exchange::domain::line::{
    EnclaveSourceSpec, Line, LineState, LogSourceSpec, SnapshotProgress, SourceSpec, SourceTable,
};
use zhongtai_exchange::domain::policy::DeliveryPolicy;
use zhongtai_exchange::domain::ports::{
    DeliveredUpdate, EnclaveDirectory, LineRuntime, RunnerStore,
};
use zhongtai_exchange::domain::subscription::{Subscription, SubscriptionState};
use zhongtai_exchange::runner::{LogResume, RunnerParts, Runners, SourceOpener};
use zhongtai_kit::TenantId;
use zhongtai_kit::config::ExchangeConfig;

pub fn tenant(division: &str, department: &str) -> TenantId {
    TenantId::parse(division, department).unwrap()
}

pub fn log_line() -> Line {
    let now = Utc::now();
    Line {
        id: Uuid::new_v4(),
        owner: tenant("330000", "civil-affairs"),
        name: format!("marriage-{}", Uuid::new_v4().simple()),
        description: String::new(),
        source: SourceSpec::Log(LogSourceSpec {
            connection_ref: "civil-affairs".into(),
            publication: String::new(),
            slot: String::new(),
            tables: vec![SourceTable {
                schema: "public".into(),
                name: "marriage_registration".into(),
                key_columns: vec![],
            }],
            snapshot: false,
            heartbeat_interval_ms: 1000,
        }),
        state: LineState::Provisioning,
        state_reason: String::new(),
        snapshot: SnapshotProgress::default(),
        resource_id: None,
        version: 1,
        created_at: now,
        updated_at: now,
    }
}

pub fn subscription(line: &Line, queue: Option<String>, policy: DeliveryPolicy) -> Subscription {
    let now = Utc::now();
    Subscription {
        id: Uuid::new_v4(),
        line_id: line.id,
        subscriber: tenant("331100", "housing-fund"),
        grant_id: Some(Uuid::new_v4()),
        queue,
        enclave: None,
        state: SubscriptionState::Active,
        state_reason: String::new(),
        policy,
        delivered_position: 0,
        created_at: now,
        updated_at: now,
    }
}

/// An insert of row `id` at `position`.
pub fn insert(line: &Line, position: u64, id: i64, name: &str, id_number: &str) -> Change {
    Change {
        line_id: line.id,
        position,
        index: 0,
        transaction_id: Some(format!("tx{position}")),
        table: "public.marriage_registration".into(),
        operation: Operation::Insert,
        key: vec![Column::new("id", Value::Int(id))],
        before: vec![],
        after: vec![
            Column::new("id", Value::Int(id)),
            Column::new("name", Value::Text(name.into())),
            Column::new("id_number", Value::Text(id_number.into())),
            Column::new("district", Value::Text("331102".into())),
        ],
        hops: HopTimes {
            commit: Some(Utc::now()),
            ..HopTimes::default()
        },
        subscription_id: None,
        grant_id: None,
    }
}

#[derive(Default)]
struct StoreState {
    lines: HashMap<Uuid, Line>,
    runtimes: HashMap<Uuid, LineRuntime>,
    subscriptions: HashMap<Uuid, Subscription>,
    leases: HashMap<Uuid, (String, DateTime<Utc>)>,
    line_states: Vec<(Uuid, LineState, String)>,
    health: Vec<(Uuid, SubscriptionState, String)>,
    delivered: Vec<DeliveredUpdate>,
}

/// The lines store as runners see it, in memory.
#[derive(Default, Clone)]
pub struct MemoryStore {
    state: Arc<Mutex<StoreState>>,
}

impl MemoryStore {
    pub fn add_line(&self, line: &Line) {
        let mut state = self.state.lock().unwrap();
        state.lines.insert(line.id, line.clone());
        state.runtimes.entry(line.id).or_default();
    }

    pub fn add_subscription(&self, subscription: &Subscription) {
        let mut state = self.state.lock().unwrap();
        state
            .subscriptions
            .insert(subscription.id, subscription.clone());
    }

    /// Sets a subscription's state as an operator (or a grant event) would.
    pub fn set_subscription_state(&self, id: Uuid, to: SubscriptionState) {
        let mut state = self.state.lock().unwrap();
        if let Some(subscription) = state.subscriptions.get_mut(&id) {
            subscription.state = to;
        }
    }

    pub fn set_line(&self, id: Uuid, to: LineState) {
        let mut state = self.state.lock().unwrap();
        if let Some(line) = state.lines.get_mut(&id) {
            line.state = to;
        }
    }

    pub fn line_now(&self, id: Uuid) -> Line {
        self.state.lock().unwrap().lines[&id].clone()
    }

    pub fn runtime_now(&self, id: Uuid) -> LineRuntime {
        self.state.lock().unwrap().runtimes[&id].clone()
    }

    pub fn subscription_now(&self, id: Uuid) -> Subscription {
        self.state.lock().unwrap().subscriptions[&id].clone()
    }

    /// Every state the runner moved the line to, in order.
    pub fn line_states(&self, id: Uuid) -> Vec<(LineState, String)> {
        let state = self.state.lock().unwrap();
        state
            .line_states
            .iter()
            .filter(|(line, _, _)| *line == id)
            .map(|(_, s, reason)| (*s, reason.clone()))
            .collect()
    }

    /// Every health change of the subscription, in order.
    pub fn health(&self, id: Uuid) -> Vec<(SubscriptionState, String)> {
        let state = self.state.lock().unwrap();
        state
            .health
            .iter()
            .filter(|(subscription, _, _)| *subscription == id)
            .map(|(_, s, reason)| (*s, reason.clone()))
            .collect()
    }

    pub fn lease_owner(&self, id: Uuid) -> Option<String> {
        let state = self.state.lock().unwrap();
        state
            .leases
            .get(&id)
            .filter(|(_, until)| *until > Utc::now())
            .map(|(owner, _)| owner.clone())
    }

    pub fn delivered(&self) -> Vec<DeliveredUpdate> {
        self.state.lock().unwrap().delivered.clone()
    }
}

#[async_trait]
impl RunnerStore for MemoryStore {
    async fn runnable_lines(&self) -> Result<Vec<Line>, ExchangeError> {
        let state = self.state.lock().unwrap();
        Ok(state
            .lines
            .values()
            .filter(|l| l.is_runnable())
            .cloned()
            .collect())
    }

    async fn line(&self, id: Uuid) -> Result<Option<Line>, ExchangeError> {
        Ok(self.state.lock().unwrap().lines.get(&id).cloned())
    }

    async fn acquire_lease(
        &self,
        line_id: Uuid,
        owner: &str,
        until: DateTime<Utc>,
    ) -> Result<bool, ExchangeError> {
        let mut state = self.state.lock().unwrap();
        let free = state
            .leases
            .get(&line_id)
            .is_none_or(|(held_by, held_until)| held_by == owner || *held_until <= Utc::now());
        if free {
            state.leases.insert(line_id, (owner.to_owned(), until));
        }
        Ok(free)
    }

    async fn release_lease(&self, line_id: Uuid, owner: &str) -> Result<(), ExchangeError> {
        let mut state = self.state.lock().unwrap();
        if state
            .leases
            .get(&line_id)
            .is_some_and(|(held_by, _)| held_by == owner)
        {
            state.leases.remove(&line_id);
        }
        Ok(())
    }

    async fn runtime(&self, line_id: Uuid) -> Result<LineRuntime, ExchangeError> {
        Ok(self
            .state
            .lock()
            .unwrap()
            .runtimes
            .get(&line_id)
            .cloned()
            .unwrap_or_default())
    }

    async fn save_runtime(
        &self,
        line_id: Uuid,
        runtime: &LineRuntime,
    ) -> Result<(), ExchangeError> {
        let mut state = self.state.lock().unwrap();
        let stored = state.runtimes.entry(line_id).or_default();
        let confirmed = stored.confirmed_position.max(runtime.confirmed_position);
        *stored = runtime.clone();
        stored.confirmed_position = confirmed;
        Ok(())
    }

    async fn set_line_state(
        &self,
        line_id: Uuid,
        to: LineState,
        reason: &str,
    ) -> Result<Line, ExchangeError> {
        let mut state = self.state.lock().unwrap();
        let Some(line) = state.lines.get_mut(&line_id) else {
            return Err(ExchangeError::not_found("line", line_id));
        };
        if line.is_runnable() {
            line.state = to;
            line.state_reason = reason.to_owned();
            let line = line.clone();
            state.line_states.push((line_id, to, reason.to_owned()));
            Ok(line)
        } else {
            Ok(line.clone())
        }
    }

    async fn live_subscriptions(&self, line_id: Uuid) -> Result<Vec<Subscription>, ExchangeError> {
        let state = self.state.lock().unwrap();
        Ok(state
            .subscriptions
            .values()
            .filter(|s| s.line_id == line_id && !s.state.is_final())
            .cloned()
            .collect())
    }

    async fn record_delivered(&self, updates: &[DeliveredUpdate]) -> Result<(), ExchangeError> {
        let mut state = self.state.lock().unwrap();
        for update in updates {
            if let Some(subscription) = state.subscriptions.get_mut(&update.subscription_id) {
                subscription.delivered_position =
                    subscription.delivered_position.max(update.position);
            }
        }
        state.delivered.extend_from_slice(updates);
        Ok(())
    }

    async fn set_subscription_health(
        &self,
        subscription_id: Uuid,
        to: SubscriptionState,
        reason: &str,
    ) -> Result<(), ExchangeError> {
        let mut state = self.state.lock().unwrap();
        if let Some(subscription) = state.subscriptions.get_mut(&subscription_id)
            && subscription.state.receives()
        {
            subscription.state = to;
            subscription.state_reason = reason.to_owned();
        }
        state.health.push((subscription_id, to, reason.to_owned()));
        Ok(())
    }
}

/// One journal call: captured changes and their deliveries.
pub type Recorded = (Vec<Change>, Vec<DeliveryRecord>);

/// What the journal was told, in order.
#[derive(Default, Clone)]
pub struct RecordingJournal {
    pub records: Arc<Mutex<Vec<Recorded>>>,
    /// Appended to the shared event log on every record.
    pub log: Option<EventLog>,
}

#[async_trait]
impl Journal for RecordingJournal {
    async fn record(
        &self,
        _line_id: Uuid,
        captured: &[Change],
        deliveries: &[DeliveryRecord],
    ) -> Result<(), FlowError> {
        self.records
            .lock()
            .unwrap()
            .push((captured.to_vec(), deliveries.to_vec()));
        if let Some(log) = &self.log {
            log.push(format!("journal {}", captured.len()));
        }
        Ok(())
    }
}

/// What happened, in order, across fakes (journal records, confirms).
#[derive(Default, Clone)]
pub struct EventLog(Arc<Mutex<Vec<String>>>);

impl EventLog {
    pub fn push(&self, entry: String) {
        self.0.lock().unwrap().push(entry);
    }

    pub fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// A source fed by the test through a channel; confirms go to a log.
pub struct ScriptedSource {
    events: mpsc::UnboundedReceiver<Result<SourceEvent, FlowError>>,
    log: EventLog,
}

#[async_trait]
impl ChangeSource for ScriptedSource {
    async fn next(&mut self) -> Result<SourceEvent, FlowError> {
        match self.events.recv().await {
            Some(event) => event,
            None => std::future::pending().await,
        }
    }

    async fn confirm(&mut self, position: u64) -> Result<(), FlowError> {
        self.log.push(format!("confirm {position}"));
        Ok(())
    }

    fn position_text(&self, position: u64) -> String {
        position.to_string()
    }

    async fn close(&mut self) {
        self.log.push("close".into());
    }
}

/// Opens scripted sources: each open takes the next scripted outcome
/// (an error, or a source fed by a fresh channel whose sender the test
/// takes with [`ScriptedOpener::feed`]).
#[derive(Clone, Default)]
pub struct ScriptedOpener {
    inner: Arc<Mutex<OpenerState>>,
    pub log: EventLog,
}

#[derive(Default)]
struct OpenerState {
    failures: VecDeque<FlowError>,
    feeds: VecDeque<mpsc::UnboundedSender<Result<SourceEvent, FlowError>>>,
    opens: Vec<(Uuid, u64)>,
}

impl ScriptedOpener {
    /// The next opens fail with these, in order.
    pub fn fail_opens(&self, errors: impl IntoIterator<Item = FlowError>) {
        self.inner.lock().unwrap().failures.extend(errors);
    }

    /// Opens so far: (line, confirmed position it resumed at).
    pub fn opens(&self) -> Vec<(Uuid, u64)> {
        self.inner.lock().unwrap().opens.clone()
    }

    /// The sender of the most recently opened source.
    pub fn feed(&self) -> Option<mpsc::UnboundedSender<Result<SourceEvent, FlowError>>> {
        self.inner.lock().unwrap().feeds.back().cloned()
    }
}

#[async_trait]
impl SourceOpener for ScriptedOpener {
    async fn open(
        &self,
        line_id: Uuid,
        _spec: &LogSourceSpec,
        resume: LogResume,
    ) -> Result<Box<dyn ChangeSource>, FlowError> {
        let mut inner = self.inner.lock().unwrap();
        inner.opens.push((line_id, resume.confirmed_position));
        if let Some(error) = inner.failures.pop_front() {
            return Err(error);
        }
        let (sender, events) = mpsc::unbounded_channel();
        inner.feeds.push_back(sender);
        Ok(Box::new(ScriptedSource {
            events,
            log: self.log.clone(),
        }))
    }
}

/// No enclaves at all.
pub struct NoEnclaves;

#[async_trait]
impl EnclaveDirectory for NoEnclaves {
    async fn belongs_to(&self, _: Uuid, _: &TenantId) -> Result<bool, ExchangeError> {
        Ok(false)
    }

    async fn open_source(
        &self,
        _: Uuid,
        _: &EnclaveSourceSpec,
        _: u64,
    ) -> Result<Box<dyn ChangeSource>, FlowError> {
        Err(FlowError::Permanent("no enclaves here".into()))
    }
}

/// An enclave sink that fails the first `failures` calls, then accepts and
/// keeps what it accepted.
#[derive(Default, Clone)]
pub struct FlakySink {
    pub failures: Arc<Mutex<u32>>,
    pub accepted: Arc<Mutex<Vec<Change>>>,
    pub calls: Arc<Mutex<u32>>,
}

#[async_trait]
impl DeliverySink for FlakySink {
    async fn accept(
        &self,
        _subscription: &Subscription,
        changes: &[Change],
    ) -> Result<Vec<Accepted>, FlowError> {
        *self.calls.lock().unwrap() += 1;
        {
            let mut failures = self.failures.lock().unwrap();
            if *failures > 0 {
                *failures -= 1;
                return Err(FlowError::Transient("enclave database unreachable".into()));
            }
        }
        self.accepted.lock().unwrap().extend_from_slice(changes);
        let now = Utc::now();
        Ok(changes
            .iter()
            .map(|_| Accepted {
                published_at: now,
                delivered_at: Some(now),
                applied_at: Some(now),
                had_effect: true,
            })
            .collect())
    }
}

/// Settings with test-sized intervals and a masking key.
pub fn config() -> ExchangeConfig {
    ExchangeConfig {
        masking_key: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
            .to_owned()
            .into(),
        lease_ttl_ms: 1500,
        refresh_interval_ms: 100,
        retry_interval_ms: 200,
        batch_max_changes: 100,
        ..ExchangeConfig::default()
    }
}

pub fn rabbit_config(url: &str) -> RabbitConfig {
    RabbitConfig {
        url: url.to_owned(),
        exchange: format!("zt-test.exchange.{}", Uuid::new_v4().simple()),
        connection_name: "zt-test-runner".into(),
        connect_timeout: Duration::from_secs(5),
        publish_timeout: Duration::from_secs(20),
        reconnect_backoff_initial: Duration::from_millis(50),
        reconnect_backoff_max: Duration::from_millis(500),
        ..RabbitConfig::default()
    }
}

/// Everything a test's runners are made of.
pub struct Rig {
    pub store: MemoryStore,
    pub journal: RecordingJournal,
    pub opener: ScriptedOpener,
    pub sink: FlakySink,
    pub log: EventLog,
    pub stop: CancellationToken,
}

impl Rig {
    pub fn new() -> Self {
        zhongtai_testkit::init_tracing();
        let log = EventLog::default();
        Self {
            store: MemoryStore::default(),
            journal: RecordingJournal {
                log: Some(log.clone()),
                ..RecordingJournal::default()
            },
            opener: ScriptedOpener {
                log: log.clone(),
                ..ScriptedOpener::default()
            },
            sink: FlakySink::default(),
            log,
            stop: CancellationToken::new(),
        }
    }

    pub fn runners(&self, queues: Option<Arc<QueuePublisher>>) -> Arc<Runners> {
        Arc::new(
            Runners::new(RunnerParts {
                store: Arc::new(self.store.clone()),
                journal: Arc::new(self.journal.clone()),
                enclaves: Arc::new(NoEnclaves),
                enclave_sink: Arc::new(self.sink.clone()),
                queues,
                log_sources: Arc::new(self.opener.clone()),
                config: config(),
                instance_id: Uuid::new_v4(),
            })
            .unwrap(),
        )
    }

    /// Starts the runners' background tasks until the rig stops.
    pub fn start(&self, runners: &Arc<Runners>) -> Vec<tokio::task::JoinHandle<()>> {
        runners
            .background(self.stop.clone())
            .into_iter()
            .map(tokio::spawn)
            .collect()
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// A TCP proxy in front of the real broker that can cut every connection.
pub struct CuttingProxy {
    address: SocketAddr,
    cut: Arc<Mutex<CancellationToken>>,
    refusing: Arc<std::sync::atomic::AtomicBool>,
}

impl CuttingProxy {
    pub async fn start(upstream_url: &str) -> Self {
        let authority = upstream_url
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .map(|a| a.rsplit('@').next().unwrap_or(a).to_owned())
            .unwrap();
        let upstream: SocketAddr = tokio::net::lookup_host(authority.clone())
            .await
            .unwrap()
            .next()
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let cut = Arc::new(Mutex::new(CancellationToken::new()));
        let cuts = cut.clone();
        let refusing = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let refuses = refusing.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if refuses.load(std::sync::atomic::Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let token = cuts.lock().unwrap().clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let (mut client, mut server) = (client, server);
                    tokio::select! {
                        _ = token.cancelled() => {}
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                    }
                });
            }
        });
        Self {
            address,
            cut,
            refusing,
        }
    }

    /// While true, new connections are closed at once (a broker that is
    /// down); existing ones are cut.
    pub fn refuse(&self, refusing: bool) {
        self.refusing
            .store(refusing, std::sync::atomic::Ordering::SeqCst);
        if refusing {
            self.cut();
        }
    }

    pub fn url(&self, upstream_url: &str) -> String {
        let authority = upstream_url
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .map(|a| a.rsplit('@').next().unwrap_or(a).to_owned())
            .unwrap();
        upstream_url.replacen(&authority, &self.address.to_string(), 1)
    }

    /// Closes every connection made so far.
    pub fn cut(&self) {
        let old = std::mem::replace(&mut *self.cut.lock().unwrap(), CancellationToken::new());
        old.cancel();
    }
}

/// Takes every message ready in `queue` (acknowledged), waiting until at
/// least `count` arrived.
pub async fn take(queue: &str, count: usize) -> Vec<lapin::message::BasicGetMessage> {
    use lapin::options::BasicGetOptions;
    let connection = lapin::Connection::connect(&zhongtai_testkit::amqp_url(), Default::default())
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    // Declared as the publisher declares it, so getting from a queue that
    // does not exist yet cannot close the channel.
    channel
        .queue_declare(
            queue.into(),
            lapin::options::QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            Default::default(),
        )
        .await
        .unwrap();
    let mut taken = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while taken.len() < count {
        match channel
            .basic_get(queue.into(), BasicGetOptions { no_ack: true })
            .await
        {
            Ok(Some(message)) => taken.push(message),
            Ok(None) | Err(_) => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "only {} of {count} messages arrived on {queue}",
                    taken.len()
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    // Anything beyond what the test expects is a duplicate or a stray.
    while let Ok(Some(message)) = channel
        .basic_get(queue.into(), BasicGetOptions { no_ack: true })
        .await
    {
        taken.push(message);
    }
    let _ = channel.queue_delete(queue.into(), Default::default()).await;
    taken
}

/// A header of a taken message as text.
pub fn header(message: &lapin::message::BasicGetMessage, name: &str) -> Option<String> {
    let headers = message.delivery.properties.headers().as_ref()?;
    match headers.inner().get(name)? {
        lapin::types::AMQPValue::LongString(value) => {
            Some(String::from_utf8_lossy(value.as_bytes()).into_owned())
        }
        _ => None,
    }
}

/// A department database on the logical-replication cluster, with the
/// real log capture reading it as connection `dept`.
pub struct SourceDatabase {
    pub database: zhongtai_testkit::TestDatabase,
    pub sql: sea_orm::DatabaseConnection,
}

impl SourceDatabase {
    pub async fn create() -> Self {
        let database = zhongtai_testkit::TestDatabase::create_source().await;
        let sql = sea_orm::Database::connect(database.url()).await.unwrap();
        Self { database, sql }
    }

    pub async fn exec(&self, statements: &str) {
        use sea_orm::ConnectionTrait;
        self.sql
            .execute_unprepared(statements)
            .await
            .unwrap_or_else(|e| panic!("{statements}: {e}"));
    }

    /// The slot's confirmed flush position.
    pub async fn confirmed_flush(&self, slot: &str) -> Option<u64> {
        use sea_orm::ConnectionTrait;
        let row = self
            .sql
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DatabaseBackend::Postgres,
                format!(
                    "SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots \
                     WHERE slot_name = '{slot}'"
                ),
            ))
            .await
            .unwrap()?;
        let text: Option<String> = row.try_get("", "lsn").ok();
        text.and_then(|t| zhongtai_exchange::domain::change::parse_lsn(&t))
    }

    /// Settings whose `dept` source is this database.
    pub fn config(&self) -> ExchangeConfig {
        let mut config = config();
        config
            .sources
            .insert("dept".into(), self.database.url().to_owned().into());
        config
    }
}

impl Rig {
    /// Runners reading log lines through the real capture of `config`.
    pub fn capture_runners(
        &self,
        config: ExchangeConfig,
        queues: Option<Arc<QueuePublisher>>,
    ) -> Arc<Runners> {
        Arc::new(
            Runners::new(RunnerParts {
                store: Arc::new(self.store.clone()),
                journal: Arc::new(self.journal.clone()),
                enclaves: Arc::new(NoEnclaves),
                enclave_sink: Arc::new(self.sink.clone()),
                queues,
                log_sources: Arc::new(zhongtai_exchange::capture::LogCapture::new(config.clone())),
                config,
                instance_id: Uuid::new_v4(),
            })
            .unwrap(),
        )
    }
}

/// The platform side for real: a migrated PostgreSQL database with the
/// lines store and the journal runners write to.
pub struct Platform {
    pub database: zhongtai_testkit::TestDatabase,
    pub db: sea_orm::DatabaseConnection,
    pub store: Arc<zhongtai_exchange::store::SeaLines>,
    pub journal: Arc<dyn Journal>,
}

impl Platform {
    pub async fn create(config: &ExchangeConfig) -> Self {
        let database = zhongtai_testkit::TestDatabase::create().await;
        let db = zhongtai_store::connect(&zhongtai_store::StoreConfig {
            url: database.url().to_owned(),
            ..zhongtai_store::StoreConfig::default()
        })
        .await
        .unwrap();
        zhongtai_store::migrate::<zhongtai_exchange::migration::Migrator>(&db)
            .await
            .unwrap();
        let outbox = Arc::new(tokio::sync::Notify::new());
        let store = Arc::new(zhongtai_exchange::store::SeaLines::with_outbox(
            db.clone(),
            outbox.clone(),
        ));
        let journals =
            zhongtai_exchange::journal::Journals::new(db.clone(), outbox, config.clone());
        Self {
            database,
            db,
            store,
            journal: journals.journal(),
        }
    }

    /// Runners on this platform reading log lines through the real capture.
    pub fn runners(
        &self,
        config: ExchangeConfig,
        queues: Option<Arc<QueuePublisher>>,
    ) -> Arc<Runners> {
        Arc::new(
            Runners::new(RunnerParts {
                store: self.store.clone(),
                journal: self.journal.clone(),
                enclaves: Arc::new(NoEnclaves),
                enclave_sink: Arc::new(FlakySink::default()),
                queues,
                log_sources: Arc::new(zhongtai_exchange::capture::LogCapture::new(config.clone())),
                config,
                instance_id: Uuid::new_v4(),
            })
            .unwrap(),
        )
    }

    pub async fn count(&self, sql: &str) -> i64 {
        use sea_orm::ConnectionTrait;
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DatabaseBackend::Postgres,
                sql.to_owned(),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<i64>(0).unwrap()
    }
}
