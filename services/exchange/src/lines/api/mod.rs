//! gRPC handlers of lines and subscriptions: translate contract messages to
//! domain values and back, check who may see what, and hand the rest to
//! the rules ([`super::domain`]) and the store. No SQL here.

mod lines;
mod push;
mod status;
mod subscriptions;

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio::sync::Notify;
use tonic::{Request, Response, Status};
use uuid::Uuid;
use zhongtai_contracts::exchange::v1 as pb;
use zhongtai_kit::auth::caller;
use zhongtai_kit::config::ExchangeConfig;
use zhongtai_kit::proto::{page_query, page_response};
use zhongtai_kit::{ApiError, Caller, Validator};

use super::convert::line_state;
use crate::domain::ports::{Delivery, EnclaveDirectory};
use crate::domain::{ExchangeError, Line, LineFilter, Subscription};
use crate::store::SeaLines;

pub use super::convert::line_message;

/// The line and subscription RPCs of `zhongtai.exchange.v1.ExchangeService`.
pub struct LineHandlers {
    store: Arc<SeaLines>,
    enclaves: Arc<dyn EnclaveDirectory>,
    delivery: Arc<dyn Delivery>,
    queue_delivery_available: bool,
    config: ExchangeConfig,
}

impl LineHandlers {
    /// `outbox` is woken after every commit that wrote events;
    /// `queue_delivery_available` is false where the center runs without a
    /// broker (queue subscriptions are then refused); `delivery` carries
    /// pushed changes.
    pub fn new(
        db: DatabaseConnection,
        outbox: Arc<Notify>,
        enclaves: Arc<dyn EnclaveDirectory>,
        delivery: Arc<dyn Delivery>,
        queue_delivery_available: bool,
        config: ExchangeConfig,
    ) -> Self {
        Self::with_store(
            Arc::new(SeaLines::with_outbox(db, outbox)),
            enclaves,
            delivery,
            queue_delivery_available,
            config,
        )
    }

    /// Over a store built beforehand, so runners, enclaves and these
    /// handlers share it (build it with [`SeaLines::with_outbox`]).
    pub fn with_store(
        store: Arc<SeaLines>,
        enclaves: Arc<dyn EnclaveDirectory>,
        delivery: Arc<dyn Delivery>,
        queue_delivery_available: bool,
        config: ExchangeConfig,
    ) -> Self {
        Self {
            store,
            enclaves,
            delivery,
            queue_delivery_available,
            config,
        }
    }

    /// The store behind the handlers: also the [`crate::domain::ports::RunnerStore`]
    /// and [`crate::domain::ports::LineProvisioner`] of the other parts.
    pub fn store(&self) -> Arc<SeaLines> {
        self.store.clone()
    }

    /// A line the caller may see: its owner's (within the caller's read
    /// scope), or one the caller's tenant subscribes to. Others are
    /// NOT_FOUND, so their existence is not revealed.
    async fn visible_line(&self, caller: &Caller, id: Uuid) -> Result<Line, ApiError> {
        let line = self
            .store
            .find_line(id)
            .await?
            .ok_or_else(|| ApiError::not_found("line", &id.to_string()))?;
        if caller.read_scope().permits(&line.owner)
            || self.store.subscribes(line.id, &caller.tenant).await?
        {
            Ok(line)
        } else {
            Err(ApiError::not_found("line", &id.to_string()))
        }
    }

    /// A line the caller's tenant owns; only the owner changes a line.
    async fn owned_line(&self, caller: &Caller, id: Uuid) -> Result<Line, ApiError> {
        let line = self.visible_line(caller, id).await?;
        if line.owner == caller.tenant {
            Ok(line)
        } else {
            Err(ExchangeError::denied(
                "NOT_LINE_OWNER",
                format!("only {} changes line {}", line.owner, line.name),
            )
            .into())
        }
    }

    /// A subscription the caller's tenant holds, or one to a line it owns.
    async fn visible_subscription(
        &self,
        caller: &Caller,
        id: Uuid,
    ) -> Result<(Subscription, Option<Line>), ApiError> {
        let missing = || ApiError::not_found("subscription", &id.to_string());
        let subscription = self
            .store
            .find_subscription(id)
            .await?
            .ok_or_else(missing)?;
        let line = self.store.find_line(subscription.line_id).await?;
        let owns_line = line
            .as_ref()
            .is_some_and(|line| caller.read_scope().permits(&line.owner));
        if caller.read_scope().permits(&subscription.subscriber) || owns_line {
            Ok((subscription, line))
        } else {
            Err(missing())
        }
    }

    /// A subscription the caller's tenant may change: its own, or one to
    /// a line it owns.
    async fn changeable_subscription(
        &self,
        caller: &Caller,
        id: Uuid,
    ) -> Result<Subscription, ApiError> {
        let (subscription, line) = self.visible_subscription(caller, id).await?;
        let owns_line = line.is_some_and(|line| line.owner == caller.tenant);
        if subscription.subscriber == caller.tenant || owns_line {
            Ok(subscription)
        } else {
            Err(ExchangeError::denied(
                "NOT_SUBSCRIBER",
                "only the subscriber or the line's owner changes a subscription",
            )
            .into())
        }
    }

    pub async fn list_lines(
        &self,
        request: Request<pb::ListLinesRequest>,
    ) -> Result<Response<pb::ListLinesResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let page = page_query(request.page.as_ref())?;
        let filter = line_filter(&request)?;
        let page = self
            .store
            .list_visible(&caller.read_scope(), &caller.tenant, &filter, &page)
            .await?;
        let mut lines = Vec::with_capacity(page.items.len());
        for mut line in page.items {
            line.snapshot = self.store.line_runtime(line.id).await?.snapshot;
            lines.push(line_message(&line));
        }
        Ok(Response::new(pb::ListLinesResponse {
            lines,
            page: Some(page_response(page.next_page_token)),
        }))
    }
}

/// An id field: required, a UUID.
fn required_id(v: &mut Validator, field: &str, value: &str) -> Option<Uuid> {
    if value.is_empty() {
        v.violation(field, "is required");
        None
    } else {
        v.parse(field, Uuid::parse_str(value))
    }
}

/// An optional id field: empty means none.
fn optional_id(v: &mut Validator, field: &str, value: &str) -> Option<Uuid> {
    if value.is_empty() {
        None
    } else {
        v.parse(field, Uuid::parse_str(value))
    }
}

/// Validates a lone id field.
fn id_of(field: &str, value: &str) -> Result<Uuid, ApiError> {
    let mut v = Validator::new();
    let id = required_id(&mut v, field, value);
    v.finish()?;
    id.ok_or_else(|| ApiError::invalid_field(field, "is required"))
}

/// An optional idempotency key: at most 128 characters; empty means none.
fn request_id(v: &mut Validator, value: &str) -> Option<String> {
    v.max_chars("request_id", value, 128);
    (!value.is_empty()).then(|| value.to_string())
}

fn line_filter(request: &pb::ListLinesRequest) -> Result<LineFilter, ApiError> {
    let mut v = Validator::new();
    v.max_items("states", request.states.len(), 16);
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
    let resource_id = optional_id(&mut v, "resource_id", &request.resource_id);
    v.finish()?;
    Ok(LineFilter {
        states,
        resource_id,
    })
}
