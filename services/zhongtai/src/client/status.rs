//! `zhongtai status`: the first thing an SRE runs against a deployment —
//! every instance discovery knows, each asked for its own health, and every
//! exchange line with its lag, on one screen.
//!
//! Gathering (network, concurrent, every wait bounded) is kept apart from
//! rendering (pure, unit-tested), so what is shown can be checked without a
//! platform.

mod gather;
mod render;
mod snapshot;

use std::process::ExitCode;

use clap::Args;

use super::endpoints::{Target, TargetArgs};
use super::output::print_json;

#[derive(Args)]
#[command(after_help = "\
Exit status: 0 when every service has at least one SERVING instance and no \
exchange line is FAILED or DEGRADED; 1 otherwise; 2 when the platform \
cannot be looked up at all (no endpoints file, invalid --etcd).

Each instance is dialled directly (not through the balancer) and must \
answer its health check within 2 s, else it is shown UNREACHABLE. Lines \
need a token that may list them (--token or ZHONGTAI_TOKEN); without one \
the lines part says why it is missing and the rest is still shown.")]
pub struct StatusArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Print the snapshot as one JSON document
    #[arg(long)]
    json: bool,
}

pub async fn run(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let target = Target::resolve(&args.target)?;
    let snapshot = gather::snapshot(&target).await;
    if args.json {
        print_json(&snapshot)?;
    } else {
        render::print(&snapshot);
    }
    Ok(if snapshot.summary.healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
