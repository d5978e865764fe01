//! How a [`crate::MeshChannel`] connects, balances and retries.

use std::time::Duration;

use crate::MeshTls;

/// Settings of a [`crate::MeshChannel`]. Build with `..Default::default()`.
#[derive(Clone, Debug)]
pub struct ChannelConfig {
    /// Bound on establishing a connection to one instance.
    pub connect_timeout: Duration,
    /// Deadline given to calls whose caller set none (`grpc-timeout`).
    pub default_deadline: Duration,
    /// Attempts per call, the first included (1 disables retries). Only
    /// idempotent unary calls are ever attempted more than once.
    pub max_attempts: u32,
    /// Retries allowed as a share of calls (0.2: one retry per five calls)
    /// over [`retry_budget_window`](Self::retry_budget_window), so retries
    /// cannot multiply the load of a struggling service.
    pub retry_budget_ratio: f32,
    /// Retries per second allowed regardless of the ratio, so a quiet
    /// caller can still retry.
    pub retry_budget_min_per_second: u32,
    /// How long a call counts towards the retry budget.
    pub retry_budget_window: Duration,
    /// First wait before a retry; doubles per attempt, jittered.
    pub retry_backoff: Duration,
    /// Longest wait before a retry.
    pub retry_backoff_max: Duration,
    /// Requests larger than this are sent once, never buffered for a retry.
    pub max_retry_buffer_bytes: usize,
    /// How long an instance gets no traffic after a connection-level failure.
    pub ejection: Duration,
    /// How long a call waits for discovery to find an instance when none is
    /// known (bounded by the call's deadline).
    pub discovery_wait: Duration,
    /// HTTP/2 ping interval on idle and busy connections.
    pub keepalive_interval: Duration,
    /// A connection whose ping is not answered within this is closed.
    pub keepalive_timeout: Duration,
    /// Mutual TLS: when set, instances are dialled over TLS, present this
    /// identity, and must present a certificate naming the service called.
    /// `None` dials plaintext HTTP/2.
    pub tls: Option<MeshTls>,
}

impl Default for ChannelConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(1),
            default_deadline: Duration::from_secs(10),
            max_attempts: 3,
            retry_budget_ratio: 0.2,
            retry_budget_min_per_second: 10,
            retry_budget_window: Duration::from_secs(10),
            retry_backoff: Duration::from_millis(20),
            retry_backoff_max: Duration::from_millis(500),
            max_retry_buffer_bytes: 1024 * 1024,
            ejection: Duration::from_secs(5),
            discovery_wait: Duration::from_secs(3),
            keepalive_interval: Duration::from_secs(20),
            keepalive_timeout: Duration::from_secs(10),
            tls: None,
        }
    }
}
