//! The gRPC telemetry layers on real tonic endpoints over loopback: a trace
//! started by a caller continues in the server's span, and the metrics count
//! calls with the right status codes.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use opentelemetry::trace::{SpanKind, TraceContextExt, TraceId, TracerProvider as _};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use tonic::transport::{Channel, Endpoint, Server};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use tower::Layer;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use zhongtai_telemetry::grpc::{ClientTelemetry, ClientTelemetryLayer, ServerTelemetryLayer};
use zhongtai_testkit::eventually;

const CHECK: &str = "grpc.health.v1.Health/Check";
const WATCH: &str = "grpc.health.v1.Health/Watch";
const PATIENCE: Duration = Duration::from_secs(10);

/// Finished spans, as a collector would receive them.
#[derive(Clone, Debug, Default)]
struct Collected(Arc<Mutex<Vec<SpanData>>>);

impl SpanExporter for Collected {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        if let Ok(mut spans) = self.0.lock() {
            spans.extend(batch);
        }
        async { Ok(()) }
    }
}

impl Collected {
    fn in_trace(&self, trace: TraceId) -> Vec<SpanData> {
        self.0
            .lock()
            .map(|spans| {
                spans
                    .iter()
                    .filter(|span| span.span_context.trace_id() == trace)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// One OpenTelemetry-enabled subscriber for this test binary, exporting every
/// finished span synchronously into memory.
fn collected() -> &'static Collected {
    static COLLECTED: OnceLock<(Collected, SdkTracerProvider)> = OnceLock::new();
    &COLLECTED
        .get_or_init(|| {
            let collected = Collected::default();
            let provider = SdkTracerProvider::builder()
                .with_simple_exporter(collected.clone())
                .build();
            let subscriber = tracing_subscriber::registry()
                .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("grpc-test")));
            let _ = tracing::subscriber::set_global_default(subscriber);
            (collected, provider)
        })
        .0
}

fn unique(prefix: &str) -> &'static str {
    Box::leak(format!("{prefix}-{:08x}", fastrand::u32(..)).into_boxed_str())
}

/// A health server behind the server layer on a fresh loopback port.
async fn start_server(service: &'static str) -> SocketAddr {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("zhongtai.test.Known", tonic_health::ServingStatus::Serving)
        .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("bound address");
    tokio::spawn(async move {
        // Keeps the reporter (and so the Watch streams) alive with the server.
        let _reporter = reporter;
        let result = Server::builder()
            .layer(ServerTelemetryLayer::new(service))
            .add_service(health)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
            .await;
        if let Err(error) = result {
            eprintln!("test server stopped: {error}");
        }
    });
    addr
}

fn client(addr: SocketAddr, target: &str) -> HealthClient<ClientTelemetry<Channel>> {
    let channel = Endpoint::from_shared(format!("http://{addr}"))
        .expect("valid endpoint")
        .connect_lazy();
    HealthClient::new(ClientTelemetryLayer::new(target).layer(channel))
}

fn check(service: &str) -> HealthCheckRequest {
    HealthCheckRequest {
        service: service.to_string(),
    }
}

fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|KeyValue { key: k, .. }| k.as_str() == key)
        .map(|kv| &kv.value)
}

fn sample(text: &str, family: &str, labels: &str) -> Option<f64> {
    let prefix = format!("{family}{{{labels}}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|value| value.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_trace_continues_in_the_server_span() {
    let collected = collected();
    let addr = start_server(unique("trace-server")).await;
    let mut client = client(addr, "trace-target");

    let root = tracing::info_span!("test.root");
    let trace = root.context().span().span_context().trace_id();
    assert_ne!(
        trace,
        TraceId::INVALID,
        "the test subscriber must be OpenTelemetry-enabled"
    );
    let response = client
        .check(check(""))
        .instrument(root.clone())
        .await
        .expect("health check succeeds");
    assert_eq!(response.into_inner().status, ServingStatus::Serving as i32);
    drop(root);

    let spans = eventually(PATIENCE, "client and server spans exported", || async {
        let spans = collected.in_trace(trace);
        let has = |kind: SpanKind| spans.iter().any(|span| span.span_kind == kind);
        (has(SpanKind::Client) && has(SpanKind::Server)).then_some(spans)
    })
    .await;
    let client_span = spans
        .iter()
        .find(|span| span.span_kind == SpanKind::Client)
        .expect("client span");
    let server_span = spans
        .iter()
        .find(|span| span.span_kind == SpanKind::Server)
        .expect("server span");

    assert_eq!(client_span.name, CHECK);
    assert_eq!(server_span.name, CHECK);
    assert_eq!(
        server_span.parent_span_id,
        client_span.span_context.span_id(),
        "the server span is the child of the client span, across the wire"
    );
    assert!(server_span.parent_span_is_remote);
    assert_eq!(
        attribute(server_span, "rpc.service"),
        Some(&Value::from("grpc.health.v1.Health"))
    );
    assert_eq!(
        attribute(server_span, "rpc.method"),
        Some(&Value::from("Check"))
    );
    assert_eq!(
        attribute(server_span, "rpc.grpc.status_code"),
        Some(&Value::I64(0))
    );
    assert_eq!(
        attribute(client_span, "rpc.grpc.status_code"),
        Some(&Value::I64(0))
    );
    assert_eq!(
        attribute(client_span, "peer.service"),
        Some(&Value::from("trace-target"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_status_marks_the_client_span_but_not_the_server_span() {
    let collected = collected();
    let addr = start_server(unique("error-server")).await;
    let mut client = client(addr, "error-target");

    let root = tracing::info_span!("test.root");
    let trace = root.context().span().span_context().trace_id();
    let status = client
        .check(check("zhongtai.test.Missing"))
        .instrument(root.clone())
        .await
        .expect_err("unknown service is NotFound");
    assert_eq!(status.code(), tonic::Code::NotFound);
    drop(root);

    let spans = eventually(PATIENCE, "client and server spans exported", || async {
        let spans = collected.in_trace(trace);
        (spans.len() >= 3).then_some(spans)
    })
    .await;
    for span in spans.iter().filter(|span| span.name == CHECK) {
        assert_eq!(
            attribute(span, "rpc.grpc.status_code"),
            Some(&Value::I64(5))
        );
        let is_error = matches!(span.status, opentelemetry::trace::Status::Error { .. });
        // NotFound is the caller's problem: an error for the client, not a
        // server fault.
        assert_eq!(
            is_error,
            span.span_kind == SpanKind::Client,
            "{:?}",
            span.span_kind
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_ok_and_error_calls_by_code() {
    collected();
    let server = unique("metrics-server");
    let target = unique("metrics-target");
    let addr = start_server(server).await;
    let mut client = client(addr, target);

    for _ in 0..2 {
        client.check(check("")).await.expect("overall health is OK");
    }
    client
        .check(check("zhongtai.test.Missing"))
        .await
        .expect_err("unknown service is NotFound");

    let text = zhongtai_telemetry::metrics::encode();
    let server_ok = format!(r#"service="{server}",method="{CHECK}",code="OK""#);
    let server_not_found = format!(r#"service="{server}",method="{CHECK}",code="NotFound""#);
    let client_ok = format!(r#"service="{target}",method="{CHECK}",code="OK""#);
    let client_not_found = format!(r#"service="{target}",method="{CHECK}",code="NotFound""#);

    assert_eq!(
        sample(&text, "grpc_server_requests_total", &server_ok),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "grpc_server_requests_total", &server_not_found),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "grpc_client_requests_total", &client_ok),
        Some(2.0)
    );
    assert_eq!(
        sample(&text, "grpc_client_requests_total", &client_not_found),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            "grpc_server_request_duration_seconds_count",
            &server_ok
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &text,
            "grpc_server_request_duration_seconds_bucket",
            &format!(r#"le="+Inf",{server_ok}"#)
        ),
        Some(2.0),
        "every call lands in the histogram's last bucket: {text}"
    );
    assert_eq!(
        sample(
            &text,
            "grpc_client_request_duration_seconds_count",
            &client_not_found
        ),
        Some(1.0)
    );
    let in_flight = format!(r#"service="{server}",method="{CHECK}""#);
    assert_eq!(
        sample(&text, "grpc_server_in_flight", &in_flight),
        Some(0.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_stream_counts_as_canceled_and_leaves_flight() {
    collected();
    let server = unique("cancel-server");
    let target = unique("cancel-target");
    let addr = start_server(server).await;
    let mut client = client(addr, target);

    let mut stream = client
        .watch(check("zhongtai.test.Known"))
        .await
        .expect("watch starts")
        .into_inner();
    let first: Option<HealthCheckResponse> = stream.message().await.expect("first update");
    assert_eq!(first.map(|r| r.status), Some(ServingStatus::Serving as i32));

    let in_flight = format!(r#"service="{server}",method="{WATCH}""#);
    assert_eq!(
        sample(
            &zhongtai_telemetry::metrics::encode(),
            "grpc_server_in_flight",
            &in_flight
        ),
        Some(1.0),
        "an open stream is in flight"
    );
    drop(stream);

    let canceled = format!(r#"service="{server}",method="{WATCH}",code="Canceled""#);
    eventually(PATIENCE, "server to record the canceled stream", || async {
        let text = zhongtai_telemetry::metrics::encode();
        (sample(&text, "grpc_server_requests_total", &canceled) == Some(1.0)
            && sample(&text, "grpc_server_in_flight", &in_flight) == Some(0.0))
        .then_some(())
    })
    .await;
    let client_canceled = format!(r#"service="{target}",method="{WATCH}",code="Canceled""#);
    assert_eq!(
        sample(
            &zhongtai_telemetry::metrics::encode(),
            "grpc_client_requests_total",
            &client_canceled
        ),
        Some(1.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_counts_as_unavailable() {
    collected();
    let target = unique("unreachable-target");
    let port = zhongtai_testkit::free_port();
    let mut client = client(SocketAddr::from(([127, 0, 0, 1], port)), target);

    let status = client
        .check(check(""))
        .await
        .expect_err("nothing listens there");
    assert_eq!(status.code(), tonic::Code::Unavailable);

    let labels = format!(r#"service="{target}",method="{CHECK}",code="Unavailable""#);
    assert_eq!(
        sample(
            &zhongtai_telemetry::metrics::encode(),
            "grpc_client_requests_total",
            &labels
        ),
        Some(1.0)
    );
}
