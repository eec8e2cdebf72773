//! `cargo xtask bench`'s search and SLA breach section: on each engine, a
//! large seed loaded twice (with its search words, then the same tickets
//! without them) to time what the words cost a load and weigh the index on
//! disk, then the release server on the searchable database, answering
//! `GET /api/v1/tickets` with `q` (a rare word, two words, a word in no
//! ticket) and with `breached=true`, and `GET /metrics` (which counts the
//! open tickets in breach), one request at a time.
//!
//! The target is 50 ms at p99 for each search and the breach filter; it is
//! checked and printed, never failed on. Each searchable database is then
//! handed to the web pages and list sections (`web`, `lists`) before it
//! goes.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use store::{DatabaseUrl, Store, StoreOptions};

use super::client::{self, Client};
use super::machine::{MachineCpu, cpu_seconds, family_cpu_seconds, load_average};
use super::server::{AGENT, LIST_READER, Server};
use super::stats::quantile;
use crate::seed::{NO_MATCH_WORD, RARE_SHARE, RARE_WORD, WORD_PAIR};

/// The seed of the generated tickets, as in the rest of the bench.
const SEED: u64 = 42;
/// The target of each search and of the breach filter, at p99.
const TARGET_P99: Duration = Duration::from_millis(50);
/// Unmeasured rounds of every request before the measured ones.
const WARM_UP_ROUNDS: usize = 5;
/// A word that meets [`RARE_WORD`] in some of its tickets (a topic's, and
/// a customer reply's).
const COMMON_WORD: &str = "login";
/// The second database of the PostgreSQL cluster, the one without words.
const PLAIN_DATABASE: &str = "tracker_unsearchable";

/// What the search and SLA breach section measures with.
#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// Tickets of the search and SLA breach section on SQLite, seeded twice
    /// (with and without search words); 0 skips it.
    #[arg(long, default_value_t = 1_000_000)]
    pub search_tickets: u64,
    /// The same on a throwaway PostgreSQL; 0 skips it.
    #[arg(long, default_value_t = 100_000)]
    pub search_postgres_tickets: u64,
    /// Measured requests of each kind in that section, sent one at a time,
    /// for the median and p99.
    #[arg(long, default_value_t = 200)]
    search_requests: usize,
}

/// What the section measured on one engine.
#[derive(Debug)]
pub struct EngineReport {
    engine: &'static str,
    tickets: u64,
    /// How the databases were prepared, for the heading.
    setup: &'static str,
    seed_secs: f64,
    plain_seed_secs: f64,
    /// Sizes on disk: what, and how much.
    sizes: Vec<(String, String)>,
    requests: ProbeRun,
}

/// One kind of request, measured.
#[derive(Debug)]
struct Measured {
    probe: Probe,
    /// What the last answer counted: `meta.total`, or the gauge.
    matches: Option<u64>,
    median: Duration,
    p99: Duration,
}

/// Who sends a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Agent,
    Customer,
    Anonymous,
}

impl Who {
    fn label(self) -> &'static str {
        match self {
            Who::Agent => "agent",
            Who::Customer => "customer",
            Who::Anonymous => "anyone",
        }
    }
}

/// One kind of request.
#[derive(Debug, Clone)]
struct Probe {
    label: String,
    path: String,
    who: Who,
    /// Whether the 50 ms p99 target applies (the searches and the
    /// breach filter); the others are for contrast.
    targeted: bool,
}

fn probes() -> Vec<Probe> {
    // `count=true`: the matches are reported, and counted as in #12.
    let list = |query: &str| format!("/api/v1/tickets?{query}page=1&limit=20&count=true");
    let [first, second] = WORD_PAIR;
    let probe = |label: String, path: String, who, targeted| Probe {
        label,
        path,
        who,
        targeted,
    };
    vec![
        probe(
            format!(
                "`q={RARE_WORD}`: one word, in about 1 ticket in {:.0}",
                1.0 / RARE_SHARE
            ),
            list(&format!("q={RARE_WORD}&")),
            Who::Agent,
            true,
        ),
        probe(
            format!("`q={RARE_WORD}`: the same, a customer's own tickets"),
            list(&format!("q={RARE_WORD}&")),
            Who::Customer,
            true,
        ),
        probe(
            format!("`q={first}+{second}`: two words, together in one topic"),
            list(&format!("q={first}+{second}&")),
            Who::Agent,
            true,
        ),
        probe(
            format!("`q={RARE_WORD}+{COMMON_WORD}`: a rare word and a common one"),
            list(&format!("q={RARE_WORD}+{COMMON_WORD}&")),
            Who::Agent,
            true,
        ),
        probe(
            format!("`q={NO_MATCH_WORD}`: a word in no ticket"),
            list(&format!("q={NO_MATCH_WORD}&")),
            Who::Agent,
            true,
        ),
        probe(
            "`breached=true`: in SLA breach now".to_owned(),
            list("breached=true&"),
            Who::Agent,
            true,
        ),
        probe(
            format!("`q={first}+{second}`: the same, a customer's own tickets"),
            list(&format!("q={first}+{second}&")),
            Who::Customer,
            false,
        ),
        probe(
            format!("`q={first}+{second}&sort=createdAt&direction=desc`"),
            list(&format!(
                "q={first}+{second}&sort=createdAt&direction=desc&"
            )),
            Who::Agent,
            false,
        ),
        probe(
            "no filter (for contrast)".to_owned(),
            list(""),
            Who::Agent,
            false,
        ),
        probe(
            "`GET /metrics` (counts the open tickets in breach)".to_owned(),
            "/metrics".to_owned(),
            Who::Anonymous,
            false,
        ),
    ]
}

/// A searchable database the section seeded, handed over once its own
/// requests are done and while it still exists, so that the list section
/// measures on the same large seed rather than seeding another.
#[derive(Debug)]
pub struct Seeded<'a> {
    pub engine: &'static str,
    /// Its `DATABASE_URL`.
    pub url: &'a str,
    pub tickets: u64,
}

/// Runs the section on each engine not skipped, and `then` on each seeded
/// database.
pub fn measure(
    root: &Path,
    dir: &Path,
    args: &SearchArgs,
    then: &mut dyn FnMut(&Seeded) -> anyhow::Result<()>,
) -> anyhow::Result<Vec<EngineReport>> {
    let mut reports = Vec::new();
    if args.search_tickets == 0 && args.search_postgres_tickets == 0 {
        return Ok(reports);
    }
    ensure!(
        args.search_requests > 0,
        "--search-requests must be positive"
    );
    if args.search_postgres_tickets > 0 {
        // First, so that a machine without PostgreSQL fails before the
        // long SQLite part.
        reports.push(on_postgres(root, args, then)?);
    }
    if args.search_tickets > 0 {
        reports.push(on_sqlite(root, dir, args, then)?);
    }
    Ok(reports)
}

/// `then` on the seeded database `given` (its `DATABASE_URL` and tickets)
/// if there is one, else on databases seeded by [`seed_each`].
pub fn given_or_seeded(
    dir: &Path,
    given: Option<(&str, u64)>,
    (sqlite_tickets, postgres_tickets): (u64, u64),
    then: &mut dyn FnMut(&Seeded) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    match given {
        Some((url, tickets)) => then(&Seeded {
            engine: match DatabaseUrl::parse(url)? {
                DatabaseUrl::Sqlite(_) => "SQLite",
                DatabaseUrl::Postgres(_) => "PostgreSQL",
            },
            url,
            tickets,
        }),
        None => seed_each(dir, sqlite_tickets, postgres_tickets, then),
    }
}

/// Seeds a searchable database on each engine not skipped (0 tickets),
/// as [`measure`] does, and hands each to `then` without measuring
/// anything itself (for a section run alone: `--only lists`, `--only
/// queue`). PostgreSQL is analyzed after the load, as autovacuum would.
fn seed_each(
    dir: &Path,
    sqlite_tickets: u64,
    postgres_tickets: u64,
    then: &mut dyn FnMut(&Seeded) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    if postgres_tickets > 0 {
        let tickets = postgres_tickets;
        let cluster = crate::test_env::start_cluster().context("no PostgreSQL for the bench")?;
        let url = crate::test_env::cluster_url(&cluster);
        println!("PostgreSQL: seeding {tickets} tickets ...");
        let secs = seed_timed(&DatabaseUrl::parse(&url)?, tickets, true)?;
        psql(&url, "VACUUM ANALYZE")?;
        println!("PostgreSQL: seeded in {secs:.1} s");
        then(&Seeded {
            engine: "PostgreSQL",
            url: &url,
            tickets,
        })?;
        drop(cluster);
    }
    if sqlite_tickets > 0 {
        let tickets = sqlite_tickets;
        let db = dir.join("seeded.db");
        println!("SQLite: seeding {tickets} tickets ...");
        let secs = seed_timed(&DatabaseUrl::Sqlite(db.clone()), tickets, true)?;
        println!("SQLite: seeded in {secs:.1} s");
        let outcome = then(&Seeded {
            engine: "SQLite",
            url: &format!("sqlite://{}", db.display()),
            tickets,
        });
        remove_sqlite(&db);
        outcome?;
    }
    Ok(())
}

fn on_sqlite(
    root: &Path,
    dir: &Path,
    args: &SearchArgs,
    then: &mut dyn FnMut(&Seeded) -> anyhow::Result<()>,
) -> anyhow::Result<EngineReport> {
    let tickets = args.search_tickets;
    let db = dir.join("search.db");
    let plain = dir.join("search-unsearchable.db");
    println!("search on SQLite: seeding {tickets} tickets with their search words ...");
    let seed_secs = seed_timed(&DatabaseUrl::Sqlite(db.clone()), tickets, true)?;
    println!("search on SQLite: seeding the same tickets without search words ...");
    let plain_seed_secs = seed_timed(&DatabaseUrl::Sqlite(plain.clone()), tickets, false)?;

    let mut sizes = Vec::new();
    match search_pages(&db) {
        Ok(pages) => {
            let words: u64 = pages
                .iter()
                .filter(|(name, _)| name == "ticket_search_words")
                .map(|(_, bytes)| bytes)
                .sum();
            let index: Vec<&(String, u64)> = pages
                .iter()
                .filter(|(name, _)| name != "ticket_search_words")
                .collect();
            let index_bytes: u64 = index.iter().map(|(_, bytes)| bytes).sum();
            let parts: Vec<String> = index
                .iter()
                .map(|(name, bytes)| format!("`{name}` {}", megabytes(*bytes)))
                .collect();
            sizes.push((
                "FTS5 index (`dbstat`)".to_owned(),
                format!("{} ({})", megabytes(index_bytes), parts.join(", ")),
            ));
            sizes.push((
                "its content table `ticket_search_words` (the words)".to_owned(),
                megabytes(words),
            ));
            sizes.push((
                "search, in all (`ticket_search%` in `dbstat`)".to_owned(),
                megabytes(index_bytes + words),
            ));
        }
        Err(error) => sizes.push(("`dbstat`".to_owned(), format!("unavailable: {error:#}"))),
    }
    let with = sqlite_file_bytes(&db)?;
    let without = sqlite_file_bytes(&plain)?;
    sizes.push((
        "database file, with / without search words".to_owned(),
        format!(
            "{} / {} ({:+.1} MB, {:+.1} %)",
            megabytes(with),
            megabytes(without),
            (with as f64 - without as f64) / 1e6,
            (with as f64 / without as f64 - 1.0) * 100.0
        ),
    ));
    remove_sqlite(&plain);

    let server = Server::start(root, &db, &[])?;
    let requests = run_probes(&server, None, args.search_requests)?;
    server.stop()?;
    then(&Seeded {
        engine: "SQLite",
        url: &format!("sqlite://{}", db.display()),
        tickets,
    })?;
    remove_sqlite(&db);
    Ok(EngineReport {
        engine: "SQLite",
        tickets,
        setup: "as the store leaves them, no ANALYZE",
        seed_secs,
        plain_seed_secs,
        sizes,
        requests,
    })
}

fn on_postgres(
    root: &Path,
    args: &SearchArgs,
    then: &mut dyn FnMut(&Seeded) -> anyhow::Result<()>,
) -> anyhow::Result<EngineReport> {
    let tickets = args.search_postgres_tickets;
    let cluster = crate::test_env::start_cluster()
        .context("no PostgreSQL for the search section (`--search-postgres-tickets 0` skips it)")?;
    let url = crate::test_env::cluster_url(&cluster);
    psql(&url, &format!("CREATE DATABASE {PLAIN_DATABASE}"))?;
    let plain_url = cluster.url(PLAIN_DATABASE);
    println!("search on PostgreSQL: seeding {tickets} tickets with their search words ...");
    let seed_secs = seed_timed(&DatabaseUrl::parse(&url)?, tickets, true)?;
    println!("search on PostgreSQL: seeding the same tickets without search words ...");
    let plain_seed_secs = seed_timed(&DatabaseUrl::parse(&plain_url)?, tickets, false)?;
    // What autovacuum would have done by now: the GIN index's pending
    // entries merged, and the planner's statistics.
    for url in [&url, &plain_url] {
        psql(url, "VACUUM ANALYZE")?;
    }

    let size = |url: &str, expression: &str| -> anyhow::Result<u64> {
        let text = psql(url, &format!("SELECT {expression}"))?;
        text.trim()
            .parse()
            .with_context(|| format!("{expression} = {text:?}"))
    };
    let words = size(&url, "pg_total_relation_size('ticket_search_words')")?;
    let gin = size(&url, "pg_relation_size('ticket_search_words_document')")?;
    let with = size(&url, "pg_database_size(current_database())")?;
    let without = size(&plain_url, "pg_database_size(current_database())")?;
    let sizes = vec![
        (
            "GIN index `ticket_search_words_document` (`pg_relation_size`)".to_owned(),
            megabytes(gin),
        ),
        (
            "`ticket_search_words` with its TOAST, key and GIN index \
             (`pg_total_relation_size`)"
                .to_owned(),
            megabytes(words),
        ),
        (
            "database, with / without search words (`pg_database_size`)".to_owned(),
            format!(
                "{} / {} ({:+.1} MB, {:+.1} %)",
                megabytes(with),
                megabytes(without),
                (with as f64 - without as f64) / 1e6,
                (with as f64 / without as f64 - 1.0) * 100.0
            ),
        ),
    ];

    let server = Server::start_on(root, &url, &[])?;
    let postmaster = std::fs::read_to_string(cluster.dir().join("data/postmaster.pid"))
        .ok()
        .and_then(|text| text.lines().next()?.trim().parse().ok());
    let requests = run_probes(&server, postmaster, args.search_requests)?;
    server.stop()?;
    then(&Seeded {
        engine: "PostgreSQL",
        url: &url,
        tickets,
    })?;
    drop(cluster);
    Ok(EngineReport {
        engine: "PostgreSQL",
        tickets,
        setup: "a throwaway cluster (fsync and synchronous_commit off), \
                `VACUUM ANALYZE` after the load",
        seed_secs,
        plain_seed_secs,
        sizes,
        requests,
    })
}

/// Seeds `count` tickets (with or without their search words) into the
/// fresh database at `url`; the seconds the tickets took, the connection
/// and migrations left out, like the rest of the bench's seed times.
fn seed_timed(url: &DatabaseUrl, count: u64, searchable: bool) -> anyhow::Result<f64> {
    // The last load's dirty pages are written now rather than during this one.
    Command::new("sync").status().context("running sync")?;
    let store = Store::connect(url, StoreOptions::default())?;
    let started = Instant::now();
    if searchable {
        crate::seed::seed_tickets(&store, count, SEED)?;
    } else {
        crate::seed::seed_tickets_unsearchable(&store, count, SEED)?;
    }
    let seconds = started.elapsed().as_secs_f64();
    drop(store);
    Ok(seconds)
}

/// The bytes of each `ticket_search%` table of the SQLite database, from
/// the `sqlite3` shell's `dbstat`.
fn search_pages(db: &Path) -> anyhow::Result<Vec<(String, u64)>> {
    let out = Command::new("sqlite3")
        .arg("-readonly")
        .arg(db)
        .arg(
            "SELECT name, SUM(pgsize) FROM dbstat WHERE name LIKE 'ticket_search%' \
             GROUP BY name ORDER BY name",
        )
        .output()
        .context("running sqlite3")?;
    ensure!(
        out.status.success(),
        "sqlite3: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    let pages: Vec<(String, u64)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            let (name, bytes) = line.split_once('|').context("sqlite3 output")?;
            Ok((name.to_owned(), bytes.parse()?))
        })
        .collect::<anyhow::Result<_>>()?;
    ensure!(!pages.is_empty(), "dbstat found no ticket_search table");
    Ok(pages)
}

/// The database file and its write-ahead log, if one is left.
fn sqlite_file_bytes(db: &Path) -> anyhow::Result<u64> {
    let main = std::fs::metadata(db)?.len();
    let wal = std::fs::metadata(wal_path(db)).map_or(0, |m| m.len());
    Ok(main + wal)
}

fn wal_path(db: &Path) -> std::path::PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-wal");
    name.into()
}

fn remove_sqlite(db: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(name);
    }
}

/// One statement through `psql`; its unaligned, tuples-only output.
fn psql(url: &str, sql: &str) -> anyhow::Result<String> {
    let out = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            url,
            "-c",
            sql,
        ])
        .output()
        .context("running psql")?;
    ensure!(
        out.status.success(),
        "psql {sql:?}: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// The requests' figures and what the machine did meanwhile.
#[derive(Debug)]
struct ProbeRun {
    probes: Vec<Measured>,
    /// Cores busy machine-wide while the requests ran, and the server's,
    /// PostgreSQL's and this client's shares of them: another load on the
    /// machine shows as the rest.
    machine_cores: f64,
    server_cores: f64,
    database_cores: Option<f64>,
    client_cores: f64,
    /// The 1-minute load average before and after.
    load_average: (String, String),
}

/// Sends every probe `requests` times (after [`WARM_UP_ROUNDS`]), one
/// request at a time, in rounds of one of each kind, so drift on a shared
/// machine touches each alike.
/// `database`: the PostgreSQL postmaster's process id, to count its CPU
/// time and its backends'.
fn run_probes(server: &Server, database: Option<u32>, requests: usize) -> anyhow::Result<ProbeRun> {
    let agent = server.login_token(AGENT)?;
    let customer = server.login_token(LIST_READER)?;
    let probes = probes();
    let wire: Vec<Vec<u8>> = probes
        .iter()
        .map(|probe| {
            let token = match probe.who {
                Who::Agent => Some(agent.as_str()),
                Who::Customer => Some(customer.as_str()),
                Who::Anonymous => None,
            };
            match token {
                Some(token) => client::get_request(server.address(), &probe.path, token),
                None => client::get_anonymous(server.address(), &probe.path),
            }
        })
        .collect();
    println!(
        "search: {} kinds of request, {WARM_UP_ROUNDS} + {requests} rounds, one request at a time ...",
        probes.len()
    );
    let mut client = Client::new(server.address());
    let mut latencies = vec![Vec::with_capacity(requests); probes.len()];
    let mut last_bodies = vec![Vec::new(); probes.len()];
    let load_before = load_average();
    let database_cpu = || database.map(family_cpu_seconds).transpose();
    let (machine, server_cpu, database_cpu_before, client_cpu, started) = (
        MachineCpu::now()?,
        server.cpu_seconds()?,
        database_cpu()?,
        cpu_seconds("self")?,
        Instant::now(),
    );
    for round in 0..WARM_UP_ROUNDS + requests {
        for (which, request) in wire.iter().enumerate() {
            let (latency, body) = client
                .exchange(request)
                .with_context(|| format!("GET {}", probes[which].path))?;
            if round >= WARM_UP_ROUNDS {
                latencies[which].push(latency);
            }
            if round + 1 == WARM_UP_ROUNDS + requests {
                last_bodies[which] = body;
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let server_cores = (server.cpu_seconds()? - server_cpu) / seconds;
    let client_cores = (cpu_seconds("self")? - client_cpu) / seconds;
    let database_cores = database_cpu()?
        .zip(database_cpu_before)
        .map(|(after, before)| (after - before) / seconds);
    let machine_cores = machine.cores_busy_since()?;
    let load_after = load_average();
    let measured = probes
        .into_iter()
        .zip(latencies)
        .zip(last_bodies)
        .map(|((probe, mut latencies), body)| {
            latencies.sort_unstable();
            let matches = if probe.who == Who::Anonymous {
                breach_gauge(&body)
            } else {
                let json: serde_json::Value = serde_json::from_slice(&body)?;
                json["meta"]["total"].as_u64()
            };
            Ok(Measured {
                probe,
                matches,
                median: quantile(&latencies, 0.5),
                p99: quantile(&latencies, 0.99),
            })
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(ProbeRun {
        probes: measured,
        machine_cores,
        server_cores,
        database_cores,
        client_cores,
        load_average: (load_before, load_after),
    })
}

/// The open tickets in breach, as `/metrics` counted them.
fn breach_gauge(body: &[u8]) -> Option<u64> {
    String::from_utf8_lossy(body).lines().find_map(|line| {
        let value = line.strip_prefix("tickets_open_in_sla_breach")?;
        value.trim().parse::<f64>().ok().map(|v| v as u64)
    })
}

/// Prints what the section measured on each engine.
pub fn print(reports: &[EngineReport], args: &SearchArgs) {
    for report in reports {
        print_engine(report, args);
    }
}

fn print_engine(report: &EngineReport, args: &SearchArgs) {
    let tickets = report.tickets;
    println!();
    println!(
        "search and SLA breach on {}: {tickets} tickets (seed {SEED}), {}; the release server, \
         each request {} times one at a time on one keep-alive connection, in rounds of one of \
         each kind after {WARM_UP_ROUNDS} unmeasured rounds; cores busy meanwhile: {:.2} \
         machine-wide, of them {:.2} the server,{} {:.2} this client and {:.2} anything else; \
         1-minute load average {} before, {} after",
        report.engine,
        report.setup,
        args.search_requests,
        report.requests.machine_cores,
        report.requests.server_cores,
        report
            .requests
            .database_cores
            .map(|cores| format!(" {cores:.2} PostgreSQL,"))
            .unwrap_or_default(),
        report.requests.client_cores,
        (report.requests.machine_cores
            - report.requests.server_cores
            - report.requests.database_cores.unwrap_or(0.0)
            - report.requests.client_cores)
            .max(0.0),
        report.requests.load_average.0,
        report.requests.load_average.1,
    );
    println!("| measurement | value |");
    println!("|---|---|");
    println!(
        "| seed {tickets} tickets with search words | {:.1} s ({:.0} tickets/s) |",
        report.seed_secs,
        tickets as f64 / report.seed_secs
    );
    println!(
        "| seed the same tickets without search words | {:.1} s ({:.0} tickets/s) |",
        report.plain_seed_secs,
        tickets as f64 / report.plain_seed_secs
    );
    println!(
        "| what the search words cost the seed | {:+.1} s ({:+.1} %) |",
        report.seed_secs - report.plain_seed_secs,
        (report.seed_secs / report.plain_seed_secs - 1.0) * 100.0
    );
    for (what, value) in &report.sizes {
        println!("| {what} | {value} |");
    }
    println!();
    println!(
        "| `GET /api/v1/tickets?…&page=1&limit=20&count=true` | as | matches (share of all tickets) \
         | median | p99 | p99 ≤ {} ms |",
        TARGET_P99.as_millis()
    );
    println!("|---|---|---|---|---|---|");
    for measured in &report.requests.probes {
        let probe = &measured.probe;
        let matches = measured.matches.map_or_else(
            || "?".to_owned(),
            |n| format!("{n} ({:.2} %)", n as f64 / tickets.max(1) as f64 * 100.0),
        );
        let met = measured.p99 <= TARGET_P99;
        let verdict = match (probe.targeted, met) {
            (true, true) => "MET",
            (true, false) => "MISSED",
            (false, true) => "(under, no target)",
            (false, false) => "(over, no target)",
        };
        println!(
            "| {} | {} | {matches} | {:.2} ms | {:.2} ms | {verdict} |",
            probe.label,
            probe.who.label(),
            measured.median.as_secs_f64() * 1e3,
            measured.p99.as_secs_f64() * 1e3,
        );
    }
}
