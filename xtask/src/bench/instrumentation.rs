//! What the server's instrumentation costs: get-ticket load on servers
//! with and without their log lines, request ids and metrics. Part of the
//! first table (`report`), and runnable alone with `--only
//! instrumentation`, where another build of the server can be measured
//! beside this one (`--instrumentation-baseline`), interleaved round by
//! round, so a change is compared on the same machine at the same time.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::ensure;

use super::client;
use super::server::{AGENT, Server};
use super::stats::median;

/// The seed of `--only instrumentation`: one ticket is read, so a small
/// database does (the full bench measures on its 200,000 tickets).
pub const ALONE_TICKETS: u64 = 1_000;

/// The section's options.
#[derive(Debug, clap::Args)]
pub struct InstrumentationArgs {
    /// With `--only instrumentation`: another release build of the server
    /// (a path to its `api` binary) whose three variants are measured in
    /// the same rounds as this tree's.
    #[arg(long)]
    instrumentation_baseline: Option<PathBuf>,
    /// With `--only instrumentation`: rounds, each one load run per server;
    /// medians are reported (the full bench runs 5).
    #[arg(long, default_value_t = 5)]
    instrumentation_rounds: usize,
    /// With `--only instrumentation`: seconds of each load run (the full
    /// bench runs 4).
    #[arg(long, default_value_t = 4)]
    instrumentation_seconds: u64,
}

impl InstrumentationArgs {
    pub fn check(&self) -> anyhow::Result<()> {
        ensure!(
            self.instrumentation_rounds > 0 && self.instrumentation_seconds > 0,
            "--instrumentation-rounds and --instrumentation-seconds must be positive"
        );
        if let Some(binary) = &self.instrumentation_baseline {
            ensure!(binary.is_file(), "no server binary at {}", binary.display());
        }
        Ok(())
    }
}

/// How one server variant did under the same load.
#[derive(Debug, Clone, Copy)]
pub struct Variant {
    pub requests_per_second: f64,
    /// The server's own CPU time per request (user + system): steadier than
    /// throughput on a shared machine, where the load generator competes
    /// for the same cores.
    pub cpu_micros_per_request: f64,
}

/// The three variants of one build: with request ids, log lines (at the
/// default `info`, written to a discarded stdout) and metrics; without the
/// log lines (`RUST_LOG=warn`); without any of them
/// (`HTTP_INSTRUMENTATION=off`).
pub type Variants = [Variant; 3];

const VARIANT_ENV: [(&str, &str); 3] = [
    ("RUST_LOG", "info"),
    ("RUST_LOG", "warn"),
    ("HTTP_INSTRUMENTATION", "off"),
];

/// This tree's three variants, and the baseline build's when one is given.
#[derive(Debug)]
pub struct Measured {
    pub current: Variants,
    pub baseline: Option<(PathBuf, Variants)>,
}

/// The full bench's measurement: this tree's variants on `db`, with its
/// default rounds.
pub fn measure(root: &Path, db: &Path) -> anyhow::Result<Variants> {
    Ok(measure_builds(root, db, None, 5, Duration::from_secs(4))?.current)
}

/// `--only instrumentation`: the variants of this tree (and of the
/// baseline build) on `db`.
pub fn measure_alone(
    root: &Path,
    db: &Path,
    args: &InstrumentationArgs,
) -> anyhow::Result<Measured> {
    measure_builds(
        root,
        db,
        args.instrumentation_baseline.as_deref(),
        args.instrumentation_rounds,
        Duration::from_secs(args.instrumentation_seconds),
    )
}

/// Get-ticket load on each variant of each build, from 8 keep-alive
/// connections. Medians of interleaved rounds, so drift hits every variant
/// alike.
fn measure_builds(
    root: &Path,
    db: &Path,
    baseline: Option<&Path>,
    rounds: usize,
    round: Duration,
) -> anyhow::Result<Measured> {
    let mut builds = vec![root.join("target/release/api")];
    builds.extend(baseline.map(Path::to_path_buf));
    let mut servers = Vec::new();
    for binary in &builds {
        for env in VARIANT_ENV {
            let binary = binary.to_string_lossy();
            servers.push(Server::start_binary(
                root,
                &binary,
                &format!("sqlite://{}", db.display()),
                &[env],
            )?);
        }
    }
    // Every bench server has the same secret, so one token does for all.
    let token = servers[0].login_token(AGENT)?;
    let mut rates = vec![Vec::new(); servers.len()];
    let mut cpu = vec![Vec::new(); servers.len()];
    for round_number in 0..rounds {
        // Each round starts with another server, so no variant always runs
        // first (or last) in a round.
        for offset in 0..servers.len() {
            let which = (round_number + offset) % servers.len();
            let server = &servers[which];
            let cpu_before = server.cpu_seconds()?;
            let run = client::get(server.address(), "/api/v1/tickets/1", &token, 8, round)?;
            let cpu_used = server.cpu_seconds()? - cpu_before;
            rates[which].push(run.per_second());
            cpu[which].push(cpu_used / run.answered.max(1) as f64 * 1e6);
        }
    }
    let variants = |build: usize| -> Variants {
        [0, 1, 2].map(|variant| {
            let which = build * 3 + variant;
            Variant {
                requests_per_second: median(&rates[which]),
                cpu_micros_per_request: median(&cpu[which]),
            }
        })
    };
    Ok(Measured {
        current: variants(0),
        baseline: baseline.map(|binary| (binary.to_path_buf(), variants(1))),
    })
}

/// The rows of one build's variants in a `| measurement | median |` table,
/// each name prefixed with `build` (empty for this tree).
pub fn print_rows(build: &str, variants: &Variants) {
    let [logged, unlogged, bare] = *variants;
    for (name, variant) in [
        ("with request ids, log lines and metrics", logged),
        (
            "with request ids and metrics, log lines off (`RUST_LOG=warn`)",
            unlogged,
        ),
        ("with none of them (`HTTP_INSTRUMENTATION=off`)", bare),
    ] {
        println!(
            "| {build}GET /tickets/1, 8 connections, {name} | {:.0} requests/s, {:.1} µs server CPU each |",
            variant.requests_per_second, variant.cpu_micros_per_request
        );
    }
    println!(
        "| {build}throughput kept, with / without log lines | {:.1} % / {:.1} % |",
        logged.requests_per_second / bare.requests_per_second * 100.0,
        unlogged.requests_per_second / bare.requests_per_second * 100.0
    );
    println!(
        "| {build}throughput with log lines / without them (`RUST_LOG=warn`) | {:.1} % |",
        logged.requests_per_second / unlogged.requests_per_second * 100.0
    );
    println!(
        "| {build}server CPU per request, with / without log lines, against none | {:.2}x / {:.2}x |",
        logged.cpu_micros_per_request / bare.cpu_micros_per_request,
        unlogged.cpu_micros_per_request / bare.cpu_micros_per_request
    );
}

/// `--only instrumentation`'s table: this tree, then the baseline build.
pub fn print(measured: &Measured) {
    println!("| measurement | median |");
    println!("|---|---|");
    print_rows("", &measured.current);
    if let Some((binary, variants)) = &measured.baseline {
        println!("| baseline build | `{}` |", binary.display());
        print_rows("baseline: ", variants);
    }
}
