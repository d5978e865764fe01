//! Shared by the approval center's handler-level tests: the API on a fresh
//! PostgreSQL database (or SQLite file), callers, fixtures, and a look
//! behind the API at the outbox and the tables.

#![allow(dead_code, clippy::unwrap_used)] // test helpers; not every test uses every one

mod fixtures;
pub mod server;

pub use fixtures::*;

use std::sync::Arc;

use prost::Message;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use tonic::{Code, Request, Status};
use zhongtai_approval::api::ApprovalApi;
use zhongtai_approval::migration::Migrator;
use zhongtai_contracts::approval::v1 as pb;
use zhongtai_contracts::common::v1::Tenant;
use zhongtai_contracts::events::v1::EventEnvelope;
use zhongtai_kit::{Role, TenantId};

pub use zhongtai_kit::Caller;
use zhongtai_store::{StoreConfig, connect, migrate};
use zhongtai_testkit::TestDatabase;

/// The tenant whose items and processes the tests use.
pub const HANDLER: &str = "331100/market-regulation";
/// A department asking for data (applies to data-access items).
pub const APPLICANT: &str = "331100/housing-fund";
pub const CIVIL: &str = "331100/civil-affairs";
pub const BUREAU: &str = "331100/data-bureau";
/// A tenant with no part in anything.
pub const STRANGER: &str = "330100/market-regulation";

/// The API on its own database.
pub struct Harness {
    pub api: ApprovalApi,
    pub db: DatabaseConnection,
    _postgres: Option<TestDatabase>,
    _sqlite: Option<tempfile::TempDir>,
}

impl Harness {
    pub async fn postgres() -> Self {
        zhongtai_testkit::init_tracing();
        let database = TestDatabase::create().await;
        let db = open(database.url()).await;
        Self::on(db, Some(database), None)
    }

    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = open(&format!(
            "sqlite://{}",
            dir.path().join("approval.db").display()
        ))
        .await;
        Self::on(db, None, Some(dir))
    }

    fn on(
        db: DatabaseConnection,
        postgres: Option<TestDatabase>,
        sqlite: Option<tempfile::TempDir>,
    ) -> Self {
        let api = zhongtai_approval::api(db.clone(), Arc::new(tokio::sync::Notify::new()));
        Self {
            api,
            db,
            _postgres: postgres,
            _sqlite: sqlite,
        }
    }

    /// `SELECT COUNT(*) FROM <query>`.
    pub async fn count(&self, query: &str) -> i64 {
        count(&self.db, query).await
    }

    /// Types of the application events about `subject`, in outbox order.
    pub async fn events(&self, subject: &str) -> Vec<String> {
        self.envelopes(subject)
            .await
            .into_iter()
            .map(|e| e.r#type)
            .collect()
    }

    /// The application events about `subject`, in outbox order.
    pub async fn envelopes(&self, subject: &str) -> Vec<EventEnvelope> {
        envelopes(&self.db, subject).await
    }

    /// Rows of every table the approval center writes, to show nothing
    /// changed.
    pub async fn snapshot(&self) -> Vec<i64> {
        let mut counts = Vec::new();
        for table in [
            "service_items",
            "process_definitions",
            "applications",
            "application_history",
            "application_tasks",
            "application_parties",
            "event_outbox",
        ] {
            counts.push(self.count(table).await);
        }
        let versions = self.count("applications WHERE version > 1").await;
        counts.push(versions);
        counts
    }
}

async fn open(url: &str) -> DatabaseConnection {
    let db = connect(&StoreConfig {
        url: url.to_string(),
        ..StoreConfig::default()
    })
    .await
    .unwrap();
    migrate::<Migrator>(&db).await.unwrap();
    db
}

pub async fn count(db: &DatabaseConnection, query: &str) -> i64 {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM {query}"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

pub async fn envelopes(db: &DatabaseConnection, subject: &str) -> Vec<EventEnvelope> {
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT envelope FROM event_outbox WHERE subject = '{subject}' \
                 AND event_type LIKE 'approval.%' ORDER BY seq"
            ),
        ))
        .await
        .unwrap();
    rows.into_iter()
        .map(|row| {
            EventEnvelope::decode(row.try_get::<Vec<u8>>("", "envelope").unwrap().as_slice())
                .unwrap()
        })
        .collect()
}

/// Decodes an envelope's payload.
pub fn payload<M: prost::Message + Default>(envelope: &EventEnvelope) -> M {
    M::decode(envelope.payload.as_ref().unwrap().value.as_slice()).unwrap()
}

/// The application an application event carries: every application
/// payload has it as field 1 (and its history entry as field 2).
pub fn application_in(envelope: &EventEnvelope) -> pb::Application {
    payload::<zhongtai_contracts::events::v1::ApplicationSubmitted>(envelope)
        .application
        .unwrap()
}

/// The history entry an application event carries.
pub fn entry_in(envelope: &EventEnvelope) -> pb::HistoryEntry {
    payload::<zhongtai_contracts::events::v1::ApplicationSubmitted>(envelope)
        .entry
        .unwrap()
}

pub fn tenant(key: &str) -> Tenant {
    let (division, department) = key.split_once('/').unwrap_or((key, ""));
    Tenant {
        division_code: division.into(),
        department: department.into(),
    }
}

/// A caller named `subject` of `tenant` holding `roles`.
pub fn caller(subject: &str, tenant: &str, roles: &[Role]) -> Caller {
    Caller::new(subject, TenantId::from_key(tenant).unwrap(), roles)
}

pub fn by<T>(caller: &Caller, message: T) -> Request<T> {
    zhongtai_kit::auth::acting_as(Request::new(message), caller.clone())
}

/// The handling tenant's operator, who sets items and processes up.
pub fn operator() -> Caller {
    caller("operator", HANDLER, &[Role::Operator])
}

/// The handling department's app, which submits for its citizens (a
/// public-service item takes applications from its own tenant only).
pub fn clerk() -> Caller {
    caller("clerk", HANDLER, &[Role::Operator])
}

/// The approver of `tenant`.
pub fn approver(tenant: &str) -> Caller {
    caller(&format!("approver-{tenant}"), tenant, &[Role::Approver])
}

pub fn rid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Asserts `status` is `code` and names `field` (in its message or
/// BadRequest details).
pub fn assert_invalid(status: &Status, field: &str) {
    assert_eq!(status.code(), Code::InvalidArgument, "{field}: {status:?}");
    let details = format!(
        "{} {}",
        status.message(),
        String::from_utf8_lossy(status.details())
    );
    assert!(details.contains(field), "{field} not named in {status:?}");
}

/// A caller of `tenant` named `subject` with every role.
pub fn all_roles(subject: &str, tenant: &str) -> Caller {
    caller(subject, tenant, &Role::ALL)
}

/// The reason codes and metadata a refusal carries.
pub fn denial_reason(status: &Status) -> String {
    String::from_utf8_lossy(status.details()).to_string()
}

/// Asserts `answer` is INVALID_ARGUMENT naming every one of `fields`.
pub fn invalid<T: std::fmt::Debug>(what: &str, answer: Result<T, Status>, fields: &[&str]) {
    let status = match answer {
        Ok(ok) => panic!("{what}: accepted {ok:?}"),
        Err(status) => status,
    };
    for field in fields {
        assert_invalid(&status, field);
    }
}

/// Application event types, `approval.application.<name>` each.
pub fn application_events(names: &[&str]) -> Vec<String> {
    names
        .iter()
        .map(|n| format!("approval.application.{n}"))
        .collect()
}

pub fn task_statuses(app: &pb::Application, stage: usize) -> Vec<pb::TaskStatus> {
    app.stages[stage].tasks.iter().map(|t| t.status()).collect()
}
