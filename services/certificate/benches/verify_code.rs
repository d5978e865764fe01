//! The verify-code path, from the signature up: the raw Ed25519 verify
//! (ring), offline `verify_code`, the VerifyCode handler in process, and
//! VerifyCode over gRPC with the server on ONE thread — its peak
//! throughput, and its latency at a fixed offered rate (open loop, so a
//! slow answer delays nothing that follows and counts from when it was
//! due).
//!
//! `cargo bench -p zhongtai-certificate --bench verify_code`
//!
//! The server is the codes part of a certificate center on a temporary
//! SQLite database (no auth layer), on a current-thread runtime of its own
//! thread; the load comes from another thread over several HTTP/2
//! connections with many concurrent streams. On a shared two-core machine
//! the client needs the other core: run it with nothing else busy.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ring::signature::{ED25519, UnparsedPublicKey};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Channel, Server};
use zhongtai_certificate::Center;
use zhongtai_certificate::codes::Codes;
use zhongtai_certificate::migration::Migrator;
use zhongtai_certificate::shared::Keyring;
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::certificate::v1::code_service_client::CodeServiceClient;
use zhongtai_contracts::certificate::v1::code_service_server::CodeServiceServer;
use zhongtai_credential::{
    CODE_TYP, CodeKind, CodePayload, Holder, HolderStatus, IdDocumentType, MAX_TOKEN_BYTES,
    PLATFORM_ISSUER, SigningKey, TrustStore, qr_payload, sign_compact, token_from_presentation,
    verify_code, verify_codes,
};
use zhongtai_kit::config::CertificateConfig;
use zhongtai_store::{StoreConfig, connect, migrate};

const KEY_ENCRYPTION_KEY: &str = "YmVuY2gta2V5LWVuY3J5cHRpb24ta2V5LTMyLWJ5dGU=";
const LOCAL_RUN: Duration = Duration::from_secs(2);
const WARM_UP: Duration = Duration::from_secs(1);
const PEAK_RUN: Duration = Duration::from_secs(5);
const FIXED_RUN: Duration = Duration::from_secs(10);
const FIXED_RATE: f64 = 15_000.0;
/// HTTP/2 connections the load uses (`ZT_BENCH_CONNECTIONS` overrides).
const CHANNELS: usize = 8;
/// HTTP/2 flow-control windows on both sides: the 64 KiB default holds
/// only ~120 requests in flight per connection, and one connection then
/// idles waiting for window updates.
const WINDOW_BYTES: u32 = 4 << 20;
const SERVER_THREAD: &str = "code-server";
const CLIENT_THREAD: &str = "code-client";
const IN_FLIGHT: usize = 256;
/// Codes a batch of the in-process batched check holds.
const BATCH: usize = 32;

/// What the server thread hands the driver.
struct Served {
    address: std::net::SocketAddr,
    platform: Arc<SigningKey>,
    trust: Arc<TrustStore>,
    center: Arc<Center>,
}

fn main() {
    let stop = CancellationToken::new();
    let (served_tx, served_rx) = std::sync::mpsc::channel();
    let server = {
        let stop = stop.clone();
        std::thread::Builder::new()
            .name(SERVER_THREAD.into())
            .spawn(move || serve(stop, served_tx))
            .expect("the server thread")
    };
    let served = served_rx.recv().expect("the server starts");

    let code = code_payload();
    let token = sign_compact(&served.platform, CODE_TYP, &code);
    let qr = qr_payload(&token);
    println!(
        "code token {} bytes, QR payload {} characters",
        token.len(),
        qr.len()
    );

    let raw = raw_ed25519_rate(&served.platform, &token);
    let offline_token = rate(|| {
        verify_code(&token, &served.trust, chrono::Utc::now()).is_ok_and(|c| c.outcome.is_valid())
    });
    let offline_qr = rate(|| {
        verify_code(&qr, &served.trust, chrono::Utc::now()).is_ok_and(|c| c.outcome.is_valid())
    });
    let batch: Vec<&str> = vec![qr.as_str(); BATCH];
    let offline_batched = BATCH as f64
        * rate(|| {
            verify_codes(&batch, &served.trust, chrono::Utc::now())
                .iter()
                .all(|c| c.as_ref().is_ok_and(|c| c.outcome.is_valid()))
        });

    let unwrap_qr = rate(|| token_from_presentation(&qr, MAX_TOKEN_BYTES).is_ok());
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(CLIENT_THREAD)
        .enable_all()
        .build()
        .expect("a client runtime");
    let channels = client.block_on(connect_all(served.address));
    let codes = &served.center.codes;
    let peak_token = measured(codes, || client.block_on(peak(&channels, &token, false)));
    let peak_qr = measured(codes, || client.block_on(peak(&channels, &qr, false)));
    let peak_refused = measured(codes, || {
        client.block_on(peak(&channels, "not a code", true))
    });
    let fixed_token = measured(codes, || {
        client.block_on(fixed_rate(&channels, &token, FIXED_RATE))
    });
    let fixed_qr = measured(codes, || {
        client.block_on(fixed_rate(&channels, &qr, FIXED_RATE))
    });

    println!();
    println!(
        "{:<48} {:>10} {:>9}",
        "verify-code path", "per second", "vs ring"
    );
    for (name, ops) in [
        ("ring Ed25519 verify (one thread)", raw),
        ("verify_code, raw token (one thread)", offline_token),
        ("verify_code, ZT1 QR payload (one thread)", offline_qr),
        (
            "verify_codes, QR, batches of 32 (one thread)",
            offline_batched,
        ),
        ("token_from_presentation, QR (one thread)", unwrap_qr),
    ] {
        println!("{name:<48} {ops:>10.0} {:>8.1}%", ops / raw * 100.0);
    }
    for (name, (ops, run)) in [
        ("VerifyCode over gRPC, peak, raw token", peak_token),
        ("VerifyCode over gRPC, peak, QR payload", peak_qr),
        (
            "VerifyCode over gRPC, peak, refused (no crypto)",
            peak_refused,
        ),
    ] {
        println!("{name:<48} {ops:>10.0} {:>8.1}%   {run}", ops / raw * 100.0);
    }
    println!();
    for (form, (fixed, run)) in [("raw token", fixed_token), ("QR payload", fixed_qr)] {
        println!(
            "VerifyCode over gRPC at {FIXED_RATE:.0}/s offered ({form}, open loop, {}s): \
             {:.0}/s answered, p50 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms, \
             {} errors   {run}",
            FIXED_RUN.as_secs(),
            fixed.answered_per_second,
            fixed.p50.as_secs_f64() * 1e3,
            fixed.p99.as_secs_f64() * 1e3,
            fixed.p999.as_secs_f64() * 1e3,
            fixed.max.as_secs_f64() * 1e3,
            fixed.errors
        );
    }
    println!(
        "server: one current-thread runtime ({SERVER_THREAD}); client: one worker thread \
         ({CLIENT_THREAD}), {} HTTP/2 connections, {IN_FLIGHT} calls in flight at peak",
        channels.len()
    );

    stop.cancel();
    let _ = server.join();
}

/// The server thread: a center on a fresh SQLite database, its codes part
/// served until `stop`.
fn serve(stop: CancellationToken, served: std::sync::mpsc::Sender<Served>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a server runtime");
    runtime.block_on(async move {
        let folder = tempfile::tempdir().expect("a temporary folder");
        let db = connect(&StoreConfig {
            url: format!(
                "sqlite://{}",
                folder.path().join("certificate.db").display()
            ),
            ..StoreConfig::default()
        })
        .await
        .expect("the database");
        migrate::<Migrator>(&db).await.expect("the schema");
        let config = CertificateConfig {
            key_encryption_key: KEY_ENCRYPTION_KEY.to_string().into(),
            ..CertificateConfig::default()
        };
        let center = Arc::new(Center::new(db, Arc::new(Notify::new()), config).expect("a center"));
        for task in center.background(stop.clone()) {
            tokio::spawn(task);
        }
        let platform = center
            .issuers
            .platform_signer()
            .await
            .expect("the platform key");
        let trust = center.issuers.trust_store().await.expect("the trust list");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let address = listener.local_addr().expect("its address");
        let api = center.codes.api();
        served
            .send(Served {
                address,
                platform,
                trust,
                center: center.clone(),
            })
            .expect("the driver waits");
        Server::builder()
            .initial_connection_window_size(Some(WINDOW_BYTES))
            .initial_stream_window_size(Some(WINDOW_BYTES))
            .add_service(CodeServiceServer::new(api))
            .serve_with_incoming_shutdown(incoming(listener), stop.cancelled())
            .await
            .expect("the server runs");
    });
}

/// Accepted connections with Nagle's algorithm off: tonic's
/// `tcp_nodelay` applies only to listeners it binds itself, and with Nagle
/// on, small answers wait for the client's delayed ACK (~40 ms).
fn incoming(
    listener: tokio::net::TcpListener,
) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use tokio_stream::StreamExt;
    tokio_stream::wrappers::TcpListenerStream::new(listener).map(|accepted| {
        let stream = accepted?;
        stream.set_nodelay(true)?;
        Ok(stream)
    })
}

fn code_payload() -> CodePayload {
    let now = chrono::Utc::now().timestamp();
    let mut claims = serde_json::Map::new();
    claims.insert("occupation".into(), "家政服务员".into());
    CodePayload {
        iss: PLATFORM_ISSUER.into(),
        jti: "0196a1c2-b111-7222-8333-944455566677".into(),
        iat: now,
        exp: now + 3_600,
        kind: CodeKind::Personal,
        holder: Holder::Person {
            name: "张三".into(),
            id_type: IdDocumentType::ResidentIdCard,
            id_number: "33110219900101123X".into(),
        }
        .masked(),
        st: HolderStatus::Normal,
        claims,
        dep: None,
    }
}

/// Operations a second of `operation` on this thread, after a warm-up.
fn rate(mut operation: impl FnMut() -> bool) -> f64 {
    for _ in 0..1_000 {
        assert!(operation(), "the operation succeeds");
    }
    let start = Instant::now();
    let mut done: u64 = 0;
    while start.elapsed() < LOCAL_RUN {
        for _ in 0..256 {
            assert!(std::hint::black_box(operation()));
        }
        done += 256;
    }
    done as f64 / start.elapsed().as_secs_f64()
}

fn raw_ed25519_rate(platform: &SigningKey, token: &str) -> f64 {
    let (signing_input, signature) = token.rsplit_once('.').expect("three parts");
    let signature =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, signature)
            .expect("base64url");
    let public_key = platform.public_key();
    let key = UnparsedPublicKey::new(&ED25519, public_key.0);
    rate(|| {
        key.verify(std::hint::black_box(signing_input.as_bytes()), &signature)
            .is_ok()
    })
}

fn valid(answer: &pb::VerifyCodeResponse) -> bool {
    answer
        .result
        .as_ref()
        .is_some_and(|r| r.outcome() == pb::VerificationOutcome::Valid)
}

async fn connect_all(address: std::net::SocketAddr) -> Vec<CodeServiceClient<Channel>> {
    let connections = std::env::var("ZT_BENCH_CONNECTIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(CHANNELS)
        .max(1);
    let mut clients = Vec::with_capacity(connections);
    for _ in 0..connections {
        let channel = Channel::from_shared(format!("http://{address}"))
            .expect("a URI")
            .tcp_nodelay(true)
            .initial_connection_window_size(Some(WINDOW_BYTES))
            .initial_stream_window_size(Some(WINDOW_BYTES))
            .connect()
            .await
            .expect("a connection");
        clients.push(CodeServiceClient::new(channel));
    }
    clients
}

/// Answers a second with `IN_FLIGHT` calls always outstanding, each
/// answered VALID (or, for `refused`, INVALID_ARGUMENT).
async fn peak(clients: &[CodeServiceClient<Channel>], payload: &str, refused: bool) -> f64 {
    let answered = Arc::new(AtomicU64::new(0));
    let counting = Arc::new(AtomicBool::new(false));
    let running = Arc::new(AtomicBool::new(true));
    let workers: Vec<_> = (0..IN_FLIGHT)
        .map(|i| {
            let mut client = clients[i % clients.len()].clone();
            let request = pb::VerifyCodeRequest {
                payload: payload.to_string(),
            };
            let (answered, counting, running) =
                (answered.clone(), counting.clone(), running.clone());
            tokio::spawn(async move {
                while running.load(Ordering::Relaxed) {
                    let answer = client.verify_code(request.clone()).await;
                    let expected = match answer {
                        Ok(answer) => !refused && valid(answer.get_ref()),
                        Err(status) => refused && status.code() == tonic::Code::InvalidArgument,
                    };
                    assert!(expected, "VerifyCode answers as expected");
                    if counting.load(Ordering::Relaxed) {
                        answered.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(WARM_UP).await;
    counting.store(true, Ordering::Relaxed);
    let start = Instant::now();
    tokio::time::sleep(PEAK_RUN).await;
    let count = answered.load(Ordering::Relaxed);
    let elapsed = start.elapsed();
    running.store(false, Ordering::Relaxed);
    for worker in workers {
        let _ = worker.await;
    }
    count as f64 / elapsed.as_secs_f64()
}

struct Latencies {
    answered_per_second: f64,
    p50: Duration,
    p99: Duration,
    p999: Duration,
    max: Duration,
    errors: u64,
}

/// Calls sent on a fixed schedule of `rate` a second whatever the answers
/// do; each call's latency counts from when it was due.
async fn fixed_rate(clients: &[CodeServiceClient<Channel>], payload: &str, rate: f64) -> Latencies {
    let request = pb::VerifyCodeRequest {
        payload: payload.to_string(),
    };
    // Warm up at the same rate, then measure.
    let _ = schedule(clients, &request, rate, WARM_UP).await;
    let (mut latencies, errors, elapsed) = schedule(clients, &request, rate, FIXED_RUN).await;
    latencies.sort_unstable();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Latencies {
        answered_per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
        p999: at(0.999),
        max: latencies.last().copied().unwrap_or_default(),
        errors,
    }
}

async fn schedule(
    clients: &[CodeServiceClient<Channel>],
    request: &pb::VerifyCodeRequest,
    rate: f64,
    run: Duration,
) -> (Vec<Duration>, u64, Duration) {
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    let errors = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(std::sync::Mutex::new(None::<String>));
    let start = Instant::now();
    let total = (rate * run.as_secs_f64()) as u64;
    let mut sent: u64 = 0;
    let mut ticker = tokio::time::interval(Duration::from_micros(500));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    while sent < total {
        ticker.tick().await;
        let due = ((start.elapsed().as_secs_f64() * rate) as u64).min(total);
        while sent < due {
            let scheduled = start + Duration::from_secs_f64(sent as f64 / rate);
            let mut client = clients[(sent as usize) % clients.len()].clone();
            let request = request.clone();
            let done = done_tx.clone();
            let errors = errors.clone();
            let first_error = first_error.clone();
            tokio::spawn(async move {
                match client.verify_code(request).await {
                    Ok(answer) if valid(answer.get_ref()) => {
                        let _ = done.send(scheduled.elapsed());
                    }
                    other => {
                        if errors.fetch_add(1, Ordering::Relaxed) == 0
                            && let Ok(mut first) = first_error.lock()
                        {
                            *first = Some(format!("{other:?}"));
                        }
                    }
                }
            });
            sent += 1;
        }
    }
    drop(done_tx);
    let mut latencies = Vec::with_capacity(total as usize);
    while let Some(latency) = done_rx.recv().await {
        latencies.push(latency);
    }
    if let Some(error) = first_error.lock().ok().and_then(|e| e.clone()) {
        println!("first failed call: {error}");
    }
    (latencies, errors.load(Ordering::Relaxed), start.elapsed())
}

/// Runs `phase` and says how busy the server and client threads were
/// during it, and how large the server's signature batches were.
fn measured<T>(codes: &Codes, phase: impl FnOnce() -> T) -> (T, String) {
    let (server_before, client_before) = (thread_cpu(SERVER_THREAD), thread_cpu(CLIENT_THREAD));
    let batches_before = codes.signature_batches();
    let start = Instant::now();
    let result = phase();
    let wall = start.elapsed().as_secs_f64();
    let busy = |after: f64, before: f64| (after - before) / wall * 100.0;
    let batches = codes.signature_batches();
    let mean_batch = (batches.codes - batches_before.codes) as f64
        / (batches.batches - batches_before.batches).max(1) as f64;
    let note = format!(
        "(server thread {:.0}% busy, client {:.0}%, mean signature batch {mean_batch:.1})",
        busy(thread_cpu(SERVER_THREAD), server_before),
        busy(thread_cpu(CLIENT_THREAD), client_before),
    );
    (result, note)
}

/// CPU seconds used so far by this process's threads named `name`, from
/// /proc (Linux; clock ticks of 10 ms). Zero where /proc is missing.
fn thread_cpu(name: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    let mut ticks: u64 = 0;
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if !comm.trim_end().starts_with(name) {
            continue;
        }
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        // Fields after the command name: state is the first, utime the
        // 12th, stime the 13th.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        for index in [11, 12] {
            ticks += fields
                .get(index)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    ticks as f64 / 100.0
}
