//! How codes, dependants, venues and scans read in the terminal.

use zhongtai_contracts::certificate::v1 as pb;

use super::super::certificates::view::{holder, outcome, print_claims, print_qr_payload};
use super::super::labels;
use super::super::output::{print_details, print_section, print_table};

pub fn kind(kind: pb::CodeKind) -> String {
    match kind {
        pb::CodeKind::Unspecified => "-".into(),
        kind => labels::short(kind.as_str_name(), "CODE_KIND_"),
    }
}

/// A scan's verdict; a scan recorded without one had a payload that could
/// not be read at all.
fn scan_outcome(scan: &pb::ScanRecord) -> String {
    match scan.outcome() {
        pb::VerificationOutcome::Unspecified => "UNREADABLE".into(),
        known => outcome(known),
    }
}

/// `NORMAL (green)`: the status and the colour the code shows.
pub fn holder_status(status: pb::HolderStatus) -> String {
    let colour = match status {
        pb::HolderStatus::Normal => " (green)",
        pb::HolderStatus::Attention => " (yellow)",
        pb::HolderStatus::Restricted => " (red)",
        pb::HolderStatus::Unspecified => return "-".into(),
    };
    format!(
        "{}{colour}",
        labels::short(status.as_str_name(), "HOLDER_STATUS_")
    )
}

/// A code and the text to put in its QR code.
pub fn print_code(code: &pb::PresentationCode) {
    print_details(&[
        ("id", code.id.clone()),
        ("kind", kind(code.kind())),
        ("holder", holder(code.holder.as_ref())),
        ("status", holder_status(code.holder_status())),
        ("issued", labels::time(code.issue_time.as_ref())),
        ("expires", labels::time(code.expire_time.as_ref())),
        ("key", code.key_id.clone()),
        ("dependant link", code.dependant_id.clone()),
    ]);
    if !code.claims.is_empty() {
        print_section("Claims");
        print_claims(&code.claims);
    }
    print_qr_payload(&code.qr_payload);
}

pub fn print_dependants(dependants: &[pb::Dependant]) {
    let person = |p: Option<&zhongtai_contracts::common::v1::Person>| {
        p.map(|p| format!("{} ({})", p.name, p.id_number))
            .unwrap_or_default()
    };
    let rows: Vec<Vec<String>> = dependants
        .iter()
        .map(|d| {
            vec![
                d.id.clone(),
                person(d.dependant.as_ref()),
                labels::short(d.relationship().as_str_name(), "RELATIONSHIP_"),
                person(d.guardian.as_ref()),
                d.evidence_certificate_id.clone(),
                labels::short(d.state().as_str_name(), "DEPENDANT_STATE_"),
                labels::time(d.create_time.as_ref()),
            ]
        })
        .collect();
    print_table(
        &[
            "LINK",
            "DEPENDANT",
            "RELATIONSHIP",
            "GUARDIAN",
            "EVIDENCE",
            "STATE",
            "LINKED",
        ],
        &rows,
    );
}

pub fn print_venue(venue: &pb::Venue) {
    print_details(&[
        ("id", venue.id.clone()),
        ("name", venue.name.clone()),
        ("address", venue.address.clone()),
        ("division", venue.division_code.clone()),
        ("tenant", labels::tenant(venue.tenant.as_ref())),
        ("registered", labels::time(venue.create_time.as_ref())),
    ]);
}

/// One scan as the gate shows it.
pub fn print_scan(scan: &pb::ScanRecord) {
    print_details(&[
        ("outcome", scan_outcome(scan)),
        ("status", holder_status(scan.holder_status())),
        ("holder", holder(scan.holder.as_ref())),
        ("kind", kind(scan.code_kind())),
        ("code", scan.code_id.clone()),
        ("venue", scan.venue_id.clone()),
        ("scan", scan.scan_id.clone()),
        ("device", scan.device_id.clone()),
        ("scanned", labels::time(scan.scan_time.as_ref())),
        ("recorded", labels::time(scan.record_time.as_ref())),
        ("by", labels::actor(scan.scanned_by.as_ref())),
    ]);
}

/// Scans one per row, oldest first.
pub fn print_scans(scans: &[pb::ScanRecord]) {
    let rows: Vec<Vec<String>> = scans
        .iter()
        .map(|s| {
            vec![
                labels::time(s.scan_time.as_ref()),
                s.venue_id.clone(),
                holder(s.holder.as_ref()),
                kind(s.code_kind()),
                scan_outcome(s),
                holder_status(s.holder_status()),
                s.device_id.clone(),
            ]
        })
        .collect();
    print_table(
        &[
            "SCANNED", "VENUE", "HOLDER", "KIND", "OUTCOME", "STATUS", "DEVICE",
        ],
        &rows,
    );
}
