//! One benchmarked call over a chosen path, with the request bytes encoded
//! once and, for the gateway, signed per call.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::uri::PathAndQuery;
use tonic::metadata::MetadataMap;
use tonic::transport::{Channel, Endpoint};

use crate::codec::RawCodec;
use crate::payload;

/// Adds per-call credentials to a request's metadata.
pub trait Authenticator: Send + Sync {
    /// Adds the headers that authenticate one call carrying `framed_body`.
    fn authenticate(&self, framed_body: &[u8], metadata: &mut MetadataMap);
}

/// How one call ended, as the caller sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    /// `OK` with the expected response.
    Ok,
    /// Refused by the system under test (shed or limited): the codes a
    /// client retries later.
    Rejected(tonic::Code),
    /// Any other failure, or an unexpected response.
    Failed(tonic::Code),
}

/// The gRPC codes that mean "not now" rather than "broken".
pub fn is_rejection(code: tonic::Code) -> bool {
    matches!(
        code,
        tonic::Code::ResourceExhausted | tonic::Code::Unavailable
    )
}

/// A path to the backend: connections and, for the gateway, a signer.
#[derive(Clone)]
pub struct Target {
    channels: Arc<[Channel]>,
    message: Bytes,
    framed: Bytes,
    expected: Bytes,
    authenticator: Option<Arc<dyn Authenticator>>,
}

impl Target {
    /// Opens `connections` HTTP/2 connections to `addr`.
    pub async fn connect(
        addr: SocketAddr,
        connections: usize,
        authenticator: Option<Arc<dyn Authenticator>>,
    ) -> anyhow::Result<Self> {
        let endpoint = Endpoint::from_shared(format!("http://{addr}"))?
            .tcp_nodelay(true)
            .connect_timeout(Duration::from_secs(5));
        let mut channels = Vec::with_capacity(connections);
        for _ in 0..connections.max(1) {
            // Each connect() dials its own connection.
            channels.push(endpoint.connect().await?);
        }
        let message = payload::request();
        Ok(Self {
            channels: channels.into(),
            framed: payload::frame(&message),
            message,
            expected: payload::response(),
            authenticator,
        })
    }

    /// A client for worker `index`, spreading workers over the connections.
    pub fn client(&self, index: usize) -> CallClient {
        let channel = self.channels[index % self.channels.len()].clone();
        CallClient {
            grpc: tonic::client::Grpc::new(channel),
            target: self.clone(),
        }
    }
}

/// Makes calls over one connection.
#[derive(Clone)]
pub struct CallClient {
    grpc: tonic::client::Grpc<Channel>,
    target: Target,
}

impl CallClient {
    /// One call, start to trailers.
    pub async fn call(&mut self) -> CallOutcome {
        match self.send().await {
            Ok(body) if body == self.target.expected => CallOutcome::Ok,
            Ok(_) => CallOutcome::Failed(tonic::Code::DataLoss),
            Err(status) if is_rejection(status.code()) => CallOutcome::Rejected(status.code()),
            Err(status) => CallOutcome::Failed(status.code()),
        }
    }

    /// One call, with the reason it failed for diagnostics.
    pub async fn probe(&mut self) -> Result<(), String> {
        let body = self
            .send()
            .await
            .map_err(|status| format!("{:?}: {}", status.code(), status.message()))?;
        if payload::is_valid_response(&body) {
            Ok(())
        } else {
            Err("the response is not a VALID VerifyCertificateResponse".into())
        }
    }

    async fn send(&mut self) -> Result<Bytes, tonic::Status> {
        let mut request = tonic::Request::new(self.target.message.clone());
        if let Some(authenticator) = &self.target.authenticator {
            authenticator.authenticate(&self.target.framed, request.metadata_mut());
        }
        self.grpc
            .ready()
            .await
            .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
        let path = PathAndQuery::from_static(payload::METHOD_PATH);
        let response = self
            .grpc
            .unary::<Bytes, Bytes, _>(request, path, RawCodec)
            .await?;
        Ok(response.into_inner())
    }
}
