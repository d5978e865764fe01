//! HTTP/JSON ↔ gRPC, generically from the contracts' descriptors: route
//! templates, request binding (path, query, body), response rendering,
//! gRPC framing and status mapping, and the OpenAPI document.

mod bind;
mod descriptors;
mod diagnose;
mod frame;
mod openapi;
mod percent;
mod resolve;
mod route;
mod scalar;
mod status;
mod template;
mod transcoder;

pub use bind::BindError;
pub use frame::{FrameError, frame, unframe};
pub use openapi::{OpenApiError, OpenApiFormat, openapi_document};
pub use prost_reflect::{DynamicMessage, MessageDescriptor};
pub use route::RouteTable;
pub use status::{error_body, gateway_error_body, http_status};
pub use transcoder::{RenderError, Transcoder, string_field};

use crate::domain::HttpRoute;

/// Admin-time check: the method exists in the contracts and is unary;
/// template placeholders name scalar or enum fields of its request (dotted
/// paths into nested messages allowed) and the body a top-level field; GET
/// and DELETE have no body. Err lists (field, problem) pairs with fields
/// `http.route_template`, `http.body` and `backend.grpc_method`.
pub fn validate_route(grpc_method: &str, route: &HttpRoute) -> Result<(), Vec<(String, String)>> {
    resolve::resolve(grpc_method, route).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{BodyBinding, HttpMethod};

    #[test]
    fn validate_route_reports_problems_by_contract_field() {
        let route = HttpRoute {
            method: HttpMethod::Get,
            template: "/v1/certificates/{id}".into(),
            body: BodyBinding::Whole,
        };
        let get = "/zhongtai.certificate.v1.CertificateService/GetCertificate";
        let problems = validate_route(get, &route).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].0, "http.body");
        let fixed = HttpRoute {
            body: BodyBinding::None,
            ..route
        };
        assert_eq!(validate_route(get, &fixed), Ok(()));
    }
}
