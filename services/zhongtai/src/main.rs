//! `zhongtai`: one binary for the whole platform.
//!
//! - `zhongtai up` runs all five services in one process (SQLite, in-process
//!   registry and bus, real gRPC on loopback ports);
//! - `zhongtai serve <service>` runs one service against PostgreSQL, etcd and
//!   RabbitMQ from the environment;
//! - the other subcommands are clients of a running platform.

#![forbid(unsafe_code)]

mod audit;
mod certs;
mod client;
mod migrate;
mod serve;
mod services;
mod up;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "zhongtai",
    version,
    about = "Zhongtai government middle platform"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every service in this process (embedded default: SQLite, in-process registry and bus)
    Up(up::UpArgs),
    /// Run one service against PostgreSQL, etcd and RabbitMQ (configured by file and environment)
    Serve(serve::ServeArgs),
    /// Apply one service's database migrations and exit (a deployment's migration step)
    Migrate(migrate::MigrateArgs),
    /// A running deployment at a glance: every instance's health, version and address, every exchange line's lag
    Status(client::status::StatusArgs),
    /// Health of every service of a running platform
    Health(client::health::HealthArgs),
    /// Instances of each service, as discovery sees them
    Services(client::health::ServicesArgs),
    /// Process definitions of the approval center, from YAML files
    #[command(subcommand)]
    Process(client::processes::ProcessCommand),
    /// Service items of the approval center
    #[command(subcommand)]
    Item(client::items::ItemCommand),
    /// Applications: submit, follow, approve, reject, send back, recall, …
    #[command(subcommand)]
    Application(client::applications::ApplicationCommand),
    /// Your approval tasks
    #[command(subcommand)]
    Task(client::tasks::TaskCommand),
    /// Data resources of the catalog center
    #[command(subcommand)]
    Resource(client::resources::ResourceCommand),
    /// Search the catalog (Chinese and English full text, with filters)
    Search(client::search::SearchArgs),
    /// Access requests for catalog resources
    #[command(subcommand)]
    Access(client::access::AccessCommand),
    /// Grants on catalog resources
    #[command(subcommand)]
    Grant(client::grants::GrantCommand),
    /// What your tenant may use: resources and their granted fields
    Accessible(client::grants::AccessibleArgs),
    /// E-certificates: types, issuers and keys, issuing, verifying online and offline, revoking
    #[command(subcommand, alias = "cert")]
    Certificate(client::certificates::CertificateCommand),
    /// Presentation codes: show your code, family and offline codes, scan at venues
    #[command(subcommand)]
    Code(client::codes::CodeCommand),
    /// Three-party consents for reading a holder's certificate data
    #[command(subcommand)]
    Consent(client::consents::ConsentCommand),
    /// Exchange lines (数据高铁): create, follow, reconcile, trace, push
    #[command(subcommand)]
    Line(client::lines::LineCommand),
    /// Subscriptions delivering a line's changes to a queue or an enclave
    #[command(subcommand, alias = "sub")]
    Subscription(client::subscriptions::SubscriptionCommand),
    /// Your tenant's enclaves (数据飞地): tables, rows, backflow to child tenants
    #[command(subcommand)]
    Enclave(client::enclaves::EnclaveCommand),
    /// Integrator apps of the capability gateway, and their credentials
    #[command(subcommand)]
    App(client::gateway::AppCommand),
    /// Capabilities the gateway opens: HTTP routes to backend methods
    #[command(subcommand)]
    Capability(client::gateway::CapabilityCommand),
    /// Rate limits, quotas and concurrency caps of apps on capabilities
    #[command(subcommand)]
    Policy(client::gateway::PolicyCommand),
    /// An app's quota usage per capability and window
    Usage(client::gateway::UsageArgs),
    /// The gateway's call audit and OpenAPI document
    #[command(subcommand)]
    Gateway(client::gateway::GatewayCommand),
    /// Bearer tokens for calling the services
    #[command(subcommand)]
    Token(client::token::TokenCommand),
    /// Development certificates for mutual TLS between services
    #[command(subcommand)]
    Certs(certs::CertsCommand),
    /// The services' tamper-evident audit logs
    #[command(subcommand)]
    Audit(audit::AuditCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Up(args) => up::run(args).await,
            Command::Serve(args) => serve::run(args).await,
            Command::Migrate(args) => migrate::run(args).await,
            Command::Status(args) => client::status::run(args).await,
            Command::Health(args) => client::health::health(args).await,
            Command::Services(args) => client::health::services(args).await,
            Command::Process(command) => client::processes::run(command).await,
            Command::Item(command) => client::items::run(command).await,
            Command::Application(command) => client::applications::run(command).await,
            Command::Task(command) => client::tasks::run(command).await,
            Command::Resource(command) => client::resources::run(command).await,
            Command::Search(args) => client::search::run(args).await,
            Command::Access(command) => client::access::run(command).await,
            Command::Grant(command) => client::grants::run(command).await,
            Command::Accessible(args) => client::grants::accessible(args).await,
            Command::Certificate(command) => client::certificates::run(command).await,
            Command::Code(command) => client::codes::run(command).await,
            Command::Consent(command) => client::consents::run(command).await,
            Command::Line(command) => client::lines::run(command).await,
            Command::Subscription(command) => client::subscriptions::run(command).await,
            Command::Enclave(command) => client::enclaves::run(command).await,
            Command::App(command) => client::gateway::apps::run(command).await,
            Command::Capability(command) => client::gateway::capabilities::run(command).await,
            Command::Policy(command) => client::gateway::policies::run(command).await,
            Command::Usage(args) => client::gateway::observe::usage(args).await,
            Command::Gateway(command) => client::gateway::observe::run(command).await,
            Command::Token(command) => client::token::run(command),
            Command::Certs(command) => certs::run(command),
            Command::Audit(command) => audit::run(command).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
