//! Just enough PEM reading to say which file is wrong: the TLS library
//! decodes the blocks itself, but only reports "cannot parse" without
//! saying whether the CA, the certificate or the key was at fault.

use super::TlsError;

/// Labels of private key blocks rustls can load.
const PRIVATE_KEY_LABELS: [&str; 3] = ["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"];
const ENCRYPTED_PRIVATE_KEY_LABEL: &str = "ENCRYPTED PRIVATE KEY";
const CERTIFICATE_LABEL: &str = "CERTIFICATE";

/// The labels of the PEM blocks in `pem` (`CERTIFICATE`, `PRIVATE KEY`…),
/// in order. Text around the blocks is ignored, as PEM allows.
fn block_labels(pem: &[u8]) -> impl Iterator<Item = &str> {
    pem.split(|byte| *byte == b'\n').filter_map(|line| {
        let label = line
            .trim_ascii()
            .strip_prefix(b"-----BEGIN ")?
            .strip_suffix(b"-----")?;
        std::str::from_utf8(label).ok()
    })
}

/// Fails unless `pem` holds at least one certificate.
pub(super) fn expect_certificate(pem: &[u8], what: &str) -> Result<(), TlsError> {
    if block_labels(pem).any(|label| label == CERTIFICATE_LABEL) {
        Ok(())
    } else {
        Err(TlsError::NoCertificate {
            what: what.to_string(),
        })
    }
}

/// Fails unless `pem` holds an unencrypted private key.
pub(super) fn expect_private_key(pem: &[u8], what: &str) -> Result<(), TlsError> {
    let mut encrypted = false;
    for label in block_labels(pem) {
        if PRIVATE_KEY_LABELS.contains(&label) {
            return Ok(());
        }
        encrypted |= label == ENCRYPTED_PRIVATE_KEY_LABEL;
    }
    let what = what.to_string();
    Err(if encrypted {
        TlsError::EncryptedPrivateKey { what }
    } else {
        TlsError::NoPrivateKey { what }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAIN: &str = "subject=CN = approval\n-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\r\n-----BEGIN CERTIFICATE-----\r\nMIIC\r\n-----END CERTIFICATE-----\r\n";

    #[test]
    fn finds_blocks_among_other_text_and_crlf_lines() {
        let labels: Vec<_> = block_labels(CHAIN.as_bytes()).collect();
        assert_eq!(labels, ["CERTIFICATE", "CERTIFICATE"]);
        assert!(expect_certificate(CHAIN.as_bytes(), "tls.crt").is_ok());
    }

    #[test]
    fn a_key_is_not_a_certificate_and_a_certificate_is_not_a_key() {
        let key = "-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----\n";
        let error = expect_certificate(key.as_bytes(), "tls.crt").err();
        assert_eq!(
            error.map(|e| e.to_string()).as_deref(),
            Some("tls.crt holds no PEM certificate")
        );
        assert!(expect_private_key(key.as_bytes(), "tls.key").is_ok());
        assert!(matches!(
            expect_private_key(CHAIN.as_bytes(), "tls.key"),
            Err(TlsError::NoPrivateKey { what }) if what == "tls.key"
        ));
    }

    #[test]
    fn an_encrypted_key_is_reported_as_such() {
        let key =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIF\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert!(matches!(
            expect_private_key(key.as_bytes(), "tls.key"),
            Err(TlsError::EncryptedPrivateKey { .. })
        ));
    }
}
