//! Attacks on the server, repeated against the release binary: what each
//! costs a bystander (`GET /health/live` on a new connection from another
//! address, 127.0.0.2, as a load balancer's check would) and the server's
//! memory, beside the same probes with nothing going on, on the same fresh
//! server. One function per attack; [`measure`] runs them in turn.
//!
//! - [`slow_headers`] (finding 2 of issue 25): many connections from one
//!   address, each sending a header line every 2 s and never finishing its
//!   request, reconnecting at once when the server drops it.
//! - [`unfinished_heads`]: many connections, spread over 40 addresses (so
//!   the per-address cap does not stop them), each holding a head of about
//!   60 KiB it never finishes: what bounds the memory is the head's cap.
//!
//! Every connection goes to the server on 127.0.0.1, from loopback
//! addresses (the whole of 127/8 is this machine's); the attacks are
//! bounded in connections and in time.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpSocket;

use super::server::Server;
use super::stats::quantile;

/// Where the bystander's requests come from.
const BYSTANDER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), 0);
/// How often the bystander asks `/health/live`, and how long it waits.
const PROBE_EVERY: Duration = Duration::from_millis(50);
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);
/// The attack's connections open this long before the probes start.
const LEAD_IN: Duration = Duration::from_secs(2);
/// How often a slow connection sends a header line.
const TRICKLE_EVERY: Duration = Duration::from_secs(2);
/// A connection the server closed within this long of its connect was
/// refused; later, it was dropped (the header timeout).
const REFUSED_WITHIN: Duration = Duration::from_millis(500);
/// How long an attacker's connection waits before it connects again after
/// a refusal (after a drop it reconnects at once): a refused connection
/// costs the server an accept and a reset, and a loop without a pause
/// would measure a connection flood on two shared cores instead.
const RETRY_AFTER_REFUSAL: Duration = Duration::from_secs(1);
/// The head each connection of [`unfinished_heads`] sends and never
/// finishes: below the server's 64 KiB cap, so it is held, not refused.
const UNFINISHED_HEAD_BYTES: usize = 60 * 1024;
/// The addresses [`unfinished_heads`] spreads its connections over.
const HEAD_SOURCES: u8 = 40;
/// The target of the bystander's p99 under an attack.
const TARGET_P99: Duration = Duration::from_millis(100);
/// What one connection may hold of an unfinished head: the 64 KiB cap,
/// and as much again of the read buffer's spare capacity.
const HEAD_BOUND_KIB: u64 = 2 * 64;

/// The attacks section's settings.
#[derive(Debug, clap::Args)]
pub struct AttackArgs {
    /// Connections each attack keeps opening; 0 skips the attacks section.
    #[arg(long, default_value_t = 1000)]
    attack_connections: usize,
    /// Seconds of each phase of an attack: the bystander's probes with
    /// nothing going on, then during the attack.
    #[arg(long, default_value_t = 20)]
    attack_seconds: u64,
}

impl AttackArgs {
    pub fn runs(&self) -> bool {
        self.attack_connections > 0
    }

    pub fn check(&self) -> anyhow::Result<()> {
        ensure!(self.attack_seconds > 0, "--attack-seconds must be positive");
        Ok(())
    }
}

/// What the section measured.
#[derive(Debug)]
pub struct Attacks {
    connections: usize,
    phase: Duration,
    /// `ulimit -n` of the bench, which the server inherits.
    open_files: u64,
    results: Vec<AttackResult>,
}

/// One attack, against its idle baseline on the same server.
#[derive(Debug)]
struct AttackResult {
    name: &'static str,
    how: String,
    idle: Probes,
    attacked: Probes,
    attacker: Arc<AttackerTally>,
    /// `VmHWM` after the attack: the most the server ever held.
    peak_rss_kib: u64,
    /// The server's own count of connections it refused by their address's
    /// cap (`connections_refused_total` in `/metrics`).
    refused_by_server: u64,
    /// What the kernel counted meanwhile.
    kernel: KernelTcp,
}

/// Counters of the kernel's TCP (`/proc/net/netstat`, machine-wide).
#[derive(Debug, Clone, Copy, Default)]
struct KernelTcp {
    /// Connections dropped because a listen queue was full.
    listen_overflows: u64,
    /// Handshakes completed with a SYN cookie that did not check out.
    syncookies_failed: u64,
}

impl KernelTcp {
    fn now() -> anyhow::Result<Self> {
        let netstat = std::fs::read_to_string("/proc/net/netstat")?;
        let mut lines = netstat.lines().filter(|line| line.starts_with("TcpExt:"));
        let (names, values) = lines
            .next()
            .zip(lines.next())
            .context("no TcpExt in /proc/net/netstat")?;
        let counter = |wanted: &str| {
            names
                .split_whitespace()
                .zip(values.split_whitespace())
                .find(|(name, _)| *name == wanted)
                .and_then(|(_, value)| value.parse().ok())
                .unwrap_or(0)
        };
        Ok(KernelTcp {
            listen_overflows: counter("ListenOverflows"),
            syncookies_failed: counter("SyncookiesFailed"),
        })
    }

    fn since(self, before: KernelTcp) -> KernelTcp {
        KernelTcp {
            listen_overflows: self
                .listen_overflows
                .saturating_sub(before.listen_overflows),
            syncookies_failed: self
                .syncookies_failed
                .saturating_sub(before.syncookies_failed),
        }
    }
}

/// The bystander's probes over one phase, and the server's RSS sampled
/// between them.
#[derive(Debug, Default)]
struct Probes {
    /// Latencies of the probes answered 200, sorted.
    answered: Vec<Duration>,
    /// Probes without a 200 within [`PROBE_TIMEOUT`].
    failed: u64,
    first_failure: Option<String>,
    /// The largest `VmRSS` sampled.
    max_rss_kib: u64,
}

/// What the attacking connections saw.
#[derive(Debug, Default)]
struct AttackerTally {
    connects: AtomicU64,
    refused: AtomicU64,
    dropped: AtomicU64,
    failed_connects: AtomicU64,
    open: AtomicU64,
    most_open: AtomicU64,
    /// How connections ended, or failed to start, and how often.
    endings: Mutex<BTreeMap<String, u64>>,
}

impl AttackerTally {
    fn ended(&self, how: String) {
        let mut endings = self.endings.lock().unwrap_or_else(PoisonError::into_inner);
        *endings.entry(how).or_default() += 1;
    }
}

pub fn measure(root: &Path, dir: &Path, args: &AttackArgs) -> anyhow::Result<Attacks> {
    let open_files = open_files_limit()?;
    // The bench holds every attacking connection and the server as many.
    let needed = args.attack_connections as u64 + 200;
    ensure!(
        open_files >= needed,
        "the attacks need `ulimit -n` of at least {needed} (it is {open_files}): raise it in \
         the shell that runs the bench, or lower --attack-connections"
    );
    let phase = Duration::from_secs(args.attack_seconds);
    let results = vec![
        slow_headers(root, dir, args.attack_connections, phase)?,
        unfinished_heads(root, dir, args.attack_connections, phase)?,
    ];
    Ok(Attacks {
        connections: args.attack_connections,
        phase,
        open_files,
        results,
    })
}

/// Finding 2 of issue 25: `connections` connections from 127.0.0.1, each
/// starting a request and sending a header line every 2 s, never finishing
/// it; one dropped reconnects at once.
fn slow_headers(
    root: &Path,
    dir: &Path,
    connections: usize,
    phase: Duration,
) -> anyhow::Result<AttackResult> {
    let attack = Attack {
        sources: vec![Ipv4Addr::LOCALHOST],
        opening: b"GET /health/live HTTP/1.1\r\nHost: x\r\n".to_vec(),
        trickle: Some(b"X-Slow: 1\r\n"),
    };
    let how = format!(
        "{connections} connections from 127.0.0.1, a header line every {} s, never finished",
        TRICKLE_EVERY.as_secs()
    );
    run_attack(root, dir, "slow headers", how, &attack, connections, phase)
}

/// `connections` connections spread over [`HEAD_SOURCES`] addresses, each
/// sending [`UNFINISHED_HEAD_BYTES`] of a head it never finishes.
fn unfinished_heads(
    root: &Path,
    dir: &Path,
    connections: usize,
    phase: Duration,
) -> anyhow::Result<AttackResult> {
    let mut opening = b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Filler: ".to_vec();
    opening.resize(UNFINISHED_HEAD_BYTES, b'a');
    let attack = Attack {
        sources: (1..=HEAD_SOURCES)
            .map(|last| Ipv4Addr::new(127, 0, 1, last))
            .collect(),
        opening,
        trickle: None,
    };
    let how = format!(
        "{connections} connections from {HEAD_SOURCES} addresses (127.0.1.x), {} KiB of a head each, never finished",
        UNFINISHED_HEAD_BYTES / 1024
    );
    run_attack(
        root,
        dir,
        "unfinished heads",
        how,
        &attack,
        connections,
        phase,
    )
}

/// What each attacking connection does: connect from one of `sources`
/// (the `i`-th from `sources[i % n]`), send `opening`, then `trickle`
/// every [`TRICKLE_EVERY`], until the server closes it.
#[derive(Debug)]
struct Attack {
    sources: Vec<Ipv4Addr>,
    opening: Vec<u8>,
    trickle: Option<&'static [u8]>,
}

/// A fresh release server (default settings) on a database of its own:
/// the probes with nothing going on, then the probes during `attack`.
fn run_attack(
    root: &Path,
    dir: &Path,
    name: &'static str,
    how: String,
    attack: &Attack,
    connections: usize,
    phase: Duration,
) -> anyhow::Result<AttackResult> {
    println!(
        "attack `{name}`: {} s idle, then {} s under attack ...",
        phase.as_secs(),
        phase.as_secs()
    );
    let db = dir.join(format!("attack-{}.db", name.replace(' ', "-")));
    let server = Server::start(root, &db, &[])?;
    let address = server.address();
    let idle = probe(&server, Instant::now() + phase)?;

    let attacker = Arc::new(AttackerTally::default());
    let kernel_before = KernelTcp::now()?;
    let until = Instant::now() + LEAD_IN + phase;
    let attacked = std::thread::scope(|scope| {
        let attacking = scope.spawn(|| attack.run(address, connections, &attacker, until));
        std::thread::sleep(LEAD_IN);
        let attacked = probe(&server, until);
        attacking
            .join()
            .map_err(|_| anyhow::anyhow!("the attack panicked"))??;
        attacked
    })?;
    let kernel = KernelTcp::now()?.since(kernel_before);
    let peak_rss_kib = server.memory_kib("VmHWM")?;
    let refused_by_server = refused_per_address(address)?;
    server.stop()?;
    Ok(AttackResult {
        name,
        how,
        idle,
        attacked,
        attacker,
        peak_rss_kib,
        refused_by_server,
        kernel,
    })
}

/// `connections_refused_total{reason="per_address"}` as the server's
/// `/metrics` has it (absent: none).
fn refused_per_address(server: SocketAddr) -> anyhow::Result<u64> {
    let metrics = get_from(BYSTANDER, server, "/metrics")?;
    let text = String::from_utf8_lossy(&metrics);
    Ok(text
        .lines()
        .find_map(|line| line.strip_prefix(r#"connections_refused_total{reason="per_address"} "#))
        .and_then(|count| count.trim().parse().ok())
        .unwrap_or(0))
}

impl Attack {
    /// Keeps `connections` connections at it until `until`; then every one
    /// is closed (the runtime is dropped with them).
    fn run(
        &self,
        server: SocketAddr,
        connections: usize,
        tally: &Arc<AttackerTally>,
        until: Instant,
    ) -> anyhow::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            let opening: Arc<[u8]> = self.opening.clone().into();
            for i in 0..connections {
                let source = self.sources[i % self.sources.len()];
                let opening = Arc::clone(&opening);
                let tally = Arc::clone(tally);
                let trickle = self.trickle;
                tokio::spawn(async move {
                    loop {
                        attacking_connection(server, source, &opening, trickle, &tally).await;
                    }
                });
            }
            tokio::time::sleep_until(until.into()).await;
        });
        Ok(())
    }
}

/// One connection of an attack, until the server closes it; after a
/// refusal, the pause before the next.
async fn attacking_connection(
    server: SocketAddr,
    source: Ipv4Addr,
    opening: &[u8],
    trickle: Option<&[u8]>,
    tally: &AttackerTally,
) {
    let connected = async {
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(IpAddr::V4(source), 0))?;
        socket.connect(server).await
    };
    let mut stream = match connected.await {
        Ok(stream) => stream,
        Err(error) => {
            tally.failed_connects.fetch_add(1, Ordering::Relaxed);
            tally.ended(format!("connect failed: {error}"));
            tokio::time::sleep(RETRY_AFTER_REFUSAL).await;
            return;
        }
    };
    let opened = Instant::now();
    tally.connects.fetch_add(1, Ordering::Relaxed);
    let open = tally.open.fetch_add(1, Ordering::Relaxed) + 1;
    tally.most_open.fetch_max(open, Ordering::Relaxed);
    let _ = stream.write_all(opening).await;
    let mut buffer = [0u8; 1024];
    // The first line of whatever the server answered (a 408, a 431).
    let mut answered: Option<String> = None;
    let mut every =
        tokio::time::interval_at((Instant::now() + TRICKLE_EVERY).into(), TRICKLE_EVERY);
    let end = loop {
        tokio::select! {
            read = stream.read(&mut buffer) => match read {
                Ok(0) => break "closed".to_owned(),
                Ok(read) => {
                    answered.get_or_insert_with(|| {
                        let text = String::from_utf8_lossy(&buffer[..read]);
                        text.lines().next().unwrap_or_default().to_owned()
                    });
                }
                Err(error) => break format!("{:?}", error.kind()),
            },
            _ = every.tick() => {
                if let Some(line) = trickle {
                    let _ = stream.write_all(line).await;
                }
            }
        }
    };
    tally.open.fetch_sub(1, Ordering::Relaxed);
    let answered = answered.map_or_else(String::new, |line| format!(" after {line:?}"));
    if opened.elapsed() < REFUSED_WITHIN {
        tally.refused.fetch_add(1, Ordering::Relaxed);
        tally.ended(format!("at once: {end}{answered}"));
        tokio::time::sleep(RETRY_AFTER_REFUSAL).await;
    } else {
        tally.dropped.fetch_add(1, Ordering::Relaxed);
        tally.ended(format!("later: {end}{answered}"));
    }
}

/// `GET /health/live` from 127.0.0.2 on a new connection every
/// [`PROBE_EVERY`] until `until`, each timed from the connect to the end of
/// the answer; the server's `VmRSS` read between them.
fn probe(server: &Server, until: Instant) -> anyhow::Result<Probes> {
    let mut probes = Probes::default();
    while Instant::now() < until {
        let started = Instant::now();
        match probe_once(BYSTANDER, server.address()) {
            Ok(()) => probes.answered.push(started.elapsed()),
            Err(error) => {
                probes.failed += 1;
                probes
                    .first_failure
                    .get_or_insert_with(|| format!("{error:#}"));
            }
        }
        probes.max_rss_kib = probes.max_rss_kib.max(server.memory_kib("VmRSS")?);
        std::thread::sleep(PROBE_EVERY.saturating_sub(started.elapsed()));
    }
    probes.answered.sort_unstable();
    Ok(probes)
}

/// One probe: a 200 within [`PROBE_TIMEOUT`], or why not.
fn probe_once(source: SocketAddr, server: SocketAddr) -> anyhow::Result<()> {
    get_from(source, server, "/health/live").map(drop)
}

/// `GET path` from `source` on a connection of its own, answered 200
/// within [`PROBE_TIMEOUT`]: the whole answer, head and body.
fn get_from(source: SocketAddr, server: SocketAddr, path: &str) -> anyhow::Result<Vec<u8>> {
    use std::io::{Read as _, Write as _};
    let deadline = Instant::now() + PROBE_TIMEOUT;
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    socket.bind(&source.into())?;
    socket.connect_timeout(&server.into(), PROBE_TIMEOUT)?;
    let mut stream = std::net::TcpStream::from(socket);
    stream.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
    )?;
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        ensure!(!left.is_zero(), "no answer within {PROBE_TIMEOUT:?}");
        stream.set_read_timeout(Some(left))?;
        match stream.read(&mut buffer).context("reading the answer")? {
            0 => break,
            read => answer.extend_from_slice(&buffer[..read]),
        }
    }
    ensure!(
        answer.starts_with(b"HTTP/1.1 200"),
        "answered {:?}",
        String::from_utf8_lossy(&answer[..answer.len().min(40)])
    );
    Ok(answer)
}

/// The soft limit on open files (`ulimit -n`), from `/proc/self/limits`.
fn open_files_limit() -> anyhow::Result<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits")?;
    limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|soft| soft.parse().ok())
        .context("no `Max open files` in /proc/self/limits")
}

pub fn print(attacks: &Attacks) {
    let ms = |latency: Duration| latency.as_secs_f64() * 1e3;
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!();
    println!(
        "attacks: a fresh release server each (default settings: `MAX_CONNECTIONS` 1024, \
         `MAX_CONNECTIONS_PER_ADDRESS` 32), `ulimit -n` {}; `GET /health/live` from 127.0.0.2 \
         on a new connection every {} ms, {} s with nothing going on, then {} s under the attack",
        attacks.open_files,
        PROBE_EVERY.as_millis(),
        attacks.phase.as_secs(),
        attacks.phase.as_secs(),
    );
    println!(
        "| attack | phase | probes answered 200 | p50 | p99 | slowest | failed ({} s) | server RSS, most sampled |",
        PROBE_TIMEOUT.as_secs()
    );
    println!("|---|---|---|---|---|---|---|---|");
    for result in &attacks.results {
        for (phase, probes) in [("idle", &result.idle), ("under attack", &result.attacked)] {
            let answered = &probes.answered;
            println!(
                "| {} | {phase} | {} | {:.2} ms | {:.2} ms | {:.2} ms | {} | {:.1} MiB |",
                result.name,
                answered.len(),
                ms(quantile(answered, 0.50)),
                ms(quantile(answered, 0.99)),
                ms(answered.last().copied().unwrap_or_default()),
                probes.failed,
                mib(probes.max_rss_kib),
            );
        }
    }
    println!();
    println!(
        "| attack | how | connections opened / closed at once / dropped later / reset while connecting \
         | refused by the cap (`connections_refused_total`) | listen queue overflows / SYN cookies failed \
         (the kernel's, machine-wide) | most open at once (as the attacker saw them) | server peak RSS (`VmHWM`) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for result in &attacks.results {
        let tally = &result.attacker;
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        println!(
            "| {} | {} | {} / {} / {} / {} | {} | {} / {} | {} | {:.1} MiB |",
            result.name,
            result.how,
            get(&tally.connects),
            get(&tally.refused),
            get(&tally.dropped),
            get(&tally.failed_connects),
            result.refused_by_server,
            result.kernel.listen_overflows,
            result.kernel.syncookies_failed,
            get(&tally.most_open),
            mib(result.peak_rss_kib),
        );
        let endings = tally
            .endings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(how, count)| format!("{how}: {count}"))
            .collect::<Vec<_>>()
            .join("; ");
        println!(
            "| {} | how its connections ended: {endings} | | | | | |",
            result.name
        );
        for (phase, probes) in [("idle", &result.idle), ("under attack", &result.attacked)] {
            if let Some(failure) = &probes.first_failure {
                println!(
                    "| {} | first failed probe, {phase}: {failure} | | | | | |",
                    result.name
                );
            }
        }
    }
    println!();
    let verdict = |met: bool| if met { "MET" } else { "MISSED" };
    println!("| target | measured | verdict |");
    println!("|---|---|---|");
    for result in &attacks.results {
        let p99 = quantile(&result.attacked.answered, 0.99);
        let met = result.attacked.failed == 0 && p99 < TARGET_P99;
        println!(
            "| {}: every probe answered, p99 < {} ms | p99 {:.2} ms, {} failed | {} |",
            result.name,
            TARGET_P99.as_millis(),
            ms(p99),
            result.attacked.failed,
            verdict(met)
        );
    }
    if let Some(heads) = attacks
        .results
        .iter()
        .find(|r| r.name == "unfinished heads")
    {
        let bound_kib = heads.idle.max_rss_kib + attacks.connections as u64 * HEAD_BOUND_KIB;
        println!(
            "| unfinished heads: peak RSS ≤ idle + {} connections × {HEAD_BOUND_KIB} KiB ({:.0} MiB) | {:.1} MiB | {} |",
            attacks.connections,
            mib(bound_kib),
            mib(heads.peak_rss_kib),
            verdict(heads.peak_rss_kib <= bound_kib)
        );
    }
}
