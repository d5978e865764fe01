//! Lines part: handlers over a migrated database, a delivery that records
//! what it is handed, an enclave directory double, callers, and the outbox.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use tokio::sync::Notify;
use tonic::Request;
use uuid::Uuid;
use zhongtai_exchange::domain::flow::{ChangeSource, FlowError, SourceBatch};
use zhongtai_exchange::domain::ports::{Delivery, EnclaveDirectory, RunnerStore};
use zhongtai_exchange::domain::{EnclaveSourceSpec, ExchangeError, Line};
use zhongtai_exchange::lines::api::LineHandlers;
use zhongtai_exchange::migration::Migrator;
use zhongtai_exchange::store::SeaLines;
use zhongtai_kit::config::ExchangeConfig;
use zhongtai_kit::{Caller, Role, TenantId};
use zhongtai_store::StoreConfig;
use zhongtai_testkit::TestDatabase;

pub async fn open(url: &str) -> DatabaseConnection {
    let config = StoreConfig {
        url: url.into(),
        ..StoreConfig::default()
    };
    let db = zhongtai_store::connect(&config).await.unwrap();
    zhongtai_store::migrate::<Migrator>(&db).await.unwrap();
    db
}

/// Handlers with their doubles, on one database.
pub struct Lines {
    pub handlers: LineHandlers,
    pub store: Arc<SeaLines>,
    pub db: DatabaseConnection,
    pub delivery: Arc<RecordingDelivery>,
    pub enclaves: Arc<Enclaves>,
    _database: Option<TestDatabase>,
}

impl Lines {
    pub async fn on_postgres(queue_delivery: bool) -> Self {
        let database = TestDatabase::create().await;
        let db = open(database.url()).await;
        Self::over(db, Some(database), queue_delivery)
    }

    pub async fn on_sqlite(queue_delivery: bool) -> Self {
        Self::over(open("sqlite::memory:").await, None, queue_delivery)
    }

    fn over(db: DatabaseConnection, database: Option<TestDatabase>, queue_delivery: bool) -> Self {
        let store = Arc::new(SeaLines::new(db.clone()));
        let delivery = Arc::new(RecordingDelivery::new(store.clone()));
        let enclaves = Arc::new(Enclaves::default());
        let handlers = LineHandlers::new(
            db.clone(),
            Arc::new(Notify::new()),
            enclaves.clone(),
            delivery.clone(),
            queue_delivery,
            ExchangeConfig::default(),
        );
        Self {
            handlers,
            store,
            db,
            delivery,
            enclaves,
            _database: database,
        }
    }

    /// `(type, subject)` of every event in the outbox, in order.
    pub async fn events(&self) -> Vec<(String, String)> {
        outbox_events(&self.db).await
    }

    /// How many events of `event_type` are about `subject`.
    pub async fn count_events(&self, event_type: &str, subject: &str) -> usize {
        self.events()
            .await
            .iter()
            .filter(|(t, s)| t == event_type && s == subject)
            .count()
    }
}

pub async fn outbox_events(db: &DatabaseConnection) -> Vec<(String, String)> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT event_type, subject FROM event_outbox ORDER BY seq",
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|row| {
            (
                row.try_get::<String>("", "event_type").unwrap(),
                row.try_get::<String>("", "subject").unwrap(),
            )
        })
        .filter(|(event_type, _)| event_type.starts_with("exchange."))
        .collect()
}

pub fn tenant(division: &str, department: &str) -> TenantId {
    TenantId::parse(division, department).unwrap()
}

/// The province's data bureau (owns the source lines in these tests).
pub fn province() -> TenantId {
    tenant("330000", "big-data")
}

/// The city receiving the province's data.
pub fn city() -> TenantId {
    tenant("331100", "housing-fund")
}

pub fn another_city() -> TenantId {
    tenant("330100", "housing-fund")
}

/// `message` from an operator of `tenant`.
pub fn as_operator<T>(tenant: &TenantId, message: T) -> Request<T> {
    acting(
        Caller::new(
            format!("operator@{}", tenant.key()),
            tenant.clone(),
            &[Role::Operator],
        ),
        message,
    )
}

/// `message` from an app identity without tenant roles.
pub fn as_app<T>(subject: &str, message: T) -> Request<T> {
    acting(
        Caller::new(subject, tenant("330000", "population"), &[]),
        message,
    )
}

pub fn acting<T>(caller: Caller, message: T) -> Request<T> {
    zhongtai_kit::auth::acting_as(Request::new(message), caller)
}

/// Records the batches it is handed and confirms them as the pipeline
/// would (the line's confirmed position moves); fails while told to.
pub struct RecordingDelivery {
    store: Arc<SeaLines>,
    pub batches: Mutex<Vec<SourceBatch>>,
    pub failing: Mutex<bool>,
}

impl RecordingDelivery {
    fn new(store: Arc<SeaLines>) -> Self {
        Self {
            store,
            batches: Mutex::new(Vec::new()),
            failing: Mutex::new(false),
        }
    }

    pub fn positions(&self) -> Vec<u64> {
        self.batches
            .lock()
            .unwrap()
            .iter()
            .flat_map(|batch| batch.changes.iter().map(|c| c.position))
            .collect()
    }

    pub fn batch_sizes(&self) -> Vec<usize> {
        self.batches
            .lock()
            .unwrap()
            .iter()
            .map(|b| b.changes.len())
            .collect()
    }
}

#[async_trait]
impl Delivery for RecordingDelivery {
    async fn deliver(&self, line: &Line, batch: SourceBatch) -> Result<(), FlowError> {
        if *self.failing.lock().unwrap() {
            return Err(FlowError::Transient("broker away".into()));
        }
        let mut runtime = self.store.runtime(line.id).await.unwrap();
        runtime.confirmed_position = batch.confirm_position;
        runtime.source_position = runtime.source_position.max(batch.confirm_position);
        self.store.save_runtime(line.id, &runtime).await.unwrap();
        self.batches.lock().unwrap().push(batch);
        Ok(())
    }
}

/// Enclaves as the tests declare them.
#[derive(Default)]
pub struct Enclaves {
    owned: Mutex<Vec<(Uuid, TenantId)>>,
}

impl Enclaves {
    /// A new enclave of `tenant`.
    pub fn add(&self, tenant: &TenantId) -> Uuid {
        let id = Uuid::now_v7();
        self.owned.lock().unwrap().push((id, tenant.clone()));
        id
    }
}

#[async_trait]
impl EnclaveDirectory for Enclaves {
    async fn belongs_to(&self, enclave_id: Uuid, tenant: &TenantId) -> Result<bool, ExchangeError> {
        Ok(self
            .owned
            .lock()
            .unwrap()
            .iter()
            .any(|(id, owner)| *id == enclave_id && owner == tenant))
    }

    async fn open_source(
        &self,
        _line_id: Uuid,
        _spec: &EnclaveSourceSpec,
        _confirmed_position: u64,
    ) -> Result<Box<dyn ChangeSource>, FlowError> {
        Err(FlowError::Permanent(
            "no enclave sources in these tests".into(),
        ))
    }
}
