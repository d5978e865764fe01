//! Contract messages read from YAML files: the proto3 JSON mapping written as
//! YAML (field names as in the .proto or in lowerCamelCase, enums by name,
//! durations like "432000s"), checked against the contracts' descriptors.
//!
//! Every file-driven command goes through [`read_message`], so a file is read
//! the same way everywhere and a bad one is refused, with the file, the field
//! path and the problem named, before anything is sent.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use prost_reflect::{
    DescriptorPool, DynamicMessage, EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor,
};
use serde_json::Value;

/// Larger files are refused unread: no request message is anywhere near it.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

static POOL: LazyLock<Result<DescriptorPool, String>> = LazyLock::new(|| {
    DescriptorPool::decode(zhongtai_contracts::FILE_DESCRIPTOR_SET).map_err(|e| e.to_string())
});

/// The contracts' descriptors, decoded once.
pub fn pool() -> Result<&'static DescriptorPool, String> {
    POOL.as_ref()
        .map_err(|e| format!("the contracts' descriptor set does not decode: {e}"))
}

/// Descriptor of a generated contract message.
pub fn descriptor<M: prost::Name>() -> Result<MessageDescriptor, String> {
    let name = M::full_name();
    pool()?
        .get_message_by_name(&name)
        .ok_or_else(|| format!("{name} is not a message of the Zhongtai contracts"))
}

/// Why a file could not become a message.
#[derive(Debug)]
pub struct FileError {
    path: PathBuf,
    problem: MessageError,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.problem)
    }
}

impl std::error::Error for FileError {}

/// What is wrong with a document, and where in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageError {
    /// The file cannot be read, or is too large.
    Unreadable(String),
    /// Not valid YAML (the parser's message carries line and column).
    Syntax(String),
    /// Valid YAML, but not the message: `field` is a path like
    /// `stages[1].kind` (empty for the document as a whole).
    Content { field: String, problem: String },
}

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreadable(problem) => f.write_str(problem),
            Self::Syntax(problem) => write!(f, "not valid YAML: {problem}"),
            Self::Content { field, problem } if field.is_empty() => f.write_str(problem),
            Self::Content { field, problem } => write!(f, "{field}: {problem}"),
        }
    }
}

/// Reads `path` as YAML holding the message `M`.
pub fn read_message<M>(path: &Path) -> Result<M, FileError>
where
    M: prost::Message + prost::Name + Default,
{
    let fail = |problem| FileError {
        path: path.to_path_buf(),
        problem,
    };
    let size = std::fs::metadata(path)
        .map_err(|e| fail(MessageError::Unreadable(format!("cannot read it: {e}"))))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(fail(MessageError::Unreadable(format!(
            "{size} bytes is more than the {MAX_FILE_BYTES} a request file may hold"
        ))));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| fail(MessageError::Unreadable(format!("cannot read it: {e}"))))?;
    parse_message(&text).map_err(fail)
}

/// Parses YAML text holding the message `M`.
pub fn parse_message<M>(text: &str) -> Result<M, MessageError>
where
    M: prost::Message + prost::Name + Default,
{
    let document = yaml_to_json(text)?;
    let descriptor = descriptor::<M>().map_err(|problem| MessageError::Content {
        field: String::new(),
        problem,
    })?;
    let dynamic = match &document {
        Value::Null => {
            return Err(MessageError::Content {
                field: String::new(),
                problem: format!("the file is empty; it must hold a {}", descriptor.name()),
            });
        }
        Value::Object(_) => decode(&descriptor, &document).map_err(|whole| {
            let (field, problem) =
                locate(&descriptor, &document, "").unwrap_or((String::new(), whole));
            MessageError::Content { field, problem }
        })?,
        _ => {
            return Err(MessageError::Content {
                field: String::new(),
                problem: format!(
                    "the file must hold a mapping of {} fields",
                    descriptor.name()
                ),
            });
        }
    };
    dynamic
        .transcode_to::<M>()
        .map_err(|e| MessageError::Content {
            field: String::new(),
            problem: format!("cannot convert to {}: {e}", descriptor.full_name()),
        })
}

/// Through YAML's own value first: it refuses duplicate keys (which a JSON
/// value would silently collapse) and resolves `<<` merge keys.
fn yaml_to_json(text: &str) -> Result<Value, MessageError> {
    let mut yaml: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(text).map_err(|e| MessageError::Syntax(e.to_string()))?;
    yaml.apply_merge()
        .map_err(|e| MessageError::Syntax(e.to_string()))?;
    serde_json::to_value(yaml).map_err(|e| MessageError::Syntax(e.to_string()))
}

fn decode(descriptor: &MessageDescriptor, value: &Value) -> Result<DynamicMessage, String> {
    DynamicMessage::deserialize(descriptor.clone(), value).map_err(|e| e.to_string())
}

/// The deserializer says what is wrong but not where; find the innermost
/// field whose value alone fails, by decoding one field at a time.
fn locate(descriptor: &MessageDescriptor, value: &Value, path: &str) -> Option<(String, String)> {
    let object = value.as_object()?;
    for (key, field_value) in object {
        let here = join(path, key);
        let Some(field) = descriptor
            .get_field_by_json_name(key)
            .or_else(|| descriptor.get_field_by_name(key))
        else {
            return Some((here, unknown_field(descriptor)));
        };
        let alone = |inner: Value| Value::Object([(key.clone(), inner)].into_iter().collect());
        let Err(error) = decode(descriptor, &alone(field_value.clone())) else {
            continue;
        };
        if field.is_map() {
            if let Some(entries) = field_value.as_object() {
                for (entry_key, entry) in entries {
                    let single =
                        Value::Object([(entry_key.clone(), entry.clone())].into_iter().collect());
                    if let Err(error) = decode(descriptor, &alone(single)) {
                        let at = format!("{here}.{entry_key}");
                        let value_field = map_value_field(&field);
                        return Some(
                            value_field
                                .as_ref()
                                .and_then(|f| nested(f, entry, &at))
                                .unwrap_or_else(|| (at, explain(value_field.as_ref(), error))),
                        );
                    }
                }
            }
        } else if field.is_list() {
            if let Some(elements) = field_value.as_array() {
                for (index, element) in elements.iter().enumerate() {
                    if let Err(error) =
                        decode(descriptor, &alone(Value::Array(vec![element.clone()])))
                    {
                        let at = format!("{here}[{index}]");
                        return Some(
                            nested(&field, element, &at)
                                .unwrap_or_else(|| (at, explain(Some(&field), error))),
                        );
                    }
                }
            }
        } else if let Some(found) = nested(&field, field_value, &here) {
            return Some(found);
        }
        return Some((here, explain(Some(&field), error)));
    }
    None
}

/// Descends into a field holding a message written as a mapping; well-known
/// types have their own JSON forms and are judged as a whole.
fn nested(field: &FieldDescriptor, value: &Value, path: &str) -> Option<(String, String)> {
    match field.kind() {
        Kind::Message(message) if !is_well_known(&message) && value.is_object() => {
            locate(&message, value, path)
        }
        _ => None,
    }
}

fn map_value_field(field: &FieldDescriptor) -> Option<FieldDescriptor> {
    match field.kind() {
        Kind::Message(entry) => Some(entry.map_entry_value_field()),
        _ => None,
    }
}

fn is_well_known(message: &MessageDescriptor) -> bool {
    message.package_name() == "google.protobuf"
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn unknown_field(descriptor: &MessageDescriptor) -> String {
    let known: Vec<String> = descriptor.fields().map(|f| f.name().to_string()).collect();
    format!(
        "unknown field of {}; known fields: {}",
        descriptor.name(),
        known.join(", ")
    )
}

/// The deserializer's message, with what a valid value looks like.
fn explain(field: Option<&FieldDescriptor>, error: String) -> String {
    let hint = field.and_then(|field| match field.kind() {
        Kind::Enum(enumeration) => Some(format!("expected {}", enum_hint(&enumeration))),
        // YAML reads unquoted digits (codes, hashes, phone numbers) as numbers.
        Kind::String if error.starts_with("invalid type") => {
            Some("put the value in quotes to make it text".into())
        }
        Kind::Message(message) => match message.full_name() {
            "google.protobuf.Duration" => {
                Some("expected a duration in seconds, like \"432000s\"".into())
            }
            "google.protobuf.Timestamp" => {
                Some("expected an RFC 3339 time, like \"2027-12-31T16:00:00Z\"".into())
            }
            "google.protobuf.FieldMask" => {
                Some("expected comma-separated field names, like \"name,description\"".into())
            }
            _ => None,
        },
        _ => None,
    });
    match hint {
        Some(hint) => format!("{error}; {hint}"),
        None => error,
    }
}

fn enum_hint(enumeration: &EnumDescriptor) -> String {
    let names: Vec<String> = enumeration
        .values()
        .filter(|v| v.number() != 0)
        .map(|v| v.name().to_string())
        .collect();
    format!("one of {}", names.join(", "))
}

#[cfg(test)]
mod tests;
