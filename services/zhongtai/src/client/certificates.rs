//! `zhongtai certificate …` (alias `cert`): the certificate center's
//! certificate types, issuers and keys, issuing, verification online and
//! offline, revocation and suspension, the trust list and status lists.

mod issue;
mod issuers;
mod lifecycle;
mod trust;
mod types;
pub mod values;
mod verify;
pub mod view;

use std::process::ExitCode;

use clap::Subcommand;

pub use verify::exit_code;

#[derive(Subcommand)]
pub enum CertificateCommand {
    /// Certificate types and their claims
    #[command(subcommand)]
    Type(types::TypeCommand),
    /// Issuing departments and their signing keys
    #[command(subcommand)]
    Issuer(issuers::IssuerCommand),
    /// Issue a signed certificate, from a YAML IssueCertificateRequest or from flags
    Issue(issue::IssueArgs),
    /// Show one certificate and its QR payload, or write its QR image
    Get(lifecycle::GetArgs),
    /// List certificates, newest first
    List(lifecycle::ListArgs),
    /// Verify a token or QR payload, online or with --offline against a saved trust list (exit 1 unless VALID)
    Verify(verify::VerifyArgs),
    /// Revoke a certificate for good
    Revoke(lifecycle::StatusArgs),
    /// Suspend a certificate until it is reinstated
    Suspend(lifecycle::StatusArgs),
    /// Lift a suspension
    Reinstate(lifecycle::StatusArgs),
    /// The signed trust list; --out saves it for offline verification
    TrustList(trust::TrustListArgs),
    /// A revocation or suspension status list
    StatusList(trust::StatusListArgs),
}

pub async fn run(command: CertificateCommand) -> anyhow::Result<ExitCode> {
    match command {
        CertificateCommand::Type(command) => types::run(command).await,
        CertificateCommand::Issuer(command) => issuers::run(command).await,
        CertificateCommand::Issue(args) => issue::issue(args).await,
        CertificateCommand::Get(args) => lifecycle::get(args).await,
        CertificateCommand::List(args) => lifecycle::list(args).await,
        CertificateCommand::Verify(args) => verify::verify(args).await,
        CertificateCommand::Revoke(args) => lifecycle::revoke(args).await,
        CertificateCommand::Suspend(args) => lifecycle::suspend(args).await,
        CertificateCommand::Reinstate(args) => lifecycle::reinstate(args).await,
        CertificateCommand::TrustList(args) => trust::trust_list(args).await,
        CertificateCommand::StatusList(args) => trust::status_list(args).await,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use zhongtai_contracts::certificate::v1 as pb;

    use super::super::message_file::read_message;

    fn examples(prefix: &str) -> Vec<std::path::PathBuf> {
        let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        let mut found: Vec<_> = std::fs::read_dir(folder)
            .unwrap()
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| {
                path.file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| name.starts_with(prefix) && name.ends_with(".yaml"))
            })
            .collect();
        found.sort();
        found
    }

    #[test]
    fn the_example_files_are_the_requests_they_say() {
        let types = examples("certificate-type-");
        assert!(types.len() >= 4, "{types:?}");
        for path in types {
            let request: pb::CreateCertificateTypeRequest = read_message(&path).unwrap();
            let certificate_type = request.certificate_type.unwrap();
            assert!(!certificate_type.claims.is_empty(), "{}", path.display());
            assert_ne!(
                certificate_type.holder_kind(),
                pb::HolderKind::Unspecified,
                "{}",
                path.display()
            );
        }
        let issues = examples("issue-");
        assert!(issues.len() >= 2, "{issues:?}");
        for path in issues {
            let request: pb::IssueCertificateRequest = read_message(&path).unwrap();
            assert!(request.holder.is_some(), "{}", path.display());
            assert!(
                request.claims.iter().all(|c| c.value.is_some()),
                "{}",
                path.display()
            );
        }
    }
}
