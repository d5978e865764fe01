//! Request files: good ones, and each kind of mistake located.

use zhongtai_contracts::approval::v1 as approval;
use zhongtai_contracts::catalog::v1 as catalog;

use super::*;

const PROCESS: &str = r#"
key: business-licence-approval
name: 营业执照设立审批
stages:
  - key: clerk-review
    name: 窗口受理
    kind: STAGE_KIND_SINGLE
    assignees:
      - departmentRole:
          tenant: { division_code: "331100", department: market-regulation }
          role: approver
  - key: joint-review
    name: 联合审查
    kind: STAGE_KIND_JOINT
    assignees:
      - department_role: { tenant: { divisionCode: "331100", department: market-regulation }, role: approver }
      - department_role: { tenant: { divisionCode: "331100", department: fire-safety }, role: approver }
    sla:
      duration: 432000s
      escalateTo: { tenant: { divisionCode: "331100", department: market-regulation }, role: admin }
"#;

#[test]
fn a_good_file_becomes_the_message() {
    let request: approval::CreateProcessDefinitionRequest =
        parse_message(PROCESS).expect("valid process file");
    assert_eq!(request.key, "business-licence-approval");
    assert_eq!(request.stages.len(), 2);
    let joint = &request.stages[1];
    assert_eq!(joint.kind(), approval::StageKind::Joint);
    assert_eq!(joint.assignees.len(), 2);
    let sla = joint.sla.as_ref().expect("sla");
    assert_eq!(sla.duration.as_ref().map(|d| d.seconds), Some(432_000));
    let escalate = sla.escalate_to.as_ref().expect("escalation");
    assert_eq!(escalate.role, "admin");
    match &request.stages[0].assignees[0].target {
        Some(approval::assignee::Target::DepartmentRole(role)) => {
            assert_eq!(
                role.tenant.as_ref().map(|t| t.department.as_str()),
                Some("market-regulation")
            );
        }
        other => panic!("unexpected assignee {other:?}"),
    }
}

#[test]
fn an_unknown_field_is_named_with_its_path() {
    let text = PROCESS.replace(
        "    kind: STAGE_KIND_SINGLE",
        "    kinds: STAGE_KIND_SINGLE",
    );
    let error = parse_message::<approval::CreateProcessDefinitionRequest>(&text).unwrap_err();
    let MessageError::Content { field, problem } = &error else {
        panic!("unexpected {error:?}");
    };
    assert_eq!(field, "stages[0].kinds");
    assert!(problem.contains("unknown field"), "{problem}");
    assert!(
        problem.contains("assignees"),
        "lists known fields: {problem}"
    );
}

#[test]
fn a_wrong_enum_value_lists_the_valid_ones() {
    let text = PROCESS.replace("STAGE_KIND_JOINT", "STAGE_KIND_JOIN");
    let error = parse_message::<approval::CreateProcessDefinitionRequest>(&text).unwrap_err();
    assert_eq!(
        error,
        MessageError::Content {
            field: "stages[1].kind".into(),
            problem: "unrecognized enum value 'STAGE_KIND_JOIN'; expected one of \
                      STAGE_KIND_SINGLE, STAGE_KIND_JOINT, STAGE_KIND_ANY_OF, STAGE_KIND_N_OF_M"
                .into(),
        }
    );
}

#[test]
fn a_bad_duration_and_a_bad_map_entry_are_located() {
    let text = PROCESS.replace("432000s", "five days");
    let error = parse_message::<approval::CreateProcessDefinitionRequest>(&text).unwrap_err();
    let MessageError::Content { field, problem } = &error else {
        panic!("unexpected {error:?}");
    };
    assert_eq!(field, "stages[1].sla.duration");
    assert!(problem.contains("432000s"), "{problem}");

    let submit =
        "assigneeBindings:\n  owner: { tenant: { division_code: \"331100\" }, rol: approver }\n";
    let error = parse_message::<approval::SubmitApplicationRequest>(submit).unwrap_err();
    let MessageError::Content { field, .. } = &error else {
        panic!("unexpected {error:?}");
    };
    assert_eq!(field, "assigneeBindings.owner.rol");
}

#[test]
fn two_choices_of_a_oneof_are_located_at_their_message() {
    let text = PROCESS.replace(
        "      - departmentRole:\n",
        "      - user: wang.fang\n        departmentRole:\n",
    );
    let error = parse_message::<approval::CreateProcessDefinitionRequest>(&text).unwrap_err();
    let MessageError::Content { field, problem } = &error else {
        panic!("unexpected {error:?}");
    };
    assert_eq!(field, "stages[0].assignees[0]");
    assert!(problem.contains("oneof 'target'"), "{problem}");
}

#[test]
fn unquoted_digits_for_text_fields_are_explained() {
    let error = parse_message::<approval::DepartmentRole>("tenant: { divisionCode: 331100 }\n")
        .unwrap_err();
    let MessageError::Content { field, problem } = &error else {
        panic!("unexpected {error:?}");
    };
    assert_eq!(field, "tenant.divisionCode");
    assert!(problem.contains("put the value in quotes"), "{problem}");
}

#[test]
fn syntax_errors_empty_files_and_scalars_are_refused() {
    let syntax = parse_message::<catalog::Resource>("title: [unclosed").unwrap_err();
    assert!(
        matches!(&syntax, MessageError::Syntax(m) if m.contains("line")),
        "{syntax:?}"
    );
    let empty = parse_message::<catalog::Resource>("# nothing\n").unwrap_err();
    assert!(empty.to_string().contains("empty"), "{empty}");
    let scalar = parse_message::<catalog::Resource>("just text").unwrap_err();
    assert!(scalar.to_string().contains("mapping"), "{scalar}");
    let twice = parse_message::<catalog::Resource>("title: a\ncode: x\ntitle: b\n").unwrap_err();
    assert!(twice.to_string().contains("duplicate"), "{twice}");
}

#[test]
fn merge_keys_share_repeated_parts() {
    let text = r#"
x-market: &market { tenant: { divisionCode: "331100", department: market-regulation }, role: approver }
"#;
    // An extension key is not a field: refused like any unknown one.
    assert!(parse_message::<approval::DepartmentRole>(text).is_err());
    let text = r#"
stages:
  - key: a
    kind: STAGE_KIND_SINGLE
    assignees: [ { departmentRole: &market { tenant: { divisionCode: "331100", department: market-regulation }, role: approver } } ]
  - key: b
    kind: STAGE_KIND_JOINT
    assignees:
      - departmentRole: *market
      - departmentRole: { <<: *market, role: admin }
"#;
    let request: approval::CreateProcessDefinitionRequest = parse_message(text).unwrap();
    let roles: Vec<String> = request.stages[1]
        .assignees
        .iter()
        .map(|a| match &a.target {
            Some(approval::assignee::Target::DepartmentRole(r)) => r.role.clone(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(roles, ["approver", "admin"]);
}

#[test]
fn form_data_and_int64_accept_plain_yaml() {
    let text = r#"
serviceItemKey: { tenant: { divisionCode: "331100", department: market-regulation }, code: business-licence }
formData:
  company_name: 丽水青瓷文化有限公司
  registered_capital: "1000000.00"
  employees: 12
materials:
  - { materialCode: articles-of-association, documentUri: "s3://b/a.pdf", sizeBytes: 20480 }
"#;
    let request: approval::SubmitApplicationRequest = parse_message(text).expect("valid");
    let form = request.form_data.expect("form data");
    assert_eq!(form.fields.len(), 3);
    assert_eq!(request.materials[0].size_bytes, 20_480);
    assert_eq!(
        request.service_item_key.map(|k| k.code).as_deref(),
        Some("business-licence")
    );
}

#[test]
fn the_examples_read_as_the_messages_their_commands_send() {
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/");
    let read = |name: &str| {
        std::fs::read_to_string(format!("{examples}{name}"))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    for name in ["business-licence-process.yaml", "data-access-process.yaml"] {
        let process: approval::CreateProcessDefinitionRequest =
            parse_message(&read(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!process.stages.is_empty(), "{name}");
    }
    for name in ["business-licence-item.yaml", "data-access-item.yaml"] {
        parse_message::<approval::CreateServiceItemRequest>(&read(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let application: approval::SubmitApplicationRequest =
        parse_message(&read("business-licence-application.yaml")).unwrap();
    assert_eq!(application.materials.len(), 3);
    let marriage = read("marriage-registration.yaml");
    let registered: catalog::RegisterResourceRequest = parse_message(&marriage).unwrap();
    let resource = registered.resource.unwrap();
    assert_eq!(resource.fields.len(), 6);
    parse_message::<catalog::UpdateResourceRequest>(&marriage).unwrap();
    let access: catalog::RequestAccessRequest =
        parse_message(&read("provident-fund-loan-access.yaml")).unwrap();
    assert_eq!(access.fields.len(), 5);
    parse_message::<zhongtai_contracts::common::v1::RowFilter>(&read("lishui-rows.yaml")).unwrap();
}

#[test]
fn files_name_themselves_in_errors() {
    let path = std::env::temp_dir().join(format!("zt-{}.yaml", uuid::Uuid::new_v4()));
    std::fs::write(&path, "titel: x\n").expect("write");
    let error = read_message::<catalog::Resource>(&path).unwrap_err();
    let _ = std::fs::remove_file(&path);
    let shown = error.to_string();
    assert!(shown.starts_with(&path.display().to_string()), "{shown}");
    assert!(shown.contains("titel: unknown field"), "{shown}");

    let missing = read_message::<catalog::Resource>(Path::new("/nonexistent/r.yaml"))
        .unwrap_err()
        .to_string();
    assert!(missing.contains("/nonexistent/r.yaml"), "{missing}");
}
