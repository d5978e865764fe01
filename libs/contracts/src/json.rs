//! Protobuf messages as canonical proto3 JSON (field names in lowerCamelCase,
//! enums by name, timestamps as RFC 3339), read from the contracts'
//! descriptor set so every tool prints the same shape the gateway will serve.

use std::sync::LazyLock;

use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};

/// Why a message could not be rendered as JSON.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    #[error("the contracts' descriptor set does not decode: {0}")]
    Descriptors(String),
    #[error("{0} is not a message of the Zhongtai contracts")]
    UnknownMessage(String),
    #[error("cannot render {name}: {reason}")]
    Render { name: String, reason: String },
}

static POOL: LazyLock<Result<DescriptorPool, String>> =
    LazyLock::new(|| DescriptorPool::decode(crate::FILE_DESCRIPTOR_SET).map_err(|e| e.to_string()));

/// The message as a JSON value; unset fields are left out, as proto3 JSON
/// does by default.
pub fn to_json<M: prost::Message + prost::Name>(
    message: &M,
) -> Result<serde_json::Value, JsonError> {
    let pool = POOL
        .as_ref()
        .map_err(|e| JsonError::Descriptors(e.clone()))?;
    let name = M::full_name();
    let descriptor = pool
        .get_message_by_name(&name)
        .ok_or_else(|| JsonError::UnknownMessage(name.clone()))?;
    let render = |reason: String| JsonError::Render {
        name: name.clone(),
        reason,
    };
    let dynamic = DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice())
        .map_err(|e| render(e.to_string()))?;
    let options = SerializeOptions::new().skip_default_fields(true);
    dynamic
        .serialize_with_options(serde_json::value::Serializer, &options)
        .map_err(|e| render(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::v1::PageRequest;

    #[test]
    fn messages_render_as_proto3_json() {
        let page = PageRequest {
            page_size: 20,
            page_token: "v1:abc".into(),
        };
        let json = to_json(&page).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"pageSize": 20, "pageToken": "v1:abc"})
        );
        assert_eq!(
            to_json(&PageRequest::default()).unwrap(),
            serde_json::json!({})
        );
    }
}
