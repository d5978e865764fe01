//! Asking the platform: discovery for each service, each instance for its
//! own health (dialled directly), the exchange center for its lines. Every
//! wait is bounded, so a dead instance or an unreachable etcd shows up in
//! seconds instead of hanging the command.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use zhongtai_contracts::common::v1::PageRequest;
use zhongtai_contracts::exchange::v1 as pb;
use zhongtai_mesh::ServiceInstance;

use super::super::endpoints::{InstanceDialer, Target};
use super::super::exchange::numbers::millis;
use super::super::rpc::{Answer as _, Exchange};
use super::snapshot::{Health, InstanceReport, LineReport, ServiceReport, Snapshot};
use crate::services::ServiceName;

/// How long one instance has to connect and answer its health check.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long etcd has to give a service's instances.
const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(3);
/// Calls in flight at once, so a large deployment is not probed all at
/// once from one terminal.
const CONCURRENCY: usize = 16;
/// Lines asked for per ListLines page (the server's maximum).
const LINES_PAGE_SIZE: i32 = 500;
/// A server that keeps handing out next-page tokens must not loop forever.
const MAX_LINE_PAGES: usize = 100;

pub async fn snapshot(target: &Target) -> Snapshot {
    let discovered = bounded(ServiceName::ALL.to_vec(), CONCURRENCY, |service| {
        let discovery = target.discover(service.as_str());
        async move {
            match tokio::time::timeout(DISCOVERY_TIMEOUT, discovery.synced()).await {
                Ok(()) => Ok(discovery.current().values().cloned().collect::<Vec<_>>()),
                Err(_) => Err(format!(
                    "discovery did not answer within {}s (is etcd reachable?)",
                    DISCOVERY_TIMEOUT.as_secs()
                )),
            }
        }
    })
    .await;
    let discovered: Vec<Discovered> = ServiceName::ALL
        .into_iter()
        .zip(discovered)
        .map(|(service, found)| (service, found.and_then(|found| found)))
        .collect();
    let exchange_known = discovered.iter().any(|(service, found)| {
        *service == ServiceName::Exchange && found.as_ref().is_ok_and(|i| !i.is_empty())
    });
    let (services, lines) = tokio::join!(
        probe_all(target.instance_dialer(PROBE_TIMEOUT), discovered),
        async {
            if exchange_known {
                lines(Exchange::new(
                    target.channel(ServiceName::Exchange.as_str()),
                ))
                .await
            } else {
                Err("no exchange instance is registered, so no line can be listed".to_string())
            }
        }
    );
    Snapshot::new(services, lines)
}

/// A service and its instances, or why discovery could not list them.
type Discovered = (ServiceName, Result<Vec<ServiceInstance>, String>);

async fn probe_all(dialer: InstanceDialer, discovered: Vec<Discovered>) -> Vec<ServiceReport> {
    let mut services: Vec<ServiceReport> = Vec::new();
    let mut to_probe = Vec::new();
    for (index, (service, found)) in discovered.into_iter().enumerate() {
        let error = match found {
            Ok(instances) => {
                to_probe.extend(instances.into_iter().map(|instance| (index, instance)));
                None
            }
            Err(error) => Some(error),
        };
        services.push(ServiceReport {
            service: service.to_string(),
            instances: Vec::new(),
            error,
        });
    }
    let indexes: Vec<usize> = to_probe.iter().map(|(index, _)| *index).collect();
    let instances: Vec<ServiceInstance> = to_probe.iter().map(|(_, i)| i.clone()).collect();
    let probed = bounded(to_probe, CONCURRENCY, |(_, instance)| {
        let dialer = dialer.clone();
        async move { probe(&dialer, instance).await }
    })
    .await;
    for ((index, instance), probed) in indexes.into_iter().zip(instances).zip(probed) {
        let report = probed.unwrap_or_else(|error| InstanceReport {
            health: Health::Unknown,
            error: Some(format!("the check did not finish: {error}")),
            ..unprobed(instance)
        });
        if let Some(service) = services.get_mut(index) {
            service.instances.push(report);
        }
    }
    services
}

async fn probe(dialer: &InstanceDialer, instance: ServiceInstance) -> InstanceReport {
    // The dialer bounds each step; this bounds them together.
    let outcome = tokio::time::timeout(PROBE_TIMEOUT, check(dialer, &instance)).await;
    let (health, error) = outcome.unwrap_or_else(|_| {
        (
            Health::Unreachable,
            Some(format!("no answer within {}s", PROBE_TIMEOUT.as_secs_f32())),
        )
    });
    InstanceReport {
        health,
        error,
        ..unprobed(instance)
    }
}

async fn check(dialer: &InstanceDialer, instance: &ServiceInstance) -> (Health, Option<String>) {
    let channel = match dialer.connect(instance).await {
        Ok(channel) => channel,
        Err(error) => return (Health::Unreachable, Some(causes(&error))),
    };
    let request = HealthCheckRequest {
        service: grpc_service(&instance.service).to_string(),
    };
    match HealthClient::new(channel).check(request).await {
        Ok(response) => (health_of(response.into_inner().status()), None),
        Err(status) if status.code() == Code::NotFound => (
            Health::ServiceUnknown,
            Some(format!("{} is not served here", request_name(instance))),
        ),
        // The connection failed under the call, or it took too long.
        Err(status)
            if matches!(
                status.code(),
                Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled
            ) =>
        {
            (Health::Unreachable, Some(status_text(&status)))
        }
        // It answered, just not with a health status.
        Err(status) => (Health::Unknown, Some(status_text(&status))),
    }
}

fn status_text(status: &tonic::Status) -> String {
    format!("{:?}: {}", status.code(), status.message())
}

fn request_name(instance: &ServiceInstance) -> &'static str {
    match grpc_service(&instance.service) {
        "" => "the service",
        name => name,
    }
}

fn unprobed(instance: ServiceInstance) -> InstanceReport {
    InstanceReport {
        id: instance.id,
        address: instance.address,
        version: instance.version,
        zone: instance.zone,
        health: Health::Unknown,
        error: None,
    }
}

fn health_of(status: ServingStatus) -> Health {
    match status {
        ServingStatus::Serving => Health::Serving,
        ServingStatus::NotServing => Health::NotServing,
        ServingStatus::ServiceUnknown => Health::ServiceUnknown,
        ServingStatus::Unknown => Health::Unknown,
    }
}

/// The gRPC service whose health stands for the whole of `service`; the
/// server's overall status for a name it does not know.
fn grpc_service(service: &str) -> &'static str {
    use zhongtai_contracts::approval::v1::approval_service_server as approval;
    use zhongtai_contracts::catalog::v1::catalog_service_server as catalog;
    use zhongtai_contracts::certificate::v1::certificate_service_server as certificate;
    use zhongtai_contracts::exchange::v1::exchange_service_server as exchange;
    use zhongtai_contracts::gateway::v1::gateway_admin_service_server as gateway;
    match service {
        "approval" => approval::SERVICE_NAME,
        "catalog" => catalog::SERVICE_NAME,
        "certificate" => certificate::SERVICE_NAME,
        "exchange" => exchange::SERVICE_NAME,
        "gateway" => gateway::SERVICE_NAME,
        _ => "",
    }
}

/// A transport error with what caused it: tonic's own text is only
/// "transport error".
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Every line the caller may see, each with its status.
async fn lines(mut client: Exchange) -> Result<Vec<LineReport>, String> {
    let mut listed = Vec::new();
    let mut page_token = String::new();
    for _ in 0..MAX_LINE_PAGES {
        let page = client
            .list_lines(pb::ListLinesRequest {
                page: Some(PageRequest {
                    page_size: LINES_PAGE_SIZE,
                    page_token: page_token.clone(),
                }),
                ..Default::default()
            })
            .await
            .answer("list the exchange lines")
            .map_err(|e| format!("{e:#}"))?;
        listed.extend(page.lines);
        page_token = page.page.map(|p| p.next_page_token).unwrap_or_default();
        if page_token.is_empty() {
            break;
        }
    }
    let reports = bounded(listed.clone(), CONCURRENCY, |line| {
        let client = client.clone();
        async move { line_report(client, line).await }
    })
    .await;
    Ok(reports
        .into_iter()
        .zip(listed)
        .map(|(report, line)| {
            report.unwrap_or_else(|error| LineReport {
                error: Some(format!("the status call did not finish: {error}")),
                ..unread(line)
            })
        })
        .collect())
}

async fn line_report(mut client: Exchange, line: pb::Line) -> LineReport {
    let answer = client
        .get_line_status(pb::GetLineStatusRequest {
            id: line.id.clone(),
        })
        .await
        .answer("get the line's status");
    match answer {
        Ok(status) => {
            // The status carries the line as it is now, fresher than the list.
            let line = status.line.clone().unwrap_or(line);
            LineReport {
                capture_lag_ms: Some(status.capture_lag.as_ref().map_or(0, millis)),
                worst_subscription_lag_ms: status
                    .subscriptions
                    .iter()
                    .map(|s| s.lag.as_ref().map_or(0, millis))
                    .max(),
                subscriptions: Some(status.subscriptions.len()),
                ..unread(line)
            }
        }
        Err(error) => LineReport {
            error: Some(format!("{error:#}")),
            ..unread(line)
        },
    }
}

fn unread(line: pb::Line) -> LineReport {
    LineReport {
        state: line.state(),
        id: line.id,
        name: line.name,
        state_reason: line.state_reason,
        capture_lag_ms: None,
        worst_subscription_lag_ms: None,
        subscriptions: None,
        error: None,
    }
}

/// Runs `task` on every item, at most `limit` at a time, and returns the
/// results in the items' order. A task that panicked leaves an error in
/// its place instead of taking the whole command down.
async fn bounded<T, R, F, Fut>(items: Vec<T>, limit: usize, task: F) -> Vec<Result<R, String>>
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = R> + Send + 'static,
    R: Send + 'static,
{
    let permits = Arc::new(Semaphore::new(limit.max(1)));
    let mut running = JoinSet::new();
    let count = items.len();
    for (index, item) in items.into_iter().enumerate() {
        let permits = permits.clone();
        let work = task(item);
        running.spawn(async move {
            // The semaphore is never closed, so a permit always comes.
            let _permit = permits.acquire_owned().await;
            (index, work.await)
        });
    }
    let mut results: Vec<Result<R, String>> = (0..count)
        .map(|_| Err("it stopped unexpectedly".to_string()))
        .collect();
    while let Some(joined) = running.join_next().await {
        if let Ok((index, result)) = joined
            && let Some(slot) = results.get_mut(index)
        {
            *slot = Ok(result);
        }
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bounded_keeps_the_order_of_the_items_and_survives_a_panic() {
        // The first item finishes last; the third panics.
        let results = bounded(vec![30u64, 10, 0, 20], 2, |delay| async move {
            assert!(delay != 0, "a task that fails");
            tokio::time::sleep(Duration::from_millis(delay)).await;
            delay * 2
        })
        .await;
        assert_eq!(results[0], Ok(60));
        assert_eq!(results[1], Ok(20));
        assert!(results[2].is_err(), "{:?}", results[2]);
        assert_eq!(results[3], Ok(40));
    }
}
