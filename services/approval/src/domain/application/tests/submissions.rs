//! What a submission must satisfy.

use chrono::Utc;
use serde_json::json;

use super::*;
use crate::domain::application::*;
use crate::domain::assignee::{Assignee, DepartmentRoleDraft, TaskAssignee};
use crate::domain::process::StageKind;
use crate::domain::service_item::ItemKind;

#[test]
fn submissions_are_checked_against_the_item_and_the_process() {
    let caller = applicant();
    let acting = Acting::caller(&caller, "s", Utc::now());
    let mut owner_stage = stage("joint", StageKind::Joint, &[HANDLER], 0);
    owner_stage.assignees.push(Assignee::Slot("owner".into()));
    let process = process(vec![owner_stage]);
    let mut bad = draft();
    bad.form_data.insert("capital".into(), json!(100));
    bad.form_data.insert("nickname".into(), json!("x"));
    bad.form_data.remove("company_name");
    let mut wrong = document("photo");
    wrong.sha256 = "ABC".into();
    wrong.size_bytes = 0;
    let mut big = document("articles");
    big.size_bytes = 1001;
    big.media_type = "image/png".into();
    bad.materials = vec![wrong, big, document("nothing")];
    bad.bindings = vec![(
        "stranger".into(),
        DepartmentRoleDraft {
            tenant: Some(("331100".into(), "x".into())),
            role: "approver".into(),
        },
    )];
    let Err(ApprovalError::Invalid(violations)) = Application::submit(
        &acting,
        tenant(APPLICANT),
        &item(ItemKind::PublicService),
        &process,
        &bad,
    ) else {
        panic!("expected violations");
    };
    let fields: Vec<&str> = violations.iter().map(|(f, _)| f.as_str()).collect();
    for expected in [
        "form_data.capital",
        "form_data.nickname",
        "form_data.company_name",
        "materials[0].sha256",
        "materials[0].size_bytes",
        "materials[1].size_bytes",
        "materials[1].media_type",
        "materials[2].material_code",
        "assignee_bindings[stranger]",
        "assignee_bindings[owner]",
    ] {
        assert!(
            fields.contains(&expected),
            "{expected} missing from {fields:?}"
        );
    }

    // A data-access request describes itself freely; bound slots resolve.
    let mut free = draft();
    free.form_data
        .insert("anything".into(), json!({"fields": ["a", "b"]}));
    free.bindings = vec![(
        "owner".into(),
        DepartmentRoleDraft {
            tenant: Some(("331100".into(), "civil-affairs".into())),
            role: "approver".into(),
        },
    )];
    let (app, _) = Application::submit(
        &acting,
        tenant(APPLICANT),
        &item(ItemKind::DataAccess),
        &process,
        &free,
    )
    .expect("free-form data access");
    assert!(
        app.stages[0]
            .tasks
            .iter()
            .any(|t| t.assignee == TaskAssignee::DepartmentRole(role("331100/civil-affairs")))
    );

    let mut huge = draft();
    huge.form_data
        .insert("blob".into(), json!("x".repeat(MAX_FORM_DATA_BYTES)));
    let Err(ApprovalError::Invalid(violations)) = Application::submit(
        &acting,
        tenant(APPLICANT),
        &item(ItemKind::DataAccess),
        &process,
        &huge,
    ) else {
        panic!("too large");
    };
    assert!(violations.iter().any(|(f, _)| f == "form_data"));
}
