//! Shared limits and replay protection as two gateway instances see them:
//! two `SharedLimits` / `NonceStore` on one PostgreSQL database; and the
//! Python client's signature checked by the Rust verifier.

// Helpers run only inside tests, where a panic is a failure with a location.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use http::{HeaderMap, HeaderName, HeaderValue};
use sea_orm::DatabaseConnection;
use uuid::Uuid;
use zhongtai_gateway::domain::{CapabilityName, Limits, Quota, QuotaWindow, RateLimit};
use zhongtai_gateway::limits::{LimitReason, NonceStore, SharedLimits};
use zhongtai_gateway::migration::Migrator;
use zhongtai_gateway::signing;
use zhongtai_store::StoreConfig;
use zhongtai_testkit::TestDatabase;

async fn connect(url: &str) -> DatabaseConnection {
    zhongtai_store::connect(&StoreConfig {
        url: url.into(),
        ..StoreConfig::default()
    })
    .await
    .unwrap()
}

/// Two instances' connections to one freshly migrated database.
async fn two_instances(database: &TestDatabase) -> (DatabaseConnection, DatabaseConnection) {
    let first = connect(database.url()).await;
    zhongtai_store::migrate::<Migrator>(&first).await.unwrap();
    (first, connect(database.url()).await)
}

fn capability() -> CapabilityName {
    CapabilityName::parse("certificate.verify").unwrap()
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// Calls `admit` `tries` times from each of `tasks` tasks per instance;
/// returns how many were admitted.
async fn hammer(
    instances: [&SharedLimits; 2],
    app_id: Uuid,
    limits: &Limits,
    now: DateTime<Utc>,
    tasks: usize,
    tries: usize,
) -> usize {
    let mut handles = Vec::new();
    for instance in instances {
        for _ in 0..tasks {
            let (instance, limits) = (instance.clone(), limits.clone());
            handles.push(tokio::spawn(async move {
                let mut admitted = 0;
                for _ in 0..tries {
                    let outcome = instance.admit(app_id, &capability(), &limits, now).await;
                    if outcome.unwrap().is_ok() {
                        admitted += 1;
                    }
                }
                admitted
            }));
        }
    }
    let mut total = 0;
    for handle in handles {
        total += handle.await.unwrap();
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_quota_admits_exactly_its_limit_across_instances() {
    let database = TestDatabase::create().await;
    let (db_a, db_b) = two_instances(&database).await;
    let (a, b) = (SharedLimits::new(db_a), SharedLimits::new(db_b));
    let app_id = Uuid::new_v4();
    let limits = Limits {
        quotas: vec![
            Quota {
                window: QuotaWindow::Month,
                limit: 1_000,
            },
            Quota {
                window: QuotaWindow::Day,
                limit: 437,
            },
        ],
        ..Limits::default()
    };
    let now = at("2026-12-31T15:00:00Z");

    // Each instance alone tries more than the limit, so neither ends the
    // test holding leased calls it never got to spend.
    assert_eq!(hammer([&a, &b], app_id, &limits, now, 6, 80).await, 437);

    let refused = a
        .admit(app_id, &capability(), &limits, now)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(refused.reason, LimitReason::QuotaExceeded(QuotaWindow::Day));
    assert_eq!(refused.reason.reason(), "QUOTA_EXCEEDED");
    // The day ends at midnight in Beijing, an hour later.
    assert_eq!(refused.retry_after, Duration::from_secs(3600));
    let day = refused.quotas.iter().find(|q| q.window == QuotaWindow::Day);
    assert_eq!(day.unwrap().remaining, 0);

    // Leased calls count as used until given back; refused calls never do.
    a.release().await.unwrap();
    b.release().await.unwrap();
    let usage = b
        .usage(app_id, &capability(), &limits.quotas, now)
        .await
        .unwrap();
    let summary: Vec<_> = usage
        .iter()
        .map(|q| (q.window, q.used, q.remaining))
        .collect();
    assert_eq!(
        summary,
        vec![(QuotaWindow::Day, 437, 0), (QuotaWindow::Month, 437, 563)]
    );
    assert_eq!(usage[0].window_start, at("2026-12-30T16:00:00Z"));
    assert_eq!(usage[0].window_end, at("2026-12-31T16:00:00Z"));

    // A new day (and month) starts at 16:00 UTC with a fresh count.
    let next_day = at("2026-12-31T16:00:00Z");
    let admitted = a
        .admit(app_id, &capability(), &limits, next_day)
        .await
        .unwrap()
        .unwrap();
    let used: Vec<_> = admitted.quotas.iter().map(|q| (q.window, q.used)).collect();
    assert_eq!(used, vec![(QuotaWindow::Day, 1), (QuotaWindow::Month, 1)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rate_limit_is_shared_across_instances() {
    let database = TestDatabase::create().await;
    let (db_a, db_b) = two_instances(&database).await;
    let (a, b) = (SharedLimits::new(db_a), SharedLimits::new(db_b));
    let app_id = Uuid::new_v4();
    // 60 an hour, bursts of 50: nothing refills while the test runs.
    let limits = Limits {
        rate_limit: Some(RateLimit {
            requests: 60,
            period: Duration::from_secs(3600),
            burst: 50,
        }),
        ..Limits::default()
    };
    let now = at("2026-06-01T08:00:00Z");
    assert_eq!(hammer([&a, &b], app_id, &limits, now, 5, 12).await, 50);

    for instance in [&a, &b] {
        let refused = instance
            .admit(app_id, &capability(), &limits, now)
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(refused.reason.reason(), "RATE_LIMITED");
        // One call fits again after one interval (a minute).
        assert_eq!(refused.retry_after, Duration::from_secs(60));
    }
    let later = now + TimeDelta::seconds(60);
    let admitted = b
        .admit(app_id, &capability(), &limits, later)
        .await
        .unwrap()
        .unwrap();
    let rate = admitted.rate.unwrap();
    assert_eq!((rate.limit, rate.remaining), (50, 0));
    assert_eq!(rate.reset_after, Duration::from_secs(50 * 60));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_quota_counts_nothing_against_the_rate_limit() {
    let database = TestDatabase::create().await;
    let (db, _) = two_instances(&database).await;
    let limits_store = SharedLimits::new(db);
    let app_id = Uuid::new_v4();
    let limits = Limits {
        rate_limit: Some(RateLimit {
            requests: 3,
            period: Duration::from_secs(3600),
            burst: 3,
        }),
        quotas: vec![Quota {
            window: QuotaWindow::Day,
            limit: 1,
        }],
        ..Limits::default()
    };
    let now = at("2026-06-01T08:00:00Z");
    let first = limits_store
        .admit(app_id, &capability(), &limits, now)
        .await
        .unwrap();
    assert_eq!(first.unwrap().rate.unwrap().remaining, 2);
    let second = limits_store
        .admit(app_id, &capability(), &limits, now)
        .await
        .unwrap();
    assert_eq!(
        second.unwrap_err().reason,
        LimitReason::QuotaExceeded(QuotaWindow::Day)
    );
    // Without the quota the rate limit still has its two calls.
    let rate_only = Limits {
        quotas: Vec::new(),
        ..limits
    };
    let third = limits_store
        .admit(app_id, &capability(), &rate_only, now)
        .await
        .unwrap();
    assert_eq!(third.unwrap().rate.unwrap().remaining, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_nonce_is_claimed_once_across_instances_and_pruned_after_expiry() {
    let database = TestDatabase::create().await;
    let (db_a, db_b) = two_instances(&database).await;
    let (a, b) = (NonceStore::new(db_a), NonceStore::new(db_b));
    let now = Utc::now();
    let expires = now + TimeDelta::seconds(600);

    let mut claims = Vec::new();
    for i in 0..16 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        claims.push(tokio::spawn(async move {
            store
                .claim("ztk_one", "nonce-0123456789abcdef", expires)
                .await
                .unwrap()
        }));
    }
    let mut won = 0;
    for claim in claims {
        won += usize::from(claim.await.unwrap());
    }
    assert_eq!(won, 1);
    // The same nonce under another key is another request.
    assert!(
        b.claim("ztk_two", "nonce-0123456789abcdef", expires)
            .await
            .unwrap()
    );

    let lapsed = now - TimeDelta::seconds(1);
    assert!(
        a.claim("ztk_one", "old-nonce-0123456789", lapsed)
            .await
            .unwrap()
    );
    assert_eq!(b.prune(now).await.unwrap(), 1);
    assert_eq!(b.prune(now).await.unwrap(), 0);
    assert!(
        a.claim("ztk_one", "old-nonce-0123456789", expires)
            .await
            .unwrap()
    );
    assert!(
        !b.claim("ztk_one", "nonce-0123456789abcdef", expires)
            .await
            .unwrap()
    );

    let too_long = "n".repeat(129);
    let refused = a.claim("ztk_one", &too_long, expires).await.unwrap_err();
    assert_eq!(
        refused.to_string(),
        r#"invalid request: [("nonce", "must be 1..=128 bytes")]"#
    );
}

#[test]
fn the_python_client_signs_what_the_gateway_verifies() {
    let python = std::env::var("ZT_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/gateway/zt_client.py"
    );
    let secret = "zts_Python-interop-secret_42";
    let output = std::process::Command::new(python)
        .args([
            script,
            "--url",
            "http://127.0.0.1:8080",
            "--app-key",
            "ztk_0123456789abcdef0123456789abcdef",
            "--secret",
            secret,
            "--header",
            "X-Request-Id:  a   b ",
            "--print-canonical",
            "post",
            "/v1/certificates/verify?z=%E4%B8%AD&a=1+2&a=0",
            r#"{"certificate_no":"330100-2026-000123","holder":"张三"}"#,
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut headers = HeaderMap::new();
    for (name, value) in printed["headers"].as_object().unwrap() {
        headers.insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value.as_str().unwrap()).unwrap(),
        );
    }
    let body = r#"{"certificate_no":"330100-2026-000123","holder":"张三"}"#.as_bytes();
    let (path, query) = ("/v1/certificates/verify", Some("z=%E4%B8%AD&a=1+2&a=0"));
    let signed = signing::parse_signature_headers(&headers).unwrap();
    assert_eq!(
        signing::canonical_request("POST", path, query, &headers, &signed, body),
        printed["canonical_request"].as_str().unwrap()
    );
    let now = DateTime::from_timestamp(signed.timestamp, 0).unwrap();
    let skew = Duration::from_secs(300);
    let verified = signing::verify(
        secret.as_bytes(),
        &signed,
        "POST",
        path,
        query,
        &headers,
        body,
        now,
        skew,
    );
    assert_eq!(verified, Ok(()));
    let tampered = signing::verify(
        secret.as_bytes(),
        &signed,
        "POST",
        path,
        Some("z=%E4%B8%AD&a=1+2&a=1"),
        &headers,
        body,
        now,
        skew,
    );
    assert_eq!(tampered.unwrap_err().reason(), "SIGNATURE_INVALID");
}
