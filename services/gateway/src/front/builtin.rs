//! What the front door answers itself: the OpenAPI document, the calling
//! app's usage, and a liveness probe.

use axum::body::Body;
use chrono::{DateTime, Utc};
use http::{HeaderValue, Method, StatusCode};

use super::door::FrontDoor;
use super::refusal::Refusal;
use super::snapshot::Snapshot;
use crate::domain::{App, CapabilityName, GatewayError};
use crate::limits::{QuotaStanding, SharedLimits};
use crate::transcode::{OpenApiFormat, openapi_document};

const OPENAPI_JSON: &str = "/gateway/v1/openapi.json";
const OPENAPI_YAML: &str = "/gateway/v1/openapi.yaml";
const USAGE: &str = "/gateway/v1/usage";

/// The answer to a built-in route, or the request back for the capabilities.
pub async fn answer(
    door: &FrontDoor,
    request: http::Request<Body>,
) -> Result<http::Response<Body>, http::Request<Body>> {
    let path = request.uri().path();
    if request.method() != Method::GET {
        return Err(request);
    }
    match path {
        "/healthz" => Ok(text(StatusCode::OK, "text/plain", "ok".into())),
        OPENAPI_JSON | OPENAPI_YAML => {
            let format = if path == OPENAPI_YAML {
                OpenApiFormat::Yaml
            } else {
                OpenApiFormat::Json
            };
            Ok(openapi(&door.snapshot.get(), format))
        }
        USAGE => Ok(usage(door, request).await),
        _ => Err(request),
    }
}

/// The OpenAPI document of every served capability.
fn openapi(snapshot: &Snapshot, format: OpenApiFormat) -> http::Response<Body> {
    let capabilities: Vec<_> = snapshot.capabilities().cloned().collect();
    let media_type = match format {
        OpenApiFormat::Json => "application/json",
        OpenApiFormat::Yaml => "application/yaml",
    };
    match openapi_document(&capabilities, format, None) {
        Ok(document) => text(StatusCode::OK, media_type, document),
        Err(e) => {
            tracing::error!(error = %e, "cannot render the OpenAPI document");
            Refusal::internal("the OpenAPI document could not be rendered").into_http()
        }
    }
}

async fn usage(door: &FrontDoor, request: http::Request<Body>) -> http::Response<Body> {
    let (parts, _) = request.into_parts();
    let snapshot = door.snapshot.get();
    let now = Utc::now();
    let app = match door.authenticate(&snapshot, &parts, b"", now) {
        Ok((credential, app)) => match door.claim_nonce(&credential, &parts.headers, now).await {
            Ok(()) => app,
            Err(refusal) => return refusal.into_http(),
        },
        Err(refusal) => return refusal.into_http(),
    };
    match app_usage(&snapshot, &door.limits, &app, None, now).await {
        Ok(usages) => {
            let body = serde_json::json!({
                "appId": app.id.to_string(),
                "usages": usages.iter().map(|(capability, standing)| serde_json::json!({
                    "capability": capability.as_str(),
                    "window": standing.window.as_str().to_uppercase(),
                    "windowStartTime": standing.window_start.to_rfc3339(),
                    "windowEndTime": standing.window_end.to_rfc3339(),
                    "used": standing.used,
                    "limit": standing.limit,
                    "remaining": standing.remaining,
                })).collect::<Vec<_>>(),
            });
            text(StatusCode::OK, "application/json", body.to_string())
        }
        Err(e) => {
            tracing::error!(error = %e, "usage unavailable");
            Refusal::backend(
                "BACKEND_UNAVAILABLE",
                "usage is unavailable; retry shortly",
                Some(std::time::Duration::from_secs(1)),
            )
            .into_http()
        }
    }
}

/// The app's standing on every quota of the capabilities it may call (or
/// only `only`).
pub(crate) async fn app_usage(
    snapshot: &Snapshot,
    limits: &SharedLimits,
    app: &App,
    only: Option<&CapabilityName>,
    now: DateTime<Utc>,
) -> Result<Vec<(CapabilityName, QuotaStanding)>, GatewayError> {
    let mut usages = Vec::new();
    for capability in &app.allowed_capabilities {
        if only.is_some_and(|only| only != capability) {
            continue;
        }
        let Some(policy) = snapshot.limits(app.id, capability.as_str()) else {
            continue;
        };
        if policy.quotas.is_empty() {
            continue;
        }
        for standing in limits
            .usage(app.id, capability, &policy.quotas, now)
            .await?
        {
            usages.push((capability.clone(), standing));
        }
    }
    Ok(usages)
}

fn text(status: StatusCode, media_type: &'static str, body: String) -> http::Response<Body> {
    let mut response = http::Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(media_type),
    );
    response
}
