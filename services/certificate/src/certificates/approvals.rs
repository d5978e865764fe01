//! Issue on approval: the approval center's `application.approved` events
//! for service items that yield a certificate. The certificate is written
//! in the consumer's transaction, with the inbox record of the event, and
//! the application id is unique among certificates: a redelivered event
//! issues nothing more. An application that cannot be issued on is
//! settled with a warning and an audit record, never retried.

use std::sync::Arc;

use prost_types::value::Kind;
use sea_orm::DatabaseTransaction;
use uuid::Uuid;
use zhongtai_contracts::approval::v1 as approval;
use zhongtai_contracts::events::v1 as events;
use zhongtai_events::{EnvelopeExt, EventEnvelope, EventHandler, HandlerError};
use zhongtai_kit::TenantId;

use super::Certificates;
use super::domain::form::FormValue;
use super::issuing::{ApprovedApplication, NotIssued};
use super::store::certificates::Issued;
use crate::shared::convert::holder_from_message;

/// Durable queue (and inbox consumer) name.
pub const SUBSCRIPTION: &str = "certificate.issue-on-approval";
pub const APPROVED: &str = "approval.application.approved";

/// Issues the certificate an approved application yields.
pub struct IssueOnApproval {
    certificates: Arc<Certificates>,
}

impl IssueOnApproval {
    pub fn new(certificates: Arc<Certificates>) -> Self {
        Self { certificates }
    }
}

#[async_trait::async_trait]
impl EventHandler for IssueOnApproval {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &EventEnvelope,
    ) -> Result<(), HandlerError> {
        if event.r#type != APPROVED {
            return Ok(());
        }
        let payload: events::ApplicationApproved =
            event.decode_payload().map_err(HandlerError::permanent)?;
        let Some(application) = payload.application else {
            return Err(HandlerError::permanent(format!(
                "event {} carries no application",
                event.id
            )));
        };
        if application.certificate_type.is_empty() {
            return Ok(());
        }
        let outcome = match approved_application(&application) {
            Ok(facts) => self
                .certificates
                .issue_on_application(txn, &facts)
                .await
                .map_err(HandlerError::transient)?,
            Err(why) => Err(why),
        };
        match outcome {
            Ok(Issued::New(certificate)) => {
                tracing::info!(application = %application.id, certificate = %certificate.id, certificate_type = certificate.certificate_type.as_str(), "certificate issued on approval");
            }
            Ok(Issued::Existing(certificate)) => {
                tracing::info!(application = %application.id, certificate = %certificate.id, "application already has its certificate");
            }
            Err(why) => {
                let tenant = application
                    .tenant
                    .as_ref()
                    .and_then(|t| TenantId::parse(&t.division_code, &t.department).ok())
                    .map(|t| t.key())
                    .unwrap_or_default();
                tracing::warn!(application = %application.id, certificate_type = application.certificate_type.as_str(), reason = why.code(), problem = %why.describe(), "approved application yields no certificate");
                self.certificates
                    .record_not_issued(txn, &application.id, &tenant, &why)
                    .await
                    .map_err(HandlerError::transient)?;
            }
        }
        Ok(())
    }
}

/// What the event says about the application, or why it cannot be issued
/// on.
fn approved_application(
    application: &approval::Application,
) -> Result<ApprovedApplication, NotIssued> {
    let id = Uuid::parse_str(&application.id).map_err(|_| {
        NotIssued::Unreadable(format!("application id {:?} is not a UUID", application.id))
    })?;
    let tenant = application
        .tenant
        .as_ref()
        .and_then(|t| TenantId::parse(&t.division_code, &t.department).ok())
        .ok_or_else(|| NotIssued::Unreadable("the application names no valid tenant".into()))?;
    let holder = holder_from_message(
        "applicant.holder",
        application
            .applicant
            .as_ref()
            .and_then(|applicant| applicant.holder.as_ref()),
    )
    .map_err(|error| NotIssued::Unreadable(format!("the applicant: {}", error.message())))?;
    let form = application
        .form_data
        .as_ref()
        .map(|form| {
            form.fields
                .iter()
                .map(|(name, value)| (name.clone(), form_value(value)))
                .collect()
        })
        .unwrap_or_default();
    Ok(ApprovedApplication {
        id,
        tenant,
        certificate_type: application.certificate_type.clone(),
        holder,
        form,
    })
}

fn form_value(value: &prost_types::Value) -> FormValue {
    match &value.kind {
        Some(Kind::StringValue(text)) => FormValue::Text(text.clone()),
        Some(Kind::NumberValue(n)) => FormValue::Number(*n),
        Some(Kind::BoolValue(b)) => FormValue::Bool(*b),
        Some(Kind::NullValue(_)) | None => FormValue::Empty,
        Some(Kind::StructValue(_) | Kind::ListValue(_)) => FormValue::Nested,
    }
}
