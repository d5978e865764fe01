//! The approval center as the access-review port: access requests run as
//! applications of the owner division's data-bureau DATA_ACCESS item,
//! raised and recalled over gRPC with the caller's own credential, so the
//! approval center verifies the same identity and applies its own rules.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use prost_types::value::Kind;
use prost_types::{ListValue, Struct, Value};
use tonic::Code;
use tonic_types::StatusExt;
use zhongtai_contracts::approval::v1 as approval;
use zhongtai_contracts::approval::v1::approval_service_client::ApprovalServiceClient;
use zhongtai_kit::ServiceChannel;
use zhongtai_kit::auth::Credential;
use zhongtai_kit::proto::tenant_message;

use crate::domain::access_request::FieldAccess;
use crate::domain::masking::MaskingKind;
use crate::domain::ports::{AccessReview, ReviewError, ReviewSubmission};

/// Service, kind and role names the approval center is told.
const ORIGIN_SERVICE: &str = "catalog";
const ORIGIN_KIND: &str = "access_request";
const OWNER_SLOT: &str = "owner";
const OWNER_ROLE: &str = "approver";

/// [`AccessReview`] on the approval center's gRPC API.
pub struct ApprovalReview {
    client: ApprovalServiceClient<ServiceChannel>,
}

impl ApprovalReview {
    pub fn new(channel: ServiceChannel) -> Self {
        Self {
            client: ApprovalServiceClient::new(channel),
        }
    }
}

fn on_behalf<T>(credential: Option<&Credential>, message: T) -> tonic::Request<T> {
    match credential {
        Some(credential) => credential.request(message),
        None => tonic::Request::new(message),
    }
}

#[async_trait]
impl AccessReview for ApprovalReview {
    async fn submit(
        &self,
        credential: Option<&Credential>,
        submission: &ReviewSubmission,
    ) -> Result<String, ReviewError> {
        let request = &submission.request;
        let message = approval::SubmitApplicationRequest {
            request_id: request.id.to_string(),
            applicant: Some(approval::Applicant {
                tenant: Some(tenant_message(&request.requester)),
                ..Default::default()
            }),
            form_data: Some(form_data(submission)),
            origin: Some(approval::ExternalRef {
                service: ORIGIN_SERVICE.into(),
                kind: ORIGIN_KIND.into(),
                id: request.id.to_string(),
            }),
            assignee_bindings: HashMap::from([(
                OWNER_SLOT.to_string(),
                approval::DepartmentRole {
                    tenant: Some(tenant_message(&request.owner)),
                    role: OWNER_ROLE.into(),
                },
            )]),
            service_item_key: Some(approval::ServiceItemKey {
                tenant: Some(tenant_message(&submission.item_tenant)),
                code: submission.item_code.clone(),
            }),
            ..Default::default()
        };
        let response = self
            .client
            .clone()
            .submit_application(on_behalf(credential, message))
            .await
            .map_err(review_error)?;
        response
            .into_inner()
            .application
            .map(|application| application.id)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| {
                ReviewError::Failed("the approval center answered without an application".into())
            })
    }

    async fn recall(
        &self,
        credential: Option<&Credential>,
        application_id: &str,
        request_id: &str,
        reason: &str,
    ) -> Result<(), ReviewError> {
        let message = approval::RecallApplicationRequest {
            request_id: request_id.to_string(),
            application_id: application_id.to_string(),
            comment: reason.to_string(),
        };
        self.client
            .clone()
            .recall_application(on_behalf(credential, message))
            .await
            .map_err(review_error)?;
        Ok(())
    }
}

/// The approval center's status in the port's terms, details kept.
fn review_error(status: tonic::Status) -> ReviewError {
    let details = status.get_error_details();
    let metadata = |key: &str| {
        details
            .error_info()
            .and_then(|info| info.metadata.get(key).cloned())
            .unwrap_or_default()
    };
    match status.code() {
        Code::NotFound => ReviewError::ItemNotFound,
        Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted => {
            ReviewError::Unavailable(status.message().to_string())
        }
        Code::PermissionDenied => ReviewError::Denied {
            reason: Some(metadata("denial"))
                .filter(|reason| !reason.is_empty())
                .unwrap_or_else(|| "APPROVAL_DENIED".into()),
            target: metadata("target"),
            message: status.message().to_string(),
        },
        Code::InvalidArgument => {
            let violations: Vec<(String, String)> = details
                .bad_request()
                .map(|bad| {
                    bad.field_violations
                        .iter()
                        .map(|v| (format!("application.{}", v.field), v.description.clone()))
                        .collect()
                })
                .unwrap_or_default();
            if violations.is_empty() {
                ReviewError::Invalid(vec![("application".into(), status.message().to_string())])
            } else {
                ReviewError::Invalid(violations)
            }
        }
        Code::FailedPrecondition | Code::Aborted => {
            ReviewError::Refused(status.message().to_string())
        }
        code => ReviewError::Failed(format!("{code:?}: {}", status.message())),
    }
}

fn text(value: impl Into<String>) -> Value {
    Value {
        kind: Some(Kind::StringValue(value.into())),
    }
}

fn list(values: Vec<Value>) -> Value {
    Value {
        kind: Some(Kind::ListValue(ListValue { values })),
    }
}

fn object(fields: impl IntoIterator<Item = (&'static str, Value)>) -> Value {
    Value {
        kind: Some(Kind::StructValue(Struct {
            fields: fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect::<BTreeMap<_, _>>(),
        })),
    }
}

fn masking_value(field: &FieldAccess) -> Value {
    let Some(rule) = &field.masking else {
        return text("none");
    };
    let kind = match rule.kind {
        MaskingKind::None => "none",
        MaskingKind::Partial => "partial",
        MaskingKind::Hash => "hash",
        MaskingKind::Redact => "redact",
        MaskingKind::Nullify => "nullify",
    };
    object([
        ("kind", text(kind)),
        ("keep_first", number(rule.keep_first)),
        ("keep_last", number(rule.keep_last)),
        ("mask_character", text(rule.mask_character.clone())),
    ])
}

fn number(value: i32) -> Value {
    Value {
        kind: Some(Kind::NumberValue(f64::from(value))),
    }
}

/// What the approvers read: the request described in full, so deciding
/// needs no call back to the catalog.
fn form_data(submission: &ReviewSubmission) -> Struct {
    let request = &submission.request;
    let resource = &submission.resource;
    let fields = request
        .fields
        .iter()
        .map(|field| {
            object([
                ("field", text(field.field.clone())),
                ("masking", masking_value(field)),
            ])
        })
        .collect();
    let row_filter = request
        .row_filter
        .conditions
        .iter()
        .map(|condition| {
            object([
                ("field", text(condition.field.clone())),
                (
                    "operator",
                    text(
                        condition
                            .operator
                            .map(|op| format!("{op:?}"))
                            .unwrap_or_default(),
                    ),
                ),
                (
                    "values",
                    list(condition.values.iter().cloned().map(text).collect()),
                ),
            ])
        })
        .collect();
    let entries = [
        ("access_request_id", text(request.id.to_string())),
        ("resource_id", text(resource.id.to_string())),
        ("resource_code", text(resource.code.clone())),
        ("resource_title", text(resource.details.title.clone())),
        (
            "resource_version",
            number(i32::try_from(request.resource_version).unwrap_or(i32::MAX)),
        ),
        ("owner", text(request.owner.key())),
        ("requester", text(request.requester.key())),
        ("grantee", text(request.grantee.key())),
        ("fields", list(fields)),
        ("purpose", text(request.purpose.clone())),
        ("period_start", text(request.period.start.to_rfc3339())),
        ("period_end", text(request.period.end.to_rfc3339())),
        ("row_filter", list(row_filter)),
    ];
    Struct {
        fields: entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    }
}
