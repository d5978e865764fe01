//! SearchResources on PostgreSQL and SQLite: Chinese and English terms,
//! weighting, highlights, filters, visibility, paging, and queries full of
//! SQL metacharacters that are searched as text and harm nothing.

use crate::support::*;
use tonic::Code;
use zhongtai_contracts::catalog::v1 as pb;
use zhongtai_contracts::catalog::v1::catalog_service_server::CatalogService;
use zhongtai_contracts::common::v1::{FieldAccess, PageRequest, Period};
use zhongtai_kit::Caller;

struct Seeded {
    marriage: pb::Resource,
    fund: pb::Resource,
}

async fn seed(t: &TestCatalog) -> Seeded {
    let civil = operator(CIVIL_AFFAIRS);
    let marriage = t.register(&civil, marriage_registration()).await;

    let mut fund = simple_resource(
        "fund-deposits",
        "住房公积金缴存信息",
        pb::SharingAttribute::Unconditional,
    );
    fund.description = "Monthly housing fund deposits per account".into();
    fund.fields.push(field(
        "account_balance",
        "账户余额",
        pb::SensitivityLevel::Sensitive,
    ));
    fund.tags = vec!["公积金".into(), "住房".into()];
    fund.layer = pb::ResourceLayer::Theme as i32;
    fund.open = pb::OpenAttribute::Restricted as i32;
    fund.update_frequency = pb::UpdateFrequency::Monthly as i32;
    let fund = t.register(&operator(HOUSING_FUND), fund).await;

    // Mentions marriage and the fund only in passing (description).
    let mut survey = simple_resource(
        "household-survey",
        "家庭情况抽样调查",
        pb::SharingAttribute::Conditional,
    );
    survey.description = "含婚姻状况与住房公积金缴存情况".into();
    t.register(&operator(OTHER_CITY), survey).await;

    // Others' private data, and retired data, never show up.
    let mut private = simple_resource(
        "marriage-inquiry",
        "婚姻纠纷调查内部数据",
        pb::SharingAttribute::NotShared,
    );
    private.tags = vec!["婚姻".into()];
    t.register(&operator(OTHER_CITY), private).await;
    let old = t
        .register(
            &civil,
            simple_resource(
                "old-marriage-index",
                "婚姻登记旧索引",
                pb::SharingAttribute::Conditional,
            ),
        )
        .await;
    t.api
        .retire_resource(acting(
            &civil,
            pb::RetireResourceRequest {
                id: old.id,
                reason: "replaced".into(),
            },
        ))
        .await
        .unwrap();
    Seeded { marriage, fund }
}

async fn search(
    t: &TestCatalog,
    caller: &Caller,
    request: pb::SearchResourcesRequest,
) -> Result<pb::SearchResourcesResponse, tonic::Status> {
    t.api
        .search_resources(acting(caller, request))
        .await
        .map(|r| r.into_inner())
}

async fn codes(
    t: &TestCatalog,
    caller: &Caller,
    request: pb::SearchResourcesRequest,
) -> Vec<String> {
    search(t, caller, request)
        .await
        .unwrap()
        .results
        .into_iter()
        .map(|hit| hit.resource.unwrap().code)
        .collect()
}

fn query(text: &str) -> pb::SearchResourcesRequest {
    pb::SearchResourcesRequest {
        query: text.into(),
        ..Default::default()
    }
}

async fn exercise(t: TestCatalog) {
    let seeded = seed(&t).await;
    let housing = operator(HOUSING_FUND);

    // 婚姻 finds 婚姻登记信息 by its title first, the survey by its
    // description after it; private and retired data stay out.
    let found = search(&t, &housing, query("婚姻")).await.unwrap().results;
    let found_codes: Vec<_> = found
        .iter()
        .map(|hit| hit.resource.as_ref().unwrap().code.clone())
        .collect();
    assert_eq!(found_codes, ["marriage-registration", "household-survey"]);
    assert!(found[0].score > found[1].score, "{found:#?}");
    assert_eq!(found[0].resource.as_ref().unwrap(), &seeded.marriage);
    assert_eq!(found[0].highlights[0], "<em>婚姻</em>登记信息");
    assert!(!found[0].granted);

    // A field title, a longer phrase, English field names in any case.
    let by_field = search(&t, &housing, query("身份证号"))
        .await
        .unwrap()
        .results;
    assert_eq!(by_field.len(), 1);
    assert!(
        by_field[0].highlights.iter().any(|h| h.contains("<em>")),
        "{:?}",
        by_field[0].highlights
    );
    assert_eq!(
        codes(&t, &housing, query("婚姻登记信息")).await,
        ["marriage-registration"]
    );
    assert_eq!(
        codes(&t, &housing, query("HUSBAND")).await,
        ["marriage-registration"]
    );
    assert_eq!(
        codes(&t, &housing, query("husband_name")).await,
        ["marriage-registration"]
    );
    assert_eq!(
        codes(&t, &housing, query("housing fund")).await,
        ["fund-deposits"]
    );
    assert_eq!(
        codes(&t, &housing, query("账户余额")).await,
        ["fund-deposits"]
    );
    // One character finds the words holding it, best place first.
    assert_eq!(
        codes(&t, &housing, query("婚")).await,
        ["marriage-registration", "household-survey"]
    );
    let hit = search(&t, &housing, query("婚")).await.unwrap().results;
    assert!(
        hit[0].highlights[0].contains("<em>婚</em>"),
        "{:?}",
        hit[0].highlights
    );
    // Every term must match.
    assert!(codes(&t, &housing, query("婚姻 余额")).await.is_empty());
    assert_eq!(
        codes(&t, &housing, query("公积金")).await,
        ["fund-deposits", "household-survey"]
    );

    // The owner sees its private data; others never do.
    let far = operator(OTHER_CITY);
    let theirs = codes(&t, &far, query("婚姻")).await;
    assert_eq!(theirs.len(), 3, "{theirs:?}");
    assert!(
        theirs[..2].contains(&"marriage-inquiry".to_string()),
        "{theirs:?}"
    );
    assert_eq!(theirs[2], "household-survey");
    assert!(
        !codes(&t, &housing, query("纠纷"))
            .await
            .contains(&"marriage-inquiry".to_string())
    );
    assert!(
        codes(&t, &operator(CIVIL_AFFAIRS), query("旧索引"))
            .await
            .is_empty(),
        "retired: hidden from search"
    );

    // Filters.
    let filtered = |build: fn(&mut pb::SearchResourcesRequest)| {
        let mut request = query("");
        build(&mut request);
        request
    };
    assert_eq!(
        codes(
            &t,
            &housing,
            filtered(|r| r.layers = vec![pb::ResourceLayer::Theme as i32])
        )
        .await,
        ["fund-deposits"]
    );
    assert_eq!(
        codes(
            &t,
            &housing,
            filtered(|r| r.sharing = vec![pb::SharingAttribute::Unconditional as i32])
        )
        .await,
        ["fund-deposits"]
    );
    assert_eq!(
        codes(
            &t,
            &housing,
            filtered(|r| r.open = vec![pb::OpenAttribute::Restricted as i32])
        )
        .await,
        ["fund-deposits"]
    );
    assert_eq!(
        codes(
            &t,
            &housing,
            filtered(|r| r.update_frequencies = vec![pb::UpdateFrequency::RealTime as i32])
        )
        .await,
        ["marriage-registration"]
    );
    assert_eq!(
        codes(
            &t,
            &housing,
            filtered(|r| r.tags = vec!["公积金".into(), "住房".into()])
        )
        .await,
        ["fund-deposits"]
    );
    assert!(
        codes(
            &t,
            &housing,
            filtered(|r| r.tags = vec!["公积金".into(), "民政".into()])
        )
        .await
        .is_empty()
    );
    let mut division = query("婚姻");
    division.owners = vec![tenant("331100")];
    assert_eq!(
        codes(&t, &housing, division).await,
        ["marriage-registration"]
    );
    let mut by_owner = query("");
    by_owner.owners = vec![tenant(OTHER_CITY), tenant(HOUSING_FUND)];
    let mut owned = codes(&t, &housing, by_owner).await;
    owned.sort();
    assert_eq!(owned, ["fund-deposits", "household-survey"]);

    // An empty query lists everything visible, by title.
    let everything = codes(&t, &housing, query("")).await;
    assert_eq!(everything.len(), 3, "{everything:?}");

    // Paging walks the ranking without repeats.
    let mut paged = Vec::new();
    let mut token = String::new();
    loop {
        let mut request = query("");
        request.page = Some(PageRequest {
            page_size: 1,
            page_token: token,
        });
        let page = search(&t, &housing, request).await.unwrap();
        paged.extend(
            page.results
                .into_iter()
                .map(|hit| hit.resource.unwrap().code),
        );
        token = page.page.unwrap().next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(paged, everything);

    // Queries are text: metacharacters find nothing and break nothing.
    let before = t.snapshot().await;
    for text in [
        "'; DROP TABLE resources; --",
        "%",
        "_",
        "婚姻%",
        "\\",
        "' OR '1'='1",
        "\"婚姻\"",
        "*",
    ] {
        let response = search(&t, &housing, query(text)).await.unwrap();
        assert!(
            response
                .results
                .iter()
                .all(|hit| hit.resource.as_ref().unwrap().code != "marriage-inquiry"),
            "{text}"
        );
    }
    assert!(
        search(&t, &housing, query("%"))
            .await
            .unwrap()
            .results
            .is_empty()
    );
    assert!(
        search(&t, &housing, query("'; DROP TABLE resources; --"))
            .await
            .unwrap()
            .results
            .is_empty()
    );
    assert_eq!(t.snapshot().await, before, "tables intact");
    assert_eq!(
        codes(&t, &housing, query("婚姻")).await.len(),
        2,
        "and search still works"
    );

    // A usable grant shows.
    let civil = operator(CIVIL_AFFAIRS);
    t.api
        .request_access(acting(
            &civil,
            pb::RequestAccessRequest {
                request_id: "grant-me".into(),
                resource_id: seeded.fund.id.clone(),
                fields: vec![FieldAccess {
                    field: "holder_name".into(),
                    masking: None,
                }],
                purpose: "核对婚姻当事人住房情况".into(),
                period: Some(Period {
                    start_time: None,
                    end_time: Some(prost_types::Timestamp {
                        seconds: chrono::Utc::now().timestamp() + 86_400,
                        nanos: 0,
                    }),
                }),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    let granted = search(&t, &civil, query("公积金")).await.unwrap().results;
    assert!(granted[0].granted, "{granted:#?}");
    assert!(!granted[1].granted);

    // Bad input names its fields.
    let mut bad = query(&"婚".repeat(201));
    bad.layers = vec![99];
    bad.owners = vec![tenant("33")];
    bad.sharing = vec![0];
    let status = search(&t, &housing, bad).await.unwrap_err();
    assert_eq!(
        violations(&status),
        ["query", "owners[0]", "layers[0]", "sharing[0]"]
    );
    let mut many = query("");
    many.tags = (0..51).map(|i| format!("tag-{i}")).collect();
    many.owners = vec![tenant(HOUSING_FUND); 101];
    assert_eq!(
        violations(&search(&t, &housing, many).await.unwrap_err()),
        ["owners", "tags"]
    );
    let mut bad_page = query("婚姻");
    bad_page.page = Some(PageRequest {
        page_size: 5,
        page_token: "v1:zz".into(),
    });
    assert_eq!(
        search(&t, &housing, bad_page).await.unwrap_err().code(),
        Code::InvalidArgument
    );
}

#[tokio::test]
async fn searches_chinese_and_english_on_postgres() {
    exercise(TestCatalog::postgres().await).await;
}

#[tokio::test]
async fn searches_chinese_and_english_on_sqlite() {
    exercise(TestCatalog::sqlite().await).await;
}
