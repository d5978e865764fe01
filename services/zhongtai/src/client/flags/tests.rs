//! The flag parsers on good and bad values.

use zhongtai_contracts::approval::v1::{ApplicationStatus, ServiceItem};
use zhongtai_contracts::catalog::v1::Resource;

use super::*;

#[test]
fn tenants_are_a_division_and_an_optional_department() {
    assert_eq!(
        tenant("331100/civil-affairs").unwrap(),
        Tenant {
            division_code: "331100".into(),
            department: "civil-affairs".into()
        }
    );
    assert_eq!(tenant("330000").unwrap().department, "");
    assert!(tenant("33110").unwrap_err().contains("6 digits"));
    assert!(tenant("991100/x").unwrap_err().contains("province"));
    assert!(
        tenant("331100/Civil Affairs")
            .unwrap_err()
            .contains("department")
    );
}

#[test]
fn assignees_are_department_roles_or_users() {
    let fire = assignee("331100/fire-safety/approver").unwrap();
    match fire.target {
        Some(assignee::Target::DepartmentRole(role)) => {
            assert_eq!(role.role, "approver");
            assert_eq!(role.tenant.unwrap().department, "fire-safety");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        assignee("user:wang.fang").unwrap().target,
        Some(assignee::Target::User("wang.fang".into()))
    );
    assert!(assignee("user:").unwrap_err().contains("user:<subject>"));
    assert!(
        assignee("331100/approver")
            .unwrap_err()
            .contains("<division>/<department>/<role>")
    );
    assert!(assignee("331100//approver").is_err());
    assert!(
        assignee("331100/fire-safety/boss")
            .unwrap_err()
            .contains("boss")
    );
    assert!(
        assignee("3311/fire-safety/approver")
            .unwrap_err()
            .contains("6 digits")
    );
    assert!(assignee("331100/a/approver/x").is_err());
}

#[test]
fn field_access_takes_an_optional_masking() {
    let plain = field_access("husband_name").unwrap();
    assert_eq!(plain.field, "husband_name");
    assert_eq!(plain.masking, None);

    let last4 = field_access("wife_id_number:partial-last-4").unwrap();
    let rule = last4.masking.unwrap();
    assert_eq!(rule.kind(), MaskingKind::Partial);
    assert_eq!((rule.keep_first, rule.keep_last), (0, 4));

    let both = field_access("phone:partial-first-3-last-2").unwrap();
    let rule = both.masking.unwrap();
    assert_eq!((rule.keep_first, rule.keep_last), (3, 2));

    for (spec, kind) in [
        ("none", MaskingKind::None),
        ("redact", MaskingKind::Redact),
        ("hash", MaskingKind::Hash),
        ("nullify", MaskingKind::Nullify),
    ] {
        let access = field_access(&format!("f:{spec}")).unwrap();
        assert_eq!(access.masking.unwrap().kind(), kind, "{spec}");
    }

    for bad in [
        "f:partial",
        "f:partial-last",
        "f:partial-last-x",
        "f:partial-last-4-first-1",
        "f:partial-middle-2",
        "f:blur",
        "f:",
    ] {
        assert!(field_access(bad).unwrap_err().contains("masking"), "{bad}");
    }
    for bad in ["", "Name", "1st", "a-b", ":redact"] {
        assert!(
            field_access(bad).unwrap_err().contains("field name"),
            "{bad}"
        );
    }
}

#[test]
fn masking_specs_read_back_as_written() {
    for spec in [
        "id_number:partial-last-4",
        "phone:partial-first-3-last-2",
        "name:partial-first-1",
        "x:redact",
        "x:hash",
        "x:nullify",
        "x",
    ] {
        assert_eq!(field_access_spec(&field_access(spec).unwrap()), spec);
    }
}

#[test]
fn days_are_china_standard_time_and_until_covers_the_day() {
    // 2028-01-01T00:00:00+08:00
    assert_eq!(until("2027-12-31").unwrap().seconds, 1_830_268_800);
    // 2027-12-31T00:00:00+08:00
    assert_eq!(from("2027-12-31").unwrap().seconds, 1_830_182_400);
    assert_eq!(
        until("2027-12-31T16:00:00Z").unwrap().seconds,
        1_830_268_800
    );
    assert!(until("31/12/2027").unwrap_err().contains("2027-12-31"));
    assert!(until("2027-02-30").is_err());
}

#[test]
fn enum_values_take_short_or_full_names() {
    let status = enum_value("zhongtai.approval.v1.ApplicationStatus");
    let approved = ApplicationStatus::Approved as i32;
    assert_eq!(status("approved"), Ok(approved));
    assert_eq!(status("APPROVED"), Ok(approved));
    assert_eq!(status("APPLICATION_STATUS_APPROVED"), Ok(approved));
    assert_eq!(
        status("in-progress"),
        Ok(ApplicationStatus::InProgress as i32)
    );
    let error = status("done").unwrap_err();
    assert!(error.contains("in-progress, returned, approved"), "{error}");
    assert!(status("unspecified").is_err());
}

#[test]
fn field_masks_name_real_fields_in_snake_case() {
    let mask = field_mask::<ServiceItem>(&[
        "name".into(),
        "certificateType".into(),
        "form_fields".into(),
        "name".into(),
    ])
    .unwrap();
    assert_eq!(mask.paths, ["name", "certificate_type", "form_fields"]);
    let error = field_mask::<Resource>(&["titel".into()]).unwrap_err();
    assert!(
        error.contains("titel") && error.contains("title"),
        "{error}"
    );
    assert!(field_mask::<Resource>(&[]).is_err());
}

#[test]
fn request_ids_come_from_the_flag_the_file_or_fresh() {
    let flag = RequestIdArg {
        request_id: Some("retry-1".into()),
    };
    assert_eq!(flag.resolve("from-file"), "retry-1");
    let none = RequestIdArg::default();
    assert_eq!(none.resolve("from-file"), "from-file");
    let fresh = none.resolve("");
    assert!(uuid::Uuid::parse_str(&fresh).is_ok(), "{fresh}");
    assert_ne!(fresh, none.resolve(""));
}
