//! Data resources (数据资源): datasets a department owns and may share.

use chrono::{DateTime, Utc};
use uuid::Uuid;
use zhongtai_kit::TenantId;

/// Layer of the data platform a resource belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceLayer {
    /// Raw data as collected (原始库).
    Raw,
    /// Cleaned, standardised core data (基础库).
    Base,
    /// Data assembled for a subject (主题库).
    Theme,
}

impl ResourceLayer {
    pub const ALL: [Self; 3] = [Self::Raw, Self::Base, Self::Theme];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Raw => "raw",
            Self::Base => "base",
            Self::Theme => "theme",
        }
    }

    /// Inverse of [`ResourceLayer::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|layer| layer.as_str() == name)
    }
}

/// Lifecycle of a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceState {
    /// Listed and requestable.
    Published,
    /// Hidden from search and not requestable.
    Retired,
}

impl ResourceState {
    pub const ALL: [Self; 2] = [Self::Published, Self::Retired];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Published => "published",
            Self::Retired => "retired",
        }
    }

    /// Inverse of [`ResourceState::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == name)
    }
}

/// A registered data resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub id: Uuid,
    pub owner: TenantId,
    /// Natural key within the owner, e.g. `marriage-registration`.
    pub code: String,
    pub title: String,
    pub layer: ResourceLayer,
    pub state: ResourceState,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_names_round_trip() {
        for layer in ResourceLayer::ALL {
            assert_eq!(ResourceLayer::from_name(layer.as_str()), Some(layer));
        }
        assert_eq!(ResourceLayer::Base.as_str(), "base");
        assert_eq!(ResourceLayer::from_name("Base"), None);
        assert_eq!(ResourceLayer::from_name(""), None);
    }

    #[test]
    fn state_names_round_trip() {
        for state in ResourceState::ALL {
            assert_eq!(ResourceState::from_name(state.as_str()), Some(state));
        }
        assert_eq!(ResourceState::Retired.as_str(), "retired");
        assert_eq!(ResourceState::from_name("archived"), None);
    }
}
