//! Path values and query parameters set on a request message, field by
//! field, with errors that name the field.

use prost_reflect::{
    DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, ReflectMessage, Value,
};

use super::descriptors::WellKnown;
use super::percent;
use super::scalar;

/// Most query parameters one request may carry.
const MAX_QUERY_PARAMETERS: usize = 256;

/// Why an HTTP request does not make a request message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field \"{field}\": {message}")]
pub struct BindError {
    /// The field path (proto names), or `body`, `query`, `request`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl BindError {
    pub(crate) fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Fields bound so far, to refuse giving one field twice.
#[derive(Debug, Default)]
pub(crate) struct Bound {
    /// Numbers of the top-level fields the body set.
    pub(crate) body_fields: Vec<u32>,
    /// Field paths set from the path or the query string.
    pub(crate) paths: Vec<String>,
}

impl Bound {
    fn check(&self, fields: &[FieldDescriptor], name: &str, source: &str) -> Result<(), BindError> {
        if fields
            .first()
            .is_some_and(|first| self.body_fields.contains(&first.number()))
        {
            return Err(BindError::new(
                name,
                format!("given in the {source} and in the body; give it once"),
            ));
        }
        if self.paths.iter().any(|path| path == name) {
            return Err(BindError::new(name, "given more than once"));
        }
        Ok(())
    }
}

/// Sets the value of the placeholder `name` at `fields`.
pub(crate) fn bind_path_value(
    message: &mut DynamicMessage,
    fields: &[FieldDescriptor],
    name: &str,
    text: &str,
    bound: &mut Bound,
) -> Result<(), BindError> {
    bound.check(fields, name, "path")?;
    set_at(message, fields, name, text)?;
    bound.paths.push(name.to_string());
    Ok(())
}

/// Sets every `key=value` of `query`; repeated keys fill repeated fields.
pub(crate) fn bind_query(
    message: &mut DynamicMessage,
    query: &str,
    bound: &mut Bound,
) -> Result<(), BindError> {
    let input = message.descriptor();
    let mut list_paths: Vec<String> = Vec::new();
    for (count, pair) in query.split('&').filter(|pair| !pair.is_empty()).enumerate() {
        if count == MAX_QUERY_PARAMETERS {
            return Err(BindError::new(
                "query",
                format!("at most {MAX_QUERY_PARAMETERS} query parameters are accepted"),
            ));
        }
        let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let malformed =
            || BindError::new("query", format!("malformed percent-encoding in `{pair}`"));
        let key = percent::decode(raw_key, true).ok_or_else(malformed)?;
        let value = percent::decode(raw_value, true).ok_or_else(malformed)?;
        let (fields, path) = query_fields(&input, &key)?;
        let is_list = fields.last().is_some_and(FieldDescriptor::is_list);
        if is_list && list_paths.contains(&path) {
            set_at(message, &fields, &path, &value)?;
            continue;
        }
        bound.check(&fields, &path, "query")?;
        set_at(message, &fields, &path, &value)?;
        if is_list {
            list_paths.push(path.clone());
        }
        bound.paths.push(path);
    }
    Ok(())
}

/// The fields a query key (proto or lowerCamelCase names, dotted) walks to,
/// and its canonical dotted path of proto names.
fn query_fields(
    input: &MessageDescriptor,
    key: &str,
) -> Result<(Vec<FieldDescriptor>, String), BindError> {
    let mut message = input.clone();
    let mut fields = Vec::new();
    let mut path = String::new();
    let names: Vec<&str> = key.split('.').collect();
    for (index, name) in names.iter().enumerate() {
        let Some(field) = message
            .get_field_by_name(name)
            .or_else(|| message.get_field_by_json_name(name))
        else {
            return Err(BindError::new(
                key,
                format!(
                    "unknown query parameter; {} has no field `{name}`",
                    message.full_name()
                ),
            ));
        };
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(field.name());
        let is_last = index + 1 == names.len();
        let nested = match field.kind() {
            Kind::Message(nested) if WellKnown::of(&nested).is_none_or(|k| !k.is_text()) => {
                Some(nested)
            }
            _ => None,
        };
        if field.is_map() {
            return Err(BindError::new(
                path,
                "is a map; maps cannot be set from the query string",
            ));
        }
        match (nested, is_last) {
            (Some(nested), true) => {
                let example = nested
                    .fields()
                    .next()
                    .map_or_else(|| "field".to_owned(), |f| f.name().to_owned());
                return Err(BindError::new(
                    &path,
                    format!(
                        "is a message; set its fields with dotted names such as {path}.{example}"
                    ),
                ));
            }
            (Some(_), false) if field.is_list() => {
                return Err(BindError::new(
                    path,
                    "is a repeated message; it cannot be set from the query string",
                ));
            }
            (Some(nested), false) => message = nested,
            (None, false) => {
                return Err(BindError::new(
                    path,
                    "is not a message; nothing is inside it",
                ));
            }
            (None, true) => {}
        }
        fields.push(field);
    }
    Ok((fields, path))
}

/// Sets (or, for a repeated field, appends) `text` at `fields`.
fn set_at(
    message: &mut DynamicMessage,
    fields: &[FieldDescriptor],
    name: &str,
    text: &str,
) -> Result<(), BindError> {
    let Some((last, parents)) = fields.split_last() else {
        return Err(BindError::new(name, "names no field"));
    };
    let mut current = message;
    for field in parents {
        check_oneof(current, field, name)?;
        current = match current.get_field_mut(field) {
            Value::Message(nested) => nested,
            _ => {
                return Err(BindError::new(
                    name,
                    format!("`{}` is not a message", field.name()),
                ));
            }
        };
    }
    check_oneof(current, last, name)?;
    let value =
        scalar::parse(&last.kind(), text).map_err(|message| BindError::new(name, message))?;
    if last.is_list() {
        if let Value::List(items) = current.get_field_mut(last) {
            items.push(value);
        }
        return Ok(());
    }
    current
        .try_set_field(last, value)
        .map_err(|e| BindError::new(name, e.to_string()))
}

/// Refuses to set one member of a oneof when another is set: the message
/// would otherwise drop the first silently.
fn check_oneof(
    message: &DynamicMessage,
    field: &FieldDescriptor,
    name: &str,
) -> Result<(), BindError> {
    let Some(oneof) = field
        .containing_oneof()
        .filter(|oneof| !oneof.is_synthetic())
    else {
        return Ok(());
    };
    let other = oneof
        .fields()
        .find(|other| other.number() != field.number() && message.has_field(other));
    match other {
        Some(other) => Err(BindError::new(
            name,
            format!(
                "`{}` is given too; {} are alternatives (oneof {}), give one",
                other.name(),
                oneof
                    .fields()
                    .map(|f| f.name().to_string())
                    .collect::<Vec<_>>()
                    .join(" and "),
                oneof.name()
            ),
        )),
        None => Ok(()),
    }
}
