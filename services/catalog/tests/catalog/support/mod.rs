//! Shared by the catalog's handler tests: a migrated database (PostgreSQL
//! or SQLite), the API over the real store with a test double of the
//! approval center, callers of several tenants, and sample resources.

#![allow(dead_code)] // test helpers; not every test uses every one

pub mod requests;

use std::sync::{Arc, Mutex};

use sea_orm::{ConnectionTrait, DatabaseConnection};
use tonic::{Code, Request, Status};
use tonic_types::StatusExt;
use zhongtai_catalog::api::CatalogApi;
use zhongtai_catalog::domain::Catalog;
use zhongtai_catalog::domain::ports::{AccessReview, ReviewError, ReviewSubmission};
use zhongtai_catalog::migration::Migrator;
use zhongtai_catalog::store::SeaStore;
use zhongtai_contracts::catalog::v1 as pb;
use zhongtai_contracts::catalog::v1::catalog_service_server::CatalogService;
use zhongtai_contracts::common::v1::{MaskingKind, MaskingRule, Tenant};
use zhongtai_kit::auth::Credential;
use zhongtai_kit::config::CatalogConfig;
use zhongtai_kit::{Caller, Role, TenantId};
use zhongtai_store::StoreConfig;
use zhongtai_testkit::TestDatabase;

pub const CIVIL_AFFAIRS: &str = "331100/civil-affairs";
pub const HOUSING_FUND: &str = "331100/housing-fund";
pub const DATA_BUREAU: &str = "331100/data-bureau";
pub const OTHER_CITY: &str = "330100/market-regulation";

/// Where a test's catalog keeps its data; PostgreSQL databases are
/// dropped with it.
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

/// The catalog over a fresh database, with the approval center replaced by
/// [`FakeReview`].
pub struct TestCatalog {
    _backend: Backend,
    pub db: DatabaseConnection,
    pub api: CatalogApi,
    pub catalog: Catalog,
    pub review: Arc<FakeReview>,
}

impl TestCatalog {
    pub async fn on(backend: Backend) -> Self {
        zhongtai_testkit::init_tracing();
        let config = StoreConfig {
            url: backend.url(),
            ..StoreConfig::default()
        };
        let db = zhongtai_store::connect(&config).await.unwrap();
        zhongtai_store::migrate::<Migrator>(&db).await.unwrap();
        let store = Arc::new(SeaStore::new(
            db.clone(),
            Arc::new(tokio::sync::Notify::new()),
        ));
        let review = Arc::new(FakeReview::default());
        let catalog = Catalog::new(store, review.clone(), CatalogConfig::default());
        Self {
            _backend: backend,
            db,
            api: CatalogApi::new(catalog.clone()),
            catalog,
            review,
        }
    }

    pub async fn postgres() -> Self {
        Self::on(Backend::postgres().await).await
    }

    pub async fn sqlite() -> Self {
        Self::on(Backend::Sqlite).await
    }

    /// Rows of `table` (optionally with a `WHERE …` tail).
    pub async fn count(&self, table: &str) -> i64 {
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap()
    }

    /// Outbox events of `event_type`.
    pub async fn events(&self, event_type: &str) -> i64 {
        self.count(&format!("event_outbox WHERE event_type = '{event_type}'"))
            .await
    }

    /// A table dump, to show that a refused call changed nothing.
    pub async fn snapshot(&self) -> Vec<i64> {
        let mut counts = Vec::new();
        for table in [
            "resources",
            "resource_versions",
            "search_terms",
            "resource_tags",
            "access_requests",
            "grants",
            "event_outbox",
            "audit_log",
        ] {
            counts.push(self.count(table).await);
        }
        counts
    }

    /// Registers `resource` as `caller`.
    pub async fn register(&self, caller: &Caller, resource: pb::Resource) -> pb::Resource {
        self.api
            .register_resource(acting(
                caller,
                pb::RegisterResourceRequest {
                    request_id: uuid::Uuid::new_v4().to_string(),
                    resource: Some(resource),
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .resource
            .unwrap()
    }
}

/// What the approval-center double does when asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReviewMode {
    #[default]
    Accept,
    Unavailable,
    NoItem,
}

/// The approval center, as far as the catalog sees it: records what it was
/// asked and answers as configured.
#[derive(Default)]
pub struct FakeReview {
    pub mode: Mutex<ReviewMode>,
    pub submissions: Mutex<Vec<ReviewSubmission>>,
    pub recalls: Mutex<Vec<(String, String)>>,
}

impl FakeReview {
    pub fn set_mode(&self, mode: ReviewMode) {
        *self.mode.lock().unwrap() = mode;
    }

    pub fn submitted(&self) -> Vec<ReviewSubmission> {
        self.submissions.lock().unwrap().clone()
    }

    /// The application id the double gives a request.
    pub fn application_for(access_request_id: &str) -> String {
        format!("app-{access_request_id}")
    }
}

#[async_trait::async_trait]
impl AccessReview for FakeReview {
    async fn submit(
        &self,
        _credential: Option<&Credential>,
        submission: &ReviewSubmission,
    ) -> Result<String, ReviewError> {
        let mode = *self.mode.lock().unwrap();
        match mode {
            ReviewMode::Unavailable => Err(ReviewError::Unavailable("approval is down".into())),
            ReviewMode::NoItem => Err(ReviewError::ItemNotFound),
            ReviewMode::Accept => {
                self.submissions.lock().unwrap().push(submission.clone());
                Ok(Self::application_for(&submission.request.id.to_string()))
            }
        }
    }

    async fn recall(
        &self,
        _credential: Option<&Credential>,
        application_id: &str,
        request_id: &str,
        _reason: &str,
    ) -> Result<(), ReviewError> {
        self.recalls
            .lock()
            .unwrap()
            .push((application_id.to_string(), request_id.to_string()));
        Ok(())
    }
}

pub fn tenant(key: &str) -> Tenant {
    let (division, department) = key.split_once('/').unwrap_or((key, ""));
    Tenant {
        division_code: division.into(),
        department: department.into(),
    }
}

pub fn caller(key: &str, roles: &[Role]) -> Caller {
    Caller::new(
        format!("user-of-{key}"),
        TenantId::from_key(key).unwrap(),
        roles,
    )
}

pub fn operator(key: &str) -> Caller {
    caller(key, &[Role::Operator, Role::Viewer])
}

/// `message` as the access layer hands it to a handler for `caller`.
pub fn acting<T>(caller: &Caller, message: T) -> Request<T> {
    zhongtai_kit::auth::acting_as(Request::new(message), caller.clone())
}

pub fn field(name: &str, title: &str, sensitivity: pb::SensitivityLevel) -> pb::ResourceField {
    pb::ResourceField {
        name: name.into(),
        title: title.into(),
        r#type: pb::FieldType::String as i32,
        sensitivity: sensitivity as i32,
        ..Default::default()
    }
}

pub fn keep_last(n: i32) -> MaskingRule {
    MaskingRule {
        kind: MaskingKind::Partial as i32,
        keep_last: n,
        ..Default::default()
    }
}

/// Civil affairs' marriage registrations, shared under conditions.
pub fn marriage_registration() -> pb::Resource {
    use pb::SensitivityLevel::{HighlySensitive, Internal, Sensitive};
    let mut id_number = field("husband_id_number", "男方身份证号", HighlySensitive);
    id_number.default_masking = Some(keep_last(4));
    let mut registration_id = field("registration_id", "登记编号", Internal);
    registration_id.primary_key = true;
    let mut district = field("district_code", "登记机关区划", Internal);
    district.description = "办理登记的民政机关所在行政区划代码".into();
    pb::Resource {
        code: "marriage-registration".into(),
        title: "婚姻登记信息".into(),
        description: "民政部门办理的结婚、离婚登记记录".into(),
        fields: vec![
            registration_id,
            field("husband_name", "男方姓名", Sensitive),
            id_number,
            field("registration_date", "登记日期", Internal),
            district,
        ],
        layer: pb::ResourceLayer::Base as i32,
        sharing: pb::SharingAttribute::Conditional as i32,
        sharing_conditions: "仅用于法定职责".into(),
        open: pb::OpenAttribute::Closed as i32,
        update_frequency: pb::UpdateFrequency::RealTime as i32,
        source_table: "public.marriage_registration".into(),
        tags: vec!["民政".into(), "婚姻".into()],
        ..Default::default()
    }
}

/// A small resource with the given code, title and attributes.
pub fn simple_resource(code: &str, title: &str, sharing: pb::SharingAttribute) -> pb::Resource {
    pb::Resource {
        code: code.into(),
        title: title.into(),
        fields: vec![
            field("record_id", "记录编号", pb::SensitivityLevel::Internal),
            field("holder_name", "姓名", pb::SensitivityLevel::Sensitive),
        ],
        layer: pb::ResourceLayer::Raw as i32,
        sharing: sharing as i32,
        open: pb::OpenAttribute::Closed as i32,
        update_frequency: pb::UpdateFrequency::Daily as i32,
        ..Default::default()
    }
}

/// The request paths a refusal names.
pub fn violations(status: &Status) -> Vec<String> {
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

/// The denial reason a PERMISSION_DENIED status carries.
pub fn denial(status: &Status) -> String {
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    status
        .get_error_details()
        .error_info()
        .and_then(|info| info.metadata.get("denial").cloned())
        .unwrap_or_default()
}
