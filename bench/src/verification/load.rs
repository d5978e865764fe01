//! The load of P3, from the load core: a closed loop (a fixed number of
//! calls always outstanding: the peak rate) and an open loop (calls sent
//! on a fixed schedule whatever the answers do, each latency counted from
//! when the call was due, so a stall delays nothing that follows).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tonic::transport::Channel;
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::certificate::v1::certificate_service_client::CertificateServiceClient;
use zhongtai_contracts::certificate::v1::code_service_client::CodeServiceClient;

use crate::stats::{Latencies, nanos};

/// A call not answered in this long counts as failed (and the server is
/// told so with `grpc-timeout`): a run ends in bounded time however slow
/// the server is.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Calls the open loop keeps outstanding at most; a call due beyond that is
/// not sent and counts as failed, so a server far below the offered rate
/// cannot make the run wait on an ever longer backlog.
const MAX_OUTSTANDING: usize = 8_192;

/// What is verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Rpc {
    /// CodeService.VerifyCode with the code's QR payload, as a gate's
    /// scanner sends it.
    Code,
    /// CertificateService.VerifyCertificate with the certificate's token
    /// (status checked, no claims returned).
    Certificate,
    /// VerifyCode with a payload that is no code: refused before any
    /// signature of a code is checked, so it costs the gRPC stack and the
    /// caller's token check only.
    NotACode,
}

impl Rpc {
    pub fn label(self) -> &'static str {
        match self {
            Rpc::Code => "VerifyCode (QR payload)",
            Rpc::Certificate => "VerifyCertificate (token)",
            Rpc::NotACode => "VerifyCode refused (not a code)",
        }
    }
}

/// A verifier's call, ready to send on any connection.
#[derive(Clone)]
pub struct Caller {
    rpc: Rpc,
    presentation: String,
    authorization: tonic::metadata::MetadataValue<tonic::metadata::Ascii>,
}

impl Caller {
    pub fn new(rpc: Rpc, presentation: String, token: &str) -> anyhow::Result<Self> {
        Ok(Self {
            rpc,
            presentation,
            authorization: format!("Bearer {token}")
                .parse()
                .map_err(|_| anyhow::anyhow!("the token is not a header value"))?,
        })
    }

    pub fn rpc(&self) -> Rpc {
        self.rpc
    }

    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request.set_timeout(CALL_TIMEOUT);
        request
            .metadata_mut()
            .insert("authorization", self.authorization.clone());
        request
    }

    /// One call; `Err` names why it did not come back VALID.
    pub async fn call(&self, channel: &Channel) -> Result<(), String> {
        let result = match self.rpc {
            Rpc::NotACode => {
                return match CodeServiceClient::new(channel.clone())
                    .verify_code(self.request(pb::VerifyCodeRequest {
                        payload: self.presentation.clone(),
                    }))
                    .await
                {
                    Err(status) if status.code() == tonic::Code::InvalidArgument => Ok(()),
                    Err(status) => Err(format!("{:?}: {}", status.code(), status.message())),
                    Ok(_) => Err("a payload that is no code was accepted".into()),
                };
            }
            Rpc::Code => CodeServiceClient::new(channel.clone())
                .verify_code(self.request(pb::VerifyCodeRequest {
                    payload: self.presentation.clone(),
                }))
                .await
                .map(|answer| answer.into_inner().result),
            Rpc::Certificate => CertificateServiceClient::new(channel.clone())
                .verify_certificate(self.request(pb::VerifyCertificateRequest {
                    presentation: Some(pb::verify_certificate_request::Presentation::Token(
                        self.presentation.clone(),
                    )),
                    include_claims: false,
                }))
                .await
                .map(|answer| answer.into_inner().result),
        };
        match result {
            Ok(Some(result)) if result.outcome() == pb::VerificationOutcome::Valid => Ok(()),
            Ok(Some(result)) => Err(format!("{:?}: {}", result.outcome(), result.detail)),
            Ok(None) => Err("an answer without a result".into()),
            Err(status) => Err(format!("{:?}: {}", status.code(), status.message())),
        }
    }
}

/// What a closed-loop run measured.
#[derive(Debug, Clone)]
pub struct ClosedLoop {
    pub answered_per_second: f64,
    pub errors: u64,
    pub first_error: Option<String>,
}

/// `in_flight` calls always outstanding over `channels`; counts answers for
/// `run` after `warm_up`.
pub async fn closed_loop(
    caller: &Caller,
    channels: &[Channel],
    in_flight: usize,
    warm_up: Duration,
    run: Duration,
) -> ClosedLoop {
    let answered = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(std::sync::Mutex::new(None::<String>));
    let counting = Arc::new(AtomicBool::new(false));
    let running = Arc::new(AtomicBool::new(true));
    let workers: Vec<_> = (0..in_flight)
        .map(|i| {
            let channel = channels[i % channels.len()].clone();
            let caller = caller.clone();
            let (answered, errors, first_error, counting, running) = (
                answered.clone(),
                errors.clone(),
                first_error.clone(),
                counting.clone(),
                running.clone(),
            );
            tokio::spawn(async move {
                while running.load(Ordering::Relaxed) {
                    let outcome = caller.call(&channel).await;
                    if !counting.load(Ordering::Relaxed) {
                        continue;
                    }
                    match outcome {
                        Ok(()) => {
                            answered.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(why) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            if let Ok(mut first) = first_error.lock() {
                                first.get_or_insert(why);
                            }
                        }
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(warm_up).await;
    counting.store(true, Ordering::Relaxed);
    let start = Instant::now();
    tokio::time::sleep(run).await;
    let count = answered.load(Ordering::Relaxed);
    let elapsed = start.elapsed();
    running.store(false, Ordering::Relaxed);
    for worker in workers {
        let _ = worker.await;
    }
    ClosedLoop {
        answered_per_second: count as f64 / elapsed.as_secs_f64(),
        errors: errors.load(Ordering::Relaxed),
        first_error: first_error.lock().ok().and_then(|first| first.clone()),
    }
}

/// What an open-loop run measured.
#[derive(Debug, Clone)]
pub struct OpenLoop {
    pub offered_per_second: f64,
    pub answered_per_second: f64,
    /// Latency of each VALID answer, from when its call was due.
    pub latencies: Latencies,
    pub errors: u64,
    pub first_error: Option<String>,
}

/// Calls at `rate` a second for `run`, spread over `channels`.
pub async fn open_loop(
    caller: &Caller,
    channels: &[Channel],
    rate: f64,
    run: Duration,
) -> OpenLoop {
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    let errors = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(std::sync::Mutex::new(None::<String>));
    let outstanding = Arc::new(AtomicUsize::new(0));
    let total = (rate * run.as_secs_f64()) as u64;
    let start = Instant::now();
    let mut sent: u64 = 0;
    let mut ticker = tokio::time::interval(Duration::from_micros(500));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    while sent < total {
        ticker.tick().await;
        let due = ((start.elapsed().as_secs_f64() * rate) as u64).min(total);
        while sent < due {
            let scheduled = start + Duration::from_secs_f64(sent as f64 / rate);
            sent += 1;
            if outstanding.load(Ordering::Relaxed) >= MAX_OUTSTANDING {
                errors.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut first) = first_error.lock() {
                    first.get_or_insert(format!(
                        "not sent: {MAX_OUTSTANDING} calls already outstanding"
                    ));
                }
                continue;
            }
            outstanding.fetch_add(1, Ordering::Relaxed);
            let outstanding = outstanding.clone();
            let channel = channels[(sent as usize) % channels.len()].clone();
            let caller = caller.clone();
            let done = done_tx.clone();
            let errors = errors.clone();
            let first_error = first_error.clone();
            tokio::spawn(async move {
                let outcome = caller.call(&channel).await;
                outstanding.fetch_sub(1, Ordering::Relaxed);
                match outcome {
                    Ok(()) => {
                        let _ = done.send(nanos(scheduled.elapsed()));
                    }
                    Err(why) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut first) = first_error.lock() {
                            first.get_or_insert(why);
                        }
                    }
                }
            });
        }
    }
    let sending = start.elapsed();
    drop(done_tx);
    let mut latencies = Vec::with_capacity(total as usize);
    while let Some(latency) = done_rx.recv().await {
        latencies.push(latency);
    }
    let elapsed = start.elapsed();
    OpenLoop {
        offered_per_second: sent as f64 / sending.as_secs_f64(),
        answered_per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        latencies: Latencies::from_nanos(latencies),
        errors: errors.load(Ordering::Relaxed),
        first_error: first_error.lock().ok().and_then(|first| first.clone()),
    }
}
