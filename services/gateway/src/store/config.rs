//! The configuration every gateway instance loads: read across tenants,
//! since one gateway serves every tenant's apps.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use sea_orm::{
    AccessMode, ColumnTrait, DatabaseConnection, DbBackend, IsolationLevel, QueryFilter,
    TransactionTrait,
};
use zhongtai_credential::KeySealer;

use super::apps::app_from_row;
use super::capabilities::capability_from_row;
use super::credentials::{accepted_at, credential_from_row, sealed_secret};
use super::entities::{capability, credential, policy};
use super::policies::policy_from_row;
use super::shared::{apps_in, platform_wide, read_revision, storage};
use crate::domain::credential::open_secret;
use crate::domain::{AppScope, ConfigSnapshotData, ConfigSource, GatewayError, SigningCredential};

/// [`ConfigSource`] on sea-orm; opens credential secrets with `sealer`.
pub struct SeaConfig {
    db: DatabaseConnection,
    sealer: Arc<KeySealer>,
}

impl SeaConfig {
    /// The configuration stored in `db`, secrets sealed under `sealer`'s key.
    pub fn new(db: DatabaseConnection, sealer: Arc<KeySealer>) -> Self {
        Self { db, sealer }
    }
}

#[async_trait]
impl ConfigSource for SeaConfig {
    async fn revision(&self) -> Result<i64, GatewayError> {
        read_revision(&self.db).await
    }

    async fn load(&self) -> Result<ConfigSnapshotData, GatewayError> {
        // One snapshot: PostgreSQL's repeatable read sees every table at one
        // instant; SQLite's transactions already do.
        let txn = if self.db.get_database_backend() == DbBackend::Postgres {
            self.db
                .begin_with_config(
                    Some(IsolationLevel::RepeatableRead),
                    Some(AccessMode::ReadOnly),
                )
                .await
        } else {
            self.db.begin().await
        }
        .map_err(storage)?;
        let revision = read_revision(&txn).await?;
        let apps = apps_in(&AppScope::Everything)
            .all(&txn)
            .await
            .map_err(storage)?
            .into_iter()
            .map(app_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let mut credentials = Vec::new();
        for row in platform_wide::<credential::Entity>()
            .filter(accepted_at(Utc::now()))
            .all(&txn)
            .await
            .map_err(storage)?
        {
            let secret = sealed_secret(&row)
                .and_then(|sealed| open_secret(&self.sealer, &row.app_key, &sealed));
            let Some(secret) = secret else {
                tracing::error!(
                    app_key = %row.app_key,
                    "credential secret does not open with the configured key; the credential is skipped"
                );
                continue;
            };
            credentials.push(SigningCredential {
                credential: credential_from_row(row)?,
                secret,
            });
        }
        let capabilities = platform_wide::<capability::Entity>()
            .filter(capability::Column::Published.eq(true))
            .all(&txn)
            .await
            .map_err(storage)?
            .into_iter()
            .map(capability_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let policies = platform_wide::<policy::Entity>()
            .all(&txn)
            .await
            .map_err(storage)?
            .into_iter()
            .map(policy_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        txn.commit().await.map_err(storage)?;
        Ok(ConfigSnapshotData {
            revision,
            apps,
            credentials,
            capabilities,
            policies,
        })
    }
}
