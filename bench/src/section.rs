//! What every benchmark section beside the gateway's shares: how long and how
//! often to measure, whether processes are pinned, and how a section reports
//! (its raw figures as JSON, its targets as verdicts, its own Markdown).

use serde::Serialize;

use crate::report::Verdict;

/// How a section runs.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SectionOptions {
    /// Short durations: checks the harness, not the figures.
    pub quick: bool,
    /// Pin the system under test and the load generator to separate cores.
    pub pin: bool,
    /// Measured repetitions after the warm-up (the report gives their
    /// median and spread).
    pub repetitions: usize,
}

/// What a finished section hands to the report.
pub trait SectionReport: Serialize {
    /// The section's targets, met or missed.
    fn verdicts(&self) -> Vec<Verdict>;
    /// Its part of `RESULTS.md` (a `##` heading and tables).
    fn markdown(&self) -> String;
}

/// The `zhongtai` release binary the sections run as the system under test
/// (`ZT_BENCH_ZHONGTAI_BIN`, else the sibling of this executable, which
/// `scripts/bench.sh` builds).
#[cfg(feature = "gateway")]
pub fn zhongtai_bin() -> anyhow::Result<std::path::PathBuf> {
    if let Some(path) = std::env::var_os("ZT_BENCH_ZHONGTAI_BIN") {
        return Ok(path.into());
    }
    let exe = std::env::current_exe()?;
    let bin = exe.with_file_name("zhongtai");
    anyhow::ensure!(
        bin.exists(),
        "{} is missing: build it with `cargo build --release -p zhongtai` (scripts/bench.sh does)",
        bin.display()
    );
    Ok(bin)
}

/// A backing service's address from the environment `scripts/test-env.sh up`
/// prints (`ZT_TEST_POSTGRES_URL`, `ZT_TEST_SOURCE_POSTGRES_URL`,
/// `ZT_TEST_AMQP_URL`, `ZT_TEST_ETCD_ENDPOINTS`).
#[cfg(feature = "gateway")]
pub fn backing(name: &str) -> anyhow::Result<String> {
    std::env::var(name).map_err(|_| {
        anyhow::anyhow!("{name} is not set: run through `make bench` (scripts/bench.sh starts the backing services)")
    })
}
