//! The server layers stacked as the service host stacks them, in front of a
//! real tonic server, called through a MeshChannel.

mod common;

use std::sync::Arc;
use std::time::Duration;

use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt;
use tower::ServiceBuilder;
use zhongtai_mesh::{
    AdmissionConfig, AdmissionLayer, ChannelConfig, Discovery, MeshChannel, MessageLimitLayer,
    Priority, RateLimitLayer, ServiceInstance,
};

async fn serve(max_message_bytes: usize, rate: Option<u32>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let address = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("addr: {e}"));
    let mut admission = AdmissionConfig::new(16);
    admission.classify = Arc::new(|_| Priority::Normal);
    let layers = ServiceBuilder::new()
        .layer(AdmissionLayer::new(admission))
        .option_layer(rate.map(|r| RateLimitLayer::new(r, r.max(1))))
        .layer(MessageLimitLayer::new(max_message_bytes))
        .into_inner();
    let (_reporter, health) = tonic_health::server::health_reporter();
    tokio::spawn(async move {
        let served = tonic::transport::Server::builder()
            .layer(layers)
            .add_service(health)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await;
        if let Err(error) = served {
            panic!("server failed: {error}");
        }
    });
    address
}

fn channel(address: std::net::SocketAddr) -> MeshChannel {
    let discovery = Discovery::fixed([ServiceInstance::new("health", "one", address.to_string())]);
    MeshChannel::new(
        discovery,
        ChannelConfig {
            default_deadline: Duration::from_secs(5),
            ..ChannelConfig::default()
        },
    )
}

async fn check(channel: &MeshChannel, service: String) -> Result<(), tonic::Status> {
    HealthClient::new(channel.clone())
        .check(HealthCheckRequest { service })
        .await
        .map(|_| ())
}

#[tokio::test]
async fn an_oversize_message_reaches_the_caller_as_resource_exhausted() {
    let address = serve(1024, None).await;
    let channel = channel(address);
    check(&channel, String::new())
        .await
        .unwrap_or_else(|s| panic!("small request: {s}"));
    let status = check(&channel, "x".repeat(4096))
        .await
        .err()
        .unwrap_or_else(|| panic!("oversize request accepted"));
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    let reason = status
        .get_error_details()
        .error_info()
        .map(|info| info.reason.clone());
    assert_eq!(reason.as_deref(), Some("ERROR_REASON_MESSAGE_TOO_LARGE"));
}

#[tokio::test]
async fn the_stack_type_checks_with_and_without_a_rate_limit_and_serves() {
    for rate in [None, Some(1000)] {
        let channel = channel(serve(4096, rate).await);
        check(&channel, String::new())
            .await
            .unwrap_or_else(|s| panic!("rate {rate:?}: {s}"));
    }
}
