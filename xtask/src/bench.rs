//! `cargo xtask bench`: seeds a fresh SQLite database, runs the release
//! server on it and measures what the contract cares about: seeding speed,
//! the streamed report's time and the server's peak memory (against
//! `sqlite3 -csv` on the same query), list and login latency, what
//! instrumentation costs, and how reads and memory hold up under a flood of
//! logins; then, on a throwaway PostgreSQL, reads and writes spread over 1,
//! 2 and 3 server processes sharing the database; full-text search and the
//! SLA breach filter on a large seed, on each engine (`search_bench`); and
//! on those seeds, list pages and writes against a bare baseline server and
//! a deep cursor page against page 1 (`list_bench`); and on those seeds
//! too, every web page's latency under a few clients (`web_bench`).
//! It prints medians and checks a few targets, but it fails on none, so a
//! busy machine cannot make it flaky.

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use domain::{Actor, Role};
use store::{DatabaseUrl, Store, StoreOptions};

use crate::load;

/// `/proc` counts CPU time in clock ticks; Linux's USER_HZ is 100.
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;
/// The seeded agent, who may read every ticket.
pub(crate) const AGENT: &str = "benjamin";

/// What to measure with.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Tickets to seed before measuring.
    #[arg(long, default_value_t = 200_000)]
    tickets: u64,
    /// Repetitions of each timed request; the median is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Seconds of each phase of the login flood (reads alone, then reads
    /// during a flood of logins); 0 skips the login flood.
    #[arg(long, default_value_t = 4)]
    flood_seconds: u64,
    /// Rounds of the login flood, each one phase of each kind; the median is
    /// reported.
    #[arg(long, default_value_t = 3)]
    flood_rounds: usize,
    /// Seconds of each measurement of 1, 2 and 3 server processes sharing
    /// one throwaway PostgreSQL database; 0 skips that section.
    #[arg(long, default_value_t = 2)]
    processes_seconds: u64,
    /// Rounds of that section, each measuring every process count; the
    /// median is reported.
    #[arg(long, default_value_t = 3)]
    processes_rounds: usize,
    /// The search and SLA breach section.
    #[command(flatten)]
    search: crate::search_bench::SearchArgs,
    /// The list section, on the search section's databases.
    #[command(flatten)]
    list: crate::list_bench::ListArgs,
    /// The web pages section, on the search section's databases.
    #[command(flatten)]
    web: crate::web_bench::WebArgs,
}

pub fn run(root: &Path, args: &BenchArgs) -> anyhow::Result<()> {
    ensure!(args.runs > 0, "--runs must be positive");
    ensure!(args.flood_rounds > 0, "--flood-rounds must be positive");
    ensure!(
        args.processes_rounds > 0,
        "--processes-rounds must be positive"
    );
    args.list.check()?;
    args.web.check()?;
    println!("building the release server ...");
    build_release(root, &["-p", "api"])?;
    if args.list.compares() {
        println!("building the list section's baseline server ...");
        build_release(
            root,
            &["-p", "xtask", "--bin", crate::list_bench::BASELINE_BINARY],
        )?;
    }

    let dir = std::env::temp_dir().join(format!("tracker-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = measure(root, &dir, args);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// `cargo build --release` of `package_and_target` (`-p api`, say).
fn build_release(root: &Path, package_and_target: &[&str]) -> anyhow::Result<()> {
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .current_dir(root)
        .args(["build", "--release", "--quiet"])
        .args(package_and_target)
        .status()?;
    ensure!(
        status.success(),
        "cargo build --release {} failed",
        package_and_target.join(" ")
    );
    Ok(())
}

fn measure(root: &Path, dir: &Path, args: &BenchArgs) -> anyhow::Result<()> {
    // First, so that a machine without PostgreSQL fails before the long
    // SQLite part rather than after it.
    let processes = if args.processes_seconds > 0 {
        Some(processes_on_postgres(root, args)?)
    } else {
        None
    };
    let mut lists = crate::list_bench::ListSection::new(root, &args.list);
    let mut web = crate::web_bench::WebSection::new(root, &args.web);
    let search = crate::search_bench::measure(root, dir, &args.search, &mut |seeded| {
        // The pages first: they only read, on the tickets as seeded; the
        // list section's writes add tickets.
        web.on_seeded(seeded)?;
        lists.on_seeded(seeded)
    })?;
    let db_path = dir.join("bench.db");
    let url = DatabaseUrl::Sqlite(db_path.clone());
    let store = Store::connect(&url, StoreOptions::default())?;
    let started = Instant::now();
    let agent = crate::seed::seed_tickets(&store, args.tickets, 42)?;
    let seed_secs = started.elapsed().as_secs_f64();
    // The report's own query, for the `sqlite3` shell to run as text.
    let reader = Actor::for_tests(agent, Role::SupportAgent);
    let report_sql = store.open_resolved_report(reader)?.sqlite_sql();
    drop(store);

    let server = Server::start(root, &db_path, &[])?;
    let token = server.login_token(AGENT)?;
    let baseline_rss = server.memory_kib("VmRSS")?;

    let report_url = server.url("/api/v1/tickets/resolved-report");
    let mut report = Vec::new();
    let mut report_bytes = 0;
    for _ in 0..args.runs {
        let (seconds, bytes) = curl_timed(&report_url, Some(&token))?;
        report.push(seconds);
        report_bytes = bytes;
    }
    let peak_rss = server.memory_kib("VmHWM")?;

    let list_latency = |query: &str| -> anyhow::Result<f64> {
        let url = server.url(&format!("/api/v1/tickets?{query}"));
        let times: Vec<f64> = (0..args.runs * 10)
            .map(|_| curl_timed(&url, Some(&token)).map(|(s, _)| s))
            .collect::<anyhow::Result<_>>()?;
        Ok(median(&times))
    };
    let list_by_id = list_latency("page=50&limit=20")?;
    let list_by_creation = list_latency("page=50&limit=20&sort=createdAt&direction=desc")?;
    let login: Vec<f64> = (0..args.runs)
        .map(|_| server.login_seconds())
        .collect::<anyhow::Result<_>>()?;
    let clean_exit = server.stop()?;
    let [logged, unlogged, bare] = instrumentation_cost(root, &db_path, &token)?;

    let (sqlite_secs, sqlite_rss) = sqlite3_report(&db_path, &report_sql, args.runs)?;
    // The default (one hashing thread per two cores) against one per core.
    let worker_counts = [(cores() / 2).max(1), cores()];
    let mut floods = Vec::new();
    if args.flood_seconds > 0 {
        for workers in worker_counts {
            println!(
                "login flood, {workers} Argon2 workers: {} rounds of {} s reads alone and {} s reads during logins ...",
                args.flood_rounds, args.flood_seconds, args.flood_seconds
            );
            let flood = login_flood(
                root,
                &db_path,
                Duration::from_secs(args.flood_seconds),
                args.flood_rounds,
                workers,
            )?;
            floods.push((workers, flood));
        }
    }

    println!();
    println!("machine: {} cores, {}", cores(), cpu_model());
    println!("| measurement | median |");
    println!("|---|---|");
    println!(
        "| seed {} tickets (with replies, notes, tags and history) | {:.1} s ({:.0} tickets/s) |",
        args.tickets,
        seed_secs,
        args.tickets as f64 / seed_secs
    );
    println!(
        "| report over HTTP, {:.1} MB CSV | {:.3} s |",
        report_bytes as f64 / 1e6,
        median(&report)
    );
    println!("| `sqlite3 -csv`, same query | {:.3} s |", sqlite_secs);
    println!(
        "| report / sqlite3 time ratio | {:.2} |",
        median(&report) / sqlite_secs
    );
    println!(
        "| server RSS before the report | {:.1} MB |",
        baseline_rss as f64 / 1024.0
    );
    println!(
        "| server peak RSS after {} reports | {:.1} MB |",
        args.runs,
        peak_rss as f64 / 1024.0
    );
    match sqlite_rss {
        Some(kib) => println!(
            "| `sqlite3 -csv` peak RSS | {:.1} MB |",
            kib as f64 / 1024.0
        ),
        None => println!("| `sqlite3 -csv` peak RSS | (no /usr/bin/time) |"),
    }
    println!(
        "| GET /tickets page 50 of 20, by ticketId | {:.2} ms |",
        list_by_id * 1e3
    );
    println!(
        "| GET /tickets page 50 of 20, by createdAt desc | {:.2} ms |",
        list_by_creation * 1e3
    );
    println!(
        "| POST /login (Argon2id) | {:.1} ms |",
        median(&login) * 1e3
    );
    for (name, variant) in [
        ("with request ids, log lines and metrics", logged),
        (
            "with request ids and metrics, log lines off (`RUST_LOG=warn`)",
            unlogged,
        ),
        ("with none of them (`HTTP_INSTRUMENTATION=off`)", bare),
    ] {
        println!(
            "| GET /tickets/1, 8 connections, {name} | {:.0} requests/s, {:.1} µs server CPU each |",
            variant.requests_per_second, variant.cpu_micros_per_request
        );
    }
    println!(
        "| throughput kept, with / without log lines | {:.1} % / {:.1} % |",
        logged.requests_per_second / bare.requests_per_second * 100.0,
        unlogged.requests_per_second / bare.requests_per_second * 100.0
    );
    println!(
        "| server CPU per request, with / without log lines, against none | {:.2}x / {:.2}x |",
        logged.cpu_micros_per_request / bare.cpu_micros_per_request,
        unlogged.cpu_micros_per_request / bare.cpu_micros_per_request
    );
    println!(
        "| exit status after SIGTERM | {} |",
        if clean_exit { "0" } else { "non-zero" }
    );
    for (workers, flood) in &floods {
        print_login_flood(flood, *workers, args);
    }
    if let Some(processes) = &processes {
        print_processes(processes, args);
    }
    crate::search_bench::print(&search, &args.search);
    lists.print();
    web.print();
    Ok(())
}

/// How one server variant did under the same load.
#[derive(Debug, Clone, Copy)]
struct Variant {
    requests_per_second: f64,
    /// The server's own CPU time per request (user + system): steadier than
    /// throughput on a shared machine, where the load generator competes
    /// for the same cores.
    cpu_micros_per_request: f64,
}

/// Get-ticket load on a server with its request ids, log lines (at the
/// default `info`, written to a discarded stdout) and metrics; on one
/// without the log lines; and on one without any of them. Medians of
/// interleaved rounds, so drift hits every variant alike.
fn instrumentation_cost(root: &Path, db: &Path, token: &str) -> anyhow::Result<[Variant; 3]> {
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
            let run = load::get(server.address, "/api/v1/tickets/1", token, 8, round)?;
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
    fn add(&mut self, tally: load::Tally, per_second: f64) {
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
struct LoginFlood {
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
/// without its per-address login limit (`ADDRESS_RATE_LIMIT=0`): what is
/// measured is how well the server bounds its Argon2 work. The logins are of
/// unknown usernames, each another, so no username lock answers them early;
/// any answer to a login counts. Phases alternate, idle then flood, for
/// `rounds` rounds.
fn login_flood(
    root: &Path,
    db: &Path,
    phase: Duration,
    rounds: usize,
    workers: usize,
) -> anyhow::Result<LoginFlood> {
    let workers = workers.to_string();
    let env = [
        ("ADDRESS_RATE_LIMIT", "0"),
        ("ARGON2_WORKERS", workers.as_str()),
    ];
    let server = Server::start(root, db, &env)?;
    let token = server.login_token(AGENT)?;
    curl_timed(&server.url(FLOOD_TICKET), Some(&token))
        .with_context(|| format!("the flood's readers cannot read {FLOOD_TICKET}"))?;
    let rss_before_kib = server.memory_kib("VmRSS")?;

    let read = load::get_request(server.address, FLOOD_TICKET, &token);
    let readers = load::Clients {
        connections: FLOOD_READERS,
        request: &|buffer| buffer.extend_from_slice(&read),
        record_latencies: true,
    };
    let next_user = AtomicU64::new(0);
    let login = |buffer: &mut Vec<u8>| {
        let user = next_user.fetch_add(1, Ordering::Relaxed);
        let body = format!(r#"{{"username":"nosuchuser{user}","pin":"1234"}}"#);
        buffer.extend_from_slice(&load::post_json_request(
            server.address,
            "/api/v1/login",
            None,
            &body,
        ));
    };
    let flooders = load::Clients {
        connections: FLOODERS,
        request: &login,
        record_latencies: true,
    };

    let mut idle = Rounds::default();
    let mut flood = Rounds::default();
    let mut logins = Rounds::default();
    for round in 0..rounds {
        let cpu_before = CpuMark::now(&server)?;
        let reads = load::run(server.address, &readers, Instant::now() + phase)?;
        let per_second = reads.per_second(200);
        idle.add(reads, per_second);
        cpu_before.record_since(&server, &mut idle)?;

        let cpu_before = CpuMark::now(&server)?;
        let until = Instant::now() + FLOOD_LEAD_IN + phase;
        let (reads, flooded) = std::thread::scope(|scope| {
            let flooding = scope.spawn(|| load::run(server.address, &flooders, until));
            std::thread::sleep(FLOOD_LEAD_IN);
            let reads = load::run(server.address, &readers, until);
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

fn print_login_flood(flood: &LoginFlood, workers: usize, args: &BenchArgs) {
    let LoginFlood {
        idle,
        flood: flooded,
        logins,
        ..
    } = flood;
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!();
    println!(
        "login flood (`ADDRESS_RATE_LIMIT=0`, `ARGON2_WORKERS={workers}`): {FLOOD_READERS} clients `GET {FLOOD_TICKET}`, \
         alone and while {FLOODERS} clients `POST /api/v1/login` with unknown usernames; \
         medians of {} rounds of {} s per phase",
        args.flood_rounds, args.flood_seconds
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

/// A seeded customer, whose own first page of tickets is the list read.
pub(crate) const LIST_READER: &str = "kayode";
/// A seeded customer who opens the tickets of the write load, so the list
/// reader's page and count stay as seeded.
pub(crate) const WRITER: &str = "customer-20";
/// How many server processes share the database, in turn.
const PROCESS_COUNTS: [usize; 3] = [1, 2, 3];
/// Clients of the processes section; divisible by every process count, so
/// each process gets the same share.
const SPREAD_CONNECTIONS: usize = 6;
/// At most this many tickets are seeded for the processes section (see
/// [`processes_on_postgres`]).
const SPREAD_MAX_TICKETS: u64 = 50_000;
/// Unmeasured load before each measurement, while fresh processes open
/// their pools' connections.
const SPREAD_WARM_UP: Duration = Duration::from_millis(300);

/// What the processes section sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Workload {
    ReadTicket,
    ListPage,
    CreateTicket,
    ReplyTicket,
    PatchTicket,
}

impl Workload {
    const ALL: [Workload; 5] = [
        Workload::ReadTicket,
        Workload::ListPage,
        Workload::CreateTicket,
        Workload::ReplyTicket,
        Workload::PatchTicket,
    ];

    fn label(self) -> &'static str {
        match self {
            Workload::ReadTicket => "`GET /tickets/:id` (agent, seeded tickets in turn)",
            Workload::ListPage => "`GET /tickets?limit=20` (a customer's first page)",
            Workload::CreateTicket => "`POST /tickets` (a customer)",
            Workload::ReplyTicket => "`POST /tickets/:id/replies` (agent, open tickets in turn)",
            Workload::PatchTicket => {
                "`PATCH /tickets/:id` (agent: priority and tags, open tickets in turn)"
            }
        }
    }

    /// The status of a success, the only answers counted as throughput.
    fn success(self) -> u16 {
        match self {
            Workload::ReadTicket | Workload::ListPage | Workload::PatchTicket => 200,
            Workload::CreateTicket | Workload::ReplyTicket => 201,
        }
    }
}

/// One workload on one number of processes (or one endpoint on one server
/// of the list section), over the rounds.
#[derive(Debug, Default)]
pub(crate) struct Spread {
    /// Per round: successes per second.
    pub(crate) per_second: Vec<f64>,
    /// Per round: latency of the successes, p50 and p99, in seconds.
    p50: Vec<f64>,
    pub(crate) p99: Vec<f64>,
    /// Per round: the server processes' CPU time together per success, in µs.
    pub(crate) server_cpu_micros: Vec<f64>,
    /// Per round: cores busy machine-wide (servers, PostgreSQL and the load
    /// generator).
    machine_cores: Vec<f64>,
    /// Answers other than a success, all rounds.
    pub(crate) others: BTreeMap<u16, u64>,
    pub(crate) first_error: Option<String>,
}

/// What the processes section measured.
#[derive(Debug)]
struct Processes {
    tickets: u64,
    seed_secs: f64,
    /// The whole section, the cluster's start and the seeding included.
    section_secs: f64,
    spreads: BTreeMap<(Workload, usize), Spread>,
}

/// Seeds a throwaway PostgreSQL cluster, then for 1, 2 and 3 release server
/// processes on that one database sends reads and writes from
/// [`SPREAD_CONNECTIONS`] clients spread evenly over the processes (a load
/// balancer's round robin), in rounds that rotate the order of the process
/// counts so drift hits each alike. Each measurement starts its processes
/// afresh and stops them after.
///
/// The seeded tickets are capped at [`SPREAD_MAX_TICKETS`]: what is compared
/// is the process count, and none of the three requests grows with the
/// table (an index lookup, an index-ordered page of one customer's tickets,
/// an insert), so a larger table would only lengthen the seeding.
fn processes_on_postgres(root: &Path, args: &BenchArgs) -> anyhow::Result<Processes> {
    let tickets = args.tickets.min(SPREAD_MAX_TICKETS);
    ensure!(tickets > 0, "the processes section needs --tickets above 0");
    let section_started = Instant::now();
    let cluster = crate::test_env::start_cluster()
        .context("no PostgreSQL for the processes section (`--processes-seconds 0` skips it)")?;
    let url = crate::test_env::cluster_url(&cluster);
    println!("processes on one PostgreSQL: seeding {tickets} tickets ...");
    let store = Store::connect(&DatabaseUrl::parse(&url)?, StoreOptions::default())?;
    let started = Instant::now();
    let agent_id = crate::seed::seed_tickets(&store, tickets, 42)?;
    let seed_secs = started.elapsed().as_secs_f64();
    let open_tickets = open_ticket_ids(&store, agent_id)?;
    drop(store);

    // The account write budget (per process) would soon refuse the writer.
    let env = [("ACCOUNT_WRITE_LIMIT", "0")];
    let [agent, reader, writer] = {
        let server = Server::start_on(root, &url, &env)?;
        [
            server.login_token(AGENT)?,
            server.login_token(LIST_READER)?,
            server.login_token(WRITER)?,
        ]
    };
    let phase = Duration::from_secs(args.processes_seconds);
    println!(
        "processes on one PostgreSQL: {} rounds of {} process counts x {} workloads x {} s ...",
        args.processes_rounds,
        PROCESS_COUNTS.len(),
        Workload::ALL.len(),
        args.processes_seconds
    );
    let mut spreads: BTreeMap<(Workload, usize), Spread> = BTreeMap::new();
    for round in 0..args.processes_rounds {
        for offset in 0..PROCESS_COUNTS.len() {
            let count = PROCESS_COUNTS[(round + offset) % PROCESS_COUNTS.len()];
            let servers: Vec<Server> = (0..count)
                .map(|_| Server::start_on(root, &url, &env))
                .collect::<anyhow::Result<_>>()?;
            let addresses: Vec<SocketAddr> = servers.iter().map(|s| s.address).collect();
            let host = addresses[0];
            let next_ticket = AtomicU64::new(0);
            let read_ticket = |buffer: &mut Vec<u8>| {
                // A stride through the seeded tickets, so reads are not all
                // of one cached row.
                let step = next_ticket.fetch_add(1, Ordering::Relaxed);
                let id = 1 + step.wrapping_mul(7_919) % tickets;
                let path = format!("/api/v1/tickets/{id}");
                buffer.extend_from_slice(&load::get_request(host, &path, &agent));
            };
            let list = load::get_request(host, "/api/v1/tickets?limit=20", &reader);
            let create = load::post_json_request(
                host,
                "/api/v1/tickets",
                Some(&writer),
                r#"{"subject":"Bench","body":"Opened by the bench's write load."}"#,
            );
            // Writes to existing tickets go round the open ones, so that
            // concurrent clients rarely wait for the same ticket's lock.
            let next_write = AtomicU64::new(0);
            let open_ticket = || {
                let step = next_write.fetch_add(1, Ordering::Relaxed);
                let index = usize::try_from(step).unwrap_or_default() % open_tickets.len();
                (open_tickets[index], step / open_tickets.len() as u64)
            };
            let reply = |buffer: &mut Vec<u8>| {
                let (id, _) = open_ticket();
                buffer.extend_from_slice(&load::post_json_request(
                    host,
                    &format!("/api/v1/tickets/{id}/replies"),
                    Some(&agent),
                    r#"{"body":"Thanks, we are looking into it."}"#,
                ));
            };
            let patch = |buffer: &mut Vec<u8>| {
                // Each visit to a ticket flips its priority and tags, so
                // every PATCH is a real change with its events.
                let (id, visit) = open_ticket();
                let body = if visit % 2 == 0 {
                    r#"{"priority":"HIGH","tags":["bench","billing"]}"#
                } else {
                    r#"{"priority":"LOW","tags":["bench"]}"#
                };
                let path = format!("/api/v1/tickets/{id}");
                buffer.extend_from_slice(&load::json_request(
                    "PATCH",
                    host,
                    &path,
                    Some(&agent),
                    body,
                ));
            };
            for workload in Workload::ALL {
                let request: &(dyn Fn(&mut Vec<u8>) + Sync) = match workload {
                    Workload::ReadTicket => &read_ticket,
                    Workload::ListPage => &|buffer| buffer.extend_from_slice(&list),
                    Workload::CreateTicket => &|buffer| buffer.extend_from_slice(&create),
                    Workload::ReplyTicket => &reply,
                    Workload::PatchTicket => &patch,
                };
                let clients = load::Clients {
                    connections: SPREAD_CONNECTIONS,
                    request,
                    record_latencies: true,
                };
                load::run_spread(&addresses, &clients, Instant::now() + SPREAD_WARM_UP)?;
                let (server_cpu, machine) = (servers_cpu_seconds(&servers)?, MachineCpu::now()?);
                let tally = load::run_spread(&addresses, &clients, Instant::now() + phase)?;
                let server_cpu = servers_cpu_seconds(&servers)? - server_cpu;
                let machine_cores = machine.cores_busy_since()?;
                spreads.entry((workload, count)).or_default().add(
                    workload.success(),
                    tally,
                    server_cpu,
                    machine_cores,
                );
            }
        }
    }
    Ok(Processes {
        tickets,
        seed_secs,
        section_secs: section_started.elapsed().as_secs_f64(),
        spreads,
    })
}

/// Up to 200 unresolved tickets, for the reply and PATCH workloads.
fn open_ticket_ids(store: &Store, agent: domain::UserId) -> anyhow::Result<Vec<i64>> {
    let agent = Actor::for_tests(agent, Role::SupportAgent);
    let mut ids = Vec::new();
    for status in [
        domain::TicketStatus::Unattended,
        domain::TicketStatus::Replied,
    ] {
        let request = domain::ListTickets {
            status: Some(status),
            page: domain::PageRequest::new(1, 100)?,
            ..domain::ListTickets::default()
        };
        ids.extend(
            store
                .list_tickets(agent, &request)?
                .items
                .iter()
                .map(|t| t.id.0),
        );
    }
    ensure!(!ids.is_empty(), "the seed made no open ticket to write to");
    Ok(ids)
}

impl Spread {
    /// One round's `tally`, of which answers with `success` are the
    /// successes.
    pub(crate) fn add(&mut self, success: u16, tally: load::Tally, server_cpu: f64, cores: f64) {
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

/// The CPU time of `servers` together.
fn servers_cpu_seconds(servers: &[Server]) -> anyhow::Result<f64> {
    servers.iter().map(Server::cpu_seconds).sum()
}

/// The machine's CPU time counters at one moment, from `/proc/stat`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MachineCpu {
    busy: f64,
    total: f64,
}

impl MachineCpu {
    pub(crate) fn now() -> anyhow::Result<Self> {
        let stat = std::fs::read_to_string("/proc/stat")?;
        let ticks: Vec<f64> = stat
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("cpu "))
            .context("/proc/stat has no cpu line")?
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()?;
        let total: f64 = ticks.iter().sum();
        // idle and iowait, the 4th and 5th fields, are the time not busy.
        let idle = ticks
            .get(3..5)
            .context("/proc/stat cpu fields")?
            .iter()
            .sum::<f64>();
        Ok(MachineCpu {
            busy: total - idle,
            total,
        })
    }

    /// How many cores were busy, on average, since this moment.
    pub(crate) fn cores_busy_since(self) -> anyhow::Result<f64> {
        let now = MachineCpu::now()?;
        let total = now.total - self.total;
        Ok(if total > 0.0 {
            (now.busy - self.busy) / total * cores() as f64
        } else {
            0.0
        })
    }
}

fn print_processes(processes: &Processes, args: &BenchArgs) {
    println!();
    println!(
        "processes on one PostgreSQL (a throwaway cluster: fsync and synchronous_commit off; \
         {} tickets seeded in {:.1} s; `ACCOUNT_WRITE_LIMIT=0`): {SPREAD_CONNECTIONS} clients \
         spread evenly over the processes; medians of {} rounds of {} s; {:.0} s in all",
        processes.tickets,
        processes.seed_secs,
        args.processes_rounds,
        args.processes_seconds,
        processes.section_secs
    );
    println!(
        "| workload | processes | requests/s | vs 1 process | p50 | p99 \
         | server CPU per request | cores busy (machine) | other answers |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for workload in Workload::ALL {
        let one = processes
            .spreads
            .get(&(workload, 1))
            .map_or(f64::NAN, |spread| median(&spread.per_second));
        for count in PROCESS_COUNTS {
            let Some(spread) = processes.spreads.get(&(workload, count)) else {
                continue;
            };
            let per_second = median(&spread.per_second);
            println!(
                "| {} | {count} | {per_second:.0} | {:.2}x | {:.2} ms | {:.2} ms | {:.1} µs | {:.2} | {} |",
                workload.label(),
                per_second / one,
                median(&spread.p50) * 1e3,
                median(&spread.p99) * 1e3,
                median(&spread.server_cpu_micros),
                median(&spread.machine_cores),
                count_by_status(&spread.others),
            );
        }
    }
    for ((workload, count), spread) in &processes.spreads {
        if let Some(error) = &spread.first_error {
            println!(
                "| first request without an answer, {} on {count} | {error} |",
                workload.label()
            );
        }
    }
}

/// `401: 12, 503: 3400`, or `none`.
pub(crate) fn count_by_status(statuses: &BTreeMap<u16, u64>) -> String {
    if statuses.is_empty() {
        return "none".to_owned();
    }
    statuses
        .iter()
        .map(|(&status, count)| match status {
            load::NO_ANSWER => format!("no answer: {count}"),
            status => format!("{status}: {count}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

/// One request with curl; its own timer excludes curl's start-up.
fn curl_timed(url: &str, token: Option<&str>) -> anyhow::Result<(f64, u64)> {
    let mut cmd = Command::new("curl");
    cmd.args([
        "-s",
        "-f",
        "-o",
        "/dev/null",
        "-w",
        "%{time_total} %{size_download}",
    ]);
    if let Some(token) = token {
        cmd.arg("-H").arg(format!("Authorization: Bearer {token}"));
    }
    let out = cmd.arg(url).output().context("running curl")?;
    ensure!(out.status.success(), "curl {url} failed: {}", out.status);
    let text = String::from_utf8_lossy(&out.stdout);
    let mut fields = text.split_whitespace();
    let seconds = fields
        .next()
        .and_then(|s| s.parse().ok())
        .context("curl time")?;
    let bytes = fields
        .next()
        .and_then(|s| s.parse().ok())
        .context("curl size")?;
    Ok((seconds, bytes))
}

/// The same rows as the report, from the same SQL, straight from the
/// `sqlite3` shell.
fn sqlite3_report(db: &Path, sql: &str, runs: usize) -> anyhow::Result<(f64, Option<u64>)> {
    let gnu_time = Path::new("/usr/bin/time").exists();
    let mut times = Vec::new();
    let mut peak = None;
    for _ in 0..runs {
        let mut cmd = if gnu_time {
            let mut cmd = Command::new("/usr/bin/time");
            cmd.args(["-f", "%M", "sqlite3"]);
            cmd
        } else {
            Command::new("sqlite3")
        };
        cmd.arg("-csv").arg(db).arg(sql).stdout(Stdio::null());
        let started = Instant::now();
        let out = cmd.output().context("running sqlite3")?;
        times.push(started.elapsed().as_secs_f64());
        ensure!(
            out.status.success(),
            "sqlite3 failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if gnu_time {
            peak = String::from_utf8_lossy(&out.stderr)
                .trim()
                .lines()
                .last()
                .and_then(|l| l.parse().ok());
        }
    }
    Ok((median(&times), peak))
}

/// The release server on the benchmark database.
pub(crate) struct Server {
    child: Child,
    pub(crate) address: SocketAddr,
}

impl Server {
    /// The server on the SQLite file `db`.
    pub(crate) fn start(root: &Path, db: &Path, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        Self::start_on(root, &format!("sqlite://{}", db.display()), env)
    }

    /// The server on `database_url`.
    pub(crate) fn start_on(
        root: &Path,
        database_url: &str,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        Self::start_binary(root, "api", database_url, env)
    }

    /// The release build of `binary`, a server that reads `DATABASE_URL`,
    /// `HOST` and `PORT` as ours does, on `database_url`.
    pub(crate) fn start_binary(
        root: &Path,
        binary: &str,
        database_url: &str,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let binary: PathBuf = root.join("target/release").join(binary);
        let child = Command::new(&binary)
            .env("DATABASE_URL", database_url)
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("JWT_SECRET", "bench-secret-bench-secret-bench-secret")
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let server = Server { child, address };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(address).is_err() {
            if Instant::now() > deadline {
                bail!("the server did not start listening within 30 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(server)
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Logs a seeded user in (PIN `0000`): the time it took and the answer.
    fn login(&self, username: &str) -> anyhow::Result<(f64, String)> {
        let credentials = serde_json::json!({ "username": username, "pin": crate::seed::DEMO_PIN });
        let out = Command::new("curl")
            .args([
                "-s",
                "-f",
                "-w",
                "\n%{time_total}",
                "-H",
                "Content-Type: application/json",
            ])
            .args(["-d", &credentials.to_string()])
            .arg(self.url("/api/v1/login"))
            .output()?;
        ensure!(out.status.success(), "login failed: {}", out.status);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, seconds) = text.rsplit_once('\n').context("curl output")?;
        Ok((seconds.trim().parse()?, body.to_owned()))
    }

    fn login_seconds(&self) -> anyhow::Result<f64> {
        Ok(self.login(AGENT)?.0)
    }

    pub(crate) fn login_token(&self, username: &str) -> anyhow::Result<String> {
        let (_, body) = self.login(username)?;
        let json: serde_json::Value = serde_json::from_str(&body)?;
        json["token"]
            .as_str()
            .map(str::to_owned)
            .context("no token in the login answer")
    }

    /// The server's CPU time so far (user + system), from `/proc/PID/stat`.
    pub(crate) fn cpu_seconds(&self) -> anyhow::Result<f64> {
        cpu_seconds(&self.child.id().to_string())
    }

    /// A memory figure of the server from `/proc/PID/status`, in KiB.
    fn memory_kib(&self, field: &str) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("no {field} in /proc status"))
    }

    /// SIGTERM, then waits; whether the server exited 0.
    pub(crate) fn stop(mut self) -> anyhow::Result<bool> {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        Ok(self.child.wait()?.success())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A process's CPU time so far (user + system), from `/proc/PID/stat`;
/// `pid` may be `self`.
pub(crate) fn cpu_seconds(pid: &str) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses and may
    // hold spaces; utime and stime are the 14th and 15th fields.
    let after_name = stat.rsplit_once(')').context("/proc stat")?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 = fields
        .get(11..13)
        .context("/proc stat fields")?
        .iter()
        .map(|field| field.parse::<f64>())
        .sum::<Result<f64, _>>()?;
    Ok(ticks / CLOCK_TICKS_PER_SECOND)
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}
