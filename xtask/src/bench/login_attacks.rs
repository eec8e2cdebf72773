//! Attacks on the doors that hash a PIN, repeated against the release
//! binary with its default settings (findings 1, 3 and 4 of issue 25),
//! each on a fresh server and database. Clients come from loopback
//! addresses of their own (the whole of 127/8 is this machine's), so the
//! server's per-address budgets count them apart.
//!
//! - [`sign_up_flood`]: a signed-in customer's token creating accounts as
//!   fast as it is answered, from 6 connections of one address, while
//!   real users log in from others: their logins against the same logins
//!   with nothing going on.
//! - [`spray`]: one PIN tried on 50 usernames (half of them real) from one
//!   address: how many are checked before the address is stopped.
//! - [`lockout`]: wrong PINs on known and unknown usernames, alternated:
//!   the statuses, `Retry-After` and the time of each, side by side.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};

use super::client::{Connection, post_json_request};
use super::server::Server;
use super::stats::quantile;

/// Connections the flood's attacker keeps busy (the probe's 6 clients).
const FLOODERS: usize = 6;
/// How often one of the real users logs in during the flood phases.
const REAL_LOGIN_EVERY: Duration = Duration::from_millis(100);
/// The real users' addresses: 10 logins a second over 50 addresses is
/// 12 a minute each, within the default budget of 20.
const REAL_SOURCES: u8 = 50;
/// Usernames the spray tries, and how many of them have an account.
const SPRAYED: usize = 50;
const SPRAYED_REAL: usize = 25;
/// Usernames of each kind the lock-out comparison tries, each until locked.
const LOCKOUT_NAMES: usize = 20;
/// Wrong PINs per name in the lock-out comparison: 5 checked, then locked.
const LOCKOUT_ATTEMPTS: usize = 6;
const PIN: &str = "4821";

/// The flood's phases, seconds each.
#[derive(Debug, clap::Args)]
pub struct LoginAttackArgs {
    /// Seconds of each phase of the sign-up flood (real logins alone, then
    /// during the flood); 0 skips the login attacks section.
    #[arg(long, default_value_t = 20)]
    login_attack_seconds: u64,
}

impl LoginAttackArgs {
    pub fn runs(&self) -> bool {
        self.login_attack_seconds > 0
    }
}

/// What the section measured.
#[derive(Debug)]
pub struct LoginAttacks {
    phase: Duration,
    flood: Flood,
    spray: Spray,
    lockout: Lockout,
}

#[derive(Debug)]
struct Flood {
    idle: Logins,
    flooded: Logins,
    /// The flood's answers by status.
    attacker: BTreeMap<u16, u64>,
    idle_rss_kib: u64,
    peak_rss_kib: u64,
}

/// The real users' logins over one phase.
#[derive(Debug, Default)]
struct Logins {
    statuses: BTreeMap<u16, u64>,
    /// Latencies of the logins answered 200, sorted.
    answered: Vec<Duration>,
}

#[derive(Debug)]
struct Spray {
    /// The status of each attempt, in order.
    statuses: Vec<u16>,
    /// `Retry-After` of the first refusal.
    first_retry_after: Option<String>,
    /// The right PIN of a real account from the spraying address, and from
    /// another, after the spray.
    owner_from_sprayer: u16,
    owner_from_elsewhere: u16,
    peak_rss_kib: u64,
}

#[derive(Debug, Default)]
struct Lockout {
    /// Per kind (known, unknown): each attempt's status and `Retry-After`,
    /// the same for every name of the kind (else the name that differed).
    answers: [Vec<(u16, Option<String>)>; 2],
    differing: Vec<String>,
    /// Per kind: latencies of the checked (401) attempts, sorted.
    checked: [Vec<Duration>; 2],
}

pub fn measure(root: &Path, dir: &Path, args: &LoginAttackArgs) -> anyhow::Result<LoginAttacks> {
    let phase = Duration::from_secs(args.login_attack_seconds);
    Ok(LoginAttacks {
        phase,
        flood: sign_up_flood(root, dir, phase)?,
        spray: spray(root, dir)?,
        lockout: lockout(root, dir)?,
    })
}

/// `127.0.a.b`.
fn loopback(a: u8, b: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, a, b))
}

/// `POST path` with `body` (and `token`) from `source` on a connection of
/// its own: the connection, for its answer's body and headers.
fn post_from(
    source: IpAddr,
    server: SocketAddr,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> anyhow::Result<(u16, Duration, Connection)> {
    let started = Instant::now();
    let mut connection = Connection::open_from(source, server)?;
    let answer = connection.exchange(&post_json_request(server, path, token, body))?;
    Ok((answer.status, started.elapsed(), connection))
}

fn sign_up(source: IpAddr, server: SocketAddr, username: &str) -> anyhow::Result<()> {
    let body = format!(r#"{{"username":"{username}","pin":"{PIN}"}}"#);
    let (status, _, _) = post_from(source, server, "/api/v1/users", None, &body)?;
    ensure!(status == 201, "signing up {username} answered {status}");
    Ok(())
}

fn login(
    source: IpAddr,
    server: SocketAddr,
    username: &str,
    pin: &str,
) -> anyhow::Result<(u16, Duration, Connection)> {
    let body = format!(r#"{{"username":"{username}","pin":"{pin}"}}"#);
    post_from(source, server, "/api/v1/login", None, &body)
}

/// Finding 1: a customer's token creating accounts from 6 connections of
/// 127.0.0.1 as fast as it is answered, while real users log in from 50
/// other addresses, against those logins alone.
fn sign_up_flood(root: &Path, dir: &Path, phase: Duration) -> anyhow::Result<Flood> {
    println!(
        "login attacks: a signed-in sign-up flood, {} s of real logins alone, then {} s during it ...",
        phase.as_secs(),
        phase.as_secs()
    );
    let server = Server::start(root, &dir.join("sign-up-flood.db"), &[])?;
    let address = server.address();
    let setup = loopback(3, 1);
    sign_up(setup, address, "flooder")?;
    sign_up(loopback(3, 2), address, "realuser")?;
    let (status, _, connection) = login(setup, address, "flooder", PIN)?;
    ensure!(status == 200, "the flooder's login answered {status}");
    let token = serde_json::from_slice::<serde_json::Value>(connection.body())?["token"]
        .as_str()
        .context("no token")?
        .to_owned();

    let idle = real_logins(address, Instant::now() + phase)?;
    let idle_rss_kib = server.memory_kib("VmRSS")?;
    let attacker = Mutex::new(BTreeMap::new());
    let stop = AtomicBool::new(false);
    let next_name = AtomicU64::new(0);
    let flooded = std::thread::scope(|scope| {
        for _ in 0..FLOODERS {
            scope.spawn(|| flood(address, &token, &next_name, &stop, &attacker));
        }
        let flooded = real_logins(address, Instant::now() + phase);
        stop.store(true, Ordering::Relaxed);
        flooded
    })?;
    let peak_rss_kib = server.memory_kib("VmHWM")?;
    server.stop()?;
    Ok(Flood {
        idle,
        flooded,
        attacker: attacker.into_inner().unwrap_or_default(),
        idle_rss_kib,
        peak_rss_kib,
    })
}

/// One of the flood's connections, until `stop`: a new account each time.
fn flood(
    server: SocketAddr,
    token: &str,
    next_name: &AtomicU64,
    stop: &AtomicBool,
    tally: &Mutex<BTreeMap<u16, u64>>,
) {
    let mut connection = None;
    while !stop.load(Ordering::Relaxed) {
        let Some(open) = connection.as_mut() else {
            connection = Connection::open_from(loopback(0, 1), server).ok();
            continue;
        };
        let name = format!("flood{}", next_name.fetch_add(1, Ordering::Relaxed));
        let body = format!(r#"{{"username":"{name}","pin":"{PIN}"}}"#);
        match open.exchange(&post_json_request(
            server,
            "/api/v1/users",
            Some(token),
            &body,
        )) {
            Ok(answer) => {
                if let Ok(mut tally) = tally.lock() {
                    *tally.entry(answer.status).or_default() += 1;
                }
                if answer.closes {
                    connection = None;
                }
            }
            Err(_) => connection = None,
        }
    }
}

/// A real user's right PIN every [`REAL_LOGIN_EVERY`] until `until`, from
/// each of [`REAL_SOURCES`] addresses in turn.
fn real_logins(server: SocketAddr, until: Instant) -> anyhow::Result<Logins> {
    let mut logins = Logins::default();
    let mut turn = 0u8;
    while Instant::now() < until {
        let started = Instant::now();
        let source = loopback(2, turn % REAL_SOURCES + 1);
        turn = turn.wrapping_add(1);
        let (status, latency, _) = login(source, server, "realuser", PIN)?;
        *logins.statuses.entry(status).or_default() += 1;
        if status == 200 {
            logins.answered.push(latency);
        }
        std::thread::sleep(REAL_LOGIN_EVERY.saturating_sub(started.elapsed()));
    }
    logins.answered.sort_unstable();
    Ok(logins)
}

/// Finding 3: one PIN on [`SPRAYED`] usernames from 127.0.0.1, one after
/// the other.
fn spray(root: &Path, dir: &Path) -> anyhow::Result<Spray> {
    println!("login attacks: one PIN sprayed over {SPRAYED} usernames from one address ...");
    let server = Server::start(root, &dir.join("spray.db"), &[])?;
    let address = server.address();
    for n in 0..SPRAYED_REAL {
        // Each from an address of its own: sign-ups have a budget too.
        sign_up(loopback(4, n as u8 + 1), address, &format!("user{n}"))?;
    }
    let sprayer = loopback(0, 1);
    let mut statuses = Vec::new();
    let mut first_retry_after = None;
    for n in 0..SPRAYED {
        // Every other name has an account.
        let name = if n % 2 == 0 {
            format!("user{}", n / 2)
        } else {
            format!("nobody{n}")
        };
        let (status, _, connection) = login(sprayer, address, &name, "1234")?;
        if status == 429 && first_retry_after.is_none() {
            first_retry_after = connection.header("retry-after").map(str::to_owned);
        }
        statuses.push(status);
    }
    let owner_from_sprayer = login(sprayer, address, "user0", PIN)?.0;
    let owner_from_elsewhere = login(loopback(5, 1), address, "user0", PIN)?.0;
    let peak_rss_kib = server.memory_kib("VmHWM")?;
    server.stop()?;
    Ok(Spray {
        statuses,
        first_retry_after,
        owner_from_sprayer,
        owner_from_elsewhere,
        peak_rss_kib,
    })
}

/// Finding 4: [`LOCKOUT_ATTEMPTS`] wrong PINs on each of
/// [`LOCKOUT_NAMES`] known and as many unknown names, a known and an
/// unknown one in turn, each from an address of its own (so no address
/// budget answers first).
fn lockout(root: &Path, dir: &Path) -> anyhow::Result<Lockout> {
    println!(
        "login attacks: {LOCKOUT_ATTEMPTS} wrong PINs on {LOCKOUT_NAMES} known and {LOCKOUT_NAMES} unknown usernames ..."
    );
    let server = Server::start(root, &dir.join("lockout.db"), &[])?;
    let address = server.address();
    for n in 0..LOCKOUT_NAMES {
        sign_up(loopback(6, n as u8 + 1), address, &format!("known{n}"))?;
    }
    let mut lockout = Lockout::default();
    for n in 0..LOCKOUT_NAMES {
        for (kind, name) in [(0, format!("known{n}")), (1, format!("unknown{n}"))] {
            let source = loopback(7 + kind as u8, n as u8 + 1);
            let mut answers = Vec::new();
            for _ in 0..LOCKOUT_ATTEMPTS {
                let (status, latency, connection) = login(source, address, &name, "9999")?;
                if status == 401 {
                    lockout.checked[kind].push(latency);
                }
                let retry_after = connection.header("retry-after").map(str::to_owned);
                answers.push((status, retry_after));
            }
            if lockout.answers[kind].is_empty() {
                lockout.answers[kind] = answers;
            } else if lockout.answers[kind] != answers {
                lockout.differing.push(name);
            }
        }
    }
    for latencies in &mut lockout.checked {
        latencies.sort_unstable();
    }
    server.stop()?;
    Ok(lockout)
}

pub fn print(attacks: &LoginAttacks) {
    let ms = |latency: Duration| latency.as_secs_f64() * 1e3;
    let mib = |kib: u64| kib as f64 / 1024.0;
    let statuses = |counts: &BTreeMap<u16, u64>| {
        counts
            .iter()
            .map(|(status, count)| format!("{count} x {status}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let flood = &attacks.flood;
    println!();
    println!(
        "login attacks: a fresh release server each, default settings. Sign-up flood: a customer's \
         token from {FLOODERS} connections of 127.0.0.1 creating accounts as fast as answered; \
         real users' right PINs every {} ms from {REAL_SOURCES} other addresses, {} s alone, then {} s during the flood",
        REAL_LOGIN_EVERY.as_millis(),
        attacks.phase.as_secs(),
        attacks.phase.as_secs()
    );
    println!("| phase | real logins | p50 | p99 | server RSS |");
    println!("|---|---|---|---|---|");
    for (phase, logins, rss) in [
        ("alone", &flood.idle, flood.idle_rss_kib),
        ("during the flood", &flood.flooded, flood.peak_rss_kib),
    ] {
        println!(
            "| {phase} | {} | {:.1} ms | {:.1} ms | {:.1} MiB{} |",
            statuses(&logins.statuses),
            ms(quantile(&logins.answered, 0.50)),
            ms(quantile(&logins.answered, 0.99)),
            mib(rss),
            if phase == "alone" { "" } else { " (peak)" },
        );
    }
    println!("the flood's answers: {}", statuses(&flood.attacker));

    let spray = &attacks.spray;
    let checked = spray.statuses.iter().take_while(|s| **s == 401).count();
    let mut counts = BTreeMap::new();
    for status in &spray.statuses {
        *counts.entry(*status).or_insert(0u64) += 1;
    }
    println!();
    println!(
        "spray: PIN 1234 on {SPRAYED} usernames ({SPRAYED_REAL} real) from 127.0.0.1: {checked} checked \
         before the first refusal (Retry-After {}); in all {}; then the right PIN of a real account \
         from there: {}, from another address: {}; server peak RSS {:.1} MiB",
        spray.first_retry_after.as_deref().unwrap_or("none"),
        statuses(&counts),
        spray.owner_from_sprayer,
        spray.owner_from_elsewhere,
        mib(spray.peak_rss_kib),
    );

    let lockout = &attacks.lockout;
    println!();
    println!(
        "lock-out: {LOCKOUT_ATTEMPTS} wrong PINs on each of {LOCKOUT_NAMES} known and {LOCKOUT_NAMES} unknown usernames, in turn"
    );
    println!(
        "| usernames | answers, attempt by attempt (status, Retry-After) | checked attempts' p50 | p90 |"
    );
    println!("|---|---|---|---|");
    for (kind, name) in ["known", "unknown"].iter().enumerate() {
        let answers = lockout.answers[kind]
            .iter()
            .map(|(status, retry)| match retry {
                Some(seconds) => format!("{status} ({seconds} s)"),
                None => status.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ");
        println!(
            "| {name} | {answers} | {:.1} ms | {:.1} ms |",
            ms(quantile(&lockout.checked[kind], 0.50)),
            ms(quantile(&lockout.checked[kind], 0.90)),
        );
    }
    if lockout.differing.is_empty() {
        println!("every name of a kind was answered the same");
    } else {
        println!(
            "answered unlike the others of its kind: {:?}",
            lockout.differing
        );
    }
}
