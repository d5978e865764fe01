//! The gRPC metric families, server and client side, and the per-method
//! handles the telemetry layers record into.
//!
//! | family | labels |
//! |---|---|
//! | `grpc_{server,client}_requests_total` (counter) | `service`, `method`, `code` |
//! | `grpc_{server,client}_request_duration_seconds` (histogram) | `service`, `method`, `code` |
//! | `grpc_{server,client}_in_flight` (gauge) | `service`, `method` |
//!
//! `service` is the serving service on the server side and the called
//! (target) service on the client side; `method` is `package.Service/Method`;
//! `code` the gRPC status name (`OK`, `NotFound`, …).

use std::sync::{Arc, LazyLock, OnceLock};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::grpc::status::GrpcCode;

/// Upper bounds from 100 µs to 10 s: cache hits and code checks sit at the
/// low end, cross-service calls with database work in the middle, timeouts at
/// the top.
const DURATION_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// Which end of a call is being measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Server,
    Client,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    service: String,
    method: String,
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    service: String,
    method: String,
}

type DurationFamily = Family<CallLabels, Histogram, fn() -> Histogram>;

struct SideFamilies {
    requests: Family<CallLabels, Counter>,
    duration: DurationFamily,
    in_flight: Family<MethodLabels, Gauge>,
}

impl SideFamilies {
    fn new() -> Self {
        Self {
            requests: Family::default(),
            duration: Family::new_with_constructor(|| Histogram::new(DURATION_BUCKETS)),
            in_flight: Family::default(),
        }
    }

    fn register(&self, registry: &mut Registry, side: &str, whose: &str) {
        registry.register(
            format!("grpc_{side}_requests"),
            format!("gRPC calls {whose}, by final status code"),
            super::AlwaysDescribed(self.requests.clone()),
        );
        registry.register_with_unit(
            format!("grpc_{side}_request_duration"),
            format!("Time from request to final status of gRPC calls {whose}"),
            Unit::Seconds,
            super::AlwaysDescribed(self.duration.clone()),
        );
        registry.register(
            format!("grpc_{side}_in_flight"),
            format!("gRPC calls {whose} that have not finished yet"),
            super::AlwaysDescribed(self.in_flight.clone()),
        );
    }
}

struct GrpcFamilies {
    server: SideFamilies,
    client: SideFamilies,
}

static FAMILIES: LazyLock<GrpcFamilies> = LazyLock::new(|| GrpcFamilies {
    server: SideFamilies::new(),
    client: SideFamilies::new(),
});

/// Adds the gRPC families to the process registry (once, when it is built).
pub(super) fn register(registry: &mut Registry) {
    FAMILIES.server.register(registry, "server", "handled");
    FAMILIES.client.register(registry, "client", "made");
}

fn families(side: Side) -> &'static SideFamilies {
    match side {
        Side::Server => &FAMILIES.server,
        Side::Client => &FAMILIES.client,
    }
}

/// The metric handles of one (service, method), resolved once so a call
/// costs a few atomic operations, not a label lookup.
pub(crate) struct MethodMetrics {
    side: Side,
    service: Arc<str>,
    method: String,
    in_flight: Gauge,
    /// Counter and histogram per status code, created on first use so only
    /// codes that occurred are exported.
    by_code: [OnceLock<(Counter, Histogram)>; GrpcCode::COUNT],
}

impl MethodMetrics {
    pub(crate) fn new(side: Side, service: Arc<str>, method: String) -> Self {
        let in_flight = families(side).in_flight.get_or_create_owned(&MethodLabels {
            service: service.to_string(),
            method: method.clone(),
        });
        Self {
            side,
            service,
            method,
            in_flight,
            by_code: std::array::from_fn(|_| OnceLock::new()),
        }
    }

    pub(crate) fn started(&self) {
        self.in_flight.inc();
    }

    pub(crate) fn finished(&self, code: GrpcCode, elapsed: Duration) {
        self.in_flight.dec();
        let (requests, duration) = self.by_code[code.index()].get_or_init(|| {
            let labels = CallLabels {
                service: self.service.to_string(),
                method: self.method.clone(),
                code: code.name(),
            };
            let families = families(self.side);
            (
                families.requests.get_or_create_owned(&labels),
                families.duration.get_or_create_owned(&labels),
            )
        });
        requests.inc();
        duration.observe(elapsed.as_secs_f64());
    }
}
