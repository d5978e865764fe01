//! SetPolicy validation, versions and scope; the loader sees policies.

use prost_types::Duration;
use tonic::Code;
use zhongtai_contracts::gateway::v1 as pb;
use zhongtai_gateway::domain::ConfigSource;

use crate::fixture::{CITY, Engine, OTHER_CITY, Plane, as_admin, as_viewer, violated_fields};

#[tokio::test]
async fn policies_on_sqlite() {
    policy_rules(Plane::on(Engine::Sqlite).await).await;
}

#[tokio::test]
async fn policies_on_postgres() {
    policy_rules(Plane::on(Engine::Postgres).await).await;
}

fn policy(app_id: &str, capability: &str, version: i64) -> pb::Policy {
    pb::Policy {
        app_id: app_id.into(),
        capability: capability.into(),
        rate_limit: Some(pb::RateLimit {
            requests: 100,
            period: Some(Duration {
                seconds: 1,
                nanos: 0,
            }),
            burst: 0,
        }),
        quotas: vec![pb::Quota {
            window: pb::QuotaWindow::Day as i32,
            limit: 10_000,
        }],
        max_concurrency: 20,
        version,
        ..Default::default()
    }
}

fn set(policy: pb::Policy) -> pb::SetPolicyRequest {
    pb::SetPolicyRequest {
        policy: Some(policy),
    }
}

async fn policy_rules(plane: Plane) {
    let app = plane.app("bank", CITY).await;
    let api = &plane.policies;
    let revision = plane.config.revision().await.unwrap();
    let stored = api
        .set_policy(as_admin(CITY, set(policy(&app.id, "*", 0))))
        .await
        .unwrap()
        .into_inner()
        .policy
        .unwrap();
    assert_eq!(stored.version, 1);
    assert_eq!(plane.config.revision().await.unwrap(), revision + 1);
    assert_eq!(
        stored.rate_limit.unwrap().burst,
        100,
        "burst 0 means requests"
    );
    let replaced = api
        .set_policy(as_admin(
            CITY,
            set(pb::Policy {
                max_concurrency: 5,
                ..policy(&app.id, "*", 1)
            }),
        ))
        .await
        .unwrap()
        .into_inner()
        .policy
        .unwrap();
    assert_eq!(
        (
            replaced.version,
            replaced.max_concurrency,
            replaced.id.as_str()
        ),
        (2, 5, stored.id.as_str())
    );
    let stale = api
        .set_policy(as_admin(CITY, set(policy(&app.id, "*", 1))))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    let overwrite = api
        .set_policy(as_admin(CITY, set(policy(&app.id, "*", 0))))
        .await
        .unwrap();
    assert_eq!(overwrite.into_inner().policy.unwrap().version, 3);

    let foreign = api
        .set_policy(as_admin(OTHER_CITY, set(policy(&app.id, "*", 0))))
        .await
        .unwrap_err();
    assert_eq!(foreign.code(), Code::NotFound);

    let bad = pb::Policy {
        rate_limit: Some(pb::RateLimit {
            requests: 0,
            period: Some(Duration {
                seconds: 7200,
                nanos: 0,
            }),
            burst: 0,
        }),
        quotas: vec![
            pb::Quota {
                window: pb::QuotaWindow::Day as i32,
                limit: 1,
            },
            pb::Quota {
                window: pb::QuotaWindow::Day as i32,
                limit: 2,
            },
        ],
        max_concurrency: 100_001,
        ..policy(&app.id, "Certificate", 0)
    };
    let status = api.set_policy(as_admin(CITY, set(bad))).await.unwrap_err();
    assert_eq!(
        violated_fields(&status),
        [
            "policy.capability",
            "policy.rate_limit.requests",
            "policy.rate_limit.period",
            "policy.quotas[1].window",
            "policy.max_concurrency"
        ]
    );

    api.set_policy(as_admin(
        CITY,
        set(policy(&app.id, "certificate.verify", 0)),
    ))
    .await
    .unwrap();
    let got = api
        .get_policy(as_viewer(
            CITY,
            pb::GetPolicyRequest {
                app_id: app.id.clone(),
                capability: "certificate.verify".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .policy
        .unwrap();
    assert_eq!(got.quotas.len(), 1);
    let listed = api
        .list_policies(as_viewer(CITY, pb::ListPoliciesRequest::default()))
        .await
        .unwrap()
        .into_inner();
    let targets: Vec<_> = listed
        .policies
        .iter()
        .map(|p| p.capability.as_str())
        .collect();
    assert_eq!(targets, ["*", "certificate.verify"]);
    let elsewhere = api
        .list_policies(as_viewer(OTHER_CITY, pb::ListPoliciesRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(elsewhere.policies.is_empty());
    assert_eq!(plane.config.load().await.unwrap().policies.len(), 2);

    let delete = || pb::DeletePolicyRequest {
        app_id: app.id.clone(),
        capability: "certificate.verify".into(),
    };
    api.delete_policy(as_admin(CITY, delete())).await.unwrap();
    let gone = api
        .delete_policy(as_admin(CITY, delete()))
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
}
