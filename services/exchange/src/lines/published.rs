//! The events lines and subscriptions publish, built from domain values.
//! Line events belong to the line's owner; subscription events to the
//! subscriber.

use zhongtai_contracts::events::v1 as events;
use zhongtai_events::Event;
use zhongtai_kit::Actor;
use zhongtai_kit::proto::actor_message;

use super::convert::{
    line_message, line_state_message, snapshot_message, subscription_message,
    subscription_state_message,
};
use crate::domain::{Line, LineState, SnapshotProgress, Subscription, SubscriptionState};

pub const LINE_CREATED: &str = "exchange.line.created";
pub const LINE_UPDATED: &str = "exchange.line.updated";
pub const LINE_STATE_CHANGED: &str = "exchange.line.state_changed";
pub const LINE_SNAPSHOT_COMPLETED: &str = "exchange.line.snapshot_completed";
pub const SUBSCRIPTION_CREATED: &str = "exchange.subscription.created";
pub const SUBSCRIPTION_STATE_CHANGED: &str = "exchange.subscription.state_changed";

pub fn line_created(line: &Line, actor: &Actor) -> Event {
    Event::new(
        LINE_CREATED,
        line.owner.key(),
        line.id.to_string(),
        &events::LineCreated {
            line: Some(line_message(line)),
            actor: Some(actor_message(actor)),
        },
    )
}

pub fn line_updated(line: &Line, changed_fields: &[String], actor: &Actor) -> Event {
    Event::new(
        LINE_UPDATED,
        line.owner.key(),
        line.id.to_string(),
        &events::LineUpdated {
            line: Some(line_message(line)),
            changed_fields: Some(prost_types::FieldMask {
                paths: changed_fields.to_vec(),
            }),
            actor: Some(actor_message(actor)),
        },
    )
}

/// `actor` is `None` when the center moved the line by itself.
pub fn line_state_changed(line: &Line, previous: LineState, actor: Option<&Actor>) -> Event {
    Event::new(
        LINE_STATE_CHANGED,
        line.owner.key(),
        line.id.to_string(),
        &events::LineStateChanged {
            line: Some(line_message(line)),
            previous_state: line_state_message(previous) as i32,
            actor: actor.map(actor_message),
        },
    )
}

pub fn line_snapshot_completed(line: &Line, snapshot: &SnapshotProgress) -> Event {
    Event::new(
        LINE_SNAPSHOT_COMPLETED,
        line.owner.key(),
        line.id.to_string(),
        &events::LineSnapshotCompleted {
            line_id: line.id.to_string(),
            snapshot: Some(snapshot_message(snapshot)),
        },
    )
}

pub fn subscription_created(subscription: &Subscription, actor: &Actor) -> Event {
    Event::new(
        SUBSCRIPTION_CREATED,
        subscription.subscriber.key(),
        subscription.id.to_string(),
        &events::SubscriptionCreated {
            subscription: Some(subscription_message(subscription)),
            actor: Some(actor_message(actor)),
        },
    )
}

pub fn subscription_state_changed(
    subscription: &Subscription,
    previous: SubscriptionState,
    actor: Option<&Actor>,
) -> Event {
    Event::new(
        SUBSCRIPTION_STATE_CHANGED,
        subscription.subscriber.key(),
        subscription.id.to_string(),
        &events::SubscriptionStateChanged {
            subscription: Some(subscription_message(subscription)),
            previous_state: subscription_state_message(previous) as i32,
            actor: actor.map(actor_message),
        },
    )
}
