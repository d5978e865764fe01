//! Signing keys and the platform key in the database.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;
use zhongtai_kit::{Page, PageQuery};

use super::rows::{key_from_row, platform_key_from_row};
use super::write::{is_unique_violation, platform_wide, platform_wide_update, storage};
use crate::issuers::domain::{
    KeyRecord, KeyState, LatestExpiry, MadeKey, NewPlatformKey, PlatformKeyRecord, StoredKey,
};
use crate::issuers::entities::{platform_key, signing_key};
use crate::shared::CertificateError;
use signing_key::{Column, Entity};

/// The purpose of the one platform key.
const PLATFORM_PURPOSE: &str = "platform";

pub(super) async fn stored(
    db: &DatabaseConnection,
    key_id: &str,
) -> Result<Option<StoredKey>, CertificateError> {
    platform_wide::<Entity>()
        .filter(Column::KeyId.eq(key_id))
        .one(db)
        .await
        .map_err(storage)?
        .map(|row| {
            Ok(StoredKey {
                record: key_from_row(&row)?,
                sealed_private_key: row.sealed_private_key,
            })
        })
        .transpose()
}

pub(super) async fn made_by(
    db: &DatabaseConnection,
    request_id: &str,
) -> Result<Option<MadeKey>, CertificateError> {
    platform_wide::<Entity>()
        .filter(Column::RequestId.eq(request_id))
        .one(db)
        .await
        .map_err(storage)?
        .map(|row| {
            Ok(MadeKey {
                record: key_from_row(&row)?,
                replaces: row.replaces_key_id,
            })
        })
        .transpose()
}

pub(super) async fn active(
    db: &DatabaseConnection,
    issuer_id: Uuid,
) -> Result<Option<KeyRecord>, CertificateError> {
    platform_wide::<Entity>()
        .filter(Column::IssuerId.eq(issuer_id.to_string()))
        .filter(Column::State.eq(KeyState::Active.as_str()))
        .one(db)
        .await
        .map_err(storage)?
        .map(|row| key_from_row(&row))
        .transpose()
}

/// Newest first; the page token is the last key's creation time and id.
pub(super) async fn of_issuer(
    db: &DatabaseConnection,
    issuer_id: Uuid,
    page: &PageQuery,
) -> Result<Page<KeyRecord>, CertificateError> {
    let mut query = platform_wide::<Entity>()
        .filter(Column::IssuerId.eq(issuer_id.to_string()))
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::KeyId);
    if let Some(after) = &page.after {
        let (created_at, key_id) = after
            .split_once('|')
            .and_then(|(at, id)| Some((DateTime::parse_from_rfc3339(at).ok()?, id)))
            .ok_or_else(|| {
                CertificateError::invalid("page.page_token", "is not a token this API issued")
            })?;
        let created_at = created_at.with_timezone(&Utc);
        query = query.filter(
            Condition::any().add(Column::CreatedAt.lt(created_at)).add(
                Condition::all()
                    .add(Column::CreatedAt.eq(created_at))
                    .add(Column::KeyId.lt(key_id)),
            ),
        );
    }
    let keys = query
        .limit(page.fetch_limit())
        .all(db)
        .await
        .map_err(storage)?
        .iter()
        .map(key_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(keys, page, |key| {
        format!("{}|{}", key.created_at.to_rfc3339(), key.key_id)
    }))
}

/// Reads the certificates part's table: the expiry of what `key_id`
/// signed. Before that part has created its table, nothing was signed.
pub(super) async fn latest_expiry(
    db: &DatabaseConnection,
    key_id: &str,
) -> Result<LatestExpiry, CertificateError> {
    let valid_until = Alias::new("valid_until");
    // A certificate without expiry sorts first, else the latest expiry.
    let query = Query::select()
        .column(valid_until.clone())
        .from(Alias::new("certificates"))
        .and_where(Expr::col(Alias::new("key_id")).eq(key_id))
        .order_by_expr(Expr::col(valid_until.clone()).is_null(), Order::Desc)
        .order_by(valid_until, Order::Desc)
        .limit(1)
        .to_owned();
    let row = match db.query_one(&query).await {
        Ok(row) => row,
        Err(e) if is_missing_table(&e) => return Ok(LatestExpiry::NothingSigned),
        Err(e) => return Err(storage(e)),
    };
    let Some(row) = row else {
        return Ok(LatestExpiry::NothingSigned);
    };
    let until: Option<DateTime<Utc>> = row.try_get("", "valid_until").map_err(storage)?;
    Ok(until.map_or(LatestExpiry::Never, LatestExpiry::At))
}

fn is_missing_table(e: &sea_orm::DbErr) -> bool {
    let message = e.to_string();
    message.contains("no such table") || message.contains("does not exist")
}

/// Retires a key that is still active; `false` when it was not.
pub(super) async fn retire<C: ConnectionTrait>(
    txn: &C,
    retired: &KeyRecord,
) -> Result<bool, CertificateError> {
    let updated = platform_wide_update::<Entity>()
        .col_expr(Column::State, Expr::value(KeyState::Retired.as_str()))
        .col_expr(Column::RetiredAt, Expr::value(retired.retired_at))
        .col_expr(Column::VerifyUntil, Expr::value(retired.verify_until))
        .filter(Column::KeyId.eq(retired.key_id.as_str()))
        .filter(Column::State.eq(KeyState::Active.as_str()))
        .exec(txn)
        .await
        .map_err(storage)?;
    Ok(updated.rows_affected == 1)
}

pub(super) async fn retired_since(
    db: &DatabaseConnection,
    since: DateTime<Utc>,
) -> Result<Vec<KeyRecord>, CertificateError> {
    platform_wide::<Entity>()
        .filter(Column::State.eq(KeyState::Retired.as_str()))
        .filter(Column::RetiredAt.gt(since))
        .filter(Column::VerifyUntil.is_not_null())
        .all(db)
        .await
        .map_err(storage)?
        .iter()
        .map(key_from_row)
        .collect()
}

/// Moves a retired key's `verify_until` from what `key` says it is;
/// `false` when it changed meanwhile.
pub(super) async fn set_verify_until<C: ConnectionTrait>(
    txn: &C,
    key: &KeyRecord,
    verify_until: Option<DateTime<Utc>>,
) -> Result<bool, CertificateError> {
    let updated = platform_wide_update::<Entity>()
        .col_expr(Column::VerifyUntil, Expr::value(verify_until))
        .filter(Column::KeyId.eq(key.key_id.as_str()))
        .filter(Column::State.eq(KeyState::Retired.as_str()))
        .filter(Column::VerifyUntil.eq(key.verify_until))
        .exec(txn)
        .await
        .map_err(storage)?;
    Ok(updated.rows_affected == 1)
}

/// Revokes a key still in state `previous`; `false` when it was not.
pub(super) async fn mark_revoked<C: ConnectionTrait>(
    txn: &C,
    revoked: &KeyRecord,
    previous: KeyState,
) -> Result<bool, CertificateError> {
    let updated = platform_wide_update::<Entity>()
        .col_expr(Column::State, Expr::value(KeyState::Revoked.as_str()))
        .col_expr(Column::RetiredAt, Expr::value(revoked.retired_at))
        .col_expr(Column::RevokedAt, Expr::value(revoked.revoked_at))
        .col_expr(
            Column::RevokeReason,
            Expr::value(revoked.revoke_reason.as_str()),
        )
        .filter(Column::KeyId.eq(revoked.key_id.as_str()))
        .filter(Column::State.eq(previous.as_str()))
        .exec(txn)
        .await
        .map_err(storage)?;
    Ok(updated.rows_affected == 1)
}

pub(super) async fn platform(
    db: &DatabaseConnection,
) -> Result<Option<(PlatformKeyRecord, Vec<u8>)>, CertificateError> {
    platform_wide::<platform_key::Entity>()
        .filter(platform_key::Column::Purpose.eq(PLATFORM_PURPOSE))
        .one(db)
        .await
        .map_err(storage)?
        .map(|row| Ok((platform_key_from_row(&row)?, row.sealed_private_key)))
        .transpose()
}

/// Inserts the platform key; `false` when another instance's came first.
pub(super) async fn insert_platform<C: ConnectionTrait>(
    txn: &C,
    key: &NewPlatformKey,
) -> Result<bool, CertificateError> {
    let row = platform_key::ActiveModel {
        key_id: ActiveValue::Set(key.record.key_id.clone()),
        purpose: ActiveValue::Set(PLATFORM_PURPOSE.into()),
        public_key: ActiveValue::Set(key.record.public_key.to_base64url()),
        sealed_private_key: ActiveValue::Set(key.sealed_private_key.clone()),
        created_at: ActiveValue::Set(key.record.created_at),
    };
    match row.insert(txn).await {
        Ok(_) => Ok(true),
        Err(e) if is_unique_violation(&e) => Ok(false),
        Err(e) => Err(storage(e)),
    }
}
