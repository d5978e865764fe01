//! The access layer every server runs: bearer token → [`Caller`] → policy
//! check → handler. Refusals never reach a handler; every PERMISSION_DENIED
//! answer — from the policy here or from a domain rule in a handler — is
//! recorded in the audit log.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use http::{Request, Response};
use tonic::body::Body;
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
use tonic_types::StatusExt;
use tower::{Layer, Service};

use super::caller::Caller;
use super::credential::Credential;
use super::policy::{Access, AccessPolicy, Rule};
use super::token::{TokenError, TokenVerifier};
use crate::status::ApiError;

/// A refusal worth an audit record.
#[derive(Debug, Clone)]
pub struct Denial {
    /// The caller, when its token was valid.
    pub caller: Option<Caller>,
    /// The RPC path.
    pub action: String,
    /// What the refused action was aimed at, when known.
    pub target: String,
    /// Stable reason code, e.g. `ROLE_NOT_ALLOWED`, `TENANT_MISMATCH`.
    pub reason: String,
    pub trace_id: Option<String>,
}

/// Where denials go: the service's audit log.
#[async_trait::async_trait]
pub trait DenialLog: Send + Sync + 'static {
    async fn record(&self, denial: Denial);
}

/// Everything the layer needs.
pub struct AccessControl {
    pub verifier: Arc<TokenVerifier>,
    pub policy: AccessPolicy,
    pub denials: Arc<dyn DenialLog>,
}

/// Tower layer applying [`AccessControl`].
#[derive(Clone)]
pub struct AccessLayer {
    control: Arc<AccessControl>,
}

impl AccessLayer {
    pub fn new(control: AccessControl) -> Self {
        Self {
            control: Arc::new(control),
        }
    }
}

impl<S> Layer<S> for AccessLayer {
    type Service = AccessService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AccessService {
            inner,
            control: self.control.clone(),
        }
    }
}

#[derive(Clone)]
pub struct AccessService<S> {
    inner: S,
    control: Arc<AccessControl>,
}

impl<S, B> Service<Request<B>> for AccessService<S>
where
    S: Service<Request<B>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // The ready service handles this call; a fresh clone waits for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let control = self.control.clone();
        Box::pin(async move {
            let path = request.uri().path().to_string();
            let rule = control.policy.rule(&path);
            if rule == Rule::Infrastructure {
                return inner.call(request).await;
            }
            let mut credential = None;
            let caller = match bearer_token(request.headers()) {
                Ok(None) if rule == Rule::Declared(Access::Public) => None,
                Ok(None) => return Ok(unauthenticated(&path, &TokenError::Missing)),
                Ok(Some(token)) => match control.verifier.verify(token).await {
                    Ok(mut caller) => {
                        caller.peer = peer_of(&request);
                        credential = Some(Credential::new(token));
                        Some(caller)
                    }
                    Err(error) => return Ok(unauthenticated(&path, &error)),
                },
                Err(error) => return Ok(unauthenticated(&path, &error)),
            };
            if let Err(refusal) = control.policy.check(&path, caller.as_ref()) {
                let message = match &caller {
                    Some(c) => format!(
                        "{} may not call {path} (roles: {})",
                        c.describe(),
                        role_list(c)
                    ),
                    None => format!("{path} needs an authenticated caller"),
                };
                control
                    .denials
                    .record(Denial {
                        caller: caller.clone(),
                        action: path,
                        target: String::new(),
                        reason: refusal.code().to_string(),
                        trace_id: zhongtai_telemetry::propagation::current_trace_id(),
                    })
                    .await;
                return Ok(status_response(ApiError::permission_denied(
                    refusal.code(),
                    message,
                )));
            }
            if let Some(caller) = &caller {
                request.extensions_mut().insert(caller.clone());
            }
            if let Some(credential) = credential {
                request.extensions_mut().insert(credential);
            }
            let response = inner.call(request).await?;
            if let Some(denial) = domain_denial(&response, caller, path) {
                control.denials.record(denial).await;
            }
            Ok(response)
        })
    }
}

/// `Ok(None)`: no `authorization` header; `Err`: one that is not a bearer token.
fn bearer_token(headers: &http::HeaderMap) -> Result<Option<&str>, TokenError> {
    let Some(value) = headers.get(http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| TokenError::Malformed("the authorization header is not text".into()))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(TokenError::Malformed(
            "the authorization header must be `Bearer <token>`".into(),
        )),
    }
}

fn peer_of<B>(request: &Request<B>) -> Option<String> {
    let extensions = request.extensions();
    extensions
        .get::<TcpConnectInfo>()
        .or_else(|| {
            extensions
                .get::<TlsConnectInfo<TcpConnectInfo>>()
                .map(|tls| tls.get_ref())
        })
        .and_then(|info| info.remote_addr())
        .map(|addr| addr.to_string())
}

fn role_list(caller: &Caller) -> String {
    if caller.roles.is_empty() {
        return "none".into();
    }
    caller
        .roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn unauthenticated(path: &str, error: &TokenError) -> Response<Body> {
    tracing::info!(path, code = error.code(), %error, "request refused: not authenticated");
    status_response(
        ApiError::unauthenticated(error.to_string()).with_metadata("credential", error.code()),
    )
}

fn status_response(error: ApiError) -> Response<Body> {
    tonic::Status::from(error).into_http()
}

/// A PERMISSION_DENIED a handler answered (a domain rule such as tenant
/// isolation), as a denial to record.
fn domain_denial(
    response: &Response<Body>,
    caller: Option<Caller>,
    action: String,
) -> Option<Denial> {
    let status = tonic::Status::from_header_map(response.headers())?;
    if status.code() != tonic::Code::PermissionDenied {
        return None;
    }
    let details = status.get_error_details();
    let metadata = details.error_info().map(|info| info.metadata.clone());
    let lookup = |key: &str| {
        metadata
            .as_ref()
            .and_then(|m| m.get(key).cloned())
            .unwrap_or_default()
    };
    Some(Denial {
        caller,
        action,
        target: lookup("target"),
        reason: match lookup("denial") {
            reason if reason.is_empty() => "DENIED".into(),
            reason => reason,
        },
        trace_id: zhongtai_telemetry::propagation::current_trace_id(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_headers_are_parsed_strictly() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(bearer_token(&headers), Ok(None));
        headers.insert(
            http::header::AUTHORIZATION,
            "Bearer abc".parse().expect("header"),
        );
        assert_eq!(bearer_token(&headers), Ok(Some("abc")));
        for bad in ["Basic abc", "Bearer ", "abc"] {
            headers.insert(http::header::AUTHORIZATION, bad.parse().expect("header"));
            assert!(bearer_token(&headers).is_err(), "{bad} accepted");
        }
    }
}
