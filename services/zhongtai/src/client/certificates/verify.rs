//! `zhongtai certificate verify`: online (the certificate center adds
//! revocation and suspension) or offline (no network at all: the signature
//! against a saved trust list and the validity window). Exits 0 for VALID,
//! 1 for any other outcome, 2 when the input is not a certificate at all.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use prost_types::Timestamp;
use zhongtai_contracts::certificate::v1::verify_certificate_request::Presentation;
use zhongtai_contracts::certificate::v1::{self as pb, VerificationOutcome, claim};
use zhongtai_contracts::common::v1::{Holder, IdDocumentType, Organization, Person, holder};
use zhongtai_credential::{Outcome, QR_PREFIX, issuer_id_of, verify_certificate};

use super::super::endpoints::TargetArgs;
use super::super::labels;
use super::super::output::print_proto_json;
use super::super::rpc::{self, Answer as _};
use super::trust::SavedTrustList;
use super::{values, view};

#[derive(Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The certificate: its token, its ZT1: QR payload, a file holding
    /// either, or - for stdin
    input: String,
    /// Show the claims when it is valid
    #[arg(long)]
    claims: bool,
    /// Verify without the network, against --trust-list
    #[arg(long, requires = "trust_list")]
    offline: bool,
    /// A trust list saved with `zhongtai certificate trust-list --out FILE`
    #[arg(long, requires = "offline")]
    trust_list: Option<PathBuf>,
    /// Print the result as proto3 JSON (a VerificationResult)
    #[arg(long)]
    json: bool,
}

pub async fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let presentation = values::presentation(&args.input)?;
    let result = match &args.trust_list {
        Some(file) if args.offline => offline(&presentation, file, args.claims)?,
        _ => online(&args.target, presentation, args.claims).await?,
    };
    if args.json {
        print_proto_json(&result)?;
    } else {
        view::print_verification(&result);
    }
    Ok(exit_code(result.outcome()))
}

/// 0 for a valid certificate or code, 1 for every other verdict.
pub fn exit_code(outcome: VerificationOutcome) -> ExitCode {
    if outcome == VerificationOutcome::Valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

async fn online(
    target: &TargetArgs,
    presentation: String,
    include_claims: bool,
) -> anyhow::Result<pb::VerificationResult> {
    let presentation = if presentation.starts_with(QR_PREFIX) {
        Presentation::QrPayload(presentation)
    } else {
        Presentation::Token(presentation)
    };
    Ok(rpc::certificate(target)?
        .verify_certificate(pb::VerifyCertificateRequest {
            presentation: Some(presentation),
            include_claims,
        })
        .await
        .answer("verify the certificate")?
        .result
        .unwrap_or_default())
}

fn offline(
    presentation: &str,
    file: &std::path::Path,
    include_claims: bool,
) -> anyhow::Result<pb::VerificationResult> {
    let (document, store) = SavedTrustList::open(file)?;
    let now = chrono::Utc::now();
    if document.next_update < now.timestamp() {
        eprintln!(
            "warning: {} (trust list version {}) was due to be replaced at {}; \
             fetch a fresh one with `zhongtai certificate trust-list --out {}`",
            file.display(),
            document.version,
            labels::time(Some(&seconds(document.next_update))),
            file.display()
        );
    }
    let check = verify_certificate(presentation, &store, now)
        .map_err(|e| anyhow::anyhow!("cannot verify the certificate: {e}"))?;
    let payload = check.payload.as_ref();
    let valid = check.outcome == Outcome::Valid;
    Ok(pb::VerificationResult {
        outcome: outcome(check.outcome) as i32,
        detail: check.detail.clone(),
        certificate_id: payload.map(|p| p.jti.clone()).unwrap_or_default(),
        certificate_type: payload.map(|p| p.vct.clone()).unwrap_or_default(),
        issuer_id: payload
            .and_then(|p| issuer_id_of(&p.iss))
            .unwrap_or_default()
            .to_string(),
        key_id: check.key_id.clone(),
        holder: payload.map(|p| holder_message(&p.holder.masked())),
        claims: match payload {
            Some(p) if valid && include_claims => claims(&p.claims),
            _ => Vec::new(),
        },
        valid_from_time: payload.map(|p| seconds(p.nbf)),
        valid_until_time: payload.and_then(|p| p.exp).map(seconds),
        trust_list_version: store.version(),
        check_time: Some(seconds(now.timestamp())),
        status_checked: false,
    })
}

fn outcome(outcome: Outcome) -> VerificationOutcome {
    match outcome {
        Outcome::Valid => VerificationOutcome::Valid,
        Outcome::SignatureInvalid => VerificationOutcome::SignatureInvalid,
        Outcome::UntrustedKey => VerificationOutcome::UntrustedKey,
        Outcome::Expired => VerificationOutcome::Expired,
        Outcome::NotYetValid => VerificationOutcome::NotYetValid,
        Outcome::IssuerNotAuthorized => VerificationOutcome::IssuerNotAuthorized,
    }
}

fn seconds(seconds: i64) -> Timestamp {
    Timestamp { seconds, nanos: 0 }
}

fn holder_message(holder: &zhongtai_credential::Holder) -> Holder {
    use zhongtai_credential::IdDocumentType as Document;
    let inner = match holder {
        zhongtai_credential::Holder::Person {
            name,
            id_type,
            id_number,
        } => holder::Holder::Person(Person {
            name: name.clone(),
            id_type: match id_type {
                Document::ResidentIdCard => IdDocumentType::ResidentIdCard,
                Document::Passport => IdDocumentType::Passport,
                Document::MainlandTravelPermit => IdDocumentType::MainlandTravelPermit,
                Document::ForeignPermanentResidentCard => {
                    IdDocumentType::ForeignPermanentResidentCard
                }
            } as i32,
            id_number: id_number.clone(),
        }),
        zhongtai_credential::Holder::Organization {
            name,
            unified_social_credit_code,
        } => holder::Holder::Organization(Organization {
            name: name.clone(),
            unified_social_credit_code: unified_social_credit_code.clone(),
        }),
    };
    Holder {
        holder: Some(inner),
    }
}

/// The token's claims. Offline there is no certificate type to say which
/// strings are dates or decimals, so they read as text.
fn claims(json: &serde_json::Map<String, serde_json::Value>) -> Vec<pb::Claim> {
    json.iter()
        .map(|(name, value)| pb::Claim {
            name: name.clone(),
            value: Some(match value {
                serde_json::Value::String(text) => claim::Value::StringValue(text.clone()),
                serde_json::Value::Bool(b) => claim::Value::BoolValue(*b),
                serde_json::Value::Number(n) => match n.as_i64() {
                    Some(n) => claim::Value::IntValue(n),
                    None => claim::Value::DecimalValue(n.to_string()),
                },
                other => claim::Value::StringValue(other.to_string()),
            }),
        })
        .collect()
}
