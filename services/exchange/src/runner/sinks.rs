//! A subscription's sinks: its durable RabbitMQ queue and/or its enclave
//! table, fed at the same time; the subscription accepted a batch when
//! every one of its sinks did.

use chrono::Utc;
use prost::Message;
use zhongtai_events::QueueMessage;

use super::Runners;
use crate::convert::{PositionStyle, change_record};
use crate::domain::change::Change;
use crate::domain::flow::{Accepted, FlowError};
use crate::domain::subscription::Subscription;

/// Header naming the change's line.
pub const LINE_HEADER: &str = "x-zhongtai-line";
/// Header naming the subscription the change was projected for.
pub const SUBSCRIPTION_HEADER: &str = "x-zhongtai-subscription";
/// Header with the change's source position as people read it.
pub const POSITION_HEADER: &str = "x-zhongtai-position";

impl Runners {
    /// Hands `changes` (projected for `subscription`) to its sinks.
    pub(crate) async fn accept(
        &self,
        subscription: &Subscription,
        changes: &[Change],
        style: PositionStyle,
    ) -> Result<Vec<Accepted>, FlowError> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        let to_queue = async {
            match &subscription.queue {
                Some(queue) => self
                    .publish(queue, subscription, changes, style)
                    .await
                    .map(Some),
                None => Ok(None),
            }
        };
        let to_enclave = async {
            match &subscription.enclave {
                Some(_) => self
                    .parts
                    .enclave_sink
                    .accept(subscription, changes)
                    .await
                    .map(Some),
                None => Ok(None),
            }
        };
        let (queued, applied) = tokio::join!(to_queue, to_enclave);
        let (queued, applied) = (queued?, applied?);
        Ok(merge(changes.len(), queued, applied))
    }

    async fn publish(
        &self,
        queue: &str,
        subscription: &Subscription,
        changes: &[Change],
        style: PositionStyle,
    ) -> Result<Vec<Accepted>, FlowError> {
        let Some(publisher) = &self.parts.queues else {
            return Err(FlowError::Permanent("queue delivery needs RabbitMQ".into()));
        };
        let messages = queue_messages(subscription, changes, style);
        publisher
            .publish_batch(queue, &messages)
            .await
            .map_err(|error| match error {
                zhongtai_events::EventError::Config(reason) => FlowError::Permanent(reason),
                other => FlowError::Transient(format!("queue {queue}: {other}")),
            })?;
        let published_at = Utc::now();
        Ok(vec![
            Accepted {
                published_at,
                delivered_at: None,
                applied_at: None,
                had_effect: true,
            };
            changes.len()
        ])
    }
}

/// The queue messages of `changes`: `ChangeRecord` bodies (publish time
/// set), the change id as message id.
pub(crate) fn queue_messages(
    subscription: &Subscription,
    changes: &[Change],
    style: PositionStyle,
) -> Vec<QueueMessage> {
    let now = Utc::now();
    let line = subscription.line_id.to_string();
    let subscription_id = subscription.id.to_string();
    changes
        .iter()
        .map(|change| {
            let mut published = change.clone();
            published.hops.publish = Some(now);
            QueueMessage {
                body: change_record(&published, style).encode_to_vec(),
                message_id: change.change_id(),
                headers: vec![
                    (LINE_HEADER.into(), line.clone()),
                    (SUBSCRIPTION_HEADER.into(), subscription_id.clone()),
                    (POSITION_HEADER.into(), style.text(change.position)),
                ],
            }
        })
        .collect()
}

/// One [`Accepted`] per change from what each sink reported: durable when
/// the later of the two was; delivered, applied and with effect as the
/// enclave says (a queue cannot tell whether its consumer had seen the
/// change before, so a redelivery there must not count as a second effect).
fn merge(
    count: usize,
    queued: Option<Vec<Accepted>>,
    applied: Option<Vec<Accepted>>,
) -> Vec<Accepted> {
    match (queued, applied) {
        (Some(queued), Some(applied)) => queued
            .into_iter()
            .zip(applied)
            .map(|(queued, applied)| Accepted {
                published_at: queued.published_at.max(applied.published_at),
                delivered_at: applied.delivered_at,
                applied_at: applied.applied_at,
                had_effect: applied.had_effect,
            })
            .collect(),
        (Some(only), None) | (None, Some(only)) => only,
        // A subscription with nowhere to go accepts by definition.
        (None, None) => vec![
            Accepted {
                published_at: Utc::now(),
                delivered_at: None,
                applied_at: None,
                had_effect: false,
            };
            count
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_an_enclave_the_effect_is_the_enclaves() {
        let early = Utc::now();
        let late = early + chrono::Duration::milliseconds(5);
        let queued = Accepted {
            published_at: early,
            delivered_at: None,
            applied_at: None,
            had_effect: true,
        };
        let applied = Accepted {
            published_at: late,
            delivered_at: Some(late),
            applied_at: Some(late),
            had_effect: false,
        };
        let merged = merge(1, Some(vec![queued]), Some(vec![applied]));
        assert_eq!(merged[0].published_at, late);
        assert_eq!(merged[0].applied_at, Some(late));
        assert!(
            !merged[0].had_effect,
            "the position guard skipped it: redelivered, no second effect"
        );
        let applied_anew = Accepted {
            had_effect: true,
            ..applied
        };
        assert!(merge(1, Some(vec![queued]), Some(vec![applied_anew]))[0].had_effect);
        assert_eq!(merge(3, None, None).len(), 3);
    }
}
