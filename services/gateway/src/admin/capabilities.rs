//! Capabilities over gRPC. They are platform-wide: readers may get and
//! list them, only platform admins change them. The rules are in
//! [`crate::domain::capability`].

use std::sync::Arc;
use std::time::Duration;

use tonic::{Request, Response, Status};
use zhongtai_contracts::gateway::v1 as pb;
use zhongtai_contracts::methods;
use zhongtai_kit::audit_trail;
use zhongtai_kit::auth::{caller, denied};
use zhongtai_kit::proto::{page_query, page_response, timestamp};
use zhongtai_kit::{ApiError, Caller, Validator};

use super::apps::{collect, reject};
use crate::domain::app::check_request_id;
use crate::domain::capability::{
    self as rules, CapabilityField, MethodContract, apply_capability_update, check_capability,
};
use crate::domain::ports::now;
use crate::domain::{
    AdminAccess, BackendMethod, BodyBinding, Capability, CapabilityFilter, CapabilityName,
    CapabilityPriority, CapabilityRepository, DEFAULT_TIMEOUT, GatewayError, HttpMethod, HttpRoute,
};

/// The capability RPCs of the admin plane.
pub struct CapabilitiesApi {
    capabilities: Arc<dyn CapabilityRepository>,
    access: AdminAccess,
}

impl CapabilitiesApi {
    /// Capability RPCs over `capabilities`; `access` names the platform admins.
    pub fn new(capabilities: Arc<dyn CapabilityRepository>, access: AdminAccess) -> Self {
        Self {
            capabilities,
            access,
        }
    }

    /// CreateCapability: a new unpublished version, idempotent on request_id.
    pub async fn create_capability(
        &self,
        request: Request<pb::CreateCapabilityRequest>,
    ) -> Result<Response<pb::CreateCapabilityResponse>, Status> {
        let caller = self.platform_admin(&request)?;
        let request = request.into_inner();
        let mut v = Validator::new();
        for (field, problem) in check_request_id("request_id", &request.request_id) {
            v.violation(field, problem);
        }
        let message = request
            .capability
            .ok_or_else(|| ApiError::invalid_field("capability", "is required"))?;
        let at = now();
        let capability = collect(&mut v, capability_from_message(&message, at));
        v.finish()?;
        let Some(capability) = capability else {
            return Err(ApiError::invalid_field("capability", "is invalid").into());
        };
        validate(&capability)?;
        let audit = audit_trail::allowed(&caller, "gateway.capability.create", target(&capability));
        let stored = self
            .capabilities
            .create(&capability, &request.request_id, &audit)
            .await?;
        Ok(Response::new(pb::CreateCapabilityResponse {
            capability: Some(capability_message(&stored)),
        }))
    }

    /// GetCapability: one version, or the highest published one.
    pub async fn get_capability(
        &self,
        request: Request<pb::GetCapabilityRequest>,
    ) -> Result<Response<pb::GetCapabilityResponse>, Status> {
        caller(&request)?;
        let request = request.into_inner();
        let name = parse_name(&request.name)?;
        let capability = if request.version.is_empty() {
            let versions = self.capabilities.versions(&name).await?;
            rules::highest_published(&versions)
                .cloned()
                .ok_or_else(|| GatewayError::NotFound {
                    kind: "published capability",
                    id: name.to_string(),
                })?
        } else {
            self.existing(&name, &request.version).await?
        };
        Ok(Response::new(pb::GetCapabilityResponse {
            capability: Some(capability_message(&capability)),
        }))
    }

    /// ListCapabilities: by name and version.
    pub async fn list_capabilities(
        &self,
        request: Request<pb::ListCapabilitiesRequest>,
    ) -> Result<Response<pb::ListCapabilitiesResponse>, Status> {
        caller(&request)?;
        let request = request.into_inner();
        let page = page_query(request.page.as_ref())?;
        let backend_service = match request.backend_service.as_str() {
            "" => None,
            service if service.len() <= 63 => Some(service.to_string()),
            _ => {
                return Err(ApiError::invalid_field(
                    "backend_service",
                    "must be at most 63 characters",
                )
                .into());
            }
        };
        let filter = CapabilityFilter {
            published_only: request.published_only,
            backend_service,
        };
        let page = self.capabilities.list(&filter, &page).await?;
        Ok(Response::new(pb::ListCapabilitiesResponse {
            capabilities: page.items.iter().map(capability_message).collect(),
            page: Some(page_response(page.next_page_token)),
        }))
    }

    /// UpdateCapability: the masked fields, guarded by the revision.
    pub async fn update_capability(
        &self,
        request: Request<pb::UpdateCapabilityRequest>,
    ) -> Result<Response<pb::UpdateCapabilityResponse>, Status> {
        let caller = self.platform_admin(&request)?;
        let request = request.into_inner();
        let message = request
            .capability
            .ok_or_else(|| ApiError::invalid_field("capability", "is required"))?;
        let name = parse_name(&message.name)?;
        let mut v = Validator::new();
        let paths = request
            .update_mask
            .map(|mask| mask.paths)
            .unwrap_or_default();
        if paths.is_empty() {
            v.violation("update_mask", "must name at least one field to change");
        }
        let fields: Vec<CapabilityField> = paths
            .iter()
            .filter_map(|path| {
                let field = CapabilityField::from_path(path);
                if field.is_none() {
                    v.violation("update_mask", format!("`{path}` cannot be changed"));
                }
                field
            })
            .collect();
        v.finish()?;
        let current = self.existing(&name, &message.version).await?;
        if message.revision != current.revision {
            return Err(GatewayError::VersionConflict {
                kind: "capability",
                id: format!("{name} {}", current.version),
            }
            .into());
        }
        // Unmasked fields keep their stored values, whatever the request holds.
        let mut merged = capability_message(&current);
        for field in &fields {
            match field {
                CapabilityField::Title => merged.title = message.title.clone(),
                CapabilityField::Description => merged.description = message.description.clone(),
                CapabilityField::Http => merged.http = message.http.clone(),
                CapabilityField::Backend => merged.backend = message.backend.clone(),
                CapabilityField::Timeout => merged.timeout = message.timeout,
                CapabilityField::Idempotent => merged.idempotent = message.idempotent,
                CapabilityField::Priority => merged.priority = message.priority,
                CapabilityField::ConsentRequired => {
                    merged.consent_required = message.consent_required;
                }
            }
        }
        let requested = capability_from_message(&merged, current.created_at)
            .map_err(ApiError::invalid_fields)?;
        let next = apply_capability_update(&current, &requested, &fields, now());
        validate(&next)?;
        let audit = audit_trail::allowed(&caller, "gateway.capability.update", target(&next));
        let saved = self
            .capabilities
            .save(&next, current.revision, &audit)
            .await?;
        Ok(Response::new(pb::UpdateCapabilityResponse {
            capability: Some(capability_message(&saved)),
        }))
    }

    /// PublishCapability: integrators allowed to call it can.
    pub async fn publish_capability(
        &self,
        request: Request<pb::PublishCapabilityRequest>,
    ) -> Result<Response<pb::PublishCapabilityResponse>, Status> {
        let caller = self.platform_admin(&request)?;
        let request = request.into_inner();
        let capability = self
            .set_published(&caller, &request.name, &request.version, true)
            .await?;
        Ok(Response::new(pb::PublishCapabilityResponse {
            capability: Some(capability_message(&capability)),
        }))
    }

    /// UnpublishCapability: calls are refused.
    pub async fn unpublish_capability(
        &self,
        request: Request<pb::UnpublishCapabilityRequest>,
    ) -> Result<Response<pb::UnpublishCapabilityResponse>, Status> {
        let caller = self.platform_admin(&request)?;
        let request = request.into_inner();
        let capability = self
            .set_published(&caller, &request.name, &request.version, false)
            .await?;
        Ok(Response::new(pb::UnpublishCapabilityResponse {
            capability: Some(capability_message(&capability)),
        }))
    }

    /// DeleteCapability: only an unpublished version.
    pub async fn delete_capability(
        &self,
        request: Request<pb::DeleteCapabilityRequest>,
    ) -> Result<Response<pb::DeleteCapabilityResponse>, Status> {
        let caller = self.platform_admin(&request)?;
        let request = request.into_inner();
        let name = parse_name(&request.name)?;
        let version = parse_version(&request.version)?;
        let audit = audit_trail::allowed(
            &caller,
            "gateway.capability.delete",
            format!("capability/{name}/{version}"),
        );
        self.capabilities.delete(&name, &version, &audit).await?;
        Ok(Response::new(pb::DeleteCapabilityResponse {}))
    }

    async fn set_published(
        &self,
        caller: &Caller,
        name: &str,
        version: &str,
        published: bool,
    ) -> Result<Capability, ApiError> {
        let name = parse_name(name)?;
        let current = self.existing(&name, version).await?;
        if current.published == published {
            return Ok(current);
        }
        let mut next = current.clone();
        next.published = published;
        next.revision += 1;
        next.updated_at = now();
        let action = if published {
            "gateway.capability.publish"
        } else {
            "gateway.capability.unpublish"
        };
        let audit = audit_trail::allowed(caller, action, target(&next));
        Ok(self
            .capabilities
            .save(&next, current.revision, &audit)
            .await?)
    }

    async fn existing(&self, name: &CapabilityName, version: &str) -> Result<Capability, ApiError> {
        let version = parse_version(version)?;
        Ok(self
            .capabilities
            .get(name, &version)
            .await?
            .ok_or_else(|| GatewayError::NotFound {
                kind: "capability",
                id: format!("{name} {version}"),
            })?)
    }

    fn platform_admin<T>(&self, request: &Request<T>) -> Result<Caller, ApiError> {
        let caller = caller(request)?;
        if self.access.is_platform_admin(&caller) {
            return Ok(caller);
        }
        Err(denied(
            "PLATFORM_ADMIN_REQUIRED",
            "capability",
            format!(
                "{} acts for tenant {}; only the platform operator's admins change capabilities",
                caller.subject, caller.tenant
            ),
        ))
    }
}

/// Every rule at once: the capability's own fields, what the contracts say
/// about its method, and whether the route can serve that method.
fn validate(capability: &Capability) -> Result<(), ApiError> {
    let mut problems = check_capability(capability, contract_of(&capability.backend.grpc_method));
    let method_known = !problems
        .iter()
        .any(|(field, _)| field == "capability.backend.grpc_method");
    if method_known
        && let Err(route_problems) =
            crate::transcode::validate_route(&capability.backend.grpc_method, &capability.http)
    {
        // The transcoder names fields relative to the capability.
        problems.extend(route_problems.into_iter().map(|(field, problem)| {
            let field = if field.starts_with("capability.") {
                field
            } else {
                format!("capability.{field}")
            };
            (field, problem)
        }));
    }
    reject(problems)
}

fn contract_of(grpc_method: &str) -> MethodContract {
    match methods::all().find(|(path, _)| *path == grpc_method) {
        None => MethodContract::Unknown,
        Some((_, level)) if level.is_retryable() => MethodContract::Retryable,
        Some(_) => MethodContract::NotRetryable,
    }
}

fn parse_name(value: &str) -> Result<CapabilityName, ApiError> {
    CapabilityName::parse(value).map_err(|problem| ApiError::invalid_field("name", problem))
}

fn parse_version(value: &str) -> Result<String, ApiError> {
    rules::version_number(value)
        .map(|_| value.to_string())
        .map_err(|problem| ApiError::invalid_field("version", problem))
}

fn target(capability: &Capability) -> String {
    format!("capability/{}/{}", capability.name, capability.version)
}

/// A capability from its contract form (revision 1, unpublished, created at `at`).
fn capability_from_message(
    message: &pb::Capability,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<Capability, Vec<(String, String)>> {
    let mut problems = Vec::new();
    let name = CapabilityName::parse(&message.name)
        .map_err(|problem| problems.push(("capability.name".to_string(), problem)))
        .ok();
    let http = message.http.clone().unwrap_or_default();
    let method = match pb::HttpMethod::try_from(http.method) {
        Ok(pb::HttpMethod::Get) => Some(HttpMethod::Get),
        Ok(pb::HttpMethod::Post) => Some(HttpMethod::Post),
        Ok(pb::HttpMethod::Put) => Some(HttpMethod::Put),
        Ok(pb::HttpMethod::Patch) => Some(HttpMethod::Patch),
        Ok(pb::HttpMethod::Delete) => Some(HttpMethod::Delete),
        _ => {
            problems.push((
                "capability.http.method".to_string(),
                "must be GET, POST, PUT, PATCH or DELETE".to_string(),
            ));
            None
        }
    };
    let priority = match pb::CapabilityPriority::try_from(message.priority) {
        Ok(pb::CapabilityPriority::Unspecified | pb::CapabilityPriority::Normal) => {
            CapabilityPriority::Normal
        }
        Ok(pb::CapabilityPriority::Critical) => CapabilityPriority::Critical,
        Ok(pb::CapabilityPriority::Low) => CapabilityPriority::Low,
        Err(_) => {
            problems.push((
                "capability.priority".to_string(),
                format!("{} is not a priority", message.priority),
            ));
            CapabilityPriority::Normal
        }
    };
    let timeout = match &message.timeout {
        None => DEFAULT_TIMEOUT,
        Some(timeout) => Duration::try_from(*timeout).unwrap_or_else(|_| {
            problems.push((
                "capability.timeout".to_string(),
                "must be 1 ms..60 s".to_string(),
            ));
            DEFAULT_TIMEOUT
        }),
    };
    let backend = message.backend.clone().unwrap_or_default();
    match (name, method) {
        (Some(name), Some(method)) if problems.is_empty() => Ok(Capability {
            name,
            version: message.version.clone(),
            title: message.title.trim().to_string(),
            description: message.description.clone(),
            http: HttpRoute {
                method,
                template: http.route_template,
                body: BodyBinding::parse(&http.body),
            },
            backend: BackendMethod {
                service: backend.service,
                grpc_method: backend.grpc_method,
            },
            timeout,
            idempotent: message.idempotent,
            priority,
            published: false,
            consent_required: message.consent_required,
            revision: 1,
            created_at: at,
            updated_at: at,
        }),
        _ => Err(problems),
    }
}

/// The contract form of a capability.
pub fn capability_message(capability: &Capability) -> pb::Capability {
    pb::Capability {
        name: capability.name.to_string(),
        version: capability.version.clone(),
        title: capability.title.clone(),
        description: capability.description.clone(),
        http: Some(pb::HttpRoute {
            method: match capability.http.method {
                HttpMethod::Get => pb::HttpMethod::Get,
                HttpMethod::Post => pb::HttpMethod::Post,
                HttpMethod::Put => pb::HttpMethod::Put,
                HttpMethod::Patch => pb::HttpMethod::Patch,
                HttpMethod::Delete => pb::HttpMethod::Delete,
            } as i32,
            route_template: capability.http.template.clone(),
            body: capability.http.body.as_str().to_string(),
        }),
        backend: Some(pb::BackendMethod {
            service: capability.backend.service.clone(),
            grpc_method: capability.backend.grpc_method.clone(),
        }),
        timeout: prost_types::Duration::try_from(capability.timeout).ok(),
        idempotent: capability.idempotent,
        priority: match capability.priority {
            CapabilityPriority::Critical => pb::CapabilityPriority::Critical,
            CapabilityPriority::Normal => pb::CapabilityPriority::Normal,
            CapabilityPriority::Low => pb::CapabilityPriority::Low,
        } as i32,
        published: capability.published,
        consent_required: capability.consent_required,
        revision: capability.revision,
        create_time: Some(timestamp(capability.created_at)),
        update_time: Some(timestamp(capability.updated_at)),
    }
}
