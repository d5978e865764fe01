//! `zhongtai certs init`: a development CA and one certificate per service
//! (plus client identities for operators' tools), in the file layout the
//! services' `tls.*` settings point at. Production certificates come from
//! the cluster's PKI (cert-manager) instead.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde::Serialize;
use zhongtai_mesh::tls::dev;

use crate::client::output::print_json;
use crate::services::ServiceName;

#[derive(Subcommand)]
pub enum CertsCommand {
    /// Create a development CA and service certificates (keeps what exists)
    Init(InitArgs),
}

#[derive(Args)]
pub struct InitArgs {
    /// Folder for ca.pem and <name>.pem / <name>-key.pem
    #[arg(long, default_value = ".data/certs")]
    dir: PathBuf,
    /// Extra identities besides the five services (e.g. a CLI user)
    #[arg(long = "client", default_value = "cli")]
    clients: Vec<String>,
    /// Validity of the service certificates, in days
    #[arg(long, default_value_t = 90)]
    days: u32,
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Created {
    dir: String,
    ca: String,
    ca_created: bool,
    issued: Vec<String>,
    kept: Vec<String>,
}

pub fn run(command: CertsCommand) -> anyhow::Result<ExitCode> {
    match command {
        CertsCommand::Init(args) => init(args),
    }
}

fn init(args: InitArgs) -> anyhow::Result<ExitCode> {
    let mut names: Vec<&str> = ServiceName::ALL.iter().map(|s| s.as_str()).collect();
    names.extend(args.clients.iter().map(String::as_str));
    let pki = dev::generate(&args.dir, &names, args.days)
        .with_context(|| format!("cannot create certificates in {}", args.dir.display()))?;
    let kept: Vec<String> = names
        .iter()
        .filter(|name| !pki.issued.iter().any(|issued| issued == *name))
        .map(|name| name.to_string())
        .collect();
    if args.json {
        print_json(&Created {
            dir: args.dir.display().to_string(),
            ca: pki.ca.display().to_string(),
            ca_created: pki.ca_created,
            issued: pki.issued.clone(),
            kept,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} {}",
        if pki.ca_created {
            "created CA"
        } else {
            "kept CA"
        },
        pki.ca.display()
    );
    for (name, files) in &pki.certificates {
        let verb = if pki.issued.contains(name) {
            "issued"
        } else {
            "kept  "
        };
        println!(
            "{verb} {name:<12} {} {}",
            files.cert.display(),
            files.key.display()
        );
    }
    let approval = dev::files_for(&args.dir, "approval");
    println!(
        "A service uses its own files, e.g. for approval:\n  ZHONGTAI_TLS__CA={} ZHONGTAI_TLS__CERT={} ZHONGTAI_TLS__KEY={}",
        approval.ca.display(),
        approval.cert.display(),
        approval.key.display()
    );
    Ok(ExitCode::SUCCESS)
}
