//! How certificates, claims, holders and verification results read in the
//! terminal; shared by the certificate, code and consent commands.

use std::path::{Path, PathBuf};

use zhongtai_contracts::certificate::v1::{self as pb, claim};
use zhongtai_contracts::common::v1::{Holder, holder};

use super::super::labels;
use super::super::output::{emit, print_details, print_section, print_table};
use super::values::write_file;

/// `丽水青瓷文化有限公司 (91331100MA2HK7Q34E)` or
/// `王芳 (resident-id-card 330102199001011234)`, as the server sent it
/// (masked where the caller may not see the number).
pub fn holder(holder: Option<&Holder>) -> String {
    match holder.and_then(|h| h.holder.as_ref()) {
        Some(holder::Holder::Organization(org)) => {
            format!("{} ({})", org.name, org.unified_social_credit_code)
        }
        Some(holder::Holder::Person(person)) => format!(
            "{} ({} {})",
            person.name,
            labels::short(person.id_type().as_str_name(), "ID_DOCUMENT_TYPE_")
                .to_ascii_lowercase()
                .replace('_', "-"),
            person.id_number
        ),
        None => String::new(),
    }
}

/// A claim's value as text, as `--claim name=value` takes it.
pub fn claim_value(claim: &pb::Claim) -> String {
    match &claim.value {
        Some(
            claim::Value::StringValue(text)
            | claim::Value::DateValue(text)
            | claim::Value::DecimalValue(text),
        ) => text.clone(),
        Some(claim::Value::IntValue(n)) => n.to_string(),
        Some(claim::Value::BoolValue(b)) => b.to_string(),
        None => String::new(),
    }
}

/// Claims as `name: value` lines, or `(none)`.
pub fn print_claims(claims: &[pb::Claim]) {
    if claims.is_empty() {
        emit("(none)");
        return;
    }
    let pairs: Vec<(&str, String)> = claims
        .iter()
        .map(|c| (c.name.as_str(), labels::clip(&claim_value(c), 200)))
        .collect();
    print_details(&pairs);
}

pub fn status(status: pb::CertificateStatus) -> String {
    labels::short(status.as_str_name(), "CERTIFICATE_STATUS_")
}

pub fn outcome(outcome: pb::VerificationOutcome) -> String {
    labels::short(outcome.as_str_name(), "VERIFICATION_OUTCOME_")
}

/// Everything about a certificate but its token, which `--json` prints.
pub fn print_certificate(certificate: &pb::Certificate) {
    let status_entry = certificate
        .status_entry
        .as_ref()
        .map(|e| format!("{} #{}", e.status_list_id, e.index))
        .unwrap_or_default();
    print_details(&[
        ("id", certificate.id.clone()),
        ("serial number", certificate.serial_number.clone()),
        ("type", certificate.certificate_type.clone()),
        ("holder", holder(certificate.holder.as_ref())),
        ("issuer", certificate.issuer_id.clone()),
        ("key", certificate.key_id.clone()),
        ("status", status(certificate.status())),
        ("status reason", certificate.status_reason.clone()),
        ("issued", labels::time(certificate.issue_time.as_ref())),
        (
            "valid from",
            labels::time(certificate.valid_from_time.as_ref()),
        ),
        (
            "valid until",
            match certificate.valid_until_time.as_ref() {
                Some(until) => labels::time(Some(until)),
                None => "no expiry".into(),
            },
        ),
        ("application", certificate.application_id.clone()),
        ("status lists", status_entry),
        ("version", certificate.version.to_string()),
        ("updated", labels::time(certificate.update_time.as_ref())),
    ]);
    print_section("Claims");
    print_claims(&certificate.claims);
}

/// The text to put in a QR code, under its heading.
pub fn print_qr_payload(qr_payload: &str) {
    if !qr_payload.is_empty() {
        print_section("QR payload");
        emit(qr_payload);
    }
}

/// Certificates one per row.
pub fn print_certificates(certificates: &[pb::Certificate]) {
    let rows: Vec<Vec<String>> = certificates
        .iter()
        .map(|c| {
            vec![
                c.id.clone(),
                c.serial_number.clone(),
                c.certificate_type.clone(),
                holder(c.holder.as_ref()),
                status(c.status()),
                labels::time(c.issue_time.as_ref()),
                labels::time(c.valid_until_time.as_ref()),
            ]
        })
        .collect();
    print_table(
        &[
            "ID",
            "SERIAL",
            "TYPE",
            "HOLDER",
            "STATUS",
            "ISSUED",
            "VALID UNTIL",
        ],
        &rows,
    );
}

/// A verification: the verdict first, then what the token says.
pub fn print_verification(result: &pb::VerificationResult) {
    let checked = if result.status_checked {
        "revocation and suspension checked (online)"
    } else {
        "revocation and suspension not checked (offline: signature, trust list and validity only)"
    };
    print_details(&[
        ("outcome", outcome(result.outcome())),
        ("detail", result.detail.clone()),
        ("certificate", result.certificate_id.clone()),
        ("type", result.certificate_type.clone()),
        ("issuer", result.issuer_id.clone()),
        ("key", result.key_id.clone()),
        ("holder", holder(result.holder.as_ref())),
        ("valid from", labels::time(result.valid_from_time.as_ref())),
        (
            "valid until",
            labels::time(result.valid_until_time.as_ref()),
        ),
        (
            "trust list",
            match result.trust_list_version {
                0 => String::new(),
                version => format!("version {version}"),
            },
        ),
        ("status", checked.to_string()),
        ("checked", labels::time(result.check_time.as_ref())),
    ]);
    if !result.claims.is_empty() {
        print_section("Claims");
        print_claims(&result.claims);
    }
}

/// `QR_IMAGE_FORMAT_PNG` → `png`.
pub fn image_extension(format: pb::QrImageFormat) -> &'static str {
    match format {
        pb::QrImageFormat::Svg => "svg",
        pb::QrImageFormat::Png | pb::QrImageFormat::Unspecified => "png",
    }
}

/// Writes a rendered QR code to `out`, or to `<stem>.<png|svg>` here, and
/// says where.
pub fn save_image(
    image: Option<&pb::QrImage>,
    out: Option<&Path>,
    stem: &str,
) -> anyhow::Result<()> {
    let Some(image) = image.filter(|i| !i.data.is_empty()) else {
        anyhow::bail!("the answer carries no QR image");
    };
    let path = match out {
        Some(path) => path.to_path_buf(),
        None => PathBuf::from(format!("{stem}.{}", image_extension(image.format()))),
    };
    write_file(&path, &image.data)?;
    eprintln!(
        "wrote the QR code ({} {}×{}) to {}",
        image_extension(image.format()).to_ascii_uppercase(),
        image.size,
        image.size,
        path.display()
    );
    Ok(())
}
