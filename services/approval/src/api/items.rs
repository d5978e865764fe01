//! Service items: requests to domain values, domain values to messages.

use tonic::{Request, Response, Status};
use zhongtai_contracts::approval::v1 as pb;
use zhongtai_kit::auth::caller;
use zhongtai_kit::proto::{
    optional_tenant, page_query, page_response, tenant, tenant_message, timestamp,
};
use zhongtai_kit::{ApiError, Caller, Validator};

use crate::domain::{
    FieldType, FormField, ItemFilter, ItemKind, ItemState, ItemUpdate, Material, ProcessRef,
    ServiceItem, ServiceItemDraft, ServiceItems,
};

pub async fn create(
    items: &ServiceItems,
    request: Request<pb::CreateServiceItemRequest>,
) -> Result<Response<pb::CreateServiceItemResponse>, Status> {
    let caller = caller(&request)?;
    let request = request.into_inner();
    let draft = draft_from(&request, &caller)?;
    let item = items
        .create(&caller, &request.request_id, draft)
        .await?
        .into_inner();
    Ok(Response::new(pb::CreateServiceItemResponse {
        item: Some(item_message(&item)),
    }))
}

pub async fn get(
    items: &ServiceItems,
    request: Request<pb::GetServiceItemRequest>,
) -> Result<Response<pb::GetServiceItemResponse>, Status> {
    let caller = caller(&request)?;
    let item = items.get(&caller, &request.get_ref().id).await?;
    Ok(Response::new(pb::GetServiceItemResponse {
        item: Some(item_message(&item)),
    }))
}

pub async fn list(
    items: &ServiceItems,
    request: Request<pb::ListServiceItemsRequest>,
) -> Result<Response<pb::ListServiceItemsResponse>, Status> {
    let caller = caller(&request)?;
    let request = request.into_inner();
    let page = page_query(request.page.as_ref())?;
    let filter = ItemFilter {
        tenant: optional_tenant("tenant", request.tenant.as_ref())?,
        state: item_state(request.state()),
        kind: match request.kind() {
            pb::ServiceItemKind::Unspecified => None,
            pb::ServiceItemKind::PublicService => Some(ItemKind::PublicService),
            pb::ServiceItemKind::DataAccess => Some(ItemKind::DataAccess),
        },
    };
    let page = items.list(&caller, &filter, &page).await?;
    Ok(Response::new(pb::ListServiceItemsResponse {
        items: page.items.iter().map(item_message).collect(),
        page: Some(page_response(page.next_page_token)),
    }))
}

pub async fn update(
    items: &ServiceItems,
    request: Request<pb::UpdateServiceItemRequest>,
) -> Result<Response<pb::UpdateServiceItemResponse>, Status> {
    let caller = caller(&request)?;
    let request = request.into_inner();
    let Some(item) = request.item else {
        return Err(ApiError::invalid_field("item", "is required").into());
    };
    let paths = request.update_mask.map(|m| m.paths).unwrap_or_default();
    let mut v = Validator::new();
    let form_fields = if paths.iter().any(|p| p == "form_fields") {
        form_fields_from(&mut v, "item.form_fields", &item.form_fields)
    } else {
        Vec::new()
    };
    v.finish()?;
    let update = ItemUpdate {
        id: item.id.clone(),
        version: item.version,
        paths,
        name: item.name.clone(),
        description: item.description.clone(),
        materials: materials_from(&item.materials),
        certificate_type: item.certificate_type.clone(),
        process: item.process.as_ref().map(process_ref),
        form_fields,
        state: item_state(item.state()),
    };
    let updated = items.update(&caller, &update).await?;
    Ok(Response::new(pb::UpdateServiceItemResponse {
        item: Some(item_message(&updated)),
    }))
}

fn item_state(state: pb::ServiceItemState) -> Option<ItemState> {
    match state {
        pb::ServiceItemState::Unspecified => None,
        pb::ServiceItemState::Active => Some(ItemState::Active),
        pb::ServiceItemState::Suspended => Some(ItemState::Suspended),
        pb::ServiceItemState::Retired => Some(ItemState::Retired),
    }
}

fn process_ref(process: &pb::ProcessRef) -> ProcessRef {
    ProcessRef {
        process_definition_id: process.process_definition_id.clone(),
        version: process.version,
    }
}

fn materials_from(materials: &[pb::Material]) -> Vec<Material> {
    materials
        .iter()
        .map(|m| Material {
            code: m.code.clone(),
            name: m.name.clone(),
            description: m.description.clone(),
            required: m.required,
            accepted_media_types: m.accepted_media_types.clone(),
            max_size_bytes: m.max_size_bytes,
        })
        .collect()
}

/// Form fields with a type; an unspecified type is a violation at `field`.
fn form_fields_from(v: &mut Validator, field: &str, fields: &[pb::FormField]) -> Vec<FormField> {
    fields
        .iter()
        .enumerate()
        .filter_map(|(i, form_field)| {
            let field_type = match form_field.r#type() {
                pb::FormFieldType::Unspecified => {
                    v.violation(format!("{field}[{i}].type"), "must be set");
                    return None;
                }
                pb::FormFieldType::Text => FieldType::Text,
                pb::FormFieldType::Integer => FieldType::Integer,
                pb::FormFieldType::Decimal => FieldType::Decimal,
                pb::FormFieldType::Boolean => FieldType::Boolean,
                pb::FormFieldType::Date => FieldType::Date,
                pb::FormFieldType::Person => FieldType::Person,
                pb::FormFieldType::Organization => FieldType::Organization,
            };
            Some(FormField {
                name: form_field.name.clone(),
                label: form_field.label.clone(),
                field_type,
                required: form_field.required,
                description: form_field.description.clone(),
            })
        })
        .collect()
}

/// The item the request describes; without a tenant, the caller's own.
fn draft_from(
    request: &pb::CreateServiceItemRequest,
    caller: &Caller,
) -> Result<ServiceItemDraft, ApiError> {
    let mut v = Validator::new();
    let tenant = match request.tenant {
        None => Some(caller.tenant.clone()),
        Some(_) => v.parse(
            "tenant",
            tenant("tenant", request.tenant.as_ref()).map_err(|e| e.message().to_string()),
        ),
    };
    let form_fields = form_fields_from(&mut v, "form_fields", &request.form_fields);
    v.finish()?;
    let Some(tenant) = tenant else {
        return Err(ApiError::invalid_field("tenant", "is required"));
    };
    Ok(ServiceItemDraft {
        tenant,
        code: request.code.clone(),
        name: request.name.clone(),
        description: request.description.clone(),
        materials: materials_from(&request.materials),
        certificate_type: request.certificate_type.clone(),
        process: request.process.as_ref().map(process_ref),
        form_fields,
        kind: match request.kind() {
            pb::ServiceItemKind::DataAccess => ItemKind::DataAccess,
            pb::ServiceItemKind::Unspecified | pb::ServiceItemKind::PublicService => {
                ItemKind::PublicService
            }
        },
    })
}

/// The contract form of a service item.
pub fn item_message(item: &ServiceItem) -> pb::ServiceItem {
    pb::ServiceItem {
        id: item.id.to_string(),
        tenant: Some(tenant_message(&item.tenant)),
        code: item.code.as_str().to_string(),
        name: item.name.clone(),
        description: item.description.clone(),
        materials: item
            .materials
            .iter()
            .map(|m| pb::Material {
                code: m.code.clone(),
                name: m.name.clone(),
                description: m.description.clone(),
                required: m.required,
                accepted_media_types: m.accepted_media_types.clone(),
                max_size_bytes: m.max_size_bytes,
            })
            .collect(),
        certificate_type: item.certificate_type.clone().unwrap_or_default(),
        version: item.version,
        create_time: Some(timestamp(item.created_at)),
        update_time: Some(timestamp(item.updated_at)),
        process: item.process.as_ref().map(|p| pb::ProcessRef {
            process_definition_id: p.process_definition_id.clone(),
            version: p.version,
        }),
        state: match item.state {
            ItemState::Active => pb::ServiceItemState::Active,
            ItemState::Suspended => pb::ServiceItemState::Suspended,
            ItemState::Retired => pb::ServiceItemState::Retired,
        } as i32,
        form_fields: item
            .form_fields
            .iter()
            .map(|f| pb::FormField {
                name: f.name.clone(),
                label: f.label.clone(),
                r#type: match f.field_type {
                    FieldType::Text => pb::FormFieldType::Text,
                    FieldType::Integer => pb::FormFieldType::Integer,
                    FieldType::Decimal => pb::FormFieldType::Decimal,
                    FieldType::Boolean => pb::FormFieldType::Boolean,
                    FieldType::Date => pb::FormFieldType::Date,
                    FieldType::Person => pb::FormFieldType::Person,
                    FieldType::Organization => pb::FormFieldType::Organization,
                } as i32,
                required: f.required,
                description: f.description.clone(),
            })
            .collect(),
        kind: match item.kind {
            ItemKind::PublicService => pb::ServiceItemKind::PublicService,
            ItemKind::DataAccess => pb::ServiceItemKind::DataAccess,
        } as i32,
    }
}
