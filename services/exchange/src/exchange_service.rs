//! The `zhongtai.exchange.v1.ExchangeService`: one gRPC service over two
//! parts of the center. Lines, subscriptions and pushes are answered by
//! [`LineHandlers`]; reconciliation and record traces by
//! [`JournalHandlers`]. Delegation only.

use tonic::{Request, Response, Status, Streaming};
use zhongtai_contracts::exchange::v1 as pb;
use zhongtai_contracts::exchange::v1::exchange_service_server::ExchangeService;

use crate::journal::api::JournalHandlers;
use crate::lines::api::LineHandlers;

/// The `ExchangeService` implementation.
pub struct ExchangeApi {
    lines: LineHandlers,
    journal: JournalHandlers,
}

impl ExchangeApi {
    pub fn new(lines: LineHandlers, journal: JournalHandlers) -> Self {
        Self { lines, journal }
    }
}

#[tonic::async_trait]
impl ExchangeService for ExchangeApi {
    async fn create_line(
        &self,
        request: Request<pb::CreateLineRequest>,
    ) -> Result<Response<pb::CreateLineResponse>, Status> {
        self.lines.create_line(request).await
    }

    async fn get_line(
        &self,
        request: Request<pb::GetLineRequest>,
    ) -> Result<Response<pb::GetLineResponse>, Status> {
        self.lines.get_line(request).await
    }

    async fn list_lines(
        &self,
        request: Request<pb::ListLinesRequest>,
    ) -> Result<Response<pb::ListLinesResponse>, Status> {
        self.lines.list_lines(request).await
    }

    async fn update_line(
        &self,
        request: Request<pb::UpdateLineRequest>,
    ) -> Result<Response<pb::UpdateLineResponse>, Status> {
        self.lines.update_line(request).await
    }

    async fn pause_line(
        &self,
        request: Request<pb::PauseLineRequest>,
    ) -> Result<Response<pb::PauseLineResponse>, Status> {
        self.lines.pause_line(request).await
    }

    async fn resume_line(
        &self,
        request: Request<pb::ResumeLineRequest>,
    ) -> Result<Response<pb::ResumeLineResponse>, Status> {
        self.lines.resume_line(request).await
    }

    async fn delete_line(
        &self,
        request: Request<pb::DeleteLineRequest>,
    ) -> Result<Response<pb::DeleteLineResponse>, Status> {
        self.lines.delete_line(request).await
    }

    async fn get_line_status(
        &self,
        request: Request<pb::GetLineStatusRequest>,
    ) -> Result<Response<pb::GetLineStatusResponse>, Status> {
        self.lines.get_line_status(request).await
    }

    async fn get_push_cursor(
        &self,
        request: Request<pb::GetPushCursorRequest>,
    ) -> Result<Response<pb::GetPushCursorResponse>, Status> {
        self.lines.get_push_cursor(request).await
    }

    async fn create_subscription(
        &self,
        request: Request<pb::CreateSubscriptionRequest>,
    ) -> Result<Response<pb::CreateSubscriptionResponse>, Status> {
        self.lines.create_subscription(request).await
    }

    async fn get_subscription(
        &self,
        request: Request<pb::GetSubscriptionRequest>,
    ) -> Result<Response<pb::GetSubscriptionResponse>, Status> {
        self.lines.get_subscription(request).await
    }

    async fn list_subscriptions(
        &self,
        request: Request<pb::ListSubscriptionsRequest>,
    ) -> Result<Response<pb::ListSubscriptionsResponse>, Status> {
        self.lines.list_subscriptions(request).await
    }

    async fn pause_subscription(
        &self,
        request: Request<pb::PauseSubscriptionRequest>,
    ) -> Result<Response<pb::PauseSubscriptionResponse>, Status> {
        self.lines.pause_subscription(request).await
    }

    async fn resume_subscription(
        &self,
        request: Request<pb::ResumeSubscriptionRequest>,
    ) -> Result<Response<pb::ResumeSubscriptionResponse>, Status> {
        self.lines.resume_subscription(request).await
    }

    async fn delete_subscription(
        &self,
        request: Request<pb::DeleteSubscriptionRequest>,
    ) -> Result<Response<pb::DeleteSubscriptionResponse>, Status> {
        self.lines.delete_subscription(request).await
    }

    async fn get_reconciliation_report(
        &self,
        request: Request<pb::GetReconciliationReportRequest>,
    ) -> Result<Response<pb::GetReconciliationReportResponse>, Status> {
        self.journal.get_reconciliation_report(request).await
    }

    async fn list_reconciliation_reports(
        &self,
        request: Request<pb::ListReconciliationReportsRequest>,
    ) -> Result<Response<pb::ListReconciliationReportsResponse>, Status> {
        self.journal.list_reconciliation_reports(request).await
    }

    async fn trace_record(
        &self,
        request: Request<pb::TraceRecordRequest>,
    ) -> Result<Response<pb::TraceRecordResponse>, Status> {
        self.journal.trace_record(request).await
    }

    async fn push_changes(
        &self,
        request: Request<Streaming<pb::PushChangesRequest>>,
    ) -> Result<Response<pb::PushChangesResponse>, Status> {
        self.lines.push_changes(request).await
    }
}
