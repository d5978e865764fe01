//! Tests of the certificates part: issuing (idempotent, checked against
//! the type, only by the issuer's staff), online verification with a
//! distinct answer per failure, revocation and suspension in the status
//! lists (also across instances), reading, and issuing on approval.

mod approvals;
mod issuing;
mod reading;
mod status_lists;
mod verifying;

use prost::Message;
use tonic::{Code, Status};

use crate::support::Harness;

/// The fields an INVALID_ARGUMENT names (its `google.rpc.BadRequest`).
pub fn violations(status: &Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let details = RpcStatus::decode(status.details()).unwrap();
    details
        .details
        .iter()
        .filter(|any| any.type_url.ends_with("google.rpc.BadRequest"))
        .flat_map(|any| {
            BadRequest::decode(any.value.as_slice())
                .unwrap()
                .field_violations
        })
        .map(|violation| violation.field)
        .collect()
}

/// What the tables hold: a failed request must leave every count as it was.
pub async fn counts(h: &Harness) -> [i64; 4] {
    [
        h.count("certificates").await,
        h.count("event_outbox").await,
        h.count("audit_log").await,
        h.count("status_lists").await,
    ]
}

/// `google.rpc.Status`, as tonic carries it in `Status::details`.
#[derive(Clone, PartialEq, Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<prost_types::Any>,
}

#[derive(Clone, PartialEq, Message)]
struct BadRequest {
    #[prost(message, repeated, tag = "1")]
    field_violations: Vec<FieldViolation>,
}

#[derive(Clone, PartialEq, Message)]
struct FieldViolation {
    #[prost(string, tag = "1")]
    field: String,
    #[prost(string, tag = "2")]
    description: String,
}
