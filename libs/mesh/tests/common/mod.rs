//! Real tonic servers on loopback for the integration tests.

#![allow(dead_code)]

use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use zhongtai_mesh::{MeshChannel, ServiceInstance};

pub use zhongtai_testkit::HealthServer;

/// `server` as an instance of `service` called `id`.
pub fn instance(server: &HealthServer, service: &str, id: &str) -> ServiceInstance {
    ServiceInstance::new(service, id, server.address.to_string())
}

pub async fn check(channel: &MeshChannel) -> Result<(), tonic::Status> {
    HealthClient::new(channel.clone())
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .map(|_| ())
}
