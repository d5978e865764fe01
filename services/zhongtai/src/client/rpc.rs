//! Calling the centers: typed clients over the platform's channels, and a
//! refusal shown the way the server meant it — the code, the message, every
//! offending field of a `google.rpc.BadRequest`, the denial or credential
//! reason — instead of a raw status dump.

use std::fmt;

use tonic::Code;
use tonic_types::StatusExt as _;
use zhongtai_contracts::approval::v1::approval_service_client::ApprovalServiceClient;
use zhongtai_contracts::catalog::v1::catalog_service_client::CatalogServiceClient;
use zhongtai_contracts::certificate::v1::certificate_service_client::CertificateServiceClient;
use zhongtai_contracts::certificate::v1::code_service_client::CodeServiceClient;
use zhongtai_contracts::certificate::v1::consent_service_client::ConsentServiceClient;
use zhongtai_contracts::exchange::v1::enclave_service_client::EnclaveServiceClient;
use zhongtai_contracts::exchange::v1::exchange_service_client::ExchangeServiceClient;
use zhongtai_contracts::gateway::v1::gateway_admin_service_client::GatewayAdminServiceClient;
use zhongtai_kit::ServiceChannel;

use super::endpoints::{Target, TargetArgs};

pub type Approval = ApprovalServiceClient<ServiceChannel>;
pub type Catalog = CatalogServiceClient<ServiceChannel>;
pub type Certificate = CertificateServiceClient<ServiceChannel>;
pub type Codes = CodeServiceClient<ServiceChannel>;
pub type Consents = ConsentServiceClient<ServiceChannel>;
pub type Exchange = ExchangeServiceClient<ServiceChannel>;
pub type Enclaves = EnclaveServiceClient<ServiceChannel>;
pub type GatewayAdmin = GatewayAdminServiceClient<ServiceChannel>;

pub fn approval(target: &TargetArgs) -> anyhow::Result<Approval> {
    Ok(ApprovalServiceClient::new(
        Target::resolve(target)?.channel("approval"),
    ))
}

pub fn catalog(target: &TargetArgs) -> anyhow::Result<Catalog> {
    Ok(CatalogServiceClient::new(
        Target::resolve(target)?.channel("catalog"),
    ))
}

pub fn certificate(target: &TargetArgs) -> anyhow::Result<Certificate> {
    Ok(CertificateServiceClient::new(
        Target::resolve(target)?.channel("certificate"),
    ))
}

/// Presentation codes and venue scans, served by the certificate center.
pub fn codes(target: &TargetArgs) -> anyhow::Result<Codes> {
    Ok(CodeServiceClient::new(
        Target::resolve(target)?.channel("certificate"),
    ))
}

/// Three-party consents, served by the certificate center.
pub fn consents(target: &TargetArgs) -> anyhow::Result<Consents> {
    Ok(ConsentServiceClient::new(
        Target::resolve(target)?.channel("certificate"),
    ))
}

pub fn exchange(target: &TargetArgs) -> anyhow::Result<Exchange> {
    Ok(ExchangeServiceClient::new(
        Target::resolve(target)?.channel("exchange"),
    ))
}

/// Enclaves and backflow, served by the exchange center.
pub fn enclaves(target: &TargetArgs) -> anyhow::Result<Enclaves> {
    Ok(EnclaveServiceClient::new(
        Target::resolve(target)?.channel("exchange"),
    ))
}

/// The capability gateway's admin plane.
pub fn gateway(target: &TargetArgs) -> anyhow::Result<GatewayAdmin> {
    Ok(GatewayAdminServiceClient::new(
        Target::resolve(target)?.channel("gateway"),
    ))
}

/// A status the server (or the channel) answered with.
#[derive(Debug)]
pub struct Refusal {
    status: tonic::Status,
    request_id: Option<String>,
}

impl std::error::Error for Refusal {}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = &self.status;
        write!(f, "{}", code_name(status.code()))?;
        if !status.message().is_empty() {
            write!(f, ": {}", status.message())?;
        }
        let details = status.get_error_details();
        if let Some(info) = details.error_info() {
            // A consent refusal that is also a denial names its code twice.
            let mut named: Vec<&String> = Vec::new();
            for key in ["denial", "credential", "refusal"] {
                if let Some(value) = info.metadata.get(key).filter(|v| !named.contains(v)) {
                    write!(f, " ({key}: {value})")?;
                    named.push(value);
                }
            }
        }
        if let Some(bad_request) = details.bad_request() {
            // A single violation is usually the message already.
            let told = |field: &str, description: &str| {
                status.message().contains(field) && status.message().contains(description)
            };
            for violation in &bad_request.field_violations {
                if !told(&violation.field, &violation.description) {
                    write!(f, "\n  - {}: {}", violation.field, violation.description)?;
                }
            }
        }
        if let Some(hint) = self.hint() {
            write!(f, "\n  {hint}")?;
        }
        Ok(())
    }
}

impl Refusal {
    fn hint(&self) -> Option<String> {
        match self.status.code() {
            Code::Unauthenticated => Some(
                "set ZHONGTAI_TOKEN to a valid token, e.g. \
                 export ZHONGTAI_TOKEN=$(zhongtai token issue --tenant 331100 --dept <department> --role operator)"
                    .into(),
            ),
            Code::Unimplemented => {
                Some("the platform you are calling does not serve this call yet".into())
            }
            Code::Unavailable | Code::DeadlineExceeded | Code::Unknown => {
                let reach = "is the platform running? `zhongtai health` checks";
                Some(match &self.request_id {
                    Some(id) => format!(
                        "{reach}; the outcome is unknown, so retry with --request-id {id} \
                         (a repeat with the same id is applied once)"
                    ),
                    None => reach.to_string(),
                })
            }
            _ => None,
        }
    }
}

/// `InvalidArgument` → `INVALID_ARGUMENT`, as gRPC documents its codes.
fn code_name(code: Code) -> String {
    let camel = format!("{code:?}");
    let mut name = String::with_capacity(camel.len() + 4);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            name.push('_');
        }
        name.push(c.to_ascii_uppercase());
    }
    name
}

/// The answer of a call, or a readable error saying what could not be done.
pub trait Answer<T> {
    /// `what` completes "cannot …", e.g. "create the process definition".
    fn answer(self, what: &str) -> anyhow::Result<T>;
    /// As [`Answer::answer`], for a call made under an idempotency key: when
    /// the outcome is unknown, the error says how to retry safely.
    fn answer_once(self, what: &str, request_id: &str) -> anyhow::Result<T>;
}

impl<T> Answer<T> for Result<tonic::Response<T>, tonic::Status> {
    fn answer(self, what: &str) -> anyhow::Result<T> {
        refused(self, what, None)
    }

    fn answer_once(self, what: &str, request_id: &str) -> anyhow::Result<T> {
        refused(self, what, Some(request_id.to_string()))
    }
}

fn refused<T>(
    result: Result<tonic::Response<T>, tonic::Status>,
    what: &str,
    request_id: Option<String>,
) -> anyhow::Result<T> {
    result.map(tonic::Response::into_inner).map_err(|status| {
        anyhow::Error::new(Refusal { status, request_id }).context(format!("cannot {what}"))
    })
}

#[cfg(test)]
mod tests {
    use zhongtai_kit::ApiError;

    use super::*;

    fn shown(status: tonic::Status, request_id: Option<&str>) -> String {
        let result: Result<tonic::Response<()>, tonic::Status> = Err(status);
        let error = match request_id {
            Some(id) => result.answer_once("approve the application", id),
            None => result.answer("approve the application"),
        };
        format!("{:#}", error.unwrap_err())
    }

    #[test]
    fn field_violations_are_listed_one_per_line() {
        let status: tonic::Status = ApiError::invalid_fields(vec![
            (
                "stages[0].assignees".into(),
                "a SINGLE stage has one assignee".into(),
            ),
            ("key".into(), "must be 3..64 characters".into()),
        ])
        .into();
        assert_eq!(
            shown(status, None),
            "cannot approve the application: INVALID_ARGUMENT: 2 invalid fields\n  \
             - stages[0].assignees: a SINGLE stage has one assignee\n  \
             - key: must be 3..64 characters"
        );
    }

    #[test]
    fn a_single_violation_is_not_repeated() {
        let status: tonic::Status =
            ApiError::invalid_field("code", "must be 3..64 characters").into();
        assert_eq!(
            shown(status, None),
            "cannot approve the application: INVALID_ARGUMENT: invalid code: must be 3..64 characters"
        );
    }

    #[test]
    fn denials_name_their_reason() {
        let status: tonic::Status =
            ApiError::permission_denied("NOT_ASSIGNEE", "the task is assigned to someone else")
                .into();
        let text = shown(status, None);
        assert!(
            text.contains("PERMISSION_DENIED: the task is assigned to someone else"),
            "{text}"
        );
        assert!(text.contains("(denial: NOT_ASSIGNEE)"), "{text}");
    }

    #[test]
    fn consent_refusals_name_their_reason_once() {
        let locked: tonic::Status =
            ApiError::permission_denied("CONSENT_LOCKED", "not every party has unlocked")
                .with_metadata("refusal", "CONSENT_LOCKED")
                .into();
        let text = shown(locked, None);
        assert_eq!(text.matches("CONSENT_LOCKED").count(), 1, "{text}");
        let spent: tonic::Status = ApiError::failed_precondition("the read limit of 3 is reached")
            .with_metadata("refusal", "CONSENT_LIMIT_REACHED")
            .into();
        let text = shown(spent, None);
        assert!(
            text.contains("FAILED_PRECONDITION: the read limit of 3 is reached (refusal: CONSENT_LIMIT_REACHED)"),
            "{text}"
        );
    }

    #[test]
    fn unknown_outcomes_say_how_to_retry() {
        let text = shown(
            tonic::Status::unavailable("connection refused"),
            Some("r-1"),
        );
        assert!(
            text.starts_with("cannot approve the application: UNAVAILABLE"),
            "{text}"
        );
        assert!(text.contains("--request-id r-1"), "{text}");
        let text = shown(tonic::Status::unimplemented(""), None);
        assert!(
            text.contains("UNIMPLEMENTED") && text.contains("does not serve"),
            "{text}"
        );
    }
}
