//! A resource's schema may not pull a granted field from under a usable
//! grant: removing or retyping it waits until the grant ends.

use crate::support::requests::*;
use crate::support::*;
use tonic::Code;
use zhongtai_contracts::catalog::v1 as pb;
use zhongtai_contracts::catalog::v1::catalog_service_server::CatalogService;

#[tokio::test]
async fn granted_fields_cannot_be_removed_or_retyped() {
    let t = TestCatalog::postgres().await;
    let granted = setup(&t).await;
    let owner = operator(CIVIL_AFFAIRS);
    let update = |resource: pb::Resource| {
        let api = &t.api;
        let owner = owner.clone();
        async move {
            api.update_resource(acting(
                &owner,
                pb::UpdateResourceRequest {
                    resource: Some(resource),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec!["fields".into()],
                    }),
                    change_note: String::new(),
                },
            ))
            .await
            .map(|r| r.into_inner().resource.unwrap())
        }
    };
    let before = t.snapshot().await;
    let mut without = granted.marriage.clone();
    without.fields.retain(|f| f.name != "husband_name");
    let status = update(without).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(
        status.message().contains("husband_name"),
        "{}",
        status.message()
    );
    let mut retyped = granted.marriage.clone();
    retyped.fields[2].r#type = pb::FieldType::Integer as i32;
    assert_eq!(
        update(retyped).await.unwrap_err().code(),
        Code::FailedPrecondition
    );
    assert_eq!(t.snapshot().await, before);

    // Ungranted fields may go, and new ones may come.
    let mut reshaped = granted.marriage.clone();
    reshaped.fields.retain(|f| f.name != "registration_date");
    reshaped.fields.push(field(
        "wife_name",
        "女方姓名",
        pb::SensitivityLevel::Sensitive,
    ));
    assert_eq!(update(reshaped).await.unwrap().version, 2);

    // Once the grant is revoked, the field is free to change.
    revoke(&t, &owner, &granted.reviewed.id, "schema change")
        .await
        .unwrap();
    let mut current = t
        .api
        .get_resource(acting(
            &owner,
            pb::GetResourceRequest {
                id: granted.marriage.id.clone(),
                version: 0,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .resource
        .unwrap();
    current.fields.retain(|f| f.name != "husband_name");
    assert_eq!(update(current).await.unwrap().version, 3);
}
