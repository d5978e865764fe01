//! A capability's route checked against its method's descriptors: what the
//! admin plane validates and what the transcoder and the OpenAPI document
//! are built from.

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor, MethodDescriptor};

use super::descriptors;
use super::template::Template;
use crate::domain::{BodyBinding, HttpMethod, HttpRoute};

const TEMPLATE_FIELD: &str = "http.route_template";
const BODY_FIELD: &str = "http.body";
const METHOD_FIELD: &str = "backend.grpc_method";

/// Where the JSON body goes.
#[derive(Debug, Clone)]
pub(crate) enum BodyTarget {
    /// No body.
    None,
    /// The whole request message.
    Whole,
    /// One top-level field of the request.
    Field(FieldDescriptor),
}

/// A placeholder and the request fields it walks to (last one scalar).
#[derive(Debug, Clone)]
pub(crate) struct PathField {
    pub(crate) name: String,
    pub(crate) fields: Vec<FieldDescriptor>,
}

/// A route that the method can serve.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub(crate) method: MethodDescriptor,
    pub(crate) path_fields: Vec<PathField>,
    pub(crate) body: BodyTarget,
}

/// Checks `route` against `grpc_method`; Err lists (field, problem) pairs.
pub(crate) fn resolve(
    grpc_method: &str,
    route: &HttpRoute,
) -> Result<Resolved, Vec<(String, String)>> {
    let mut problems = Vec::new();
    let mut problem = |field: &str, message: String| problems.push((field.to_string(), message));
    let method = match descriptors::method(grpc_method) {
        Ok(method) if method.is_client_streaming() || method.is_server_streaming() => {
            problem(
                METHOD_FIELD,
                format!("{grpc_method} streams; only unary methods can be capabilities"),
            );
            None
        }
        Ok(method) => Some(method),
        Err(message) => {
            problem(METHOD_FIELD, message);
            None
        }
    };
    let template = match Template::parse(&route.template) {
        Ok(template) => Some(template),
        Err(message) => {
            problem(TEMPLATE_FIELD, message);
            None
        }
    };
    let has_body = !matches!(route.body, BodyBinding::None);
    if has_body && matches!(route.method, HttpMethod::Get | HttpMethod::Delete) {
        problem(
            BODY_FIELD,
            format!(
                "{} routes take no body; leave it empty so fields bind from the query string",
                route.method.as_str()
            ),
        );
    }
    let (Some(method), Some(template)) = (method, template) else {
        return Err(problems);
    };
    let input = method.input();
    let mut path_fields = Vec::new();
    for name in template.fields() {
        match path_field(&input, name) {
            Ok(fields) => path_fields.push(PathField {
                name: name.to_string(),
                fields,
            }),
            Err(message) => problem(TEMPLATE_FIELD, format!("placeholder {{{name}}}: {message}")),
        }
    }
    let body = match &route.body {
        BodyBinding::None => BodyTarget::None,
        BodyBinding::Whole => BodyTarget::Whole,
        BodyBinding::Field(name) => match input.get_field_by_name(name) {
            Some(_) if template.fields().any(|path| first_name(path) == name) => {
                problem(
                    BODY_FIELD,
                    format!("`{name}` is bound from the route template; the body cannot fill it"),
                );
                BodyTarget::None
            }
            Some(field) => BodyTarget::Field(field),
            None => {
                problem(
                    BODY_FIELD,
                    format!(
                        "must be \"*\", empty, or a top-level field of {}; `{name}` is none",
                        input.full_name()
                    ),
                );
                BodyTarget::None
            }
        },
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Resolved {
        method,
        path_fields,
        body,
    })
}

/// The first name of a dotted field path.
pub(crate) fn first_name(path: &str) -> &str {
    path.split_once('.').map_or(path, |(first, _)| first)
}

/// Walks a dotted path of proto field names to a singular scalar or enum.
fn path_field(input: &MessageDescriptor, path: &str) -> Result<Vec<FieldDescriptor>, String> {
    let mut message = input.clone();
    let mut fields = Vec::new();
    let names: Vec<&str> = path.split('.').collect();
    for (index, name) in names.iter().enumerate() {
        let Some(field) = message.get_field_by_name(name) else {
            return Err(format!("{} has no field `{name}`", message.full_name()));
        };
        if field.is_list() || field.is_map() {
            return Err(format!(
                "`{name}` is repeated; a path segment holds one value"
            ));
        }
        let is_last = index + 1 == names.len();
        match (field.kind(), is_last) {
            (Kind::Message(nested), false) => message = nested,
            (Kind::Message(nested), true) => {
                return Err(format!(
                    "`{name}` is a message ({}); name one of its scalar fields, e.g. {{{path}.<field>}}",
                    nested.full_name()
                ));
            }
            (_, false) => return Err(format!("`{name}` is not a message; nothing is inside it")),
            (_, true) => {}
        }
        fields.push(field);
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERIFY: &str = "/zhongtai.certificate.v1.CertificateService/VerifyCertificate";
    const GET: &str = "/zhongtai.certificate.v1.CertificateService/GetCertificate";
    const LIST: &str = "/zhongtai.certificate.v1.CertificateService/ListCertificates";

    fn route(method: HttpMethod, template: &str, body: &str) -> HttpRoute {
        HttpRoute {
            method,
            template: template.into(),
            body: BodyBinding::parse(body),
        }
    }

    fn problems(grpc_method: &str, route: &HttpRoute) -> Vec<(String, String)> {
        resolve(grpc_method, route).map(|_| ()).unwrap_err()
    }

    #[test]
    fn accepts_routes_the_method_can_serve() {
        let get = resolve(GET, &route(HttpMethod::Get, "/v1/certificates/{id}", "")).unwrap();
        assert_eq!(get.path_fields[0].fields[0].name(), "id");
        assert!(
            resolve(
                VERIFY,
                &route(HttpMethod::Post, "/v1/certificates:verify", "*")
            )
            .is_ok()
        );
        let nested = resolve(
            LIST,
            &route(
                HttpMethod::Get,
                "/v1/holders/{holder.person.id_number}/certificates",
                "",
            ),
        )
        .unwrap();
        assert_eq!(nested.path_fields[0].fields.len(), 3);
    }

    #[test]
    fn names_the_field_of_each_problem() {
        let unknown_method = problems(
            "/zhongtai.certificate.v1.CertificateService/Nope",
            &route(HttpMethod::Get, "/v1/x", ""),
        );
        assert_eq!(unknown_method[0].0, METHOD_FIELD);
        let missing = problems(
            GET,
            &route(HttpMethod::Get, "/v1/certificates/{serial}", ""),
        );
        assert_eq!(missing[0].0, TEMPLATE_FIELD);
        assert!(
            missing[0].1.contains("has no field `serial`"),
            "{missing:?}"
        );
        let message = problems(LIST, &route(HttpMethod::Get, "/v1/holders/{holder}", ""));
        assert!(message[0].1.contains("is a message"), "{message:?}");
        let repeated = problems(LIST, &route(HttpMethod::Get, "/v1/s/{statuses}", ""));
        assert!(repeated[0].1.contains("is repeated"), "{repeated:?}");
        let get_body = problems(GET, &route(HttpMethod::Get, "/v1/certificates/{id}", "*"));
        assert_eq!(get_body[0].0, BODY_FIELD);
        assert!(
            get_body[0].1.contains("GET routes take no body"),
            "{get_body:?}"
        );
        let body_field = problems(VERIFY, &route(HttpMethod::Post, "/v1/c:verify", "nope"));
        assert_eq!(body_field[0].0, BODY_FIELD);
        let body_in_path = problems(GET, &route(HttpMethod::Post, "/v1/c/{id}", "id"));
        assert!(
            body_in_path[0].1.contains("bound from the route"),
            "{body_in_path:?}"
        );
        let bad_template = problems(GET, &route(HttpMethod::Get, "certificates", ""));
        assert_eq!(bad_template[0].0, TEMPLATE_FIELD);
    }
}
