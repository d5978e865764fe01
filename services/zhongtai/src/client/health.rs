//! `zhongtai health` and `zhongtai services`.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use serde::Serialize;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use super::endpoints::{Target, TargetArgs};
use super::output::{print_json, print_table};
use crate::services::ServiceName;

#[derive(Args)]
pub struct HealthArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// JSON output
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ServicesArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// JSON output
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct ServiceHealth {
    service: String,
    status: String,
    instances: usize,
    error: Option<String>,
}

/// Exit code 0 when every service is SERVING, 1 otherwise.
pub async fn health(args: HealthArgs) -> anyhow::Result<ExitCode> {
    let target = Target::resolve(&args.target)?;
    let mut report = Vec::new();
    for service in ServiceName::ALL {
        let discovery = target.discover(service.as_str());
        let instances = wait_for_instances(&discovery).await;
        let mut client = HealthClient::new(target.channel(service.as_str()));
        let result = client
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await;
        let (status, error) = match result {
            Ok(response) => (
                response.into_inner().status().as_str_name().to_string(),
                None,
            ),
            Err(status) => (
                "UNREACHABLE".to_string(),
                Some(status.message().to_string()),
            ),
        };
        report.push(ServiceHealth {
            service: service.to_string(),
            status,
            instances,
            error,
        });
    }
    let all_serving = report.iter().all(|r| r.status == "SERVING");
    if args.json {
        print_json(&report)?;
    } else {
        let rows: Vec<Vec<String>> = report
            .iter()
            .map(|r| {
                vec![
                    r.service.clone(),
                    r.status.clone(),
                    r.instances.to_string(),
                    r.error.clone().unwrap_or_default(),
                ]
            })
            .collect();
        print_table(&["SERVICE", "STATUS", "INSTANCES", "ERROR"], &rows);
    }
    Ok(if all_serving {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[derive(Serialize)]
struct InstanceRow {
    service: String,
    id: String,
    address: String,
    version: String,
    zone: String,
    weight: u32,
}

pub async fn services(args: ServicesArgs) -> anyhow::Result<ExitCode> {
    let target = Target::resolve(&args.target)?;
    let mut rows = Vec::new();
    for service in ServiceName::ALL {
        let discovery = target.discover(service.as_str());
        wait_for_instances(&discovery).await;
        for instance in discovery.current().values() {
            rows.push(InstanceRow {
                service: instance.service.clone(),
                id: instance.id.clone(),
                address: instance.address.clone(),
                version: instance.version.clone(),
                zone: instance.zone.clone(),
                weight: instance.weight,
            });
        }
    }
    if args.json {
        print_json(&rows)?;
    } else {
        let table: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![
                    r.service.clone(),
                    r.id.clone(),
                    r.address.clone(),
                    r.version.clone(),
                    r.zone.clone(),
                    r.weight.to_string(),
                ]
            })
            .collect();
        print_table(
            &[
                "SERVICE", "INSTANCE", "ADDRESS", "VERSION", "ZONE", "WEIGHT",
            ],
            &table,
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Discovery from etcd fills in asynchronously; give it a moment.
async fn wait_for_instances(discovery: &zhongtai_mesh::Discovery) -> usize {
    let mut updates = discovery.subscribe();
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while updates.borrow_and_update().is_empty() {
            if updates.changed().await.is_err() {
                break;
            }
        }
    })
    .await;
    discovery.current().len()
}
