//! The bench's figures over rounds: medians, nearest-rank quantiles, a
//! load run's rounds ([`Spread`]) and the answers other than a success.

use std::collections::BTreeMap;
use std::time::Duration;

use super::client::{NO_ANSWER, Tally};

pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

/// A duration in milliseconds, for the tables.
pub fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// The `q` quantile of sorted latencies, by nearest rank.
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.clamp(1, sorted.len().max(1)) - 1)
        .copied()
        .unwrap_or_default()
}

/// `401: 12, 503: 3400`, or `none`.
pub fn count_by_status(statuses: &BTreeMap<u16, u64>) -> String {
    if statuses.is_empty() {
        return "none".to_owned();
    }
    statuses
        .iter()
        .map(|(&status, count)| match status {
            NO_ANSWER => format!("no answer: {count}"),
            status => format!("{status}: {count}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One workload on one number of processes (or one endpoint on one server
/// of the list section), over the rounds.
#[derive(Debug, Default)]
pub struct Spread {
    /// Per round: successes per second.
    pub per_second: Vec<f64>,
    /// Per round: latency of the successes, p50 and p99, in seconds.
    pub p50: Vec<f64>,
    pub p99: Vec<f64>,
    /// Per round: the server processes' CPU time together per success, in µs.
    pub server_cpu_micros: Vec<f64>,
    /// Per round: cores busy machine-wide (servers, PostgreSQL and the load
    /// generator).
    pub machine_cores: Vec<f64>,
    /// Answers other than a success, all rounds.
    pub others: BTreeMap<u16, u64>,
    pub first_error: Option<String>,
}

impl Spread {
    /// One round's `tally`, of which answers with `success` are the
    /// successes.
    pub fn add(&mut self, success: u16, tally: Tally, server_cpu: f64, cores: f64) {
        let successes = tally.count(success);
        self.per_second.push(tally.per_second(success));
        for (q, quantiles) in [(0.50, &mut self.p50), (0.99, &mut self.p99)] {
            if let Some(latency) = tally.latency_quantile(success, q) {
                quantiles.push(latency.as_secs_f64());
            }
        }
        self.server_cpu_micros
            .push(server_cpu / successes.max(1) as f64 * 1e6);
        self.machine_cores.push(cores);
        for (status, count) in tally.statuses {
            if status != success {
                *self.others.entry(status).or_default() += count;
            }
        }
        if self.first_error.is_none() {
            self.first_error = tally.first_error;
        }
    }
}
