//! A development PKI in one folder, for `zhongtai certs init` and tests: a
//! CA (`ca.pem`, `ca-key.pem`) and per name `<name>.pem` + `<name>-key.pem`,
//! laid out so [`files_for`] gives the [`TlsFiles`] of any name.
//!
//! Not for production: the CA key sits next to the certificates it signs.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};

use super::{TlsError, TlsFiles};

const CA_CERT_FILE: &str = "ca.pem";
const CA_KEY_FILE: &str = "ca-key.pem";
/// A certificate's `<name>-key.pem` would be another name's `<name>.pem`
/// if names could end like this.
const KEY_FILE_SUFFIX: &str = "-key";

const ORGANIZATION: &str = "Zhongtai";
/// Certificates name their issuer by its subject, so the CA's subject must
/// be rebuilt identically when a later run reuses the CA: it is this
/// prefix and an identifier derived from the CA key. The identifier keeps
/// two development CAs apart, so that a certificate from the wrong one is
/// reported as from an unknown CA rather than as a bad signature.
const CA_COMMON_NAME_PREFIX: &str = "Zhongtai development CA";

/// Far beyond any development need; keeps dates well inside what X.509
/// and the date library can represent.
const MAX_DAYS: u32 = 36_500;
/// The CA lives at least this long, so that a later run can still add
/// certificates under it.
const MIN_CA_DAYS: u32 = 3_650;
/// Certificates are valid from a little before now, so that a peer whose
/// clock runs behind does not reject them as not yet valid.
const CLOCK_SKEW: Duration = Duration::from_secs(60 * 60);
const SECONDS_PER_DAY: u64 = 24 * 60 * 60;

/// What [`generate`] left in the folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevPki {
    /// The CA certificate every service trusts.
    pub ca: PathBuf,
    /// Every requested name with its files, in the order first requested.
    pub certificates: Vec<(String, TlsFiles)>,
    /// True when the CA was created by this run rather than reused.
    pub ca_created: bool,
    /// The names whose certificate and key this run wrote; the others
    /// already existed and were kept.
    pub issued: Vec<String>,
}

/// The files of `name` inside a development PKI folder.
pub fn files_for(dir: &Path, name: &str) -> TlsFiles {
    TlsFiles {
        ca: dir.join(CA_CERT_FILE),
        cert: dir.join(format!("{name}.pem")),
        key: dir.join(format!("{name}{KEY_FILE_SUFFIX}.pem")),
    }
}

/// Creates, or completes, a development PKI in `dir`: a CA (reused when
/// `ca.pem` and `ca-key.pem` exist, so running again adds the missing
/// certificates without invalidating the old ones) and for each name a
/// certificate with DNS name `name`, usable as server and as client,
/// valid for `days`, with an ECDSA P-256 key. A name's existing files are
/// kept unless the CA is new; delete them to reissue. Key files are
/// written readable by the owner only.
///
/// Names are service names: lowercase DNS labels (`approval`,
/// `exchange.zhongtai`), not `ca`, not ending in `-key`.
pub fn generate(dir: &Path, names: &[&str], days: u32) -> Result<DevPki, TlsError> {
    check_days(days)?;
    for name in names {
        check_name(name)?;
    }
    fs::create_dir_all(dir).map_err(|source| TlsError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let (issuer, ca_created) = load_or_create_ca(dir, days)?;

    let mut seen = BTreeSet::new();
    let mut certificates = Vec::new();
    let mut issued = Vec::new();
    for &name in names {
        if !seen.insert(name) {
            continue;
        }
        let files = files_for(dir, name);
        // Certificates of a replaced CA no longer verify, so all are reissued.
        if ca_created || !exists(&files.cert)? || !exists(&files.key)? {
            issue(&issuer, name, days, &files)?;
            issued.push(name.to_string());
        }
        certificates.push((name.to_string(), files));
    }
    Ok(DevPki {
        ca: dir.join(CA_CERT_FILE),
        certificates,
        ca_created,
        issued,
    })
}

fn check_days(days: u32) -> Result<(), TlsError> {
    let reason = if days == 0 {
        "certificates must be valid for at least one day"
    } else if days > MAX_DAYS {
        "at most 36500 days (a century) are supported"
    } else {
        return Ok(());
    };
    Err(TlsError::InvalidValidity { days, reason })
}

fn check_name(name: &str) -> Result<(), TlsError> {
    let invalid = |reason| {
        Err(TlsError::InvalidName {
            name: name.to_string(),
            reason,
        })
    };
    if name.is_empty() || name.len() > 253 {
        return invalid("must be 1 to 253 characters long");
    }
    if name.parse::<IpAddr>().is_ok() {
        return invalid("an IP address is not a service name");
    }
    if name == "ca" {
        return invalid("reserved for the CA's files");
    }
    if name.ends_with(KEY_FILE_SUFFIX) {
        return invalid("a name ending in \"-key\" would share a file with another name's key");
    }
    let is_label = |label: &str| {
        (1..=63).contains(&label.len())
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if !name.split('.').all(is_label) {
        return invalid("must be lowercase DNS labels (a-z, 0-9, '-') separated by dots");
    }
    Ok(())
}

/// The CA able to sign new certificates, and whether it was created now.
fn load_or_create_ca(dir: &Path, days: u32) -> Result<(Issuer<'static, KeyPair>, bool), TlsError> {
    let cert_path = dir.join(CA_CERT_FILE);
    let key_path = dir.join(CA_KEY_FILE);
    match (exists(&cert_path)?, exists(&key_path)?) {
        (true, true) => {
            let key = reuse_ca_key(&cert_path, &key_path)?;
            let params = ca_params(&key, days.max(MIN_CA_DAYS))?;
            Ok((Issuer::new(params, key), false))
        }
        (false, false) => {
            let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
            let params = ca_params(&key, days.max(MIN_CA_DAYS))?;
            let cert = params.self_signed(&key)?;
            write_private(&key_path, &key.serialize_pem())?;
            write_public(&cert_path, &cert.pem())?;
            Ok((Issuer::new(params, key), true))
        }
        (true, false) => Err(TlsError::IncompleteCa {
            present: cert_path,
            missing: key_path,
        }),
        (false, true) => Err(TlsError::IncompleteCa {
            present: key_path,
            missing: cert_path,
        }),
    }
}

/// The key of an existing CA, after checking it belongs to `ca.pem`:
/// certificates signed with another key would fail every handshake.
fn reuse_ca_key(cert_path: &Path, key_path: &Path) -> Result<KeyPair, TlsError> {
    let read = |path: &Path| {
        fs::read_to_string(path).map_err(|source| TlsError::Read {
            path: path.to_path_buf(),
            source,
        })
    };
    let cert_pem = read(cert_path)?;
    let key_pem = read(key_path)?;
    super::check_identity(cert_pem.as_bytes(), key_pem.as_bytes()).map_err(|reason| {
        TlsError::Unusable {
            what: format!("{} and {}", cert_path.display(), key_path.display()),
            reason,
        }
    })?;
    KeyPair::from_pem(&key_pem).map_err(|error| TlsError::Unusable {
        what: key_path.display().to_string(),
        reason: error.to_string(),
    })
}

fn ca_params(key: &KeyPair, days: u32) -> Result<CertificateParams, TlsError> {
    let mut params = CertificateParams::default();
    let key_id: String = params
        .key_identifier(key)
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    params.distinguished_name = subject(&format!("{CA_COMMON_NAME_PREFIX} {key_id}"));
    // Only ever signs service certificates, never another CA.
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    set_validity(&mut params, days)?;
    Ok(params)
}

fn issue(
    issuer: &Issuer<'static, KeyPair>,
    name: &str,
    days: u32,
    files: &TlsFiles,
) -> Result<(), TlsError> {
    // `name` is checked not to be an IP address, so this is a DNS name.
    let mut params = CertificateParams::new(vec![name.to_string()])?;
    params.distinguished_name = subject(name);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    // Every service both serves and calls other services.
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.use_authority_key_identifier_extension = true;
    set_validity(&mut params, days)?;
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let cert = params.signed_by(&key, issuer)?;
    write_private(&files.key, &key.serialize_pem())?;
    write_public(&files.cert, &cert.pem())
}

fn subject(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, ORGANIZATION);
    name.push(DnType::CommonName, common_name);
    name
}

fn set_validity(params: &mut CertificateParams, days: u32) -> Result<(), TlsError> {
    let now = SystemTime::now();
    let lifetime = Duration::from_secs(u64::from(days) * SECONDS_PER_DAY);
    let not_after = now.checked_add(lifetime).ok_or(TlsError::InvalidValidity {
        days,
        reason: "the end date cannot be represented",
    })?;
    params.not_before = now.checked_sub(CLOCK_SKEW).unwrap_or(now).into();
    params.not_after = not_after.into();
    Ok(())
}

fn exists(path: &Path) -> Result<bool, TlsError> {
    path.try_exists().map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn write_public(path: &Path, contents: &str) -> Result<(), TlsError> {
    fs::write(path, contents).map_err(|source| TlsError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes a key readable and writable by the owner only (mode 0600 on
/// Unix), including when the file already existed with wider permissions.
fn write_private(path: &Path, contents: &str) -> Result<(), TlsError> {
    let write = || -> std::io::Result<()> {
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
            options.mode(0o600);
            let file = options.open(path)?;
            file.set_permissions(fs::Permissions::from_mode(0o600))?;
            write_all(file, contents)
        }
        #[cfg(not(unix))]
        {
            write_all(options.open(path)?, contents)
        }
    };
    write().map_err(|source| TlsError::Write {
        path: path.to_path_buf(),
        source,
    })
}

fn write_all(mut file: fs::File, contents: &str) -> std::io::Result<()> {
    file.write_all(contents.as_bytes())?;
    file.flush()
}

#[cfg(test)]
mod tests;
