//! One capability's transcoding, built once per configuration snapshot:
//! HTTP request → request message, response message → proto3 JSON.

use prost_reflect::{
    DeserializeOptions, DynamicMessage, MessageDescriptor, ReflectMessage, SerializeOptions, Value,
};
use serde_json::Value as Json;

use super::bind::{self, BindError, Bound};
use super::diagnose;
use super::frame;
use super::resolve::{self, BodyTarget, PathField};
use crate::domain::HttpRoute;

/// Why a response message could not be rendered as JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// The backend's bytes are not a message of the method's response type.
    #[error("the response does not decode as {message}: {reason}")]
    Decode { message: String, reason: String },
    /// The message could not be written as JSON.
    #[error("the response cannot be rendered as JSON: {0}")]
    Serialize(String),
}

/// One capability's transcoding, built once per snapshot.
#[derive(Debug, Clone)]
pub struct Transcoder {
    input: MessageDescriptor,
    output: MessageDescriptor,
    path_fields: Vec<PathField>,
    body: BodyTarget,
    deserialize: DeserializeOptions,
    serialize: SerializeOptions,
}

impl Transcoder {
    /// The transcoder of `route` onto `grpc_method`; Err says why the route
    /// cannot be served (see [`super::validate_route`]).
    pub fn new(grpc_method: &str, route: &HttpRoute) -> Result<Self, String> {
        let resolved = resolve::resolve(grpc_method, route).map_err(|problems| {
            problems
                .iter()
                .map(|(field, problem)| format!("{field}: {problem}"))
                .collect::<Vec<_>>()
                .join("; ")
        })?;
        Ok(Self {
            input: resolved.method.input(),
            output: resolved.method.output(),
            path_fields: resolved.path_fields,
            body: resolved.body,
            deserialize: DeserializeOptions::new().deny_unknown_fields(true),
            serialize: SerializeOptions::new().skip_default_fields(true),
        })
    }

    /// HTTP request → request message: the body per the binding, the path
    /// values and the query parameters; a field may come from one of them
    /// only. Errors name the field.
    pub fn request(
        &self,
        path: &[(String, String)],
        query: Option<&str>,
        body: &[u8],
    ) -> Result<DynamicMessage, BindError> {
        let mut message = self.bind_body(body)?;
        let mut bound = Bound {
            body_fields: message.fields().map(|(field, _)| field.number()).collect(),
            paths: Vec::new(),
        };
        for (name, value) in path {
            let Some(path_field) = self.path_fields.iter().find(|p| &p.name == name) else {
                return Err(BindError::new(name, "is not a placeholder of this route"));
            };
            bind::bind_path_value(&mut message, &path_field.fields, name, value, &mut bound)?;
        }
        if let Some(query) = query.filter(|query| !query.is_empty()) {
            bind::bind_query(&mut message, query, &mut bound)?;
        }
        Ok(message)
    }

    /// The request message of a gRPC passthrough call (one length-prefixed
    /// frame), for the checks that need a field (consent id).
    pub fn decode_grpc_request(&self, framed: &[u8]) -> Result<DynamicMessage, BindError> {
        let message =
            frame::unframe(framed).map_err(|e| BindError::new("request", e.to_string()))?;
        DynamicMessage::decode(self.input.clone(), message).map_err(|e| {
            BindError::new(
                "request",
                format!("does not decode as {}: {e}", self.input.full_name()),
            )
        })
    }

    /// Response message bytes (unframed) → proto3 JSON (lowerCamelCase
    /// names, defaults skipped).
    pub fn response_json(&self, message: &[u8]) -> Result<Vec<u8>, RenderError> {
        let decoded = DynamicMessage::decode(self.output.clone(), message).map_err(|e| {
            RenderError::Decode {
                message: self.output.full_name().to_string(),
                reason: e.to_string(),
            }
        })?;
        let mut serializer = serde_json::Serializer::new(Vec::with_capacity(message.len() * 2));
        decoded
            .serialize_with_options(&mut serializer, &self.serialize)
            .map_err(|e| RenderError::Serialize(e.to_string()))?;
        Ok(serializer.into_inner())
    }

    /// The request message type.
    pub fn input(&self) -> &MessageDescriptor {
        &self.input
    }

    /// The response message type.
    pub fn output(&self) -> &MessageDescriptor {
        &self.output
    }

    fn bind_body(&self, body: &[u8]) -> Result<DynamicMessage, BindError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(DynamicMessage::new(self.input.clone()));
        }
        match &self.body {
            BodyTarget::None => Err(BindError::new(
                "body",
                "this route takes no body; send the fields as query parameters",
            )),
            BodyTarget::Whole => {
                let mut deserializer = serde_json::Deserializer::from_slice(body);
                DynamicMessage::deserialize_with_options(
                    self.input.clone(),
                    &mut deserializer,
                    &self.deserialize,
                )
                .and_then(|message| deserializer.end().map(|()| message))
                .map_err(|error| self.explain_body(body, &error))
            }
            BodyTarget::Field(field) => {
                let json = parse_json(body)?;
                if json.is_null() {
                    return Ok(DynamicMessage::new(self.input.clone()));
                }
                let mut wrapper = serde_json::Map::with_capacity(1);
                wrapper.insert(field.name().to_string(), json);
                let wrapped = Json::Object(wrapper);
                DynamicMessage::deserialize_with_options(
                    self.input.clone(),
                    &wrapped,
                    &self.deserialize,
                )
                .map_err(|error| {
                    let json = wrapped.get(field.name()).unwrap_or(&Json::Null);
                    diagnose::field_problem(field, json).map_or_else(
                        || BindError::new(field.name(), error.to_string()),
                        into_error,
                    )
                })
            }
        }
    }

    /// Finds the field a refused body went wrong at; prost-reflect's own
    /// message does not say.
    fn explain_body(&self, body: &[u8], error: &serde_json::Error) -> BindError {
        match parse_json(body) {
            Err(malformed) => malformed,
            Ok(json) => diagnose::message_problem(&self.input, &json, "")
                .map_or_else(|| BindError::new("body", error.to_string()), into_error),
        }
    }
}

fn parse_json(body: &[u8]) -> Result<Json, BindError> {
    serde_json::from_slice(body).map_err(|e| BindError::new("body", format!("malformed JSON: {e}")))
}

fn into_error((field, message): (String, String)) -> BindError {
    BindError::new(field, message)
}

/// A string field of a message by proto name (e.g. `consent_id`, or a
/// dotted path into nested messages), if set and not empty.
pub fn string_field(message: &DynamicMessage, name: &str) -> Option<String> {
    let (first, rest) = match name.split_once('.') {
        Some((first, rest)) => (first, Some(rest)),
        None => (name, None),
    };
    let field = message.descriptor().get_field_by_name(first)?;
    if !message.has_field(&field) {
        return None;
    }
    let value = message.get_field(&field);
    match (value.as_ref(), rest) {
        (Value::String(text), None) if !text.is_empty() => Some(text.clone()),
        (Value::Message(nested), Some(rest)) => string_field(nested, rest),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{BodyBinding, HttpMethod};
    use prost::Message;
    use zhongtai_contracts::certificate::v1 as cert;

    const VERIFY: &str = "/zhongtai.certificate.v1.CertificateService/VerifyCertificate";
    const GET: &str = "/zhongtai.certificate.v1.CertificateService/GetCertificate";
    const LIST: &str = "/zhongtai.certificate.v1.CertificateService/ListCertificates";
    const READ: &str = "/zhongtai.certificate.v1.ConsentService/ReadConsentedData";

    fn transcoder(grpc_method: &str, method: HttpMethod, template: &str, body: &str) -> Transcoder {
        let route = HttpRoute {
            method,
            template: template.into(),
            body: BodyBinding::parse(body),
        };
        Transcoder::new(grpc_method, &route).unwrap()
    }

    fn verify() -> Transcoder {
        transcoder(VERIFY, HttpMethod::Post, "/v1/certificates:verify", "*")
    }

    fn get() -> Transcoder {
        transcoder(GET, HttpMethod::Get, "/v1/certificates/{id}", "")
    }

    fn decoded<M: Message + Default>(message: &DynamicMessage) -> M {
        M::decode(message.encode_to_vec().as_slice()).unwrap()
    }

    fn path(id: &str) -> Vec<(String, String)> {
        vec![("id".to_string(), id.to_string())]
    }

    #[test]
    fn whole_body_binds_in_either_field_spelling() {
        let request = verify()
            .request(&[], None, br#"{"token": "eyJ", "includeClaims": true}"#)
            .unwrap();
        let request: cert::VerifyCertificateRequest = decoded(&request);
        assert!(request.include_claims);
        assert_eq!(
            request.presentation,
            Some(cert::verify_certificate_request::Presentation::Token(
                "eyJ".into()
            ))
        );
        let snake = verify()
            .request(
                &[],
                None,
                br#"{"qr_payload": "ZT1:x", "include_claims": false}"#,
            )
            .unwrap();
        assert_eq!(string_field(&snake, "qr_payload").as_deref(), Some("ZT1:x"));
    }

    #[test]
    fn path_and_query_bind_scalars_and_enums() {
        let request = get()
            .request(
                &path("c%2F1 decoded"),
                Some("qr_image_format=QR_IMAGE_FORMAT_SVG&qrImageSize=256"),
                b"",
            )
            .unwrap();
        let request: cert::GetCertificateRequest = decoded(&request);
        assert_eq!(request.id, "c%2F1 decoded");
        assert_eq!(request.qr_image_format(), cert::QrImageFormat::Svg);
        assert_eq!(request.qr_image_size, 256);
        let by_number = get()
            .request(&path("c"), Some("qr_image_format=1"), b"")
            .unwrap();
        let by_number: cert::GetCertificateRequest = decoded(&by_number);
        assert_eq!(by_number.qr_image_format(), cert::QrImageFormat::Png);
    }

    #[test]
    fn query_binds_nested_and_repeated_fields() {
        let list = transcoder(LIST, HttpMethod::Get, "/v1/certificates", "");
        let request = list
            .request(
                &[],
                Some("page.page_size=20&holder.person.id_number=3301&statuses=CERTIFICATE_STATUS_VALID&statuses=CERTIFICATE_STATUS_REVOKED"),
                b"",
            )
            .unwrap();
        assert_eq!(
            string_field(&request, "holder.person.id_number").as_deref(),
            Some("3301")
        );
        let request: cert::ListCertificatesRequest = decoded(&request);
        assert_eq!(request.page.unwrap().page_size, 20);
        assert_eq!(
            request.statuses,
            vec![
                cert::CertificateStatus::Valid as i32,
                cert::CertificateStatus::Revoked as i32
            ]
        );
    }

    #[test]
    fn consent_reads_bind_the_consent_id_from_the_path() {
        let read = transcoder(
            READ,
            HttpMethod::Post,
            "/v1/consents/{consent_id}:read",
            "*",
        );
        let request = read
            .request(
                &[("consent_id".to_string(), "cs-1".to_string())],
                None,
                br#"{"requestId": "r-1"}"#,
            )
            .unwrap();
        assert_eq!(
            string_field(&request, "consent_id").as_deref(),
            Some("cs-1")
        );
        assert_eq!(string_field(&request, "request_id").as_deref(), Some("r-1"));
        assert_eq!(string_field(&request, "nope"), None);
        let framed = frame::frame(&request.encode_to_vec());
        let passthrough = read.decode_grpc_request(&framed).unwrap();
        assert_eq!(
            string_field(&passthrough, "consent_id").as_deref(),
            Some("cs-1")
        );
        let broken = read.decode_grpc_request(b"\x01\0\0\0\0").unwrap_err();
        assert_eq!(broken.field, "request");
    }

    #[test]
    fn a_body_bound_to_one_field_fills_that_field() {
        let by_field = transcoder(
            READ,
            HttpMethod::Post,
            "/v1/consents/{consent_id}:read",
            "request_id",
        );
        let request = by_field
            .request(
                &[("consent_id".to_string(), "cs-1".to_string())],
                None,
                br#""r-9""#,
            )
            .unwrap();
        assert_eq!(string_field(&request, "request_id").as_deref(), Some("r-9"));
        let wrong = by_field
            .request(
                &[("consent_id".to_string(), "cs-1".to_string())],
                None,
                b"42",
            )
            .unwrap_err();
        assert_eq!(wrong.field, "request_id");
        assert_eq!(wrong.message, "expected a string, got 42");
    }

    #[test]
    fn bad_bodies_name_the_field() {
        let verify = verify();
        for (body, field, message) in [
            (&br#"{"token": "a""#[..], "body", "malformed JSON"),
            (
                br#"{"includeClaims": "yes"}"#,
                "include_claims",
                r#"expected a boolean, got "yes""#,
            ),
            (
                br#"{"token": "a", "colour": 1}"#,
                "colour",
                "unknown field of zhongtai.certificate.v1.VerifyCertificateRequest",
            ),
            (
                br#"["token"]"#,
                "body",
                "expected a JSON object, got an array",
            ),
            (br#""token""#, "body", "expected a JSON object"),
            (br#"{"token": "a"} trailing"#, "body", "malformed JSON"),
            (
                br#"{"token": "a", "qrPayload": "b"}"#,
                "qr_payload",
                "alternatives (oneof presentation)",
            ),
        ] {
            let error = verify.request(&[], None, body).unwrap_err();
            // A oneof clash names whichever member the object yields second.
            let field_matches =
                error.field == field || (field == "qr_payload" && error.field == "token");
            assert!(field_matches, "{}: {error}", String::from_utf8_lossy(body));
            assert!(
                error.message.contains(message),
                "{}: {error}",
                String::from_utf8_lossy(body)
            );
        }
        let read = transcoder(
            READ,
            HttpMethod::Post,
            "/v1/consents/{consent_id}:read",
            "*",
        );
        let conflict = read
            .request(
                &[("consent_id".to_string(), "cs-1".to_string())],
                None,
                br#"{"consentId": "cs-2"}"#,
            )
            .unwrap_err();
        assert_eq!(conflict.field, "consent_id");
        assert!(
            conflict.message.contains("in the path and in the body"),
            "{conflict}"
        );
    }

    #[test]
    fn bad_enum_names_in_nested_bodies_name_the_path() {
        let list = transcoder(LIST, HttpMethod::Post, "/v1/certificates:search", "*");
        let error = list
            .request(
                &[],
                None,
                br#"{"statuses": ["CERTIFICATE_STATUS_VALID", "GONE"]}"#,
            )
            .unwrap_err();
        assert_eq!(error.field, "statuses[1]");
        assert!(
            error
                .message
                .starts_with(r#"unknown CertificateStatus value "GONE""#),
            "{error}"
        );
        let nested = list
            .request(&[], None, br#"{"holder": {"person": {"idNumber": 3301}}}"#)
            .unwrap_err();
        assert_eq!(nested.field, "holder.person.id_number");
        assert_eq!(
            nested.to_string(),
            r#"field "holder.person.id_number": expected a string, got 3301"#
        );
    }

    #[test]
    fn bad_query_parameters_name_the_field() {
        let verify_get = transcoder(VERIFY, HttpMethod::Get, "/v1/certificates:verify", "");
        let error = verify_get
            .request(&[], Some("token=a&include_claims=yes"), b"")
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            r#"field "include_claims": expected a boolean, got "yes""#
        );
        let get = get();
        for (query, field, message) in [
            ("colour=red", "colour", "unknown query parameter"),
            (
                "qr_image_size=1&qrImageSize=2",
                "qr_image_size",
                "given more than once",
            ),
            (
                "qr_image_format=GIF",
                "qr_image_format",
                "unknown QrImageFormat value",
            ),
            ("id=other", "id", "given more than once"),
            ("qr_image_size=%zz", "query", "malformed percent-encoding"),
        ] {
            let error = get.request(&path("c-1"), Some(query), b"").unwrap_err();
            assert_eq!(error.field, field, "{query}: {error}");
            assert!(error.message.contains(message), "{query}: {error}");
        }
        let list = transcoder(LIST, HttpMethod::Get, "/v1/certificates", "");
        let message = list.request(&[], Some("holder=x"), b"").unwrap_err();
        assert!(
            message.message.contains("set its fields with dotted names"),
            "{message}"
        );
        let oneof = verify_get
            .request(&[], Some("token=a&qr_payload=b"), b"")
            .unwrap_err();
        assert_eq!(oneof.field, "qr_payload");
    }

    #[test]
    fn get_routes_refuse_a_body_and_unknown_placeholders() {
        let error = get()
            .request(&path("c-1"), None, br#"{"id": "x"}"#)
            .unwrap_err();
        assert_eq!(error.field, "body");
        assert!(error.message.contains("takes no body"), "{error}");
        let unknown = get()
            .request(&[("serial".to_string(), "x".to_string())], None, b"")
            .unwrap_err();
        assert_eq!(unknown.field, "serial");
        let missing = Transcoder::new(
            GET,
            &HttpRoute {
                method: HttpMethod::Get,
                template: "/v1/certificates/{serial}".into(),
                body: BodyBinding::None,
            },
        )
        .unwrap_err();
        assert!(missing.contains("http.route_template"), "{missing}");
    }

    #[test]
    fn responses_render_as_proto3_json() {
        let response = cert::GetCertificateResponse {
            certificate: Some(cert::Certificate {
                id: "c-1".into(),
                serial_number: "SN-1".into(),
                status: cert::CertificateStatus::Valid as i32,
                version: 3,
                ..Default::default()
            }),
            qr_image: None,
        };
        let json = get().response_json(&response.encode_to_vec()).unwrap();
        let json: Json = serde_json::from_slice(&json).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"certificate": {
                "id": "c-1",
                "serialNumber": "SN-1",
                "status": "CERTIFICATE_STATUS_VALID",
                "version": "3"
            }})
        );
        let garbage = get().response_json(b"\xff\xff\xff").unwrap_err();
        assert!(matches!(garbage, RenderError::Decode { .. }), "{garbage}");
    }
}
