//! Revoking, suspending and reinstating: the certificate, its lists'
//! versions, the events (the change and each list's new version) and the
//! audit record in one transaction; then the lists in memory at once, so
//! this instance's online verification answers with the change right away.

use uuid::Uuid;
use zhongtai_kit::{Actor, Caller, audit_trail};

use super::Certificates;
use super::domain::access::require_issuer_staff;
use super::domain::lifecycle::{StatusAction, Transition, transition};
use super::domain::lists::publish;
use super::published;
use super::store::certificates as certificates_store;
use super::store::status_lists;
use crate::shared::{CertificateError, CertificateRecord, now};

impl Certificates {
    /// Applies `action` to certificate `id` of the caller's department.
    /// Certificates of other departments are not found.
    pub async fn change_status(
        &self,
        caller: &Caller,
        id: Uuid,
        action: StatusAction,
        reason: &str,
    ) -> Result<CertificateRecord, CertificateError> {
        let scope = caller.write_scope();
        let db = &self.deps.db;
        let current = certificates_store::readable(db, &scope, None, id)
            .await?
            .ok_or_else(|| CertificateError::not_found("certificate", id))?;
        require_issuer_staff(caller, &current.issuer_tenant, &format!("certificate/{id}"))?;
        let at = now();
        let Transition::Changed { record, lists } = transition(&current, action, reason, at)?
        else {
            return Ok(current);
        };
        let platform = self.keyring.platform_signer().await?;
        let actor = Actor::of(caller);
        let txn = zhongtai_store::begin_write(db)
            .await
            .map_err(CertificateError::storage)?;
        certificates_store::update_status(&txn, &scope, &record, current.version).await?;
        let snapshots = status_lists::bump(&txn, &record.status_entry.group, &lists).await?;
        let lists_published: Vec<_> = snapshots
            .iter()
            .map(|snapshot| publish(snapshot, &platform, at))
            .collect();
        let mut events = vec![published::status_changed(action, &record, &actor, at)];
        events.extend(
            lists_published
                .iter()
                .map(|list| published::list_published(list, &self.deps.config.platform_tenant)),
        );
        let audit =
            audit_trail::allowed(caller, action.audit_action(), format!("certificate/{id}"));
        certificates_store::append(&txn, events, &audit).await?;
        txn.commit().await.map_err(CertificateError::storage)?;
        self.deps.outbox.notify_one();
        for snapshot in snapshots {
            self.board.apply(snapshot);
        }
        for list in lists_published {
            self.board.keep_published(list);
        }
        tracing::info!(certificate = %id, status = record.status.as_str(), "certificate status changed");
        Ok(*record)
    }
}
