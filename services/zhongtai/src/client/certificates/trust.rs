//! `zhongtai certificate trust-list` and `status-list`: what verifiers
//! fetch and cache. `trust-list --out` saves a file for offline
//! verification: the signed trust list, the JWKS for standard JOSE
//! libraries, and the trust anchor's key id and public key to open it with.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use clap::Args;
use serde::{Deserialize, Serialize};
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_credential::{Bitstring, PublicKey, TrustListDocument, TrustStore};

use super::super::endpoints::TargetArgs;
use super::super::labels;
use super::super::output::{print_details, print_proto_json, print_section, print_table};
use super::super::rpc::{self, Answer as _};
use super::values::write_file;

/// Names the file's layout, so another JSON file is refused by name.
const SAVED_FORMAT: &str = "zhongtai-trust-list/v1";

/// No saved trust list comes near this: the signed list itself is at most
/// 4 MiB, and the JWKS repeats its keys.
const MAX_SAVED_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Args)]
pub struct TrustListArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Save the signed trust list, the JWKS and the anchor key to this JSON
    /// file, for `certificate verify --offline --trust-list FILE`
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct StatusListArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Status list id (a certificate's "status lists" entry)
    id: String,
    /// Also tell whether this entry's bit is set
    #[arg(long)]
    index: Option<u64>,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

/// A trust list saved for offline verification.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedTrustList {
    format: String,
    version: i64,
    /// When the platform publishes the next version (RFC 3339); a list used
    /// after it may miss new keys and revoked ones.
    next_update_time: String,
    /// The platform key that signed `signed_trust_list`, pinned when saved.
    anchor_key_id: String,
    /// Its Ed25519 public key, unpadded base64url.
    anchor_public_key: String,
    /// The compact JWS of the trust list.
    signed_trust_list: String,
    /// Every trusted key as a JSON Web Key Set, for standard JOSE libraries.
    jwks: serde_json::Value,
}

impl SavedTrustList {
    /// Reads `path` and opens its signed list with its anchor key.
    pub fn open(path: &Path) -> anyhow::Result<(TrustListDocument, TrustStore)> {
        let not_saved = || {
            format!(
                "{} is not a trust list saved by `zhongtai certificate trust-list --out`",
                path.display()
            )
        };
        let size = std::fs::metadata(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .len();
        if size > MAX_SAVED_BYTES {
            bail!(
                "{}: {size} bytes is too large for a trust list",
                not_saved()
            );
        }
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let saved: SavedTrustList = serde_json::from_slice(&bytes).with_context(not_saved)?;
        if saved.format != SAVED_FORMAT {
            bail!("{}: its format is {:?}", not_saved(), saved.format);
        }
        let anchor = PublicKey::from_base64url(&saved.anchor_public_key)
            .map_err(|e| anyhow::anyhow!("{}: anchorPublicKey: {e}", path.display()))?;
        let document = TrustListDocument::open(
            &saved.signed_trust_list,
            &[(saved.anchor_key_id.clone(), anchor)],
        )
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let store = document
            .to_store()
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Ok((document, store))
    }
}

pub async fn trust_list(args: TrustListArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::certificate(&args.target)?
        .get_trust_list(pb::GetTrustListRequest {
            if_newer_than_version: 0,
        })
        .await
        .answer("get the trust list")?;
    if let Some(out) = &args.out {
        let saved = saved(&response)?;
        let text = serde_json::to_string_pretty(&saved)?;
        write_file(out, text.as_bytes())?;
        eprintln!(
            "saved trust list version {} (signed by anchor {}) to {}",
            saved.version,
            saved.anchor_key_id,
            out.display()
        );
    }
    if args.json {
        print_proto_json(&response)?;
        return Ok(ExitCode::SUCCESS);
    }
    let list = response.trust_list.clone().unwrap_or_default();
    print_details(&[
        ("version", list.version.to_string()),
        ("issued", labels::time(list.issue_time.as_ref())),
        ("next update", labels::time(list.next_update_time.as_ref())),
        ("anchor key", response.anchor_key_id.clone()),
    ]);
    print_section("Issuers and their keys");
    let rows: Vec<Vec<String>> = list
        .issuers
        .iter()
        .flat_map(|issuer| {
            issuer.keys.iter().map(move |key| {
                vec![
                    issuer.issuer_id.clone(),
                    issuer.name.clone(),
                    labels::tenant(issuer.tenant.as_ref()),
                    labels::list(&issuer.certificate_types),
                    key.key_id.clone(),
                    labels::short(key.state().as_str_name(), "SIGNING_KEY_STATE_"),
                    labels::time(key.verify_until_time.as_ref()),
                ]
            })
        })
        .collect();
    print_table(
        &[
            "ISSUER",
            "NAME",
            "TENANT",
            "TYPES",
            "KEY",
            "STATE",
            "VERIFIES UNTIL",
        ],
        &rows,
    );
    Ok(ExitCode::SUCCESS)
}

/// The file `--out` writes. The anchor key comes from the same answer (the
/// JWKS lists the platform keys), and the list must open with it, so a file
/// that could not verify anything is never written.
fn saved(response: &pb::GetTrustListResponse) -> anyhow::Result<SavedTrustList> {
    if response.signed_trust_list.is_empty() || response.anchor_key_id.is_empty() {
        bail!("the platform answered without a signed trust list or its anchor key id");
    }
    let jwks: serde_json::Value =
        serde_json::from_str(&response.jwks).context("the platform's JWKS is not JSON")?;
    let anchor_public_key = jwks["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|key| key["kid"] == response.anchor_key_id.as_str())
        .and_then(|key| key["x"].as_str())
        .map(str::to_string)
        .or_else(|| platform_key_in(&response.signed_trust_list, &response.anchor_key_id))
        .with_context(|| {
            format!(
                "the anchor key {} is neither in the JWKS nor among the trust list's platform keys",
                response.anchor_key_id
            )
        })?;
    let anchor = PublicKey::from_base64url(&anchor_public_key)
        .map_err(|e| anyhow::anyhow!("anchor key {}: {e}", response.anchor_key_id))?;
    let document = TrustListDocument::open(
        &response.signed_trust_list,
        &[(response.anchor_key_id.clone(), anchor)],
    )
    .map_err(|e| anyhow::anyhow!("the platform's signed trust list: {e}"))?;
    document
        .to_store()
        .map_err(|e| anyhow::anyhow!("the platform's signed trust list: {e}"))?;
    Ok(SavedTrustList {
        format: SAVED_FORMAT.to_string(),
        version: document.version,
        next_update_time: chrono::DateTime::from_timestamp(document.next_update, 0)
            .map(|at| at.to_rfc3339())
            .unwrap_or_default(),
        anchor_key_id: response.anchor_key_id.clone(),
        anchor_public_key,
        signed_trust_list: response.signed_trust_list.clone(),
        jwks,
    })
}

/// The anchor's `x` among the platform keys of the (not yet verified) list.
fn platform_key_in(signed: &str, kid: &str) -> Option<String> {
    let payload = signed.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let document: TrustListDocument = serde_json::from_slice(&bytes).ok()?;
    document
        .platform_keys
        .into_iter()
        .find(|key| key.kid == kid)
        .map(|key| key.x)
}

pub async fn status_list(args: StatusListArgs) -> anyhow::Result<ExitCode> {
    let list = rpc::certificate(&args.target)?
        .get_status_list(pb::GetStatusListRequest {
            id: args.id,
            if_newer_than_version: 0,
        })
        .await
        .answer("get the status list")?
        .status_list
        .unwrap_or_default();
    if args.json {
        print_proto_json(&list)?;
        return Ok(ExitCode::SUCCESS);
    }
    let bits = usize::try_from(list.size)
        .ok()
        .and_then(|size| Bitstring::decode_gzip(&list.encoded_list, size).ok());
    let set = bits.as_ref().map(|b| {
        b.as_bytes()
            .iter()
            .map(|byte| u64::from(byte.count_ones()))
            .sum::<u64>()
    });
    let purpose = labels::short(list.purpose().as_str_name(), "STATUS_PURPOSE_");
    let entry = match (args.index, bits.as_ref()) {
        (Some(index), Some(bits)) => match usize::try_from(index).ok().and_then(|i| bits.get(i)) {
            Some(true) => format!("#{index} is set ({})", purpose.to_ascii_lowercase()),
            Some(false) => format!("#{index} is not set"),
            None => format!("#{index} is beyond the list's {} entries", list.size),
        },
        _ => String::new(),
    };
    print_details(&[
        ("id", list.id.clone()),
        ("purpose", purpose),
        ("entries", list.size.to_string()),
        (
            "set",
            match set {
                Some(set) => set.to_string(),
                None => "unreadable: the encoded list does not inflate to its size".into(),
            },
        ),
        ("entry", entry),
        ("version", list.version.to_string()),
        ("issued", labels::time(list.issue_time.as_ref())),
        ("cache until", labels::time(list.valid_until_time.as_ref())),
    ]);
    Ok(ExitCode::SUCCESS)
}
