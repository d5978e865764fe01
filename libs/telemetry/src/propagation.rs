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
    let cx = tracing::Span::current().context();
    let mut map = HashMap::new();
    propagator().inject_context(&cx, &mut map);
    map
}

/// The current span's W3C trace id (32 hex digits), when it is traced.
pub fn current_trace_id() -> Option<String> {
    use opentelemetry::trace::TraceContextExt;
    let cx = tracing::Span::current().context();
    let span_context = cx.span().span_context().clone();
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
