//! `zhongtai code …`: presentation codes (亮码) — the caller's own, family
//! codes for dependants, printable offline codes from a service counter —
//! and scanning them at venues (扫码), with the scans recorded for tracing.

mod family;
mod personal;
mod venues;
mod view;

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Subcommand)]
pub enum CodeCommand {
    /// Your own short-lived code (sign in as the holder)
    Show(personal::ShowArgs),
    /// Codes for your dependants (family codes)
    Family(family::FamilyArgs),
    /// Link a dependant to you as guardian, proven by a certificate
    Link(family::LinkArgs),
    /// Your dependants
    Dependants(family::DependantsArgs),
    /// Remove a dependant link
    Unlink(family::UnlinkArgs),
    /// Issue a printable offline code for a person without a phone (service counter)
    Offline(personal::OfflineArgs),
    /// Revoke an offline code that was lost or replaced
    RevokeOffline(personal::RevokeOfflineArgs),
    /// Verify a code without recording a scan (exit 1 unless VALID)
    Verify(venues::VerifyArgs),
    /// Scan a code at a venue: verified and recorded (exit 1 unless VALID)
    Scan(venues::ScanArgs),
    /// Where you were: your own scans in a time window
    Scans(personal::ScansArgs),
    /// Venues where codes are scanned
    #[command(subcommand)]
    Venue(venues::VenueCommand),
}

pub async fn run(command: CodeCommand) -> anyhow::Result<ExitCode> {
    match command {
        CodeCommand::Show(args) => personal::show(args).await,
        CodeCommand::Family(args) => family::family(args).await,
        CodeCommand::Link(args) => family::link(args).await,
        CodeCommand::Dependants(args) => family::dependants(args).await,
        CodeCommand::Unlink(args) => family::unlink(args).await,
        CodeCommand::Offline(args) => personal::offline(args).await,
        CodeCommand::RevokeOffline(args) => personal::revoke_offline(args).await,
        CodeCommand::Verify(args) => venues::verify(args).await,
        CodeCommand::Scan(args) => venues::scan(args).await,
        CodeCommand::Scans(args) => personal::scans(args).await,
        CodeCommand::Venue(command) => venues::run(command).await,
    }
}
