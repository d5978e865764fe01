//! Subscriptions: one tenant receiving a line's changes under a grant, and
//! the grants the catalog has announced.

use chrono::{DateTime, Utc};
use uuid::Uuid;
use zhongtai_kit::TenantId;

use super::policy::DeliveryPolicy;

/// Where a subscription stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionState {
    Active,
    /// Paused by an operator; changes wait at the line.
    Paused,
    /// Its grant was revoked or expired. Final.
    Revoked,
    /// Retrying delivery failures.
    Degraded,
    /// Final.
    Deleted,
}

impl SubscriptionState {
    pub const ALL: [Self; 5] = [
        Self::Active,
        Self::Paused,
        Self::Revoked,
        Self::Degraded,
        Self::Deleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Paused => "paused",
            Self::Revoked => "revoked",
            Self::Degraded => "degraded",
            Self::Deleted => "deleted",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether changes are delivered to it.
    pub fn receives(self) -> bool {
        matches!(self, Self::Active | Self::Degraded)
    }

    /// Whether the line holds its position for it (a paused subscriber
    /// must not miss what arrives meanwhile).
    pub fn holds_line(self) -> bool {
        matches!(self, Self::Active | Self::Degraded | Self::Paused)
    }

    pub fn is_final(self) -> bool {
        matches!(self, Self::Revoked | Self::Deleted)
    }
}

/// Delivery into an enclave table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnclaveTarget {
    pub enclave_id: Uuid,
    /// Target table; the source table's name (without schema) when the
    /// caller left it empty.
    pub table: String,
}

/// One tenant receiving a line.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    pub id: Uuid,
    pub line_id: Uuid,
    pub subscriber: TenantId,
    /// `None` only within one tenant (owner = subscriber).
    pub grant_id: Option<Uuid>,
    /// Durable RabbitMQ queue, when delivering to one.
    pub queue: Option<String>,
    pub enclave: Option<EnclaveTarget>,
    pub state: SubscriptionState,
    pub state_reason: String,
    /// Projection, masking and row filter applied to every change.
    pub policy: DeliveryPolicy,
    /// Last source position durably accepted downstream.
    pub delivered_position: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `zhongtai.exchange.<subscription id>`.
pub fn default_queue_name(subscription_id: Uuid) -> String {
    format!("zhongtai.exchange.{subscription_id}")
}

/// Where a catalog grant stands, as the exchange center last heard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantState {
    Pending,
    Approved,
    Provisioned,
    Revoked,
    Expired,
}

impl GrantState {
    pub const ALL: [Self; 5] = [
        Self::Pending,
        Self::Approved,
        Self::Provisioned,
        Self::Revoked,
        Self::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Provisioned => "provisioned",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether data may flow under it.
    pub fn allows_delivery(self) -> bool {
        matches!(self, Self::Approved | Self::Provisioned)
    }
}

/// A catalog grant as announced by `catalog.grant.*` events.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    pub id: Uuid,
    pub resource_id: Uuid,
    pub owner: TenantId,
    pub grantee: TenantId,
    pub policy: DeliveryPolicy,
    pub state: GrantState,
    /// Delivery stops here.
    pub valid_until: Option<DateTime<Utc>>,
    /// The catalog's revision; older announcements never overwrite newer.
    pub version: i64,
}

impl Grant {
    /// Whether data may flow under it at `now`.
    pub fn allows_delivery_at(&self, now: DateTime<Utc>) -> bool {
        self.state.allows_delivery() && self.valid_until.is_none_or(|end| now < end)
    }
}
