//! What `zhongtai status` found, in the shape `--json` prints, and the
//! verdict drawn from it.

use serde::{Serialize, Serializer};
use zhongtai_contracts::exchange::v1::LineState;

/// An instance's answer to its own health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Health {
    Serving,
    NotServing,
    /// Up, but it does not serve the service discovery lists it under.
    ServiceUnknown,
    Unknown,
    /// No connection, or no answer within the probe timeout.
    Unreachable,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Serving => "SERVING",
            Health::NotServing => "NOT_SERVING",
            Health::ServiceUnknown => "SERVICE_UNKNOWN",
            Health::Unknown => "UNKNOWN",
            Health::Unreachable => "UNREACHABLE",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    pub services: Vec<ServiceReport>,
    pub lines: Vec<LineReport>,
    /// Why the lines could not be listed (no token, a token without a
    /// reading role, the exchange center down); `null` when they were.
    pub lines_error: Option<String>,
    pub summary: Summary,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceReport {
    pub service: String,
    pub instances: Vec<InstanceReport>,
    /// Why discovery could not say which instances there are.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InstanceReport {
    pub id: String,
    pub address: String,
    pub version: String,
    pub zone: String,
    pub health: Health,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LineReport {
    pub id: String,
    pub name: String,
    #[serde(serialize_with = "short_state")]
    pub state: LineState,
    pub state_reason: String,
    /// `null` when the line's status could not be read.
    pub capture_lag_ms: Option<i64>,
    /// The largest delivery lag among its subscriptions; `null` when it has
    /// none or its status could not be read.
    pub worst_subscription_lag_ms: Option<i64>,
    pub subscriptions: Option<usize>,
    /// Why the line's status could not be read.
    pub error: Option<String>,
}

impl LineReport {
    /// Failed lines need an operator; degraded ones are retrying a fault.
    pub fn is_troubled(&self) -> bool {
        matches!(self.state, LineState::Failed | LineState::Degraded)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Services with at least one SERVING instance.
    pub services_ok: usize,
    pub services_total: usize,
    pub instances_serving: usize,
    pub instances_total: usize,
    /// Lines FAILED or DEGRADED.
    pub lines_degraded: usize,
    /// Every service OK and no line degraded: what the exit status says.
    pub healthy: bool,
}

impl Snapshot {
    pub fn new(services: Vec<ServiceReport>, lines: Result<Vec<LineReport>, String>) -> Self {
        let (lines, lines_error) = match lines {
            Ok(lines) => (lines, None),
            Err(error) => (Vec::new(), Some(error)),
        };
        let summary = Summary::of(&services, &lines);
        Self {
            services,
            lines,
            lines_error,
            summary,
        }
    }
}

impl Summary {
    fn of(services: &[ServiceReport], lines: &[LineReport]) -> Self {
        let serving = |service: &ServiceReport| {
            service
                .instances
                .iter()
                .filter(|i| i.health == Health::Serving)
                .count()
        };
        let services_ok = services.iter().filter(|s| serving(s) > 0).count();
        let lines_degraded = lines.iter().filter(|l| l.is_troubled()).count();
        Self {
            services_ok,
            services_total: services.len(),
            instances_serving: services.iter().map(serving).sum(),
            instances_total: services.iter().map(|s| s.instances.len()).sum(),
            lines_degraded,
            healthy: services_ok == services.len() && lines_degraded == 0,
        }
    }
}

/// `STREAMING` rather than `LINE_STATE_STREAMING`.
pub fn state_name(state: LineState) -> &'static str {
    let name = state.as_str_name();
    name.strip_prefix("LINE_STATE_").unwrap_or(name)
}

fn short_state<S: Serializer>(state: &LineState, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(state_name(*state))
}
