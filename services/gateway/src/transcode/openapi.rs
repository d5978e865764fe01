//! The OpenAPI 3.1 document of the published capabilities, generated from
//! the contracts' descriptors (schemas, with the protos' comments as
//! descriptions). Output is sorted, so equal inputs give equal bytes and a
//! stable etag.

use std::collections::{BTreeMap, HashMap};

use prost_reflect::{EnumDescriptor, FieldDescriptor, FileDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value as Json, json};
use sha2::{Digest, Sha256};

use super::descriptors::WellKnown;
use super::resolve::{self, BodyTarget, Resolved};
use crate::domain::{Capability, HttpMethod};

/// Name of the shared error schema (message names always contain dots).
const ERROR_SCHEMA: &str = "Error";

/// Error statuses every operation documents.
const ERROR_STATUSES: [(&str, &str); 8] = [
    (
        "400",
        "The request is invalid: a field, the body or the query string",
    ),
    (
        "401",
        "The request is not signed, or the signature does not verify",
    ),
    ("403", "The app may not call this capability"),
    ("404", "The addressed entity does not exist"),
    ("413", "The request body is too large"),
    (
        "429",
        "A rate limit or quota is exhausted, or the gateway is overloaded",
    ),
    ("503", "The backend is unavailable; retry later"),
    (
        "504",
        "The backend did not answer within the capability's timeout",
    ),
];

/// Deepest nesting of query parameters described (`a.b.c.d`).
const MAX_QUERY_DEPTH: usize = 4;

/// Serialisation of the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenApiFormat {
    /// `application/json`.
    Json,
    /// `application/yaml`.
    Yaml,
}

/// Why the document could not be produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenApiError {
    /// A capability's route no longer fits its method.
    #[error("capability {name} {version} cannot be described: {problems}")]
    Route {
        name: String,
        version: String,
        problems: String,
    },
    /// Serialisation failed.
    #[error("the OpenAPI document cannot be rendered: {0}")]
    Render(String),
}

/// The document of these capabilities (published ones the caller selected):
/// one path item per route, schemas from the descriptors, the error schema
/// for the gateway's error statuses and the signing headers as security
/// schemes.
pub fn openapi_document(
    capabilities: &[Capability],
    format: OpenApiFormat,
    server_url: Option<&str>,
) -> Result<String, OpenApiError> {
    let mut sorted: Vec<&Capability> = capabilities.iter().collect();
    sorted.sort_by(|a, b| {
        (
            a.http.template.as_str(),
            a.http.method.as_str(),
            a.name.as_str(),
            a.version.as_str(),
        )
            .cmp(&(
                b.http.template.as_str(),
                b.http.method.as_str(),
                b.name.as_str(),
                b.version.as_str(),
            ))
    });
    let mut schemas = Schemas::default();
    let mut paths: BTreeMap<&str, BTreeMap<&'static str, Json>> = BTreeMap::new();
    for capability in &sorted {
        let resolved = resolve::resolve(&capability.backend.grpc_method, &capability.http)
            .map_err(|problems| OpenApiError::Route {
                name: capability.name.to_string(),
                version: capability.version.clone(),
                problems: problems
                    .iter()
                    .map(|(field, problem)| format!("{field}: {problem}"))
                    .collect::<Vec<_>>()
                    .join("; "),
            })?;
        let operation = operation(capability, &resolved, &mut schemas);
        paths
            .entry(capability.http.template.as_str())
            .or_default()
            .insert(method_key(capability.http.method), operation);
    }
    let document = document(&sorted, paths, schemas, server_url);
    match format {
        OpenApiFormat::Json => {
            serde_json::to_string_pretty(&document).map_err(|e| OpenApiError::Render(e.to_string()))
        }
        OpenApiFormat::Yaml => {
            serde_yaml_ng::to_string(&document).map_err(|e| OpenApiError::Render(e.to_string()))
        }
    }
}

fn method_key(method: HttpMethod) -> &'static str {
    match method {
        HttpMethod::Get => "get",
        HttpMethod::Post => "post",
        HttpMethod::Put => "put",
        HttpMethod::Patch => "patch",
        HttpMethod::Delete => "delete",
    }
}

fn document(
    capabilities: &[&Capability],
    paths: BTreeMap<&str, BTreeMap<&'static str, Json>>,
    mut schemas: Schemas,
    server_url: Option<&str>,
) -> Json {
    schemas
        .schemas
        .insert(ERROR_SCHEMA.to_string(), error_schema());
    let paths: Map<String, Json> = paths
        .into_iter()
        .map(|(template, operations)| {
            let item: Map<String, Json> = operations
                .into_iter()
                .map(|(method, operation)| (method.to_string(), operation))
                .collect();
            (template.to_string(), Json::Object(item))
        })
        .collect();
    let mut document = Map::new();
    document.insert("openapi".into(), json!("3.1.0"));
    document.insert(
        "info".into(),
        json!({
            "title": "Zhongtai capability gateway",
            "description": "Capabilities opened to integrators. Every request is signed with the app's credential; see the security schemes.",
            "version": version_digest(capabilities),
        }),
    );
    if let Some(url) = server_url {
        document.insert("servers".into(), json!([{ "url": url }]));
    }
    document.insert(
        "security".into(),
        json!([{ "ztAppKey": [], "ztTimestamp": [], "ztNonce": [], "ztSignature": [] }]),
    );
    document.insert("paths".into(), Json::Object(paths));
    let schemas: Map<String, Json> = schemas.schemas.into_iter().collect();
    document.insert(
        "components".into(),
        json!({ "schemas": schemas, "securitySchemes": security_schemes() }),
    );
    Json::Object(document)
}

/// Changes whenever a capability in the document changes.
fn version_digest(capabilities: &[&Capability]) -> String {
    let mut hasher = Sha256::new();
    for capability in capabilities {
        hasher.update(capability.name.as_str());
        hasher.update([0]);
        hasher.update(&capability.version);
        hasher.update([0]);
        hasher.update(capability.revision.to_be_bytes());
    }
    let digest = hex::encode(hasher.finalize());
    format!("sha256-{}", &digest[..16])
}

fn security_schemes() -> Json {
    let header = |name: &str, description: &str| json!({ "type": "apiKey", "in": "header", "name": name, "description": description });
    json!({
        "ztAppKey": header("X-Zt-App-Key", "The app key of the calling app's credential."),
        "ztTimestamp": header("X-Zt-Timestamp", "When the request was signed, in Unix seconds; it must be within the gateway's clock skew."),
        "ztNonce": header("X-Zt-Nonce", "A random value used once per app within the signing window; replays are refused."),
        "ztSignature": header("X-Zt-Signature", "HMAC-SHA256 of the canonical request with the credential's secret (docs/gateway.md, \"Signing requests\")."),
    })
}

fn error_schema() -> Json {
    json!({
        "type": "object",
        "description": "An error response of the gateway or of the backend.",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "status", "message"],
                "properties": {
                    "code": { "type": "integer", "description": "The HTTP status code." },
                    "status": { "type": "string", "description": "The gRPC status name, e.g. NOT_FOUND." },
                    "message": { "type": "string", "description": "What went wrong, for people." },
                    "reason": { "type": "string", "description": "Stable machine-readable reason, e.g. ERROR_REASON_INVALID_FIELD." },
                    "field_violations": {
                        "type": "array",
                        "description": "The invalid request fields.",
                        "items": {
                            "type": "object",
                            "required": ["field", "description"],
                            "properties": {
                                "field": { "type": "string" },
                                "description": { "type": "string" }
                            }
                        }
                    },
                    "retry_after_ms": { "type": "integer", "description": "Retry after this many milliseconds." },
                    "metadata": {
                        "type": "object",
                        "description": "Details of the reason.",
                        "additionalProperties": { "type": "string" }
                    }
                }
            }
        }
    })
}

fn operation(capability: &Capability, resolved: &Resolved, schemas: &mut Schemas) -> Json {
    let input = resolved.method.input();
    let output = resolved.method.output();
    let mut operation = Map::new();
    operation.insert(
        "operationId".into(),
        json!(format!("{}.{}", capability.name, capability.version)),
    );
    if !capability.title.is_empty() {
        operation.insert("summary".into(), json!(capability.title));
    }
    let description = if capability.description.is_empty() {
        schemas
            .comments
            .of(&resolved.method.parent_file(), resolved.method.path())
    } else {
        Some(capability.description.clone())
    };
    if let Some(description) = description {
        operation.insert("description".into(), json!(description));
    }
    operation.insert("tags".into(), json!([capability.backend.service]));
    let mut parameters: Vec<Json> = resolved
        .path_fields
        .iter()
        .filter_map(|path_field| {
            let last = path_field.fields.last()?;
            let mut parameter = json!({
                "name": path_field.name,
                "in": "path",
                "required": true,
                "schema": schemas.kind(&last.kind()),
            });
            if let Some(text) = schemas.comments.of(&last.parent_file(), last.path()) {
                parameter["description"] = json!(text);
            }
            Some(parameter)
        })
        .collect();
    let path_names: Vec<&str> = resolved
        .path_fields
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    match &resolved.body {
        BodyTarget::Whole => {
            let schema = schemas.body(&input, &path_names);
            operation.insert("requestBody".into(), request_body(schema));
        }
        BodyTarget::Field(field) => {
            let schema = schemas.field(field);
            operation.insert("requestBody".into(), request_body(schema));
            query_parameters(
                schemas,
                &input,
                "",
                "",
                &path_names,
                Some(field.name()),
                0,
                &mut parameters,
            );
        }
        BodyTarget::None => {
            query_parameters(
                schemas,
                &input,
                "",
                "",
                &path_names,
                None,
                0,
                &mut parameters,
            );
        }
    }
    if !parameters.is_empty() {
        operation.insert("parameters".into(), Json::Array(parameters));
    }
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        json!({
            "description": format!("The {} of {}.", output.name(), resolved.method.name()),
            "content": { "application/json": { "schema": schemas.message(&output) } },
        }),
    );
    for (status, description) in ERROR_STATUSES {
        responses.insert(
            status.into(),
            json!({
                "description": description,
                "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{ERROR_SCHEMA}") } } },
            }),
        );
    }
    operation.insert("responses".into(), Json::Object(responses));
    operation.insert("x-zt-capability".into(), json!(capability.name.as_str()));
    operation.insert("x-zt-version".into(), json!(capability.version));
    operation.insert("x-zt-priority".into(), json!(capability.priority.as_str()));
    Json::Object(operation)
}

fn request_body(schema: Json) -> Json {
    json!({ "content": { "application/json": { "schema": schema } } })
}

/// Query parameters for the request fields neither the path nor the body
/// binds: scalars, enums, text-like well-known types, and their repeated
/// forms; nested messages by dotted names.
#[allow(clippy::too_many_arguments)]
fn query_parameters(
    schemas: &mut Schemas,
    message: &MessageDescriptor,
    proto_prefix: &str,
    json_prefix: &str,
    path_names: &[&str],
    body_field: Option<&str>,
    depth: usize,
    parameters: &mut Vec<Json>,
) {
    for field in message.fields() {
        let proto_name = format!("{proto_prefix}{}", field.name());
        let json_name = format!("{json_prefix}{}", field.json_name());
        if path_names.contains(&proto_name.as_str())
            || (depth == 0 && body_field == Some(field.name()))
            || field.is_map()
        {
            continue;
        }
        let nested = match field.kind() {
            Kind::Message(nested) if WellKnown::of(&nested).is_none_or(|k| !k.is_text()) => {
                Some(nested)
            }
            _ => None,
        };
        match nested {
            Some(nested) => {
                if !field.is_list() && depth + 1 < MAX_QUERY_DEPTH {
                    query_parameters(
                        schemas,
                        &nested,
                        &format!("{proto_name}."),
                        &format!("{json_name}."),
                        path_names,
                        body_field,
                        depth + 1,
                        parameters,
                    );
                }
            }
            None => {
                let mut parameter = json!({
                    "name": json_name,
                    "in": "query",
                    "schema": schemas.field_shape(&field),
                });
                if let Some(text) = schemas.comments.of(&field.parent_file(), field.path()) {
                    parameter["description"] = json!(text);
                }
                parameters.push(parameter);
            }
        }
    }
}

/// `components.schemas`, filled as messages and enums are referenced.
#[derive(Default)]
struct Schemas {
    schemas: BTreeMap<String, Json>,
    comments: Comments,
}

impl Schemas {
    /// A reference to the message's schema (inline for well-known types).
    fn message(&mut self, message: &MessageDescriptor) -> Json {
        if let Some(known) = WellKnown::of(message) {
            return self.well_known(message, known);
        }
        let name = message.full_name().to_string();
        if !self.schemas.contains_key(&name) {
            // Placeholder first: recursive messages refer to themselves.
            self.schemas.insert(name.clone(), Json::Null);
            let schema = self.message_schema(message);
            self.schemas.insert(name.clone(), schema);
        }
        json!({ "$ref": format!("#/components/schemas/{name}") })
    }

    fn message_schema(&mut self, message: &MessageDescriptor) -> Json {
        let mut properties = Map::new();
        for field in message.fields() {
            let schema = self.field(&field);
            properties.insert(field.json_name().to_string(), schema);
        }
        let mut description = self
            .comments
            .of(&message.parent_file(), message.path())
            .unwrap_or_default();
        for oneof in message.oneofs().filter(|oneof| !oneof.is_synthetic()) {
            let names: Vec<String> = oneof.fields().map(|f| f.json_name().to_string()).collect();
            if !description.is_empty() {
                description.push_str("\n\n");
            }
            description.push_str(&format!("At most one of: {}.", names.join(", ")));
        }
        let mut schema = json!({ "type": "object", "properties": properties });
        if !description.is_empty() {
            schema["description"] = json!(description);
        }
        schema
    }

    /// The request body of a `*` binding: the request minus path fields.
    fn body(&mut self, input: &MessageDescriptor, path_names: &[&str]) -> Json {
        let reference = self.message(input);
        let bound: Vec<&str> = path_names
            .iter()
            .map(|name| resolve::first_name(name))
            .collect();
        if bound.is_empty() {
            return reference;
        }
        let mut schema = self.message_schema(input);
        if let Some(properties) = schema.get_mut("properties").and_then(Json::as_object_mut) {
            for field in input.fields().filter(|f| bound.contains(&f.name())) {
                properties.remove(field.json_name());
            }
        }
        schema
    }

    /// A field's schema with its comment.
    fn field(&mut self, field: &FieldDescriptor) -> Json {
        let mut schema = self.field_shape(field);
        if let Some(text) = self.comments.of(&field.parent_file(), field.path()) {
            schema["description"] = json!(text);
        }
        schema
    }

    fn field_shape(&mut self, field: &FieldDescriptor) -> Json {
        if field.is_map() {
            let value = match field.kind() {
                Kind::Message(entry) => self.kind(&entry.map_entry_value_field().kind()),
                other => self.kind(&other),
            };
            return json!({ "type": "object", "additionalProperties": value });
        }
        let item = self.kind(&field.kind());
        if field.is_list() {
            json!({ "type": "array", "items": item })
        } else {
            item
        }
    }

    fn kind(&mut self, kind: &Kind) -> Json {
        match kind {
            Kind::Double => json!({ "type": "number", "format": "double" }),
            Kind::Float => json!({ "type": "number", "format": "float" }),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
                json!({ "type": "integer", "format": "int32" })
            }
            Kind::Uint32 | Kind::Fixed32 => {
                json!({ "type": "integer", "format": "int64", "minimum": 0, "maximum": u32::MAX })
            }
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
                json!({ "type": "string", "format": "int64", "pattern": "^-?[0-9]+$" })
            }
            Kind::Uint64 | Kind::Fixed64 => {
                json!({ "type": "string", "format": "uint64", "pattern": "^[0-9]+$" })
            }
            Kind::Bool => json!({ "type": "boolean" }),
            Kind::String => json!({ "type": "string" }),
            Kind::Bytes => json!({ "type": "string", "contentEncoding": "base64" }),
            Kind::Enum(descriptor) => self.enumeration(descriptor),
            Kind::Message(message) => self.message(message),
        }
    }

    fn enumeration(&mut self, descriptor: &EnumDescriptor) -> Json {
        let name = descriptor.full_name().to_string();
        if !self.schemas.contains_key(&name) {
            let values: Vec<String> = descriptor.values().map(|v| v.name().to_string()).collect();
            let mut schema = json!({ "type": "string", "enum": values });
            if let Some(text) = self
                .comments
                .of(&descriptor.parent_file(), descriptor.path())
            {
                schema["description"] = json!(text);
            }
            self.schemas.insert(name.clone(), schema);
        }
        json!({ "$ref": format!("#/components/schemas/{name}") })
    }

    fn well_known(&mut self, message: &MessageDescriptor, known: WellKnown) -> Json {
        match known {
            WellKnown::Timestamp => json!({ "type": "string", "format": "date-time" }),
            WellKnown::Duration => json!({
                "type": "string",
                "pattern": "^-?[0-9]+(\\.[0-9]{1,9})?s$",
                "description": "A duration in seconds with an s suffix, e.g. \"1.5s\".",
            }),
            WellKnown::FieldMask => json!({
                "type": "string",
                "description": "Comma-separated lowerCamelCase field paths.",
            }),
            WellKnown::Wrapper => match message.get_field_by_name("value") {
                Some(field) => self.kind(&field.kind()),
                None => json!({}),
            },
            WellKnown::Struct => json!({ "type": "object", "additionalProperties": true }),
            WellKnown::Value => json!({}),
            WellKnown::ListValue => json!({ "type": "array", "items": {} }),
            WellKnown::Any => json!({
                "type": "object",
                "required": ["@type"],
                "properties": { "@type": { "type": "string" } },
                "additionalProperties": true,
            }),
            WellKnown::Empty => json!({ "type": "object" }),
        }
    }
}

/// Leading comments of descriptors, by file and source path.
#[derive(Default)]
struct Comments {
    files: HashMap<String, HashMap<Vec<i32>, String>>,
}

impl Comments {
    fn of(&mut self, file: &FileDescriptor, path: &[i32]) -> Option<String> {
        let locations = self
            .files
            .entry(file.name().to_string())
            .or_insert_with(|| {
                file.file_descriptor_proto()
                    .source_code_info
                    .iter()
                    .flat_map(|info| &info.location)
                    .filter_map(|location| {
                        let text = location.leading_comments.as_deref()?;
                        let text = text
                            .lines()
                            .map(str::trim)
                            .filter(|line| !line.is_empty())
                            .collect::<Vec<_>>()
                            .join(" ");
                        (!text.is_empty()).then(|| (location.path.clone(), text))
                    })
                    .collect()
            });
        locations.get(path).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        BackendMethod, BodyBinding, CapabilityName, CapabilityPriority, HttpRoute,
    };
    use std::time::Duration;

    fn capability(
        name: &str,
        method: HttpMethod,
        template: &str,
        body: &str,
        grpc_method: &str,
    ) -> Capability {
        Capability {
            name: CapabilityName::parse(name).unwrap(),
            version: "v1".into(),
            title: format!("{name} title"),
            description: String::new(),
            http: HttpRoute {
                method,
                template: template.into(),
                body: BodyBinding::parse(body),
            },
            backend: BackendMethod {
                service: "certificate".into(),
                grpc_method: grpc_method.into(),
            },
            timeout: Duration::from_secs(5),
            idempotent: true,
            priority: CapabilityPriority::Critical,
            published: true,
            consent_required: false,
            revision: 1,
            created_at: chrono::DateTime::UNIX_EPOCH,
            updated_at: chrono::DateTime::UNIX_EPOCH,
        }
    }

    fn capabilities() -> Vec<Capability> {
        vec![
            capability(
                "certificate.verify",
                HttpMethod::Post,
                "/v1/certificates:verify",
                "*",
                "/zhongtai.certificate.v1.CertificateService/VerifyCertificate",
            ),
            capability(
                "certificate.get",
                HttpMethod::Get,
                "/v1/certificates/{id}",
                "",
                "/zhongtai.certificate.v1.CertificateService/GetCertificate",
            ),
        ]
    }

    #[test]
    fn describes_paths_operations_and_schemas() {
        let text = openapi_document(
            &capabilities(),
            OpenApiFormat::Json,
            Some("https://gw.example"),
        )
        .unwrap();
        let document: Json = serde_json::from_str(&text).unwrap();
        assert_eq!(document["openapi"], "3.1.0");
        assert_eq!(document["servers"][0]["url"], "https://gw.example");
        let verify = &document["paths"]["/v1/certificates:verify"]["post"];
        assert_eq!(verify["operationId"], "certificate.verify.v1");
        assert_eq!(verify["x-zt-capability"], "certificate.verify");
        assert_eq!(verify["x-zt-version"], "v1");
        assert_eq!(verify["x-zt-priority"], "critical");
        assert_eq!(
            verify["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/zhongtai.certificate.v1.VerifyCertificateRequest"
        );
        assert_eq!(
            verify["responses"]["429"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Error"
        );
        let get = &document["paths"]["/v1/certificates/{id}"]["get"];
        let parameters = get["parameters"].as_array().unwrap();
        assert_eq!(parameters[0]["name"], "id");
        assert_eq!(parameters[0]["in"], "path");
        assert_eq!(parameters[0]["required"], true);
        let query: Vec<&str> = parameters[1..]
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert_eq!(query, ["qrImageFormat", "qrImageSize"]);
        assert!(get.get("requestBody").is_none());
        let schemas = &document["components"]["schemas"];
        let result = &schemas["zhongtai.certificate.v1.VerificationResult"]["properties"];
        assert_eq!(result["checkTime"]["format"], "date-time");
        assert_eq!(result["trustListVersion"]["type"], "string");
        assert!(
            result["outcome"]["description"]
                .as_str()
                .unwrap()
                .contains("verdict")
        );
        assert_eq!(
            schemas["zhongtai.certificate.v1.CertificateStatus"]["enum"][1],
            "CERTIFICATE_STATUS_VALID"
        );
        let request = &schemas["zhongtai.certificate.v1.VerifyCertificateRequest"];
        assert!(
            request["description"]
                .as_str()
                .unwrap()
                .contains("At most one of: token, qrPayload")
        );
        let schemes = &document["components"]["securitySchemes"];
        assert_eq!(schemes["ztSignature"]["name"], "X-Zt-Signature");
        assert_eq!(schemes["ztAppKey"]["in"], "header");
    }

    #[test]
    fn yaml_says_the_same_and_output_is_stable() {
        let json = openapi_document(&capabilities(), OpenApiFormat::Json, None).unwrap();
        let yaml = openapi_document(&capabilities(), OpenApiFormat::Yaml, None).unwrap();
        let from_yaml: Json = serde_yaml_ng::from_str(&yaml).unwrap();
        let from_json: Json = serde_json::from_str(&json).unwrap();
        assert_eq!(from_yaml, from_json);
        let mut reversed = capabilities();
        reversed.reverse();
        assert_eq!(
            openapi_document(&reversed, OpenApiFormat::Json, None).unwrap(),
            json
        );
        assert_eq!(
            openapi_document(&capabilities(), OpenApiFormat::Yaml, None).unwrap(),
            yaml
        );
    }

    #[test]
    fn path_fields_leave_the_whole_body_schema() {
        let read = capability(
            "consent.read",
            HttpMethod::Post,
            "/v1/consents/{consent_id}:read",
            "*",
            "/zhongtai.certificate.v1.ConsentService/ReadConsentedData",
        );
        let text = openapi_document(&[read], OpenApiFormat::Json, None).unwrap();
        let document: Json = serde_json::from_str(&text).unwrap();
        let operation = &document["paths"]["/v1/consents/{consent_id}:read"]["post"];
        let body = &operation["requestBody"]["content"]["application/json"]["schema"];
        assert!(body["properties"].get("requestId").is_some(), "{body}");
        assert!(body["properties"].get("consentId").is_none(), "{body}");
        assert_eq!(operation["parameters"][0]["name"], "consent_id");
    }

    #[test]
    fn a_route_that_no_longer_fits_is_an_error() {
        let broken = capability(
            "certificate.get",
            HttpMethod::Get,
            "/v1/certificates/{serial}",
            "",
            "/zhongtai.certificate.v1.CertificateService/GetCertificate",
        );
        let error = openapi_document(&[broken], OpenApiFormat::Json, None).unwrap_err();
        assert!(error.to_string().contains("certificate.get v1"), "{error}");
    }
}
