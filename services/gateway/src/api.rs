//! gRPC admin API of the gateway: translates contract messages to domain
//! values and back. No rules and no storage here.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use zhongtai_contracts::gateway::v1 as pb;
use zhongtai_contracts::gateway::v1::gateway_admin_service_server::GatewayAdminService;
use zhongtai_kit::auth::caller;
use zhongtai_kit::proto::{page_query, page_response, tenant_message, timestamp};
use zhongtai_kit::{ApiError, Validator};

use crate::domain::{App, AppFilter, AppRepository, AppState, CapabilityName};

/// The `zhongtai.gateway.v1.GatewayAdminService` implementation.
pub struct GatewayAdminApi {
    apps: Arc<dyn AppRepository>,
}

impl GatewayAdminApi {
    pub fn new(apps: Arc<dyn AppRepository>) -> Self {
        Self { apps }
    }
}

#[tonic::async_trait]
impl GatewayAdminService for GatewayAdminApi {
    async fn list_apps(
        &self,
        request: Request<pb::ListAppsRequest>,
    ) -> Result<Response<pb::ListAppsResponse>, Status> {
        let scope = caller(&request)?.read_scope();
        let request = request.into_inner();
        let page = page_query(request.page.as_ref())?;
        let filter = app_filter(&request)?;
        let page = self.apps.list(&scope, &filter, &page).await?;
        Ok(Response::new(pb::ListAppsResponse {
            apps: page.items.iter().map(app_message).collect(),
            page: Some(page_response(page.next_page_token)),
        }))
    }
}

fn app_filter(request: &pb::ListAppsRequest) -> Result<AppFilter, ApiError> {
    let mut v = Validator::new();
    let state = match pb::AppState::try_from(request.state) {
        Ok(pb::AppState::Unspecified) => None,
        Ok(pb::AppState::Active) => Some(AppState::Active),
        Ok(pb::AppState::Disabled) => Some(AppState::Disabled),
        Err(_) => {
            v.violation("state", format!("{} is not an app state", request.state));
            None
        }
    };
    let capability = if request.capability.is_empty() {
        None
    } else {
        v.parse("capability", CapabilityName::parse(&request.capability))
    };
    v.finish()?;
    Ok(AppFilter { state, capability })
}

/// The contract form of an app (the parts the gateway stores so far).
pub fn app_message(app: &App) -> pb::App {
    pb::App {
        id: app.id.to_string(),
        name: app.name.clone(),
        allowed_capabilities: app
            .allowed_capabilities
            .iter()
            .map(|name| name.as_str().to_string())
            .collect(),
        state: match app.state {
            AppState::Active => pb::AppState::Active,
            AppState::Disabled => pb::AppState::Disabled,
        } as i32,
        sponsor: Some(tenant_message(&app.sponsor)),
        version: app.version,
        create_time: Some(timestamp(app.created_at)),
        update_time: Some(timestamp(app.updated_at)),
        ..pb::App::default()
    }
}
