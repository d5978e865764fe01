//! gRPC API of the exchange center: translates contract messages to domain
//! values and back. No rules and no storage here.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use uuid::Uuid;
use zhongtai_contracts::exchange::v1 as pb;
use zhongtai_contracts::exchange::v1::exchange_service_server::ExchangeService;
use zhongtai_kit::auth::caller;
use zhongtai_kit::proto::{page_query, page_response, tenant_message, timestamp};
use zhongtai_kit::{ApiError, Validator};

use crate::domain::{Line, LineFilter, LineRepository, LineState};

/// The `zhongtai.exchange.v1.ExchangeService` implementation.
pub struct ExchangeApi {
    lines: Arc<dyn LineRepository>,
}

impl ExchangeApi {
    pub fn new(lines: Arc<dyn LineRepository>) -> Self {
        Self { lines }
    }
}

#[tonic::async_trait]
impl ExchangeService for ExchangeApi {
    async fn list_lines(
        &self,
        request: Request<pb::ListLinesRequest>,
    ) -> Result<Response<pb::ListLinesResponse>, Status> {
        let scope = caller(&request)?.read_scope();
        let request = request.into_inner();
        let page = page_query(request.page.as_ref())?;
        let filter = line_filter(&request)?;
        let page = self.lines.list(&scope, &filter, &page).await?;
        Ok(Response::new(pb::ListLinesResponse {
            lines: page.items.iter().map(line_message).collect(),
            page: Some(page_response(page.next_page_token)),
        }))
    }
}

fn line_filter(request: &pb::ListLinesRequest) -> Result<LineFilter, ApiError> {
    let mut v = Validator::new();
    let states = request
        .states
        .iter()
        .enumerate()
        .filter_map(|(i, &value)| {
            let state = line_state(value);
            if state.is_none() {
                v.violation(
                    format!("states[{i}]"),
                    format!("{value} is not a line state"),
                );
            }
            state
        })
        .collect();
    let resource_id = if request.resource_id.is_empty() {
        None
    } else {
        v.parse("resource_id", Uuid::parse_str(&request.resource_id))
    };
    v.finish()?;
    Ok(LineFilter {
        states,
        resource_id,
    })
}

/// The domain state of a contract state; `None` for UNSPECIFIED and values
/// the contract does not define.
fn line_state(value: i32) -> Option<LineState> {
    match pb::LineState::try_from(value).ok()? {
        pb::LineState::Unspecified => None,
        pb::LineState::Provisioning => Some(LineState::Provisioning),
        pb::LineState::Snapshotting => Some(LineState::Snapshotting),
        pb::LineState::Streaming => Some(LineState::Streaming),
        pb::LineState::Paused => Some(LineState::Paused),
        pb::LineState::Failed => Some(LineState::Failed),
        pb::LineState::Degraded => Some(LineState::Degraded),
        pb::LineState::Deleted => Some(LineState::Deleted),
    }
}

/// The contract form of a line (the parts the center stores so far).
pub fn line_message(line: &Line) -> pb::Line {
    pb::Line {
        id: line.id.to_string(),
        owner: Some(tenant_message(&line.owner)),
        name: line.name.clone(),
        description: line.description.clone(),
        state: match line.state {
            LineState::Provisioning => pb::LineState::Provisioning,
            LineState::Snapshotting => pb::LineState::Snapshotting,
            LineState::Streaming => pb::LineState::Streaming,
            LineState::Paused => pb::LineState::Paused,
            LineState::Failed => pb::LineState::Failed,
            LineState::Degraded => pb::LineState::Degraded,
            LineState::Deleted => pb::LineState::Deleted,
        } as i32,
        resource_id: line
            .resource_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        version: line.version,
        create_time: Some(timestamp(line.created_at)),
        update_time: Some(timestamp(line.updated_at)),
        ..pb::Line::default()
    }
}
