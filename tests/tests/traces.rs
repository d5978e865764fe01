//! One user action across services and RabbitMQ is one trace. The approval
//! and catalog centers run as `zhongtai serve` processes exporting spans over
//! OTLP/gRPC to a collector inside this test; the data bureau's final
//! approval of an access request travels approval → outbox → relay →
//! RabbitMQ → catalog, which creates the grant. Every span of that trace must
//! hang together: the consume span in the catalog is the child of the
//! approval center's publish span, and the approval call's server span is an
//! ancestor of both.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns may panic: they are test code

mod support;

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use support::data_sharing::{
    CIVIL_AFFAIRS, DATA_BUREAU, HOUSING_FUND, Reachable, approve, granted, register_marriage_data,
    request_access, set_up_data_access_review,
};
use tokio_util::sync::CancellationToken;
use tonic::transport::server::TcpIncoming;
use zhongtai_kit::Role;
use zhongtai_mesh::{ChannelConfig, EtcdConfig, EtcdRegistry, MeshChannel, Registry};
use zhongtai_scenarios::{Process, Security};
use zhongtai_testkit::{EtcdServer, TestDatabase, amqp_url};

const START_WAIT: Duration = Duration::from_secs(60);
const STOP_WAIT: Duration = Duration::from_secs(30);

const APPROVED_EVENT: &str = "approval.application.approved";
const APPROVE_METHOD: &str = "zhongtai.approval.v1.ApprovalService/ApproveApplication";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_that_crosses_rabbitmq_is_one_trace() {
    let collector = Collector::start().await;
    let etcd = EtcdServer::start();
    let security = Security::new();
    let approval_db = TestDatabase::create().await;
    let catalog_db = TestDatabase::create().await;
    // Exchange and queues of their own: parallel tests share the broker.
    let exchange = format!("zt-traces-{}", uuid::Uuid::new_v4().simple());
    let platform = Platform {
        etcd: etcd.endpoint(),
        exchange,
        collector: collector.endpoint(),
    };
    let mut approval_process = platform.serve("approval", &security, approval_db.url());
    let mut catalog_process = platform.serve("catalog", &security, catalog_db.url());
    blocking(|| {
        approval_process.wait_for_output("registered in discovery", START_WAIT);
        catalog_process.wait_for_output("registered in discovery", START_WAIT);
    });
    let processes = Processes::new(&platform, &security);

    // Setup: the data bureau's joint review, civil affairs' dataset, the
    // housing-fund centre's request, and the owner's half of the approval.
    set_up_data_access_review(&processes).await;
    let resource = register_marriage_data(&processes).await;
    let housing = security.token(HOUSING_FUND, &[Role::Operator, Role::Viewer]);
    let requested =
        request_access(&processes, &housing, &resource.id, &["husband_name"], None).await;
    let application_id = requested.application_id.clone();
    assert!(!application_id.is_empty(), "an application was raised");
    approve(
        &processes,
        &security.token(CIVIL_AFFAIRS, &[Role::Approver]),
        &application_id,
    )
    .await;

    // The action: the data bureau's approval completes the joint review; the
    // catalog hears of it over RabbitMQ and grants access.
    approve(
        &processes,
        &security.token(DATA_BUREAU, &[Role::Approver]),
        &application_id,
    )
    .await;
    let grant_id = granted(&processes, &housing, &requested.id).await;
    assert!(!grant_id.is_empty());

    // A graceful stop flushes what the exporters still hold.
    approval_process.terminate();
    catalog_process.terminate();
    blocking(|| {
        for process in [&mut approval_process, &mut catalog_process] {
            let status = process.wait_exit(STOP_WAIT);
            assert!(status.success(), "exited {status}:\n{}", process.output());
        }
    });

    let spans = collector.spans();
    let consume = spans
        .iter()
        .find(|span| {
            span.service == "zhongtai-catalog" && span.name == format!("consume {APPROVED_EVENT}")
        })
        .unwrap_or_else(|| {
            panic!(
                "no catalog span consumed {APPROVED_EVENT}; received:\n{}",
                summary(&spans)
            )
        });
    let trace: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|span| span.trace_id == consume.trace_id)
        .collect();
    let tree = render_tree(&trace);
    println!("trace {}:\n{tree}", consume.trace_id);

    let services: HashSet<&str> = trace.iter().map(|span| span.service.as_str()).collect();
    assert!(
        services.contains("zhongtai-approval") && services.contains("zhongtai-catalog"),
        "one trace holds both services' spans:\n{tree}"
    );

    // Consumer side: a RabbitMQ consumer span with the messaging attributes.
    assert_eq!(consume.kind, SpanKind::Consumer as i32, "{tree}");
    assert_eq!(consume.attribute("messaging.system"), Some("rabbitmq"));
    assert_eq!(consume.attribute("messaging.operation"), Some("process"));
    assert_eq!(
        consume.attribute("messaging.destination.name"),
        Some(platform.exchange.as_str())
    );

    // Its parent is the approval center's publish span: the link crosses
    // the AMQP hop.
    let by_id: HashMap<&str, &ReceivedSpan> = trace
        .iter()
        .map(|span| (span.span_id.as_str(), *span))
        .collect();
    let publish = by_id
        .get(consume.parent_span_id.as_str())
        .unwrap_or_else(|| panic!("the consume span's parent was not exported:\n{tree}"));
    assert_eq!(publish.service, "zhongtai-approval", "{tree}");
    assert_eq!(publish.name, format!("publish {APPROVED_EVENT}"), "{tree}");
    assert_eq!(publish.kind, SpanKind::Producer as i32, "{tree}");
    assert_eq!(publish.attribute("messaging.system"), Some("rabbitmq"));
    assert_eq!(publish.attribute("messaging.operation"), Some("publish"));

    // The handler ran inside the consume span.
    assert!(
        trace.iter().any(|span| span.service == "zhongtai-catalog"
            && span.name == format!("handle {APPROVED_EVENT}")
            && span.parent_span_id == consume.span_id),
        "the catalog's handling is a child of its consume span:\n{tree}"
    );

    // No orphans: every parent id is a span of the trace, one root.
    let orphans: Vec<&&ReceivedSpan> = trace
        .iter()
        .filter(|span| !span.parent_span_id.is_empty())
        .filter(|span| !by_id.contains_key(span.parent_span_id.as_str()))
        .collect();
    assert!(
        orphans.is_empty(),
        "spans with unknown parents {orphans:#?}:\n{tree}"
    );
    let roots: Vec<&&ReceivedSpan> = trace
        .iter()
        .filter(|span| span.parent_span_id.is_empty())
        .collect();
    assert_eq!(roots.len(), 1, "one root:\n{tree}");

    // The approval call's server span is an ancestor of the consume span.
    let ancestors = ancestors(consume, &by_id);
    assert!(
        ancestors
            .iter()
            .any(|span| span.service == "zhongtai-approval"
                && span.kind == SpanKind::Server as i32
                && span.name == APPROVE_METHOD),
        "the {APPROVE_METHOD} server span leads to the consume span:\n{tree}"
    );

    collector.stop();
}

/// Runs blocking waits (process output, exits) without starving the
/// collector, which shares this runtime.
fn blocking<T>(work: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(work)
}

/// What every `zhongtai serve` of this test shares.
struct Platform {
    etcd: String,
    exchange: String,
    collector: String,
}

impl Platform {
    /// `zhongtai serve <service>` on free ports, with mutual TLS, token
    /// checks and trace export to the collector.
    fn serve(&self, service: &str, security: &Security, database_url: &str) -> Process {
        let mut envs = vec![
            ("ZHONGTAI_SERVER__LISTEN", "127.0.0.1:0".to_string()),
            ("ZHONGTAI_SERVER__METRICS_LISTEN", "127.0.0.1:0".to_string()),
            ("DATABASE_URL", database_url.to_string()),
            ("ETCD_ENDPOINTS", self.etcd.clone()),
            ("AMQP_URL", amqp_url()),
            ("ZHONGTAI_EVENTS__EXCHANGE", self.exchange.clone()),
            ("ZHONGTAI_EVENTS__QUEUE_PREFIX", self.exchange.clone()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", self.collector.clone()),
            // The batch processor's delay (milliseconds; the SDK reads it).
            ("OTEL_BSP_SCHEDULE_DELAY", "200".to_string()),
        ];
        envs.extend(security.serve_env(service));
        Process::spawn(service, &["serve", service], &envs)
    }
}

/// The `zhongtai serve` processes as their callers reach them: through etcd
/// discovery, with the operators' client certificate.
struct Processes<'a> {
    registry: EtcdRegistry,
    security: &'a Security,
}

impl<'a> Processes<'a> {
    fn new(platform: &Platform, security: &'a Security) -> Self {
        let registry = EtcdRegistry::new(EtcdConfig {
            endpoints: vec![platform.etcd.clone()],
            ..EtcdConfig::default()
        })
        .unwrap();
        Self { registry, security }
    }
}

impl Reachable for Processes<'_> {
    fn channel(&self, service: &str) -> MeshChannel {
        MeshChannel::new(
            self.registry.discover(service),
            ChannelConfig {
                tls: Some(self.security.client_tls()),
                ..ChannelConfig::default()
            },
        )
    }

    fn security(&self) -> &Security {
        self.security
    }
}

/// One span as the collector received it.
#[derive(Clone, Debug)]
struct ReceivedSpan {
    /// The resource's `service.name`.
    service: String,
    trace_id: String,
    span_id: String,
    /// Empty for a root span.
    parent_span_id: String,
    name: String,
    kind: i32,
    attributes: HashMap<String, String>,
}

impl ReceivedSpan {
    fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }
}

/// An OTLP/gRPC trace receiver on a loopback port that keeps every span.
struct Collector {
    spans: Arc<Mutex<Vec<ReceivedSpan>>>,
    address: std::net::SocketAddr,
    stop: CancellationToken,
}

impl Collector {
    async fn start() -> Self {
        let incoming = TcpIncoming::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let address = incoming.local_addr().unwrap();
        let spans: Arc<Mutex<Vec<ReceivedSpan>>> = Arc::default();
        let stop = CancellationToken::new();
        let service = TraceServiceServer::new(Receiver {
            spans: spans.clone(),
        });
        let until = stop.clone();
        tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming_shutdown(incoming, until.cancelled_owned())
                .await
                .unwrap();
        });
        Self {
            spans,
            address,
            stop,
        }
    }

    /// `OTEL_EXPORTER_OTLP_ENDPOINT` of the exporting processes.
    fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    fn spans(&self) -> Vec<ReceivedSpan> {
        self.spans.lock().unwrap().clone()
    }

    fn stop(&self) {
        self.stop.cancel();
    }
}

struct Receiver {
    spans: Arc<Mutex<Vec<ReceivedSpan>>>,
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut received = Vec::new();
        for resource_spans in request.into_inner().resource_spans {
            let service = resource_spans
                .resource
                .as_ref()
                .and_then(|resource| string_attribute(&resource.attributes, "service.name"))
                .unwrap_or_default();
            for scope_spans in resource_spans.scope_spans {
                for span in scope_spans.spans {
                    received.push(ReceivedSpan {
                        service: service.clone(),
                        trace_id: hex(&span.trace_id),
                        span_id: hex(&span.span_id),
                        parent_span_id: hex(&span.parent_span_id),
                        name: span.name,
                        kind: span.kind,
                        attributes: span
                            .attributes
                            .iter()
                            .filter_map(|kv| Some((kv.key.clone(), text(kv.value.as_ref()?)?)))
                            .collect(),
                    });
                }
            }
        }
        self.spans.lock().unwrap().extend(received);
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

fn string_attribute(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| text(kv.value.as_ref()?))
}

/// An attribute value as text (strings as they are, numbers and booleans
/// printed).
fn text(value: &AnyValue) -> Option<String> {
    match value.value.as_ref()? {
        any_value::Value::StringValue(text) => Some(text.clone()),
        any_value::Value::IntValue(n) => Some(n.to_string()),
        any_value::Value::BoolValue(b) => Some(b.to_string()),
        any_value::Value::DoubleValue(x) => Some(x.to_string()),
        _ => None,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}

/// `span`'s parent, grandparent, … as far as the trace has them.
fn ancestors<'a>(
    span: &ReceivedSpan,
    by_id: &HashMap<&str, &'a ReceivedSpan>,
) -> Vec<&'a ReceivedSpan> {
    let mut chain = Vec::new();
    let mut parent = span.parent_span_id.as_str();
    while let Some(found) = by_id.get(parent) {
        // A cycle would be a bug in the exporter; never loop on it.
        if chain
            .iter()
            .any(|seen: &&ReceivedSpan| seen.span_id == found.span_id)
        {
            break;
        }
        chain.push(*found);
        parent = found.parent_span_id.as_str();
    }
    chain
}

fn kind_name(kind: i32) -> &'static str {
    match SpanKind::try_from(kind) {
        Ok(SpanKind::Internal) => "internal",
        Ok(SpanKind::Server) => "server",
        Ok(SpanKind::Client) => "client",
        Ok(SpanKind::Producer) => "producer",
        Ok(SpanKind::Consumer) => "consumer",
        _ => "unspecified",
    }
}

/// The trace as an indented tree (orphans listed under their own heading).
fn render_tree(trace: &[&ReceivedSpan]) -> String {
    let ids: HashSet<&str> = trace.iter().map(|span| span.span_id.as_str()).collect();
    let mut out = String::new();
    fn walk(out: &mut String, trace: &[&ReceivedSpan], span: &ReceivedSpan, depth: usize) {
        let _ = writeln!(
            out,
            "{}{} [{}, {}] {}",
            "  ".repeat(depth),
            span.name,
            span.service,
            kind_name(span.kind),
            span.span_id
        );
        for child in trace.iter().filter(|c| c.parent_span_id == span.span_id) {
            walk(out, trace, child, depth + 1);
        }
    }
    for root in trace.iter().filter(|span| span.parent_span_id.is_empty()) {
        walk(&mut out, trace, root, 0);
    }
    for orphan in trace
        .iter()
        .filter(|span| !span.parent_span_id.is_empty())
        .filter(|span| !ids.contains(span.parent_span_id.as_str()))
    {
        let _ = writeln!(out, "ORPHAN (parent {}):", orphan.parent_span_id);
        walk(&mut out, trace, orphan, 1);
    }
    out
}

/// Every received span, one line each, for failure messages.
fn summary(spans: &[ReceivedSpan]) -> String {
    spans
        .iter()
        .map(|span| {
            format!(
                "{} {} [{}, {}] parent={}\n",
                span.trace_id,
                span.name,
                span.service,
                kind_name(span.kind),
                span.parent_span_id
            )
        })
        .collect()
}
