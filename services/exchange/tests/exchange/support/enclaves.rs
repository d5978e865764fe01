//! The enclave service over a fresh database (PostgreSQL or SQLite), with
//! the lines part replaced by a provisioner that records what it is asked
//! to create, callers of a city, one of its counties and another city, and
//! request builders.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use tonic::{Code, Request, Status};
use tonic_types::StatusExt;
use uuid::Uuid;
use zhongtai_contracts::common::v1 as common;
use zhongtai_contracts::exchange::v1 as pb;
use zhongtai_contracts::exchange::v1::column_value::Value as PbValue;
use zhongtai_contracts::exchange::v1::enclave_service_server::EnclaveService;
use zhongtai_exchange::domain::ExchangeError;
use zhongtai_exchange::domain::change::{Change, Column, HopTimes, Operation, Value};
use zhongtai_exchange::domain::line::Line;
use zhongtai_exchange::domain::policy::DeliveryPolicy;
use zhongtai_exchange::domain::ports::LineProvisioner;
use zhongtai_exchange::domain::subscription::{EnclaveTarget, Subscription, SubscriptionState};
use zhongtai_exchange::enclaves::Enclaves;
use zhongtai_exchange::enclaves::api::EnclaveApi;
use zhongtai_exchange::migration::Migrator;
use zhongtai_kit::auth::acting_as;
use zhongtai_kit::config::ExchangeConfig;
use zhongtai_kit::{Caller, Role, TenantId};
use zhongtai_store::StoreConfig;
use zhongtai_testkit::TestDatabase;

pub const CITY: &str = "331100/data-bureau";
pub const COUNTY: &str = "331121/data-bureau";
pub const OTHER_CITY: &str = "331200/data-bureau";

/// What the lines part was asked to do.
#[derive(Default)]
pub struct RecordingProvisioner {
    pub lines: Mutex<Vec<Line>>,
    pub subscriptions: Mutex<Vec<Subscription>>,
    pub retired: Mutex<Vec<Uuid>>,
}

#[async_trait]
impl LineProvisioner for RecordingProvisioner {
    async fn provision_line(&self, line: Line) -> Result<Line, ExchangeError> {
        self.lines.lock().unwrap().push(line.clone());
        Ok(line)
    }

    async fn provision_subscription(
        &self,
        subscription: Subscription,
    ) -> Result<Subscription, ExchangeError> {
        self.subscriptions
            .lock()
            .unwrap()
            .push(subscription.clone());
        Ok(subscription)
    }

    async fn retire_line(&self, line_id: Uuid, _reason: &str) -> Result<(), ExchangeError> {
        self.retired.lock().unwrap().push(line_id);
        Ok(())
    }
}

pub enum Backend {
    Postgres(TestDatabase),
    Sqlite,
}

pub struct TestEnclaves {
    _backend: Backend,
    pub db: DatabaseConnection,
    pub enclaves: Arc<Enclaves>,
    pub api: EnclaveApi,
    pub provisioner: Arc<RecordingProvisioner>,
    /// Superuser connection to the test database, to drop the
    /// cluster-wide roles the test made before the database goes.
    superuser_url: Option<String>,
    /// Login roles the test made besides the enclaves' own.
    login_roles: Vec<String>,
}

/// `url` with another user and password.
fn with_user(url: &str, user: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let host = rest.split_once('@').map_or(rest, |(_, host)| host);
    format!("{scheme}://{user}:{password}@{host}")
}

impl TestEnclaves {
    pub async fn postgres() -> Self {
        Self::on(Backend::Postgres(TestDatabase::create().await)).await
    }

    pub async fn sqlite() -> Self {
        Self::on(Backend::Sqlite).await
    }

    async fn on(backend: Backend) -> Self {
        zhongtai_testkit::init_tracing();
        let url = match &backend {
            Backend::Postgres(database) => database.url().to_string(),
            Backend::Sqlite => "sqlite::memory:".to_string(),
        };
        let db = connect(&url).await;
        zhongtai_store::migrate::<Migrator>(&db).await.unwrap();
        let superuser_url = matches!(backend, Backend::Postgres(_)).then(|| url.clone());
        Self::assemble(
            backend,
            db,
            ExchangeConfig::default(),
            superuser_url,
            vec![],
        )
    }

    fn assemble(
        backend: Backend,
        db: DatabaseConnection,
        config: ExchangeConfig,
        superuser_url: Option<String>,
        login_roles: Vec<String>,
    ) -> Self {
        let provisioner = Arc::new(RecordingProvisioner::default());
        let enclaves = Enclaves::new(
            db.clone(),
            Arc::new(tokio::sync::Notify::new()),
            config,
            provisioner.clone(),
        );
        Self {
            _backend: backend,
            api: enclaves.api(),
            db,
            enclaves,
            provisioner,
            superuser_url,
            login_roles,
        }
    }

    /// The center connected as a database user without CREATEROLE (but
    /// with every privilege on the platform's tables), with
    /// `exchange.enclave_roles` as given.
    pub async fn plain_user(enclave_roles: bool) -> Self {
        zhongtai_testkit::init_tracing();
        let database = TestDatabase::create().await;
        let superuser = connect(database.url()).await;
        zhongtai_store::migrate::<Migrator>(&superuser)
            .await
            .unwrap();
        let user = format!("zt_plain_{}", Uuid::new_v4().simple());
        for sql in [
            format!("CREATE ROLE {user} LOGIN PASSWORD 'plain'"),
            format!("GRANT CREATE ON DATABASE {} TO {user}", database.name()),
            format!("GRANT ALL ON ALL TABLES IN SCHEMA public TO {user}"),
            format!("GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {user}"),
        ] {
            superuser.execute_unprepared(&sql).await.unwrap();
        }
        let _ = superuser.close().await;
        let db = connect(&with_user(database.url(), &user, "plain")).await;
        let superuser_url = Some(database.url().to_string());
        let config = ExchangeConfig {
            enclave_roles,
            ..ExchangeConfig::default()
        };
        Self::assemble(
            Backend::Postgres(database),
            db,
            config,
            superuser_url,
            vec![user],
        )
    }

    pub async fn count(&self, sql: &str) -> i64 {
        let row = self
            .db
            .query_one_raw(Statement::from_string(self.db.get_database_backend(), sql))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<i64>(0).unwrap()
    }

    /// Refusals of `enclave_id` recorded in the audit log.
    pub async fn refusals_audited(&self, enclave_id: &str) -> i64 {
        self.count(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE outcome = 'denied' \
             AND target LIKE 'enclave/{enclave_id}%'"
        ))
        .await
    }

    /// `exchange.enclave.access_refused` events waiting in the outbox for
    /// `enclave_id`.
    pub async fn refusals_published(&self, enclave_id: &str) -> i64 {
        self.count(&format!(
            "SELECT COUNT(*) FROM event_outbox WHERE event_type = 'exchange.enclave.access_refused' \
             AND subject = '{enclave_id}'"
        ))
        .await
    }

    pub fn is_postgres(&self) -> bool {
        self.db.get_database_backend() == DbBackend::Postgres
    }

    pub async fn create_enclave(&self, who: &Caller, name: &str) -> pb::Enclave {
        self.api
            .create_enclave(as_caller(
                who,
                pb::CreateEnclaveRequest {
                    request_id: Uuid::new_v4().to_string(),
                    name: name.into(),
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .enclave
            .unwrap()
    }

    /// `people(id bigint key, name text, region_code text, income numeric
    /// null)`.
    pub async fn create_people(
        &self,
        who: &Caller,
        enclave_id: &str,
    ) -> Result<pb::EnclaveTable, Status> {
        self.api
            .create_enclave_table(as_caller(who, people_table(enclave_id)))
            .await
            .map(|r| r.into_inner().table.unwrap())
    }

    pub async fn write(
        &self,
        who: &Caller,
        enclave_id: &str,
        upserts: Vec<pb::EnclaveRow>,
        deletes: Vec<pb::EnclaveRow>,
    ) -> Result<pb::WriteEnclaveRowsResponse, Status> {
        self.write_as(
            who,
            enclave_id,
            &Uuid::new_v4().to_string(),
            upserts,
            deletes,
        )
        .await
    }

    pub async fn write_as(
        &self,
        who: &Caller,
        enclave_id: &str,
        request_id: &str,
        upserts: Vec<pb::EnclaveRow>,
        deletes: Vec<pb::EnclaveRow>,
    ) -> Result<pb::WriteEnclaveRowsResponse, Status> {
        self.api
            .write_enclave_rows(as_caller(
                who,
                pb::WriteEnclaveRowsRequest {
                    request_id: request_id.into(),
                    enclave_id: enclave_id.into(),
                    table: "people".into(),
                    upserts,
                    deletes,
                },
            ))
            .await
            .map(|r| r.into_inner())
    }

    pub async fn query(
        &self,
        who: &Caller,
        enclave_id: &str,
        table: &str,
        filter: Option<common::RowFilter>,
        page_size: i32,
        page_token: &str,
    ) -> Result<pb::QueryEnclaveRowsResponse, Status> {
        self.api
            .query_enclave_rows(as_caller(
                who,
                pb::QueryEnclaveRowsRequest {
                    page: Some(common::PageRequest {
                        page_size,
                        page_token: page_token.into(),
                    }),
                    enclave_id: enclave_id.into(),
                    table: table.into(),
                    row_filter: filter,
                    columns: vec![],
                },
            ))
            .await
            .map(|r| r.into_inner())
    }

    /// Every row of a table, following page tokens.
    pub async fn all_rows(
        &self,
        who: &Caller,
        enclave_id: &str,
        table: &str,
    ) -> Vec<pb::EnclaveRow> {
        let mut rows = Vec::new();
        let mut token = String::new();
        loop {
            let page = self
                .query(who, enclave_id, table, None, 1000, &token)
                .await
                .unwrap();
            rows.extend(page.rows);
            token = page.page.unwrap().next_page_token;
            if token.is_empty() {
                return rows;
            }
        }
    }
}

async fn connect(url: &str) -> DatabaseConnection {
    let config = StoreConfig {
        url: url.to_string(),
        ..StoreConfig::default()
    };
    zhongtai_store::connect(&config).await.unwrap()
}

impl Drop for TestEnclaves {
    /// Roles are cluster-wide and outlive the test database: drop the
    /// enclaves' roles (and the test's login roles) while the database that
    /// holds their privileges still exists.
    fn drop(&mut self) {
        let Some(url) = self.superuser_url.clone() else {
            return;
        };
        let login_roles = self.login_roles.clone();
        let sweeper = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                let Ok(db) = sea_orm::Database::connect(url.as_str()).await else {
                    return;
                };
                let ids = db
                    .query_all_raw(Statement::from_string(
                        DbBackend::Postgres,
                        "SELECT id FROM enclaves",
                    ))
                    .await
                    .unwrap_or_default();
                let mut roles: Vec<String> = ids
                    .iter()
                    .filter_map(|row| row.try_get_by_index::<String>(0).ok())
                    .filter_map(|id| Uuid::parse_str(&id).ok())
                    .map(|id| format!("enclave_{}", id.simple()))
                    .collect();
                roles.extend(login_roles);
                for role in roles {
                    let exists = db
                        .query_one_raw(Statement::from_string(
                            DbBackend::Postgres,
                            format!("SELECT 1 FROM pg_roles WHERE rolname = '{role}'"),
                        ))
                        .await
                        .ok()
                        .flatten()
                        .is_some();
                    if exists {
                        let _ = db
                            .execute_unprepared(&format!("DROP OWNED BY \"{role}\" CASCADE"))
                            .await;
                        let _ = db
                            .execute_unprepared(&format!("DROP ROLE IF EXISTS \"{role}\""))
                            .await;
                    }
                }
                let _ = db.close().await;
            });
        });
        let _ = sweeper.join();
    }
}

pub fn caller(key: &str) -> Caller {
    Caller::new(
        format!("user-of-{key}"),
        TenantId::from_key(key).unwrap(),
        &[Role::Admin],
    )
}

pub fn tenant(key: &str) -> TenantId {
    TenantId::from_key(key).unwrap()
}

pub fn tenant_message(key: &str) -> common::Tenant {
    zhongtai_kit::proto::tenant_message(&tenant(key))
}

pub fn as_caller<T>(who: &Caller, message: T) -> Request<T> {
    acting_as(Request::new(message), who.clone())
}

pub fn people_table(enclave_id: &str) -> pb::CreateEnclaveTableRequest {
    let column = |name: &str, t: pb::EnclaveColumnType, nullable: bool| pb::EnclaveColumn {
        name: name.into(),
        r#type: t as i32,
        nullable,
    };
    pb::CreateEnclaveTableRequest {
        enclave_id: enclave_id.into(),
        name: "people".into(),
        columns: vec![
            column("id", pb::EnclaveColumnType::Bigint, false),
            column("name", pb::EnclaveColumnType::Text, false),
            column("region_code", pb::EnclaveColumnType::Text, false),
            column("income", pb::EnclaveColumnType::Numeric, true),
        ],
        key_columns: vec!["id".into()],
    }
}

pub fn value(name: &str, value: PbValue) -> pb::ColumnValue {
    pb::ColumnValue {
        name: name.into(),
        value: Some(value),
        unchanged: false,
    }
}

pub fn person(id: i64, name: &str, region: &str) -> pb::EnclaveRow {
    pb::EnclaveRow {
        columns: vec![
            value("id", PbValue::IntValue(id)),
            value("name", PbValue::StringValue(name.into())),
            value("region_code", PbValue::StringValue(region.into())),
            value("income", PbValue::NumericValue(format!("{id}000.50"))),
        ],
    }
}

pub fn key(id: i64) -> pb::EnclaveRow {
    pb::EnclaveRow {
        columns: vec![value("id", PbValue::IntValue(id))],
    }
}

/// The `id` column of each row.
pub fn ids(rows: &[pb::EnclaveRow]) -> Vec<i64> {
    rows.iter()
        .map(|row| {
            row.columns
                .iter()
                .find(|c| c.name == "id")
                .and_then(|c| match c.value {
                    Some(PbValue::IntValue(i)) => Some(i),
                    _ => None,
                })
                .unwrap()
        })
        .collect()
}

/// The text value of `column` in `row`.
pub fn text_of(row: &pb::EnclaveRow, column: &str) -> Option<String> {
    row.columns
        .iter()
        .find(|c| c.name == column)
        .and_then(|c| match &c.value {
            Some(PbValue::StringValue(s)) => Some(s.clone()),
            _ => None,
        })
}

pub fn within(field: &str, division: &str) -> common::RowFilter {
    common::RowFilter {
        conditions: vec![common::RowCondition {
            field: field.into(),
            operator: common::RowOperator::WithinDivision as i32,
            values: vec![division.into()],
        }],
    }
}

/// The fields named in an INVALID_ARGUMENT's violations.
pub fn violated_fields(status: &Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status
        .get_error_details()
        .bad_request()
        .map(|bad| {
            bad.field_violations
                .iter()
                .map(|v| v.field.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// A subscription delivering into `enclave_id`'s `table` for `subscriber`.
pub fn enclave_subscription(subscriber: &str, enclave_id: &str, table: &str) -> Subscription {
    let now = Utc::now();
    Subscription {
        id: Uuid::new_v4(),
        line_id: Uuid::new_v4(),
        subscriber: tenant(subscriber),
        grant_id: None,
        queue: None,
        enclave: Some(EnclaveTarget {
            enclave_id: Uuid::parse_str(enclave_id).unwrap(),
            table: table.into(),
        }),
        state: SubscriptionState::Active,
        state_reason: String::new(),
        policy: DeliveryPolicy::default(),
        delivered_position: 0,
        created_at: now,
        updated_at: now,
    }
}

/// A provincial change of `public.residents(id)`.
pub fn resident_change(
    subscription: &Subscription,
    position: u64,
    operation: Operation,
    id: i64,
    name: &str,
) -> Change {
    let after = if operation == Operation::Delete {
        vec![]
    } else {
        vec![
            Column::new("id", Value::Int(id)),
            Column::new("name", Value::Text(name.into())),
            Column::new("region_code", Value::Text("331121".into())),
        ]
    };
    Change {
        line_id: subscription.line_id,
        position,
        index: 0,
        transaction_id: None,
        table: "public.residents".into(),
        operation,
        key: vec![Column::new("id", Value::Int(id))],
        before: vec![],
        after,
        hops: HopTimes {
            commit: Some(Utc::now()),
            capture: Some(Utc::now()),
            ..HopTimes::default()
        },
        subscription_id: Some(subscription.id),
        grant_id: None,
    }
}
