//! The bus's one broker connection, re-established on demand: whoever finds
//! it (or the publishing channel) broken reconnects, under a lock so only
//! one reconnect runs at a time, and the exchange is declared again on every
//! new connection. Consumers redeclare their own queues when they reopen.

use std::sync::Arc;
use std::time::Instant;

use lapin::options::{ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use super::{RabbitConfig, redact_password};
use crate::error::EventError;

/// A live connection with its publishing channel (in confirm mode).
pub(crate) struct Session {
    pub(crate) connection: Arc<Connection>,
    pub(crate) publisher: Channel,
}

impl Session {
    fn healthy(&self) -> bool {
        self.connection.status().connected() && self.publisher.status().connected()
    }
}

pub(crate) struct Link {
    pub(crate) config: RabbitConfig,
    current: Mutex<Option<Arc<Session>>>,
    closed: CancellationToken,
}

impl Link {
    pub(crate) fn new(config: RabbitConfig) -> Self {
        Self {
            config,
            current: Mutex::new(None),
            closed: CancellationToken::new(),
        }
    }

    /// Fires when the bus is closed.
    pub(crate) fn closed(&self) -> &CancellationToken {
        &self.closed
    }

    /// The current session, reconnecting once (bounded by
    /// `connect_timeout`) when it is broken. Callers retry with backoff.
    pub(crate) async fn session(&self) -> Result<Arc<Session>, EventError> {
        if self.closed.is_cancelled() {
            return Err(EventError::Closed);
        }
        let mut current = self.current.lock().await;
        if let Some(session) = current.as_ref() {
            if session.healthy() {
                return Ok(session.clone());
            }
            if session.connection.status().connected() {
                // Only the channel died (a channel-level error): a new
                // channel on the same connection is enough.
                let publisher = open_publisher(&session.connection, &self.config.exchange).await?;
                let renewed = Arc::new(Session {
                    connection: session.connection.clone(),
                    publisher,
                });
                *current = Some(renewed.clone());
                return Ok(renewed);
            }
        }
        *current = None;
        let connection = Arc::new(self.connect().await?);
        let publisher = open_publisher(&connection, &self.config.exchange).await?;
        tracing::info!(exchange = %self.config.exchange, "connected to event broker");
        let session = Arc::new(Session {
            connection,
            publisher,
        });
        *current = Some(session.clone());
        Ok(session)
    }

    /// One connection attempt. Failing to reach the broker is
    /// [`EventError::Unavailable`] naming the broker (password redacted), so
    /// the caller's log says where it tried to go.
    async fn connect(&self) -> Result<Connection, EventError> {
        let properties = ConnectionProperties::default()
            .with_connection_name(self.config.connection_name.as_str().into());
        let started = Instant::now();
        let failure = match tokio::time::timeout(
            self.config.connect_timeout,
            Connection::connect(&self.config.url, properties),
        )
        .await
        {
            Ok(Ok(connection)) => return Ok(connection),
            Ok(Err(error)) => error.to_string(),
            Err(_) => "connection attempt timed out".to_owned(),
        };
        Err(EventError::Unavailable {
            waited: started.elapsed(),
            last_error: format!(
                "cannot connect to {}: {failure}",
                redact_password(&self.config.url)
            ),
        })
    }

    /// Closes the connection; later calls fail with [`EventError::Closed`].
    /// Waits at most `connect_timeout` for the broker to answer.
    pub(crate) async fn close(&self) {
        self.closed.cancel();
        let session = self.current.lock().await.take();
        let Some(session) = session else {
            return;
        };
        if !session.connection.status().connected() {
            return;
        }
        match tokio::time::timeout(
            self.config.connect_timeout,
            session.connection.close(200, "bus closed".into()),
        )
        .await
        {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::debug!(error = %error, "closing broker connection failed"),
            Err(_) => tracing::warn!("broker did not answer the connection close in time"),
        }
    }
}

/// Declares the durable topic exchange every event goes through.
pub(crate) async fn declare_exchange(channel: &Channel, exchange: &str) -> Result<(), EventError> {
    channel
        .exchange_declare(
            exchange.into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    Ok(())
}

async fn open_publisher(connection: &Connection, exchange: &str) -> Result<Channel, EventError> {
    let channel = connection.create_channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    declare_exchange(&channel, exchange).await?;
    Ok(channel)
}
