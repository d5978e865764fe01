//! What a provider publishes about itself, and the set of them a caller sees.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::MeshError;

/// Weight given to an instance that does not state one.
pub const DEFAULT_WEIGHT: u32 = 100;

/// One running instance of a service, as stored in the registry (JSON in
/// etcd) and handed to callers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceInstance {
    /// Logical service name, e.g. `approval`. Must not be empty or contain `/`.
    pub service: String,
    /// Unique per process (a UUID, or pod name plus port). Must not be empty
    /// or contain `/`.
    pub id: String,
    /// `host:port` that callers dial (plaintext HTTP/2).
    pub address: String,
    /// Build version of the instance, for observation and canaries.
    #[serde(default)]
    pub version: String,
    /// Failure zone (data centre, rack) the instance runs in.
    #[serde(default)]
    pub zone: String,
    /// Relative share of traffic; 0 is treated as 1.
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// Free-form labels.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

fn default_weight() -> u32 {
    DEFAULT_WEIGHT
}

/// The instances of one service, by instance id.
pub type EndpointSet = BTreeMap<String /* instance id */, ServiceInstance>;

impl ServiceInstance {
    /// An instance with the default weight and no version, zone or metadata.
    pub fn new(
        service: impl Into<String>,
        id: impl Into<String>,
        address: impl Into<String>,
    ) -> Self {
        Self {
            service: service.into(),
            id: id.into(),
            address: address.into(),
            version: String::new(),
            zone: String::new(),
            weight: DEFAULT_WEIGHT,
            metadata: BTreeMap::new(),
        }
    }

    /// The weight the balancer uses: never zero.
    pub fn effective_weight(&self) -> u32 {
        self.weight.max(1)
    }

    /// Checks that the instance can be stored under
    /// `{prefix}/{service}/{id}` and dialled.
    pub fn validate(&self) -> Result<(), MeshError> {
        for (field, value) in [("service", &self.service), ("id", &self.id)] {
            if value.is_empty() || value.contains('/') {
                return Err(MeshError::InvalidConfig(format!(
                    "instance {field} {value:?} must be non-empty and contain no '/'"
                )));
            }
        }
        if self.address.is_empty() {
            return Err(MeshError::InvalidAddress {
                id: self.id.clone(),
                address: self.address.clone(),
                reason: "empty".to_string(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_optional_fields_take_defaults() {
        let parsed: ServiceInstance =
            serde_json::from_str(r#"{"service":"approval","id":"a1","address":"127.0.0.1:1"}"#)
                .unwrap_or_else(|e| panic!("parse: {e}"));
        assert_eq!(
            parsed,
            ServiceInstance::new("approval", "a1", "127.0.0.1:1")
        );
        assert_eq!(parsed.weight, DEFAULT_WEIGHT);
    }

    #[test]
    fn zero_weight_counts_as_one() {
        let mut instance = ServiceInstance::new("approval", "a1", "127.0.0.1:1");
        instance.weight = 0;
        assert_eq!(instance.effective_weight(), 1);
    }

    #[test]
    fn slashes_and_empty_names_are_refused() {
        assert!(ServiceInstance::new("a/b", "1", "h:1").validate().is_err());
        assert!(ServiceInstance::new("a", "", "h:1").validate().is_err());
        assert!(ServiceInstance::new("a", "1", "").validate().is_err());
        assert!(ServiceInstance::new("a", "1", "h:1").validate().is_ok());
    }
}
