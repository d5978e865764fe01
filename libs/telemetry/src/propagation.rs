//! W3C trace context (`traceparent`, `tracestate`) carried across process
//! boundaries: gRPC metadata (HTTP/2 headers) and event envelopes / AMQP
//! headers (a string map). The same propagator serves both so one trace spans
//! a request, the events it causes, and their consumers.

use std::collections::HashMap;

use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

fn propagator() -> TraceContextPropagator {
    TraceContextPropagator::new()
}

/// Writes `cx` into HTTP/2 headers (gRPC metadata).
pub fn inject_into_headers(cx: &Context, headers: &mut http::HeaderMap) {
    propagator().inject_context(cx, &mut HeaderInjector(headers));
}

/// Reads a remote parent context from HTTP/2 headers; an empty context when
/// the caller sent none or sent garbage.
pub fn extract_from_headers(headers: &http::HeaderMap) -> Context {
    propagator().extract(&HeaderExtractor(headers))
}

/// The current span's trace context as a string map, for event envelopes and
/// AMQP headers. Empty when there is no active trace.
pub fn current_context_map() -> HashMap<String, String> {
    context_map(&tracing::Span::current())
}

/// `span`'s trace context as a string map (`traceparent`, `tracestate`), so
/// the next hop becomes its child. Empty when `span` is not traced.
///
/// Reading the context starts the span's OpenTelemetry counterpart: set its
/// parent first.
pub fn context_map(span: &tracing::Span) -> HashMap<String, String> {
    let cx = span.context();
    let mut map = HashMap::new();
    propagator().inject_context(&cx, &mut map);
    map
}

/// The current span's W3C trace id (32 hex digits), when it is traced.
pub fn current_trace_id() -> Option<String> {
    valid_trace_id(&tracing::Span::current().context())
}

/// The W3C trace id recorded in `map` (an envelope's `trace_context`), when
/// it holds a valid one.
pub fn trace_id_from_map(map: &HashMap<String, String>) -> Option<String> {
    if map.is_empty() {
        return None;
    }
    valid_trace_id(&context_from_map(map))
}

fn valid_trace_id(cx: &Context) -> Option<String> {
    use opentelemetry::trace::TraceContextExt;
    let span = cx.span();
    let span_context = span.span_context();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}

/// Reads a remote parent context from a string map (an event envelope's
/// `trace_context`, AMQP headers converted to strings).
pub fn context_from_map(map: &HashMap<String, String>) -> Context {
    propagator().extract(map)
}

/// Makes `span` a child of the trace recorded in `map`, when there is one.
pub fn set_parent_from_map(span: &tracing::Span, map: &HashMap<String, String>) {
    if map.is_empty() {
        return;
    }
    // Fails only when the span is disabled; nothing to link then.
    let _ = span.set_parent(context_from_map(map));
}

/// Makes `span` a child of the trace recorded in `map`, or the root of a new
/// trace when `map` holds none — never a child of whatever span happens to
/// be current. For work that continues a remote operation (publishing an
/// event taken from the outbox, handling a delivered message), where the
/// local caller is a background loop, not the cause.
pub fn continue_from_map(span: &tracing::Span, map: &HashMap<String, String>) {
    let parent = if trace_id_from_map(map).is_some() {
        context_from_map(map)
    } else {
        Context::new()
    };
    // Fails only when the span is disabled; nothing to link then.
    let _ = span.set_parent(parent);
}

/// Makes `span` a child of the trace carried in HTTP/2 headers, when there is one.
pub fn set_parent_from_headers(span: &tracing::Span, headers: &http::HeaderMap) {
    if !headers.contains_key("traceparent") {
        return;
    }
    let _ = span.set_parent(extract_from_headers(headers));
}

struct HeaderInjector<'a>(&'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            http::header::HeaderName::from_bytes(key.as_bytes()),
            http::header::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|name| name.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
    };

    fn remote_context() -> Context {
        let span_context = SpanContext::new(
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").expect("valid trace id"),
            SpanId::from_hex("00f067aa0ba902b7").expect("valid span id"),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        Context::new().with_remote_span_context(span_context)
    }

    #[test]
    fn headers_round_trip() {
        let mut headers = http::HeaderMap::new();
        inject_into_headers(&remote_context(), &mut headers);
        assert_eq!(
            headers.get("traceparent").and_then(|v| v.to_str().ok()),
            Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        );
        let extracted = extract_from_headers(&headers);
        assert_eq!(
            extracted.span().span_context().trace_id(),
            remote_context().span().span_context().trace_id()
        );
    }

    #[test]
    fn maps_round_trip() {
        let mut map = HashMap::new();
        propagator().inject_context(&remote_context(), &mut map);
        let extracted = context_from_map(&map);
        assert_eq!(
            extracted.span().span_context().span_id(),
            SpanId::from_hex("00f067aa0ba902b7").expect("valid span id")
        );
    }

    #[test]
    fn trace_ids_are_read_from_maps_only_when_valid() {
        let mut map = HashMap::new();
        assert_eq!(trace_id_from_map(&map), None);
        propagator().inject_context(&remote_context(), &mut map);
        assert_eq!(
            trace_id_from_map(&map).as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        map.insert("traceparent".into(), "garbage".into());
        assert_eq!(trace_id_from_map(&map), None);
    }

    #[test]
    fn continuing_from_a_map_ignores_the_current_span() {
        use tracing_subscriber::layer::SubscriberExt;

        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
        let subscriber =
            tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(
                opentelemetry::trace::TracerProvider::tracer(&provider, "propagation-test"),
            ));
        let mut remote = HashMap::new();
        propagator().inject_context(&remote_context(), &mut remote);
        tracing::subscriber::with_default(subscriber, || {
            let loop_span = tracing::info_span!("background.loop");
            let loop_trace = loop_span.in_scope(current_trace_id);
            assert!(loop_trace.is_some());

            let continued = loop_span.in_scope(|| tracing::info_span!("continued"));
            continue_from_map(&continued, &remote);
            let continued_map = context_map(&continued);
            assert_eq!(
                trace_id_from_map(&continued_map).as_deref(),
                Some("4bf92f3577b34da6a3ce929d0e0e4736"),
                "child of the remote trace"
            );
            assert_ne!(
                continued_map.get("traceparent"),
                remote.get("traceparent"),
                "a span of its own"
            );

            let fresh = loop_span.in_scope(|| tracing::info_span!("fresh"));
            continue_from_map(&fresh, &HashMap::new());
            let fresh_trace = trace_id_from_map(&context_map(&fresh));
            assert!(fresh_trace.is_some());
            assert_ne!(fresh_trace, loop_trace, "a new root, not the loop's child");
        });
    }

    #[test]
    fn garbage_headers_give_an_empty_context() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "traceparent",
            http::HeaderValue::from_static("not-a-traceparent"),
        );
        assert!(
            !extract_from_headers(&headers)
                .span()
                .span_context()
                .is_valid()
        );
    }
}
