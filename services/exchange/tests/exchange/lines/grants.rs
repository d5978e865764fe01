//! Subscriptions under catalog grants: refused without one in force,
//! provisioned and revoked by the catalog's grant events, exactly once.

use std::sync::Arc;

use chrono::{Duration, Utc};
use tonic::Code;
use uuid::Uuid;
use zhongtai_contracts::catalog::v1 as catalog;
use zhongtai_contracts::common::v1 as common;
use zhongtai_contracts::events::v1 as events;
use zhongtai_events::{Consumer, Event, EventEnvelope, EventHandler, Outcome};
use zhongtai_exchange::lines::grants::{GrantEvents, SUBSCRIPTION};
use zhongtai_kit::TenantId;
use zhongtai_kit::proto::{tenant_message, timestamp};

use super::definitions::{create, push_line};
use crate::support::lines::{Lines, another_city, as_operator, city, province};

fn grant(
    id: Uuid,
    resource: Uuid,
    grantee: &TenantId,
    state: catalog::GrantState,
    version: i64,
) -> catalog::Grant {
    catalog::Grant {
        id: id.to_string(),
        resource_id: resource.to_string(),
        owner: Some(tenant_message(&province())),
        grantee: Some(tenant_message(grantee)),
        fields: vec![
            common::FieldAccess {
                field: "name".into(),
                masking: None,
            },
            common::FieldAccess {
                field: "id_number".into(),
                masking: Some(common::MaskingRule {
                    kind: common::MaskingKind::Partial as i32,
                    keep_last: 4,
                    ..Default::default()
                }),
            },
        ],
        state: state as i32,
        version,
        ..Default::default()
    }
}

fn envelope(event: Event) -> EventEnvelope {
    EventEnvelope {
        id: Uuid::now_v7().to_string(),
        r#type: event.event_type,
        tenant: event.tenant,
        source: "catalog".into(),
        subject: event.subject,
        occurred_at: Some(timestamp(Utc::now())),
        payload: Some(event.payload),
        ..Default::default()
    }
}

fn approved(grant: catalog::Grant) -> EventEnvelope {
    let subject = grant.id.clone();
    envelope(Event::new(
        "catalog.grant.approved",
        "330000/big-data",
        subject,
        &events::GrantApproved { grant: Some(grant) },
    ))
}

fn revoked(grant: catalog::Grant) -> EventEnvelope {
    let subject = grant.id.clone();
    envelope(Event::new(
        "catalog.grant.revoked",
        "330000/big-data",
        subject,
        &events::GrantRevoked { grant: Some(grant) },
    ))
}

/// A push line feeding `resource`.
async fn line_feeding(lines: &Lines, name: &str, resource: Uuid) -> String {
    let mut line = push_line(name, "app:population");
    line.resource_id = resource.to_string();
    create(lines, line).await.id
}

async fn subscribe(
    lines: &Lines,
    tenant: &TenantId,
    line_id: &str,
    grant_id: Option<Uuid>,
) -> Result<zhongtai_contracts::exchange::v1::Subscription, tonic::Status> {
    use zhongtai_contracts::exchange::v1 as pb;
    lines
        .handlers
        .create_subscription(as_operator(
            tenant,
            pb::CreateSubscriptionRequest {
                request_id: String::new(),
                line_id: line_id.into(),
                grant_id: grant_id.map(|g| g.to_string()).unwrap_or_default(),
                queue: Some(pb::QueueDelivery {
                    queue: format!("housing.{}", Uuid::now_v7()),
                }),
                enclave: None,
            },
        ))
        .await
        .map(|r| r.into_inner().subscription.unwrap())
}

#[tokio::test]
async fn subscriptions_across_tenants_need_the_grantees_grant_in_force() {
    use zhongtai_contracts::exchange::v1 as pb;
    let lines = Lines::on_postgres(true).await;
    let resource = Uuid::now_v7();
    let line_id = line_feeding(&lines, "population-push", resource).await;
    let consumer = Consumer::new(lines.db.clone(), Arc::new(GrantEvents::new(false)));

    let no_grant = subscribe(&lines, &city(), &line_id, None)
        .await
        .unwrap_err();
    assert_eq!(no_grant.code(), Code::FailedPrecondition);
    assert!(
        no_grant.message().contains("needs a catalog grant"),
        "{}",
        no_grant.message()
    );
    let unknown = subscribe(&lines, &city(), &line_id, Some(Uuid::now_v7()))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::FailedPrecondition);

    let granted = Uuid::now_v7();
    consumer
        .process(
            SUBSCRIPTION,
            &approved(grant(
                granted,
                resource,
                &city(),
                catalog::GrantState::Approved,
                2,
            )),
        )
        .await
        .unwrap();
    let foreign = subscribe(&lines, &another_city(), &line_id, Some(granted))
        .await
        .unwrap_err();
    assert_eq!(foreign.code(), Code::PermissionDenied);
    let elsewhere = Uuid::now_v7();
    consumer
        .process(
            SUBSCRIPTION,
            &approved(grant(
                elsewhere,
                Uuid::now_v7(),
                &city(),
                catalog::GrantState::Approved,
                2,
            )),
        )
        .await
        .unwrap();
    let mismatched = subscribe(&lines, &city(), &line_id, Some(elsewhere))
        .await
        .unwrap_err();
    assert_eq!(mismatched.code(), Code::FailedPrecondition);
    assert!(
        mismatched.message().contains("covers resource"),
        "{}",
        mismatched.message()
    );

    let subscription = subscribe(&lines, &city(), &line_id, Some(granted))
        .await
        .unwrap();
    assert_eq!(subscription.state(), pb::SubscriptionState::Active);
    assert_eq!(subscription.grant_id, granted.to_string());
    let fields: Vec<_> = subscription
        .fields
        .iter()
        .map(|f| f.field.as_str())
        .collect();
    assert_eq!(fields, ["name", "id_number"]);
    assert_eq!(
        subscription.fields[1].masking.as_ref().unwrap().keep_last,
        4
    );

    // Who sees it: the subscriber and the line's owner; nobody else.
    let get = |tenant: &TenantId| {
        lines.handlers.get_subscription(as_operator(
            tenant,
            pb::GetSubscriptionRequest {
                id: subscription.id.clone(),
            },
        ))
    };
    assert!(get(&city()).await.is_ok());
    assert!(get(&province()).await.is_ok());
    assert_eq!(
        get(&another_city()).await.unwrap_err().code(),
        Code::NotFound
    );
    let listed = |tenant: &TenantId| {
        let tenant = tenant.clone();
        let handlers = &lines.handlers;
        async move {
            handlers
                .list_subscriptions(as_operator(
                    &tenant,
                    pb::ListSubscriptionsRequest::default(),
                ))
                .await
                .unwrap()
                .into_inner()
                .subscriptions
                .len()
        }
    };
    assert_eq!(listed(&city()).await, 1);
    assert_eq!(listed(&province()).await, 1);
    assert_eq!(listed(&another_city()).await, 0);
    // The subscriber now sees the line it receives, in lists too.
    let visible = lines
        .handlers
        .list_lines(as_operator(&city(), pb::ListLinesRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(visible.lines.len(), 1);
    let foreign_lines = lines
        .handlers
        .list_lines(as_operator(
            &another_city(),
            pb::ListLinesRequest::default(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(foreign_lines.lines.is_empty());

    // Pause and resume by the subscriber; others cannot.
    let pause = |tenant: &TenantId| {
        lines.handlers.pause_subscription(as_operator(
            tenant,
            pb::PauseSubscriptionRequest {
                id: subscription.id.clone(),
            },
        ))
    };
    assert_eq!(
        pause(&another_city()).await.unwrap_err().code(),
        Code::NotFound
    );
    assert_eq!(
        pause(&city())
            .await
            .unwrap()
            .into_inner()
            .subscription
            .unwrap()
            .state(),
        pb::SubscriptionState::Paused
    );
    let resumed = lines
        .handlers
        .resume_subscription(as_operator(
            &province(),
            pb::ResumeSubscriptionRequest {
                id: subscription.id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .subscription
        .unwrap();
    assert_eq!(resumed.state(), pb::SubscriptionState::Active);

    // A revoked grant stops the subscription and admits no new one.
    consumer
        .process(
            SUBSCRIPTION,
            &revoked(grant(
                granted,
                resource,
                &city(),
                catalog::GrantState::Revoked,
                3,
            )),
        )
        .await
        .unwrap();
    let after = get(&city())
        .await
        .unwrap()
        .into_inner()
        .subscription
        .unwrap();
    assert_eq!(after.state(), pb::SubscriptionState::Revoked);
    assert_eq!(after.state_reason, "grant revoked");
    let refused = subscribe(&lines, &city(), &line_id, Some(granted))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(
        refused.message().contains("revoked"),
        "{}",
        refused.message()
    );
    assert_eq!(
        lines
            .count_events("exchange.subscription.state_changed", &subscription.id)
            .await,
        3,
        "paused, resumed, revoked"
    );
}

#[tokio::test]
async fn queue_subscriptions_need_a_broker() {
    use zhongtai_contracts::exchange::v1 as pb;
    let lines = Lines::on_sqlite(false).await;
    let line = create(&lines, push_line("population-push", "app:population")).await;
    let refused = subscribe(&lines, &province(), &line.id, None)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(refused.message().contains("queue delivery needs RabbitMQ"));
    let enclave = lines.enclaves.add(&province());
    let foreign_enclave = lines.enclaves.add(&city());
    let into = |enclave: Uuid| pb::CreateSubscriptionRequest {
        line_id: line.id.clone(),
        enclave: Some(pb::EnclaveDelivery {
            enclave_id: enclave.to_string(),
            table: "person".into(),
        }),
        ..Default::default()
    };
    let status = lines
        .handlers
        .create_subscription(as_operator(&province(), into(foreign_enclave)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    let subscription = lines
        .handlers
        .create_subscription(as_operator(&province(), into(enclave)))
        .await
        .unwrap()
        .into_inner()
        .subscription
        .unwrap();
    assert!(subscription.queue.is_none());
    assert_eq!(subscription.enclave.as_ref().unwrap().table, "person");
    let once = || pb::CreateSubscriptionRequest {
        request_id: "into-the-enclave".into(),
        ..into(enclave)
    };
    let first = lines
        .handlers
        .create_subscription(as_operator(&province(), once()))
        .await
        .unwrap()
        .into_inner()
        .subscription
        .unwrap();
    let again = lines
        .handlers
        .create_subscription(as_operator(&province(), once()))
        .await
        .unwrap()
        .into_inner()
        .subscription
        .unwrap();
    assert_eq!(
        first.id, again.id,
        "the same request creates one subscription"
    );
    assert_ne!(first.id, subscription.id);
    for bad in [
        pb::CreateSubscriptionRequest {
            line_id: line.id.clone(),
            ..Default::default()
        },
        pb::CreateSubscriptionRequest {
            line_id: "line".into(),
            enclave: into(enclave).enclave,
            ..Default::default()
        },
        pb::CreateSubscriptionRequest {
            enclave: Some(pb::EnclaveDelivery {
                enclave_id: enclave.to_string(),
                table: "bad table".into(),
            }),
            ..into(enclave)
        },
        pb::CreateSubscriptionRequest {
            queue: Some(pb::QueueDelivery {
                queue: "has space".into(),
            }),
            ..into(enclave)
        },
    ] {
        let status = lines
            .handlers
            .create_subscription(as_operator(&province(), bad.clone()))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{bad:?}");
    }
}

#[tokio::test]
async fn grant_events_provision_and_revoke_subscriptions_exactly_once() {
    use zhongtai_contracts::exchange::v1 as pb;
    let lines = Lines::on_postgres(true).await;
    let resource = Uuid::now_v7();
    let first = line_feeding(&lines, "population-push", resource).await;
    let second = line_feeding(&lines, "population-push-2", resource).await;
    let _unrelated = line_feeding(&lines, "licences", Uuid::now_v7()).await;
    // Another region linking its own line to the resource feeds no grantee.
    let mut elsewhere = push_line("copied-population", "app:elsewhere");
    elsewhere.resource_id = resource.to_string();
    lines
        .handlers
        .create_line(as_operator(
            &crate::support::lines::tenant("320000", "big-data"),
            zhongtai_contracts::exchange::v1::CreateLineRequest {
                request_id: String::new(),
                line: Some(elsewhere),
            },
        ))
        .await
        .unwrap();
    let handler: Arc<dyn EventHandler> = Arc::new(GrantEvents::new(true));
    let consumer = Consumer::new(lines.db.clone(), handler);
    let grant_id = Uuid::now_v7();
    let approval = approved(grant(
        grant_id,
        resource,
        &city(),
        catalog::GrantState::Approved,
        2,
    ));

    assert_eq!(
        consumer.process(SUBSCRIPTION, &approval).await.unwrap(),
        Outcome::Processed
    );
    assert_eq!(
        consumer.process(SUBSCRIPTION, &approval).await.unwrap(),
        Outcome::Duplicate
    );
    // The same announcement under another event id: the ids are derived.
    let republished = approved(grant(
        grant_id,
        resource,
        &city(),
        catalog::GrantState::Approved,
        2,
    ));
    assert_eq!(
        consumer.process(SUBSCRIPTION, &republished).await.unwrap(),
        Outcome::Processed
    );

    let provisioned = lines
        .handlers
        .list_subscriptions(as_operator(
            &city(),
            pb::ListSubscriptionsRequest {
                grant_id: grant_id.to_string(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .subscriptions;
    let mut provisioned_lines: Vec<_> = provisioned.iter().map(|s| s.line_id.clone()).collect();
    provisioned_lines.sort();
    let mut expected = vec![first.clone(), second.clone()];
    expected.sort();
    assert_eq!(provisioned_lines, expected);
    for subscription in &provisioned {
        assert_eq!(
            subscription.id,
            Uuid::new_v5(
                &grant_id,
                Uuid::parse_str(&subscription.line_id).unwrap().as_bytes()
            )
            .to_string()
        );
        assert_eq!(
            subscription.queue.as_ref().unwrap().queue,
            format!("zhongtai.exchange.{}", subscription.id)
        );
        assert_eq!(
            subscription.subscriber.as_ref().unwrap().department,
            "housing-fund"
        );
        assert_eq!(
            lines
                .count_events("exchange.subscription.created", &subscription.id)
                .await,
            1
        );
    }

    let revocation = revoked(grant(
        grant_id,
        resource,
        &city(),
        catalog::GrantState::Revoked,
        3,
    ));
    consumer.process(SUBSCRIPTION, &revocation).await.unwrap();
    consumer.process(SUBSCRIPTION, &revocation).await.unwrap();
    // A late, older approval changes nothing.
    consumer
        .process(
            SUBSCRIPTION,
            &approved(grant(
                grant_id,
                resource,
                &city(),
                catalog::GrantState::Approved,
                2,
            )),
        )
        .await
        .unwrap();
    for subscription in &provisioned {
        let after = lines
            .store
            .find_subscription(subscription.id.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(after.state.as_str(), "revoked");
        assert_eq!(after.state_reason, "grant revoked");
        assert_eq!(
            lines
                .count_events("exchange.subscription.state_changed", &subscription.id)
                .await,
            1
        );
    }
    let stored = lines.store.grant(grant_id).await.unwrap().unwrap();
    assert_eq!(stored.version, 3);
    assert_eq!(stored.state.as_str(), "revoked");
}

#[tokio::test]
async fn grants_past_their_validity_stop_their_subscriptions() {
    let lines = Lines::on_postgres(true).await;
    let resource = Uuid::now_v7();
    let line_id = line_feeding(&lines, "population-push", resource).await;
    let consumer = Consumer::new(lines.db.clone(), Arc::new(GrantEvents::new(true)));
    let grant_id = Uuid::now_v7();
    let end = Utc::now() + Duration::hours(1);
    let mut message = grant(
        grant_id,
        resource,
        &city(),
        catalog::GrantState::Approved,
        2,
    );
    message.period = Some(common::Period {
        start_time: None,
        end_time: Some(timestamp(end)),
    });
    consumer
        .process(SUBSCRIPTION, &approved(message))
        .await
        .unwrap();
    let id = Uuid::new_v5(&grant_id, Uuid::parse_str(&line_id).unwrap().as_bytes());
    assert_eq!(
        lines
            .store
            .find_subscription(id)
            .await
            .unwrap()
            .unwrap()
            .state
            .as_str(),
        "active"
    );

    assert_eq!(lines.store.expire_due_grants(Utc::now()).await.unwrap(), 0);
    assert_eq!(
        lines
            .store
            .expire_due_grants(end + Duration::seconds(1))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        lines
            .store
            .expire_due_grants(end + Duration::seconds(2))
            .await
            .unwrap(),
        0
    );
    let after = lines.store.find_subscription(id).await.unwrap().unwrap();
    assert_eq!(after.state.as_str(), "revoked");
    assert_eq!(after.state_reason, "grant expired");
}

#[tokio::test]
async fn lines_linked_to_a_granted_resource_get_the_grants_subscriptions() {
    use zhongtai_contracts::exchange::v1 as pb;
    let lines = Lines::on_postgres(true).await;
    let resource = Uuid::now_v7();
    let consumer = Consumer::new(lines.db.clone(), Arc::new(GrantEvents::new(true)));
    let grant_id = Uuid::now_v7();
    consumer
        .process(
            SUBSCRIPTION,
            &approved(grant(
                grant_id,
                resource,
                &city(),
                catalog::GrantState::Approved,
                2,
            )),
        )
        .await
        .unwrap();

    // The line comes after the grant: linking it provisions the subscription.
    let line_id = line_feeding(&lines, "population-push", resource).await;
    let id = Uuid::new_v5(&grant_id, Uuid::parse_str(&line_id).unwrap().as_bytes());
    let provisioned = lines.store.find_subscription(id).await.unwrap().unwrap();
    assert_eq!(provisioned.state.as_str(), "active");
    assert_eq!(provisioned.subscriber, city());

    // Linked to another resource: the grant no longer covers it.
    let line = lines
        .handlers
        .get_line(as_operator(
            &province(),
            pb::GetLineRequest {
                id: line_id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .line
        .unwrap();
    lines
        .handlers
        .update_line(as_operator(
            &province(),
            pb::UpdateLineRequest {
                line: Some(pb::Line {
                    resource_id: Uuid::now_v7().to_string(),
                    ..line
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["resource_id".into()],
                }),
            },
        ))
        .await
        .unwrap();
    let after = lines.store.find_subscription(id).await.unwrap().unwrap();
    assert_eq!(after.state.as_str(), "revoked");
    assert_eq!(
        after.state_reason,
        "line no longer feeds the granted resource"
    );
}
