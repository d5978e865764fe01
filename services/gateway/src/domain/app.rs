//! Integrator apps: outside systems that call capabilities through the
//! gateway.

use chrono::{DateTime, Utc};
use uuid::Uuid;
use zhongtai_kit::TenantId;

use super::capability::CapabilityName;

/// Whether an app may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppState {
    Active,
    /// Every call is refused; credentials are kept.
    Disabled,
}

impl AppState {
    pub const ALL: [Self; 2] = [Self::Active, Self::Disabled];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }

    /// Inverse of [`AppState::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == name)
    }
}

/// A registered integrator app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    pub id: Uuid,
    pub name: String,
    pub state: AppState,
    /// Capabilities the app may call, every version of each.
    pub allowed_capabilities: Vec<CapabilityName>,
    /// The tenant sponsoring the app on the platform.
    pub sponsor: TenantId,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_round_trip() {
        for state in AppState::ALL {
            assert_eq!(AppState::from_name(state.as_str()), Some(state));
        }
        assert_eq!(AppState::Disabled.as_str(), "disabled");
        assert_eq!(AppState::from_name("enabled"), None);
    }
}
