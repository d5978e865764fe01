//! Tenant isolation in the data layer. Every repository query of a
//! tenant-owned table starts from [`ScopedEntity::find_in`] (or its update and
//! delete siblings), which cannot be called without a [`TenantScope`]; a
//! scope comes only from the authenticated [`crate::auth::Caller`]. Services'
//! lint configuration forbids the unscoped `Entity::find()` family, so the
//! filter is not a `WHERE` someone may forget.

use sea_orm::sea_query::Condition;
use sea_orm::{ColumnTrait, DeleteMany, EntityTrait, QueryFilter, Select, UpdateMany};

use crate::tenant::{DivisionCode, DivisionLevel, TenantId};

/// The rows a request may touch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantScope {
    own: TenantId,
    /// Divisions an explicit cross-tenant grant opens (for reading).
    granted: Vec<DivisionCode>,
}

impl TenantScope {
    /// Exactly one tenant's rows.
    pub fn tenant(own: TenantId) -> Self {
        Self {
            own,
            granted: Vec::new(),
        }
    }

    /// The tenant's rows and those of every tenant within `divisions`.
    pub fn with_grant(own: TenantId, divisions: Vec<DivisionCode>) -> Self {
        Self {
            own,
            granted: divisions,
        }
    }

    /// The tenant the scope belongs to: new rows are created for it.
    pub fn own(&self) -> &TenantId {
        &self.own
    }

    /// Whether the scope reaches beyond its own tenant.
    pub fn is_cross_tenant(&self) -> bool {
        !self.granted.is_empty()
    }

    /// Whether a row of `tenant` is inside the scope.
    pub fn permits(&self, tenant: &TenantId) -> bool {
        *tenant == self.own
            || self
                .granted
                .iter()
                .any(|division| division.contains(&tenant.division))
    }

    /// The SQL condition selecting the scope's rows.
    pub fn condition<C: ColumnTrait>(&self, division: C, department: C) -> Condition {
        let own = Condition::all()
            .add(division.eq(self.own.division.as_str()))
            .add(department.eq(self.own.department.clone().unwrap_or_default()));
        self.granted
            .iter()
            .fold(Condition::any().add(own), |any, granted| {
                any.add(division.like(division_pattern(granted)))
            })
    }
}

/// `33%` for a province, `3311%` for a city, the code itself for a county.
fn division_pattern(division: &DivisionCode) -> String {
    let code = division.as_str();
    match division.level() {
        DivisionLevel::Province => format!("{}%", &code[..2]),
        DivisionLevel::City => format!("{}%", &code[..4]),
        DivisionLevel::County => code.to_string(),
    }
}

/// A table whose rows belong to a tenant.
pub trait TenantOwned: EntityTrait {
    /// The column holding the owner's division code.
    fn division_column() -> Self::Column;
    /// The column holding the owner's department ("" for none).
    fn department_column() -> Self::Column;
}

/// Scoped entry points to a tenant-owned table; the only ones services use.
pub trait ScopedEntity: TenantOwned {
    /// `SELECT` limited to the scope's rows.
    #[allow(clippy::disallowed_methods)]
    fn find_in(scope: &TenantScope) -> Select<Self> {
        Self::find().filter(scope.condition(Self::division_column(), Self::department_column()))
    }

    /// `SELECT` of the scope's rows and of the other tenants' rows that
    /// `shared` opens to it: rows their owners shared with every tenant (a
    /// catalog's shared resources), or rows naming the scope's tenant in
    /// another role (a grant's grantee, via [`TenantScope::condition`] on
    /// those columns). `shared` tests the rows' own columns; it never comes
    /// from a request.
    #[allow(clippy::disallowed_methods)]
    fn find_in_or_shared(scope: &TenantScope, shared: Condition) -> Select<Self> {
        Self::find().filter(
            Condition::any()
                .add(scope.condition(Self::division_column(), Self::department_column()))
                .add(shared),
        )
    }

    /// `UPDATE … WHERE` limited to the scope's rows.
    #[allow(clippy::disallowed_methods)]
    fn update_many_in(scope: &TenantScope) -> UpdateMany<Self> {
        Self::update_many()
            .filter(scope.condition(Self::division_column(), Self::department_column()))
    }

    /// `DELETE … WHERE` limited to the scope's rows.
    #[allow(clippy::disallowed_methods)]
    fn delete_many_in(scope: &TenantScope) -> DeleteMany<Self> {
        Self::delete_many()
            .filter(scope.condition(Self::division_column(), Self::department_column()))
    }

    /// `SELECT` over every tenant's rows, for the platform's own work that no
    /// caller scopes: timers over persisted deadlines, and handlers of events
    /// that name the rows they concern. `purpose` says which, for the log.
    /// Never for a request: a caller's reads go through [`Self::find_in`].
    #[allow(clippy::disallowed_methods)]
    fn find_for_system(purpose: SystemPurpose) -> Select<Self> {
        tracing::trace!(purpose = purpose.0, "platform-wide query");
        Self::find()
    }

    /// `UPDATE … WHERE` over every tenant's rows; see [`Self::find_for_system`].
    #[allow(clippy::disallowed_methods)]
    fn update_many_for_system(purpose: SystemPurpose) -> UpdateMany<Self> {
        tracing::trace!(purpose = purpose.0, "platform-wide update");
        Self::update_many()
    }
}

/// Why a query reaches across tenants without a caller: named so such
/// queries are easy to find and review (`SystemPurpose::TIMER`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemPurpose(pub &'static str);

impl SystemPurpose {
    /// A timer looking for work that came due (deadlines, expiries).
    pub const TIMER: Self = Self("timer");
    /// A consumed event naming the rows it concerns.
    pub const EVENT: Self = Self("event");
}

impl<E: TenantOwned> ScopedEntity for E {}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(key: &str) -> TenantId {
        TenantId::from_key(key).expect("tenant")
    }

    #[test]
    fn own_scope_permits_exactly_its_tenant() {
        let scope = TenantScope::tenant(tenant("331100/housing-fund"));
        assert!(scope.permits(&tenant("331100/housing-fund")));
        assert!(!scope.permits(&tenant("331100/civil-affairs")));
        assert!(!scope.permits(&tenant("331100")));
        assert!(!scope.permits(&tenant("330100/housing-fund")));
    }

    #[test]
    fn a_grant_opens_the_divisions_it_names() {
        let scope = TenantScope::with_grant(
            tenant("330000/big-data"),
            vec![DivisionCode::parse("331100").expect("city")],
        );
        assert!(scope.permits(&tenant("331100/housing-fund")));
        assert!(scope.permits(&tenant("331121/civil-affairs")));
        assert!(!scope.permits(&tenant("330100/housing-fund")));
        assert!(scope.is_cross_tenant());
    }

    mod shared_row {
        use sea_orm::entity::prelude::*;

        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "rows")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub id: String,
            pub division: String,
            pub department: String,
            pub shared: bool,
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}

        impl crate::TenantOwned for Entity {
            fn division_column() -> Column {
                Column::Division
            }
            fn department_column() -> Column {
                Column::Department
            }
        }
    }

    #[test]
    fn shared_rows_widen_the_scope_only_by_their_own_condition() {
        use sea_orm::{DbBackend, QueryTrait};
        let scope = TenantScope::tenant(tenant("331100/housing-fund"));
        let shared = Condition::all().add(shared_row::Column::Shared.eq(true));
        let sql = shared_row::Entity::find_in_or_shared(&scope, shared)
            .build(DbBackend::Postgres)
            .to_string();
        assert!(
            sql.ends_with(
                r#"WHERE ("rows"."division" = '331100' AND "rows"."department" = 'housing-fund') OR "rows"."shared" = TRUE"#
            ),
            "{sql}"
        );
    }

    #[test]
    fn patterns_follow_the_division_level() {
        let pattern = |code| division_pattern(&DivisionCode::parse(code).expect("code"));
        assert_eq!(pattern("330000"), "33%");
        assert_eq!(pattern("331100"), "3311%");
        assert_eq!(pattern("331121"), "331121");
    }
}
