//! How consents read: the terms, who has unlocked and who is awaited.

use zhongtai_contracts::certificate::v1 as pb;

use super::super::certificates::view::holder;
use super::super::labels;
use super::super::output::{print_details, print_section, print_table};

const PARTIES: [pb::ConsentParty; 3] = [
    pb::ConsentParty::Custodian,
    pb::ConsentParty::Platform,
    pb::ConsentParty::Holder,
];

pub fn state(consent: &pb::Consent) -> String {
    labels::short(consent.state().as_str_name(), "CONSENT_STATE_")
}

pub fn party(party: pb::ConsentParty) -> String {
    labels::short(party.as_str_name(), "CONSENT_PARTY_").to_ascii_lowercase()
}

/// The parties that have not unlocked yet, e.g. `platform, holder`.
fn awaiting(consent: &pb::Consent) -> String {
    if consent.state() != pb::ConsentState::Pending {
        return String::new();
    }
    labels::list(
        PARTIES
            .iter()
            .filter(|p| !consent.unlocks.iter().any(|u| u.party() == **p))
            .map(|p| party(*p)),
    )
}

fn reads(consent: &pb::Consent) -> String {
    format!("{} of {}", consent.read_count, consent.read_limit)
}

pub fn print_consent(consent: &pb::Consent) {
    let claims = if consent.claims.is_empty() {
        "every claim".to_string()
    } else {
        labels::list(&consent.claims)
    };
    let ended_by = match consent.ended_by() {
        pb::ConsentParty::Unspecified => String::new(),
        by => party(by),
    };
    print_details(&[
        ("id", consent.id.clone()),
        ("state", state(consent)),
        ("awaiting", awaiting(consent)),
        ("app", consent.app_id.clone()),
        ("requester", consent.requester_name.clone()),
        ("holder", holder(consent.holder.as_ref())),
        ("custodian", labels::tenant(consent.custodian.as_ref())),
        ("types", labels::list(&consent.certificate_types)),
        ("claims", claims),
        ("purpose", consent.purpose.clone()),
        ("period", labels::period(consent.period.as_ref())),
        ("reads", reads(consent)),
        ("ended by", ended_by),
        ("because", consent.end_reason.clone()),
        ("version", consent.version.to_string()),
        ("requested", labels::time(consent.create_time.as_ref())),
        ("updated", labels::time(consent.update_time.as_ref())),
        ("signed record", labels::clip(&consent.signed_record, 60)),
    ]);
    print_section("Unlocks");
    let rows: Vec<Vec<String>> = PARTIES
        .iter()
        .map(|p| {
            let unlock = consent.unlocks.iter().find(|u| u.party() == *p);
            vec![
                party(*p),
                match unlock {
                    Some(_) => "unlocked".into(),
                    None => "-".into(),
                },
                labels::actor(unlock.and_then(|u| u.actor.as_ref())),
                labels::time(unlock.and_then(|u| u.time.as_ref())),
            ]
        })
        .collect();
    print_table(&["PARTY", "UNLOCK", "BY", "WHEN"], &rows);
}

pub fn print_consents(consents: &[pb::Consent]) {
    let rows: Vec<Vec<String>> = consents
        .iter()
        .map(|c| {
            vec![
                c.id.clone(),
                c.requester_name.clone(),
                holder(c.holder.as_ref()),
                labels::list(&c.certificate_types),
                labels::clip(&c.purpose, 30),
                state(c),
                awaiting(c),
                reads(c),
                labels::time(c.period.as_ref().and_then(|p| p.end_time.as_ref())),
            ]
        })
        .collect();
    print_table(
        &[
            "ID",
            "REQUESTER",
            "HOLDER",
            "TYPES",
            "PURPOSE",
            "STATE",
            "AWAITING",
            "READS",
            "UNTIL",
        ],
        &rows,
    );
}
