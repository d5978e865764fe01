//! The steady load of P6 and what it saw: callers going through a
//! MeshChannel over etcd discovery, each call's answering instance (the
//! `zhongtai-instance` response header) or error; and a watcher noting
//! when each instance left the caller's discovery.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio_util::sync::CancellationToken;
use tonic::Request;
use zhongtai_contracts::approval::v1::ListServiceItemsRequest;
use zhongtai_contracts::approval::v1::approval_service_client::ApprovalServiceClient;
use zhongtai_mesh::{Discovery, EndpointSet, MeshChannel};

const INSTANCE_HEADER: &str = "zhongtai-instance";

/// One call as the caller saw it.
#[derive(Debug, Clone)]
pub struct CallRecord {
    /// Which of the concurrent callers made it.
    pub caller: usize,
    pub sent: Instant,
    pub done: Instant,
    /// The instance that answered, or why the call failed after the mesh's
    /// retries.
    pub outcome: Result<String, String>,
}

/// Everything the load and the watcher recorded.
#[derive(Default)]
struct Log {
    /// Appended as calls finish, so ordered by `done`.
    calls: Vec<CallRecord>,
    /// When each instance id was last seen leaving the caller's discovery.
    left_discovery: BTreeMap<String, Instant>,
}

/// The running load; stops when [`Traffic::stop`]ped.
pub struct Traffic {
    log: Arc<Mutex<Log>>,
    stop: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    callers: usize,
}

impl Traffic {
    /// `callers` concurrent loops of one idempotent read each, with
    /// `authorization`, over `channel`; a watcher on `discovery`.
    pub fn start(
        channel: MeshChannel,
        discovery: &Discovery,
        authorization: tonic::metadata::MetadataValue<tonic::metadata::Ascii>,
        callers: usize,
    ) -> Self {
        let log = Arc::new(Mutex::new(Log::default()));
        let stop = CancellationToken::new();
        let mut tasks = Vec::with_capacity(callers + 1);
        tasks.push(tokio::spawn(watch(
            discovery.subscribe(),
            log.clone(),
            stop.clone(),
        )));
        for caller in 0..callers {
            let mut client = ApprovalServiceClient::new(channel.clone());
            let authorization = authorization.clone();
            let (log, stop) = (log.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                while !stop.is_cancelled() {
                    let mut request = Request::new(ListServiceItemsRequest::default());
                    request
                        .metadata_mut()
                        .insert("authorization", authorization.clone());
                    let sent = Instant::now();
                    let outcome = client
                        .list_service_items(request)
                        .await
                        .map(|answer| {
                            answer
                                .metadata()
                                .get(INSTANCE_HEADER)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("unnamed")
                                .to_owned()
                        })
                        .map_err(|status| format!("{:?}: {}", status.code(), status.message()));
                    let record = CallRecord {
                        caller,
                        sent,
                        done: Instant::now(),
                        outcome,
                    };
                    if let Ok(mut log) = log.lock() {
                        log.calls.push(record);
                    }
                }
            }));
        }
        Self {
            log,
            stop,
            tasks,
            callers,
        }
    }

    /// Calls sent since `since`.
    pub fn snapshot(&self, since: Instant) -> Vec<CallRecord> {
        let Ok(log) = self.log.lock() else {
            return Vec::new();
        };
        // A call that finished before `since` was sent before it, and so
        // were all recorded before it.
        let mut calls: Vec<CallRecord> = log
            .calls
            .iter()
            .rev()
            .take_while(|c| c.done >= since)
            .filter(|c| c.sent >= since)
            .cloned()
            .collect();
        calls.reverse();
        calls
    }

    /// When instance `id` was last seen leaving discovery.
    pub fn left_discovery(&self, id: &str) -> Option<Instant> {
        self.log
            .lock()
            .ok()
            .and_then(|log| log.left_discovery.get(id).copied())
    }

    /// Whether every caller has finished a call sent after `after`: then no
    /// call sent before it is still in flight.
    pub fn all_past(&self, after: Instant) -> bool {
        self.log.lock().is_ok_and(|log| {
            let mut past = vec![false; self.callers];
            for call in log.calls.iter().rev().take_while(|c| c.done >= after) {
                if call.sent > after
                    && let Some(flag) = past.get_mut(call.caller)
                {
                    *flag = true;
                }
            }
            past.into_iter().all(|p| p)
        })
    }

    /// Stops the callers and waits for their last calls.
    pub async fn stop(self) {
        self.stop.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Notes the moment each instance disappears from the endpoint set.
async fn watch(
    mut endpoints: tokio::sync::watch::Receiver<Arc<EndpointSet>>,
    log: Arc<Mutex<Log>>,
    stop: CancellationToken,
) {
    let mut known: Vec<String> = endpoints.borrow_and_update().keys().cloned().collect();
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            changed = endpoints.changed() => if changed.is_err() { return },
        }
        let now = Instant::now();
        let current: Vec<String> = endpoints.borrow_and_update().keys().cloned().collect();
        if let Ok(mut log) = log.lock() {
            for gone in known.iter().filter(|id| !current.contains(id)) {
                log.left_discovery.insert(gone.clone(), now);
            }
        }
        known = current;
    }
}
