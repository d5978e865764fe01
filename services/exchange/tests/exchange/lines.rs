//! Lines and subscriptions: `ListLines` over stored rows, the line and
//! subscription RPCs, catalog grant events, pushed changes and the runner
//! store, on PostgreSQL (and SQLite where the embedded mode depends on it).

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, DatabaseConnection, IntoActiveModel};
use tonic::{Code, Request};
use uuid::Uuid;
use zhongtai_contracts::common::v1::PageRequest;
use zhongtai_contracts::exchange::v1 as pb;
use zhongtai_exchange::lines::api::LineHandlers;
use zhongtai_exchange::store::entities::line;

use crate::support::lines::Lines;

mod definitions;
mod grants;
mod pushing;
mod runtime;

#[tokio::test]
async fn lists_lines_on_sqlite() {
    lines_are_filtered_and_paged(Lines::on_sqlite(false).await).await;
}

#[tokio::test]
async fn lists_lines_on_postgres() {
    lines_are_filtered_and_paged(Lines::on_postgres(true).await).await;
}

fn marriage_resource() -> Uuid {
    Uuid::from_u128(0xaaaa)
}

/// (name, state, feeds the marriage resource), in id order.
const LINES: [(&str, &str, bool); 5] = [
    ("marriage-cdc", "streaming", true),
    ("population-push", "paused", false),
    ("marriage-cdc-old", "deleted", true),
    ("licence-backflow", "failed", false),
    ("marriage-snapshot", "snapshotting", true),
];

async fn store_lines(db: &DatabaseConnection) {
    let configured_at = DateTime::<Utc>::from_timestamp(1_770_000_000, 0).unwrap();
    for (n, (name, state, feeds_marriages)) in (1..).zip(LINES) {
        line::Model {
            id: Uuid::from_u128(n).to_string(),
            owner_division: "331100".into(),
            owner_department: "civil-affairs".into(),
            name: name.into(),
            description: format!("carries {name}"),
            state: state.into(),
            resource_id: feeds_marriages.then(|| marriage_resource().to_string()),
            version: 3,
            created_at: configured_at,
            updated_at: configured_at,
            source_kind: "push".into(),
            source_spec: r#"{"kind":"push","tables":[],"producer_subject":"app:x"}"#.into(),
            state_reason: String::new(),
            request_id: None,
        }
        .into_active_model()
        .insert(db)
        .await
        .unwrap();
    }
}

async fn lines_are_filtered_and_paged(lines: Lines) {
    store_lines(&lines.db).await;
    let api = &lines.handlers;

    let live = call(api, pb::ListLinesRequest::default()).await;
    assert_eq!(
        names(&live),
        [
            "marriage-cdc",
            "population-push",
            "licence-backflow",
            "marriage-snapshot"
        ]
    );
    let first = &live.lines[0];
    assert_eq!(first.state(), pb::LineState::Streaming);
    assert_eq!(first.resource_id, marriage_resource().to_string());
    assert_eq!(first.description, "carries marriage-cdc");
    assert_eq!(first.owner.as_ref().unwrap().department, "civil-affairs");
    assert_eq!(live.lines[1].resource_id, "");

    let deleted_or_failed = call(
        api,
        pb::ListLinesRequest {
            states: vec![pb::LineState::Deleted as i32, pb::LineState::Failed as i32],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        names(&deleted_or_failed),
        ["marriage-cdc-old", "licence-backflow"]
    );

    let feeding_marriages = call(
        api,
        pb::ListLinesRequest {
            resource_id: marriage_resource().to_string(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        names(&feeding_marriages),
        ["marriage-cdc", "marriage-snapshot"]
    );

    let first_page = call(api, paged(2, String::new())).await;
    assert_eq!(names(&first_page), ["marriage-cdc", "population-push"]);
    let token = first_page.page.unwrap().next_page_token;
    assert!(!token.is_empty());
    let second_page = call(api, paged(2, token)).await;
    assert_eq!(
        names(&second_page),
        ["licence-backflow", "marriage-snapshot"]
    );
    assert_eq!(second_page.page.unwrap().next_page_token, "");

    let invalid = [
        paged(-1, String::new()),
        paged(2, "v1:0".into()),
        pb::ListLinesRequest {
            states: vec![pb::LineState::Unspecified as i32],
            ..Default::default()
        },
        pb::ListLinesRequest {
            states: vec![pb::LineState::Paused as i32, 42],
            ..Default::default()
        },
        pb::ListLinesRequest {
            resource_id: "marriage".into(),
            ..Default::default()
        },
    ];
    for request in invalid {
        let status = api.list_lines(acting(request.clone())).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{request:?}");
    }
}

fn paged(page_size: i32, page_token: String) -> pb::ListLinesRequest {
    pb::ListLinesRequest {
        page: Some(PageRequest {
            page_size,
            page_token,
        }),
        ..Default::default()
    }
}

async fn call(api: &LineHandlers, request: pb::ListLinesRequest) -> pb::ListLinesResponse {
    api.list_lines(acting(request)).await.unwrap().into_inner()
}

fn names(response: &pb::ListLinesResponse) -> Vec<&str> {
    response.lines.iter().map(|l| l.name.as_str()).collect()
}

/// Calls as a province-wide reviewer holding a cross-tenant read grant, so
/// every seeded tenant is in scope and the filters are what is tested.
fn acting<T>(message: T) -> Request<T> {
    let reviewer = zhongtai_kit::Caller::new(
        "reviewer",
        zhongtai_kit::TenantId::parse("330000", "big-data").unwrap(),
        &[zhongtai_kit::Role::Auditor],
    )
    .with_cross_tenant_read(vec![zhongtai_kit::DivisionCode::parse("330000").unwrap()]);
    zhongtai_kit::auth::acting_as(Request::new(message), reviewer)
}
