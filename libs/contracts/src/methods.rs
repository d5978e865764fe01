//! What the contracts say about each RPC, read once from the descriptor set:
//! today, whether a method may be retried (`option idempotency_level`).

use std::collections::HashMap;
use std::sync::LazyLock;

use prost::Message;
use prost_types::method_options::IdempotencyLevel;

/// How safe it is to send a call again, as declared in the `.proto`
/// (`option idempotency_level = ...;`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Not declared: the call may have side effects; never retried blindly.
    Unknown,
    /// The call only reads (`NO_SIDE_EFFECTS`).
    NoSideEffects,
    /// Repeating the call has no further effect (`IDEMPOTENT`).
    Idempotent,
}

impl Idempotency {
    /// True when a failed attempt may be sent again.
    pub fn is_retryable(self) -> bool {
        !matches!(self, Idempotency::Unknown)
    }
}

static METHODS: LazyLock<HashMap<String, Idempotency>> = LazyLock::new(|| {
    let Ok(fds) = prost_types::FileDescriptorSet::decode(crate::FILE_DESCRIPTOR_SET) else {
        return HashMap::new();
    };
    let mut methods = HashMap::new();
    for file in &fds.file {
        for service in &file.service {
            for method in &service.method {
                let path = format!("/{}.{}/{}", file.package(), service.name(), method.name());
                let level = method
                    .options
                    .as_ref()
                    .map(|options| options.idempotency_level())
                    .unwrap_or(IdempotencyLevel::IdempotencyUnknown);
                let idempotency = match level {
                    IdempotencyLevel::NoSideEffects => Idempotency::NoSideEffects,
                    IdempotencyLevel::Idempotent => Idempotency::Idempotent,
                    IdempotencyLevel::IdempotencyUnknown => Idempotency::Unknown,
                };
                methods.insert(path, idempotency);
            }
        }
    }
    methods
});

/// Idempotency of a gRPC method given its HTTP/2 path
/// (`/zhongtai.approval.v1.ApprovalService/GetApplication`). Methods outside
/// Zhongtai's contracts are `Unknown`, except the standard health check, which
/// only reads.
pub fn idempotency(path: &str) -> Idempotency {
    if path.starts_with("/grpc.health.v1.Health/") {
        return Idempotency::NoSideEffects;
    }
    METHODS.get(path).copied().unwrap_or(Idempotency::Unknown)
}

/// Every method path declared in the contracts with its idempotency.
pub fn all() -> impl Iterator<Item = (&'static str, Idempotency)> {
    METHODS.iter().map(|(path, level)| (path.as_str(), *level))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_check_is_read_only() {
        assert_eq!(
            idempotency("/grpc.health.v1.Health/Check"),
            Idempotency::NoSideEffects
        );
    }

    #[test]
    fn unknown_paths_are_not_retryable() {
        assert!(!idempotency("/nope.v1.Nope/Do").is_retryable());
    }
}
