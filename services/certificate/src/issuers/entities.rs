//! Table mappings. Ids are UUID text, so the same entities work on
//! PostgreSQL and SQLite.

pub mod issuer {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "issuers")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_division: String,
        /// Empty when the issuer is the division as a whole.
        pub tenant_department: String,
        pub name: String,
        pub state: String,
        pub version: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    impl zhongtai_kit::TenantOwned for Entity {
        fn division_column() -> Column {
            Column::TenantDivision
        }
        fn department_column() -> Column {
            Column::TenantDepartment
        }
    }
}

/// The certificate types an issuer may issue, in the order given.
pub mod issuer_certificate_type {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "issuer_certificate_types")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub issuer_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub certificate_type: String,
        pub position: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Issuers' signing keys; the private key is sealed with the key
/// encryption key, its key id as context.
pub mod signing_key {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "signing_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub key_id: String,
        pub issuer_id: String,
        pub algorithm: String,
        /// Unpadded base64url of the raw public key.
        pub public_key: String,
        pub sealed_private_key: Vec<u8>,
        pub state: String,
        pub created_at: DateTimeUtc,
        pub activated_at: DateTimeUtc,
        pub retired_at: Option<DateTimeUtc>,
        pub verify_until: Option<DateTimeUtc>,
        pub revoked_at: Option<DateTimeUtc>,
        pub revoke_reason: String,
        pub request_id: Option<String>,
        pub replaces_key_id: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The platform's own key (codes, status lists, the trust list, consents).
pub mod platform_key {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "platform_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub key_id: String,
        pub purpose: String,
        pub public_key: String,
        pub sealed_private_key: Vec<u8>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The one row holding the trust list's current version.
pub mod trust_list_state {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "trust_list_state")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
        pub version: i64,
        pub published_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod certificate_type {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "certificate_types")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub code: String,
        pub name: String,
        pub description: String,
        /// `[{name, title, kind, required, include_in_code}]`.
        pub claims: Json,
        pub holder_kind: String,
        pub default_validity_secs: Option<i64>,
        pub version: i64,
        pub request_id: String,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
