use super::*;
use crate::tls::tests::{ScratchDir, read};

fn generate_in(dir: &ScratchDir, names: &[&str]) -> DevPki {
    generate(dir.path(), names, 30).unwrap_or_else(|e| panic!("generate {names:?}: {e}"))
}

#[test]
fn lays_out_a_ca_and_one_certificate_and_key_per_name() {
    let dir = ScratchDir::new();
    let pki = generate_in(&dir, &["approval", "catalog", "approval"]);
    assert_eq!(pki.ca, dir.path().join("ca.pem"));
    assert!(pki.ca_created);
    assert_eq!(pki.issued, ["approval", "catalog"]);
    let names: Vec<_> = pki
        .certificates
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(names, ["approval", "catalog"]);
    assert_eq!(pki.certificates[0].1, files_for(dir.path(), "approval"));
    for file in ["ca.pem", "ca-key.pem", "approval.pem", "approval-key.pem"] {
        assert!(dir.path().join(file).is_file(), "{file} missing");
    }
    assert!(read(&dir.path().join("approval.pem")).starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(read(&dir.path().join("approval-key.pem")).starts_with("-----BEGIN PRIVATE KEY-----"));
}

#[cfg(unix)]
#[test]
fn key_files_are_readable_by_the_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = ScratchDir::new();
    generate_in(&dir, &["approval"]);
    for file in ["ca-key.pem", "approval-key.pem"] {
        let mode = fs::metadata(dir.path().join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}"))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file} has mode {mode:o}");
    }
}

#[test]
fn running_again_reuses_the_ca_and_keeps_existing_certificates() {
    let dir = ScratchDir::new();
    generate_in(&dir, &["approval"]);
    let ca = read(&dir.path().join("ca.pem"));
    let approval = read(&dir.path().join("approval.pem"));

    let again = generate_in(&dir, &["approval", "catalog"]);
    assert!(!again.ca_created);
    assert_eq!(again.issued, ["catalog"]);
    assert_eq!(read(&dir.path().join("ca.pem")), ca);
    assert_eq!(read(&dir.path().join("approval.pem")), approval);
    assert_eq!(again.certificates.len(), 2);
}

#[test]
fn a_certificate_missing_its_key_is_reissued() {
    let dir = ScratchDir::new();
    generate_in(&dir, &["approval"]);
    let before = read(&dir.path().join("approval.pem"));
    fs::remove_file(dir.path().join("approval-key.pem")).unwrap_or_else(|e| panic!("rm: {e}"));
    let again = generate_in(&dir, &["approval"]);
    assert_eq!(again.issued, ["approval"]);
    assert_ne!(read(&dir.path().join("approval.pem")), before);
    let files = files_for(dir.path(), "approval");
    assert!(crate::MeshTls::from_files(&files).is_ok());
}

#[test]
fn a_half_present_ca_is_not_replaced() {
    let dir = ScratchDir::new();
    generate_in(&dir, &["approval"]);
    let key = dir.path().join("ca-key.pem");
    fs::remove_file(&key).unwrap_or_else(|e| panic!("rm: {e}"));
    let error = generate(dir.path(), &["catalog"], 30).err();
    assert!(
        matches!(&error, Some(TlsError::IncompleteCa { missing, .. }) if *missing == key),
        "{error:?}"
    );
    assert!(!dir.path().join("catalog.pem").exists());
}

#[test]
fn a_ca_key_that_does_not_belong_to_the_ca_certificate_is_refused() {
    let dir = ScratchDir::new();
    let other = ScratchDir::new();
    generate_in(&dir, &["approval"]);
    generate_in(&other, &["approval"]);
    fs::copy(
        other.path().join("ca-key.pem"),
        dir.path().join("ca-key.pem"),
    )
    .unwrap_or_else(|e| panic!("cp: {e}"));
    let error = generate(dir.path(), &["catalog"], 30).err();
    assert!(
        matches!(&error, Some(TlsError::Unusable { .. })),
        "{error:?}"
    );
}

#[test]
fn names_that_cannot_be_dns_names_or_file_names_are_refused() {
    let dir = ScratchDir::new();
    for name in [
        "",
        "ca",
        "approval-key",
        "Approval",
        "../approval",
        "a/b",
        "-approval",
        "approval.",
        "127.0.0.1",
        "审批",
    ] {
        let error = generate(dir.path(), &["catalog", name], 30).err();
        assert!(
            matches!(&error, Some(TlsError::InvalidName { name: refused, .. }) if refused == name),
            "{name:?}: {error:?}"
        );
    }
    assert!(
        !dir.path().join("ca.pem").exists(),
        "nothing is written when a name is refused"
    );
    let accepted = generate(dir.path(), &["exchange.zhongtai", "gateway-2"], 30);
    assert!(accepted.is_ok(), "{accepted:?}");
}

#[test]
fn validity_must_be_between_a_day_and_a_century() {
    let dir = ScratchDir::new();
    for days in [0, 36_501, u32::MAX] {
        let error = generate(dir.path(), &["approval"], days).err();
        assert!(
            matches!(error, Some(TlsError::InvalidValidity { days: refused, .. }) if refused == days),
            "{days}: {error:?}"
        );
    }
    assert!(generate(dir.path(), &["approval"], 36_500).is_ok());
}
