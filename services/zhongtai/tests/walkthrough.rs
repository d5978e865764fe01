//! The CLI walk-through (`docs/walkthrough.md`) run against a real embedded
//! platform: the same commands with the same example files, checked on what
//! a user reads back.

mod support;

use support::{Platform, examples, field, path_str, temp_dir, write_temp};

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

/// The platform operator's tenant: its admins define certificate types,
/// create issuers and unlock consents for the platform.
const PLATFORM_DIVISION: &str = "330000";
const PLATFORM_DEPARTMENT: &str = "big-data-bureau";
const COMPANY: &str = "丽水青瓷文化有限公司";

fn platform_admin(platform: &Platform) -> String {
    platform.token_of(PLATFORM_DIVISION, PLATFORM_DEPARTMENT, "admin", "qian.hui")
}

/// S2 steps 1–4 as the walkthrough runs them: the process, the item, the
/// company's application, the clerk and the joint approval. Returns the
/// application id.
fn approve_the_licence_application(platform: &Platform) -> String {
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
    platform.json(
        &operator,
        &[
            "item",
            "create",
            "-f",
            &examples("business-licence-item.yaml"),
            "--process",
            field(&process, "id"),
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
    for (approver, comment) in [
        (&clerk, "材料齐全，予以受理"),
        (&fire, "消防安全审查通过"),
        (&market, "同意设立"),
    ] {
        platform.json(
            approver,
            &["application", "approve", &application, "--comment", comment],
        );
    }
    let done = platform.json(&operator, &["application", "get", &application]);
    assert_eq!(
        done["application"]["status"], "APPLICATION_STATUS_APPROVED",
        "{done}"
    );
    application
}

/// Changes one character in the middle of the token's signed payload, as
/// the walkthrough's awk line does.
fn tampered(token: &str) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a compact JWS: {token}");
    let payload = parts[1];
    let middle = payload.len() / 2;
    let replacement = if &payload[middle - 1..middle] == "A" {
        "B"
    } else {
        "A"
    };
    format!(
        "{}.{}{replacement}{}.{}",
        parts[0],
        &payload[..middle - 1],
        &payload[middle..],
        parts[2]
    )
}

/// The walkthrough's PyJWT check: the company name from a token verified
/// with nothing but the saved JWKS.
fn pyjwt_company_name(jwks: &std::path::Path, token: &str) -> std::process::Output {
    const SCRIPT: &str = r#"
import sys, jwt
keys = jwt.PyJWKSet.from_json(open(sys.argv[1]).read())
token = sys.argv[2]
key = keys[jwt.get_unverified_header(token)["kid"]]
print(jwt.decode(token, key, algorithms=["EdDSA"])["claims"]["company_name"])
"#;
    let python = std::env::var("ZT_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    std::process::Command::new(python)
        .args(["-c", SCRIPT])
        .arg(jwks)
        .arg(token)
        .output()
        .expect("python runs")
}

fn outcome(result: &serde_json::Value) -> &str {
    field(result, "outcome")
}

#[test]
fn s2_continued_the_licence_is_issued_verified_online_and_offline_and_revoked() {
    let platform = Platform::start();
    let admin = platform_admin(&platform);
    let operator = platform.token("market-regulation", "operator", "wang.fang");
    let bank = platform.token("agricultural-bank", "viewer", "zheng.yu");
    let files = temp_dir();

    // Before step 4: the platform defines the licence and its issuer.
    let licence_type = platform.json(
        &admin,
        &[
            "certificate",
            "type",
            "create",
            "-f",
            &examples("certificate-type-business-licence.yaml"),
        ],
    );
    assert_eq!(field(&licence_type, "code"), "business-licence");
    let shown = platform.text(&admin, &["certificate", "type", "get", "business-licence"]);
    assert!(
        shown.contains("统一社会信用代码") && shown.contains("DECIMAL"),
        "{shown}"
    );
    let created = platform.json(
        &admin,
        &[
            "certificate",
            "issuer",
            "create",
            "--tenant",
            "331100/market-regulation",
            "--name",
            "丽水市市场监督管理局",
            "--type",
            "business-licence",
        ],
    );
    let issuer = field(&created["issuer"], "id").to_string();
    assert_eq!(
        created["issuer"]["activeKeyId"], created["signingKey"]["keyId"],
        "{created}"
    );
    let shown = platform.text(&admin, &["certificate", "issuer", "get", &issuer]);
    assert!(
        shown.contains("331100/market-regulation") && shown.contains("ACTIVE"),
        "{shown}"
    );
    let issuers = platform.text(&admin, &["certificate", "issuer", "list"]);
    assert!(
        issuers.contains(&issuer) && issuers.contains("business-licence"),
        "{issuers}"
    );

    // Step 3: the approval event makes the certificate center issue it.
    let application = approve_the_licence_application(&platform);
    let listed = platform.wait_for(
        &operator,
        &["certificate", "list", "--type", "business-licence"],
        "the licence is issued",
        |r| r["certificates"].as_array().is_some_and(|c| !c.is_empty()),
    );
    let certificates = listed["certificates"].as_array().unwrap();
    assert_eq!(certificates.len(), 1, "{listed}");
    let licence = &certificates[0];
    let licence_id = field(licence, "id").to_string();
    assert_eq!(field(licence, "applicationId"), application);
    assert_eq!(field(licence, "issuerId"), issuer);
    assert_eq!(field(licence, "status"), "CERTIFICATE_STATUS_VALID");
    let table = platform.text(
        &operator,
        &["certificate", "list", "--type", "business-licence"],
    );
    assert!(
        table.contains(&licence_id) && table.contains(COMPANY) && table.contains("VALID"),
        "{table}"
    );
    let details = platform.text(&operator, &["certificate", "get", &licence_id]);
    assert!(
        details.contains("company_name:") && details.contains("叶青"),
        "the claims come from the form: {details}"
    );
    assert!(details.contains("ZT1:"), "the QR payload: {details}");
    let got = platform.json(&operator, &["certificate", "get", &licence_id]);
    let token = field(&got["certificate"], "token").to_string();
    let qr_payload = field(&got["certificate"], "qrPayload").to_string();
    let image = files.join("licence.png");
    platform.text(
        &operator,
        &[
            "certificate",
            "get",
            &licence_id,
            "--qr",
            "png",
            "--out",
            path_str(&image),
        ],
    );
    let png = std::fs::read(&image).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG image");

    // Step 4: the bank verifies online: valid, by token or QR file; tampered.
    let (code, valid) = platform.verdict(&bank, &["certificate", "verify", &token]);
    assert_eq!(code, Some(0), "{valid}");
    assert_eq!(outcome(&valid), "VERIFICATION_OUTCOME_VALID");
    assert_eq!(valid["statusChecked"], true, "{valid}");
    let qr_file = files.join("licence-qr.txt");
    std::fs::write(&qr_file, &qr_payload).unwrap();
    let shown = platform.run(
        &bank,
        &["certificate", "verify", path_str(&qr_file), "--claims"],
    );
    let text = String::from_utf8_lossy(&shown.stdout);
    assert_eq!(shown.status.code(), Some(0), "{text}");
    assert!(
        text.contains("outcome:") && text.contains("VALID") && text.contains(COMPANY),
        "{text}"
    );
    let forged = tampered(&token);
    let (code, refused) = platform.verdict(&bank, &["certificate", "verify", &forged]);
    assert_eq!(code, Some(1), "{refused}");
    assert_eq!(outcome(&refused), "VERIFICATION_OUTCOME_SIGNATURE_INVALID");

    let (code, stderr) = platform.refused(&bank, &["certificate", "verify", "not-a-certificate"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("INVALID_ARGUMENT"), "{stderr}");

    // The trust list needs no token; saved, it verifies with no network.
    let trust_list = files.join("trust-list.json");
    let published = platform.text(
        "",
        &["certificate", "trust-list", "--out", path_str(&trust_list)],
    );
    assert!(
        published.contains("丽水市市场监督管理局") && published.contains(&issuer),
        "{published}"
    );
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&trust_list).unwrap()).unwrap();
    assert!(!field(&saved, "anchorKeyId").is_empty(), "{saved}");
    let nowhere = files.join("no-platform-here");
    let offline = |presentation: &str| {
        platform.verdict(
            "",
            &[
                "certificate",
                "verify",
                "--offline",
                "--trust-list",
                path_str(&trust_list),
                "--data-dir",
                path_str(&nowhere),
                presentation,
            ],
        )
    };
    let (code, result) = offline(&token);
    assert_eq!(code, Some(0), "{result}");
    assert_eq!(outcome(&result), "VERIFICATION_OUTCOME_VALID");
    assert_eq!(result["statusChecked"], serde_json::Value::Null, "{result}");
    let (code, result) = offline(&forged);
    assert_eq!(code, Some(1), "{result}");
    assert_eq!(outcome(&result), "VERIFICATION_OUTCOME_SIGNATURE_INVALID");

    // Step 5: PyJWT verifies the same token with only the JWKS.
    let jwks = files.join("jwks.json");
    std::fs::write(&jwks, saved["jwks"].to_string()).unwrap();
    let checked = pyjwt_company_name(&jwks, &token);
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&checked.stdout).trim(), COMPANY);
    assert!(!pyjwt_company_name(&jwks, &forged).status.success());

    // Suspended, then reinstated: online verifiers see both.
    let suspended = platform.json(
        &operator,
        &[
            "certificate",
            "suspend",
            &licence_id,
            "--reason",
            "经营异常核查",
        ],
    );
    assert_eq!(field(&suspended, "status"), "CERTIFICATE_STATUS_SUSPENDED");
    let (code, result) = platform.verdict(&bank, &["certificate", "verify", &token]);
    assert_eq!(code, Some(1), "{result}");
    assert_eq!(outcome(&result), "VERIFICATION_OUTCOME_SUSPENDED");
    let reinstated = platform.text(
        &operator,
        &[
            "certificate",
            "reinstate",
            &licence_id,
            "--reason",
            "核查完毕",
        ],
    );
    assert!(
        reinstated.contains("status:         VALID") && reinstated.contains("核查完毕"),
        "{reinstated}"
    );
    let (code, result) = platform.verdict(&bank, &["certificate", "verify", &token]);
    assert_eq!(code, Some(0), "{result}");

    // Revoked: online verifiers see it; the offline check cannot.
    let revoked = platform.json(
        &operator,
        &[
            "certificate",
            "revoke",
            &licence_id,
            "--reason",
            "吊销营业执照",
        ],
    );
    assert_eq!(field(&revoked, "status"), "CERTIFICATE_STATUS_REVOKED");
    let (code, result) = platform.verdict(&bank, &["certificate", "verify", &token]);
    assert_eq!(code, Some(1), "{result}");
    assert_eq!(outcome(&result), "VERIFICATION_OUTCOME_REVOKED");
    let (code, result) = offline(&token);
    assert_eq!(code, Some(0), "{result}");
    assert_eq!(outcome(&result), "VERIFICATION_OUTCOME_VALID");
    let (_, stderr) = platform.refused(
        &operator,
        &[
            "certificate",
            "reinstate",
            &licence_id,
            "--reason",
            "误操作",
        ],
    );
    assert!(stderr.contains("FAILED_PRECONDITION"), "{stderr}");

    // A new key: the old one is retired and keeps verifying what it signed.
    let rotated = platform.json(&admin, &["certificate", "issuer", "rotate-key", &issuer]);
    let old_key = field(&created["signingKey"], "keyId");
    assert_eq!(field(&rotated["retiredKey"], "keyId"), old_key, "{rotated}");
    assert_eq!(
        field(&rotated["retiredKey"], "state"),
        "SIGNING_KEY_STATE_RETIRED"
    );
    let keys = platform.text(&admin, &["certificate", "issuer", "keys", &issuer]);
    assert!(
        keys.contains(old_key)
            && keys.contains("RETIRED")
            && keys.contains(field(&rotated["newKey"], "keyId"))
            && keys.contains("ACTIVE"),
        "{keys}"
    );
    let _ = std::fs::remove_dir_all(files);
}

const NANNY: &str = "李秀英:331102199001012345";
const NANNY_ID: &str = "331102199001012345";

/// The consent request of S3, for `limit` reads.
fn request_consent(platform: &Platform, app: &str, limit: &str) -> String {
    let requested = platform.json(
        app,
        &[
            "consent",
            "request",
            "--app",
            "home-service",
            "--requester",
            "丽水好阿姨家政平台",
            "--person",
            NANNY,
            "--custodian",
            "331100/human-resources",
            "--type",
            "qualification-certificate",
            "--type",
            "health-certificate",
            "--purpose",
            "hiring check",
            "--days",
            "30",
            "--limit",
            limit,
        ],
    );
    assert_eq!(field(&requested, "state"), "CONSENT_STATE_PENDING");
    field(&requested, "id").to_string()
}

#[test]
fn s3_a_nannys_records_are_read_only_once_all_three_parties_unlock() {
    let platform = Platform::start();
    let admin = platform_admin(&platform);
    let hr_operator = platform.token("human-resources", "operator", "zhou.jie");
    let hr_admin = platform.token("human-resources", "admin", "lin.hong");
    let app = platform.token("home-service-platform", "operator", "app:home-service");
    let nanny = platform.citizen(NANNY_ID);

    for file in [
        "certificate-type-qualification.yaml",
        "certificate-type-health.yaml",
    ] {
        platform.json(
            &admin,
            &["certificate", "type", "create", "-f", &examples(file)],
        );
    }
    let created = platform.json(
        &admin,
        &[
            "certificate",
            "issuer",
            "create",
            "--tenant",
            "331100/human-resources",
            "--name",
            "丽水市人力资源和社会保障局",
            "--type",
            "qualification-certificate",
            "--type",
            "health-certificate",
        ],
    );
    let issuer = field(&created["issuer"], "id").to_string();
    let qualification = platform.json(
        &hr_operator,
        &[
            "certificate",
            "issue",
            "-f",
            &examples("issue-qualification.yaml"),
            "--issuer",
            &issuer,
        ],
    );
    assert_eq!(field(&qualification, "status"), "CERTIFICATE_STATUS_VALID");

    // A value that does not fit its claim's type is refused before sending.
    let health = |fit: &str| {
        let claim = format!("fit_for_work={fit}");
        let args = vec![
            "certificate",
            "issue",
            "--type",
            "health-certificate",
            "--issuer",
            &issuer,
            "--person",
            NANNY,
            "--claim",
            "occupation=家政服务",
            "--claim",
            "examined_on=2026-11-20",
            "--claim",
            &claim,
            "--validity",
            "365d",
        ];
        args.into_iter().map(str::to_string).collect::<Vec<_>>()
    };
    let wrong = health("yes");
    let wrong: Vec<&str> = wrong.iter().map(String::as_str).collect();
    let (code, stderr) = platform.refused(&hr_operator, &wrong);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("--claim fit_for_work=yes") && stderr.contains("true or false"),
        "{stderr}"
    );
    let listed = platform.json(
        &hr_operator,
        &["certificate", "list", "--type", "health-certificate"],
    );
    assert!(
        listed["certificates"].as_array().is_none_or(Vec::is_empty),
        "nothing was issued: {listed}"
    );
    let right = health("true");
    let right: Vec<&str> = right.iter().map(String::as_str).collect();
    let certificate = platform.json(&hr_operator, &right);
    let claims = certificate["claims"].as_array().unwrap();
    assert!(
        claims
            .iter()
            .any(|c| c["name"] == "fit_for_work" && c["boolValue"] == true),
        "typed as the type declares: {certificate}"
    );
    assert!(
        claims
            .iter()
            .any(|c| c["name"] == "examined_on" && c["dateValue"] == "2026-11-20"),
        "{certificate}"
    );

    // Step 1: the home-service platform asks; step 2: locked until all three.
    let consent = request_consent(&platform, &app, "3");
    let (code, stderr) = platform.refused(&app, &["consent", "read", &consent]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("PERMISSION_DENIED") && stderr.contains("CONSENT_LOCKED"),
        "{stderr}"
    );
    let unlocked = platform.json(
        &hr_admin,
        &["consent", "unlock", &consent, "--party", "custodian"],
    );
    assert_eq!(field(&unlocked, "state"), "CONSENT_STATE_PENDING");
    platform.json(
        &admin,
        &["consent", "unlock", &consent, "--party", "platform"],
    );
    let (_, stderr) = platform.refused(&app, &["consent", "read", &consent]);
    assert!(stderr.contains("CONSENT_LOCKED"), "{stderr}");
    let stranger = platform.citizen("331102199202023456");
    let (_, stderr) = platform.refused(
        &stranger,
        &["consent", "unlock", &consent, "--party", "holder"],
    );
    assert!(stderr.contains("PERMISSION_DENIED"), "{stderr}");
    let waiting = platform.text(&nanny, &["consent", "list", "--awaiting", "holder"]);
    assert!(
        waiting.contains(&consent) && waiting.contains("丽水好阿姨家政平台"),
        "{waiting}"
    );
    let shown = platform.text(&nanny, &["consent", "get", &consent]);
    assert!(
        shown.contains("hiring check") && shown.contains("awaiting:") && shown.contains("holder"),
        "{shown}"
    );
    let active = platform.json(
        &nanny,
        &["consent", "unlock", &consent, "--party", "holder"],
    );
    assert_eq!(field(&active, "state"), "CONSENT_STATE_ACTIVE");

    // Step 3: a read returns both certificates' claims and counts.
    let read = platform.text(&app, &["consent", "read", &consent]);
    assert!(
        read.contains("reads remaining:  2")
            && read.contains("qualification-certificate")
            && read.contains("health-certificate")
            && read.contains("育婴员"),
        "{read}"
    );
    let revoked = platform.json(
        &nanny,
        &[
            "consent",
            "revoke",
            &consent,
            "--party",
            "holder",
            "--reason",
            "已另择平台",
        ],
    );
    assert_eq!(field(&revoked, "state"), "CONSENT_STATE_REVOKED");
    let (_, stderr) = platform.refused(&app, &["consent", "read", &consent]);
    assert!(
        stderr.contains("PERMISSION_DENIED") && stderr.contains("CONSENT_REVOKED"),
        "{stderr}"
    );
    let usage = platform.text(&nanny, &["consent", "usage", &consent]);
    assert_eq!(usage.matches("ALLOWED").count(), 1, "{usage}");
    assert_eq!(usage.matches("REFUSED_LOCKED").count(), 2, "{usage}");
    assert_eq!(usage.matches("REFUSED_REVOKED").count(), 1, "{usage}");

    // A party may refuse to unlock: the consent ends there.
    let declined = request_consent(&platform, &app, "3");
    let ended = platform.json(
        &hr_admin,
        &[
            "consent",
            "decline",
            &declined,
            "--party",
            "custodian",
            "--reason",
            "资料不全",
        ],
    );
    assert_eq!(field(&ended, "state"), "CONSENT_STATE_DECLINED");
    assert_eq!(field(&ended, "endedBy"), "CONSENT_PARTY_CUSTODIAN");

    // Past the limit: a one-read consent refuses the second read.
    let once = request_consent(&platform, &app, "1");
    platform.json(
        &hr_admin,
        &["consent", "unlock", &once, "--party", "custodian"],
    );
    platform.json(&admin, &["consent", "unlock", &once, "--party", "platform"]);
    platform.json(&nanny, &["consent", "unlock", &once, "--party", "holder"]);
    let first = platform.text(&app, &["consent", "read", &once]);
    assert!(first.contains("reads remaining:  0"), "{first}");
    let (code, stderr) = platform.refused(&app, &["consent", "read", &once]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("FAILED_PRECONDITION") && stderr.contains("CONSENT_LIMIT_REACHED"),
        "{stderr}"
    );
}

const PARENT_ID: &str = "331102198805056789";

/// Today in China Standard Time, as the walkthrough's `date +%F` gives it
/// on a machine set to that zone.
fn today() -> String {
    let offset = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8 is an offset");
    chrono::Utc::now()
        .with_timezone(&offset)
        .format("%Y-%m-%d")
        .to_string()
}

#[test]
fn s5_codes_for_a_holder_a_family_and_a_printout_are_scanned_and_traced() {
    let platform = Platform::start();
    let admin = platform_admin(&platform);
    let health = platform.token("health", "operator", "jiang.wei");
    let museum = platform.token("culture-tourism", "operator", "guo.qing");
    let museum_admin = platform.token("culture-tourism", "admin", "tang.li");
    let parent = platform.citizen(PARENT_ID);
    let files = temp_dir();

    for file in [
        "certificate-type-health.yaml",
        "certificate-type-birth-medical.yaml",
    ] {
        platform.json(
            &admin,
            &["certificate", "type", "create", "-f", &examples(file)],
        );
    }
    let created = platform.json(
        &admin,
        &[
            "certificate",
            "issuer",
            "create",
            "--tenant",
            "331100/health",
            "--name",
            "丽水市卫生健康委员会",
            "--type",
            "health-certificate",
            "--type",
            "birth-medical-certificate",
        ],
    );
    let issuer = field(&created["issuer"], "id").to_string();
    platform.json(
        &health,
        &[
            "certificate",
            "issue",
            "--type",
            "health-certificate",
            "--issuer",
            &issuer,
            "--person",
            "王芳:331102198805056789",
            "--claim",
            "occupation=教师",
            "--claim",
            "examined_on=2026-10-01",
            "--claim",
            "fit_for_work=true",
        ],
    );
    let first_birth = platform.json(
        &health,
        &[
            "certificate",
            "issue",
            "-f",
            &examples("issue-birth-medical-certificate.yaml"),
            "--issuer",
            &issuer,
        ],
    );
    let second_birth = platform.json(
        &health,
        &[
            "certificate",
            "issue",
            "--type",
            "birth-medical-certificate",
            "--issuer",
            &issuer,
            "--person",
            "王小红:331102201903031236",
            "--claim",
            "birth_date=2019-03-03",
            "--claim",
            "birth_place=丽水市中心医院",
            "--claim",
            "mother_name=王芳",
            "--claim",
            "mother_id_number=331102198805056789",
        ],
    );

    // Step 1: the parent's own code, with its image.
    let image = files.join("my-code.png");
    let shown = platform.text(
        &parent,
        &["code", "show", "--qr", "png", "--out", path_str(&image)],
    );
    assert!(
        shown.contains("PERSONAL") && shown.contains("NORMAL (green)") && shown.contains("ZT1:"),
        "{shown}"
    );
    assert!(std::fs::read(&image).unwrap().starts_with(b"\x89PNG"));
    let own = platform.json(&parent, &["code", "show"]);
    let own_payload = field(&own["code"], "qrPayload").to_string();

    // Family codes for two children, each linked by a birth certificate
    // naming parent and child; another child's certificate proves nothing.
    let (code, stderr) = platform.refused(
        &parent,
        &[
            "code",
            "link",
            "--name",
            "王小红",
            "--id-number",
            "331102201903031236",
            "--relationship",
            "parent",
            "--evidence",
            field(&first_birth, "id"),
        ],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("FAILED_PRECONDITION") && stderr.contains("does not name both"),
        "{stderr}"
    );
    for (name, id, birth) in [
        ("王小明", "331102201601011234", &first_birth),
        ("王小红", "331102201903031236", &second_birth),
    ] {
        let link = platform.json(
            &parent,
            &[
                "code",
                "link",
                "--name",
                name,
                "--id-number",
                id,
                "--relationship",
                "parent",
                "--evidence",
                field(birth, "id"),
            ],
        );
        assert_eq!(field(&link, "state"), "DEPENDANT_STATE_ACTIVE");
    }
    let dependants = platform.text(&parent, &["code", "dependants"]);
    assert!(
        dependants.contains("王小明")
            && dependants.contains("王小红")
            && dependants.contains("PARENT"),
        "{dependants}"
    );
    let family = platform.json(&parent, &["code", "family"]);
    let family_codes = family["codes"].as_array().unwrap();
    assert_eq!(family_codes.len(), 2, "{family}");
    assert!(
        family_codes.iter().all(|c| c["kind"] == "CODE_KIND_FAMILY"),
        "{family}"
    );
    let family_text = platform.text(&parent, &["code", "family"]);
    assert_eq!(family_text.matches("FAMILY").count(), 2, "{family_text}");

    // A printable code for a person without a phone, from the counter.
    let printout = files.join("wang-fang-offline.png");
    let offline = platform.json(
        &health,
        &[
            "code",
            "offline",
            "--name",
            "王芳",
            "--id-number",
            PARENT_ID,
            "--validity",
            "90d",
            "--out",
            path_str(&printout),
        ],
    );
    assert_eq!(field(&offline, "kind"), "CODE_KIND_OFFLINE");
    assert!(std::fs::read(&printout).unwrap().starts_with(b"\x89PNG"));
    let offline_id = field(&offline, "id").to_string();
    let offline_payload = field(&offline, "qrPayload").to_string();

    // Step 2: a venue scans each code; each is verified and recorded.
    let venue = platform.json(
        &museum,
        &[
            "code",
            "venue",
            "register",
            "--name",
            "丽水市博物馆",
            "--address",
            "丽水市莲都区",
            "--division",
            "331100",
        ],
    );
    let venue_id = field(&venue, "id").to_string();
    let venues = platform.text(&museum, &["code", "venue", "list"]);
    assert!(venues.contains("丽水市博物馆"), "{venues}");
    let (code, verified) = platform.verdict(&museum, &["code", "verify", &own_payload]);
    assert_eq!(code, Some(0), "{verified}");
    assert_eq!(
        field(&verified["result"], "outcome"),
        "VERIFICATION_OUTCOME_VALID"
    );
    let payloads: Vec<String> = std::iter::once(own_payload.clone())
        .chain(
            family_codes
                .iter()
                .map(|c| field(c, "qrPayload").to_string()),
        )
        .chain(std::iter::once(offline_payload.clone()))
        .collect();
    for payload in &payloads {
        let scan = platform.text(
            &museum,
            &[
                "code", "scan", "--venue", &venue_id, "--device", "gate-1", payload,
            ],
        );
        assert!(
            scan.contains("outcome:") && scan.contains("VALID") && scan.contains("gate-1"),
            "{scan}"
        );
    }
    // A retried scan, with the scan id of the first try, is recorded once.
    let scan_id = uuid::Uuid::new_v4().to_string();
    for _ in 0..2 {
        let (code, retried) = platform.verdict(
            &museum,
            &[
                "code",
                "scan",
                "--venue",
                &venue_id,
                "--scan-id",
                &scan_id,
                &own_payload,
            ],
        );
        assert_eq!(code, Some(0), "{retried}");
        assert_eq!(field(&retried, "scanId"), scan_id);
    }
    let (code, stderr) = platform.refused(
        &museum,
        &["code", "scan", "--venue", &venue_id, "ZT1:NOT A CODE"],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("INVALID_ARGUMENT"), "{stderr}");
    let today = today();
    let traced = platform.wait_for(
        &museum_admin,
        &[
            "code", "venue", "scans", &venue_id, "--from", &today, "--until", &today,
        ],
        "the six scans are recorded",
        |r| r["scans"].as_array().is_some_and(|s| s.len() == 6),
    );
    let kinds: Vec<&str> = traced["scans"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["codeKind"].as_str())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "CODE_KIND_FAMILY").count(),
        2,
        "{kinds:?}"
    );
    let table = platform.text(
        &museum_admin,
        &[
            "code", "venue", "scans", &venue_id, "--from", &today, "--until", &today,
        ],
    );
    assert!(
        table.contains("OFFLINE") && table.contains("gate-1"),
        "{table}"
    );
    assert_eq!(table.matches("UNREADABLE").count(), 1, "{table}");
    let mine = platform.text(
        &parent,
        &["code", "scans", "--from", &today, "--until", &today],
    );
    assert!(
        mine.contains(&venue_id)
            && mine.contains("PERSONAL")
            && mine.contains("OFFLINE")
            && !mine.contains("FAMILY"),
        "the parent's own scans: {mine}"
    );

    // A lost printout is revoked: scanning it fails.
    platform.json(
        &health,
        &["code", "revoke-offline", &offline_id, "--reason", "遗失"],
    );
    let (code, scan) = platform.verdict(
        &museum,
        &["code", "scan", "--venue", &venue_id, &offline_payload],
    );
    assert_eq!(code, Some(1), "{scan}");
    assert_eq!(field(&scan, "outcome"), "VERIFICATION_OUTCOME_REVOKED");
    let _ = std::fs::remove_dir_all(files);
}

#[test]
fn bad_certificate_files_flags_and_claims_exit_2_and_send_nothing() {
    let platform = Platform::start();
    let admin = platform_admin(&platform);
    let operator = platform.token("market-regulation", "operator", "wang.fang");
    let licence =
        std::fs::read_to_string(examples("certificate-type-business-licence.yaml")).unwrap();

    let wrong_enum = write_temp(
        "type.yaml",
        &licence.replace("CLAIM_TYPE_DECIMAL", "CLAIM_TYPE_MONEY"),
    );
    let (code, stderr) = platform.refused(
        &admin,
        &["certificate", "type", "create", "-f", path_str(&wrong_enum)],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(path_str(&wrong_enum))
            && stderr.contains(
                "certificateType.claims[3].type: unrecognized enum value 'CLAIM_TYPE_MONEY'"
            ),
        "{stderr}"
    );

    for (args, expected) in [
        (
            vec![
                "certificate",
                "issue",
                "--type",
                "business-licence",
                "--issuer",
                "x",
                "--org",
                COMPANY,
            ],
            "NAME:CREDITCODE",
        ),
        (
            vec![
                "certificate",
                "issue",
                "--type",
                "business-licence",
                "--issuer",
                "x",
                "--person",
                "叶青",
            ],
            "NAME:IDNUMBER",
        ),
        (
            vec![
                "certificate",
                "issue",
                "--type",
                "business-licence",
                "--issuer",
                "x",
                "--claim",
                "company_name",
            ],
            "NAME=VALUE",
        ),
        (
            vec![
                "certificate",
                "issue",
                "--type",
                "business-licence",
                "--issuer",
                "x",
                "--validity",
                "1y",
            ],
            "365d",
        ),
        (
            vec!["certificate", "list", "--status", "lost"],
            "valid, suspended, revoked, expired",
        ),
        (
            vec!["certificate", "verify", "--offline", "ZT1:X"],
            "--trust-list",
        ),
        (
            vec!["consent", "unlock", "c-1", "--party", "bank"],
            "custodian, platform, holder",
        ),
        (
            vec![
                "code",
                "link",
                "--name",
                "王小明",
                "--id-number",
                "1",
                "--relationship",
                "uncle",
                "--evidence",
                "c-1",
            ],
            "parent, legal-guardian, child, spouse",
        ),
    ] {
        let (code, stderr) = platform.refused(&operator, &args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    let not_a_trust_list = platform.refused(
        "",
        &[
            "certificate",
            "verify",
            "--offline",
            "--trust-list",
            &examples("business-licence-item.yaml"),
            "ZT1:X",
        ],
    );
    assert_eq!(not_a_trust_list.0, Some(2));
    assert!(
        not_a_trust_list.1.contains("is not a trust list saved by"),
        "{}",
        not_a_trust_list.1
    );

    // Nothing reached the certificate center.
    let types = platform.json(&admin, &["certificate", "type", "list"]);
    assert!(
        types["certificateTypes"]
            .as_array()
            .is_none_or(Vec::is_empty),
        "{types}"
    );

    // With the type in place, a claim that does not fit is named.
    platform.json(
        &admin,
        &[
            "certificate",
            "type",
            "create",
            "-f",
            &examples("certificate-type-business-licence.yaml"),
        ],
    );
    for (claim, expected) in [
        ("registered_capital=很多", "a decimal number"),
        ("established_on=2026/12/01", "YYYY-MM-DD"),
        ("capital=1", "has no claim capital"),
    ] {
        let (code, stderr) = platform.refused(
            &operator,
            &[
                "certificate",
                "issue",
                "--type",
                "business-licence",
                "--issuer",
                "0193a1b2-0000-7000-8000-000000000000",
                "--org",
                "丽水青瓷文化有限公司:91331100MA2HK7Q34E",
                "--claim",
                "company_name=丽水青瓷文化有限公司",
                "--claim",
                claim,
            ],
        );
        assert_eq!(code, Some(2), "{claim}: {stderr}");
        assert!(
            stderr.contains(&format!("--claim {claim}")) && stderr.contains(expected),
            "{claim}: {stderr}"
        );
    }
    let issued = platform.json(&operator, &["certificate", "list"]);
    assert!(
        issued["certificates"].as_array().is_none_or(Vec::is_empty),
        "{issued}"
    );
    let _ = std::fs::remove_file(wrong_enum);
}

#[test]
fn s4_in_miniature_a_city_backflows_its_countys_slice_of_its_own_table() {
    let platform = Platform::start();
    let city = platform.token_of("331100", "data-bureau", "admin", "li.ming");
    let county = platform.token_of("331121", "data-bureau", "admin", "wu.fang");

    let city_enclave = platform.json(&city, &["enclave", "create", "丽水市数据飞地"]);
    let city_enclave = field(&city_enclave, "id").to_string();
    platform.json(
        &city,
        &[
            "enclave",
            "table",
            "create",
            &city_enclave,
            "-f",
            &examples("exchange/household-subsidy-table.yaml"),
        ],
    );
    let written = platform.json(
        &city,
        &[
            "enclave",
            "write",
            &city_enclave,
            "household_subsidy",
            "-f",
            &examples("exchange/household-subsidy-rows.yaml"),
        ],
    );
    assert_eq!(written["upsertedCount"], "3", "{written}");
    let county_enclave = platform.json(&county, &["enclave", "create", "青田县数据飞地"]);
    let county_enclave = field(&county_enclave, "id").to_string();

    let rule = std::fs::read_to_string(examples("exchange/backflow-331100-to-331121.yaml"))
        .unwrap()
        .replace("00000000-0000-0000-0000-000000000000", &county_enclave);
    let rule = write_temp("backflow.yaml", &rule);
    platform.json(
        &city,
        &[
            "enclave",
            "backflow",
            "add",
            &city_enclave,
            "-f",
            path_str(&rule),
        ],
    );
    // The county's table appears with the first rows delivered.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let received = loop {
        let output = platform.run(
            &county,
            &[
                "enclave",
                "query",
                &county_enclave,
                "household_subsidy",
                "--json",
            ],
        );
        if output.status.success() {
            let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
            if value["rows"].as_array().is_some_and(|rows| rows.len() == 2) {
                break value;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the county's rows never arrived: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let shown = received.to_string();
    assert!(
        shown.contains("331121") && !shown.contains("331102"),
        "{shown}"
    );
    assert!(
        shown.contains("**************4321") && !shown.contains("331121198203154321"),
        "ID numbers masked except the last 4: {shown}"
    );

    // The county cannot read the city's enclave; it is not even found.
    let (code, stderr) = platform.refused(
        &county,
        &["enclave", "query", &city_enclave, "household_subsidy"],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("NOT_FOUND"), "{stderr}");
}

/// One signed call with the Python example client (standard library only).
fn signed_call(front_door: &str, app_key: &str, secret: &str, body: &str) -> serde_json::Value {
    let output = std::process::Command::new("python3")
        .arg(examples("gateway/zt_client.py"))
        .args([
            "--url",
            front_door,
            "--app-key",
            app_key,
            "--secret",
            secret,
        ])
        .args(["POST", "/v1/certificates:verify", body])
        .output()
        .expect("python3 runs");
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "zt_client.py: not JSON ({e}): {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

#[test]
fn the_integrator_quick_start_opens_verification_to_a_bank_that_signs_its_calls() {
    let platform = Platform::start();
    let operator = platform.token_of("330000", "big-data-bureau", "admin", "platform-admin");

    platform.json(
        &operator,
        &[
            "capability",
            "create",
            "--file",
            &examples("gateway/certificate-verify.yaml"),
        ],
    );
    let published = platform.json(
        &operator,
        &["capability", "publish", "certificate.verify", "v1"],
    );
    assert_eq!(published["published"], true, "{published}");
    let registered = platform.json(
        &operator,
        &[
            "app",
            "register",
            "--name",
            "Agricultural Bank",
            "--sponsor",
            "331100/market-regulation",
            "--owner",
            "Agricultural Bank of China",
            "--contact-email",
            "api@bank.example",
            "--allow",
            "certificate.verify",
        ],
    );
    let app = if registered["app"].is_object() {
        &registered["app"]
    } else {
        &registered
    };
    let app_id = field(app, "id").to_string();
    let issued = platform.json(&operator, &["app", "credential", "issue", &app_id]);
    let app_key = field(&issued["credential"], "appKey").to_string();
    let secret = field(&issued, "secret").to_string();
    platform.json(
        &operator,
        &[
            "policy",
            "set",
            "--app",
            &app_id,
            "--capability",
            "certificate.verify",
            "--day",
            "10000",
            "--rate",
            "50/1s",
        ],
    );

    // The bank's call gets through once the gateway has the configuration
    // (within its refresh interval): the certificate center answers it.
    let front_door = platform.front_door();
    let body = r#"{"token": "eyJhbGciOiJFZERTQSIsInR5cCI6Inp0LWNlcnQrand0Iiwia2lkIjoidW5rbm93biJ9.eyJqdGkiOiJ4In0.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}"#;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let answer = loop {
        let answer = signed_call(&front_door, &app_key, &secret, body);
        if answer["status"] == 200 || std::time::Instant::now() > deadline {
            break answer;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(
        answer["body"]["result"]["outcome"], "VERIFICATION_OUTCOME_UNTRUSTED_KEY",
        "{answer}"
    );
    assert_eq!(
        answer["headers"]["x-zt-quota-day-remaining"], "9999",
        "{answer}"
    );

    // A wrong secret is refused with the documented reason.
    let forged = signed_call(&front_door, &app_key, "not-the-secret", body);
    assert_eq!(forged["status"], 401, "{forged}");
    assert_eq!(
        forged["body"]["error"]["reason"], "SIGNATURE_INVALID",
        "{forged}"
    );

    // The operator sees the usage and the audited calls.
    let usage = platform.json(&operator, &["usage", "--app", &app_id]);
    assert_eq!(usage["usages"][0]["used"], "1", "{usage}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let audit = loop {
        let audit = platform.json(&operator, &["gateway", "audit", "--app", &app_id]);
        let n = audit["records"].as_array().map(Vec::len).unwrap_or(0);
        if n >= 2 || std::time::Instant::now() > deadline {
            break audit;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let reasons: Vec<&str> = audit["records"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["errorReason"].as_str())
        .collect();
    assert!(reasons.contains(&"SIGNATURE_INVALID"), "{audit}");
}
