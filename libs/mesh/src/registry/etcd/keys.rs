//! Where instances live in etcd and how a stored value becomes an instance.

use crate::ServiceInstance;

/// `{prefix}/{service}/{instance id}`.
#[derive(Clone, Debug)]
pub(super) struct KeyLayout {
    prefix: String,
}

impl KeyLayout {
    pub(super) fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.trim_end_matches('/').to_string(),
        }
    }

    /// The prefix all of one service's instances share (with the trailing
    /// `/`, so `approval` does not match `approval-archive`).
    pub(super) fn service_prefix(&self, service: &str) -> String {
        format!("{}/{service}/", self.prefix)
    }

    pub(super) fn instance_key(&self, instance: &ServiceInstance) -> String {
        format!("{}{}", self.service_prefix(&instance.service), instance.id)
    }
}

/// The instance id a key names, if the key is under `service_prefix`.
pub(super) fn instance_id<'k>(service_prefix: &str, key: &'k [u8]) -> Option<&'k str> {
    std::str::from_utf8(key)
        .ok()?
        .strip_prefix(service_prefix)
        .filter(|id| !id.is_empty() && !id.contains('/'))
}

/// Decodes a stored instance and checks it belongs where it is stored.
pub(super) fn decode(service: &str, id: &str, value: &[u8]) -> Result<ServiceInstance, String> {
    let instance: ServiceInstance =
        serde_json::from_slice(value).map_err(|e| format!("not an instance: {e}"))?;
    if instance.service != service || instance.id != id {
        return Err(format!(
            "stored under {service}/{id} but describes {}/{}",
            instance.service, instance.id
        ));
    }
    instance.validate().map_err(|e| e.to_string())?;
    Ok(instance)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_nest_instances_under_their_service() {
        let layout = KeyLayout::new("/zhongtai/services");
        let instance = ServiceInstance::new("approval", "a1", "127.0.0.1:1");
        assert_eq!(
            layout.instance_key(&instance),
            "/zhongtai/services/approval/a1"
        );
        let prefix = layout.service_prefix("approval");
        assert_eq!(
            instance_id(&prefix, b"/zhongtai/services/approval/a1"),
            Some("a1")
        );
        assert_eq!(
            instance_id(&prefix, b"/zhongtai/services/approval-x/a1"),
            None
        );
        assert_eq!(
            instance_id(&prefix, b"/zhongtai/services/approval/a/b"),
            None
        );
    }

    #[test]
    fn malformed_values_are_reported_not_panicked_on() {
        assert!(decode("approval", "a1", b"{not json").is_err());
        assert!(decode("approval", "a1", &[0xff, 0xfe]).is_err());
        let other =
            serde_json::to_vec(&ServiceInstance::new("catalog", "a1", "h:1")).unwrap_or_default();
        assert!(decode("approval", "a1", &other).is_err());
        let good =
            serde_json::to_vec(&ServiceInstance::new("approval", "a1", "h:1")).unwrap_or_default();
        assert!(decode("approval", "a1", &good).is_ok());
    }
}
