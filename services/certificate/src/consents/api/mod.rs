//! The `zhongtai.certificate.v1.ConsentService`: requests to domain values
//! and back. No rules and no storage here.

pub mod messages;
mod requests;

use std::sync::Arc;

use tonic::{Request, Response, Status};
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::certificate::v1::consent_service_server::ConsentService;
use zhongtai_kit::auth::caller;
use zhongtai_kit::proto::{page_query, page_response};

use self::messages::{consent_message, consented_certificate_message, usage_message};
use super::domain::ConsentWorkflow;

/// The `zhongtai.certificate.v1.ConsentService` implementation.
#[derive(Clone)]
pub struct ConsentApi {
    workflow: Arc<ConsentWorkflow>,
}

impl ConsentApi {
    pub(crate) fn new(workflow: Arc<ConsentWorkflow>) -> Self {
        Self { workflow }
    }
}

#[tonic::async_trait]
impl ConsentService for ConsentApi {
    async fn request_consent(
        &self,
        request: Request<pb::RequestConsentRequest>,
    ) -> Result<Response<pb::RequestConsentResponse>, Status> {
        let caller = caller(&request)?;
        let asked = requests::consent_request(request.get_ref())?;
        let consent = self.workflow.request(&caller, asked).await?;
        Ok(Response::new(pb::RequestConsentResponse {
            consent: Some(consent_message(&consent)),
        }))
    }

    async fn get_consent(
        &self,
        request: Request<pb::GetConsentRequest>,
    ) -> Result<Response<pb::GetConsentResponse>, Status> {
        let caller = caller(&request)?;
        let id = requests::consent_id("id", &request.get_ref().id)?;
        let consent = self.workflow.get(&caller, id).await?;
        Ok(Response::new(pb::GetConsentResponse {
            consent: Some(consent_message(&consent)),
        }))
    }

    async fn list_consents(
        &self,
        request: Request<pb::ListConsentsRequest>,
    ) -> Result<Response<pb::ListConsentsResponse>, Status> {
        let caller = caller(&request)?;
        let page = page_query(request.get_ref().page.as_ref())?;
        let filter = requests::filter(request.get_ref())?;
        let page = self.workflow.list(&caller, &filter, &page).await?;
        Ok(Response::new(pb::ListConsentsResponse {
            consents: page.items.iter().map(consent_message).collect(),
            page: Some(page_response(page.next_page_token)),
        }))
    }

    async fn unlock_consent(
        &self,
        request: Request<pb::UnlockConsentRequest>,
    ) -> Result<Response<pb::UnlockConsentResponse>, Status> {
        let caller = caller(&request)?;
        let r = request.get_ref();
        let (id, party) = requests::party_action(&r.id, r.party, None)?;
        let consent = self.workflow.unlock(&caller, id, party).await?;
        Ok(Response::new(pb::UnlockConsentResponse {
            consent: Some(consent_message(&consent)),
        }))
    }

    async fn decline_consent(
        &self,
        request: Request<pb::DeclineConsentRequest>,
    ) -> Result<Response<pb::DeclineConsentResponse>, Status> {
        let caller = caller(&request)?;
        let r = request.get_ref();
        let (id, party) = requests::party_action(&r.id, r.party, Some(&r.reason))?;
        let consent = self.workflow.decline(&caller, id, party, &r.reason).await?;
        Ok(Response::new(pb::DeclineConsentResponse {
            consent: Some(consent_message(&consent)),
        }))
    }

    async fn revoke_consent(
        &self,
        request: Request<pb::RevokeConsentRequest>,
    ) -> Result<Response<pb::RevokeConsentResponse>, Status> {
        let caller = caller(&request)?;
        let r = request.get_ref();
        let (id, party) = requests::party_action(&r.id, r.party, Some(&r.reason))?;
        let consent = self.workflow.revoke(&caller, id, party, &r.reason).await?;
        Ok(Response::new(pb::RevokeConsentResponse {
            consent: Some(consent_message(&consent)),
        }))
    }

    async fn read_consented_data(
        &self,
        request: Request<pb::ReadConsentedDataRequest>,
    ) -> Result<Response<pb::ReadConsentedDataResponse>, Status> {
        let caller = caller(&request)?;
        let id = requests::read(request.get_ref())?;
        let disclosure = self
            .workflow
            .read(&caller, id, &request.get_ref().request_id)
            .await?;
        Ok(Response::new(pb::ReadConsentedDataResponse {
            certificates: disclosure
                .certificates
                .iter()
                .map(consented_certificate_message)
                .collect(),
            usage: Some(usage_message(&disclosure.usage)),
            reads_remaining: disclosure.reads_remaining,
        }))
    }

    async fn list_consent_usage(
        &self,
        request: Request<pb::ListConsentUsageRequest>,
    ) -> Result<Response<pb::ListConsentUsageResponse>, Status> {
        let caller = caller(&request)?;
        let id = requests::consent_id("consent_id", &request.get_ref().consent_id)?;
        let page = page_query(request.get_ref().page.as_ref())?;
        let page = self.workflow.usage(&caller, id, &page).await?;
        Ok(Response::new(pb::ListConsentUsageResponse {
            usages: page.items.iter().map(usage_message).collect(),
            page: Some(page_response(page.next_page_token)),
        }))
    }
}
