//! The CLI walk-through (`docs/walkthrough.md`) run against a real embedded
//! platform: the same commands with the same example files, checked on what
//! a user reads back.

mod support;

use support::{Platform, examples, field, path_str, write_temp};

#[test]
fn bad_request_files_and_flags_exit_2_and_send_nothing() {
    let platform = Platform::start();
    let operator = platform.token("market-regulation", "operator", "wang.fang");

    let item = std::fs::read_to_string(examples("business-licence-item.yaml")).unwrap();
    let wrong_enum = write_temp(
        "item.yaml",
        &item.replace("FORM_FIELD_TYPE_TEXT", "FORM_FIELD_TYPE_TXT"),
    );
    let output = platform.run(
        operator.as_str(),
        &["item", "create", "-f", path_str(&wrong_enum)],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(path_str(&wrong_enum)),
        "names the file: {stderr}"
    );
    assert!(
        stderr.contains("formFields[0].type: unrecognized enum value 'FORM_FIELD_TYPE_TXT'"),
        "{stderr}"
    );

    let unknown_field = write_temp(
        "item.yaml",
        &item.replace("acceptedMediaTypes", "mediaTypes"),
    );
    let output = platform.run(
        operator.as_str(),
        &["item", "create", "-f", path_str(&unknown_field)],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("materials[0].mediaTypes: unknown field"),
        "{stderr}"
    );

    let output = platform.run(
        operator.as_str(),
        &[
            "application",
            "add-signer",
            "0193",
            "--assignee",
            "331100/fire-safety",
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("<division>/<department>/<role>"),
        "{output:?}"
    );

    // Nothing reached the approval center.
    let listed = platform.json(operator.as_str(), &["item", "list"]);
    assert_eq!(
        listed["items"].as_array().map(Vec::len).unwrap_or(0),
        0,
        "{listed}"
    );

    // The same file, corrected, creates the item with everything it holds.
    let created = platform.json(
        operator.as_str(),
        &[
            "item",
            "create",
            "-f",
            &examples("business-licence-item.yaml"),
        ],
    );
    assert_eq!(field(&created, "code"), "business-licence");
    assert_eq!(
        created["materials"].as_array().map(Vec::len),
        Some(4),
        "{created}"
    );
    assert_eq!(
        created["formFields"].as_array().map(Vec::len),
        Some(3),
        "{created}"
    );
    let _ = std::fs::remove_file(wrong_enum);
    let _ = std::fs::remove_file(unknown_field);
}

#[test]
fn s2_a_business_licence_passes_the_clerk_and_the_joint_approval() {
    let platform = Platform::start();
    let operator = platform.token("market-regulation", "operator", "wang.fang");
    let clerk = platform.token("market-regulation", "approver", "li.na");
    let market = platform.token("market-regulation", "approver", "zhao.lei");
    let fire = platform.token("fire-safety", "approver", "chen.gang");

    let process = platform.json(
        &operator,
        &[
            "process",
            "create",
            "-f",
            &examples("business-licence-process.yaml"),
        ],
    );
    let process_id = field(&process, "id").to_string();
    assert_eq!(
        process["stages"].as_array().map(Vec::len),
        Some(2),
        "{process}"
    );
    platform.json(
        &operator,
        &[
            "item",
            "create",
            "-f",
            &examples("business-licence-item.yaml"),
            "--process",
            &process_id,
        ],
    );
    let submitted = platform.json(
        &operator,
        &[
            "application",
            "submit",
            "-f",
            &examples("business-licence-application.yaml"),
        ],
    );
    let application = field(&submitted, "id").to_string();
    assert_eq!(
        field(&submitted, "status"),
        "APPLICATION_STATUS_IN_PROGRESS"
    );

    let tasks = platform.text(&clerk, &["task", "list"]);
    assert!(
        tasks.contains(&application) && tasks.contains("clerk-review"),
        "{tasks}"
    );
    let accepted = platform.json(
        &clerk,
        &[
            "application",
            "approve",
            &application,
            "--comment",
            "予以受理",
        ],
    );
    assert_eq!(accepted["currentStageIndex"], 1, "{accepted}");

    // Joint: one approval is not enough, the second completes it.
    let half = platform.json(
        &fire,
        &[
            "application",
            "approve",
            &application,
            "--comment",
            "消防审查通过",
        ],
    );
    assert_eq!(field(&half, "status"), "APPLICATION_STATUS_IN_PROGRESS");
    let done = platform.json(
        &market,
        &[
            "application",
            "approve",
            &application,
            "--comment",
            "同意设立",
        ],
    );
    assert_eq!(
        field(&done, "status"),
        "APPLICATION_STATUS_APPROVED",
        "{done}"
    );

    // Approving again is refused and changes nothing.
    let again = platform.run(&fire, &["application", "approve", &application]);
    assert!(!again.status.success());
    let shown = platform.text(&operator, &["application", "get", &application]);
    assert!(
        shown.contains("APPROVED") && shown.contains("COMPLETED"),
        "{shown}"
    );
    let history = platform.json(&operator, &["application", "history", &application]);
    let actions: Vec<&str> = history["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions.first(),
        Some(&"HISTORY_ACTION_SUBMITTED"),
        "{actions:?}"
    );
    assert_eq!(
        actions.last(),
        Some(&"HISTORY_ACTION_COMPLETED"),
        "{actions:?}"
    );
    let approvals = actions
        .iter()
        .filter(|a| **a == "HISTORY_ACTION_APPROVED")
        .count();
    assert_eq!(approvals, 3, "{actions:?}");
}

#[test]
fn s1_the_housing_fund_is_granted_masked_marriage_data_and_it_is_revoked() {
    let platform = Platform::start();
    let bureau = platform.token("data-bureau", "operator", "sun.li");
    let bureau_approver = platform.token("data-bureau", "approver", "zhou.min");
    let civil = platform.token("civil-affairs", "operator", "liu.yang");
    let civil_approver = platform.token("civil-affairs", "approver", "he.ping");
    let housing = platform.token("housing-fund", "operator", "xu.jing");

    let review = platform.json(
        &bureau,
        &[
            "process",
            "create",
            "-f",
            &examples("data-access-process.yaml"),
        ],
    );
    platform.json(
        &bureau,
        &[
            "item",
            "create",
            "-f",
            &examples("data-access-item.yaml"),
            "--process",
            field(&review, "id"),
        ],
    );
    let resource = platform.json(
        &civil,
        &[
            "resource",
            "register",
            "-f",
            &examples("marriage-registration.yaml"),
        ],
    );
    let resource_id = field(&resource, "id").to_string();

    let found = platform.text(&housing, &["search", "婚姻"]);
    assert!(
        found.contains(&resource_id) && found.contains("婚姻登记信息"),
        "{found}"
    );
    let hostile = platform.json(&housing, &["search", "%'; DROP TABLE resources; --"]);
    assert!(
        hostile["results"].as_array().is_none_or(Vec::is_empty),
        "{hostile}"
    );

    let requested = platform.json(
        &housing,
        &[
            "access",
            "request",
            "--resource",
            &resource_id,
            "--fields",
            "husband_name,wife_name,husband_id_number:partial-last-4,wife_id_number:partial-last-4,registration_date",
            "--purpose",
            "provident-fund loan",
            "--until",
            "2027-12-31",
        ],
    );
    let access = field(&requested, "id").to_string();
    let pending = platform.wait_for(
        &housing,
        &["access", "get", &access],
        "application raised",
        |r| r["applicationId"].as_str().is_some_and(|id| !id.is_empty()),
    );
    let application = field(&pending, "applicationId").to_string();

    let tasks = platform.text(&civil_approver, &["task", "list"]);
    assert!(
        tasks.contains(&application),
        "the owner has a task: {tasks}"
    );
    platform.json(
        &civil_approver,
        &[
            "application",
            "approve",
            &application,
            "--comment",
            "同意共享",
        ],
    );
    platform.json(
        &bureau_approver,
        &[
            "application",
            "approve",
            &application,
            "--comment",
            "符合共享条件",
        ],
    );

    platform.wait_for(
        &housing,
        &["access", "get", &access],
        "access approved",
        |r| r["state"] == "ACCESS_REQUEST_STATE_APPROVED",
    );
    let grants = platform.json(&housing, &["grant", "list"]);
    let grant = &grants["grants"][0];
    let grant_id = field(grant, "id").to_string();
    let masked: Vec<(&str, i64)> = grant["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["field"].as_str().unwrap(),
                f["masking"]["keepLast"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert!(masked.contains(&("husband_id_number", 4)), "{masked:?}");
    assert!(masked.contains(&("wife_id_number", 4)), "{masked:?}");
    let usable = platform.text(&housing, &["accessible"]);
    assert!(
        usable.contains("婚姻登记信息") && usable.contains("wife_id_number:partial-last-4"),
        "{usable}"
    );

    let revoked = platform.json(
        &civil,
        &["grant", "revoke", &grant_id, "--reason", "核验已完成"],
    );
    assert_eq!(field(&revoked, "state"), "GRANT_STATE_REVOKED");
    let usable = platform.json(&housing, &["accessible"]);
    assert!(
        usable["resources"].as_array().is_none_or(Vec::is_empty),
        "{usable}"
    );
}
