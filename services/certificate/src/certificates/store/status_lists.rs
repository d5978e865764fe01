//! Status-list groups, positions and list versions. Groups and lists are
//! platform-wide (every issuer's certificates share them), so their
//! queries are not tenant-scoped; the certificates they read are, through
//! a named system purpose.

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use zhongtai_kit::{ScopedEntity, SystemPurpose};

use super::entities::{certificate, status_list, status_list_group};
use super::random_below;
use super::rows::storage;
use crate::certificates::domain::lists::{
    GROUP_CAPACITY, GROUP_SIZE, ListPurpose, ListSnapshot, parse_list_id,
};
use crate::shared::{CertificateError, StatusEntry};

/// Reading which positions are taken and which bits are set.
const STATUS_LISTS: SystemPurpose = SystemPurpose("status-lists");
/// Random positions tried at once; with a group at most half full, all of
/// them are taken with a chance below one in 65,536.
const CANDIDATES: usize = 16;
/// Rounds of finding an open group before giving up.
const ALLOCATION_ROUNDS: usize = 8;

/// A free position at random in the first group with room, opening a new
/// group when every one is full. Counting the position in its group locks
/// the group's row until `txn` ends, so concurrent issuers in one group
/// pick positions one after another and never the same one.
pub async fn allocate_entry(txn: &DatabaseTransaction) -> Result<StatusEntry, CertificateError> {
    for _ in 0..ALLOCATION_ROUNDS {
        let Some(group) = open_group_with_room(txn).await? else {
            open_next_group(txn).await?;
            continue;
        };
        #[allow(clippy::disallowed_methods)] // platform-wide table
        let counted = status_list_group::Entity::update_many()
            .col_expr(
                status_list_group::Column::Allocated,
                Expr::col(status_list_group::Column::Allocated).add(1),
            )
            .filter(status_list_group::Column::Seq.eq(group.seq))
            .filter(
                Expr::col(status_list_group::Column::Allocated)
                    .lt(Expr::col(status_list_group::Column::Capacity)),
            )
            .exec(txn)
            .await
            .map_err(storage)?;
        if counted.rows_affected != 1 {
            continue;
        }
        if let Some(index) = free_position(txn, group.seq, group.size).await? {
            return Ok(StatusEntry {
                group: group.seq.to_string(),
                index,
            });
        }
    }
    Err(CertificateError::Storage(
        "no free status-list position found".into(),
    ))
}

async fn open_group_with_room<C: ConnectionTrait>(
    conn: &C,
) -> Result<Option<status_list_group::Model>, CertificateError> {
    #[allow(clippy::disallowed_methods)] // platform-wide table
    let select = status_list_group::Entity::find();
    select
        .filter(
            Expr::col(status_list_group::Column::Allocated)
                .lt(Expr::col(status_list_group::Column::Capacity)),
        )
        .order_by_asc(status_list_group::Column::Seq)
        .one(conn)
        .await
        .map_err(storage)
}

/// Opens the group after the last one, with its two lists at version 1 —
/// unless the last one has room after all (another instance opened it since
/// this transaction looked), so concurrent issuers never open two groups at
/// once. Another instance opening the next group first is as good.
async fn open_next_group(txn: &DatabaseTransaction) -> Result<(), CertificateError> {
    #[allow(clippy::disallowed_methods)] // platform-wide table
    let last = status_list_group::Entity::find()
        .order_by_desc(status_list_group::Column::Seq)
        .one(txn)
        .await
        .map_err(storage)?;
    if last
        .as_ref()
        .is_some_and(|group| group.allocated < group.capacity)
    {
        return Ok(());
    }
    let seq = last.map_or(0, |group| group.seq) + 1;
    let now = Utc::now();
    let attempt = txn.begin().await.map_err(storage)?;
    let group = status_list_group::ActiveModel {
        seq: ActiveValue::Set(seq),
        size: ActiveValue::Set(GROUP_SIZE as i64),
        capacity: ActiveValue::Set(GROUP_CAPACITY as i64),
        allocated: ActiveValue::Set(0),
        created_at: ActiveValue::Set(now),
    };
    let opened = status_list_group::Entity::insert(group)
        .exec_without_returning(&attempt)
        .await;
    if opened.is_err() {
        // Taken by a concurrent opener (or failing, which the next round
        // reports).
        attempt.rollback().await.map_err(storage)?;
        return Ok(());
    }
    let lists = ListPurpose::ALL.map(|purpose| status_list::ActiveModel {
        id: ActiveValue::Set(purpose.list_id(&seq.to_string())),
        group_seq: ActiveValue::Set(seq),
        purpose: ActiveValue::Set(purpose.as_str().to_string()),
        version: ActiveValue::Set(1),
        updated_at: ActiveValue::Set(now),
    });
    status_list::Entity::insert_many(lists)
        .exec_without_returning(&attempt)
        .await
        .map_err(storage)?;
    attempt.commit().await.map_err(storage)
}

async fn free_position<C: ConnectionTrait>(
    conn: &C,
    group: i64,
    size: i64,
) -> Result<Option<u64>, CertificateError> {
    let size = u64::try_from(size).map_err(storage)?;
    let candidates: Vec<i64> = (0..CANDIDATES).map(|_| random_below(size) as i64).collect();
    let taken: Vec<i64> = certificate::Entity::find_for_system(STATUS_LISTS)
        .select_only()
        .column(certificate::Column::StatusIndex)
        .filter(certificate::Column::StatusGroup.eq(group.to_string()))
        .filter(certificate::Column::StatusIndex.is_in(candidates.clone()))
        .into_tuple()
        .all(conn)
        .await
        .map_err(storage)?;
    Ok(candidates
        .into_iter()
        .find(|candidate| !taken.contains(candidate))
        .and_then(|index| u64::try_from(index).ok()))
}

/// Every list's version row, ordered by id byte for byte (as list pages
/// are; database collations may order `-` differently).
pub async fn list_versions<C: ConnectionTrait>(
    conn: &C,
) -> Result<Vec<status_list::Model>, CertificateError> {
    #[allow(clippy::disallowed_methods)] // platform-wide table
    let select = status_list::Entity::find();
    let mut rows = select.all(conn).await.map_err(storage)?;
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(rows)
}

/// One list's version row.
pub async fn list_version<C: ConnectionTrait>(
    conn: &C,
    id: &str,
) -> Result<Option<status_list::Model>, CertificateError> {
    #[allow(clippy::disallowed_methods)] // platform-wide table
    let select = status_list::Entity::find();
    select
        .filter(status_list::Column::Id.eq(id))
        .one(conn)
        .await
        .map_err(storage)
}

/// The list `row` describes, its bits read now: at least as new as the
/// row's version, so a newer change is picked up by the next read of the
/// versions rather than lost.
pub async fn snapshot<C: ConnectionTrait>(
    conn: &C,
    row: &status_list::Model,
) -> Result<ListSnapshot, CertificateError> {
    let (group, purpose) = parse_list_id(&row.id)
        .ok_or_else(|| storage(format!("status list id {:?} is malformed", row.id)))?;
    #[allow(clippy::disallowed_methods)] // platform-wide table
    let size: Option<i64> = status_list_group::Entity::find()
        .select_only()
        .column(status_list_group::Column::Size)
        .filter(status_list_group::Column::Seq.eq(row.group_seq))
        .into_tuple()
        .one(conn)
        .await
        .map_err(storage)?;
    let size = size.ok_or_else(|| storage(format!("status list {} has no group", row.id)))?;
    let set: Vec<i64> = certificate::Entity::find_for_system(STATUS_LISTS)
        .select_only()
        .column(certificate::Column::StatusIndex)
        .filter(certificate::Column::StatusGroup.eq(group.as_str()))
        .filter(certificate::Column::Status.eq(purpose.status().as_str()))
        .into_tuple()
        .all(conn)
        .await
        .map_err(storage)?;
    ListSnapshot::with_set_bits(
        &group,
        purpose,
        row.version,
        row.updated_at,
        u64::try_from(size).map_err(storage)?,
        set.into_iter()
            .filter_map(|index| u64::try_from(index).ok()),
    )
    .map_err(storage)
}

/// Bumps the versions of `group`'s lists for `purposes` (in the given
/// order, so concurrent changes lock rows alike) and reads them back. The
/// bump locks each list's row until `conn`'s transaction ends, so the bits
/// read after it are exactly those of the new version.
pub async fn bump<C: ConnectionTrait>(
    conn: &C,
    group: &str,
    purposes: &[ListPurpose],
) -> Result<Vec<ListSnapshot>, CertificateError> {
    let now = Utc::now();
    let mut snapshots = Vec::with_capacity(purposes.len());
    for purpose in purposes {
        let id = purpose.list_id(group);
        #[allow(clippy::disallowed_methods)] // platform-wide table
        let bumped = status_list::Entity::update_many()
            .col_expr(
                status_list::Column::Version,
                Expr::col(status_list::Column::Version).add(1),
            )
            .col_expr(status_list::Column::UpdatedAt, Expr::value(now))
            .filter(status_list::Column::Id.eq(id.as_str()))
            .exec(conn)
            .await
            .map_err(storage)?;
        if bumped.rows_affected != 1 {
            return Err(storage(format!("status list {id} does not exist")));
        }
        let row = list_version(conn, &id)
            .await?
            .ok_or_else(|| storage(format!("status list {id} vanished")))?;
        snapshots.push(snapshot(conn, &row).await?);
    }
    Ok(snapshots)
}
