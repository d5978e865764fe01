//! The floor P3 is compared with: ring's Ed25519 verify of a signature over
//! the code's own signing input, one thread, on the server's core (while
//! the server idles), timed by the thread's own time on a core.

use std::hint::black_box;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};

use crate::process::SERVER_CORE;

/// Verifications a second of a fresh key's signature over `message` on a
/// thread of its own (on the server core when `pin`), for `run` after a
/// short warm-up.
pub async fn ed25519_verify_rate(
    message: Vec<u8>,
    run: Duration,
    pin: bool,
) -> anyhow::Result<f64> {
    tokio::task::spawn_blocking(move || {
        std::thread::Builder::new()
            .name("ed25519-verify".into())
            .spawn(move || measure(&message, run, pin))
            .context("cannot start the verify thread")?
            .join()
            .map_err(|_| anyhow::anyhow!("the verify thread panicked"))?
    })
    .await
    .context("the verify task failed")?
}

fn measure(message: &[u8], run: Duration, pin: bool) -> anyhow::Result<f64> {
    if pin {
        pin_this_thread(SERVER_CORE)?;
    }
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng)
        .map_err(|_| anyhow::anyhow!("cannot generate an Ed25519 key"))?;
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())
        .map_err(|_| anyhow::anyhow!("cannot read the Ed25519 key"))?;
    let signature = pair.sign(message);
    let key = UnparsedPublicKey::new(&ED25519, pair.public_key().as_ref().to_vec());
    let verify = || {
        key.verify(black_box(message), black_box(signature.as_ref()))
            .is_ok()
    };
    anyhow::ensure!(verify(), "the signature does not verify");
    let warm_up = OnCoreClock::start();
    while warm_up.elapsed() < run / 10 {
        black_box(verify());
    }
    let clock = OnCoreClock::start();
    let mut verified: u64 = 0;
    while clock.elapsed() < run {
        // Reading the clock costs microseconds: not after every verify.
        for _ in 0..256 {
            if verify() {
                verified += 1;
            }
        }
    }
    Ok(verified as f64 / clock.elapsed().as_secs_f64())
}

/// Moves the calling thread (only) to `core`: `taskset -p` on its thread id.
fn pin_this_thread(core: &str) -> anyhow::Result<()> {
    let link = std::fs::read_link("/proc/thread-self").context("cannot read /proc/thread-self")?;
    let tid = link
        .file_name()
        .and_then(|name| name.to_str())
        .context("/proc/thread-self names no thread")?
        .to_owned();
    let status = std::process::Command::new("taskset")
        .args(["-p", "-c", core, &tid])
        .stdout(std::process::Stdio::null())
        .status()
        .context("cannot run taskset")?;
    anyhow::ensure!(status.success(), "taskset could not pin thread {tid}");
    Ok(())
}

/// This thread's time on a core (Linux schedstat), else wall time: time
/// spent waiting for the core does not count against the verify. Kernels
/// without scheduler statistics report 0 there: wall time then.
struct OnCoreClock {
    started: Instant,
    on_core_at_start: Option<u64>,
}

impl OnCoreClock {
    fn start() -> Self {
        Self {
            started: Instant::now(),
            on_core_at_start: nanoseconds_on_core(),
        }
    }

    fn elapsed(&self) -> Duration {
        match (self.on_core_at_start, nanoseconds_on_core()) {
            (Some(start), Some(now)) => Duration::from_nanos(now.saturating_sub(start)),
            _ => self.started.elapsed(),
        }
    }
}

fn nanoseconds_on_core() -> Option<u64> {
    let schedstat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    schedstat
        .split_whitespace()
        .next()?
        .parse()
        .ok()
        .filter(|&nanos: &u64| nanos > 0)
}
