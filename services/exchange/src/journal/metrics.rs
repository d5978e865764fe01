//! Reconciliation results in the process-wide Prometheus registry.

use std::sync::LazyLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use uuid::Uuid;
use zhongtai_telemetry::metrics::AlwaysDescribed;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LineLabels {
    line: String,
}

static MISMATCHES: LazyLock<Family<LineLabels, Counter>> = LazyLock::new(|| {
    let mismatches = Family::default();
    zhongtai_telemetry::metrics::with_registry(|registry| {
        registry.register(
            "zhongtai_exchange_reconciliation_mismatches",
            "Reconciliation windows found mismatched (a hop lost, duplicated or changed records)",
            AlwaysDescribed(mismatches.clone()),
        );
    });
    mismatches
});

/// Registers the family, so it is served before the first mismatch.
pub(super) fn register() {
    LazyLock::force(&MISMATCHES);
}

/// Counts one window of `line` reported mismatched.
pub(super) fn mismatched(line: Uuid) {
    MISMATCHES
        .get_or_create(&LineLabels {
            line: line.to_string(),
        })
        .inc();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mismatches_are_counted_per_line() {
        let line = Uuid::new_v4();
        register();
        mismatched(line);
        mismatched(line);
        let exposition = zhongtai_telemetry::metrics::encode();
        assert!(
            exposition.contains(&format!(
                "zhongtai_exchange_reconciliation_mismatches_total{{line=\"{line}\"}} 2"
            )),
            "{exposition}"
        );
    }
}
