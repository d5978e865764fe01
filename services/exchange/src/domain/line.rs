//! Exchange lines: one source's changes, captured and delivered in order.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zhongtai_kit::TenantId;

/// Where a line stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineState {
    /// Being set up (publication, slot).
    Provisioning,
    /// Copying existing rows while capturing changes.
    Snapshotting,
    Streaming,
    /// Paused by an operator; the source position is held.
    Paused,
    /// Stopped by an error it cannot recover from by itself.
    Failed,
    /// Retrying a transient failure.
    Degraded,
    /// Final.
    Deleted,
}

impl LineState {
    pub const ALL: [Self; 7] = [
        Self::Provisioning,
        Self::Snapshotting,
        Self::Streaming,
        Self::Paused,
        Self::Failed,
        Self::Degraded,
        Self::Deleted,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provisioning => "provisioning",
            Self::Snapshotting => "snapshotting",
            Self::Streaming => "streaming",
            Self::Paused => "paused",
            Self::Failed => "failed",
            Self::Degraded => "degraded",
            Self::Deleted => "deleted",
        }
    }

    /// Inverse of [`LineState::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == name)
    }
}

/// A configured exchange line.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub id: Uuid,
    /// Department that owns the source.
    pub owner: TenantId,
    /// Unique within the owner, e.g. `marriage-registration-cdc`.
    pub name: String,
    pub description: String,
    pub source: SourceSpec,
    pub state: LineState,
    /// Why it is in its state; empty when healthy.
    pub state_reason: String,
    pub snapshot: SnapshotProgress,
    /// Catalog resource the line feeds, once linked.
    pub resource_id: Option<Uuid>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Line {
    /// Whether a runner should be reading its source.
    pub fn is_runnable(&self) -> bool {
        matches!(
            self.state,
            LineState::Provisioning
                | LineState::Snapshotting
                | LineState::Streaming
                | LineState::Degraded
        )
    }
}

/// Where a line's changes come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum SourceSpec {
    /// A PostgreSQL database's write-ahead log (logical replication).
    Log(LogSourceSpec),
    /// Pushed by the source over `PushChanges`.
    Push(PushSourceSpec),
    /// Tables of an enclave, for backflow onward.
    Enclave(EnclaveSourceSpec),
}

impl SourceSpec {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Log(_) => "log",
            Self::Push(_) => "push",
            Self::Enclave(_) => "enclave",
        }
    }
}

/// A PostgreSQL source read through logical replication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogSourceSpec {
    /// Name of a source connection in the exchange center's configuration.
    pub connection_ref: String,
    /// Publication to use; empty means `zhongtai_<line id, no hyphens>`.
    pub publication: String,
    /// Replication slot to use; empty means `zhongtai_<line id, no hyphens>`.
    pub slot: String,
    pub tables: Vec<SourceTable>,
    /// Copy existing rows first.
    pub snapshot: bool,
    pub heartbeat_interval_ms: u64,
}

impl LogSourceSpec {
    /// The publication name in effect.
    pub fn publication_name(&self, line_id: Uuid) -> String {
        if self.publication.is_empty() {
            default_source_object_name(line_id)
        } else {
            self.publication.clone()
        }
    }

    /// The slot name in effect.
    pub fn slot_name(&self, line_id: Uuid) -> String {
        if self.slot.is_empty() {
            default_source_object_name(line_id)
        } else {
            self.slot.clone()
        }
    }

    /// Whether the line created (and so drops) its publication and slot.
    pub fn owns_publication(&self) -> bool {
        self.publication.is_empty()
    }

    pub fn owns_slot(&self) -> bool {
        self.slot.is_empty()
    }
}

/// `zhongtai_<line id without hyphens>`: a valid PostgreSQL identifier.
pub fn default_source_object_name(line_id: Uuid) -> String {
    format!("zhongtai_{}", line_id.simple())
}

/// A table captured by a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceTable {
    /// `public` when the caller left it empty.
    pub schema: String,
    pub name: String,
    /// Overrides the primary key; empty means the primary key.
    pub key_columns: Vec<String>,
}

impl SourceTable {
    /// `schema.name`.
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

/// A source that pushes its changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushSourceSpec {
    /// Tables with their key columns (required).
    pub tables: Vec<SourceTable>,
    /// The authenticated subject allowed to push.
    pub producer_subject: String,
}

/// Tables of an enclave as a source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnclaveSourceSpec {
    pub enclave_id: Uuid,
    pub tables: Vec<String>,
}

/// Progress of an initial snapshot.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SnapshotProgress {
    pub state: SnapshotState,
    pub rows_done: i64,
    /// Estimated from table statistics; -1 when unknown.
    pub rows_total: i64,
    pub rows_per_second: f64,
    pub eta_secs: Option<f64>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub tables: Vec<TableSnapshotProgress>,
    /// LSN text the snapshot is consistent with.
    pub consistent_position: String,
}

/// Where a snapshot stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotState {
    #[default]
    Pending,
    Running,
    Completed,
    Failed,
    /// Not requested (no snapshot, push and enclave sources).
    Skipped,
}

/// Snapshot progress of one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSnapshotProgress {
    /// Schema-qualified.
    pub table: String,
    pub rows_done: i64,
    /// -1 when unknown.
    pub rows_total: i64,
    pub completed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_round_trip() {
        for state in LineState::ALL {
            assert_eq!(LineState::from_name(state.as_str()), Some(state));
        }
        assert_eq!(LineState::Snapshotting.as_str(), "snapshotting");
        assert_eq!(LineState::from_name("running"), None);
        assert_eq!(LineState::from_name(""), None);
    }
}
