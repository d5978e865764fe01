//! Apps over gRPC: contract messages to domain values and back; the rules
//! are in [`crate::domain::app`], storage behind [`AppRepository`].

use std::sync::Arc;

use tonic::{Request, Response, Status};
use uuid::Uuid;
use zhongtai_contracts::gateway::v1 as pb;
use zhongtai_kit::audit_trail;
use zhongtai_kit::auth::{caller, denied};
use zhongtai_kit::proto::{page_query, page_response, tenant, tenant_message, timestamp};
use zhongtai_kit::{ApiError, Caller, Validator};

use crate::domain::app::{self as rules, AppField};
use crate::domain::ports::now;
use crate::domain::{
    AdminAccess, App, AppFilter, AppRepository, AppScope, AppState, CapabilityName, Contact,
    GatewayError, Owner,
};

/// The app RPCs of the admin plane.
pub struct AppsApi {
    apps: Arc<dyn AppRepository>,
    access: AdminAccess,
}

impl AppsApi {
    /// App RPCs over `apps`, with `access` deciding who reaches which app.
    pub fn new(apps: Arc<dyn AppRepository>, access: AdminAccess) -> Self {
        Self { apps, access }
    }
}

impl AppsApi {
    /// RegisterApp: a new ACTIVE app, idempotent on request_id.
    pub async fn register_app(
        &self,
        request: Request<pb::RegisterAppRequest>,
    ) -> Result<Response<pb::RegisterAppResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let mut v = Validator::new();
        for (field, problem) in rules::check_request_id("request_id", &request.request_id) {
            v.violation(field, problem);
        }
        let sponsor = v.parse("sponsor", tenant("sponsor", request.sponsor.as_ref()));
        let allowed = collect(
            &mut v,
            rules::parse_allowed_capabilities(
                "allowed_capabilities",
                &request.allowed_capabilities,
            ),
        );
        let at = now();
        let app = App {
            id: Uuid::new_v4(),
            name: request.name.trim().to_string(),
            owner: owner(request.owner.as_ref()),
            contact: contact(request.contact.as_ref()),
            state: AppState::Active,
            disabled_reason: String::new(),
            allowed_capabilities: allowed.unwrap_or_default(),
            sponsor: sponsor.clone().unwrap_or_else(|| caller.tenant.clone()),
            version: 1,
            created_at: at,
            updated_at: at,
        };
        for (field, problem) in rules::check_app_fields("", &app) {
            v.violation(field, problem);
        }
        v.finish()?;
        let scope = self.access.write_scope(&caller);
        self.may_sponsor(&caller, &scope, &app.sponsor)?;
        let audit = audit_trail::allowed(&caller, "gateway.app.register", target(app.id));
        let stored = self
            .apps
            .register(&app, &request.request_id, &audit)
            .await?;
        if !scope.permits(&stored.sponsor) {
            // The key was used for another tenant's app: not this caller's.
            return Err(ApiError::already_exists("request_id", &request.request_id).into());
        }
        Ok(Response::new(pb::RegisterAppResponse {
            app: Some(app_message(&stored)),
        }))
    }

    /// GetApp: one app the caller may see.
    pub async fn get_app(
        &self,
        request: Request<pb::GetAppRequest>,
    ) -> Result<Response<pb::GetAppResponse>, Status> {
        let caller = caller(&request)?;
        let id = parse_app_id("id", &request.get_ref().id)?;
        let app = self.visible(&self.access.read_scope(&caller), id).await?;
        Ok(Response::new(pb::GetAppResponse {
            app: Some(app_message(&app)),
        }))
    }

    /// UpdateApp: the masked fields, guarded by the version.
    pub async fn update_app(
        &self,
        request: Request<pb::UpdateAppRequest>,
    ) -> Result<Response<pb::UpdateAppResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let requested = request
            .app
            .ok_or_else(|| ApiError::invalid_field("app", "is required"))?;
        let id = parse_app_id("app.id", &requested.id)?;
        let mut v = Validator::new();
        let paths = request
            .update_mask
            .map(|mask| mask.paths)
            .unwrap_or_default();
        if paths.is_empty() {
            v.violation("update_mask", "must name at least one field to change");
        }
        let fields: Vec<AppField> = paths
            .iter()
            .filter_map(|path| {
                let field = AppField::from_path(path);
                if field.is_none() {
                    v.violation(
                        "update_mask",
                        format!(
                            "`{path}` cannot be changed (name, owner, contact, allowed_capabilities, sponsor)"
                        ),
                    );
                }
                field
            })
            .collect();
        let sponsor = if fields.contains(&AppField::Sponsor) {
            v.parse(
                "app.sponsor",
                tenant("app.sponsor", requested.sponsor.as_ref()),
            )
        } else {
            None
        };
        let allowed = if fields.contains(&AppField::AllowedCapabilities) {
            collect(
                &mut v,
                rules::parse_allowed_capabilities(
                    "app.allowed_capabilities",
                    &requested.allowed_capabilities,
                ),
            )
        } else {
            None
        };
        v.finish()?;

        let scope = self.access.write_scope(&caller);
        let current = self.visible(&scope, id).await?;
        if requested.version != current.version {
            return Err(GatewayError::VersionConflict {
                kind: "app",
                id: id.to_string(),
            }
            .into());
        }
        let wanted = App {
            name: requested.name.trim().to_string(),
            owner: owner(requested.owner.as_ref()),
            contact: contact(requested.contact.as_ref()),
            allowed_capabilities: allowed.unwrap_or_default(),
            sponsor: sponsor.unwrap_or_else(|| current.sponsor.clone()),
            ..current.clone()
        };
        let next = rules::apply_app_update(&current, &wanted, &fields, now());
        // Only what the mask changes is checked: apps registered before a
        // rule existed stay editable.
        reject(
            rules::check_app_fields("app.", &next)
                .into_iter()
                .filter(|(field, _)| masks(&fields, field))
                .collect(),
        )?;
        self.may_sponsor(&caller, &scope, &next.sponsor)?;
        let audit = audit_trail::allowed(&caller, "gateway.app.update", target(id));
        let saved = self.apps.save(&next, current.version, &audit).await?;
        Ok(Response::new(pb::UpdateAppResponse {
            app: Some(app_message(&saved)),
        }))
    }

    /// DisableApp: calls refused from the next request on; a reason is required.
    pub async fn disable_app(
        &self,
        request: Request<pb::DisableAppRequest>,
    ) -> Result<Response<pb::DisableAppResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let id = parse_app_id("id", &request.id)?;
        let current = self.visible(&self.access.write_scope(&caller), id).await?;
        let next =
            rules::disable(&current, &request.reason, now()).map_err(ApiError::invalid_fields)?;
        let audit = audit_trail::allowed(&caller, "gateway.app.disable", target(id))
            .with_reason(next.disabled_reason.clone());
        let saved = self.apps.save(&next, current.version, &audit).await?;
        Ok(Response::new(pb::DisableAppResponse {
            app: Some(app_message(&saved)),
        }))
    }

    /// EnableApp: a disabled app may call again.
    pub async fn enable_app(
        &self,
        request: Request<pb::EnableAppRequest>,
    ) -> Result<Response<pb::EnableAppResponse>, Status> {
        let caller = caller(&request)?;
        let id = parse_app_id("id", &request.get_ref().id)?;
        let current = self.visible(&self.access.write_scope(&caller), id).await?;
        if current.state == AppState::Active {
            return Ok(Response::new(pb::EnableAppResponse {
                app: Some(app_message(&current)),
            }));
        }
        let next = rules::enable(&current, now());
        let audit = audit_trail::allowed(&caller, "gateway.app.enable", target(id));
        let saved = self.apps.save(&next, current.version, &audit).await?;
        Ok(Response::new(pb::EnableAppResponse {
            app: Some(app_message(&saved)),
        }))
    }

    /// ListApps: the apps the caller may see, by id.
    pub async fn list_apps(
        &self,
        request: Request<pb::ListAppsRequest>,
    ) -> Result<Response<pb::ListAppsResponse>, Status> {
        let scope = self.access.read_scope(&caller(&request)?);
        let request = request.into_inner();
        let page = page_query(request.page.as_ref())?;
        let filter = app_filter(&request)?;
        let page = self.apps.list(&scope, &filter, &page).await?;
        Ok(Response::new(pb::ListAppsResponse {
            apps: page.items.iter().map(app_message).collect(),
            page: Some(page_response(page.next_page_token)),
        }))
    }

    /// The app `id` inside `scope`; NOT_FOUND for what the caller may not see.
    async fn visible(&self, scope: &AppScope, id: Uuid) -> Result<App, GatewayError> {
        self.apps
            .get(scope, id)
            .await?
            .ok_or_else(|| GatewayError::NotFound {
                kind: "app",
                id: id.to_string(),
            })
    }

    fn may_sponsor(
        &self,
        caller: &Caller,
        scope: &AppScope,
        sponsor: &zhongtai_kit::TenantId,
    ) -> Result<(), ApiError> {
        if scope.permits(sponsor) {
            return Ok(());
        }
        Err(denied(
            "TENANT_MISMATCH",
            format!("tenant/{sponsor}"),
            format!(
                "{} acts for tenant {} and may not sponsor apps for tenant {sponsor}",
                caller.subject, caller.tenant
            ),
        ))
    }
}

/// Whether a problem with `field` (`app.owner.name`, …) concerns one of
/// the masked `fields`.
fn masks(fields: &[AppField], field: &str) -> bool {
    let top = field
        .trim_start_matches("app.")
        .split(['.', '['])
        .next()
        .unwrap_or_default();
    AppField::from_path(top).is_some_and(|f| fields.contains(&f))
}

/// An app id from a request field.
pub fn parse_app_id(field: &str, value: &str) -> Result<Uuid, ApiError> {
    if value.is_empty() {
        return Err(ApiError::invalid_field(field, "is required"));
    }
    Uuid::parse_str(value)
        .map_err(|_| ApiError::invalid_field(field, format!("`{value}` is not an app id (UUID)")))
}

/// INVALID_ARGUMENT listing `problems`, unless there are none.
pub fn reject(problems: Vec<(String, String)>) -> Result<(), ApiError> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid_fields(problems))
    }
}

/// Records a parser's violations in `v`.
pub fn collect<T>(v: &mut Validator, result: Result<T, Vec<(String, String)>>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(problems) => {
            for (field, problem) in problems {
                v.violation(field, problem);
            }
            None
        }
    }
}

fn target(id: Uuid) -> String {
    format!("app/{id}")
}

fn owner(owner: Option<&zhongtai_contracts::common::v1::Organization>) -> Owner {
    owner.map_or_else(Owner::default, |o| Owner {
        name: o.name.trim().to_string(),
        unified_social_credit_code: o.unified_social_credit_code.trim().to_string(),
    })
}

fn contact(contact: Option<&pb::Contact>) -> Contact {
    contact.map_or_else(Contact::default, |c| Contact {
        name: c.name.trim().to_string(),
        email: c.email.trim().to_string(),
        phone: c.phone.trim().to_string(),
    })
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

/// The contract form of an app.
pub fn app_message(app: &App) -> pb::App {
    pb::App {
        id: app.id.to_string(),
        name: app.name.clone(),
        owner: Some(zhongtai_contracts::common::v1::Organization {
            name: app.owner.name.clone(),
            unified_social_credit_code: app.owner.unified_social_credit_code.clone(),
        }),
        contact: Some(pb::Contact {
            name: app.contact.name.clone(),
            email: app.contact.email.clone(),
            phone: app.contact.phone.clone(),
        }),
        allowed_capabilities: app
            .allowed_capabilities
            .iter()
            .map(|name| name.as_str().to_string())
            .collect(),
        state: match app.state {
            AppState::Active => pb::AppState::Active,
            AppState::Disabled => pb::AppState::Disabled,
        } as i32,
        disabled_reason: app.disabled_reason.clone(),
        sponsor: Some(tenant_message(&app.sponsor)),
        version: app.version,
        create_time: Some(timestamp(app.created_at)),
        update_time: Some(timestamp(app.updated_at)),
    }
}
