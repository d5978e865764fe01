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
        Kind::Enum(enumeration) => Some(enum_hint(&enumeration)),
        Kind::Message(message) => match message.full_name() {
            "google.protobuf.Duration" => Some("a duration in seconds, like \"432000s\"".into()),
            "google.protobuf.Timestamp" => {
                Some("an RFC 3339 time, like \"2027-12-31T16:00:00Z\"".into())
            }
            "google.protobuf.FieldMask" => {
                Some("comma-separated field names, like \"name,description\"".into())
            }
            _ => None,
        },
        _ => None,
    });
    match hint {
        Some(hint) => format!("{error}; expected {hint}"),
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
mod tests {
    use zhongtai_contracts::approval::v1 as approval;
    use zhongtai_contracts::catalog::v1 as catalog;

    use super::*;

    const PROCESS: &str = r#"
key: business-licence-approval
name: 营业执照设立审批
stages:
  - key: clerk-review
    name: 窗口受理
    kind: STAGE_KIND_SINGLE
    assignees:
      - departmentRole:
          tenant: { division_code: "331100", department: market-regulation }
          role: approver
  - key: joint-review
    name: 联合审查
    kind: STAGE_KIND_JOINT
    assignees:
      - department_role: { tenant: { divisionCode: "331100", department: market-regulation }, role: approver }
      - department_role: { tenant: { divisionCode: "331100", department: fire-safety }, role: approver }
    sla:
      duration: 432000s
      escalateTo: { tenant: { divisionCode: "331100", department: market-regulation }, role: admin }
"#;

    #[test]
    fn a_good_file_becomes_the_message() {
        let request: approval::CreateProcessDefinitionRequest =
            parse_message(PROCESS).expect("valid process file");
        assert_eq!(request.key, "business-licence-approval");
        assert_eq!(request.stages.len(), 2);
        let joint = &request.stages[1];
        assert_eq!(joint.kind(), approval::StageKind::Joint);
        assert_eq!(joint.assignees.len(), 2);
        let sla = joint.sla.as_ref().expect("sla");
        assert_eq!(sla.duration.as_ref().map(|d| d.seconds), Some(432_000));
        let escalate = sla.escalate_to.as_ref().expect("escalation");
        assert_eq!(escalate.role, "admin");
        match &request.stages[0].assignees[0].target {
            Some(approval::assignee::Target::DepartmentRole(role)) => {
                assert_eq!(
                    role.tenant.as_ref().map(|t| t.department.as_str()),
                    Some("market-regulation")
                );
            }
            other => panic!("unexpected assignee {other:?}"),
        }
    }

    #[test]
    fn an_unknown_field_is_named_with_its_path() {
        let text = PROCESS.replace(
            "    kind: STAGE_KIND_SINGLE",
            "    kinds: STAGE_KIND_SINGLE",
        );
        let error = parse_message::<approval::CreateProcessDefinitionRequest>(&text).unwrap_err();
        let MessageError::Content { field, problem } = &error else {
            panic!("unexpected {error:?}");
        };
        assert_eq!(field, "stages[0].kinds");
        assert!(problem.contains("unknown field"), "{problem}");
        assert!(
            problem.contains("assignees"),
            "lists known fields: {problem}"
        );
    }

    #[test]
    fn a_wrong_enum_value_lists_the_valid_ones() {
        let text = PROCESS.replace("STAGE_KIND_JOINT", "STAGE_KIND_JOIN");
        let error = parse_message::<approval::CreateProcessDefinitionRequest>(&text).unwrap_err();
        assert_eq!(
            error,
            MessageError::Content {
                field: "stages[1].kind".into(),
                problem: "unrecognized enum value 'STAGE_KIND_JOIN'; expected one of \
                          STAGE_KIND_SINGLE, STAGE_KIND_JOINT, STAGE_KIND_ANY_OF, STAGE_KIND_N_OF_M"
                    .into(),
            }
        );
    }

    #[test]
    fn a_bad_duration_and_a_bad_map_entry_are_located() {
        let text = PROCESS.replace("432000s", "five days");
        let error = parse_message::<approval::CreateProcessDefinitionRequest>(&text).unwrap_err();
        let MessageError::Content { field, problem } = &error else {
            panic!("unexpected {error:?}");
        };
        assert_eq!(field, "stages[1].sla.duration");
        assert!(problem.contains("432000s"), "{problem}");

        let submit = "assigneeBindings:\n  owner: { tenant: { division_code: \"331100\" }, rol: approver }\n";
        let error = parse_message::<approval::SubmitApplicationRequest>(submit).unwrap_err();
        let MessageError::Content { field, .. } = &error else {
            panic!("unexpected {error:?}");
        };
        assert_eq!(field, "assigneeBindings.owner.rol");
    }

    #[test]
    fn syntax_errors_empty_files_and_scalars_are_refused() {
        let syntax = parse_message::<catalog::Resource>("title: [unclosed").unwrap_err();
        assert!(
            matches!(&syntax, MessageError::Syntax(m) if m.contains("line")),
            "{syntax:?}"
        );
        let empty = parse_message::<catalog::Resource>("# nothing\n").unwrap_err();
        assert!(empty.to_string().contains("empty"), "{empty}");
        let scalar = parse_message::<catalog::Resource>("just text").unwrap_err();
        assert!(scalar.to_string().contains("mapping"), "{scalar}");
        let twice =
            parse_message::<catalog::Resource>("title: a\ncode: x\ntitle: b\n").unwrap_err();
        assert!(twice.to_string().contains("duplicate"), "{twice}");
    }

    #[test]
    fn merge_keys_share_repeated_parts() {
        let text = r#"
x-market: &market { tenant: { divisionCode: "331100", department: market-regulation }, role: approver }
"#;
        // An extension key is not a field: refused like any unknown one.
        assert!(parse_message::<approval::DepartmentRole>(text).is_err());
        let text = r#"
stages:
  - key: a
    kind: STAGE_KIND_SINGLE
    assignees: [ { departmentRole: &market { tenant: { divisionCode: "331100", department: market-regulation }, role: approver } } ]
  - key: b
    kind: STAGE_KIND_JOINT
    assignees:
      - departmentRole: *market
      - departmentRole: { <<: *market, role: admin }
"#;
        let request: approval::CreateProcessDefinitionRequest = parse_message(text).unwrap();
        let roles: Vec<String> = request.stages[1]
            .assignees
            .iter()
            .map(|a| match &a.target {
                Some(approval::assignee::Target::DepartmentRole(r)) => r.role.clone(),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(roles, ["approver", "admin"]);
    }

    #[test]
    fn form_data_and_int64_accept_plain_yaml() {
        let text = r#"
serviceItemKey: { tenant: { divisionCode: "331100", department: market-regulation }, code: business-licence }
formData:
  company_name: 丽水青瓷文化有限公司
  registered_capital: "1000000.00"
  employees: 12
materials:
  - { materialCode: articles-of-association, documentUri: "s3://b/a.pdf", sizeBytes: 20480 }
"#;
        let request: approval::SubmitApplicationRequest = parse_message(text).expect("valid");
        let form = request.form_data.expect("form data");
        assert_eq!(form.fields.len(), 3);
        assert_eq!(request.materials[0].size_bytes, 20_480);
        assert_eq!(
            request.service_item_key.map(|k| k.code).as_deref(),
            Some("business-licence")
        );
    }

    #[test]
    fn the_examples_read_as_the_messages_their_commands_send() {
        let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/");
        let read = |name: &str| {
            std::fs::read_to_string(format!("{examples}{name}"))
                .unwrap_or_else(|e| panic!("{name}: {e}"))
        };
        for name in ["business-licence-process.yaml", "data-access-process.yaml"] {
            let process: approval::CreateProcessDefinitionRequest =
                parse_message(&read(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!process.stages.is_empty(), "{name}");
        }
        for name in ["business-licence-item.yaml", "data-access-item.yaml"] {
            parse_message::<approval::CreateServiceItemRequest>(&read(name))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let application: approval::SubmitApplicationRequest =
            parse_message(&read("business-licence-application.yaml")).unwrap();
        assert_eq!(application.materials.len(), 3);
        let marriage = read("marriage-registration.yaml");
        let registered: catalog::RegisterResourceRequest = parse_message(&marriage).unwrap();
        let resource = registered.resource.unwrap();
        assert_eq!(resource.fields.len(), 6);
        parse_message::<catalog::UpdateResourceRequest>(&marriage).unwrap();
        let access: catalog::RequestAccessRequest =
            parse_message(&read("provident-fund-loan-access.yaml")).unwrap();
        assert_eq!(access.fields.len(), 5);
        parse_message::<zhongtai_contracts::common::v1::RowFilter>(&read("lishui-rows.yaml"))
            .unwrap();
    }

    #[test]
    fn files_name_themselves_in_errors() {
        let path = std::env::temp_dir().join(format!("zt-{}.yaml", uuid::Uuid::new_v4()));
        std::fs::write(&path, "titel: x\n").expect("write");
        let error = read_message::<catalog::Resource>(&path).unwrap_err();
        let _ = std::fs::remove_file(&path);
        let shown = error.to_string();
        assert!(shown.starts_with(&path.display().to_string()), "{shown}");
        assert!(shown.contains("titel: unknown field"), "{shown}");

        let missing = read_message::<catalog::Resource>(Path::new("/nonexistent/r.yaml"))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("/nonexistent/r.yaml"), "{missing}");
    }
}
