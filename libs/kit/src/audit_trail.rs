//! The service side of the audit log: denials from the access layer, and
//! the sealer that chains what handlers and the layer recorded.

use sea_orm::DatabaseConnection;
use zhongtai_audit::{AuditRecord, Outcome};

use crate::auth::{Caller, Denial, DenialLog};

/// Records denials in the service's own audit log.
pub struct AuditedDenials {
    db: DatabaseConnection,
    service: &'static str,
}

impl AuditedDenials {
    pub fn new(db: DatabaseConnection, service: &'static str) -> Self {
        Self { db, service }
    }
}

#[async_trait::async_trait]
impl DenialLog for AuditedDenials {
    async fn record(&self, denial: Denial) {
        let record = AuditRecord::new(
            actor_of(denial.caller.as_ref()),
            denial
                .caller
                .as_ref()
                .map(|c| c.tenant.key())
                .unwrap_or_default(),
            denial.action,
            denial.target,
            Outcome::Denied,
        )
        .with_reason(denial.reason)
        .with_trace_id(denial.trace_id.unwrap_or_default())
        .with_peer(
            denial
                .caller
                .as_ref()
                .and_then(|c| c.peer.clone())
                .unwrap_or_default(),
        );
        // The refusal stands either way; a lost record is an operational
        // alarm, not a reason to let the call through.
        if let Err(error) = zhongtai_audit::append_alone(&self.db, self.service, &record).await {
            tracing::error!(%error, record = %record.id, "cannot write the audit record of a denial");
        }
    }
}

/// How an actor appears in audit records.
pub fn actor_of(caller: Option<&Caller>) -> String {
    caller.map_or_else(|| "anonymous".to_string(), |c| c.subject.clone())
}

/// An audit record of an allowed action by `caller`, for a handler's
/// repository to append in the transaction that carries the action out.
pub fn allowed(caller: &Caller, action: &str, target: impl Into<String>) -> AuditRecord {
    AuditRecord::new(
        caller.subject.clone(),
        caller.tenant.key(),
        action,
        target,
        Outcome::Allowed,
    )
    .with_trace_id(zhongtai_telemetry::propagation::current_trace_id().unwrap_or_default())
    .with_peer(caller.peer.clone().unwrap_or_default())
}
