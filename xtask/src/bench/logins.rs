//! The bench's login flood: reads of one ticket alone, then while other
//! clients send logins as fast as they are answered, on a server without
//! its per-address login limit; how well the server bounds its Argon2 work,
//! and its memory.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::client::{self, Tally};
use super::machine::cpu_seconds;
use super::server::{AGENT, Server};
use super::stats::{count_by_status, median};

/// Clients reading one ticket in the login flood, idle or not.
const FLOOD_READERS: usize = 8;
/// Clients sending logins in the login flood.
const FLOODERS: usize = 16;
/// What the readers read; the seeded agent may read every ticket.
const FLOOD_TICKET: &str = "/api/v1/tickets/1";
/// The logins start this long before the readers, so the readers meet a
/// flood in full swing.
const FLOOD_LEAD_IN: Duration = Duration::from_millis(500);
/// A pause after each flood, so hashes still running do not count against
/// the next idle phase.
const FLOOD_SETTLE: Duration = Duration::from_secs(1);
/// When the server's resting RSS is read after the last flood.
const RSS_SETTLE: Duration = Duration::from_secs(5);
/// Targets for the flood, checked and reported, never failed on.
const TARGET_P99_RATIO: f64 = 3.0;
const TARGET_RPS_RATIO: f64 = 0.5;
const TARGET_PEAK_RSS_MIB: f64 = 200.0;

/// One kind of phase of the login flood, over its rounds.
#[derive(Debug, Default)]
struct Rounds {
    /// Per round: answers per second (for reads: 200s only).
    per_second: Vec<f64>,
    /// Per status, per round: latency p50 and p99 in seconds.
    p50: BTreeMap<u16, Vec<f64>>,
    p99: BTreeMap<u16, Vec<f64>>,
    /// Every answer of every round, by status.
    statuses: BTreeMap<u16, u64>,
    /// Per round: CPU cores kept busy by the server and by this process
    /// (the load generator), for phases of reads.
    server_cores: Vec<f64>,
    loader_cores: Vec<f64>,
    /// The rounds' time together.
    seconds: f64,
    first_error: Option<String>,
}

impl Rounds {
    fn add(&mut self, tally: Tally, per_second: f64) {
        self.per_second.push(per_second);
        for &status in tally.latencies.keys() {
            for (q, quantiles) in [(0.50, &mut self.p50), (0.99, &mut self.p99)] {
                if let Some(latency) = tally.latency_quantile(status, q) {
                    let latency = latency.as_secs_f64();
                    quantiles.entry(status).or_default().push(latency);
                }
            }
        }
        self.seconds += tally.seconds;
        for (status, count) in tally.statuses {
            *self.statuses.entry(status).or_default() += count;
        }
        if self.first_error.is_none() {
            self.first_error = tally.first_error;
        }
    }

    /// The median p50 and p99 latency of answers with `status`, in
    /// milliseconds; NaN without any.
    fn latency_ms(&self, status: u16) -> (f64, f64) {
        let ms = |quantiles: &BTreeMap<u16, Vec<f64>>| {
            quantiles
                .get(&status)
                .map_or(f64::NAN, |rounds| median(rounds) * 1e3)
        };
        (ms(&self.p50), ms(&self.p99))
    }

    /// Answers other than 200.
    fn not_ok(&self) -> BTreeMap<u16, u64> {
        let mut statuses = self.statuses.clone();
        statuses.remove(&200);
        statuses
    }
}

/// What the login flood measured.
#[derive(Debug)]
pub struct LoginFlood {
    /// Argon2 workers of the server.
    workers: usize,
    /// Rounds, each one phase of each kind.
    rounds: usize,
    /// Each phase's length.
    phase: Duration,
    /// Reads with nothing else going on.
    idle: Rounds,
    /// Reads while the logins flood in.
    flood: Rounds,
    /// The logins themselves.
    logins: Rounds,
    rss_before_kib: u64,
    /// `VmHWM` after the last flood: the most the server ever held.
    peak_rss_kib: u64,
    /// `VmRSS` a while after the last flood.
    rss_after_kib: u64,
}

/// Reads of one ticket with nothing else going on, and the same reads while
/// other clients send logins as fast as they are answered, on a server
/// without its per-address login budgets (`ADDRESS_RATE_LIMIT=0`,
/// `FAILED_LOGIN_LIMIT=0`): what is
/// measured is how well the server bounds its Argon2 work. The logins are of
/// unknown usernames, each another, so no username lock answers them early;
/// any answer to a login counts. Phases alternate, idle then flood, for
/// `rounds` rounds.
pub fn measure(
    root: &Path,
    db: &Path,
    phase: Duration,
    rounds: usize,
    workers: usize,
) -> anyhow::Result<LoginFlood> {
    println!(
        "login flood, {workers} Argon2 workers: {rounds} rounds of {} s reads alone and {} s reads during logins ...",
        phase.as_secs(),
        phase.as_secs()
    );
    let workers_setting = workers.to_string();
    let env = [
        ("ADDRESS_RATE_LIMIT", "0"),
        ("FAILED_LOGIN_LIMIT", "0"),
        ("ARGON2_WORKERS", workers_setting.as_str()),
    ];
    let server = Server::start(root, db, &env)?;
    let token = server.login_token(AGENT)?;
    let address = server.address();
    let read = client::get_request(address, FLOOD_TICKET, &token);
    let first = client::once(address, &read, false)?;
    anyhow::ensure!(
        first.status == 200,
        "the flood's readers cannot read {FLOOD_TICKET}: answered {}",
        first.status
    );
    let rss_before_kib = server.memory_kib("VmRSS")?;

    let readers = client::Clients {
        connections: FLOOD_READERS,
        request: &|buffer| buffer.extend_from_slice(&read),
        record_latencies: true,
    };
    let next_user = AtomicU64::new(0);
    let login = |buffer: &mut Vec<u8>| {
        let user = next_user.fetch_add(1, Ordering::Relaxed);
        let body = format!(r#"{{"username":"nosuchuser{user}","pin":"1234"}}"#);
        buffer.extend_from_slice(&client::post_json_request(
            address,
            "/api/v1/login",
            None,
            &body,
        ));
    };
    let flooders = client::Clients {
        connections: FLOODERS,
        request: &login,
        record_latencies: true,
    };

    let mut idle = Rounds::default();
    let mut flood = Rounds::default();
    let mut logins = Rounds::default();
    for round in 0..rounds {
        let cpu_before = CpuMark::now(&server)?;
        let reads = client::run(address, &readers, Instant::now() + phase)?;
        let per_second = reads.per_second(200);
        idle.add(reads, per_second);
        cpu_before.record_since(&server, &mut idle)?;

        let cpu_before = CpuMark::now(&server)?;
        let until = Instant::now() + FLOOD_LEAD_IN + phase;
        let (reads, flooded) = std::thread::scope(|scope| {
            let flooding = scope.spawn(|| client::run(address, &flooders, until));
            std::thread::sleep(FLOOD_LEAD_IN);
            let reads = client::run(address, &readers, until);
            let flooded = flooding
                .join()
                .map_err(|_| anyhow::anyhow!("the login flood panicked"))?;
            anyhow::Ok((reads?, flooded?))
        })?;
        let per_second = reads.per_second(200);
        flood.add(reads, per_second);
        cpu_before.record_since(&server, &mut flood)?;
        let per_second = flooded.total() as f64 / flooded.seconds;
        logins.add(flooded, per_second);
        if round + 1 < rounds {
            std::thread::sleep(FLOOD_SETTLE);
        }
    }
    let peak_rss_kib = server.memory_kib("VmHWM")?;
    std::thread::sleep(RSS_SETTLE);
    let rss_after_kib = server.memory_kib("VmRSS")?;
    Ok(LoginFlood {
        workers,
        rounds,
        phase,
        idle,
        flood,
        logins,
        rss_before_kib,
        peak_rss_kib,
        rss_after_kib,
    })
}

/// A moment, with the server's and this process's (the load generator's)
/// CPU seconds so far: to tell which of them kept the cores busy.
#[derive(Debug, Clone, Copy)]
struct CpuMark {
    when: Instant,
    server: f64,
    own: f64,
}

impl CpuMark {
    fn now(server: &Server) -> anyhow::Result<Self> {
        Ok(CpuMark {
            when: Instant::now(),
            server: server.cpu_seconds()?,
            own: cpu_seconds("self")?,
        })
    }

    /// Adds the cores the server and this process kept busy since this mark
    /// to `rounds`.
    fn record_since(self, server: &Server, rounds: &mut Rounds) -> anyhow::Result<()> {
        let now = CpuMark::now(server)?;
        let seconds = (now.when - self.when).as_secs_f64();
        rounds
            .server_cores
            .push((now.server - self.server) / seconds);
        rounds.loader_cores.push((now.own - self.own) / seconds);
        Ok(())
    }
}

pub fn print(flood: &LoginFlood) {
    let LoginFlood {
        workers,
        rounds,
        phase,
        idle,
        flood: flooded,
        logins,
        ..
    } = flood;
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!();
    println!(
        "login flood (`ADDRESS_RATE_LIMIT=0`, `FAILED_LOGIN_LIMIT=0`, `ARGON2_WORKERS={workers}`): {FLOOD_READERS} clients `GET {FLOOD_TICKET}`, \
         alone and while {FLOODERS} clients `POST /api/v1/login` with unknown usernames; \
         medians of {rounds} rounds of {} s per phase",
        phase.as_secs()
    );
    println!(
        "| reads | 200s per second | p50 of 200s | p99 of 200s | answers other than 200 \
         | CPU cores busy, server / load generator |"
    );
    println!("|---|---|---|---|---|---|");
    for (name, rounds) in [("idle", idle), ("during the flood", flooded)] {
        let (p50, p99) = rounds.latency_ms(200);
        println!(
            "| {name} | {:.0} | {p50:.2} ms | {p99:.2} ms | {} | {:.2} / {:.2} |",
            median(&rounds.per_second),
            count_by_status(&rounds.not_ok()),
            median(&rounds.server_cores),
            median(&rounds.loader_cores),
        );
    }
    let rps_ratio = median(&flooded.per_second) / median(&idle.per_second);
    let (idle_p50, idle_p99) = idle.latency_ms(200);
    let (flood_p50, flood_p99) = flooded.latency_ms(200);
    let p50_ratio = flood_p50 / idle_p50;
    let p99_ratio = flood_p99 / idle_p99;
    println!("| flood / idle | {rps_ratio:.2}x | {p50_ratio:.2}x | {p99_ratio:.2}x | | |");
    println!();
    println!("| login flood | result |");
    println!("|---|---|");
    println!(
        "| logins answered in {:.1} s, by status | {} ({:.0} per second) |",
        logins.seconds,
        count_by_status(&logins.statuses),
        median(&logins.per_second)
    );
    for &status in logins.p50.keys() {
        let (p50, p99) = logins.latency_ms(status);
        println!("| login answer time when {status}, p50 / p99 | {p50:.1} ms / {p99:.1} ms |");
    }
    println!(
        "| server RSS before / peak (`VmHWM`) / {} s after the last flood | {:.1} / {:.1} / {:.1} MiB |",
        RSS_SETTLE.as_secs(),
        mib(flood.rss_before_kib),
        mib(flood.peak_rss_kib),
        mib(flood.rss_after_kib)
    );
    for (what, rounds) in [("read", idle), ("read", flooded), ("login", logins)] {
        if let Some(error) = &rounds.first_error {
            println!("| first {what} without an answer | {error} |");
        }
    }
    println!();
    let verdict = |met: bool| if met { "MET" } else { "MISSED" };
    println!("| target | measured | verdict |");
    println!("|---|---|---|");
    println!(
        "| read p99 during the flood ≤ {TARGET_P99_RATIO}x idle | {p99_ratio:.3}x | {} |",
        verdict(p99_ratio <= TARGET_P99_RATIO)
    );
    println!(
        "| reads per second during the flood ≥ {TARGET_RPS_RATIO}x idle | {rps_ratio:.3}x | {} |",
        verdict(rps_ratio >= TARGET_RPS_RATIO)
    );
    println!(
        "| server peak RSS < {TARGET_PEAK_RSS_MIB:.0} MiB | {:.1} MiB | {} |",
        mib(flood.peak_rss_kib),
        verdict(mib(flood.peak_rss_kib) < TARGET_PEAK_RSS_MIB)
    );
}
