//! `/metrics` of `zhongtai up` against the metric contract: every family
//! dashboards and alerts are written against is served with its type,
//! every metric the chart's dashboards and alert rules query exists, and
//! the values say what happened after a little work.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns may panic: they are test code

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use zhongtai_scenarios::embedded::{cli, endpoints, start_up};

const SERVICES: [&str; 5] = ["approval", "catalog", "certificate", "exchange", "gateway"];

/// The contract's families and their `# TYPE`, existing and new.
const CONTRACT: &[(&str, &str)] = &[
    ("grpc_server_requests", "counter"),
    ("grpc_server_request_duration_seconds", "histogram"),
    ("grpc_server_in_flight", "gauge"),
    ("grpc_client_requests", "counter"),
    ("grpc_client_request_duration_seconds", "histogram"),
    ("grpc_client_in_flight", "gauge"),
    ("zhongtai_gateway_calls", "counter"),
    ("zhongtai_gateway_call_duration_seconds", "histogram"),
    ("zhongtai_gateway_shed", "counter"),
    ("zhongtai_gateway_in_flight", "gauge"),
    ("zhongtai_gateway_concurrency_limit", "gauge"),
    ("zhongtai_gateway_config_revision", "gauge"),
    ("zhongtai_exchange_line_capture_lag_seconds", "gauge"),
    ("zhongtai_exchange_subscription_lag_seconds", "gauge"),
    ("zhongtai_exchange_changes_captured", "counter"),
    ("zhongtai_exchange_changes_delivered", "counter"),
    ("zhongtai_exchange_changes_filtered", "counter"),
    ("zhongtai_exchange_snapshot_rows", "gauge"),
    ("zhongtai_exchange_snapshot_rows_total_estimate", "gauge"),
    ("zhongtai_exchange_batch_seconds", "histogram"),
    ("zhongtai_build_info", "gauge"),
    ("zhongtai_server_shed", "counter"),
    ("zhongtai_server_rate_limited", "counter"),
    ("zhongtai_outbox_backlog", "gauge"),
    ("zhongtai_outbox_oldest_event_age_seconds", "gauge"),
    ("zhongtai_outbox_published", "counter"),
    ("zhongtai_consumer_events", "counter"),
    ("zhongtai_consumer_lag_seconds", "gauge"),
    ("zhongtai_registry_registered", "gauge"),
    ("zhongtai_registry_instances", "gauge"),
    ("zhongtai_certificate_verifications", "counter"),
    ("zhongtai_exchange_reconciliation_mismatches", "counter"),
];

#[test]
fn up_serves_the_metric_contract_and_everything_the_chart_queries() {
    let (data, mut up) = start_up("127.0.0.1:0");
    let metrics = endpoints(data.path())["metrics"]
        .as_str()
        .expect("endpoints.json names the metrics address")
        .to_string();

    // A little work: one approval call through the CLI.
    let (ok, _, stderr) = cli(
        data.path(),
        &[
            "item",
            "create",
            "--tenant",
            "331100/market-regulation",
            "--code",
            "business-licence",
            "--name",
            "营业执照设立登记",
            "--json",
        ],
    );
    assert!(ok, "item create failed: {stderr}");

    let create_ok = |sample: &Sample| {
        sample.name == "grpc_server_requests_total"
            && sample.label("service") == Some("approval")
            && sample
                .label("method")
                .is_some_and(|m| m.contains("CreateServiceItem"))
            && sample.label("code") == Some("OK")
            && sample.value >= 1.0
    };
    let body = scrape_until(
        &metrics,
        "the approval call counted and every service registered",
        |text| {
            let samples = samples(text);
            samples.iter().any(create_ok)
                && SERVICES.iter().all(|service| {
                    samples.iter().any(|s| {
                        s.name == "zhongtai_registry_registered"
                            && s.label("service") == Some(*service)
                            && s.value == 1.0
                    })
                })
        },
    );
    let families = families(&body);
    let samples = samples(&body);

    // 1. Every family of the contract, with its type.
    let mut wrong = Vec::new();
    for (family, expected) in CONTRACT {
        match families.get(*family) {
            Some(found) if found == expected => {}
            Some(found) => wrong.push(format!("{family}: {found}, expected {expected}")),
            None => wrong.push(format!("{family}: missing")),
        }
    }
    assert!(wrong.is_empty(), "contract families: {wrong:#?}\n{body}");
    for (family, kind) in &families {
        if kind != "counter" {
            continue;
        }
        let bare: Vec<&Sample> = samples.iter().filter(|s| &s.name == family).collect();
        assert!(
            bare.is_empty(),
            "counter {family} has samples without _total: {bare:?}"
        );
    }

    // 2. Every metric the chart's dashboards and alert rules query.
    let referenced = chart_references();
    let missing: Vec<&String> = referenced
        .iter()
        .filter(|name| family_of(name, &families).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "the chart queries metrics that are not served: {missing:?}\n{body}"
    );

    // 3. Values that follow from starting up and the call made.
    for service in SERVICES {
        let info = samples
            .iter()
            .find(|s| s.name == "zhongtai_build_info" && s.label("service") == Some(service));
        assert!(
            info.is_some_and(
                |s| s.value == 1.0 && s.label("version").is_some_and(|v| !v.is_empty())
            ),
            "build info of {service}: {info:?}"
        );
        assert!(
            samples
                .iter()
                .any(|s| s.name == "zhongtai_outbox_backlog" && s.label("service") == Some(service)),
            "no outbox backlog of {service}\n{body}"
        );
        let registered = samples.iter().find(|s| {
            s.name == "zhongtai_registry_registered" && s.label("service") == Some(service)
        });
        assert_eq!(
            registered.map(|s| s.value),
            Some(1.0),
            "registration of {service}"
        );
    }
    assert!(samples.iter().any(create_ok), "{body}");

    up.stop_gracefully(Duration::from_secs(30));
}

/// One sample line of the exposition.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

impl Sample {
    fn label(&self, name: &str) -> Option<&str> {
        self.labels.get(name).map(String::as_str)
    }
}

/// `# TYPE` lines: family name → type.
fn families(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| {
            let (name, kind) = rest.split_once(' ')?;
            Some((name.to_string(), kind.trim().to_string()))
        })
        .collect()
}

/// Every sample line, labels parsed (label values here hold no `"` or `,`
/// escapes worth decoding).
fn samples(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let value: f64 = value.parse().ok()?;
            let (name, labels) = match series.split_once('{') {
                Some((name, labels)) => (name, labels.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels = labels
                .split("\",")
                .filter(|pair| !pair.is_empty())
                .filter_map(|pair| {
                    let (key, value) = pair.split_once("=\"")?;
                    Some((key.to_string(), value.trim_end_matches('"').to_string()))
                })
                .collect();
            Some(Sample {
                name: name.to_string(),
                labels,
                value,
            })
        })
        .collect()
}

/// The family a queried name belongs to: itself, or itself without the
/// suffix a counter or histogram adds to its samples.
fn family_of<'a>(name: &str, families: &'a BTreeMap<String, String>) -> Option<&'a str> {
    if let Some((family, _)) = families.get_key_value(name) {
        return Some(family);
    }
    ["_bucket", "_sum", "_count", "_total"]
        .iter()
        .filter_map(|suffix| name.strip_suffix(suffix))
        .find_map(|stem| {
            families
                .get_key_value(stem)
                .map(|(family, _)| family.as_str())
        })
}

fn chart_files() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../charts/zhongtai/files")
}

/// Metric names in the expressions of the chart's Grafana dashboards and
/// Prometheus rules; none when the files are not there.
fn chart_references() -> BTreeSet<String> {
    let files = chart_files();
    let references = references_in(&files);
    let has_files = !files_with_extension(&files.join("grafana"), "json").is_empty()
        || !files_with_extension(&files.join("prometheus"), "yaml").is_empty();
    assert!(
        references.is_empty() != has_files,
        "the chart's dashboards or rules were found but no metric name was read from them"
    );
    references
}

/// Metric names in the expressions of `grafana/*.json` and
/// `prometheus/*.{yaml,yml}` under `files`.
fn references_in(files: &Path) -> BTreeSet<String> {
    let mut expressions = Vec::new();
    let mut recorded = BTreeSet::new();
    for path in files_with_extension(&files.join("grafana"), "json") {
        let text = std::fs::read_to_string(&path).unwrap();
        let dashboard: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
        dashboard_expressions(&dashboard, &mut expressions);
    }
    let rules = files.join("prometheus");
    for path in files_with_extension(&rules, "yaml")
        .into_iter()
        .chain(files_with_extension(&rules, "yml"))
    {
        let text = std::fs::read_to_string(&path).unwrap();
        rule_expressions(&text, &mut expressions, &mut recorded);
    }
    expressions
        .iter()
        .flat_map(|expression| metric_names(expression))
        .filter(|name| !recorded.contains(name))
        .collect()
}

fn files_with_extension(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    files
}

/// Query strings of a dashboard: panel targets' `expr` and templating
/// variables' `query`.
fn dashboard_expressions(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                match value {
                    serde_json::Value::String(text) if key == "expr" || key == "query" => {
                        out.push(text.clone());
                    }
                    other => dashboard_expressions(other, out),
                }
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                dashboard_expressions(item, out);
            }
        }
        _ => {}
    }
}

/// `expr:` values of a rules file (single-line, quoted, or block scalars
/// continued on more indented lines), and the names `record:` defines.
fn rule_expressions(text: &str, out: &mut Vec<String>, recorded: &mut BTreeSet<String>) {
    let lines: Vec<&str> = text.lines().collect();
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index];
        let content = line.trim_start().trim_start_matches("- ");
        let indent = line.len() - line.trim_start().len();
        index += 1;
        if let Some(name) = content.strip_prefix("record:") {
            recorded.insert(name.trim().trim_matches(['"', '\'']).to_string());
            continue;
        }
        let Some(first) = content.strip_prefix("expr:") else {
            continue;
        };
        let mut expression = first.trim().trim_start_matches(['|', '>', '-']).to_string();
        while index < lines.len() {
            let next = lines[index];
            let next_indent = next.len() - next.trim_start().len();
            if !next.trim().is_empty() && next_indent <= indent {
                break;
            }
            expression.push('\n');
            expression.push_str(next);
            index += 1;
        }
        out.push(expression);
    }
}

/// Identifiers `(zhongtai|grpc)_[a-z0-9_]+` of a PromQL expression, outside
/// its string literals and not part of a longer (e.g. recording-rule) name.
fn metric_names(expression: &str) -> Vec<String> {
    let mut unquoted = String::with_capacity(expression.len());
    let mut in_string: Option<char> = None;
    for c in expression.chars() {
        match in_string {
            Some(quote) if c == quote => in_string = None,
            Some(_) => {}
            None if c == '"' || c == '\'' || c == '`' => in_string = Some(c),
            None => unquoted.push(c),
        }
    }
    let bytes = unquoted.as_bytes();
    let is_name = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b':';
    let mut names = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        if !is_name(bytes[start]) {
            start += 1;
            continue;
        }
        let mut end = start;
        while end < bytes.len() && is_name(bytes[end]) {
            end += 1;
        }
        let word = &unquoted[start..end];
        let is_metric = ["zhongtai_", "grpc_"].iter().any(|prefix| {
            word.strip_prefix(prefix).is_some_and(|rest| {
                !rest.is_empty()
                    && rest
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            })
        });
        if is_metric {
            names.push(word.to_string());
        }
        start = end;
    }
    names
}

/// Scrapes `/metrics` until `ready` holds (or the deadline passes; the last
/// page is returned either way and the assertions name what is missing).
fn scrape_until(address: &str, what: &str, ready: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let body = http_get(address, "/metrics");
        if ready(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "waited 30 s for {what}:\n{body}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The body of a plain HTTP/1.1 GET.
fn http_get(address: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).expect("metrics endpoint listens");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    match response.split_once("\r\n\r\n") {
        Some((_, body)) => body.to_string(),
        None => response,
    }
}

#[cfg(test)]
mod parsing {
    use super::*;

    #[test]
    fn names_are_found_outside_strings_and_recording_rule_names() {
        let names = metric_names(
            r#"sum by (service) (rate(grpc_server_requests_total{code!="OK",x="zhongtai_fake"}[5m]))
               / job:zhongtai_recorded:rate5m + histogram_quantile(0.99, zhongtai_x_seconds_bucket)"#,
        );
        assert_eq!(
            names,
            ["grpc_server_requests_total", "zhongtai_x_seconds_bucket"]
        );
    }

    #[test]
    fn rule_expressions_cover_inline_and_block_scalars() {
        let rules = "groups:\n  - name: g\n    rules:\n      - record: zhongtai_ratio\n        expr: sum(zhongtai_a_total)\n      - alert: A\n        expr: |\n          zhongtai_b > 0\n            and zhongtai_c\n        for: 5m\n";
        let mut out = Vec::new();
        let mut recorded = BTreeSet::new();
        rule_expressions(rules, &mut out, &mut recorded);
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(out[0].contains("zhongtai_a_total"));
        assert!(out[1].contains("zhongtai_b") && out[1].contains("zhongtai_c"));
        assert!(!out[1].contains("5m"));
        assert!(recorded.contains("zhongtai_ratio"));
    }

    #[test]
    fn a_name_the_chart_queries_but_nobody_serves_is_reported() {
        let files = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(files.path().join("grafana")).unwrap();
        std::fs::create_dir_all(files.path().join("prometheus")).unwrap();
        std::fs::write(
            files.path().join("grafana/board.json"),
            r#"{"panels":[{"targets":[{"expr":"rate(zhongtai_outbox_published_total[5m])"}]}],
               "templating":{"list":[{"query":{"query":"label_values(zhongtai_build_info, service)"}}]}}"#,
        )
        .unwrap();
        std::fs::write(
            files.path().join("prometheus/alerts.yaml"),
            "groups:\n  - name: g\n    rules:\n      - alert: Gone\n        expr: zhongtai_not_exported_seconds > 1\n",
        )
        .unwrap();
        let served = families(
            "# TYPE zhongtai_outbox_published counter\n# TYPE zhongtai_build_info gauge\n",
        );
        let missing: Vec<String> = references_in(files.path())
            .into_iter()
            .filter(|name| family_of(name, &served).is_none())
            .collect();
        assert_eq!(missing, ["zhongtai_not_exported_seconds"]);
    }

    #[test]
    fn a_queried_name_finds_its_family_through_sample_suffixes() {
        let families = families(
            "# TYPE zhongtai_outbox_published counter\n# TYPE zhongtai_exchange_batch_seconds histogram\n# TYPE zhongtai_exchange_snapshot_rows_total_estimate gauge\n",
        );
        assert!(family_of("zhongtai_outbox_published_total", &families).is_some());
        assert!(family_of("zhongtai_exchange_batch_seconds_bucket", &families).is_some());
        assert!(family_of("zhongtai_exchange_snapshot_rows_total_estimate", &families).is_some());
        assert!(family_of("zhongtai_outbox_unknown_total", &families).is_none());
    }
}
