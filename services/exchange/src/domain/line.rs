//! Exchange lines: one source's changes, captured and delivered in order.

use chrono::{DateTime, Utc};
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub id: Uuid,
    /// Department that owns the source.
    pub owner: TenantId,
    /// Unique within the owner, e.g. `marriage-registration-cdc`.
    pub name: String,
    pub description: String,
    pub state: LineState,
    /// Catalog resource the line feeds, once linked.
    pub resource_id: Option<Uuid>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
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
