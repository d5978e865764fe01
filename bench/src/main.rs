//! `zhongtai-bench run` measures the capability gateway's gRPC passthrough
//! against a direct tonic backend and nginx `grpc_pass` (throughput,
//! latency at concurrency 1, overload) and writes `bench/RESULTS.md` and
//! `bench/results.json`. `zhongtai-bench serve` is the system-under-test
//! process the run starts.

#![forbid(unsafe_code)]

mod backend;
mod client;
mod codec;
mod driver;
mod exchange_lag;
mod failover;
#[cfg(feature = "gateway")]
mod gateway;
mod load;
mod nginx;
mod payload;
mod process;
mod report;
mod section;
mod serve;
mod stats;
mod verification;

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Zhongtai's benchmarks (P1–P6): figures with their targets, in bench/RESULTS.md")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the benchmark and write the results.
    Run {
        /// Short durations (about 30 s): checks the harness, not the figures.
        #[arg(long)]
        quick: bool,
        /// Measure only the direct and nginx paths.
        #[arg(long)]
        no_gateway: bool,
        /// Do not pin processes to cores even where taskset exists.
        #[arg(long)]
        no_pin: bool,
        /// Folder for RESULTS.md and results.json.
        #[arg(long, default_value = "bench")]
        out_dir: PathBuf,
        /// Concurrent calls in the throughput test.
        #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=4096))]
        concurrency: u16,
        /// HTTP/2 connections the calls share.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
        connections: u16,
        /// Which benchmarks to run (comma-separated; P1, P2 and P4 run together)
        #[arg(long, value_delimiter = ',', default_value = "P1,P2,P3,P4,P5,P6")]
        only: Vec<Part>,
    },
    /// The system under test (started by `run`; stops when stdin closes).
    Serve {
        /// Start only the backend and nginx.
        #[arg(long)]
        no_gateway: bool,
        /// The gateway's max_in_flight (default: the gateway's own).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        max_in_flight: Option<u32>,
    },
}

/// One benchmark of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "UPPER")]
enum Part {
    P1,
    P2,
    P3,
    P4,
    P5,
    P6,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            no_gateway,
            max_in_flight,
        } => {
            // One worker: the process is pinned to one core when pinning is on.
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()?;
            runtime.block_on(serve::run(serve::ServeOptions {
                with_gateway: !no_gateway,
                max_in_flight: max_in_flight.map(|max| max as usize),
            }))
        }
        Command::Run {
            quick,
            no_gateway,
            no_pin,
            out_dir,
            concurrency,
            connections,
            only,
        } => {
            let pin = !no_pin && process::pinning_available();
            if pin {
                // Before the runtime starts, so its threads inherit the core.
                process::pin_self_to_load_core()?;
            }
            let options = driver::RunOptions {
                durations: if quick {
                    driver::Durations::QUICK
                } else {
                    driver::Durations::FULL
                },
                with_gateway: !no_gateway && cfg!(feature = "gateway"),
                pin,
                concurrency: usize::from(concurrency),
                connections: usize::from(connections),
                overload_multiples: vec![1.0, 3.0, 10.0],
                max_outstanding: 4096,
                unshed_max_in_flight: 1_000_000,
                serve_exe: std::env::current_exe().context("cannot find this executable")?,
            };
            let sections = section::SectionOptions {
                quick,
                pin,
                repetitions: options.durations.repetitions,
            };
            let command = std::env::args().collect::<Vec<_>>().join(" ");
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let (gateway, entries) = runtime.block_on(run_parts(&only, &options, &sections))?;
            let machine = report::Machine::here(command);
            let markdown = report::write(
                &out_dir,
                &report::Run {
                    machine: &machine,
                    pinned: pin,
                    gateway: gateway.as_ref(),
                    sections: &entries,
                },
            )?;
            println!("{markdown}");
            Ok(())
        }
    }
}

/// Runs the chosen benchmarks in the order; a section that fails is
/// reported as not measured, the others still run.
async fn run_parts(
    only: &[Part],
    options: &driver::RunOptions,
    sections: &section::SectionOptions,
) -> anyhow::Result<(Option<driver::Results>, Vec<report::SectionEntry>)> {
    let wanted = |part: Part| only.contains(&part);
    let gateway = if [Part::P1, Part::P2, Part::P4].into_iter().any(wanted) {
        Some(driver::run(options).await?)
    } else {
        None
    };
    let mut entries = Vec::new();
    if wanted(Part::P3) {
        eprintln!("P3 verification over gRPC on one core");
        entries.push(report::SectionEntry::of(
            "P3",
            "certificate and code verification over gRPC on one core",
            verification::run(sections).await,
        ));
    }
    if wanted(Part::P5) {
        eprintln!("P5 exchange: source commit to subscriber receipt");
        entries.push(report::SectionEntry::of(
            "P5",
            "exchange: source commit to subscriber receipt",
            exchange_lag::run(sections).await,
        ));
    }
    if wanted(Part::P6) {
        eprintln!("P6 a dead instance leaves routing");
        entries.push(report::SectionEntry::of(
            "P6",
            "a dead instance leaves routing",
            failover::run(sections).await,
        ));
    }
    Ok((gateway, entries))
}
