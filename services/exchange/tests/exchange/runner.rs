//! The line runner: queue publishing against the real broker, and lines
//! run by the supervisor with fakes around them (store, journal, sources,
//! enclave sink) and the real broker for queue delivery.

use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use zhongtai_contracts::exchange::v1 as pb;
use zhongtai_events::{QueueMessage, QueuePublisher};
use zhongtai_exchange::domain::flow::{FlowError, SourceBatch, SourceEvent};
use zhongtai_exchange::domain::line::{LineState, PushSourceSpec, SourceSpec};
use zhongtai_exchange::domain::policy::{
    DeliveryPolicy, FieldAccess, MaskingKind, MaskingRule, RowCondition, RowFilter, RowOperator,
};
use zhongtai_exchange::domain::subscription::{EnclaveTarget, SubscriptionState};
use zhongtai_testkit::{amqp_url, eventually};

use crate::support::runner::*;

const PATIENCE: Duration = Duration::from_secs(20);

fn queue_name(test: &str) -> String {
    format!("zt-test.runner.{test}.{}", Uuid::new_v4().simple())
}

fn message(i: usize) -> QueueMessage {
    QueueMessage {
        body: format!("body {i}").into_bytes(),
        message_id: format!("m-{i}"),
        headers: vec![("x-zhongtai-position".into(), i.to_string())],
    }
}

#[tokio::test]
async fn a_published_batch_arrives_in_order_with_its_ids() {
    let queue = queue_name("batch");
    let publisher = QueuePublisher::new(rabbit_config(&amqp_url())).unwrap();
    let messages: Vec<_> = (0..200).map(message).collect();
    publisher.publish_batch(&queue, &messages).await.unwrap();

    let taken = take(&queue, 200).await;
    assert_eq!(taken.len(), 200, "no duplicates, nothing missing");
    for (i, got) in taken.iter().enumerate() {
        let properties = &got.delivery.properties;
        assert_eq!(got.delivery.data, format!("body {i}").into_bytes());
        assert_eq!(
            properties.message_id().as_ref().unwrap().as_str(),
            format!("m-{i}")
        );
        assert_eq!(properties.delivery_mode(), &Some(2), "persistent");
        assert_eq!(
            properties.content_type().as_ref().unwrap().as_str(),
            "application/x-protobuf"
        );
        assert_eq!(
            properties.kind().as_ref().unwrap().as_str(),
            "zhongtai.exchange.v1.ChangeRecord"
        );
        assert_eq!(header(got, "x-zhongtai-position"), Some(i.to_string()));
    }
    publisher.close().await;
}

#[tokio::test]
async fn publishing_after_the_connection_was_cut_reconnects() {
    let queue = queue_name("reconnect");
    let proxy = CuttingProxy::start(&amqp_url()).await;
    let publisher = QueuePublisher::new(rabbit_config(&proxy.url(&amqp_url()))).unwrap();
    publisher
        .publish_batch(&queue, &[message(0), message(1)])
        .await
        .unwrap();
    proxy.cut();
    publisher
        .publish_batch(&queue, &[message(2), message(3)])
        .await
        .expect("the publisher reconnects and publishes");

    let taken = take(&queue, 4).await;
    let ids: Vec<String> = taken
        .iter()
        .map(|m| {
            m.delivery
                .properties
                .message_id()
                .as_ref()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ids, ["m-0", "m-1", "m-2", "m-3"]);
}

#[tokio::test]
async fn a_queue_deleted_behind_the_publisher_is_declared_again() {
    let queue = queue_name("deleted");
    let publisher = QueuePublisher::new(rabbit_config(&amqp_url())).unwrap();
    publisher
        .publish_batch(&queue, &[message(0)])
        .await
        .unwrap();
    let connection = lapin::Connection::connect(&amqp_url(), Default::default())
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    channel
        .queue_delete(queue.as_str().into(), Default::default())
        .await
        .unwrap();

    let refused = publisher.publish_batch(&queue, &[message(1)]).await;
    assert!(
        matches!(refused, Err(zhongtai_events::EventError::Unroutable(_))),
        "{refused:?}"
    );
    publisher
        .publish_batch(&queue, &[message(1)])
        .await
        .expect("the queue is declared again");
    let taken = take(&queue, 1).await;
    assert_eq!(
        taken[0]
            .delivery
            .properties
            .message_id()
            .as_ref()
            .unwrap()
            .as_str(),
        "m-1"
    );
}

fn granted(fields: &[(&str, MaskingRule)]) -> DeliveryPolicy {
    DeliveryPolicy {
        fields: fields
            .iter()
            .map(|(field, masking)| FieldAccess {
                field: (*field).into(),
                masking: masking.clone(),
            })
            .collect(),
        row_filter: RowFilter::default(),
    }
}

fn keep_last(n: u32) -> MaskingRule {
    MaskingRule {
        kind: MaskingKind::Partial,
        keep_first: 0,
        keep_last: n,
        mask_character: '*',
    }
}

fn text(record: &pb::ChangeRecord, column: &str) -> Option<String> {
    use pb::column_value::Value;
    record
        .after
        .iter()
        .find(|c| c.name == column)
        .and_then(|c| match &c.value {
            Some(Value::StringValue(s)) => Some(s.clone()),
            Some(Value::IntValue(i)) => Some(i.to_string()),
            _ => None,
        })
}

#[tokio::test]
async fn a_line_delivers_granted_masked_fields_to_the_queue_and_confirms_after_the_journal() {
    let rig = Rig::new();
    let line = log_line();
    rig.store.add_line(&line);
    let queue = queue_name("line");
    let mut policy = granted(&[
        ("id", MaskingRule::none()),
        ("name", MaskingRule::none()),
        ("id_number", keep_last(4)),
    ]);
    policy.row_filter = RowFilter {
        conditions: vec![RowCondition {
            field: "name".into(),
            operator: RowOperator::NotEquals,
            values: vec!["hidden".into()],
        }],
    };
    let subscription = subscription(&line, Some(queue.clone()), policy);
    rig.store.add_subscription(&subscription);
    let publisher = Arc::new(QueuePublisher::new(rabbit_config(&amqp_url())).unwrap());
    let runners = rig.runners(Some(publisher));
    rig.start(&runners);

    let feed = eventually(PATIENCE, "the line's source is opened", || async {
        rig.opener.feed()
    })
    .await;
    let changes = vec![
        insert(&line, 10, 1, "张三", "330102199001011234"),
        insert(&line, 20, 2, "hidden", "330102199001015678"),
        insert(&line, 30, 3, "李四", "33010219900101999X"),
    ];
    feed.send(Ok(SourceEvent::Batch(SourceBatch {
        changes,
        confirm_position: 30,
    })))
    .unwrap();

    let taken = take(&queue, 2).await;
    assert_eq!(taken.len(), 2, "the filtered row is not delivered");
    let records: Vec<pb::ChangeRecord> = taken
        .iter()
        .map(|m| pb::ChangeRecord::decode(m.delivery.data.as_slice()).unwrap())
        .collect();
    assert_eq!(
        records.iter().map(|r| r.position).collect::<Vec<_>>(),
        [10, 30]
    );
    assert_eq!(text(&records[0], "name").as_deref(), Some("张三"));
    assert_eq!(
        text(&records[0], "id_number").as_deref(),
        Some("**************1234")
    );
    assert_eq!(text(&records[0], "district"), None, "not granted");
    assert_eq!(records[0].subscription_id, subscription.id.to_string());
    assert_eq!(records[0].change_id, format!("{}:10:0", line.id));
    assert!(records[0].hops.as_ref().unwrap().publish_time.is_some());
    assert_eq!(
        header(&taken[1], "x-zhongtai-subscription"),
        Some(subscription.id.to_string())
    );

    eventually(PATIENCE, "the batch is confirmed", || async {
        rig.log
            .entries()
            .contains(&"confirm 30".to_string())
            .then_some(())
    })
    .await;
    assert_eq!(rig.log.entries(), ["journal 3", "confirm 30"]);
    let journal = rig.journal.records.lock().unwrap().clone();
    let deliveries = &journal[0].1;
    assert_eq!(deliveries.len(), 3);
    assert!(deliveries[1].filtered_out && deliveries[1].accepted.is_none());
    assert!(deliveries[0].accepted.is_some() && !deliveries[0].filtered_out);
    assert_eq!(rig.store.runtime_now(line.id).confirmed_position, 30);
    assert_eq!(rig.store.runtime_now(line.id).captured_total, 3);
    assert_eq!(rig.store.line_now(line.id).state, LineState::Streaming);
    assert_eq!(
        rig.store
            .subscription_now(subscription.id)
            .delivered_position,
        30
    );
    let delivered = rig.store.delivered();
    assert_eq!(delivered.len(), 1);
    assert_eq!(
        (delivered[0].subscription_id, delivered[0].position),
        (subscription.id, 30)
    );
    assert!(delivered[0].lag_ms >= 0);
    let metrics = zhongtai_telemetry::metrics::encode();
    assert!(
        metrics.contains("zhongtai_exchange_changes_captured_total"),
        "{metrics}"
    );
}

fn enclave_subscription(
    line: &zhongtai_exchange::domain::line::Line,
) -> zhongtai_exchange::domain::subscription::Subscription {
    let mut subscription = subscription(line, None, DeliveryPolicy::default());
    subscription.enclave = Some(EnclaveTarget {
        enclave_id: Uuid::new_v4(),
        table: "marriage_registration".into(),
    });
    subscription
}

fn batch(line: &zhongtai_exchange::domain::line::Line, positions: &[u64]) -> SourceEvent {
    SourceEvent::Batch(SourceBatch {
        changes: positions
            .iter()
            .map(|&p| insert(line, p, p as i64, "n", "330102199001011234"))
            .collect(),
        confirm_position: *positions.last().unwrap(),
    })
}

#[tokio::test]
async fn a_failing_sink_is_retried_and_nothing_is_confirmed_before_it_accepts() {
    let rig = Rig::new();
    *rig.sink.failures.lock().unwrap() = 2;
    let line = log_line();
    rig.store.add_line(&line);
    let subscription = enclave_subscription(&line);
    rig.store.add_subscription(&subscription);
    let runners = rig.runners(None);
    rig.start(&runners);

    let feed = eventually(PATIENCE, "the source is opened", || async {
        rig.opener.feed()
    })
    .await;
    feed.send(Ok(batch(&line, &[5, 6]))).unwrap();

    eventually(PATIENCE, "the batch is confirmed", || async {
        rig.log
            .entries()
            .contains(&"confirm 6".to_string())
            .then_some(())
    })
    .await;
    assert_eq!(
        *rig.sink.calls.lock().unwrap(),
        3,
        "two failures, one success"
    );
    assert_eq!(rig.sink.accepted.lock().unwrap().len(), 2);
    assert_eq!(
        rig.log.entries(),
        ["journal 2", "confirm 6"],
        "journaled and confirmed once, after the sink accepted"
    );
    assert_eq!(
        rig.store.health(subscription.id),
        [
            (
                SubscriptionState::Degraded,
                "enclave database unreachable".to_string()
            ),
            (SubscriptionState::Active, String::new()),
        ]
    );
    assert_eq!(
        rig.store.subscription_now(subscription.id).state,
        SubscriptionState::Active
    );
}

#[tokio::test]
async fn queue_subscriptions_without_rabbitmq_go_degraded_and_hold_the_position() {
    let rig = Rig::new();
    let line = log_line();
    rig.store.add_line(&line);
    let subscription = subscription(&line, Some(queue_name("none")), DeliveryPolicy::default());
    rig.store.add_subscription(&subscription);
    let runners = rig.runners(None);
    rig.start(&runners);

    let feed = eventually(PATIENCE, "the source is opened", || async {
        rig.opener.feed()
    })
    .await;
    feed.send(Ok(batch(&line, &[7]))).unwrap();
    eventually(PATIENCE, "the subscription is degraded", || async {
        let now = rig.store.subscription_now(subscription.id);
        (now.state == SubscriptionState::Degraded).then_some(now.state_reason)
    })
    .await;
    assert_eq!(
        rig.store.subscription_now(subscription.id).state_reason,
        "queue delivery needs RabbitMQ"
    );
    assert!(
        rig.log.entries().is_empty(),
        "nothing journaled or confirmed"
    );
    assert_eq!(rig.store.runtime_now(line.id).confirmed_position, 0);
}

#[tokio::test]
async fn a_paused_subscription_holds_the_line_until_it_resumes() {
    let rig = Rig::new();
    let line = log_line();
    rig.store.add_line(&line);
    let active = enclave_subscription(&line);
    let mut paused = enclave_subscription(&line);
    paused.state = SubscriptionState::Paused;
    rig.store.add_subscription(&active);
    rig.store.add_subscription(&paused);
    let runners = rig.runners(None);
    rig.start(&runners);

    let feed = eventually(PATIENCE, "the source is opened", || async {
        rig.opener.feed()
    })
    .await;
    feed.send(Ok(batch(&line, &[11]))).unwrap();
    // Several refresh intervals: the line must still be holding.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(rig.log.entries().is_empty(), "{:?}", rig.log.entries());
    assert!(rig.sink.accepted.lock().unwrap().is_empty());
    assert_eq!(rig.store.line_now(line.id).state_reason, "");

    rig.store
        .set_subscription_state(paused.id, SubscriptionState::Active);
    eventually(PATIENCE, "the held batch is confirmed", || async {
        rig.log
            .entries()
            .contains(&"confirm 11".to_string())
            .then_some(())
    })
    .await;
    assert_eq!(
        rig.sink.accepted.lock().unwrap().len(),
        2,
        "both subscriptions received the held change"
    );
}

#[tokio::test]
async fn a_revoked_subscription_receives_nothing_more() {
    let rig = Rig::new();
    let line = log_line();
    rig.store.add_line(&line);
    let subscription = enclave_subscription(&line);
    rig.store.add_subscription(&subscription);
    let runners = rig.runners(None);
    rig.start(&runners);

    let feed = eventually(PATIENCE, "the source is opened", || async {
        rig.opener.feed()
    })
    .await;
    feed.send(Ok(batch(&line, &[1]))).unwrap();
    eventually(PATIENCE, "the first batch is confirmed", || async {
        rig.log
            .entries()
            .contains(&"confirm 1".to_string())
            .then_some(())
    })
    .await;
    rig.store
        .set_subscription_state(subscription.id, SubscriptionState::Revoked);
    // Longer than the refresh interval.
    tokio::time::sleep(Duration::from_millis(300)).await;
    feed.send(Ok(batch(&line, &[2]))).unwrap();
    eventually(PATIENCE, "the second batch is confirmed", || async {
        rig.log
            .entries()
            .contains(&"confirm 2".to_string())
            .then_some(())
    })
    .await;
    let accepted: Vec<u64> = rig
        .sink
        .accepted
        .lock()
        .unwrap()
        .iter()
        .map(|c| c.position)
        .collect();
    assert_eq!(accepted, [1], "nothing after the revocation");
}

#[tokio::test]
async fn replayed_changes_at_or_below_the_confirmed_position_are_skipped() {
    let rig = Rig::new();
    let line = log_line();
    rig.store.add_line(&line);
    let subscription = enclave_subscription(&line);
    rig.store.add_subscription(&subscription);
    let runners = rig.runners(None);
    rig.start(&runners);

    let feed = eventually(PATIENCE, "the source is opened", || async {
        rig.opener.feed()
    })
    .await;
    feed.send(Ok(batch(&line, &[1, 2]))).unwrap();
    feed.send(Ok(batch(&line, &[2, 3]))).unwrap();
    eventually(PATIENCE, "both batches are confirmed", || async {
        rig.log
            .entries()
            .contains(&"confirm 3".to_string())
            .then_some(())
    })
    .await;
    let accepted: Vec<u64> = rig
        .sink
        .accepted
        .lock()
        .unwrap()
        .iter()
        .map(|c| c.position)
        .collect();
    assert_eq!(accepted, [1, 2, 3]);
}

#[tokio::test]
async fn two_instances_on_one_store_run_a_line_once() {
    let rig = Rig::new();
    let line = log_line();
    rig.store.add_line(&line);
    let first = rig.runners(None);
    let second = rig.runners(None);
    let first_stop = CancellationToken::new();
    let second_stop = CancellationToken::new();
    let first_tasks: Vec<_> = first
        .background(first_stop.clone())
        .into_iter()
        .map(tokio::spawn)
        .collect();
    let _second_tasks: Vec<_> = second
        .background(second_stop.clone())
        .into_iter()
        .map(tokio::spawn)
        .collect();

    eventually(PATIENCE, "the line is opened", || async {
        (!rig.opener.opens().is_empty()).then_some(())
    })
    .await;
    // Past a lease renewal (ttl/3 = 500 ms) and many supervisor rounds.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(rig.opener.opens().len(), 1, "one instance runs the line");
    let owner = rig.store.lease_owner(line.id).expect("leased");

    // The holder shuts down gracefully: the other one takes over.
    first_stop.cancel();
    for task in first_tasks {
        task.await.unwrap();
    }
    eventually(PATIENCE, "the other instance takes the line", || async {
        (rig.opener.opens().len() == 2).then_some(())
    })
    .await;
    assert_ne!(rig.store.lease_owner(line.id), Some(owner));
    second_stop.cancel();
}

#[tokio::test]
async fn a_permanent_source_error_fails_the_line_with_its_reason() {
    let rig = Rig::new();
    rig.opener.fail_opens([FlowError::Permanent(
        "table public.marriage_registration has no primary key".into(),
    )]);
    let line = log_line();
    rig.store.add_line(&line);
    let runners = rig.runners(None);
    rig.start(&runners);

    let reason = eventually(PATIENCE, "the line fails", || async {
        let now = rig.store.line_now(line.id);
        (now.state == LineState::Failed).then_some(now.state_reason)
    })
    .await;
    assert_eq!(
        reason,
        "table public.marriage_registration has no primary key"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rig.opener.opens().len(), 1, "a failed line is not retried");
}

#[tokio::test]
async fn a_transient_source_error_degrades_the_line_until_it_streams_again() {
    let rig = Rig::new();
    rig.opener
        .fail_opens([FlowError::Transient("source database unreachable".into())]);
    let line = log_line();
    rig.store.add_line(&line);
    let subscription = enclave_subscription(&line);
    rig.store.add_subscription(&subscription);
    let runners = rig.runners(None);
    rig.start(&runners);

    let feed = eventually(PATIENCE, "the source is reopened", || async {
        rig.opener.feed()
    })
    .await;
    eventually(PATIENCE, "the line streams", || async {
        (rig.store.line_now(line.id).state == LineState::Streaming).then_some(())
    })
    .await;
    assert_eq!(
        rig.store.line_states(line.id),
        [
            (
                LineState::Degraded,
                "source database unreachable".to_string()
            ),
            (LineState::Streaming, String::new()),
        ]
    );

    // Mid-stream: delivered up to 4, then the connection drops.
    feed.send(Ok(batch(&line, &[3, 4]))).unwrap();
    eventually(PATIENCE, "the batch is confirmed", || async {
        rig.log
            .entries()
            .contains(&"confirm 4".to_string())
            .then_some(())
    })
    .await;
    feed.send(Err(FlowError::Transient(
        "replication connection lost".into(),
    )))
    .unwrap();
    eventually(
        PATIENCE,
        "the source is reopened at the confirmed position",
        || async {
            let opens = rig.opener.opens();
            (opens.len() == 3).then_some(opens)
        },
    )
    .await;
    assert_eq!(rig.opener.opens()[2], (line.id, 4));
    eventually(PATIENCE, "the line streams again", || async {
        let states = rig.store.line_states(line.id);
        (states.len() == 4 && states[3].0 == LineState::Streaming).then_some(())
    })
    .await;
    assert_eq!(
        rig.store.line_states(line.id)[2],
        (
            LineState::Degraded,
            "replication connection lost".to_string()
        )
    );
}

#[tokio::test]
async fn pushed_batches_at_or_below_the_cursor_are_skipped() {
    let rig = Rig::new();
    let mut line = log_line();
    line.source = SourceSpec::Push(PushSourceSpec {
        tables: vec![],
        producer_subject: "svc-civil".into(),
    });
    line.state = LineState::Streaming;
    rig.store.add_line(&line);
    let subscription = enclave_subscription(&line);
    rig.store.add_subscription(&subscription);
    let runners = rig.runners(None);
    let delivery = runners.delivery();

    let SourceEvent::Batch(first) = batch(&line, &[1, 2, 3]) else {
        unreachable!()
    };
    delivery.deliver(&line, first.clone()).await.unwrap();
    delivery
        .deliver(&line, first)
        .await
        .expect("a duplicate batch is accepted and skipped");
    let SourceEvent::Batch(next) = batch(&line, &[3, 4]) else {
        unreachable!()
    };
    delivery.deliver(&line, next).await.unwrap();

    let accepted: Vec<u64> = rig
        .sink
        .accepted
        .lock()
        .unwrap()
        .iter()
        .map(|c| c.position)
        .collect();
    assert_eq!(accepted, [1, 2, 3, 4]);
    assert_eq!(rig.store.runtime_now(line.id).confirmed_position, 4);
    assert!(rig.opener.opens().is_empty(), "push lines are not opened");
}

#[tokio::test]
async fn a_paused_line_stops_its_task_and_a_resumed_one_runs_again() {
    let rig = Rig::new();
    let line = log_line();
    rig.store.add_line(&line);
    let runners = rig.runners(None);
    rig.start(&runners);
    eventually(PATIENCE, "the line streams", || async {
        (rig.store.line_now(line.id).state == LineState::Streaming).then_some(())
    })
    .await;

    rig.store.set_line(line.id, LineState::Paused);
    eventually(
        PATIENCE,
        "the source is closed and the lease given up",
        || async {
            (rig.log.entries().contains(&"close".to_string())
                && rig.store.lease_owner(line.id).is_none())
            .then_some(())
        },
    )
    .await;
    assert_eq!(rig.opener.opens().len(), 1);

    rig.store.set_line(line.id, LineState::Streaming);
    eventually(PATIENCE, "the resumed line is opened again", || async {
        (rig.opener.opens().len() == 2).then_some(())
    })
    .await;
}

#[tokio::test]
async fn while_the_broker_is_away_nothing_is_confirmed_and_afterwards_everything_arrives_once() {
    let rig = Rig::new();
    let line = log_line();
    rig.store.add_line(&line);
    let queue = queue_name("away");
    let subscription = subscription(&line, Some(queue.clone()), DeliveryPolicy::default());
    rig.store.add_subscription(&subscription);
    let proxy = CuttingProxy::start(&amqp_url()).await;
    let publisher = QueuePublisher::new(zhongtai_events::RabbitConfig {
        publish_timeout: Duration::from_millis(500),
        ..rabbit_config(&proxy.url(&amqp_url()))
    })
    .unwrap();
    proxy.refuse(true);
    let runners = rig.runners(Some(Arc::new(publisher)));
    rig.start(&runners);

    let feed = eventually(PATIENCE, "the source is opened", || async {
        rig.opener.feed()
    })
    .await;
    feed.send(Ok(batch(&line, &[41, 42, 43]))).unwrap();
    eventually(PATIENCE, "the subscription is degraded", || async {
        (rig.store.subscription_now(subscription.id).state == SubscriptionState::Degraded)
            .then_some(())
    })
    .await;
    assert!(
        rig.store
            .subscription_now(subscription.id)
            .state_reason
            .contains(&queue),
        "the reason names the queue"
    );
    assert!(
        rig.log.entries().is_empty(),
        "nothing journaled or confirmed"
    );

    proxy.refuse(false);
    eventually(PATIENCE, "the batch is confirmed", || async {
        rig.log
            .entries()
            .contains(&"confirm 43".to_string())
            .then_some(())
    })
    .await;
    assert_eq!(
        rig.store.subscription_now(subscription.id).state,
        SubscriptionState::Active
    );
    let taken = take(&queue, 3).await;
    let positions: Vec<String> = taken
        .iter()
        .map(|m| header(m, "x-zhongtai-position").unwrap())
        .collect();
    assert_eq!(
        positions,
        ["0/29", "0/2A", "0/2B"],
        "each change once, in order"
    );
}

#[tokio::test]
async fn a_snapshot_moves_the_line_through_snapshotting_to_streaming() {
    use zhongtai_exchange::domain::change::Operation;
    use zhongtai_exchange::domain::line::{SnapshotProgress, SnapshotState};

    let rig = Rig::new();
    let mut line = log_line();
    if let SourceSpec::Log(spec) = &mut line.source {
        spec.snapshot = true;
    }
    rig.store.add_line(&line);
    let subscription = enclave_subscription(&line);
    rig.store.add_subscription(&subscription);
    let runners = rig.runners(None);
    rig.start(&runners);

    let feed = eventually(PATIENCE, "the source is opened", || async {
        rig.opener.feed()
    })
    .await;
    let progress = |done: i64, state: SnapshotState| SnapshotProgress {
        state,
        rows_done: done,
        rows_total: 2,
        consistent_position: "0/64".into(),
        ..SnapshotProgress::default()
    };
    feed.send(Ok(SourceEvent::Progress(progress(
        0,
        SnapshotState::Running,
    ))))
    .unwrap();
    eventually(PATIENCE, "the line is snapshotting", || async {
        (rig.store.line_now(line.id).state == LineState::Snapshotting).then_some(())
    })
    .await;
    let mut rows = vec![
        insert(&line, 100, 1, "a", "330102199001011234"),
        insert(&line, 100, 2, "b", "330102199001015678"),
    ];
    for (index, row) in rows.iter_mut().enumerate() {
        row.operation = Operation::Snapshot;
        row.index = index as u32;
    }
    feed.send(Ok(SourceEvent::Batch(SourceBatch {
        changes: rows,
        confirm_position: 0,
    })))
    .unwrap();
    feed.send(Ok(SourceEvent::SnapshotCompleted(progress(
        2,
        SnapshotState::Completed,
    ))))
    .unwrap();
    eventually(PATIENCE, "the line streams", || async {
        (rig.store.line_now(line.id).state == LineState::Streaming).then_some(())
    })
    .await;

    assert_eq!(rig.sink.accepted.lock().unwrap().len(), 2);
    assert_eq!(
        rig.log.entries(),
        ["journal 2"],
        "snapshot rows confirm nothing at the source"
    );
    let runtime = rig.store.runtime_now(line.id);
    assert_eq!(runtime.snapshot.state, SnapshotState::Completed);
    assert_eq!(runtime.snapshot.rows_done, 2);
    assert_eq!(
        rig.store.line_states(line.id),
        [
            (LineState::Snapshotting, String::new()),
            (LineState::Streaming, String::new())
        ]
    );
    let metrics = zhongtai_telemetry::metrics::encode();
    assert!(
        metrics.contains(&format!(
            "zhongtai_exchange_snapshot_rows{{line=\"{}\"}} 2",
            line.id
        )),
        "{metrics}"
    );
}

#[tokio::test]
async fn source_changes_reach_the_queue_masked_and_the_slot_is_confirmed_after_them() {
    let source = SourceDatabase::create().await;
    source
        .exec(
            "CREATE TABLE marriage_registration (id bigint PRIMARY KEY, name text, \
             id_number text, district text)",
        )
        .await;
    let rig = Rig::new();
    let mut line = log_line();
    if let SourceSpec::Log(spec) = &mut line.source {
        spec.connection_ref = "dept".into();
        spec.heartbeat_interval_ms = 200;
    }
    rig.store.add_line(&line);
    let queue = queue_name("capture");
    let policy = granted(&[("id", MaskingRule::none()), ("id_number", keep_last(4))]);
    let subscription = subscription(&line, Some(queue.clone()), policy);
    rig.store.add_subscription(&subscription);
    let publisher = Arc::new(QueuePublisher::new(rabbit_config(&amqp_url())).unwrap());
    let runners = rig.capture_runners(source.config(), Some(publisher));
    rig.start(&runners);
    eventually(PATIENCE, "the line streams", || async {
        (rig.store.line_now(line.id).state == LineState::Streaming).then_some(())
    })
    .await;

    source
        .exec(
            "INSERT INTO marriage_registration VALUES (1, '张三', '330102199001011234', '331102'); \
             UPDATE marriage_registration SET id_number = '330102199001015678' WHERE id = 1; \
             DELETE FROM marriage_registration WHERE id = 1;",
        )
        .await;

    let taken = take(&queue, 3).await;
    let records: Vec<pb::ChangeRecord> = taken
        .iter()
        .map(|m| pb::ChangeRecord::decode(m.delivery.data.as_slice()).unwrap())
        .collect();
    let operations: Vec<i32> = records.iter().map(|r| r.operation).collect();
    assert_eq!(
        operations,
        [
            pb::ChangeOperation::Insert as i32,
            pb::ChangeOperation::Update as i32,
            pb::ChangeOperation::Delete as i32
        ]
    );
    assert_eq!(
        text(&records[0], "id_number").as_deref(),
        Some("**************1234")
    );
    assert_eq!(text(&records[0], "name"), None, "not granted");
    assert_eq!(
        text(&records[1], "id_number").as_deref(),
        Some("**************5678")
    );
    let last = records[2].position;
    let slot = zhongtai_exchange::domain::line::default_source_object_name(line.id);
    eventually(
        PATIENCE,
        "the slot is confirmed past the delivered changes",
        || async {
            let flushed = source.confirmed_flush(&slot).await?;
            (flushed >= last).then_some(())
        },
    )
    .await;
    assert!(rig.store.runtime_now(line.id).confirmed_position >= last);
    rig.stop.cancel();
}

#[tokio::test]
async fn after_a_crash_another_instance_resumes_at_the_confirmed_position() {
    let rig = Rig::new();
    let line = log_line();
    rig.store.add_line(&line);
    let subscription = enclave_subscription(&line);
    rig.store.add_subscription(&subscription);
    let crashed = rig.runners(None);
    let crashed_tasks = rig.start(&crashed);
    let feed = eventually(PATIENCE, "the source is opened", || async {
        rig.opener.feed()
    })
    .await;
    feed.send(Ok(batch(&line, &[1, 2]))).unwrap();
    eventually(PATIENCE, "the first batch is confirmed", || async {
        rig.log
            .entries()
            .contains(&"confirm 2".to_string())
            .then_some(())
    })
    .await;
    // Gone without a goodbye: the lease stays until it lapses.
    for task in crashed_tasks {
        task.abort();
    }

    let successor = rig.runners(None);
    rig.start(&successor);
    let opens = eventually(PATIENCE, "the successor opens the line", || async {
        let opens = rig.opener.opens();
        (opens.len() == 2).then_some(opens)
    })
    .await;
    assert_eq!(opens[1], (line.id, 2), "resumed at the confirmed position");
    // The source replays what it was not sure of, and goes on.
    let feed = rig.opener.feed().unwrap();
    feed.send(Ok(batch(&line, &[1, 2, 3]))).unwrap();
    eventually(PATIENCE, "the replayed batch is confirmed", || async {
        rig.log
            .entries()
            .contains(&"confirm 3".to_string())
            .then_some(())
    })
    .await;
    let accepted: Vec<u64> = rig
        .sink
        .accepted
        .lock()
        .unwrap()
        .iter()
        .map(|c| c.position)
        .collect();
    assert_eq!(accepted, [1, 2, 3], "nothing twice, nothing missing");
}

#[tokio::test]
async fn on_the_platform_store_one_of_two_instances_carries_a_source_table_to_a_queue() {
    use zhongtai_exchange::domain::ports::{LineProvisioner, RunnerStore};

    let source = SourceDatabase::create().await;
    source
        .exec(
            "CREATE TABLE marriage_registration (id bigint PRIMARY KEY, name text, \
             id_number text, district text)",
        )
        .await;
    let config = source.config();
    let platform = Platform::create(&config).await;
    let mut line = log_line();
    if let SourceSpec::Log(spec) = &mut line.source {
        spec.connection_ref = "dept".into();
        spec.heartbeat_interval_ms = 200;
    }
    platform.store.provision_line(line.clone()).await.unwrap();
    let queue = queue_name("platform");
    let subscription = subscription(
        &line,
        Some(queue.clone()),
        granted(&[("id", MaskingRule::none()), ("id_number", keep_last(4))]),
    );
    platform
        .store
        .provision_subscription(subscription.clone())
        .await
        .unwrap();
    let publisher = Arc::new(QueuePublisher::new(rabbit_config(&amqp_url())).unwrap());
    let stop = CancellationToken::new();
    let _stop_on_exit = stop.clone().drop_guard();
    for _ in 0..2 {
        let runners = platform.runners(config.clone(), Some(publisher.clone()));
        for task in runners.background(stop.clone()) {
            tokio::spawn(task);
        }
    }
    eventually(PATIENCE, "the line streams", || async {
        let now = platform.store.line(line.id).await.unwrap()?;
        (now.state == LineState::Streaming).then_some(())
    })
    .await;

    source
        .exec(
            "INSERT INTO marriage_registration \
             SELECT i, 'name ' || i, '3301021990010' || lpad(i::text, 5, '0'), '331102' \
             FROM generate_series(1, 50) AS i",
        )
        .await;
    let taken = take(&queue, 50).await;
    assert_eq!(taken.len(), 50, "each row once, though two instances run");
    let records: Vec<pb::ChangeRecord> = taken
        .iter()
        .map(|m| pb::ChangeRecord::decode(m.delivery.data.as_slice()).unwrap())
        .collect();
    assert_eq!(
        text(&records[49], "id_number").as_deref(),
        Some("**************0050")
    );
    let last = records[49].position;
    eventually(PATIENCE, "the line's position is confirmed", || async {
        let runtime = platform.store.runtime(line.id).await.unwrap();
        (runtime.confirmed_position >= last).then_some(())
    })
    .await;
    let slot = zhongtai_exchange::domain::line::default_source_object_name(line.id);
    eventually(PATIENCE, "the slot is confirmed", || async {
        (source.confirmed_flush(&slot).await? >= last).then_some(())
    })
    .await;
    assert_eq!(
        platform
            .count(&format!(
                "SELECT COUNT(*) FROM journal_changes WHERE line_id = '{}'",
                line.id
            ))
            .await,
        50,
        "every change journaled once"
    );
    assert_eq!(
        platform
            .count(&format!(
                "SELECT COUNT(*) FROM journal_deliveries WHERE subscription_id = '{}'",
                subscription.id
            ))
            .await,
        50
    );
}
