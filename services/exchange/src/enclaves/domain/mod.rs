//! The rules of enclaves, free of transport and storage types: names,
//! column types and the values they take, written rows, received tables
//! that grow with their source, and who may backflow to whom.

pub mod backflow;
pub mod names;
pub mod received;
pub mod rows;
pub mod table;

use chrono::{DateTime, Utc};
use uuid::Uuid;
use zhongtai_kit::TenantId;

use crate::domain::policy::DeliveryPolicy;

pub use table::{ColumnDef, ColumnType, TableDef, TableOrigin};

/// Limits of the contract.
pub const MAX_WRITE_ROWS: usize = 10_000;
pub const MAX_WRITE_BYTES: usize = 16 * 1024 * 1024;
pub const MAX_COLUMNS: usize = 500;
pub const MAX_KEY_COLUMNS: usize = 16;
pub const MAX_PAGE_SIZE: u64 = 1_000;
pub const DEFAULT_PAGE_SIZE: u64 = 100;
pub const MAX_REQUEST_ID_CHARS: usize = 128;
pub const MAX_ENCLAVE_NAME_CHARS: usize = 200;

/// Where an enclave stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnclaveState {
    Active,
    Frozen,
}

impl EnclaveState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Frozen => "frozen",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Active, Self::Frozen]
            .into_iter()
            .find(|state| state.as_str() == name)
    }
}

/// A tenant's enclave.
#[derive(Debug, Clone, PartialEq)]
pub struct Enclave {
    pub id: Uuid,
    pub tenant: TenantId,
    pub name: String,
    pub state: EnclaveState,
    pub request_id: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A backflow rule: a slice of one enclave table flowing on to a child
/// tenant's enclave through a line of its own.
#[derive(Debug, Clone, PartialEq)]
pub struct BackflowRule {
    pub id: Uuid,
    pub enclave_id: Uuid,
    pub source_table: String,
    pub target_tenant: TenantId,
    pub target_enclave_id: Uuid,
    /// Never empty: the source table's name when the caller left it empty.
    pub target_table: String,
    pub policy: DeliveryPolicy,
    pub line_id: Uuid,
    pub subscription_id: Uuid,
    pub request_id: String,
    pub created_at: DateTime<Utc>,
}

/// An enclave with what it holds, as Get and List return it.
#[derive(Debug, Clone, PartialEq)]
pub struct EnclaveView {
    pub enclave: Enclave,
    pub tables: Vec<TableDef>,
    pub rules: Vec<BackflowRule>,
}

/// Whether a row passes a query's row filter, evaluated by the same rules
/// as every delivery policy.
pub fn admitted(
    filter: &crate::domain::policy::RowFilter,
    row: &[crate::domain::change::Column],
) -> bool {
    DeliveryPolicy {
        fields: Vec::new(),
        row_filter: filter.clone(),
    }
    .admits(row)
}
