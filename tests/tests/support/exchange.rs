//! Talking to the exchange center in scenarios: its clients, waiting for a
//! line to reach a state, and reading a subscription's durable queue the
//! way a subscriber's own consumer would.

use std::time::Duration;

use futures::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties, Consumer};
use prost::Message;
use zhongtai_contracts::exchange::v1 as pb;
use zhongtai_contracts::exchange::v1::enclave_service_client::EnclaveServiceClient;
use zhongtai_contracts::exchange::v1::exchange_service_client::ExchangeServiceClient;
use zhongtai_mesh::MeshChannel;

use super::{Mesh, with_token};

pub fn exchange_client(mesh: &Mesh) -> ExchangeServiceClient<MeshChannel> {
    ExchangeServiceClient::new(mesh.channel("exchange"))
}

pub fn enclave_client(mesh: &Mesh) -> EnclaveServiceClient<MeshChannel> {
    EnclaveServiceClient::new(mesh.channel("exchange"))
}

/// The line's status once `ready` holds, polling every 100 ms.
pub async fn line_status_when(
    client: &ExchangeServiceClient<MeshChannel>,
    token: &str,
    line_id: &str,
    what: &str,
    timeout: Duration,
    ready: impl Fn(&pb::GetLineStatusResponse) -> bool,
) -> pb::GetLineStatusResponse {
    let started = std::time::Instant::now();
    let mut last = None;
    while started.elapsed() < timeout {
        let mut client = client.clone();
        if let Ok(status) = client
            .get_line_status(with_token(
                pb::GetLineStatusRequest { id: line_id.into() },
                token,
            ))
            .await
        {
            let status = status.into_inner();
            if ready(&status) {
                return status;
            }
            last = Some(status);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("line {line_id}: {what} not reached within {timeout:?}; last status: {last:#?}");
}

/// A subscriber reading its durable queue: each change as the protobuf
/// record the exchange center published, acknowledged once read.
pub struct QueueReader {
    _connection: Connection,
    consumer: Consumer,
}

impl QueueReader {
    /// Consumes `queue` at `amqp_url` (declaring it durable, as the center
    /// does, in case the subscriber starts first).
    pub async fn open(amqp_url: &str, queue: &str) -> Self {
        let connection = Connection::connect(amqp_url, ConnectionProperties::default())
            .await
            .unwrap();
        let channel = connection.create_channel().await.unwrap();
        channel
            .queue_declare(
                queue.into(),
                QueueDeclareOptions {
                    durable: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        let consumer = channel
            .basic_consume(
                queue.into(),
                format!("scenario-{}", uuid::Uuid::new_v4().simple())
                    .as_str()
                    .into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        Self {
            _connection: connection,
            consumer,
        }
    }

    /// The next change, or `None` when nothing arrives within `wait`.
    pub async fn next(&mut self, wait: Duration) -> Option<pb::ChangeRecord> {
        let delivery = tokio::time::timeout(wait, self.consumer.next())
            .await
            .ok()??
            .ok()?;
        let record = pb::ChangeRecord::decode(delivery.data.as_slice()).unwrap();
        delivery.ack(BasicAckOptions::default()).await.unwrap();
        Some(record)
    }
}

/// The text of a column in a record's `after` (or `key`) values.
pub fn text_of(columns: &[pb::ColumnValue], name: &str) -> Option<String> {
    use pb::column_value::Value;
    columns
        .iter()
        .find(|c| c.name == name)
        .and_then(|c| match &c.value {
            Some(Value::StringValue(s) | Value::DateValue(s) | Value::NumericValue(s)) => {
                Some(s.clone())
            }
            Some(Value::IntValue(i)) => Some(i.to_string()),
            _ => None,
        })
}
