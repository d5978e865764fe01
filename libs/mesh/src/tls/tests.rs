use std::path::{Path, PathBuf};

use super::*;

/// A fresh folder under the system temp dir, removed when dropped.
pub(super) struct ScratchDir(PathBuf);

impl ScratchDir {
    pub(super) fn new() -> Self {
        let path = std::env::temp_dir().join(format!(
            "zt-mesh-tls-{}-{:016x}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("create {path:?}: {e}"));
        Self(path)
    }

    pub(super) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(super) fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path:?}: {e}"))
}

fn dev_pki(names: &[&str]) -> ScratchDir {
    let dir = ScratchDir::new();
    dev::generate(dir.path(), names, 30).unwrap_or_else(|e| panic!("generate: {e}"));
    dir
}

#[test]
fn loads_a_generated_identity_from_files() {
    let dir = dev_pki(&["approval"]);
    let tls = MeshTls::from_files(&dev::files_for(dir.path(), "approval"));
    assert!(tls.is_ok(), "{tls:?}");
}

#[test]
fn a_missing_file_is_named() {
    let dir = dev_pki(&["approval"]);
    let mut files = dev::files_for(dir.path(), "approval");
    files.key = dir.path().join("tls.key");
    let error = MeshTls::from_files(&files)
        .err()
        .unwrap_or_else(|| panic!("a missing key loaded"));
    assert!(
        matches!(&error, TlsError::Read { path, .. } if *path == files.key),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains(&files.key.display().to_string()),
        "{message}"
    );
}

#[test]
fn files_of_the_wrong_kind_are_named() {
    let dir = dev_pki(&["approval"]);
    let files = dev::files_for(dir.path(), "approval");
    // The key where the CA should be, as when Secret keys are mixed up.
    let swapped = TlsFiles {
        ca: files.key.clone(),
        ..files.clone()
    };
    let error = MeshTls::from_files(&swapped)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert_eq!(
        error,
        format!("{} holds no PEM certificate", files.key.display())
    );
    let keyless = TlsFiles {
        key: files.cert.clone(),
        ..files
    };
    let error = MeshTls::from_files(&keyless).err();
    assert!(
        matches!(&error, Some(TlsError::NoPrivateKey { what }) if *what == keyless.key.display().to_string()),
        "{error:?}"
    );
}

#[test]
fn a_key_of_another_certificate_is_refused() {
    let dir = dev_pki(&["approval", "catalog"]);
    let approval = dev::files_for(dir.path(), "approval");
    let catalog = dev::files_for(dir.path(), "catalog");
    let error = MeshTls::from_pem(read(&approval.ca), read(&approval.cert), read(&catalog.key))
        .err()
        .unwrap_or_else(|| panic!("a mismatched key loaded"));
    assert!(matches!(error, TlsError::Unusable { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .starts_with("the certificate PEM and the key PEM cannot be used for TLS: "),
        "{error}"
    );
}

#[test]
fn a_damaged_ca_is_refused() {
    let dir = dev_pki(&["approval"]);
    let files = dev::files_for(dir.path(), "approval");
    let damaged_ca =
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
    let error = MeshTls::from_pem(damaged_ca, read(&files.cert), read(&files.key)).err();
    assert!(
        matches!(&error, Some(TlsError::Unusable { what, .. }) if what == "the CA PEM"),
        "{error:?}"
    );
}

#[test]
fn debug_output_shows_where_the_identity_came_from_but_never_the_key() {
    let dir = dev_pki(&["approval"]);
    let files = dev::files_for(dir.path(), "approval");
    let key = read(&files.key);
    let tls = MeshTls::from_files(&files).unwrap_or_else(|e| panic!("load: {e}"));
    let shown = format!("{tls:?} {tls:#?}");
    assert!(shown.contains(&files.cert.display().to_string()), "{shown}");
    assert!(!shown.contains("PRIVATE KEY"), "{shown}");
    for line in key.lines().filter(|line| !line.starts_with("-----")) {
        assert!(!shown.contains(line), "key material in {shown}");
    }
    let in_config = format!(
        "{:?}",
        crate::ChannelConfig {
            tls: Some(tls),
            ..crate::ChannelConfig::default()
        }
    );
    assert!(!in_config.contains("PRIVATE KEY"), "{in_config}");
}
