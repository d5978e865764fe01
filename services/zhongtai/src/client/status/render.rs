//! The human screen of `zhongtai status`: pure functions from a snapshot to
//! table rows and lines, printed by [`print`].

use super::super::exchange::numbers::span_ms;
use super::super::output::{emit, print_section, print_table};
use super::snapshot::{Snapshot, Summary, state_name};

const INSTANCE_HEADERS: [&str; 7] = [
    "SERVICE", "INSTANCE", "ADDRESS", "VERSION", "ZONE", "HEALTH", "ERROR",
];
const LINE_HEADERS: [&str; 7] = [
    "LINE",
    "NAME",
    "STATE",
    "CAPTURE LAG",
    "WORST SUBSCRIPTION LAG",
    "SUBSCRIPTIONS",
    "NOTE",
];

/// Shown in the health column of a service nothing is registered for.
pub const NO_INSTANCES: &str = "NO INSTANCES";

pub fn print(snapshot: &Snapshot) {
    emit("Services");
    print_table(&INSTANCE_HEADERS, &instance_rows(snapshot));
    print_section("Exchange lines");
    match lines_note(snapshot) {
        Some(note) => emit(&note),
        None => print_table(&LINE_HEADERS, &line_rows(snapshot)),
    }
    emit("");
    emit(&summary_line(&snapshot.summary));
}

/// One row per instance; a service without any still gets its row.
pub fn instance_rows(snapshot: &Snapshot) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for service in &snapshot.services {
        if service.instances.is_empty() {
            rows.push(vec![
                service.service.clone(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                NO_INSTANCES.into(),
                service.error.clone().unwrap_or_default(),
            ]);
        }
        for instance in &service.instances {
            rows.push(vec![
                service.service.clone(),
                instance.id.clone(),
                instance.address.clone(),
                or_dash(&instance.version),
                or_dash(&instance.zone),
                instance.health.as_str().into(),
                instance.error.clone().unwrap_or_default(),
            ]);
        }
    }
    rows
}

pub fn line_rows(snapshot: &Snapshot) -> Vec<Vec<String>> {
    snapshot
        .lines
        .iter()
        .map(|line| {
            vec![
                line.id.clone(),
                line.name.clone(),
                state_name(line.state).into(),
                lag(line.capture_lag_ms),
                lag(line.worst_subscription_lag_ms),
                line.subscriptions
                    .map_or_else(|| "-".into(), |count| count.to_string()),
                line.error
                    .clone()
                    .unwrap_or_else(|| line.state_reason.clone()),
            ]
        })
        .collect()
}

/// Why there is no lines table, when there is none.
pub fn lines_note(snapshot: &Snapshot) -> Option<String> {
    snapshot
        .lines_error
        .as_ref()
        .map(|error| format!("not shown: {error}"))
}

/// `services OK 4/5, instances serving 5/7, lines degraded 1`.
pub fn summary_line(summary: &Summary) -> String {
    format!(
        "services OK {}/{}, instances serving {}/{}, lines degraded {}",
        summary.services_ok,
        summary.services_total,
        summary.instances_serving,
        summary.instances_total,
        summary.lines_degraded
    )
}

fn lag(ms: Option<i64>) -> String {
    ms.map_or_else(|| "-".into(), span_ms)
}

fn or_dash(text: &str) -> String {
    if text.is_empty() {
        "-".into()
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use zhongtai_contracts::exchange::v1::LineState;

    use super::super::snapshot::{Health, InstanceReport, LineReport, ServiceReport};
    use super::*;

    fn instance(id: &str, address: &str, health: Health, error: Option<&str>) -> InstanceReport {
        InstanceReport {
            id: id.into(),
            address: address.into(),
            version: "0.1.0".into(),
            zone: "hz-a".into(),
            health,
            error: error.map(str::to_string),
        }
    }

    fn service(name: &str, instances: Vec<InstanceReport>) -> ServiceReport {
        ServiceReport {
            service: name.into(),
            instances,
            error: None,
        }
    }

    fn line(name: &str, state: LineState, capture: i64, worst: Option<i64>) -> LineReport {
        LineReport {
            id: format!("{name}-id"),
            name: name.into(),
            state,
            state_reason: String::new(),
            capture_lag_ms: Some(capture),
            worst_subscription_lag_ms: worst,
            subscriptions: Some(usize::from(worst.is_some())),
            error: None,
        }
    }

    /// Four healthy services, one with a dead instance beside a live one,
    /// and `missing` with none at all.
    fn deployment(missing: &str) -> Vec<ServiceReport> {
        ["approval", "catalog", "certificate", "exchange", "gateway"]
            .into_iter()
            .map(|name| match name {
                _ if name == missing => service(name, Vec::new()),
                "approval" => service(
                    name,
                    vec![
                        instance("approval-a", "10.0.0.1:50051", Health::Serving, None),
                        instance(
                            "approval-b",
                            "10.0.0.2:50051",
                            Health::Unreachable,
                            Some("transport error: Connection refused (os error 111)"),
                        ),
                    ],
                ),
                _ => service(
                    name,
                    vec![instance(
                        &format!("{name}-a"),
                        "10.0.0.3:50051",
                        Health::Serving,
                        None,
                    )],
                ),
            })
            .collect()
    }

    #[test]
    fn a_dead_instance_is_shown_unreachable_with_its_reason() {
        let snapshot = Snapshot::new(deployment("none"), Ok(Vec::new()));
        let rows = instance_rows(&snapshot);
        let dead = rows
            .iter()
            .find(|row| row[1] == "approval-b")
            .expect("the dead instance has a row");
        assert_eq!(dead[2], "10.0.0.2:50051");
        assert_eq!(dead[5], "UNREACHABLE");
        assert!(dead[6].contains("Connection refused"), "{dead:?}");
        // Its live sibling keeps the service OK: the deployment passes.
        assert_eq!(
            summary_line(&snapshot.summary),
            "services OK 5/5, instances serving 5/6, lines degraded 0"
        );
        assert!(snapshot.summary.healthy);
    }

    #[test]
    fn a_service_without_instances_gets_a_row_and_fails_the_status() {
        let snapshot = Snapshot::new(deployment("exchange"), Ok(Vec::new()));
        let rows = instance_rows(&snapshot);
        let empty: Vec<&Vec<String>> = rows.iter().filter(|row| row[0] == "exchange").collect();
        assert_eq!(empty.len(), 1, "{rows:?}");
        assert_eq!(empty[0][5], NO_INSTANCES);
        assert_eq!(
            summary_line(&snapshot.summary),
            "services OK 4/5, instances serving 4/5, lines degraded 0"
        );
        assert!(!snapshot.summary.healthy);
    }

    #[test]
    fn a_service_discovery_could_not_list_says_why() {
        let mut services = deployment("gateway");
        if let Some(gateway) = services.iter_mut().find(|s| s.service == "gateway") {
            gateway.error = Some("discovery did not answer within 3s".into());
        }
        let rows = instance_rows(&Snapshot::new(services, Ok(Vec::new())));
        let gateway = rows.iter().find(|row| row[0] == "gateway").expect("row");
        assert_eq!(gateway[6], "discovery did not answer within 3s");
    }

    #[test]
    fn a_lagging_line_shows_its_lags_and_a_degraded_one_fails_the_status() {
        let lagging = line(
            "marriage-registration",
            LineState::Streaming,
            1_500,
            Some(185_000),
        );
        let snapshot = Snapshot::new(deployment("none"), Ok(vec![lagging.clone()]));
        let rows = line_rows(&snapshot);
        assert_eq!(
            rows,
            vec![vec![
                "marriage-registration-id".to_string(),
                "marriage-registration".into(),
                "STREAMING".into(),
                "1.5 s".into(),
                "3m 05s".into(),
                "1".into(),
                String::new(),
            ]]
        );
        // Lag alone is shown, not judged.
        assert!(snapshot.summary.healthy);

        let mut degraded = line("building-permit", LineState::Degraded, 0, None);
        degraded.state_reason = "source unreachable; retrying".into();
        let snapshot = Snapshot::new(deployment("none"), Ok(vec![lagging, degraded]));
        let rows = line_rows(&snapshot);
        assert_eq!(rows[1][2], "DEGRADED");
        assert_eq!(rows[1][4], "-", "no subscription, no subscription lag");
        assert_eq!(rows[1][6], "source unreachable; retrying");
        assert_eq!(
            summary_line(&snapshot.summary),
            "services OK 5/5, instances serving 5/6, lines degraded 1"
        );
        assert!(!snapshot.summary.healthy);
    }

    #[test]
    fn lines_the_token_cannot_list_are_explained_not_fatal() {
        let snapshot = Snapshot::new(
            deployment("none"),
            Err(
                "cannot list the exchange lines: UNAUTHENTICATED: a bearer token is required"
                    .into(),
            ),
        );
        assert_eq!(
            lines_note(&snapshot).as_deref(),
            Some(
                "not shown: cannot list the exchange lines: UNAUTHENTICATED: a bearer token is required"
            )
        );
        assert!(snapshot.summary.healthy);
    }

    #[test]
    fn json_has_the_documented_shape() {
        let snapshot = Snapshot::new(
            deployment("none"),
            Ok(vec![line("l", LineState::Failed, 0, None)]),
        );
        let json = serde_json::to_value(&snapshot).expect("serializable");
        let dead = &json["services"][0]["instances"][1];
        assert_eq!(dead["id"], "approval-b");
        assert_eq!(dead["health"], "UNREACHABLE");
        for key in ["address", "version", "zone", "error"] {
            assert!(dead.get(key).is_some(), "{key} missing in {dead}");
        }
        assert_eq!(json["lines"][0]["state"], "FAILED");
        assert_eq!(json["lines"][0]["capture_lag_ms"], 0);
        assert_eq!(json["summary"]["lines_degraded"], 1);
        assert_eq!(json["summary"]["healthy"], false);
        assert!(json["lines_error"].is_null());
    }
}
