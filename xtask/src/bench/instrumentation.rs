//! What the server's instrumentation costs: get-ticket load on servers
//! with and without their log lines, request ids and metrics.

use std::path::Path;
use std::time::Duration;

use super::client;
use super::server::Server;
use super::stats::median;

/// How one server variant did under the same load.
#[derive(Debug, Clone, Copy)]
pub struct Variant {
    pub requests_per_second: f64,
    /// The server's own CPU time per request (user + system): steadier than
    /// throughput on a shared machine, where the load generator competes
    /// for the same cores.
    pub cpu_micros_per_request: f64,
}

/// Get-ticket load on a server with its request ids, log lines (at the
/// default `info`, written to a discarded stdout) and metrics; on one
/// without the log lines; and on one without any of them. Medians of
/// interleaved rounds, so drift hits every variant alike.
pub fn measure(root: &Path, db: &Path, token: &str) -> anyhow::Result<[Variant; 3]> {
    const ROUNDS: usize = 5;
    let servers = [
        Server::start(root, db, &[("RUST_LOG", "info")])?,
        Server::start(root, db, &[("RUST_LOG", "warn")])?,
        Server::start(root, db, &[("HTTP_INSTRUMENTATION", "off")])?,
    ];
    let round = Duration::from_secs(4);
    let mut rates = [Vec::new(), Vec::new(), Vec::new()];
    let mut cpu = [Vec::new(), Vec::new(), Vec::new()];
    for round_number in 0..ROUNDS {
        // Each round starts with another server, so no variant always runs
        // first (or last) in a round.
        for offset in 0..servers.len() {
            let which = (round_number + offset) % servers.len();
            let server = &servers[which];
            let cpu_before = server.cpu_seconds()?;
            let run = client::get(server.address(), "/api/v1/tickets/1", token, 8, round)?;
            let cpu_used = server.cpu_seconds()? - cpu_before;
            rates[which].push(run.per_second());
            cpu[which].push(cpu_used / run.answered.max(1) as f64 * 1e6);
        }
    }
    Ok([0, 1, 2].map(|which| Variant {
        requests_per_second: median(&rates[which]),
        cpu_micros_per_request: median(&cpu[which]),
    }))
}
