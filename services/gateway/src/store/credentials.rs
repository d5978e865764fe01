//! App credentials in the database: listed forms and sealed secrets.

use async_trait::async_trait;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;
use zhongtai_audit::AuditRecord;
use zhongtai_kit::{Page, PageQuery};

use super::entities::credential::{Column, Entity, Model};
use super::shared::{platform_wide, platform_wide_update, record_change, storage};
use crate::domain::credential::NewCredential;
use crate::domain::{Credential, CredentialRepository, CredentialState, GatewayError};

/// [`CredentialRepository`] on sea-orm.
pub struct SeaCredentials {
    db: DatabaseConnection,
}

impl SeaCredentials {
    /// Credentials stored in `db`.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[async_trait]
impl CredentialRepository for SeaCredentials {
    async fn list(&self, app_id: Uuid, page: &PageQuery) -> Result<Page<Credential>, GatewayError> {
        let mut query = platform_wide::<Entity>()
            .filter(Column::AppId.eq(app_id.to_string()))
            .order_by_desc(Column::CreatedAt)
            .order_by_desc(Column::AppKey);
        if let Some(after) = &page.after {
            let (created_at, app_key) = parse_cursor(after)?;
            query = query.filter(
                Condition::any().add(Column::CreatedAt.lt(created_at)).add(
                    Condition::all()
                        .add(Column::CreatedAt.eq(created_at))
                        .add(Column::AppKey.lt(app_key)),
                ),
            );
        }
        let rows = query
            .limit(page.fetch_limit())
            .all(&self.db)
            .await
            .map_err(storage)?;
        let credentials = rows
            .into_iter()
            .map(credential_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(credentials, page, |c| {
            format!("{} {}", c.created_at.timestamp_micros(), c.app_key)
        }))
    }

    async fn get(&self, app_key: &str) -> Result<Option<Credential>, GatewayError> {
        platform_wide::<Entity>()
            .filter(Column::AppKey.eq(app_key))
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(credential_from_row)
            .transpose()
    }

    async fn issue(
        &self,
        new: &NewCredential,
        max_live: u64,
        now: DateTime<Utc>,
        audit: &AuditRecord,
    ) -> Result<(), GatewayError> {
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        let live = platform_wide::<Entity>()
            .filter(Column::AppId.eq(new.credential.app_id.to_string()))
            .filter(accepted_at(now))
            .count(&txn)
            .await
            .map_err(storage)?;
        if live >= max_live {
            return Err(GatewayError::FailedPrecondition(format!(
                "app {} already holds {live} credentials that are not revoked or expired \
                 (at most {max_live}); revoke one first",
                new.credential.app_id
            )));
        }
        Entity::insert(new_row(new).into_active_model())
            .exec_without_returning(&txn)
            .await
            .map_err(storage)?;
        record_change(&txn, audit).await?;
        txn.commit().await.map_err(storage)
    }

    async fn rotate(
        &self,
        new: &NewCredential,
        previous_key: &str,
        previous_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
        audit: &AuditRecord,
    ) -> Result<Credential, GatewayError> {
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        let rotated = platform_wide_update::<Entity>()
            .col_expr(
                Column::State,
                Expr::value(CredentialState::Rotating.as_str()),
            )
            .col_expr(Column::ExpiresAt, Expr::value(previous_expires_at))
            .filter(Column::AppKey.eq(previous_key))
            .filter(accepted_at(now))
            .exec(&txn)
            .await
            .map_err(storage)?;
        if rotated.rows_affected != 1 {
            return Err(GatewayError::FailedPrecondition(format!(
                "credential {previous_key} is revoked or expired; issue a new one instead"
            )));
        }
        Entity::insert(new_row(new).into_active_model())
            .exec_without_returning(&txn)
            .await
            .map_err(storage)?;
        let previous = platform_wide::<Entity>()
            .filter(Column::AppKey.eq(previous_key))
            .one(&txn)
            .await
            .map_err(storage)?
            .ok_or_else(|| GatewayError::NotFound {
                kind: "credential",
                id: previous_key.to_string(),
            })?;
        record_change(&txn, audit).await?;
        txn.commit().await.map_err(storage)?;
        credential_from_row(previous)
    }

    async fn revoke(
        &self,
        app_key: &str,
        at: DateTime<Utc>,
        reason: &str,
        audit: &AuditRecord,
    ) -> Result<Credential, GatewayError> {
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        let row = platform_wide::<Entity>()
            .filter(Column::AppKey.eq(app_key))
            .one(&txn)
            .await
            .map_err(storage)?
            .ok_or_else(|| GatewayError::NotFound {
                kind: "credential",
                id: app_key.to_string(),
            })?;
        if row.state == CredentialState::Revoked.as_str() {
            // Revoking again changes nothing: the first revocation stands.
            return credential_from_row(row);
        }
        let mut active = row.into_active_model();
        active.state = Set(CredentialState::Revoked.as_str().to_string());
        active.revoked_at = Set(Some(at));
        active.revoke_reason = Set(reason.to_string());
        let updated = sea_orm::ActiveModelTrait::update(active, &txn)
            .await
            .map_err(storage)?;
        record_change(&txn, audit).await?;
        txn.commit().await.map_err(storage)?;
        credential_from_row(updated)
    }

    async fn mark_used(&self, used: &[(String, DateTime<Utc>)]) -> Result<(), GatewayError> {
        if used.is_empty() {
            return Ok(());
        }
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        for (app_key, at) in used {
            platform_wide_update::<Entity>()
                .col_expr(Column::LastUsedAt, Expr::value(*at))
                .filter(Column::AppKey.eq(app_key.as_str()))
                .exec(&txn)
                .await
                .map_err(storage)?;
        }
        txn.commit().await.map_err(storage)
    }
}

impl SeaCredentials {
    /// [`CredentialRepository::mark_used`], for the front door that holds
    /// the concrete store.
    pub async fn mark_used(&self, used: &[(String, DateTime<Utc>)]) -> Result<(), GatewayError> {
        CredentialRepository::mark_used(self, used).await
    }
}

/// Rows of credentials a request signed with them is accepted at `now`.
pub(super) fn accepted_at(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(Column::State.is_in([
            CredentialState::Active.as_str(),
            CredentialState::Rotating.as_str(),
        ]))
        .add(
            Condition::any()
                .add(Column::ExpiresAt.is_null())
                .add(Column::ExpiresAt.gt(now)),
        )
}

fn new_row(new: &NewCredential) -> Model {
    let credential = &new.credential;
    Model {
        app_key: credential.app_key.clone(),
        app_id: credential.app_id.to_string(),
        state: credential.state.as_str().to_string(),
        sealed_secret: base64::engine::general_purpose::STANDARD.encode(&new.sealed_secret),
        secret_hint: credential.secret_hint.clone(),
        created_at: credential.created_at,
        expires_at: credential.expires_at,
        revoked_at: credential.revoked_at,
        revoke_reason: String::new(),
        last_used_at: credential.last_used_at,
    }
}

fn parse_cursor(after: &str) -> Result<(DateTime<Utc>, String), GatewayError> {
    let invalid = || GatewayError::invalid("page.page_token", "is not a token this API issued");
    let (micros, app_key) = after.split_once(' ').ok_or_else(invalid)?;
    let micros: i64 = micros.parse().map_err(|_| invalid())?;
    let created_at = DateTime::from_timestamp_micros(micros).ok_or_else(invalid)?;
    Ok((created_at, app_key.to_string()))
}

/// The listed form of a stored credential.
pub(super) fn credential_from_row(row: Model) -> Result<Credential, GatewayError> {
    Ok(Credential {
        app_id: Uuid::parse_str(&row.app_id).map_err(|_| {
            GatewayError::Storage(format!("credential {}: bad app_id", row.app_key))
        })?,
        state: CredentialState::from_name(&row.state).ok_or_else(|| {
            GatewayError::Storage(format!("credential {}: bad state", row.app_key))
        })?,
        app_key: row.app_key,
        secret_hint: row.secret_hint,
        created_at: row.created_at,
        expires_at: row.expires_at,
        revoked_at: row.revoked_at,
        last_used_at: row.last_used_at,
    })
}

/// The sealed secret of a stored credential, decoded from base64.
pub(super) fn sealed_secret(row: &Model) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(&row.sealed_secret)
        .ok()
}
