//! `zhongtai subscription …`: a tenant receiving a line's changes under a
//! catalog grant — through its own durable queue, into its enclave, or both.

use std::process::ExitCode;

use clap::{ArgGroup, Args, Subcommand};
use zhongtai_contracts::exchange::v1 as pb;

use super::endpoints::TargetArgs;
use super::flags::{PageArgs, RequestIdArg};
use super::grants::{print_field_access, row_filter};
use super::labels;
use super::output::{print_details, print_next_page, print_proto_json, print_section, print_table};
use super::rpc::{self, Answer as _};

#[derive(Subcommand)]
pub enum SubscriptionCommand {
    /// Subscribe your tenant to a line, delivering to a queue and/or an enclave
    Create(CreateArgs),
    /// Subscriptions of a line (its owner) or of your tenant
    List(ListArgs),
    /// Show one subscription with its effective fields and rows
    Get(IdArgs),
    /// Pause a subscription; changes wait at the line
    Pause(IdArgs),
    /// Resume a paused subscription
    Resume(IdArgs),
    /// Delete a subscription (its queue stays until drained or deleted)
    Delete(IdArgs),
}

#[derive(Args)]
#[command(group(ArgGroup::new("delivery").required(true).multiple(true)
    .args(["queue", "default_queue", "enclave"])))]
pub struct CreateArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Line id
    #[arg(long)]
    line: String,
    /// Catalog grant authorising it (required across tenants)
    #[arg(long)]
    grant: Option<String>,
    /// Deliver to this durable RabbitMQ queue
    #[arg(long, conflicts_with = "default_queue")]
    queue: Option<String>,
    /// Deliver to the queue `zhongtai.exchange.<subscription id>`
    #[arg(long)]
    default_queue: bool,
    /// Apply the changes into this enclave of your tenant
    #[arg(long)]
    enclave: Option<String>,
    /// With --enclave: the table to apply into (default: the source table's name)
    #[arg(long, requires = "enclave")]
    table: Option<String>,
    #[command(flatten)]
    request_id: RequestIdArg,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Only subscriptions of this line
    #[arg(long)]
    line: Option<String>,
    /// Only subscriptions under this grant
    #[arg(long)]
    grant: Option<String>,
    #[command(flatten)]
    page: PageArgs,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct IdArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Subscription id
    id: String,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

pub async fn run(command: SubscriptionCommand) -> anyhow::Result<ExitCode> {
    match command {
        SubscriptionCommand::Create(args) => create(args).await,
        SubscriptionCommand::List(args) => list(args).await,
        SubscriptionCommand::Get(args) => {
            let json = args.json;
            let subscription = rpc::exchange(&args.target)?
                .get_subscription(pb::GetSubscriptionRequest { id: args.id })
                .await
                .answer("get the subscription")?
                .subscription;
            show(&subscription.unwrap_or_default(), json)
        }
        SubscriptionCommand::Pause(args) => {
            let json = args.json;
            let subscription = rpc::exchange(&args.target)?
                .pause_subscription(pb::PauseSubscriptionRequest { id: args.id })
                .await
                .answer("pause the subscription")?
                .subscription;
            show(&subscription.unwrap_or_default(), json)
        }
        SubscriptionCommand::Resume(args) => {
            let json = args.json;
            let subscription = rpc::exchange(&args.target)?
                .resume_subscription(pb::ResumeSubscriptionRequest { id: args.id })
                .await
                .answer("resume the subscription")?
                .subscription;
            show(&subscription.unwrap_or_default(), json)
        }
        SubscriptionCommand::Delete(args) => {
            let json = args.json;
            let subscription = rpc::exchange(&args.target)?
                .delete_subscription(pb::DeleteSubscriptionRequest { id: args.id })
                .await
                .answer("delete the subscription")?
                .subscription;
            show(&subscription.unwrap_or_default(), json)
        }
    }
}

async fn create(args: CreateArgs) -> anyhow::Result<ExitCode> {
    let queue = match (args.queue, args.default_queue) {
        (Some(queue), _) => Some(pb::QueueDelivery { queue }),
        (None, true) => Some(pb::QueueDelivery::default()),
        (None, false) => None,
    };
    let enclave = args.enclave.map(|enclave_id| pb::EnclaveDelivery {
        enclave_id,
        table: args.table.unwrap_or_default(),
    });
    let request_id = args.request_id.resolve("");
    let subscription = rpc::exchange(&args.target)?
        .create_subscription(pb::CreateSubscriptionRequest {
            request_id: request_id.clone(),
            line_id: args.line,
            grant_id: args.grant.unwrap_or_default(),
            queue,
            enclave,
        })
        .await
        .answer_once("create the subscription", &request_id)?
        .subscription
        .unwrap_or_default();
    show(&subscription, args.json)
}

async fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::exchange(&args.target)?
        .list_subscriptions(pb::ListSubscriptionsRequest {
            page: args.page.request(),
            line_id: args.line.unwrap_or_default(),
            grant_id: args.grant.unwrap_or_default(),
        })
        .await
        .answer("list subscriptions")?;
    if args.json {
        print_proto_json(&response)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = response
        .subscriptions
        .iter()
        .map(|s| {
            vec![
                s.id.clone(),
                s.line_id.clone(),
                labels::tenant(s.subscriber.as_ref()),
                s.grant_id.clone(),
                delivery(s),
                state(s),
                s.delivered_position.to_string(),
            ]
        })
        .collect();
    print_table(
        &[
            "ID",
            "LINE",
            "SUBSCRIBER",
            "GRANT",
            "DELIVERY",
            "STATE",
            "DELIVERED POSITION",
        ],
        &rows,
    );
    print_next_page(response.page.as_ref());
    Ok(ExitCode::SUCCESS)
}

fn state(subscription: &pb::Subscription) -> String {
    let state = labels::short(subscription.state().as_str_name(), "SUBSCRIPTION_STATE_");
    if subscription.state_reason.is_empty() {
        state
    } else {
        format!("{state} ({})", subscription.state_reason)
    }
}

fn queue_name(subscription: &pb::Subscription) -> Option<String> {
    subscription.queue.as_ref().map(|q| {
        if q.queue.is_empty() {
            format!("zhongtai.exchange.{}", subscription.id)
        } else {
            q.queue.clone()
        }
    })
}

fn enclave_target(subscription: &pb::Subscription) -> Option<String> {
    subscription.enclave.as_ref().map(|e| {
        if e.table.is_empty() {
            e.enclave_id.clone()
        } else {
            format!("{} table {}", e.enclave_id, e.table)
        }
    })
}

/// `queue <name>`, `enclave <id>`, or both.
fn delivery(subscription: &pb::Subscription) -> String {
    let mut parts = Vec::new();
    if let Some(queue) = queue_name(subscription) {
        parts.push(format!("queue {queue}"));
    }
    if let Some(enclave) = enclave_target(subscription) {
        parts.push(format!("enclave {enclave}"));
    }
    parts.join(" + ")
}

fn show(subscription: &pb::Subscription, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        print_proto_json(subscription)?;
        return Ok(ExitCode::SUCCESS);
    }
    print_details(&[
        ("id", subscription.id.clone()),
        ("line", subscription.line_id.clone()),
        (
            "subscriber",
            labels::tenant(subscription.subscriber.as_ref()),
        ),
        ("grant", subscription.grant_id.clone()),
        ("queue", queue_name(subscription).unwrap_or_default()),
        ("enclave", enclave_target(subscription).unwrap_or_default()),
        ("state", state(subscription)),
        ("rows", row_filter(subscription.row_filter.as_ref())),
        (
            "delivered position",
            subscription.delivered_position.to_string(),
        ),
        ("created", labels::time(subscription.create_time.as_ref())),
        ("updated", labels::time(subscription.update_time.as_ref())),
    ]);
    print_section("Fields");
    if subscription.fields.is_empty() {
        super::output::emit("(every field, unmasked)");
    } else {
        print_field_access(&subscription.fields);
    }
    Ok(ExitCode::SUCCESS)
}
