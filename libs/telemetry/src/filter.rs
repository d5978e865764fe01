//! Which log events are kept: the operator's directives (`RUST_LOG` first,
//! then the configuration, then `info`), with the transport and database
//! crates quietened unless a directive asks for them. Without that, h2, hyper
//! and tonic log every frame at TRACE and sqlx every statement at INFO.

use tracing_subscriber::EnvFilter;

use crate::TelemetryError;

/// Directives used when neither `RUST_LOG` nor the configuration sets any.
pub(crate) const DEFAULT_DIRECTIVES: &str = "info";

/// Crates whose output is noise at the levels services run at, and the level
/// they are held to unless a directive names them. `sea_orm_migration` stays
/// at `info` so the start-up log shows which migrations were applied, even
/// though the broader `sea_orm` directive would hide it.
const QUIETED: &[(&str, &str)] = &[
    ("h2", "off"),
    ("hyper", "off"),
    ("tonic", "off"),
    ("tower", "off"),
    ("sqlx", "warn"),
    ("sea_orm", "warn"),
    ("sea_orm_migration", "info"),
];

/// The directive string for the given `RUST_LOG` value and configured filter.
pub(crate) fn directives(rust_log: Option<&str>, configured: Option<&str>) -> String {
    let requested = [rust_log, configured]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|value| !value.is_empty())
        .unwrap_or(DEFAULT_DIRECTIVES);
    let named: Vec<&str> = requested.split(',').filter_map(directive_target).collect();
    let mut out = requested.trim_end_matches(',').to_string();
    for (target, level) in QUIETED {
        // A directive for `sea_orm` covers `sea_orm_migration` too (EnvFilter
        // matches targets by prefix), so either counts as asking.
        if named.iter().any(|name| target.starts_with(name)) {
            continue;
        }
        out.push(',');
        out.push_str(target);
        out.push('=');
        out.push_str(level);
    }
    out
}

/// Builds the filter from `RUST_LOG` and the configured directives.
pub(crate) fn env_filter(configured: Option<&str>) -> Result<EnvFilter, TelemetryError> {
    let rust_log = std::env::var(EnvFilter::DEFAULT_ENV).ok();
    let directives = directives(rust_log.as_deref(), configured);
    EnvFilter::builder()
        .parse(&directives)
        .map_err(|source| TelemetryError::InvalidFilter { directives, source })
}

/// The filter of the span exporter: the default directives, whatever the log
/// filter says, so traces keep their shape when logging is turned down or up.
pub(crate) fn trace_filter() -> Result<EnvFilter, TelemetryError> {
    let directives = directives(None, None);
    EnvFilter::builder()
        .parse(&directives)
        .map_err(|source| TelemetryError::InvalidFilter { directives, source })
}

/// The target a directive names, if any: `hyper=debug` and `hyper` name
/// `hyper`; `debug` and `[span]=trace` name none.
fn directive_target(directive: &str) -> Option<&str> {
    let directive = directive.trim();
    let selector = directive.split('=').next().unwrap_or_default();
    let target = selector.split('[').next().unwrap_or_default().trim();
    if target.is_empty() {
        return None;
    }
    let bare_level = !directive.contains('=')
        && ["trace", "debug", "info", "warn", "error", "off"]
            .iter()
            .any(|level| target.eq_ignore_ascii_case(level));
    (!bare_level).then_some(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_info_with_noise_off() {
        assert_eq!(
            directives(None, None),
            "info,h2=off,hyper=off,tonic=off,tower=off,sqlx=warn,sea_orm=warn,sea_orm_migration=info"
        );
    }

    #[test]
    fn configured_filter_replaces_the_default_level() {
        let out = directives(None, Some("debug,zhongtai_approval=trace"));
        assert!(out.starts_with("debug,zhongtai_approval=trace,"), "{out}");
        assert!(out.contains("hyper=off"), "{out}");
    }

    #[test]
    fn rust_log_wins_over_configuration() {
        let out = directives(Some("warn"), Some("debug"));
        assert!(out.starts_with("warn,"), "{out}");
        assert!(!out.contains("debug"), "{out}");
    }

    #[test]
    fn empty_values_fall_through() {
        assert!(directives(Some("  "), Some("debug")).starts_with("debug,"));
        assert!(directives(Some(""), None).starts_with("info,"));
    }

    #[test]
    fn naming_a_noisy_crate_lifts_its_quieting() {
        let out = directives(None, Some("info,sqlx=info,hyper"));
        assert!(!out.contains("sqlx=warn"), "{out}");
        assert!(!out.contains("hyper=off"), "{out}");
        assert!(out.contains("h2=off"), "{out}");
        let out = directives(None, Some("sea_orm=debug"));
        assert!(!out.contains("sea_orm=warn"), "{out}");
        assert!(!out.contains("sea_orm_migration=info"), "{out}");
    }

    #[test]
    fn level_only_directives_name_no_target() {
        assert_eq!(directive_target("debug"), None);
        assert_eq!(directive_target("WARN"), None);
        assert_eq!(directive_target("[request]=trace"), None);
        assert_eq!(directive_target("tonic"), Some("tonic"));
        assert_eq!(
            directive_target("tonic::transport=debug"),
            Some("tonic::transport")
        );
        assert_eq!(directive_target("tower[call]=trace"), Some("tower"));
    }

    #[test]
    fn every_produced_default_parses() {
        for configured in [None, Some("debug"), Some("info,sqlx=debug")] {
            let out = directives(None, configured);
            assert!(EnvFilter::builder().parse(&out).is_ok(), "{out}");
        }
    }

    #[test]
    fn filter_actually_drops_quieted_targets() {
        use tracing_subscriber::layer::SubscriberExt;

        let filter = EnvFilter::builder()
            .parse(directives(None, None))
            .expect("default parses");
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let recorder = Recorder(seen.clone());
        let subscriber = tracing_subscriber::registry().with(filter).with(recorder);
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: "h2::codec", "frame");
            tracing::info!(target: "sqlx::query", "statement");
            tracing::warn!(target: "sqlx::query", "slow statement");
            tracing::info!(target: "sea_orm_migration::migrator", "applying");
            tracing::info!(target: "zhongtai_approval", "submitted");
            tracing::debug!(target: "zhongtai_approval", "details");
        });
        let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
        assert_eq!(
            seen,
            [
                "sqlx::query",
                "sea_orm_migration::migrator",
                "zhongtai_approval"
            ]
        );
    }

    #[test]
    fn bad_directives_are_an_error() {
        let error = EnvFilter::builder()
            .parse(directives(None, Some("info,zhongtai=loud")))
            .err();
        assert!(error.is_some());
    }

    struct Recorder(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Recorder {
        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            _ctx: tracing_subscriber::layer::Context<'_, S>,
        ) {
            if let Ok(mut seen) = self.0.lock() {
                seen.push(event.metadata().target().to_string());
            }
        }
    }
}
