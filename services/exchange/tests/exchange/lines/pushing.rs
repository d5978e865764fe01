//! PushChanges: the producer alone pushes, each change is checked, what
//! the line already holds is skipped, and the cursor moves only with
//! delivery.

use futures::stream;
use tonic::{Code, Status};
use zhongtai_contracts::exchange::v1 as pb;
use zhongtai_contracts::exchange::v1::column_value::Value;
use zhongtai_exchange::domain::ports::{DeliveredUpdate, RunnerStore};

use super::definitions::{create, push_line};
use crate::support::lines::{Lines, as_app, as_operator, province};

const PRODUCER: &str = "app:population-registry";

fn header(line_id: &str) -> pb::PushChangesRequest {
    pb::PushChangesRequest {
        message: Some(pb::push_changes_request::Message::Header(pb::PushHeader {
            line_id: line_id.into(),
            producer_id: "registry-1".into(),
        })),
    }
}

fn int(name: &str, value: i64) -> pb::ColumnValue {
    pb::ColumnValue {
        name: name.into(),
        value: Some(Value::IntValue(value)),
        unchanged: false,
    }
}

fn change(sequence: u64) -> pb::PushedChange {
    pb::PushedChange {
        sequence,
        table: "person".into(),
        operation: pb::ChangeOperation::Insert as i32,
        key: vec![int("id", i64::try_from(sequence).unwrap())],
        after: vec![
            int("id", i64::try_from(sequence).unwrap()),
            pb::ColumnValue {
                name: "name".into(),
                value: Some(Value::StringValue("张三".into())),
                unchanged: false,
            },
        ],
        ..Default::default()
    }
}

fn changes(sequences: impl IntoIterator<Item = u64>) -> Vec<pb::PushChangesRequest> {
    sequences
        .into_iter()
        .map(|s| pb::PushChangesRequest {
            message: Some(pb::push_changes_request::Message::Change(change(s))),
        })
        .collect()
}

async fn push(
    lines: &Lines,
    subject: &str,
    messages: Vec<pb::PushChangesRequest>,
) -> Result<pb::PushChangesResponse, Status> {
    let messages = stream::iter(messages.into_iter().map(Ok::<_, Status>));
    lines
        .handlers
        .push_changes(as_app(subject, messages))
        .await
        .map(|r| r.into_inner())
}

async fn cursor(lines: &Lines, line_id: &str) -> u64 {
    lines
        .handlers
        .get_push_cursor(as_app(
            PRODUCER,
            pb::GetPushCursorRequest {
                line_id: line_id.into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .acked_sequence
}

#[tokio::test]
async fn pushed_changes_reach_delivery_once_in_batches() {
    let lines = Lines::on_postgres(true).await;
    let line = create(&lines, push_line("population-push", PRODUCER)).await;
    let first = [vec![header(&line.id)], changes(1..=1500)].concat();
    let response = push(&lines, PRODUCER, first).await.unwrap();
    assert_eq!(response.acked_sequence, 1500);
    assert_eq!(response.accepted_count, 1500);
    assert_eq!(response.duplicate_count, 0);
    assert_eq!(lines.delivery.batch_sizes(), [1000, 500]);
    let batches = lines.delivery.batches.lock().unwrap().clone();
    assert_eq!(batches[1].confirm_position, 1500);
    let first_change = &batches[0].changes[0];
    assert_eq!(first_change.table, "public.person");
    assert_eq!(first_change.position, 1);
    assert!(first_change.hops.commit.is_some() && first_change.hops.capture.is_some());
    assert_eq!(cursor(&lines, &line.id).await, 1500);

    // A producer resuming from an older point: what the line holds is skipped.
    let resumed = [vec![header(&line.id)], changes(1401..=1600)].concat();
    let response = push(&lines, PRODUCER, resumed).await.unwrap();
    assert_eq!(response.acked_sequence, 1600);
    assert_eq!(response.accepted_count, 100);
    assert_eq!(response.duplicate_count, 100);
    assert_eq!(lines.delivery.positions().len(), 1600);
    assert_eq!(*lines.delivery.positions().last().unwrap(), 1600);

    let status = lines
        .handlers
        .get_line_status(as_operator(
            &province(),
            pb::GetLineStatusRequest {
                id: line.id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.confirmed_position, "1600");
    assert_eq!(status.line.unwrap().state(), pb::LineState::Streaming);

    // A subscriber behind the line shows an unknown backlog until it has
    // received everything confirmed.
    let subscription = lines
        .handlers
        .create_subscription(as_operator(
            &province(),
            pb::CreateSubscriptionRequest {
                line_id: line.id.clone(),
                queue: Some(pb::QueueDelivery::default()),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .subscription
        .unwrap();
    let lag = || {
        lines.handlers.get_line_status(as_operator(
            &province(),
            pb::GetLineStatusRequest {
                id: line.id.clone(),
            },
        ))
    };
    let behind = lag().await.unwrap().into_inner().subscriptions;
    assert_eq!(behind.len(), 1);
    assert_eq!(behind[0].subscription_id, subscription.id);
    assert_eq!(behind[0].backlog, -1);
    lines
        .store
        .record_delivered(&[DeliveredUpdate {
            subscription_id: subscription.id.parse().unwrap(),
            position: 1600,
            commit_time: chrono::Utc::now(),
            lag_ms: 8,
        }])
        .await
        .unwrap();
    let caught_up = lag().await.unwrap().into_inner().subscriptions;
    assert_eq!(caught_up[0].backlog, 0);
    assert_eq!(caught_up[0].lag.as_ref().unwrap().seconds, 0);
    assert_eq!(caught_up[0].lag.as_ref().unwrap().nanos, 0);
}

#[tokio::test]
async fn pushes_are_refused_with_the_reason() {
    let lines = Lines::on_postgres(true).await;
    let line = create(&lines, push_line("population-push", PRODUCER)).await;
    let with_header = |rest: Vec<pb::PushChangesRequest>| [vec![header(&line.id)], rest].concat();

    let wrong_producer = push(&lines, "app:someone-else", with_header(changes(1..=3)))
        .await
        .unwrap_err();
    assert_eq!(wrong_producer.code(), Code::PermissionDenied);
    let headless = push(&lines, PRODUCER, changes(1..=3)).await.unwrap_err();
    assert_eq!(headless.code(), Code::InvalidArgument);
    let unknown = push(
        &lines,
        PRODUCER,
        vec![header(&uuid::Uuid::now_v7().to_string())],
    )
    .await
    .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);

    let mut bad_key = change(1);
    bad_key.key = vec![int("person_id", 1)];
    let mut no_operation = change(1);
    no_operation.operation = 0;
    let mut no_after = change(1);
    no_after.after.clear();
    let mut other_table = change(1);
    other_table.table = "licence".into();
    for (what, bad) in [
        ("key", bad_key),
        ("operation", no_operation),
        ("after", no_after),
        ("table", other_table),
    ] {
        let message = pb::PushChangesRequest {
            message: Some(pb::push_changes_request::Message::Change(bad)),
        };
        let status = push(&lines, PRODUCER, with_header(vec![message]))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{what}: {status:?}");
    }
    let backwards = push(&lines, PRODUCER, with_header(changes([1, 3, 2])))
        .await
        .unwrap_err();
    assert_eq!(backwards.code(), Code::InvalidArgument);
    assert!(
        backwards.message().contains("acked sequence 0"),
        "{}",
        backwards.message()
    );
    assert!(
        lines.delivery.positions().is_empty(),
        "nothing before the bad change was delivered"
    );

    let too_many = push(&lines, PRODUCER, with_header(changes(1..=10_001)))
        .await
        .unwrap_err();
    assert_eq!(too_many.code(), Code::ResourceExhausted);
    assert_eq!(
        cursor(&lines, &line.id).await,
        10_000,
        "the full batches before the limit stand"
    );

    *lines.delivery.failing.lock().unwrap() = true;
    let unavailable = push(&lines, PRODUCER, with_header(changes(10_001..=10_002)))
        .await
        .unwrap_err();
    assert_eq!(unavailable.code(), Code::Unavailable);
    assert!(
        unavailable.message().contains("acked sequence 10000"),
        "{}",
        unavailable.message()
    );
    *lines.delivery.failing.lock().unwrap() = false;

    lines
        .handlers
        .pause_line(as_operator(
            &province(),
            pb::PauseLineRequest {
                id: line.id.clone(),
                reason: String::new(),
            },
        ))
        .await
        .unwrap();
    let paused = push(&lines, PRODUCER, with_header(changes(10_001..=10_002)))
        .await
        .unwrap_err();
    assert_eq!(paused.code(), Code::FailedPrecondition);
}
