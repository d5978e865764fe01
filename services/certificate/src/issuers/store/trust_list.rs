//! The trust list's stored version, and the list read from the keys.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder};
use zhongtai_events::Event;
use zhongtai_kit::{ScopedEntity, SystemPurpose};

use super::rows::{hydrate, key_from_row, platform_key_from_row};
use super::write::{platform_wide, platform_wide_update, storage};
use crate::issuers::domain::{KeyRecord, KeyState, TrustList, TrustedIssuer};
use crate::issuers::entities::{issuer, platform_key, signing_key, trust_list_state};
use crate::issuers::published;
use crate::shared::CertificateError;

/// The trust list is what verifiers everywhere read: the center itself
/// builds it from every tenant's issuers.
const TRUST_LIST: SystemPurpose = SystemPurpose("trust list");

pub(super) async fn version<C: ConnectionTrait>(conn: &C) -> Result<i64, CertificateError> {
    Ok(state(conn).await?.version)
}

async fn state<C: ConnectionTrait>(conn: &C) -> Result<trust_list_state::Model, CertificateError> {
    platform_wide::<trust_list_state::Entity>()
        .filter(trust_list_state::Column::Id.eq(1))
        .one(conn)
        .await
        .map_err(storage)?
        .ok_or_else(|| CertificateError::Storage("the trust list state row is missing".into()))
}

/// The current list: every issuer with a key that is not revoked, and the
/// platform keys.
pub(super) async fn load<C: ConnectionTrait>(conn: &C) -> Result<TrustList, CertificateError> {
    let state = state(conn).await?;
    let key_rows = platform_wide::<signing_key::Entity>()
        .filter(signing_key::Column::State.ne(KeyState::Revoked.as_str()))
        .order_by_asc(signing_key::Column::IssuerId)
        .order_by_desc(signing_key::Column::CreatedAt)
        .all(conn)
        .await
        .map_err(storage)?;
    let mut keys: HashMap<String, Vec<KeyRecord>> = HashMap::new();
    for row in &key_rows {
        keys.entry(row.issuer_id.clone())
            .or_default()
            .push(key_from_row(row)?);
    }
    let issuer_rows = if keys.is_empty() {
        Vec::new()
    } else {
        issuer::Entity::find_for_system(TRUST_LIST)
            .filter(issuer::Column::Id.is_in(keys.keys().map(String::as_str)))
            .order_by_asc(issuer::Column::Id)
            .all(conn)
            .await
            .map_err(storage)?
    };
    let issuers = hydrate(conn, issuer_rows)
        .await?
        .into_iter()
        .map(|issuer| TrustedIssuer {
            keys: keys.remove(&issuer.id.to_string()).unwrap_or_default(),
            issuer,
        })
        .collect();
    let platform_keys = platform_wide::<platform_key::Entity>()
        .order_by_asc(platform_key::Column::CreatedAt)
        .all(conn)
        .await
        .map_err(storage)?
        .iter()
        .map(platform_key_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(TrustList {
        version: state.version,
        published_at: state.published_at,
        issuers,
        platform_keys,
    })
}

/// Moves the version on inside the transaction of a key change and reads
/// the list as that change leaves it, with the event announcing it. Two
/// changes at once serialise on the state row.
pub(super) async fn publish_next<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
) -> Result<(TrustList, Event), CertificateError> {
    platform_wide_update::<trust_list_state::Entity>()
        .col_expr(
            trust_list_state::Column::Version,
            Expr::col(trust_list_state::Column::Version).add(1),
        )
        .col_expr(trust_list_state::Column::PublishedAt, Expr::value(now))
        .filter(trust_list_state::Column::Id.eq(1))
        .exec(txn)
        .await
        .map_err(storage)?;
    let list = load(txn).await?;
    let event = published::trust_list_published(&list.clone().trusted_at(now));
    Ok((list, event))
}
