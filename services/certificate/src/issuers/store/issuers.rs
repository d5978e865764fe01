//! Issuers in the database, with their events in the same transaction.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::SubsecRound;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect,
};
use tokio::sync::Notify;
use uuid::Uuid;
use zhongtai_audit::AuditRecord;
use zhongtai_kit::{Page, PageQuery, ScopedEntity, SystemPurpose, TenantScope};

use super::keys;
use super::rows::{hydrate, issuer_to_row, key_to_row, type_rows};
use super::trust_list;
use super::write::{is_unique_violation, platform_wide_delete, record, storage};
use crate::issuers::domain::{
    Issuer, IssuerChange, IssuerFilter, IssuerRepository, IssuerVisibility, KeyRecord,
    LatestExpiry, MadeKey, NewIssuer, NewPlatformKey, PlatformKeyRecord, Revocation, Rotation,
    Saved, StoredKey, TrustList,
};
use crate::issuers::entities::issuer::{Column, Entity};
use crate::issuers::entities::issuer_certificate_type;
use crate::issuers::published;
use crate::shared::CertificateError;

/// The platform's own view of every issuer (its administrators, and the
/// center's signing and trust-list work).
const PLATFORM: SystemPurpose = SystemPurpose("platform administration");

/// [`IssuerRepository`] on sea-orm.
pub struct SeaIssuers {
    db: DatabaseConnection,
    outbox: Arc<Notify>,
}

impl SeaIssuers {
    /// `outbox` is poked after each commit that wrote events.
    pub fn new(db: DatabaseConnection, outbox: Arc<Notify>) -> Self {
        Self { db, outbox }
    }

    fn select(visibility: &IssuerVisibility) -> sea_orm::Select<Entity> {
        match visibility {
            IssuerVisibility::Everything => Entity::find_for_system(PLATFORM),
            IssuerVisibility::Scope(scope) => Entity::find_in(scope),
        }
    }
}

#[async_trait]
impl IssuerRepository for SeaIssuers {
    async fn list(
        &self,
        visibility: &IssuerVisibility,
        filter: &IssuerFilter,
        page: &PageQuery,
    ) -> Result<Page<Issuer>, CertificateError> {
        let mut query = Self::select(visibility).order_by_asc(Column::Id);
        if let Some(tenant) = &filter.tenant {
            let department = tenant.department.as_deref().unwrap_or_default();
            query = query
                .filter(Column::TenantDivision.eq(tenant.division.as_str()))
                .filter(Column::TenantDepartment.eq(department));
        }
        if let Some(after) = &page.after {
            query = query.filter(Column::Id.gt(after.as_str()));
        }
        let rows = query
            .limit(page.fetch_limit())
            .all(&self.db)
            .await
            .map_err(storage)?;
        let issuers = hydrate(&self.db, rows).await?;
        Ok(Page::from_rows(issuers, page, |issuer| {
            issuer.id.to_string()
        }))
    }

    async fn get(
        &self,
        visibility: &IssuerVisibility,
        id: Uuid,
    ) -> Result<Option<Issuer>, CertificateError> {
        let row = Self::select(visibility)
            .filter(Column::Id.eq(id.to_string()))
            .one(&self.db)
            .await
            .map_err(storage)?;
        Ok(hydrate(&self.db, row.into_iter().collect())
            .await?
            .into_iter()
            .next())
    }

    async fn key_made_by(&self, request_id: &str) -> Result<Option<MadeKey>, CertificateError> {
        keys::made_by(&self.db, request_id).await
    }

    async fn create(
        &self,
        new: NewIssuer<'_>,
        audit: &AuditRecord,
    ) -> Result<Saved<TrustList>, CertificateError> {
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        issuer_to_row(new.issuer)
            .into_active_model()
            .insert(&txn)
            .await
            .map_err(storage)?;
        issuer_certificate_type::Entity::insert_many(type_rows(new.issuer))
            .exec(&txn)
            .await
            .map_err(storage)?;
        let key = key_to_row(
            &new.key.record,
            &new.key.sealed_private_key,
            Some(new.request_id),
            None,
        );
        match key.into_active_model().insert(&txn).await {
            Ok(_) => {}
            // The same request id, committed meanwhile by a concurrent call.
            Err(e) if is_unique_violation(&e) => return Ok(Saved::Conflict),
            Err(e) => return Err(storage(e)),
        }
        let now = new.issuer.created_at;
        let (list, published_list) = trust_list::publish_next(&txn, now).await?;
        let events = vec![
            published::issuer_created(new.issuer, &new.key.record, new.actor, list.version),
            published_list,
        ];
        record(&txn, events, audit).await?;
        txn.commit().await.map_err(storage)?;
        self.outbox.notify_one();
        Ok(Saved::Saved(list))
    }

    async fn update(
        &self,
        change: &IssuerChange,
        audit: &AuditRecord,
    ) -> Result<Saved<Option<TrustList>>, CertificateError> {
        let issuer = &change.issuer;
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        let mut row = issuer_to_row(issuer).into_active_model().reset_all();
        row.id = sea_orm::ActiveValue::NotSet;
        row.created_at = sea_orm::ActiveValue::NotSet;
        // The row's own tenant: a platform admin changes it where it lives.
        let updated = Entity::update_many_in(&TenantScope::tenant(issuer.tenant.clone()))
            .set(row)
            .filter(Column::Id.eq(issuer.id.to_string()))
            .filter(Column::Version.eq(change.expected_version))
            .exec(&txn)
            .await
            .map_err(storage)?;
        if updated.rows_affected == 0 {
            return Ok(Saved::Conflict);
        }
        let changed = |field: &str| change.changed_fields.iter().any(|f| f == field);
        if changed("certificate_types") {
            platform_wide_delete::<issuer_certificate_type::Entity>()
                .filter(issuer_certificate_type::Column::IssuerId.eq(issuer.id.to_string()))
                .exec(&txn)
                .await
                .map_err(storage)?;
            issuer_certificate_type::Entity::insert_many(type_rows(issuer))
                .exec(&txn)
                .await
                .map_err(storage)?;
        }
        let mut events = vec![published::issuer_updated(change)];
        // Names and types are in the trust list; the state is not (a
        // suspended issuer's certificates still verify).
        let list = if changed("name") || changed("certificate_types") {
            let (list, published_list) = trust_list::publish_next(&txn, issuer.updated_at).await?;
            events.push(published_list);
            Some(list)
        } else {
            None
        };
        record(&txn, events, audit).await?;
        txn.commit().await.map_err(storage)?;
        self.outbox.notify_one();
        Ok(Saved::Saved(list))
    }

    async fn key(&self, key_id: &str) -> Result<Option<StoredKey>, CertificateError> {
        keys::stored(&self.db, key_id).await
    }

    async fn keys(
        &self,
        issuer_id: Uuid,
        page: &PageQuery,
    ) -> Result<Page<KeyRecord>, CertificateError> {
        keys::of_issuer(&self.db, issuer_id, page).await
    }

    async fn active_key(&self, issuer_id: Uuid) -> Result<Option<KeyRecord>, CertificateError> {
        keys::active(&self.db, issuer_id).await
    }

    async fn latest_expiry(&self, key_id: &str) -> Result<LatestExpiry, CertificateError> {
        keys::latest_expiry(&self.db, key_id).await
    }

    async fn rotate(
        &self,
        rotation: Rotation<'_>,
        audit: &AuditRecord,
    ) -> Result<Saved<TrustList>, CertificateError> {
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        if !keys::retire(&txn, rotation.retired).await? {
            return Ok(Saved::Conflict);
        }
        let new_key = &rotation.new_key.record;
        let row = key_to_row(
            new_key,
            &rotation.new_key.sealed_private_key,
            Some(rotation.request_id),
            Some(&rotation.retired.key_id),
        );
        match row.into_active_model().insert(&txn).await {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Ok(Saved::Conflict),
            Err(e) => return Err(storage(e)),
        }
        let (list, published_list) = trust_list::publish_next(&txn, new_key.created_at).await?;
        let events = vec![
            published::signing_key_rotated(
                rotation.issuer,
                new_key,
                rotation.retired,
                list.version,
                rotation.actor,
            ),
            published_list,
        ];
        record(&txn, events, audit).await?;
        txn.commit().await.map_err(storage)?;
        self.outbox.notify_one();
        Ok(Saved::Saved(list))
    }

    async fn revoke(
        &self,
        revocation: Revocation<'_>,
        previous: &KeyRecord,
        audit: &AuditRecord,
    ) -> Result<Saved<TrustList>, CertificateError> {
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        if !keys::mark_revoked(&txn, revocation.key, previous.state).await? {
            return Ok(Saved::Conflict);
        }
        if let Some(replacement) = revocation.replacement {
            let row = key_to_row(
                &replacement.record,
                &replacement.sealed_private_key,
                None,
                Some(&revocation.key.key_id),
            );
            match row.into_active_model().insert(&txn).await {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => return Ok(Saved::Conflict),
                Err(e) => return Err(storage(e)),
            }
        }
        let now = revocation
            .key
            .revoked_at
            .unwrap_or_else(|| crate::shared::now().trunc_subsecs(6));
        let (list, published_list) = trust_list::publish_next(&txn, now).await?;
        let events = vec![
            published::signing_key_revoked(
                revocation.issuer,
                revocation.key,
                revocation.replacement.map(|r| &r.record),
                revocation.reason,
                list.version,
                revocation.actor,
            ),
            published_list,
        ];
        record(&txn, events, audit).await?;
        txn.commit().await.map_err(storage)?;
        self.outbox.notify_one();
        Ok(Saved::Saved(list))
    }

    async fn retired_since(
        &self,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<KeyRecord>, CertificateError> {
        keys::retired_since(&self.db, since).await
    }

    async fn extend_verify_until(
        &self,
        key: &KeyRecord,
        verify_until: Option<chrono::DateTime<chrono::Utc>>,
        audit: &AuditRecord,
    ) -> Result<Saved<TrustList>, CertificateError> {
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        if !keys::set_verify_until(&txn, key, verify_until).await? {
            return Ok(Saved::Conflict);
        }
        let now = crate::shared::now().trunc_subsecs(6);
        let (list, published_list) = trust_list::publish_next(&txn, now).await?;
        record(&txn, vec![published_list], audit).await?;
        txn.commit().await.map_err(storage)?;
        self.outbox.notify_one();
        Ok(Saved::Saved(list))
    }

    async fn trust_list_version(&self) -> Result<i64, CertificateError> {
        trust_list::version(&self.db).await
    }

    async fn trust_list(&self) -> Result<TrustList, CertificateError> {
        trust_list::load(&self.db).await
    }

    async fn platform_key(&self) -> Result<Option<(PlatformKeyRecord, Vec<u8>)>, CertificateError> {
        keys::platform(&self.db).await
    }

    async fn create_platform_key(
        &self,
        key: &NewPlatformKey,
        audit: &AuditRecord,
    ) -> Result<Saved<TrustList>, CertificateError> {
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        if !keys::insert_platform(&txn, key).await? {
            return Ok(Saved::Conflict);
        }
        let (list, published_list) = trust_list::publish_next(&txn, key.record.created_at).await?;
        record(&txn, vec![published_list], audit).await?;
        txn.commit().await.map_err(storage)?;
        self.outbox.notify_one();
        Ok(Saved::Saved(list))
    }
}
