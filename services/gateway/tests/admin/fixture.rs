//! One admin plane over a fresh database, and the callers that use it.

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tonic::{Code, Request, Status};
use zhongtai_contracts::common::v1::{Organization, Tenant};
use zhongtai_contracts::gateway::v1 as pb;
use zhongtai_credential::KeySealer;
use zhongtai_gateway::admin::{AppsApi, CapabilitiesApi, CredentialsApi, PoliciesApi};
use zhongtai_gateway::domain::{AdminAccess, AppRepository};
use zhongtai_gateway::migration::Migrator;
use zhongtai_gateway::store::{SeaApps, SeaCapabilities, SeaConfig, SeaCredentials, SeaPolicies};
use zhongtai_kit::{Caller, Role, TenantId};
use zhongtai_store::StoreConfig;
use zhongtai_testkit::TestDatabase;

pub const PLATFORM: &str = "330000/big-data-bureau";
pub const CITY: &str = "331100/housing-fund";
pub const OTHER_CITY: &str = "330100/housing-fund";
pub const SEALING_KEY: [u8; 32] = [7; 32];

/// The four admin APIs and the configuration source over one database.
pub struct Plane {
    pub db: DatabaseConnection,
    pub apps: AppsApi,
    pub credentials: CredentialsApi,
    pub capabilities: CapabilitiesApi,
    pub policies: PoliciesApi,
    pub config: SeaConfig,
    /// Keeps a PostgreSQL test database alive.
    _database: Option<TestDatabase>,
}

/// Where a scenario runs.
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Plane {
    pub async fn on(engine: Engine) -> Self {
        let (url, database) = match engine {
            Engine::Sqlite => ("sqlite::memory:".to_string(), None),
            Engine::Postgres => {
                let database = TestDatabase::create().await;
                (database.url().to_string(), Some(database))
            }
        };
        let db = zhongtai_store::connect(&StoreConfig {
            url,
            ..StoreConfig::default()
        })
        .await
        .unwrap();
        zhongtai_store::migrate::<Migrator>(&db).await.unwrap();
        let access = AdminAccess::new(TenantId::from_key(PLATFORM).unwrap());
        let apps: Arc<dyn AppRepository> = Arc::new(SeaApps::new(db.clone()));
        let sealer = Arc::new(KeySealer::new(&SEALING_KEY).unwrap());
        Self {
            apps: AppsApi::new(apps.clone(), access.clone()),
            credentials: CredentialsApi::new(
                apps.clone(),
                Arc::new(SeaCredentials::new(db.clone())),
                access.clone(),
                Some(sealer.clone()),
            ),
            capabilities: CapabilitiesApi::new(
                Arc::new(SeaCapabilities::new(db.clone())),
                access.clone(),
            ),
            policies: PoliciesApi::new(apps, Arc::new(SeaPolicies::new(db.clone())), access),
            config: SeaConfig::new(db.clone(), sealer),
            db,
            _database: database,
        }
    }

    /// Registers an app sponsored by `sponsor`, as that tenant's admin.
    pub async fn app(&self, name: &str, sponsor: &str) -> pb::App {
        self.apps
            .register_app(as_admin(sponsor, register(name, sponsor, name)))
            .await
            .unwrap()
            .into_inner()
            .app
            .unwrap()
    }
}

pub fn register(request_id: &str, sponsor: &str, name: &str) -> pb::RegisterAppRequest {
    let tenant = TenantId::from_key(sponsor).unwrap();
    pb::RegisterAppRequest {
        request_id: request_id.into(),
        name: name.into(),
        owner: Some(Organization {
            name: "浙江某银行".into(),
            unified_social_credit_code: "91330000123456789X".into(),
        }),
        contact: Some(pb::Contact {
            name: "王工".into(),
            email: "ops@bank.example".into(),
            phone: "0571-88888888".into(),
        }),
        allowed_capabilities: vec!["certificate.verify".into()],
        sponsor: Some(Tenant {
            division_code: tenant.division.to_string(),
            department: tenant.department.unwrap_or_default(),
        }),
    }
}

/// `message` as sent by an admin of `tenant`.
pub fn as_admin<T>(tenant: &str, message: T) -> Request<T> {
    acting(tenant, Role::Admin, message)
}

/// `message` as sent by a viewer of `tenant`.
pub fn as_viewer<T>(tenant: &str, message: T) -> Request<T> {
    acting(tenant, Role::Viewer, message)
}

fn acting<T>(tenant: &str, role: Role, message: T) -> Request<T> {
    let caller = Caller::new(
        format!("{role}@{tenant}"),
        TenantId::from_key(tenant).unwrap(),
        &[role],
    );
    zhongtai_kit::auth::acting_as(Request::new(message), caller)
}

/// The fields an INVALID_ARGUMENT names.
pub fn violated_fields(status: &Status) -> Vec<String> {
    use tonic_types::StatusExt;
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status
        .get_details_bad_request()
        .map(|bad| bad.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}
