//! Requests to domain values, with their shape checked at the edge; every
//! problem is reported at once with its field.

use uuid::Uuid;
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_kit::proto::{instant, tenant};
use zhongtai_kit::{ApiError, Validator};

use super::messages::{party_from_message, state_from_message};
use crate::consents::domain::{ConsentFilter, ConsentRequest, Party};
use crate::shared::convert::holder_from_message;

const MAX_REQUEST_ID_CHARS: usize = 128;
const MAX_APP_ID_CHARS: usize = 128;
const MAX_REQUESTER_NAME_CHARS: usize = 200;
const MAX_PURPOSE_CHARS: usize = 2000;
const MAX_REASON_CHARS: usize = 2000;
const MAX_TYPES: usize = 20;
const MAX_CLAIMS: usize = 50;
const MAX_CODE_CHARS: usize = 64;
const MAX_READ_LIMIT: i64 = 10_000;

pub fn consent_request(request: &pb::RequestConsentRequest) -> Result<ConsentRequest, ApiError> {
    let mut v = Validator::new();
    request_id(&mut v, &request.request_id);
    v.code("app_id", &request.app_id, MAX_APP_ID_CHARS);
    v.text(
        "requester_name",
        &request.requester_name,
        MAX_REQUESTER_NAME_CHARS,
    );
    let holder = parsed(
        &mut v,
        "holder",
        holder_from_message("holder", request.holder.as_ref()),
    );
    let custodian = parsed(
        &mut v,
        "custodian",
        tenant("custodian", request.custodian.as_ref()),
    );
    codes(
        &mut v,
        "certificate_types",
        &request.certificate_types,
        1,
        MAX_TYPES,
    );
    codes(&mut v, "claims", &request.claims, 0, MAX_CLAIMS);
    v.text("purpose", &request.purpose, MAX_PURPOSE_CHARS);
    let (start, end) = match &request.period {
        None => {
            v.violation("period", "required, with an end_time");
            (None, None)
        }
        Some(period) => {
            let start = period.start_time.as_ref().and_then(|at| {
                parsed(
                    &mut v,
                    "period.start_time",
                    instant("period.start_time", at),
                )
            });
            let end = match &period.end_time {
                None => {
                    v.violation("period.end_time", "required");
                    None
                }
                Some(at) => parsed(&mut v, "period.end_time", instant("period.end_time", at)),
            };
            (start, end)
        }
    };
    if !(1..=MAX_READ_LIMIT).contains(&request.read_limit) {
        v.violation("read_limit", format!("must be 1..{MAX_READ_LIMIT}"));
    }
    v.finish()?;
    let (Some(holder), Some(custodian), Some(end)) = (holder, custodian, end) else {
        return Err(ApiError::internal("a checked request lost a field"));
    };
    Ok(ConsentRequest {
        request_id: request.request_id.clone(),
        app_id: request.app_id.clone(),
        requester_name: request.requester_name.clone(),
        holder,
        custodian,
        certificate_types: request.certificate_types.clone(),
        claims: request.claims.clone(),
        purpose: request.purpose.clone(),
        start,
        end,
        read_limit: request.read_limit,
    })
}

pub fn consent_id(field: &str, id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::invalid_field(field, "must be a consent id (UUID)"))
}

/// The id and party of an unlock, decline or revoke; `reason` is checked
/// when given (decline and revoke need one).
pub fn party_action(id: &str, party: i32, reason: Option<&str>) -> Result<(Uuid, Party), ApiError> {
    let mut v = Validator::new();
    let id = parsed(&mut v, "id", consent_id("id", id));
    let party = match pb::ConsentParty::try_from(party)
        .ok()
        .and_then(party_from_message)
    {
        Some(party) => Some(party),
        None => {
            v.violation("party", "required: CUSTODIAN, PLATFORM or HOLDER");
            None
        }
    };
    if let Some(reason) = reason {
        v.text("reason", reason, MAX_REASON_CHARS);
    }
    v.finish()?;
    match (id, party) {
        (Some(id), Some(party)) => Ok((id, party)),
        _ => Err(ApiError::internal("a checked request lost a field")),
    }
}

pub fn read(request: &pb::ReadConsentedDataRequest) -> Result<Uuid, ApiError> {
    let mut v = Validator::new();
    request_id(&mut v, &request.request_id);
    let id = parsed(
        &mut v,
        "consent_id",
        consent_id("consent_id", &request.consent_id),
    );
    v.finish()?;
    id.ok_or_else(|| ApiError::internal("a checked request lost a field"))
}

pub fn filter(request: &pb::ListConsentsRequest) -> Result<ConsentFilter, ApiError> {
    let mut v = Validator::new();
    let mut states = Vec::new();
    for (i, state) in request.states.iter().enumerate() {
        match pb::ConsentState::try_from(*state)
            .ok()
            .and_then(state_from_message)
        {
            Some(state) => states.push(state),
            None => v.violation(format!("states[{i}]"), "must be a consent state"),
        }
    }
    let awaiting_party = match pb::ConsentParty::try_from(request.awaiting_party) {
        Ok(party) => party_from_message(party),
        Err(_) => {
            v.violation("awaiting_party", "must be CUSTODIAN, PLATFORM or HOLDER");
            None
        }
    };
    v.finish()?;
    Ok(ConsentFilter {
        states,
        awaiting_party,
    })
}

fn request_id(v: &mut Validator, value: &str) {
    let chars = value.chars().count();
    if chars == 0 || chars > MAX_REQUEST_ID_CHARS || value.chars().any(char::is_control) {
        v.violation(
            "request_id",
            format!("must be 1..{MAX_REQUEST_ID_CHARS} characters, no control characters"),
        );
    }
}

/// A list of `min..=max` codes, each once.
fn codes(v: &mut Validator, field: &str, values: &[String], min: usize, max: usize) {
    if values.len() < min {
        v.violation(field, format!("must name at least {min}"));
    }
    v.max_items(field, values.len(), max);
    for (i, value) in values.iter().enumerate().take(max) {
        let item = format!("{field}[{i}]");
        v.code(&item, value, MAX_CODE_CHARS);
        if values[..i].contains(value) {
            v.violation(item, "appears twice");
        }
    }
}

/// The value, or its error recorded as a violation of `field` (or of the
/// field within it that the error names, e.g. `holder.person.id_number`).
fn parsed<T>(v: &mut Validator, field: &str, result: Result<T, ApiError>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(error) => {
            let (named, problem) = violation_of(&error, field);
            v.violation(named, problem);
            None
        }
    }
}

/// The field and problem of an [`ApiError`] made by
/// `ApiError::invalid_field`, whose message reads "invalid <field>:
/// <problem>"; `field` when the message names no field within it.
fn violation_of(error: &ApiError, field: &str) -> (String, String) {
    let message = error.message();
    match message
        .strip_prefix("invalid ")
        .and_then(|rest| rest.split_once(": "))
    {
        Some((named, problem)) if named.starts_with(field) => {
            (named.to_string(), problem.to_string())
        }
        _ => (field.to_string(), message.to_string()),
    }
}
