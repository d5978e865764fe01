//! Usage and the OpenAPI document over gRPC, answered from the
//! configuration in force (the same snapshot the front door enforces) and
//! the shared limit counters.

use chrono::Utc;
use sha2::Digest as _;
use tonic::{Request, Response, Status};
use zhongtai_contracts::gateway::v1 as pb;
use zhongtai_kit::auth::caller;
use zhongtai_kit::proto::timestamp;
use zhongtai_kit::{ApiError, Caller, TenantId, Validator};

use crate::domain::{App, CapabilityName, QuotaWindow};
use crate::front::SnapshotCell;
use crate::front::builtin::app_usage;
use crate::limits::SharedLimits;
use crate::transcode::{OpenApiFormat, openapi_document};

/// `GetUsage` and `GetOpenApiDocument`.
pub struct UsageApi {
    snapshot: SnapshotCell,
    limits: SharedLimits,
    platform_tenant: TenantId,
}

impl UsageApi {
    pub fn new(snapshot: SnapshotCell, limits: SharedLimits, platform_tenant: TenantId) -> Self {
        Self {
            snapshot,
            limits,
            platform_tenant,
        }
    }

    pub async fn get_usage(
        &self,
        request: Request<pb::GetUsageRequest>,
    ) -> Result<Response<pb::GetUsageResponse>, Status> {
        let caller = caller(&request)?.clone();
        let request = request.into_inner();
        let mut v = Validator::new();
        let app_id = if request.app_id.is_empty() {
            caller.subject.strip_prefix("app:").map(str::to_string)
        } else {
            Some(request.app_id.clone())
        };
        let app_id = match app_id {
            Some(id) => v.parse("app_id", uuid::Uuid::parse_str(&id)),
            None => {
                v.violation("app_id", "required unless an app asks about itself");
                None
            }
        };
        let capability = if request.capability.is_empty() {
            None
        } else {
            v.parse("capability", CapabilityName::parse(&request.capability))
        };
        v.finish()?;
        let Some(app_id) = app_id else {
            return Err(ApiError::invalid_field("app_id", "required").into());
        };
        let snapshot = self.snapshot.get();
        let app = snapshot
            .app(&app_id)
            .filter(|app| self.may_see(&caller, app))
            .ok_or_else(|| ApiError::not_found("app", &app_id.to_string()))?
            .clone();
        let usages = app_usage(
            &snapshot,
            &self.limits,
            &app,
            capability.as_ref(),
            Utc::now(),
        )
        .await
        .map_err(ApiError::from)?;
        Ok(Response::new(pb::GetUsageResponse {
            usages: usages
                .into_iter()
                .map(|(capability, standing)| pb::QuotaUsage {
                    capability: capability.as_str().to_string(),
                    window: match standing.window {
                        QuotaWindow::Day => pb::QuotaWindow::Day,
                        QuotaWindow::Month => pb::QuotaWindow::Month,
                    } as i32,
                    window_start_time: Some(timestamp(standing.window_start)),
                    window_end_time: Some(timestamp(standing.window_end)),
                    used: i64::try_from(standing.used).unwrap_or(i64::MAX),
                    limit: i64::try_from(standing.limit).unwrap_or(i64::MAX),
                    remaining: i64::try_from(standing.remaining).unwrap_or(i64::MAX),
                })
                .collect(),
        }))
    }

    pub async fn get_open_api_document(
        &self,
        request: Request<pb::GetOpenApiDocumentRequest>,
    ) -> Result<Response<pb::GetOpenApiDocumentResponse>, Status> {
        let caller = caller(&request)?.clone();
        let request = request.into_inner();
        let format = match pb::OpenApiFormat::try_from(request.format) {
            Ok(pb::OpenApiFormat::Unspecified | pb::OpenApiFormat::Json) => OpenApiFormat::Json,
            Ok(pb::OpenApiFormat::Yaml) => OpenApiFormat::Yaml,
            Err(_) => {
                return Err(ApiError::invalid_field(
                    "format",
                    format!("{} is not a document format", request.format),
                )
                .into());
            }
        };
        let snapshot = self.snapshot.get();
        let only_for = if request.app_id.is_empty() {
            None
        } else {
            let id = uuid::Uuid::parse_str(&request.app_id)
                .map_err(|_| ApiError::invalid_field("app_id", "must be a UUID"))?;
            Some(
                snapshot
                    .app(&id)
                    .filter(|app| self.may_see(&caller, app))
                    .ok_or_else(|| ApiError::not_found("app", &request.app_id))?
                    .clone(),
            )
        };
        let capabilities: Vec<_> = snapshot
            .capabilities()
            .filter(|capability| {
                only_for
                    .as_ref()
                    .is_none_or(|app| app.allowed_capabilities.contains(&capability.name))
            })
            .cloned()
            .collect();
        let document = openapi_document(&capabilities, format, None)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let etag = hex::encode(&sha2::Sha256::digest(document.as_bytes())[..16]);
        let update_time = capabilities.iter().map(|c| c.updated_at).max();
        Ok(Response::new(pb::GetOpenApiDocumentResponse {
            media_type: match format {
                OpenApiFormat::Json => "application/json",
                OpenApiFormat::Yaml => "application/yaml",
            }
            .to_string(),
            document,
            etag: format!("\"{etag}\""),
            update_time: update_time.map(timestamp),
        }))
    }

    /// Platform callers see every app; others the apps their tenant
    /// sponsors (or may read), and an app itself.
    fn may_see(&self, caller: &Caller, app: &App) -> bool {
        caller.tenant == self.platform_tenant
            || caller.read_scope().permits(&app.sponsor)
            || caller.subject == format!("app:{}", app.id)
    }
}
