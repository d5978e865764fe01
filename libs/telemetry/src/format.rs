//! The log-line layer in each [`LogFormat`]. Logs go to standard error so a
//! command's own output on standard output stays machine-readable.

use std::io::IsTerminal;

use tracing::Subscriber;
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::registry::LookupSpan;

use crate::LogFormat;

/// A boxed fmt layer writing `format` lines to `writer`.
pub(crate) fn fmt_layer<S, W>(
    format: LogFormat,
    writer: W,
    ansi: bool,
) -> Box<dyn Layer<S> + Send + Sync + 'static>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    let layer = tracing_subscriber::fmt::layer().with_writer(writer);
    match format {
        LogFormat::Json => Box::new(
            layer
                .json()
                // Fields at the top level and the enclosing span (which
                // carries rpc.service / rpc.method) beside them: what log
                // collectors index without extra parsing.
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false),
        ),
        LogFormat::Pretty => Box::new(layer.pretty().with_ansi(ansi)),
        LogFormat::Compact => Box::new(layer.compact().with_ansi(ansi)),
    }
}

/// The layer [`crate::init`] installs: standard error, colours only on a
/// terminal.
pub(crate) fn stderr_layer<S>(format: LogFormat) -> Box<dyn Layer<S> + Send + Sync + 'static>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    fmt_layer(format, std::io::stderr, std::io::stderr().is_terminal())
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    /// Collects everything written, like a log collector reading stderr.
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut bytes) = self.0.lock() {
                bytes.extend_from_slice(buf);
            }
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Capture {
        type Writer = Capture;

        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    impl Capture {
        fn text(&self) -> String {
            let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
            String::from_utf8(bytes).unwrap_or_default()
        }
    }

    fn emit_sample_events() {
        let span = tracing::info_span!("grpc.server", rpc.method = "Submit");
        let _entered = span.enter();
        tracing::info!(
            application_id = 42,
            "application \"submitted\"\nwith newline"
        );
        tracing::warn!(error = %"disk full", attempt = 3, "retrying");
    }

    #[test]
    fn json_lines_are_valid_json_objects() {
        let capture = Capture::default();
        let subscriber =
            tracing_subscriber::registry().with(fmt_layer(LogFormat::Json, capture.clone(), false));
        tracing::subscriber::with_default(subscriber, emit_sample_events);

        let text = capture.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        let first: serde_json::Value = serde_json::from_str(lines[0]).expect("line 1 is JSON");
        let second: serde_json::Value = serde_json::from_str(lines[1]).expect("line 2 is JSON");
        assert_eq!(first["level"], "INFO");
        assert_eq!(first["message"], "application \"submitted\"\nwith newline");
        assert_eq!(first["application_id"], 42);
        assert_eq!(first["span"]["name"], "grpc.server");
        assert_eq!(first["span"]["rpc.method"], "Submit");
        assert!(first["timestamp"].is_string());
        assert_eq!(second["level"], "WARN");
        assert_eq!(second["error"], "disk full");
        assert_eq!(second["attempt"], 3);
    }

    #[test]
    fn human_formats_are_single_or_multi_line_text() {
        for format in [LogFormat::Compact, LogFormat::Pretty] {
            let capture = Capture::default();
            let subscriber =
                tracing_subscriber::registry().with(fmt_layer(format, capture.clone(), false));
            tracing::subscriber::with_default(subscriber, emit_sample_events);
            let text = capture.text();
            assert!(text.contains("retrying"), "{format:?}: {text}");
            assert!(text.contains("disk full"), "{format:?}: {text}");
            assert!(
                !text.contains('\u{1b}'),
                "no colour codes when not a terminal"
            );
            assert!(
                serde_json::from_str::<serde_json::Value>(text.lines().next().unwrap_or(""))
                    .is_err()
            );
        }
    }
}
