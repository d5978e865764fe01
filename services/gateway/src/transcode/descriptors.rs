//! The contracts' descriptors, decoded once: gRPC methods by their HTTP/2
//! path, and the well-known types that JSON spells as scalars.

use std::collections::HashMap;
use std::sync::LazyLock;

use prost_reflect::{DescriptorPool, MessageDescriptor, MethodDescriptor};

static POOL: LazyLock<Result<DescriptorPool, String>> = LazyLock::new(|| {
    DescriptorPool::decode(zhongtai_contracts::FILE_DESCRIPTOR_SET).map_err(|e| e.to_string())
});

static METHODS: LazyLock<HashMap<String, MethodDescriptor>> = LazyLock::new(|| {
    let Ok(pool) = POOL.as_ref() else {
        return HashMap::new();
    };
    pool.services()
        .flat_map(|service| service.methods().collect::<Vec<_>>())
        .map(|method| {
            let path = format!("/{}/{}", method.parent_service().full_name(), method.name());
            (path, method)
        })
        .collect()
});

/// The method at `path` (`/zhongtai.certificate.v1.CertificateService/GetCertificate`).
pub(crate) fn method(path: &str) -> Result<MethodDescriptor, String> {
    if let Err(e) = POOL.as_ref() {
        return Err(format!(
            "the contracts' descriptor set does not decode: {e}"
        ));
    }
    if !path.starts_with('/') || path[1..].split('/').count() != 2 {
        return Err(format!(
            "must be a gRPC path such as /zhongtai.certificate.v1.CertificateService/VerifyCertificate, got `{path}`"
        ));
    }
    METHODS
        .get(path)
        .cloned()
        .ok_or_else(|| format!("{path} is not a method of the Zhongtai contracts"))
}

/// How proto3 JSON spells a well-known message type that is not an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WellKnown {
    /// RFC 3339 string.
    Timestamp,
    /// Seconds with an `s` suffix, e.g. `1.5s`.
    Duration,
    /// Comma-separated lowerCamelCase paths.
    FieldMask,
    /// `google.protobuf.*Value` wrappers: their scalar.
    Wrapper,
    /// `Struct`: any JSON object.
    Struct,
    /// `Value`: any JSON value.
    Value,
    /// `ListValue`: any JSON array.
    ListValue,
    /// `Any`: an object with `@type`.
    Any,
    /// `Empty`: `{}`.
    Empty,
}

impl WellKnown {
    /// The JSON form of `message`, if it is a well-known type.
    pub(crate) fn of(message: &MessageDescriptor) -> Option<Self> {
        let name = message.full_name().strip_prefix("google.protobuf.")?;
        Some(match name {
            "Timestamp" => Self::Timestamp,
            "Duration" => Self::Duration,
            "FieldMask" => Self::FieldMask,
            "DoubleValue" | "FloatValue" | "Int64Value" | "UInt64Value" | "Int32Value"
            | "UInt32Value" | "BoolValue" | "StringValue" | "BytesValue" => Self::Wrapper,
            "Struct" => Self::Struct,
            "Value" => Self::Value,
            "ListValue" => Self::ListValue,
            "Any" => Self::Any,
            "Empty" => Self::Empty,
            _ => return None,
        })
    }

    /// Whether a single path segment or query value can carry it.
    pub(crate) fn is_text(self) -> bool {
        matches!(
            self,
            Self::Timestamp | Self::Duration | Self::FieldMask | Self::Wrapper
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_unary_contract_methods_by_path() {
        let method =
            method("/zhongtai.certificate.v1.CertificateService/VerifyCertificate").unwrap();
        assert_eq!(
            method.input().full_name(),
            "zhongtai.certificate.v1.VerifyCertificateRequest"
        );
    }

    #[test]
    fn refuses_unknown_and_malformed_paths() {
        let unknown = method("/zhongtai.certificate.v1.CertificateService/Nope").unwrap_err();
        assert!(unknown.contains("is not a method"), "{unknown}");
        let malformed = method("CertificateService.Verify").unwrap_err();
        assert!(malformed.contains("must be a gRPC path"), "{malformed}");
    }
}
