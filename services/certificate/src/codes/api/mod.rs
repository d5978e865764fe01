//! CodeService over gRPC: contract messages to domain values and back.
//! No rules and no storage here.

pub mod convert;

use std::sync::Arc;

use tonic::{Request, Response, Status};
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::certificate::v1::code_service_server::CodeService;
use zhongtai_contracts::common::v1 as common;
use zhongtai_kit::auth::caller;
use zhongtai_kit::proto::{instant, page_query, page_response, timestamp};

use self::convert::{
    code_message, dependant_message, holder_status_message, kind_message, outcome_message,
    qr_format, relationship, scan_message, venue_message,
};
use super::Codes;
use super::domain::dependants::LinkDraft;
use super::domain::model::CodeOutcome;
use super::domain::offline::OfflineDraft;
use super::domain::presentation::{claims_of_code, qr_request};
use super::domain::scans::ScanDraft;
use super::domain::venues::VenueDraft;
use super::domain::verification::Verifier;
use crate::shared::CertificateError;
use crate::shared::convert::{
    claim_message, holder_from_message, holder_message, person_from_message,
};

/// Image side when a request gives none: a screen, or print quality.
const SCREEN_QR_PIXELS: u32 = 512;
const PRINT_QR_PIXELS: u32 = 1024;

/// The `zhongtai.certificate.v1.CodeService`.
#[derive(Clone)]
pub struct CodeApi {
    codes: Arc<Codes>,
}

impl CodeApi {
    pub(super) fn new(codes: Arc<Codes>) -> Self {
        Self { codes }
    }
}

type Answer<T> = Result<Response<T>, Status>;

/// Both ends of a requested window, each optional until checked.
type Window = (
    Option<chrono::DateTime<chrono::Utc>>,
    Option<chrono::DateTime<chrono::Utc>>,
);

fn period(period: Option<&common::Period>) -> Result<Window, Status> {
    let start = period
        .and_then(|p| p.start_time.as_ref())
        .map(|t| instant("period.start_time", t))
        .transpose()?;
    let end = period
        .and_then(|p| p.end_time.as_ref())
        .map(|t| instant("period.end_time", t))
        .transpose()?;
    Ok((start, end))
}

#[tonic::async_trait]
impl CodeService for CodeApi {
    async fn show_code(
        &self,
        request: Request<pb::ShowCodeRequest>,
    ) -> Answer<pb::ShowCodeResponse> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let format = qr_format("qr_image_format", request.qr_image_format)?;
        let image = qr_request(format, request.qr_image_size, None, SCREEN_QR_PIXELS)?;
        let code = self.codes.showing.show(&caller, image).await?;
        Ok(Response::new(pb::ShowCodeResponse {
            code: Some(code_message(&code)),
        }))
    }

    async fn show_family_codes(
        &self,
        request: Request<pb::ShowFamilyCodesRequest>,
    ) -> Answer<pb::ShowFamilyCodesResponse> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let format = qr_format("qr_image_format", request.qr_image_format)?;
        let image = qr_request(format, request.qr_image_size, None, SCREEN_QR_PIXELS)?;
        let codes = self
            .codes
            .guardianship
            .family_codes(&caller, &request.dependant_ids, image)
            .await?;
        Ok(Response::new(pb::ShowFamilyCodesResponse {
            codes: codes.iter().map(code_message).collect(),
        }))
    }

    async fn link_dependant(
        &self,
        request: Request<pb::LinkDependantRequest>,
    ) -> Answer<pb::LinkDependantResponse> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let dependant = person_from_message("dependant", request.dependant.as_ref())?;
        let draft = LinkDraft {
            request_id: request.request_id,
            dependant,
            relationship: relationship(request.relationship),
            evidence_certificate_id: request.evidence_certificate_id,
        };
        let link = self.codes.guardianship.link(&caller, &draft).await?;
        Ok(Response::new(pb::LinkDependantResponse {
            dependant: Some(dependant_message(&link)),
        }))
    }

    async fn unlink_dependant(
        &self,
        request: Request<pb::UnlinkDependantRequest>,
    ) -> Answer<pb::UnlinkDependantResponse> {
        let caller = caller(&request)?;
        let link = self
            .codes
            .guardianship
            .unlink(&caller, &request.get_ref().id)
            .await?;
        Ok(Response::new(pb::UnlinkDependantResponse {
            dependant: Some(dependant_message(&link)),
        }))
    }

    async fn list_dependants(
        &self,
        request: Request<pb::ListDependantsRequest>,
    ) -> Answer<pb::ListDependantsResponse> {
        let caller = caller(&request)?;
        let page = page_query(request.get_ref().page.as_ref())?;
        let links = self.codes.guardianship.list(&caller, &page).await?;
        Ok(Response::new(pb::ListDependantsResponse {
            dependants: links.items.iter().map(dependant_message).collect(),
            page: Some(page_response(links.next_page_token)),
        }))
    }

    async fn issue_offline_code(
        &self,
        request: Request<pb::IssueOfflineCodeRequest>,
    ) -> Answer<pb::IssueOfflineCodeResponse> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let holder = person_from_message("holder", request.holder.as_ref())?;
        let format = qr_format("qr_image_format", request.qr_image_format)?;
        let image = qr_request(
            format,
            request.qr_image_size,
            Some(zhongtai_credential::QrImageFormat::Png),
            PRINT_QR_PIXELS,
        )?;
        let draft = OfflineDraft {
            request_id: request.request_id,
            holder,
            validity: request.validity.map(|d| {
                chrono::Duration::seconds(d.seconds) + chrono::Duration::nanoseconds(d.nanos.into())
            }),
            image,
        };
        let code = self.codes.offline.issue(&caller, &draft).await?;
        Ok(Response::new(pb::IssueOfflineCodeResponse {
            code: Some(code_message(&code)),
        }))
    }

    async fn revoke_offline_code(
        &self,
        request: Request<pb::RevokeOfflineCodeRequest>,
    ) -> Answer<pb::RevokeOfflineCodeResponse> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let at = self
            .codes
            .offline
            .revoke(&caller, &request.id, &request.reason)
            .await?;
        Ok(Response::new(pb::RevokeOfflineCodeResponse {
            revoke_time: Some(timestamp(at)),
        }))
    }

    /// The hot path: no caller lookup (the access layer has admitted the
    /// call), no database.
    async fn verify_code(
        &self,
        request: Request<pb::VerifyCodeRequest>,
    ) -> Answer<pb::VerifyCodeResponse> {
        let payload = &request.get_ref().payload;
        Verifier::check_size(payload)?;
        let now = crate::shared::now();
        let verification = self
            .codes
            .verifier
            .verify(payload, now)
            .await?
            .map_err(|reason| CertificateError::invalid("payload", reason))?;
        let payload = verification.payload.as_ref();
        let valid = verification.outcome == CodeOutcome::Valid;
        let result = pb::VerificationResult {
            outcome: outcome_message(verification.outcome) as i32,
            detail: verification.detail,
            certificate_id: payload.map(|p| p.jti.clone()).unwrap_or_default(),
            key_id: verification.key_id,
            holder: payload.map(|p| holder_message(&p.holder)),
            claims: match payload {
                Some(p) if valid => claims_of_code(&p.claims)
                    .iter()
                    .map(claim_message)
                    .collect(),
                _ => Vec::new(),
            },
            valid_from_time: payload.map(|p| prost_types::Timestamp {
                seconds: p.iat,
                nanos: 0,
            }),
            valid_until_time: payload.map(|p| prost_types::Timestamp {
                seconds: p.exp,
                nanos: 0,
            }),
            trust_list_version: verification.trust_list_version,
            check_time: Some(timestamp(now)),
            status_checked: verification.revocation_checked,
            ..pb::VerificationResult::default()
        };
        Ok(Response::new(pb::VerifyCodeResponse {
            result: Some(result),
            holder_status: payload.map_or(pb::HolderStatus::Unspecified, |p| {
                holder_status_message(p.st)
            }) as i32,
            code_kind: payload.map_or(pb::CodeKind::Unspecified, |p| kind_message(p.kind)) as i32,
        }))
    }

    async fn register_venue(
        &self,
        request: Request<pb::RegisterVenueRequest>,
    ) -> Answer<pb::RegisterVenueResponse> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let draft = VenueDraft {
            request_id: request.request_id,
            name: request.name,
            address: request.address,
            division_code: request.division_code,
        };
        let venue = self.codes.venues.register(&caller, &draft).await?;
        Ok(Response::new(pb::RegisterVenueResponse {
            venue: Some(venue_message(&venue)),
        }))
    }

    async fn get_venue(
        &self,
        request: Request<pb::GetVenueRequest>,
    ) -> Answer<pb::GetVenueResponse> {
        let caller = caller(&request)?;
        let venue = self
            .codes
            .venues
            .get(&caller, &request.get_ref().id)
            .await?;
        Ok(Response::new(pb::GetVenueResponse {
            venue: Some(venue_message(&venue)),
        }))
    }

    async fn list_venues(
        &self,
        request: Request<pb::ListVenuesRequest>,
    ) -> Answer<pb::ListVenuesResponse> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let page = page_query(request.page.as_ref())?;
        let venues = self
            .codes
            .venues
            .list(&caller, &request.division_code, &page)
            .await?;
        Ok(Response::new(pb::ListVenuesResponse {
            venues: venues.items.iter().map(venue_message).collect(),
            page: Some(page_response(venues.next_page_token)),
        }))
    }

    async fn scan_code(
        &self,
        request: Request<pb::ScanCodeRequest>,
    ) -> Answer<pb::ScanCodeResponse> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let draft = ScanDraft {
            scan_time: request
                .scan_time
                .as_ref()
                .map(|t| instant("scan_time", t))
                .transpose()?,
            scan_id: request.scan_id,
            venue_id: request.venue_id,
            payload: request.payload,
            device_id: request.device_id,
        };
        let scan = self.codes.scanning.scan(&caller, &draft).await?;
        Ok(Response::new(pb::ScanCodeResponse {
            scan: Some(scan_message(&scan)),
        }))
    }

    async fn list_venue_scans(
        &self,
        request: Request<pb::ListVenueScansRequest>,
    ) -> Answer<pb::ListVenueScansResponse> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let page = page_query(request.page.as_ref())?;
        let (start, end) = period(request.period.as_ref())?;
        let scans = self
            .codes
            .scanning
            .at_venue(&caller, &request.venue_id, start, end, &page)
            .await?;
        Ok(Response::new(pb::ListVenueScansResponse {
            scans: scans.items.iter().map(scan_message).collect(),
            page: Some(page_response(scans.next_page_token)),
        }))
    }

    async fn list_holder_scans(
        &self,
        request: Request<pb::ListHolderScansRequest>,
    ) -> Answer<pb::ListHolderScansResponse> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let page = page_query(request.page.as_ref())?;
        let (start, end) = period(request.period.as_ref())?;
        let holder = match request.holder {
            Some(holder) if holder.holder.is_some() => {
                Some(holder_from_message("holder", Some(&named(holder)))?)
            }
            _ => None,
        };
        let scans = self
            .codes
            .scanning
            .of_holder(&caller, holder.as_ref(), start, end, &page)
            .await?;
        Ok(Response::new(pb::ListHolderScansResponse {
            scans: scans.items.iter().map(scan_message).collect(),
            page: Some(page_response(scans.next_page_token)),
        }))
    }
}

/// Scans are found by the holder's identifier alone; a lookup need not
/// repeat the name, so a missing one is filled in before the shape check.
fn named(mut holder: common::Holder) -> common::Holder {
    use common::holder::Holder as Which;
    match &mut holder.holder {
        Some(Which::Person(person)) if person.name.trim().is_empty() => person.name = "-".into(),
        Some(Which::Organization(org)) if org.name.trim().is_empty() => org.name = "-".into(),
        _ => {}
    }
    holder
}
