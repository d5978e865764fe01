//! What the other parts read of issuers through the [`Keyring`]: which
//! issuers a department has (to issue on its approved applications) and
//! which department an issuer belongs to (to unmask holders for it).
//!
//! [`Keyring`]: crate::shared::Keyring

use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder};
use uuid::Uuid;
use zhongtai_kit::{ScopedEntity, SystemPurpose, TenantId, TenantScope};

use crate::issuers::entities::issuer;
use crate::shared::CertificateError;

/// Verification names an issuer by the token it checks, not by a caller.
const VERIFICATION: SystemPurpose = SystemPurpose("verification");

/// The issuers of exactly `tenant`, oldest first.
pub async fn of_tenant<C: ConnectionTrait>(
    conn: &C,
    tenant: &TenantId,
) -> Result<Vec<Uuid>, CertificateError> {
    issuer::Entity::find_in(&TenantScope::tenant(tenant.clone()))
        .order_by_asc(issuer::Column::CreatedAt)
        .order_by_asc(issuer::Column::Id)
        .all(conn)
        .await
        .map_err(CertificateError::storage)?
        .into_iter()
        .map(|row| Uuid::parse_str(&row.id).map_err(CertificateError::storage))
        .collect()
}

/// The department an issuer belongs to.
pub async fn tenant_of<C: ConnectionTrait>(
    conn: &C,
    issuer_id: &str,
) -> Result<Option<TenantId>, CertificateError> {
    issuer::Entity::find_for_system(VERIFICATION)
        .filter(issuer::Column::Id.eq(issuer_id))
        .one(conn)
        .await
        .map_err(CertificateError::storage)?
        .map(|row| {
            TenantId::parse(&row.tenant_division, &row.tenant_department)
                .map_err(CertificateError::storage)
        })
        .transpose()
}
