//! A resource's version history, and the inverted index search runs on:
//! one row per (resource, term) with the term's weight, and one per
//! (resource, tag) for exact tag filters. Both keep the owner, like every
//! tenant-owned table, and are rewritten with the resource.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ResourceVersions {
    Table,
    ResourceId,
    Version,
    OwnerDivision,
    OwnerDepartment,
    Snapshot,
    ChangedFields,
    ChangedBy,
    ChangeNote,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SearchTerms {
    Table,
    ResourceId,
    Term,
    Weight,
    OwnerDivision,
    OwnerDepartment,
}

#[derive(DeriveIden)]
enum ResourceTags {
    Table,
    ResourceId,
    Tag,
    OwnerDivision,
    OwnerDepartment,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ResourceVersions::Table)
                    .col(string_len(ResourceVersions::ResourceId, 36))
                    .col(big_integer(ResourceVersions::Version))
                    .col(string_len(ResourceVersions::OwnerDivision, 6))
                    .col(string_len(ResourceVersions::OwnerDepartment, 64))
                    .col(json(ResourceVersions::Snapshot))
                    .col(json(ResourceVersions::ChangedFields))
                    .col(json(ResourceVersions::ChangedBy))
                    .col(text(ResourceVersions::ChangeNote))
                    .col(timestamp_with_time_zone(ResourceVersions::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(ResourceVersions::ResourceId)
                            .col(ResourceVersions::Version),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SearchTerms::Table)
                    .col(string_len(SearchTerms::ResourceId, 36))
                    .col(string_len(SearchTerms::Term, 256))
                    .col(integer(SearchTerms::Weight))
                    .col(string_len(SearchTerms::OwnerDivision, 6))
                    .col(string_len(SearchTerms::OwnerDepartment, 64))
                    .primary_key(
                        Index::create()
                            .col(SearchTerms::ResourceId)
                            .col(SearchTerms::Term),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("search_terms_term")
                    .table(SearchTerms::Table)
                    .col(SearchTerms::Term)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ResourceTags::Table)
                    .col(string_len(ResourceTags::ResourceId, 36))
                    .col(string_len(ResourceTags::Tag, 256))
                    .col(string_len(ResourceTags::OwnerDivision, 6))
                    .col(string_len(ResourceTags::OwnerDepartment, 64))
                    .primary_key(
                        Index::create()
                            .col(ResourceTags::ResourceId)
                            .col(ResourceTags::Tag),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("resource_tags_tag")
                    .table(ResourceTags::Table)
                    .col(ResourceTags::Tag)
                    .to_owned(),
            )
            .await
    }
}
