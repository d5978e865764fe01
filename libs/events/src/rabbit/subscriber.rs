//! A subscription's consumer on RabbitMQ: declares its topology, consumes
//! with bounded prefetch, runs each delivery through the inbox-deduplicating
//! [`Consumer`], and acknowledges only after the outcome is durable — the
//! handler's commit, or a confirmed republish to the retry or dead-letter
//! queue. A broken channel or connection is reopened with backoff; whatever
//! was unacknowledged is redelivered by the broker and deduplicated.

use std::sync::Arc;

use futures::StreamExt;
use lapin::Channel;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use zhongtai_contracts::events::v1::EventEnvelope;

use super::link::{Link, declare_exchange};
use super::message::{
    ATTEMPT_HEADER, ERROR_HEADER, ORIGINAL_ROUTING_KEY_HEADER, attempt_of, forwarded_properties,
    original_routing_key, publish_confirmed,
};
use super::trace;
use crate::backoff::{Backoff, sleep_unless_cancelled};
use crate::bus::{ConsumerHandle, Subscription};
use crate::consumer::{Consumer, Outcome};
use crate::envelope;
use crate::error::{EventError, HandlerError};

/// Declares the subscription's queues and starts its consumer task. The
/// first declaration happens before this returns, so configuration errors
/// (and an unreachable broker) are reported to the caller; later failures
/// are retried in the background.
pub(crate) async fn start(
    link: Arc<Link>,
    subscription: Subscription,
    consumer: Consumer,
) -> Result<ConsumerHandle, EventError> {
    subscription.validate()?;
    let worker = Worker {
        consumer_tag: format!("{}#{}", subscription.name, uuid::Uuid::new_v4().simple()),
        link,
        subscription,
        consumer,
    };
    let first = worker.open().await?;
    let cancel = worker.link.closed().child_token();
    tracing::info!(subscription = %worker.subscription.name, "event consumer started");
    let task = tokio::spawn(worker.run(first, cancel.clone()));
    Ok(ConsumerHandle::new(cancel, task))
}

struct Worker {
    link: Arc<Link>,
    subscription: Subscription,
    consumer: Consumer,
    consumer_tag: String,
}

/// Why consuming stopped.
enum Ended {
    /// The handle asked to stop.
    Stopped,
    /// The channel or connection failed.
    Interrupted(EventError),
}

impl Worker {
    async fn run(self, first: (Channel, lapin::Consumer), cancel: CancellationToken) {
        let config = &self.link.config;
        let mut backoff = Backoff::new(
            config.reconnect_backoff_initial,
            config.reconnect_backoff_max,
        );
        let mut opened = Some(first);
        loop {
            let (channel, deliveries) = match opened.take() {
                Some(opened) => opened,
                None => match self.open().await {
                    Ok(opened) => opened,
                    Err(error) => {
                        let delay = backoff.next_delay();
                        tracing::warn!(
                            subscription = %self.subscription.name,
                            error = %error,
                            attempt = backoff.attempt(),
                            retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                            "event consumer cannot reopen"
                        );
                        if !sleep_unless_cancelled(delay, &cancel).await {
                            break;
                        }
                        continue;
                    }
                },
            };
            match self
                .consume(&channel, deliveries, &cancel, &mut backoff)
                .await
            {
                Ended::Stopped => {
                    self.shut(&channel).await;
                    break;
                }
                Ended::Interrupted(error) => {
                    // Closing hands unacknowledged deliveries back to the
                    // queue right away (if the channel still lives).
                    self.close_channel(&channel, "consumer restarting").await;
                    let delay = backoff.next_delay();
                    tracing::warn!(
                        subscription = %self.subscription.name,
                        error = %error,
                        attempt = backoff.attempt(),
                        retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        "event consumer interrupted, reopening"
                    );
                    if !sleep_unless_cancelled(delay, &cancel).await {
                        break;
                    }
                }
            }
        }
        tracing::info!(subscription = %self.subscription.name, "event consumer stopped");
    }

    /// A channel in confirm mode with the topology declared, the prefetch
    /// set and the consumer started.
    async fn open(&self) -> Result<(Channel, lapin::Consumer), EventError> {
        let session = self.link.session().await?;
        let channel = session.connection.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        declare_topology(&channel, &self.link.config.exchange, &self.subscription).await?;
        channel
            .basic_qos(self.subscription.prefetch, BasicQosOptions::default())
            .await?;
        let deliveries = channel
            .basic_consume(
                self.subscription.name.as_str().into(),
                self.consumer_tag.as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        Ok((channel, deliveries))
    }

    async fn consume(
        &self,
        channel: &Channel,
        mut deliveries: lapin::Consumer,
        cancel: &CancellationToken,
        backoff: &mut Backoff,
    ) -> Ended {
        loop {
            // Cancellation is only looked at between deliveries, so a stop
            // never abandons an event half way.
            let next = tokio::select! {
                biased;
                _ = cancel.cancelled() => return Ended::Stopped,
                next = deliveries.next() => next,
            };
            match next {
                Some(Ok(delivery)) => match self.handle(channel, delivery, cancel).await {
                    Ok(()) => backoff.reset(),
                    // Stopped while waiting for the database: the delivery
                    // is left unacknowledged and goes back to the queue.
                    Err(_) if cancel.is_cancelled() => return Ended::Stopped,
                    Err(error) => return Ended::Interrupted(error),
                },
                Some(Err(error)) => return Ended::Interrupted(error.into()),
                None => {
                    return Ended::Interrupted(EventError::Interrupted(
                        "the broker ended the delivery stream".into(),
                    ));
                }
            }
        }
    }

    /// Stops the broker consumer and closes the channel; prefetched but
    /// unhandled deliveries go back to the queue.
    async fn shut(&self, channel: &Channel) {
        if !channel.status().connected() {
            return;
        }
        // A broker that stops answering must not keep the caller of `stop`
        // waiting: the closing handshake gets `connect_timeout`, after which
        // the broker requeues on its own once it notices the connection is
        // gone.
        let cancelled = tokio::time::timeout(
            self.link.config.connect_timeout,
            channel.basic_cancel(
                self.consumer_tag.as_str().into(),
                BasicCancelOptions::default(),
            ),
        )
        .await;
        match cancelled {
            Ok(Ok(())) => self.close_channel(channel, "consumer stopped").await,
            Ok(Err(error)) => {
                tracing::debug!(error = %error, "cancelling the broker consumer failed");
                self.close_channel(channel, "consumer stopped").await;
            }
            Err(_) => tracing::warn!(
                subscription = %self.subscription.name,
                "broker did not answer the consumer cancel in time; leaving the channel"
            ),
        }
    }

    /// Closes the channel if it still lives, waiting at most
    /// `connect_timeout` for the broker's answer.
    async fn close_channel(&self, channel: &Channel, reason: &str) {
        if !channel.status().connected() {
            return;
        }
        match tokio::time::timeout(
            self.link.config.connect_timeout,
            channel.close(200, reason.into()),
        )
        .await
        {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::debug!(error = %error, "closing the consumer channel failed")
            }
            Err(_) => tracing::warn!(
                subscription = %self.subscription.name,
                "broker did not answer the channel close in time"
            ),
        }
    }

    /// Handles one delivery and acknowledges it, in a `consume` span that
    /// continues the publisher's trace. An error means the channel cannot be
    /// trusted any more (or the consumer was stopped while the database was
    /// down); the delivery stays unacknowledged and comes back.
    async fn handle(
        &self,
        channel: &Channel,
        delivery: Delivery,
        cancel: &CancellationToken,
    ) -> Result<(), EventError> {
        let span = trace::consume_span(
            &self.link.config.exchange,
            &self.subscription.name,
            &original_routing_key(&delivery),
            &delivery,
        );
        self.handle_traced(channel, delivery, cancel)
            .instrument(span)
            .await
    }

    async fn handle_traced(
        &self,
        channel: &Channel,
        delivery: Delivery,
        cancel: &CancellationToken,
    ) -> Result<(), EventError> {
        let attempt = attempt_of(&delivery);
        match envelope::decode(&delivery.data) {
            Err(error) => {
                let message_id = delivery
                    .properties
                    .message_id()
                    .as_ref()
                    .map(|id| id.as_str().to_owned())
                    .unwrap_or_default();
                self.dead_letter(
                    channel,
                    &delivery,
                    &message_id,
                    "",
                    attempt,
                    &format!("undecodable event: {error}"),
                )
                .await?;
            }
            Ok(envelope) => match self
                .attempt_until_database_answers(&envelope, cancel)
                .await?
            {
                Ok(_) => {}
                Err(HandlerError::Permanent(error)) => {
                    let reason = format!("permanent handler failure: {error}");
                    self.dead_letter(
                        channel,
                        &delivery,
                        &envelope.id,
                        &envelope.r#type,
                        attempt,
                        &reason,
                    )
                    .await?;
                }
                Err(HandlerError::Transient(error))
                    if attempt >= self.subscription.max_attempts =>
                {
                    let reason = format!(
                        "transient handler failure, gave up after {attempt} attempts: {error}"
                    );
                    self.dead_letter(
                        channel,
                        &delivery,
                        &envelope.id,
                        &envelope.r#type,
                        attempt,
                        &reason,
                    )
                    .await?;
                }
                Err(HandlerError::Transient(_)) => {
                    self.retry(
                        channel,
                        &delivery,
                        &envelope.id,
                        &envelope.r#type,
                        attempt + 1,
                    )
                    .await?;
                }
            },
        }
        delivery.ack(BasicAckOptions::default()).await?;
        Ok(())
    }

    /// Runs the event until the handler has a verdict, waiting out outages
    /// of the consumer's database (see [`Consumer::attempt_until_database_answers`]).
    async fn attempt_until_database_answers(
        &self,
        envelope: &EventEnvelope,
        cancel: &CancellationToken,
    ) -> Result<Result<Outcome, HandlerError>, EventError> {
        let config = &self.link.config;
        let backoff = Backoff::new(
            config.reconnect_backoff_initial,
            config.reconnect_backoff_max,
        );
        self.consumer
            .attempt_until_database_answers(&self.subscription.name, envelope, backoff, cancel)
            .await
            .ok_or_else(|| {
                EventError::Interrupted("stopped while waiting for the consumer database".into())
            })
    }

    /// Parks the delivery in `<name>.retry`; the broker moves it back to
    /// `<name>` when the retry delay expires.
    async fn retry(
        &self,
        channel: &Channel,
        delivery: &Delivery,
        event_id: &str,
        event_type: &str,
        next_attempt: u32,
    ) -> Result<(), EventError> {
        let properties = forwarded_properties(
            delivery,
            vec![
                (
                    ATTEMPT_HEADER,
                    AMQPValue::LongLongInt(i64::from(next_attempt)),
                ),
                (
                    ORIGINAL_ROUTING_KEY_HEADER,
                    AMQPValue::LongString(original_routing_key(delivery).into()),
                ),
            ],
        );
        // The delay travels as a per-message expiration rather than a queue
        // TTL, so a subscription whose retry delay changes can still declare
        // its existing retry queue.
        let delay_ms = self.subscription.retry_delay.as_millis().to_string();
        let properties = properties.with_expiration(delay_ms.as_str().into());
        let retry_queue = self.subscription.retry_queue();
        publish_confirmed(
            channel,
            "",
            &retry_queue,
            &delivery.data,
            properties,
            true,
            event_id,
        )
        .await?;
        self.consumer.record_retry();
        trace::record_failure(&tracing::Span::current());
        tracing::info!(
            subscription = %self.subscription.name,
            event.id = %event_id,
            event.r#type = %event_type,
            attempt = next_attempt,
            retry_in_ms = u64::try_from(self.subscription.retry_delay.as_millis()).unwrap_or(u64::MAX),
            "event scheduled for retry"
        );
        Ok(())
    }

    /// Moves the delivery to `<name>.dlq` with the reason and original
    /// routing key as headers.
    async fn dead_letter(
        &self,
        channel: &Channel,
        delivery: &Delivery,
        event_id: &str,
        event_type: &str,
        attempt: u32,
        reason: &str,
    ) -> Result<(), EventError> {
        let properties = forwarded_properties(
            delivery,
            vec![
                (ATTEMPT_HEADER, AMQPValue::LongLongInt(i64::from(attempt))),
                (ERROR_HEADER, AMQPValue::LongString(reason.into())),
                (
                    ORIGINAL_ROUTING_KEY_HEADER,
                    AMQPValue::LongString(original_routing_key(delivery).into()),
                ),
            ],
        );
        let dead_letter_queue = self.subscription.dead_letter_queue();
        publish_confirmed(
            channel,
            "",
            &dead_letter_queue,
            &delivery.data,
            properties,
            true,
            event_id,
        )
        .await?;
        self.consumer.record_dead_letter();
        trace::record_failure(&tracing::Span::current());
        tracing::warn!(
            subscription = %self.subscription.name,
            event.id = %event_id,
            event.r#type = %event_type,
            attempt,
            reason = %reason,
            "event dead-lettered"
        );
        Ok(())
    }
}

/// `<name>` (durable, bound to the exchange with every binding),
/// `<name>.retry` (messages expire after the retry delay set on each of them
/// and are dead-lettered back to `<name>` through the default exchange) and
/// `<name>.dlq`. Nothing here depends on the retry delay or attempts, so
/// changing them never makes a redeclaration fail.
async fn declare_topology(
    channel: &Channel,
    exchange: &str,
    subscription: &Subscription,
) -> Result<(), EventError> {
    let durable = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    declare_exchange(channel, exchange).await?;
    channel
        .queue_declare(
            subscription.name.as_str().into(),
            durable,
            FieldTable::default(),
        )
        .await?;
    for binding in &subscription.bindings {
        channel
            .queue_bind(
                subscription.name.as_str().into(),
                exchange.into(),
                binding.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
    }
    let mut retry_arguments = FieldTable::default();
    retry_arguments.insert(
        "x-dead-letter-exchange".into(),
        AMQPValue::LongString("".into()),
    );
    retry_arguments.insert(
        "x-dead-letter-routing-key".into(),
        AMQPValue::LongString(subscription.name.as_str().into()),
    );
    channel
        .queue_declare(subscription.retry_queue().into(), durable, retry_arguments)
        .await?;
    channel
        .queue_declare(
            subscription.dead_letter_queue().into(),
            durable,
            FieldTable::default(),
        )
        .await?;
    Ok(())
}
