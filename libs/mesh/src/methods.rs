//! What the mesh needs to know about an RPC from its path alone: may it be
//! sent again, and does it stream. Idempotency comes from the contracts
//! (`zhongtai_contracts::methods`); streaming shape is read once from the
//! same descriptor set.

use std::collections::HashSet;
use std::sync::LazyLock;

use prost::Message;

/// Standard gRPC methods outside Zhongtai's contracts that stream.
const WELL_KNOWN_STREAMING: &[&str] = &[
    "/grpc.health.v1.Health/Watch",
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
];

static STREAMING: LazyLock<HashSet<String>> = LazyLock::new(|| {
    let mut paths: HashSet<String> = WELL_KNOWN_STREAMING.iter().map(|p| p.to_string()).collect();
    let Ok(fds) = prost_types::FileDescriptorSet::decode(zhongtai_contracts::FILE_DESCRIPTOR_SET)
    else {
        tracing::error!("contracts descriptor set does not decode; streaming methods unknown");
        return paths;
    };
    for file in &fds.file {
        for service in &file.service {
            for method in &service.method {
                if method.client_streaming() || method.server_streaming() {
                    paths.insert(format!(
                        "/{}.{}/{}",
                        file.package(),
                        service.name(),
                        method.name()
                    ));
                }
            }
        }
    }
    paths
});

/// True when the method at this HTTP/2 path streams requests or responses.
pub fn is_streaming(path: &str) -> bool {
    STREAMING.contains(path)
}

/// True when a failed attempt of this call may be sent again: the contract
/// declares it read-only or idempotent (the health check counts as
/// read-only) and it is unary, so the request can be buffered and resent.
pub fn is_retryable(path: &str) -> bool {
    zhongtai_contracts::methods::idempotency(path).is_retryable() && !is_streaming(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_check_is_retryable_and_health_watch_is_not() {
        assert!(is_retryable("/grpc.health.v1.Health/Check"));
        assert!(is_streaming("/grpc.health.v1.Health/Watch"));
        assert!(!is_retryable("/grpc.health.v1.Health/Watch"));
    }

    #[test]
    fn unknown_methods_are_not_retryable() {
        assert!(!is_retryable("/some.v1.Thing/Create"));
        assert!(!is_streaming("/some.v1.Thing/Create"));
    }

    #[test]
    fn contract_streaming_methods_are_never_retryable() {
        for (path, _) in zhongtai_contracts::methods::all() {
            if is_streaming(path) {
                assert!(!is_retryable(path), "{path}");
            }
        }
    }
}
