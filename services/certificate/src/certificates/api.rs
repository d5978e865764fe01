//! Certificates, their status and the status lists over gRPC: contract
//! messages to domain values and back. No rules and no storage here.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use uuid::Uuid;
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_credential::{MAX_TOKEN_BYTES, QrError, QrImageFormat, issuer_id_of, render_qr};
use zhongtai_kit::proto::{instant, page_query, page_response, timestamp};
use zhongtai_kit::{ApiError, Validator, auth};

use super::Certificates;
use super::domain::draft::IssueRequest;
use super::domain::lifecycle::{MAX_REASON_CHARS, StatusAction};
use super::domain::lists::{ListPurpose, PublishedList};
use super::domain::verdict::Verdict;
use super::store::certificates::ListFilter;
use super::verification::Verification;
use crate::shared::convert::{
    certificate_message, claim_message, claims_from_messages, holder_from_message, holder_message,
};
use crate::shared::{CertificateStatus, now};

const MAX_REQUEST_ID_CHARS: usize = 128;
const MAX_TYPE_CODE_CHARS: usize = 64;
const MAX_CLAIMS: usize = 100;
const DEFAULT_QR_SIZE: u32 = 512;

/// The certificate and status-list RPCs of `CertificateService`.
pub struct CertificateHandlers {
    certificates: Arc<Certificates>,
}

impl CertificateHandlers {
    pub fn new(certificates: Arc<Certificates>) -> Self {
        Self { certificates }
    }

    pub async fn issue_certificate(
        &self,
        request: Request<pb::IssueCertificateRequest>,
    ) -> Result<Response<pb::IssueCertificateResponse>, Status> {
        let caller = auth::caller(&request)?;
        let issue = issue_request(request.get_ref())?;
        let record = self.certificates.issue(&caller, issue).await?;
        Ok(Response::new(pb::IssueCertificateResponse {
            certificate: Some(certificate_message(&record, now())),
        }))
    }

    pub async fn get_certificate(
        &self,
        request: Request<pb::GetCertificateRequest>,
    ) -> Result<Response<pb::GetCertificateResponse>, Status> {
        let caller = auth::caller(&request)?;
        let message = request.get_ref();
        let id = uuid("id", &message.id)?;
        let image = qr_request(message)?;
        let record = self.certificates.get(&caller, id).await?;
        let certificate = certificate_message(&record, now());
        let qr_image = match image {
            Some((format, size)) => Some(qr_image(&certificate.qr_payload, format, size)?),
            None => None,
        };
        Ok(Response::new(pb::GetCertificateResponse {
            certificate: Some(certificate),
            qr_image,
        }))
    }

    pub async fn list_certificates(
        &self,
        request: Request<pb::ListCertificatesRequest>,
    ) -> Result<Response<pb::ListCertificatesResponse>, Status> {
        let caller = auth::caller(&request)?;
        let message = request.get_ref();
        let page = page_query(message.page.as_ref())?;
        let filter = list_filter(message)?;
        let listed = self.certificates.list(&caller, filter, &page).await?;
        let at = now();
        Ok(Response::new(pb::ListCertificatesResponse {
            page: Some(page_response(listed.next_page_token)),
            certificates: listed
                .items
                .iter()
                .map(|record| certificate_message(record, at))
                .collect(),
        }))
    }

    pub async fn verify_certificate(
        &self,
        request: Request<pb::VerifyCertificateRequest>,
    ) -> Result<Response<pb::VerifyCertificateResponse>, Status> {
        use pb::verify_certificate_request::Presentation;
        let caller = auth::caller(&request).ok();
        let message = request.get_ref();
        let (field, presentation) = match &message.presentation {
            Some(Presentation::Token(token)) => ("token", token),
            Some(Presentation::QrPayload(payload)) => ("qr_payload", payload),
            None => {
                return Err(ApiError::invalid_field(
                    "presentation",
                    "required: a token or a qr_payload",
                )
                .into());
            }
        };
        if presentation.len() > MAX_TOKEN_BYTES {
            return Err(ApiError::invalid_field(
                field,
                format!(
                    "must be at most {MAX_TOKEN_BYTES} bytes (got {})",
                    presentation.len()
                ),
            )
            .into());
        }
        let verification = self
            .certificates
            .verify(caller.as_ref(), field, presentation, message.include_claims)
            .await?;
        Ok(Response::new(pb::VerifyCertificateResponse {
            result: Some(verification_message(verification)),
        }))
    }

    pub async fn revoke_certificate(
        &self,
        request: Request<pb::RevokeCertificateRequest>,
    ) -> Result<Response<pb::RevokeCertificateResponse>, Status> {
        let message = request.get_ref();
        let certificate = self
            .change_status(&request, &message.id, &message.reason, StatusAction::Revoke)
            .await?;
        Ok(Response::new(pb::RevokeCertificateResponse {
            certificate: Some(certificate),
        }))
    }

    pub async fn suspend_certificate(
        &self,
        request: Request<pb::SuspendCertificateRequest>,
    ) -> Result<Response<pb::SuspendCertificateResponse>, Status> {
        let message = request.get_ref();
        let certificate = self
            .change_status(
                &request,
                &message.id,
                &message.reason,
                StatusAction::Suspend,
            )
            .await?;
        Ok(Response::new(pb::SuspendCertificateResponse {
            certificate: Some(certificate),
        }))
    }

    pub async fn reinstate_certificate(
        &self,
        request: Request<pb::ReinstateCertificateRequest>,
    ) -> Result<Response<pb::ReinstateCertificateResponse>, Status> {
        let message = request.get_ref();
        let certificate = self
            .change_status(
                &request,
                &message.id,
                &message.reason,
                StatusAction::Reinstate,
            )
            .await?;
        Ok(Response::new(pb::ReinstateCertificateResponse {
            certificate: Some(certificate),
        }))
    }

    pub async fn get_status_list(
        &self,
        request: Request<pb::GetStatusListRequest>,
    ) -> Result<Response<pb::GetStatusListResponse>, Status> {
        let message = request.get_ref();
        let mut v = Validator::new();
        v.code("id", &message.id, 64);
        v.finish()?;
        let list = self
            .certificates
            .status_list(&message.id, message.if_newer_than_version)
            .await?;
        Ok(Response::new(pb::GetStatusListResponse {
            not_modified: list.is_none(),
            status_list: list.as_deref().map(status_list_message),
        }))
    }

    pub async fn list_status_lists(
        &self,
        request: Request<pb::ListStatusListsRequest>,
    ) -> Result<Response<pb::ListStatusListsResponse>, Status> {
        let message = request.get_ref();
        let page = page_query(message.page.as_ref())?;
        let purpose = match pb::StatusPurpose::try_from(message.purpose) {
            Ok(pb::StatusPurpose::Unspecified) => None,
            Ok(pb::StatusPurpose::Revocation) => Some(ListPurpose::Revocation),
            Ok(pb::StatusPurpose::Suspension) => Some(ListPurpose::Suspension),
            Err(_) => {
                return Err(
                    ApiError::invalid_field("purpose", "is not a known status purpose").into(),
                );
            }
        };
        let lists = self.certificates.status_lists(purpose, &page).await?;
        Ok(Response::new(pb::ListStatusListsResponse {
            page: Some(page_response(lists.next_page_token)),
            status_lists: lists
                .items
                .iter()
                .map(|list| status_list_message(list))
                .collect(),
        }))
    }

    async fn change_status<T>(
        &self,
        request: &Request<T>,
        id: &str,
        reason: &str,
        action: StatusAction,
    ) -> Result<pb::Certificate, Status> {
        let caller = auth::caller(request)?;
        let mut v = Validator::new();
        let id = v.parse("id", parse_uuid(id));
        v.text("reason", reason, MAX_REASON_CHARS);
        v.finish()?;
        let Some(id) = id else {
            return Err(ApiError::invalid_field("id", "must be a UUID").into());
        };
        let record = self
            .certificates
            .change_status(&caller, id, action, reason)
            .await?;
        Ok(certificate_message(&record, now()))
    }
}

/// The contract form of a published status list.
pub fn status_list_message(list: &PublishedList) -> pb::StatusList {
    pb::StatusList {
        id: list.id.clone(),
        purpose: match list.purpose {
            ListPurpose::Revocation => pb::StatusPurpose::Revocation,
            ListPurpose::Suspension => pb::StatusPurpose::Suspension,
        } as i32,
        size: i64::try_from(list.size).unwrap_or(i64::MAX),
        encoded_list: list.encoded.clone(),
        version: list.version,
        issue_time: Some(timestamp(list.issued_at)),
        valid_until_time: Some(timestamp(list.valid_until)),
        token: list.token.clone(),
    }
}

fn issue_request(message: &pb::IssueCertificateRequest) -> Result<IssueRequest, ApiError> {
    let mut v = Validator::new();
    v.text("request_id", &message.request_id, MAX_REQUEST_ID_CHARS);
    v.code(
        "certificate_type",
        &message.certificate_type,
        MAX_TYPE_CODE_CHARS,
    );
    let issuer_id = v.parse("issuer_id", parse_uuid(&message.issuer_id));
    v.max_items("claims", message.claims.len(), MAX_CLAIMS);
    let application_id = if message.application_id.is_empty() {
        None
    } else {
        v.parse("application_id", parse_uuid(&message.application_id))
    };
    let valid_from = match &message.valid_from_time {
        Some(at) => v.parse(
            "valid_from_time",
            instant("valid_from_time", at).map_err(|e| e.message().to_string()),
        ),
        None => None,
    };
    let validity = match &message.validity {
        Some(validity) => v.parse("validity", duration(validity)),
        None => None,
    };
    v.finish()?;
    let holder = holder_from_message("holder", message.holder.as_ref())?;
    let claims = claims_from_messages("claims", &message.claims)?;
    let issuer_id =
        issuer_id.ok_or_else(|| ApiError::invalid_field("issuer_id", "must be a UUID"))?;
    Ok(IssueRequest {
        request_id: message.request_id.clone(),
        certificate_type: message.certificate_type.clone(),
        issuer_id,
        holder,
        claims,
        valid_from,
        validity,
        application_id,
    })
}

fn list_filter(message: &pb::ListCertificatesRequest) -> Result<ListFilter, ApiError> {
    let mut v = Validator::new();
    if !message.certificate_type.is_empty() {
        v.code(
            "certificate_type",
            &message.certificate_type,
            MAX_TYPE_CODE_CHARS,
        );
    }
    let issuer_id = if message.issuer_id.is_empty() {
        None
    } else {
        v.parse("issuer_id", parse_uuid(&message.issuer_id))
    };
    let mut statuses = Vec::new();
    for (i, status) in message.statuses.iter().enumerate() {
        match pb::CertificateStatus::try_from(*status) {
            Ok(pb::CertificateStatus::Valid) => statuses.push(CertificateStatus::Valid),
            Ok(pb::CertificateStatus::Suspended) => statuses.push(CertificateStatus::Suspended),
            Ok(pb::CertificateStatus::Revoked) => statuses.push(CertificateStatus::Revoked),
            Ok(pb::CertificateStatus::Expired) => statuses.push(CertificateStatus::Expired),
            _ => v.violation(
                format!("statuses[{i}]"),
                "is not a known certificate status",
            ),
        }
    }
    v.finish()?;
    let holder_key = match message.holder.as_ref() {
        Some(holder) if holder.holder.is_some() => {
            Some(holder_from_message("holder", Some(holder))?.key())
        }
        _ => None,
    };
    Ok(ListFilter {
        holder_key,
        certificate_type: (!message.certificate_type.is_empty())
            .then(|| message.certificate_type.clone()),
        issuer_id,
        statuses,
    })
}

fn qr_request(
    message: &pb::GetCertificateRequest,
) -> Result<Option<(QrImageFormat, u32)>, ApiError> {
    let format = match pb::QrImageFormat::try_from(message.qr_image_format) {
        Ok(pb::QrImageFormat::Unspecified) => return Ok(None),
        Ok(pb::QrImageFormat::Png) => QrImageFormat::Png,
        Ok(pb::QrImageFormat::Svg) => QrImageFormat::Svg,
        Err(_) => {
            return Err(ApiError::invalid_field(
                "qr_image_format",
                "is not a known image format",
            ));
        }
    };
    let size = match message.qr_image_size {
        0 => DEFAULT_QR_SIZE,
        size @ 64..=2048 => size.unsigned_abs(),
        _ => {
            return Err(ApiError::invalid_field(
                "qr_image_size",
                "must be between 64 and 2048, or 0 for 512",
            ));
        }
    };
    Ok(Some((format, size)))
}

fn qr_image(payload: &str, format: QrImageFormat, size: u32) -> Result<pb::QrImage, ApiError> {
    let data = render_qr(payload, format, size).map_err(|error| match error {
        QrError::TooSmall { .. } | QrError::SizeOutOfRange { .. } => {
            ApiError::invalid_field("qr_image_size", error.to_string())
        }
        QrError::TooLong | QrError::Png { .. } => ApiError::internal(error),
    })?;
    Ok(pb::QrImage {
        format: match format {
            QrImageFormat::Png => pb::QrImageFormat::Png,
            QrImageFormat::Svg => pb::QrImageFormat::Svg,
        } as i32,
        data,
        size: i32::try_from(size).unwrap_or(i32::MAX),
    })
}

fn verification_message(verification: Verification) -> pb::VerificationResult {
    use zhongtai_credential::Outcome;
    let outcome = match verification.verdict {
        Verdict::Offline(Outcome::Valid) => pb::VerificationOutcome::Valid,
        Verdict::Offline(Outcome::SignatureInvalid) => pb::VerificationOutcome::SignatureInvalid,
        Verdict::Offline(Outcome::UntrustedKey) => pb::VerificationOutcome::UntrustedKey,
        Verdict::Offline(Outcome::Expired) => pb::VerificationOutcome::Expired,
        Verdict::Offline(Outcome::NotYetValid) => pb::VerificationOutcome::NotYetValid,
        Verdict::Offline(Outcome::IssuerNotAuthorized) => {
            pb::VerificationOutcome::IssuerNotAuthorized
        }
        Verdict::Revoked => pb::VerificationOutcome::Revoked,
        Verdict::Suspended => pb::VerificationOutcome::Suspended,
    };
    let payload = verification.payload.as_ref();
    pb::VerificationResult {
        outcome: outcome as i32,
        detail: verification.detail,
        certificate_id: payload.map(|p| p.jti.clone()).unwrap_or_default(),
        certificate_type: payload.map(|p| p.vct.clone()).unwrap_or_default(),
        issuer_id: payload
            .and_then(|p| issuer_id_of(&p.iss))
            .unwrap_or_default()
            .to_string(),
        key_id: verification.key_id,
        holder: verification.holder.as_ref().map(holder_message),
        claims: verification.claims.iter().map(claim_message).collect(),
        valid_from_time: payload
            .and_then(|p| chrono::DateTime::from_timestamp(p.nbf, 0))
            .map(timestamp),
        valid_until_time: payload
            .and_then(|p| p.exp)
            .and_then(|exp| chrono::DateTime::from_timestamp(exp, 0))
            .map(timestamp),
        trust_list_version: verification.trust_list_version,
        check_time: Some(timestamp(verification.checked_at)),
        status_checked: true,
    }
}

fn uuid(field: &str, text: &str) -> Result<Uuid, ApiError> {
    parse_uuid(text).map_err(|problem| ApiError::invalid_field(field, problem))
}

fn parse_uuid(text: &str) -> Result<Uuid, &'static str> {
    Uuid::parse_str(text).map_err(|_| "must be a UUID")
}

/// A validity length: at least a second (tokens count whole seconds).
fn duration(validity: &prost_types::Duration) -> Result<chrono::Duration, &'static str> {
    if validity.seconds < 1 || !(0..1_000_000_000).contains(&validity.nanos) {
        return Err("must be at least one second");
    }
    chrono::Duration::try_seconds(validity.seconds)
        .and_then(|seconds| {
            seconds.checked_add(&chrono::Duration::nanoseconds(i64::from(validity.nanos)))
        })
        .ok_or("is too long")
}
