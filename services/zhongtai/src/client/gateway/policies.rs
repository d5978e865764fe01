//! `zhongtai policy …`: an app's limits on a capability (or on every
//! capability, `*`): a rate limit, day and month quotas, a concurrency cap.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use zhongtai_contracts::gateway::v1 as pb;

use super::values;
use crate::client::endpoints::TargetArgs;
use crate::client::flags::PageArgs;
use crate::client::labels;
use crate::client::output::{emit, print_details, print_next_page, print_proto_json, print_table};
use crate::client::rpc::{self, Answer as _};

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Create or replace the policy of an app on a capability ('*': its default)
    Set(SetArgs),
    /// Show the policy as configured (not merged with '*')
    Get(TargetPolicyArgs),
    /// Policies, by app
    List(ListArgs),
    /// Delete the policy of an app on a capability
    Delete(TargetPolicyArgs),
}

#[derive(Args)]
pub struct SetArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// App id
    #[arg(long, value_parser = values::app_id)]
    app: String,
    /// Capability name, or '*' for the app's default across capabilities
    #[arg(long, value_parser = values::policy_capability)]
    capability: String,
    /// Rate limit: requests per period of 1s..1h, e.g. 100/1s or 6000/1m
    #[arg(long, value_parser = values::rate)]
    rate: Option<pb::RateLimit>,
    /// Largest burst admitted at once (default: the rate's requests)
    #[arg(long, requires = "rate", value_parser = values::positive)]
    burst: Option<i64>,
    /// Calls per calendar day (UTC+8)
    #[arg(long, value_parser = values::positive)]
    day: Option<i64>,
    /// Calls per calendar month (UTC+8)
    #[arg(long, value_parser = values::positive)]
    month: Option<i64>,
    /// Calls in flight at once on each gateway instance
    #[arg(long, value_parser = clap::value_parser!(i32).range(1..))]
    concurrency: Option<i32>,
    /// Current version, to refuse the change if someone else changed it first (default: overwrite)
    #[arg(long, default_value_t = 0)]
    version: i64,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct TargetPolicyArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// App id
    #[arg(long, value_parser = values::app_id)]
    app: String,
    /// Capability name, or '*'
    #[arg(long, value_parser = values::policy_capability)]
    capability: String,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Only this app's policies
    #[arg(long, value_parser = values::app_id)]
    app: Option<String>,
    #[command(flatten)]
    page: PageArgs,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

pub async fn run(command: PolicyCommand) -> anyhow::Result<ExitCode> {
    match command {
        PolicyCommand::Set(args) => {
            let policy = rpc::gateway(&args.target)?
                .set_policy(set_request(&args))
                .await
                .answer("set the policy")?
                .policy;
            show(&policy.unwrap_or_default(), args.json)
        }
        PolicyCommand::Get(args) => {
            let policy = rpc::gateway(&args.target)?
                .get_policy(pb::GetPolicyRequest {
                    app_id: args.app,
                    capability: args.capability,
                })
                .await
                .answer("get the policy")?
                .policy;
            show(&policy.unwrap_or_default(), args.json)
        }
        PolicyCommand::List(args) => list(args).await,
        PolicyCommand::Delete(args) => {
            let response = rpc::gateway(&args.target)?
                .delete_policy(pb::DeletePolicyRequest {
                    app_id: args.app.clone(),
                    capability: args.capability.clone(),
                })
                .await
                .answer("delete the policy")?;
            if args.json {
                print_proto_json(&response)?;
            } else {
                emit(&format!(
                    "deleted the policy of app {} on {}",
                    args.app, args.capability
                ));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The SetPolicy request the flags describe.
pub fn set_request(args: &SetArgs) -> pb::SetPolicyRequest {
    let rate_limit = args.rate.map(|rate| pb::RateLimit {
        burst: args.burst.unwrap_or_default(),
        ..rate
    });
    let quotas = [
        (pb::QuotaWindow::Day, args.day),
        (pb::QuotaWindow::Month, args.month),
    ]
    .into_iter()
    .filter_map(|(window, limit)| {
        limit.map(|limit| pb::Quota {
            window: window as i32,
            limit,
        })
    })
    .collect();
    pb::SetPolicyRequest {
        policy: Some(pb::Policy {
            app_id: args.app.clone(),
            capability: args.capability.clone(),
            rate_limit,
            quotas,
            max_concurrency: args.concurrency.unwrap_or_default(),
            version: args.version,
            ..Default::default()
        }),
    }
}

async fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::gateway(&args.target)?
        .list_policies(pb::ListPoliciesRequest {
            page: args.page.request(),
            app_id: args.app.unwrap_or_default(),
        })
        .await
        .answer("list policies")?;
    if args.json {
        print_proto_json(&response)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = response
        .policies
        .iter()
        .map(|p| {
            vec![
                p.app_id.clone(),
                p.capability.clone(),
                rate(p),
                quota(p, pb::QuotaWindow::Day),
                quota(p, pb::QuotaWindow::Month),
                concurrency(p),
                p.version.to_string(),
            ]
        })
        .collect();
    print_table(
        &[
            "APP",
            "CAPABILITY",
            "RATE",
            "DAY",
            "MONTH",
            "CONCURRENCY",
            "VERSION",
        ],
        &rows,
    );
    print_next_page(response.page.as_ref());
    Ok(ExitCode::SUCCESS)
}

/// `100/1s (burst 20)`, in the form `--rate` takes.
pub fn rate(policy: &pb::Policy) -> String {
    let Some(rate) = &policy.rate_limit else {
        return String::new();
    };
    let period = match labels::duration(rate.period.as_ref()).as_str() {
        "" => "?".to_string(),
        period if period.starts_with(|c: char| c.is_ascii_digit()) => period.to_string(),
        period => format!("1{period}"),
    };
    match rate.burst {
        0 => format!("{}/{period}", rate.requests),
        burst => format!("{}/{period} (burst {burst})", rate.requests),
    }
}

fn quota(policy: &pb::Policy, window: pb::QuotaWindow) -> String {
    policy
        .quotas
        .iter()
        .find(|q| q.window() == window)
        .map(|q| q.limit.to_string())
        .unwrap_or_default()
}

fn concurrency(policy: &pb::Policy) -> String {
    match policy.max_concurrency {
        0 => String::new(),
        n => n.to_string(),
    }
}

fn show(policy: &pb::Policy, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        print_proto_json(policy)?;
        return Ok(ExitCode::SUCCESS);
    }
    print_details(&[
        ("id", policy.id.clone()),
        ("app", policy.app_id.clone()),
        ("capability", policy.capability.clone()),
        ("rate", rate(policy)),
        ("per day", quota(policy, pb::QuotaWindow::Day)),
        ("per month", quota(policy, pb::QuotaWindow::Month)),
        ("concurrency", concurrency(policy)),
        ("version", policy.version.to_string()),
        ("created", labels::time(policy.create_time.as_ref())),
        ("updated", labels::time(policy.update_time.as_ref())),
    ]);
    Ok(ExitCode::SUCCESS)
}
