//! Creating, reading, changing and retiring lines.

use prost_types::{Duration, FieldMask};
use tonic::Code;
use zhongtai_contracts::exchange::v1 as pb;

use crate::support::lines::{Lines, as_operator, city, province};

pub fn log_line(name: &str) -> pb::Line {
    pb::Line {
        name: name.into(),
        description: "婚姻登记 changes".into(),
        source: Some(pb::line::Source::LogSource(pb::LogSource {
            connection_ref: "civil-affairs".into(),
            tables: vec![pb::SourceTable {
                schema: String::new(),
                name: "marriage_registration".into(),
                key_columns: vec![],
            }],
            snapshot_mode: pb::SnapshotMode::Initial as i32,
            ..Default::default()
        })),
        ..Default::default()
    }
}

pub fn push_line(name: &str, producer: &str) -> pb::Line {
    pb::Line {
        name: name.into(),
        source: Some(pb::line::Source::PushSource(pb::PushSource {
            tables: vec![pb::SourceTable {
                schema: "public".into(),
                name: "person".into(),
                key_columns: vec!["id".into()],
            }],
            producer_subject: producer.into(),
        })),
        ..Default::default()
    }
}

pub async fn create(lines: &Lines, line: pb::Line) -> pb::Line {
    lines
        .handlers
        .create_line(as_operator(
            &province(),
            pb::CreateLineRequest {
                request_id: String::new(),
                line: Some(line),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .line
        .unwrap()
}

#[tokio::test]
async fn lines_live_through_their_states_on_postgres() {
    line_lifecycle(Lines::on_postgres(true).await).await;
}

#[tokio::test]
async fn lines_live_through_their_states_on_sqlite() {
    line_lifecycle(Lines::on_sqlite(false).await).await;
}

async fn line_lifecycle(lines: Lines) {
    let api = &lines.handlers;
    let create_request = || pb::CreateLineRequest {
        request_id: "create-marriage-cdc".into(),
        line: Some(log_line("marriage-cdc")),
    };
    let created = api
        .create_line(as_operator(&province(), create_request()))
        .await
        .unwrap()
        .into_inner()
        .line
        .unwrap();
    assert_eq!(created.state(), pb::LineState::Provisioning);
    assert_eq!(
        created.snapshot.as_ref().unwrap().state(),
        pb::SnapshotState::Pending
    );
    assert_eq!(created.owner.as_ref().unwrap().department, "big-data");
    let Some(pb::line::Source::LogSource(log)) = &created.source else {
        panic!("a log line");
    };
    assert_eq!(log.tables[0].schema, "public");
    assert_eq!(log.heartbeat_interval.as_ref().unwrap().seconds, 10);

    let again = api
        .create_line(as_operator(&province(), create_request()))
        .await
        .unwrap()
        .into_inner()
        .line
        .unwrap();
    assert_eq!(again.id, created.id, "the same request creates one line");
    assert_eq!(
        lines
            .count_events("exchange.line.created", &created.id)
            .await,
        1
    );

    let same_name = api
        .create_line(as_operator(
            &province(),
            pb::CreateLineRequest {
                request_id: "another".into(),
                line: Some(log_line("marriage-cdc")),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(same_name.code(), Code::AlreadyExists);

    let push = create(&lines, push_line("population-push", "app:population")).await;
    assert_eq!(push.state(), pb::LineState::Streaming);
    assert_eq!(
        push.snapshot.as_ref().unwrap().state(),
        pb::SnapshotState::Skipped
    );

    let (owner, other) = (province(), city());
    let get =
        |tenant, id: &str| api.get_line(as_operator(tenant, pb::GetLineRequest { id: id.into() }));
    assert_eq!(
        get(&owner, &created.id)
            .await
            .unwrap()
            .into_inner()
            .line
            .unwrap()
            .name,
        "marriage-cdc"
    );
    assert_eq!(
        get(&other, &created.id).await.unwrap_err().code(),
        Code::NotFound
    );
    assert_eq!(
        get(&owner, "not-a-uuid").await.unwrap_err().code(),
        Code::InvalidArgument
    );

    // Changes: by mask, at the version read.
    let update = |line: pb::Line, paths: &[&str]| {
        api.update_line(as_operator(
            &province(),
            pb::UpdateLineRequest {
                line: Some(line),
                update_mask: Some(FieldMask {
                    paths: paths.iter().map(|p| p.to_string()).collect(),
                }),
            },
        ))
    };
    let mut change = created.clone();
    change.description = "marriages, from the log".into();
    change.name = "ignored-without-mask".into();
    if let Some(pb::line::Source::LogSource(log)) = &mut change.source {
        log.heartbeat_interval = Some(Duration {
            seconds: 30,
            nanos: 0,
        });
    }
    let updated = update(
        change.clone(),
        &["description", "log_source.heartbeat_interval"],
    )
    .await
    .unwrap()
    .into_inner()
    .line
    .unwrap();
    assert_eq!(updated.version, created.version + 1);
    assert_eq!(updated.description, "marriages, from the log");
    assert_eq!(updated.name, "marriage-cdc");
    let Some(pb::line::Source::LogSource(log)) = &updated.source else {
        panic!("a log line");
    };
    assert_eq!(log.heartbeat_interval.as_ref().unwrap().seconds, 30);
    assert_eq!(
        lines
            .count_events("exchange.line.updated", &created.id)
            .await,
        1
    );

    let stale = update(change.clone(), &["description"]).await.unwrap_err();
    assert_eq!(stale.code(), Code::Aborted, "{stale:?}");
    let mut current = updated.clone();
    for paths in [
        &[][..],
        &["name"][..],
        &["push_source.tables"][..],
        &["log_source.heartbeat_interval"][..],
    ] {
        if let Some(pb::line::Source::LogSource(log)) = &mut current.source {
            log.heartbeat_interval = Some(Duration {
                seconds: 0,
                nanos: 5,
            });
        }
        let status = update(current.clone(), paths).await.unwrap_err();
        assert_eq!(
            status.code(),
            Code::InvalidArgument,
            "{paths:?}: {status:?}"
        );
    }
    current.description = "x".repeat(2001);
    assert_eq!(
        update(current.clone(), &["description"])
            .await
            .unwrap_err()
            .code(),
        Code::InvalidArgument
    );
    let mut foreign = updated.clone();
    foreign.description = "from the city".into();
    let status = api
        .update_line(as_operator(
            &city(),
            pb::UpdateLineRequest {
                line: Some(foreign),
                update_mask: Some(FieldMask {
                    paths: vec!["description".into()],
                }),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);

    // Pause, resume (the snapshot never completed: provisioning again), delete.
    let pause = || {
        api.pause_line(as_operator(
            &province(),
            pb::PauseLineRequest {
                id: created.id.clone(),
                reason: "maintenance window".into(),
            },
        ))
    };
    let paused = pause().await.unwrap().into_inner().line.unwrap();
    assert_eq!(paused.state(), pb::LineState::Paused);
    assert_eq!(paused.state_reason, "maintenance window");
    let paused_again = pause().await.unwrap().into_inner().line.unwrap();
    assert_eq!(
        paused_again.version, paused.version,
        "pausing twice changes nothing"
    );
    let resumed = api
        .resume_line(as_operator(
            &province(),
            pb::ResumeLineRequest {
                id: created.id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .line
        .unwrap();
    assert_eq!(resumed.state(), pb::LineState::Provisioning);
    let deleted = api
        .delete_line(as_operator(
            &province(),
            pb::DeleteLineRequest {
                id: created.id.clone(),
                force: false,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .line
        .unwrap();
    assert_eq!(deleted.state(), pb::LineState::Deleted);
    let resume_deleted = api
        .resume_line(as_operator(
            &province(),
            pb::ResumeLineRequest {
                id: created.id.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(resume_deleted.code(), Code::FailedPrecondition);
    assert_eq!(
        lines
            .count_events("exchange.line.state_changed", &created.id)
            .await,
        3,
        "paused, resumed, deleted"
    );
}

#[tokio::test]
async fn bad_definitions_are_refused_and_nothing_is_stored() {
    let lines = Lines::on_postgres(true).await;
    let mut bad: Vec<(&str, pb::Line)> = Vec::new();
    bad.push(("short name", log_line("ab")));
    bad.push(("uppercase", log_line("Marriage")));
    bad.push((
        "no source",
        pb::Line {
            source: None,
            ..log_line("no-source")
        },
    ));
    let with_log = |edit: fn(&mut pb::LogSource)| {
        let mut line = log_line("bad-log");
        if let Some(pb::line::Source::LogSource(log)) = &mut line.source {
            edit(log);
        }
        line
    };
    bad.push(("no tables", with_log(|log| log.tables.clear())));
    bad.push((
        "too many tables",
        with_log(|log| {
            log.tables = (0..201)
                .map(|i| pb::SourceTable {
                    name: format!("t{i}"),
                    ..Default::default()
                })
                .collect()
        }),
    ));
    bad.push((
        "bad table name",
        with_log(|log| log.tables[0].name = "x; drop".into()),
    ));
    bad.push(("no connection", with_log(|log| log.connection_ref.clear())));
    bad.push((
        "bad connection",
        with_log(|log| log.connection_ref = "Civil Affairs".into()),
    ));
    bad.push((
        "heartbeat too short",
        with_log(|log| {
            log.heartbeat_interval = Some(Duration {
                seconds: 0,
                nanos: 1_000_000,
            })
        }),
    ));
    bad.push((
        "heartbeat too long",
        with_log(|log| {
            log.heartbeat_interval = Some(Duration {
                seconds: 601,
                nanos: 0,
            })
        }),
    ));
    bad.push(("snapshot mode", with_log(|log| log.snapshot_mode = 9)));
    bad.push(("push without keys", {
        let mut line = push_line("bad-push", "app:x");
        if let Some(pb::line::Source::PushSource(push)) = &mut line.source {
            push.tables[0].key_columns.clear();
        }
        line
    }));
    bad.push(("push without producer", push_line("bad-push", "")));
    bad.push((
        "long description",
        pb::Line {
            description: "婚".repeat(2001),
            ..log_line("long-description")
        },
    ));
    bad.push((
        "bad resource",
        pb::Line {
            resource_id: "marriages".into(),
            ..log_line("bad-resource")
        },
    ));
    for (what, line) in bad {
        let status = lines
            .handlers
            .create_line(as_operator(
                &province(),
                pb::CreateLineRequest {
                    request_id: String::new(),
                    line: Some(line),
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{what}: {status:?}");
    }
    let listed = lines
        .handlers
        .list_lines(as_operator(&province(), pb::ListLinesRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.lines.is_empty());
    assert!(lines.events().await.is_empty());
}

#[tokio::test]
async fn enclave_lines_read_only_their_owners_enclaves() {
    let lines = Lines::on_postgres(true).await;
    let own = lines.enclaves.add(&province());
    let foreign = lines.enclaves.add(&city());
    let enclave_line = |enclave: uuid::Uuid| pb::Line {
        name: "province-onward".into(),
        source: Some(pb::line::Source::EnclaveSource(pb::EnclaveSource {
            enclave_id: enclave.to_string(),
            tables: vec!["licence".into()],
        })),
        ..Default::default()
    };
    let refused = lines
        .handlers
        .create_line(as_operator(
            &province(),
            pb::CreateLineRequest {
                request_id: String::new(),
                line: Some(enclave_line(foreign)),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    let created = create(&lines, enclave_line(own)).await;
    assert_eq!(created.state(), pb::LineState::Streaming);
}

#[tokio::test]
async fn deleting_a_line_with_subscribers_needs_force() {
    let lines = Lines::on_postgres(true).await;
    let line = create(&lines, push_line("population-push", "app:population")).await;
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
    assert_eq!(
        subscription.queue.as_ref().unwrap().queue,
        format!("zhongtai.exchange.{}", subscription.id)
    );
    let delete = |force| {
        lines.handlers.delete_line(as_operator(
            &province(),
            pb::DeleteLineRequest {
                id: line.id.clone(),
                force,
            },
        ))
    };
    assert_eq!(
        delete(false).await.unwrap_err().code(),
        Code::FailedPrecondition
    );
    assert_eq!(
        delete(true)
            .await
            .unwrap()
            .into_inner()
            .line
            .unwrap()
            .state(),
        pb::LineState::Deleted
    );
    let after = lines
        .handlers
        .get_subscription(as_operator(
            &province(),
            pb::GetSubscriptionRequest {
                id: subscription.id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .subscription
        .unwrap();
    assert_eq!(after.state(), pb::SubscriptionState::Deleted);
    assert_eq!(after.state_reason, "line deleted");
    assert_eq!(
        lines
            .count_events("exchange.subscription.state_changed", &subscription.id)
            .await,
        1
    );
}
