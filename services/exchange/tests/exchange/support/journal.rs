//! A journal over a migrated database with one line and its
//! subscriptions, and captured changes to record.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseConnection, IntoActiveModel};
use tonic::Request;
use uuid::Uuid;
use zhongtai_exchange::domain::change::{Change, Column, HopTimes, Operation, Value};
use zhongtai_exchange::domain::{Accepted, DeliveryRecord, Journal};
use zhongtai_exchange::journal::{JournalHandlers, Journals};
use zhongtai_exchange::migration::Migrator;
use zhongtai_exchange::store::entities::{line, line_runtime, subscription};
use zhongtai_kit::config::ExchangeConfig;
use zhongtai_kit::{Caller, Role, TenantId};
use zhongtai_store::StoreConfig;
use zhongtai_testkit::TestDatabase;

pub const OWNER: &str = "331100/civil-affairs";
pub const HOUSING_FUND: &str = "331100/housing-fund";
pub const COUNTY: &str = "331121/civil-affairs";
pub const OTHER_CITY: &str = "330100/market-regulation";
pub const TABLE: &str = "public.marriage_registration";
pub const LATE_THRESHOLD_MS: u64 = 5_000;

/// Where the journal keeps its data; PostgreSQL databases are dropped
/// with it.
pub enum Backend {
    Postgres(TestDatabase),
    Sqlite,
}

impl Backend {
    pub async fn postgres() -> Self {
        Self::Postgres(TestDatabase::create().await)
    }

    fn url(&self) -> String {
        match self {
            Self::Postgres(database) => database.url().to_string(),
            Self::Sqlite => "sqlite::memory:".to_string(),
        }
    }
}

pub struct JournalFixture {
    _backend: Backend,
    pub db: DatabaseConnection,
    pub journals: Arc<Journals>,
    pub journal: Arc<dyn Journal>,
    pub handlers: JournalHandlers,
    pub line_id: Uuid,
    /// The window the fixture's changes are committed in: a minute, half an
    /// hour ago (closed and settled).
    pub window_start: DateTime<Utc>,
}

impl JournalFixture {
    pub async fn on(backend: Backend) -> Self {
        Self::configured(backend, |_| {}).await
    }

    /// With the test settings changed by `adjust`.
    pub async fn configured(backend: Backend, adjust: impl FnOnce(&mut ExchangeConfig)) -> Self {
        zhongtai_testkit::init_tracing();
        let config = StoreConfig {
            url: backend.url(),
            ..StoreConfig::default()
        };
        let db = zhongtai_store::connect(&config).await.unwrap();
        zhongtai_store::migrate::<Migrator>(&db).await.unwrap();
        let mut exchange = ExchangeConfig {
            late_threshold_ms: LATE_THRESHOLD_MS,
            reconcile_window_secs: 60,
            ..ExchangeConfig::default()
        };
        adjust(&mut exchange);
        let journals = Journals::new(db.clone(), Arc::new(tokio::sync::Notify::new()), exchange);
        let line_id = Uuid::now_v7();
        let now = Utc::now();
        let minute = (now - TimeDelta::minutes(30)).timestamp() / 60 * 60;
        let fixture = Self {
            _backend: backend,
            journal: journals.journal(),
            handlers: journals.handlers(),
            journals,
            db,
            line_id,
            window_start: DateTime::from_timestamp(minute, 0).unwrap(),
        };
        fixture.store_line().await;
        fixture
    }

    pub async fn postgres() -> Self {
        Self::on(Backend::postgres().await).await
    }

    pub async fn sqlite() -> Self {
        Self::on(Backend::Sqlite).await
    }

    pub fn window_end(&self) -> DateTime<Utc> {
        self.window_start + TimeDelta::minutes(1)
    }

    async fn store_line(&self) {
        let at = Utc::now();
        let owner = TenantId::from_key(OWNER).unwrap();
        line::Model {
            id: self.line_id.to_string(),
            owner_division: owner.division.to_string(),
            owner_department: owner.department.clone().unwrap_or_default(),
            name: format!("marriages-{}", self.line_id.simple()),
            description: String::new(),
            state: "streaming".into(),
            resource_id: None,
            version: 1,
            created_at: at,
            updated_at: at,
            source_kind: "push".into(),
            source_spec: r#"{"kind":"push","tables":[],"producer_subject":"app:x"}"#.into(),
            state_reason: String::new(),
            request_id: None,
        }
        .into_active_model()
        .insert(&self.db)
        .await
        .unwrap();
    }

    /// Everything at or below `position` is confirmed at the source.
    pub async fn confirm(&self, position: u64) {
        line_runtime::Model {
            line_id: self.line_id.to_string(),
            confirmed_position: position as i64,
            source_position: position as i64,
            captured_total: 0,
            snapshot: "{}".into(),
            last_activity_at: None,
            last_commit_at: None,
            last_capture_at: None,
            lease_owner: None,
            lease_until: None,
            updated_at: Utc::now(),
            source_released_at: None,
        }
        .into_active_model()
        .insert(&self.db)
        .await
        .unwrap();
    }

    /// A subscription of `subscriber`, applied into an enclave when
    /// `applies`, delivered up to `delivered_position`.
    pub async fn subscribe(
        &self,
        subscriber: &str,
        applies: bool,
        delivered_position: u64,
    ) -> Uuid {
        let id = Uuid::now_v7();
        let tenant = TenantId::from_key(subscriber).unwrap();
        let at = self.window_start - TimeDelta::hours(1);
        subscription::Model {
            id: id.to_string(),
            line_id: self.line_id.to_string(),
            subscriber_division: tenant.division.to_string(),
            subscriber_department: tenant.department.clone().unwrap_or_default(),
            grant_id: None,
            queue: (!applies).then(|| format!("zhongtai.exchange.{id}")),
            enclave_id: applies.then(|| Uuid::now_v7().to_string()),
            enclave_table: applies.then(|| "marriage_registration".to_string()),
            state: "active".into(),
            state_reason: String::new(),
            policy: r#"{"fields":[],"row_filter":{"conditions":[]}}"#.into(),
            delivered_position: delivered_position as i64,
            last_delivered_commit_at: None,
            last_lag_ms: 0,
            request_id: None,
            created_at: at,
            updated_at: at,
        }
        .into_active_model()
        .insert(&self.db)
        .await
        .unwrap();
        id
    }

    /// Change `position` (1-based) of registration `R<position>`, committed
    /// `position` milliseconds into the window.
    pub fn change(&self, position: u64) -> Change {
        let commit = self.window_start + TimeDelta::milliseconds(position as i64);
        Change {
            line_id: self.line_id,
            position,
            index: 0,
            transaction_id: None,
            table: TABLE.into(),
            operation: Operation::Insert,
            key: vec![Column::new(
                "registration_id",
                Value::Text(format!("R{position}")),
            )],
            before: vec![],
            after: vec![
                Column::new("registration_id", Value::Text(format!("R{position}"))),
                Column::new("husband_name", Value::Text("张三".into())),
            ],
            hops: HopTimes {
                commit: Some(commit),
                capture: Some(commit + TimeDelta::milliseconds(3)),
                ..HopTimes::default()
            },
            subscription_id: None,
            grant_id: None,
        }
    }

    pub fn changes(&self, positions: std::ops::RangeInclusive<u64>) -> Vec<Change> {
        positions.map(|p| self.change(p)).collect()
    }

    /// What a sink reports for `change` at `subscription`: published 20 ms
    /// after commit, and applied 30 ms after (with effect) when `applies`.
    pub fn delivery(&self, subscription: Uuid, change: &Change, applies: bool) -> DeliveryRecord {
        let commit = change.hops.commit.unwrap();
        DeliveryRecord {
            subscription_id: subscription,
            change_id: change.change_id(),
            position: change.position,
            index: change.index,
            commit_time: commit,
            filtered_out: false,
            content_hash: change.content_hash(),
            accepted: Some(Accepted {
                published_at: commit + TimeDelta::milliseconds(20),
                delivered_at: applies.then(|| commit + TimeDelta::milliseconds(25)),
                applied_at: applies.then(|| commit + TimeDelta::milliseconds(30)),
                had_effect: true,
            }),
        }
    }

    pub fn deliveries(
        &self,
        subscription: Uuid,
        changes: &[Change],
        applies: bool,
    ) -> Vec<DeliveryRecord> {
        changes
            .iter()
            .map(|change| self.delivery(subscription, change, applies))
            .collect()
    }

    /// One number from the database.
    pub async fn scalar(&self, sql: &str) -> i64 {
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                sql.to_string(),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<i64>(0).unwrap()
    }
}

pub fn caller(key: &str, roles: &[Role]) -> Caller {
    Caller::new(
        format!("user-of-{key}"),
        TenantId::from_key(key).unwrap(),
        roles,
    )
}

pub fn reviewer(key: &str) -> Caller {
    caller(key, &[Role::Auditor, Role::Viewer])
}

/// `message` as the access layer hands it to a handler for `caller`.
pub fn acting<T>(caller: &Caller, message: T) -> Request<T> {
    zhongtai_kit::auth::acting_as(Request::new(message), caller.clone())
}
