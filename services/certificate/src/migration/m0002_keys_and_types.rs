//! The certificate center's signing keys, the platform key, trust-list versions and certificate types.
//!
//! None of these tables belongs to a tenant: certificate types and the trust
//! list are platform-wide, and keys are reached through their issuer (whose
//! row is tenant-owned) or by key id from a token header.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CertificateTypes {
    Table,
    Code,
    Name,
    Description,
    Claims,
    HolderKind,
    DefaultValiditySecs,
    Version,
    RequestId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum IssuerCertificateTypes {
    Table,
    IssuerId,
    CertificateType,
    Position,
}

#[derive(DeriveIden)]
enum SigningKeys {
    Table,
    KeyId,
    IssuerId,
    Algorithm,
    PublicKey,
    SealedPrivateKey,
    State,
    CreatedAt,
    ActivatedAt,
    RetiredAt,
    VerifyUntil,
    RevokedAt,
    RevokeReason,
    RequestId,
    ReplacesKeyId,
}

#[derive(DeriveIden)]
enum PlatformKeys {
    Table,
    KeyId,
    Purpose,
    PublicKey,
    SealedPrivateKey,
    CreatedAt,
}

#[derive(DeriveIden)]
enum TrustListState {
    Table,
    Id,
    Version,
    PublishedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CertificateTypes::Table)
                    .col(string_len(CertificateTypes::Code, 64).primary_key())
                    .col(text(CertificateTypes::Name))
                    .col(text(CertificateTypes::Description))
                    .col(json(CertificateTypes::Claims))
                    .col(string_len(CertificateTypes::HolderKind, 16))
                    .col(big_integer_null(CertificateTypes::DefaultValiditySecs))
                    .col(big_integer(CertificateTypes::Version))
                    .col(string_len_uniq(CertificateTypes::RequestId, 128))
                    .col(timestamp_with_time_zone(CertificateTypes::CreatedAt))
                    .col(timestamp_with_time_zone(CertificateTypes::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(IssuerCertificateTypes::Table)
                    .col(string_len(IssuerCertificateTypes::IssuerId, 36))
                    .col(string_len(IssuerCertificateTypes::CertificateType, 64))
                    .col(integer(IssuerCertificateTypes::Position))
                    .primary_key(
                        Index::create()
                            .col(IssuerCertificateTypes::IssuerId)
                            .col(IssuerCertificateTypes::CertificateType),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SigningKeys::Table)
                    .col(string_len(SigningKeys::KeyId, 32).primary_key())
                    .col(string_len(SigningKeys::IssuerId, 36))
                    .col(string_len(SigningKeys::Algorithm, 16))
                    .col(text(SigningKeys::PublicKey))
                    .col(blob(SigningKeys::SealedPrivateKey))
                    .col(string_len(SigningKeys::State, 16))
                    .col(timestamp_with_time_zone(SigningKeys::CreatedAt))
                    .col(timestamp_with_time_zone(SigningKeys::ActivatedAt))
                    .col(timestamp_with_time_zone_null(SigningKeys::RetiredAt))
                    .col(timestamp_with_time_zone_null(SigningKeys::VerifyUntil))
                    .col(timestamp_with_time_zone_null(SigningKeys::RevokedAt))
                    .col(text(SigningKeys::RevokeReason))
                    // The request that created the key (CreateIssuer or
                    // RotateSigningKey); none for a revocation's replacement.
                    .col(string_len_null(SigningKeys::RequestId, 128).unique_key())
                    .col(string_len_null(SigningKeys::ReplacesKeyId, 32))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("signing_keys_issuer_created")
                    .table(SigningKeys::Table)
                    .col(SigningKeys::IssuerId)
                    .col(SigningKeys::CreatedAt)
                    .to_owned(),
            )
            .await?;
        // At most one active key per issuer, whatever two instances rotate
        // at once. A partial index reads the same on PostgreSQL and SQLite.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (issuer_id) \
                 WHERE state = 'active'",
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PlatformKeys::Table)
                    .col(string_len(PlatformKeys::KeyId, 32).primary_key())
                    // One row per purpose: instances racing to create the
                    // platform key insert the same purpose, one wins.
                    .col(string_len_uniq(PlatformKeys::Purpose, 32))
                    .col(text(PlatformKeys::PublicKey))
                    .col(blob(PlatformKeys::SealedPrivateKey))
                    .col(timestamp_with_time_zone(PlatformKeys::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TrustListState::Table)
                    .col(integer(TrustListState::Id).primary_key())
                    .col(big_integer(TrustListState::Version))
                    .col(timestamp_with_time_zone(TrustListState::PublishedAt))
                    .to_owned(),
            )
            .await?;
        let first = Query::insert()
            .into_table(TrustListState::Table)
            .columns([
                TrustListState::Id,
                TrustListState::Version,
                TrustListState::PublishedAt,
            ])
            .values([
                1.into(),
                0i64.into(),
                chrono::DateTime::<chrono::Utc>::UNIX_EPOCH.into(),
            ])
            .map_err(|e| DbErr::Custom(e.to_string()))?
            .to_owned();
        manager.exec_stmt(first).await
    }
}
