//! Reading certificates (their holders and the issuing department's
//! readers) and the published status lists (anyone).

use std::sync::Arc;

use uuid::Uuid;
use zhongtai_kit::{Caller, Page, PageQuery};

use super::Certificates;
use super::domain::access::may_read;
use super::domain::lists::{ListPurpose, ListSnapshot, PublishedList, parse_list_id, publish};
use super::store::certificates::{self as certificates_store, ListFilter};
use super::store::status_lists;
use crate::shared::{CertificateError, CertificateRecord, caller_holder_key, now};

impl Certificates {
    /// A certificate the caller holds or may read as staff; others' are not
    /// found.
    pub async fn get(
        &self,
        caller: &Caller,
        id: Uuid,
    ) -> Result<CertificateRecord, CertificateError> {
        certificates_store::readable(
            &self.deps.db,
            &caller.read_scope(),
            caller_holder_key(caller),
            id,
        )
        .await?
        .filter(|record| may_read(caller, record))
        .ok_or_else(|| CertificateError::not_found("certificate", id))
    }

    /// Certificates the caller may read, newest first. A holder lists only
    /// their own; asking for another holder's is refused.
    pub async fn list(
        &self,
        caller: &Caller,
        mut filter: ListFilter,
        page: &PageQuery,
    ) -> Result<Page<CertificateRecord>, CertificateError> {
        let own = caller_holder_key(caller);
        if let Some(own) = own {
            if filter
                .holder_key
                .as_deref()
                .is_some_and(|asked| asked != own)
            {
                return Err(CertificateError::Denied {
                    reason: "NOT_THE_HOLDER",
                    target: "certificates".into(),
                    message: "a holder may list only their own certificates".into(),
                });
            }
            filter.holder_key = Some(own.to_string());
        }
        certificates_store::list(
            &self.deps.db,
            &caller.read_scope(),
            own,
            &filter,
            page,
            now(),
        )
        .await
    }

    /// The list `id` as published; `None` when `if_newer_than_version` is
    /// already current.
    pub async fn status_list(
        &self,
        id: &str,
        if_newer_than_version: i64,
    ) -> Result<Option<Arc<PublishedList>>, CertificateError> {
        if parse_list_id(id).is_none() {
            return Err(CertificateError::invalid(
                "id",
                "must be a status list id, <group>-revocation or <group>-suspension",
            ));
        }
        self.ensure_loaded().await?;
        let snapshot = match self.board.snapshot(id) {
            Some(snapshot) => snapshot,
            None if self.load_list(id).await? => self
                .board
                .snapshot(id)
                .ok_or_else(|| CertificateError::not_found("status list", id))?,
            None => return Err(CertificateError::not_found("status list", id)),
        };
        if if_newer_than_version > 0 && snapshot.version <= if_newer_than_version {
            return Ok(None);
        }
        self.published(&snapshot).await.map(Some)
    }

    /// One page of lists ordered by id, of `purpose` unless `None`.
    pub async fn status_lists(
        &self,
        purpose: Option<ListPurpose>,
        page: &PageQuery,
    ) -> Result<Page<Arc<PublishedList>>, CertificateError> {
        // Which lists exist is read from the database, so a group opened
        // on another instance a moment ago is listed too.
        let mut snapshots: Vec<Arc<ListSnapshot>> = Vec::new();
        for row in status_lists::list_versions(&self.deps.db).await? {
            let wanted = purpose.is_none_or(|purpose| purpose.as_str() == row.purpose)
                && page
                    .after
                    .as_deref()
                    .is_none_or(|after| row.id.as_str() > after);
            if !wanted {
                continue;
            }
            if self
                .board
                .version(&row.id)
                .is_none_or(|known| known < row.version)
            {
                self.board
                    .apply(status_lists::snapshot(&self.deps.db, &row).await?);
            }
            if let Some(snapshot) = self.board.snapshot(&row.id) {
                snapshots.push(snapshot);
            }
            if snapshots.len() as u64 >= page.fetch_limit() {
                break;
            }
        }
        let snapshots = Page::from_rows(snapshots, page, |list| list.id.clone());
        let mut lists = Vec::with_capacity(snapshots.items.len());
        for snapshot in &snapshots.items {
            lists.push(self.published(snapshot).await?);
        }
        Ok(Page {
            items: lists,
            next_page_token: snapshots.next_page_token,
        })
    }

    /// The signed form of a list version, made once and reused while
    /// cacheable.
    async fn published(
        &self,
        snapshot: &ListSnapshot,
    ) -> Result<Arc<PublishedList>, CertificateError> {
        let at = now();
        if let Some(list) = self.board.published(&snapshot.id, snapshot.version, at) {
            return Ok(list);
        }
        let platform = self.keyring.platform_signer().await?;
        Ok(self.board.keep_published(publish(snapshot, &platform, at)))
    }
}
