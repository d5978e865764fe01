//! Tower layers that trace and measure gRPC calls: [`ServerTelemetryLayer`]
//! for servers, [`ClientTelemetryLayer`] for client channels. Together they
//! carry one trace across the mesh (W3C `traceparent` in the request headers)
//! and fill the `grpc_server_*` / `grpc_client_*` metric families of
//! [`crate::metrics`].
//!
//! Both are generic over request and response bodies; the response body is
//! wrapped in [`TelemetryBody`] so the final status can be read from the
//! trailers of streaming and unary responses alike.

mod body;
mod call;
mod client;
mod future;
mod method;
mod server;
pub(crate) mod status;

pub use body::TelemetryBody;
pub use client::{ClientTelemetry, ClientTelemetryLayer};
pub use future::ResponseFuture;
pub use server::{ServerTelemetry, ServerTelemetryLayer};
