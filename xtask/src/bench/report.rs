//! The bench's first table, on a fresh SQLite database: seeding speed,
//! the streamed report's time and the server's memory (against `sqlite3
//! -csv` on the same query), list and login latency, what instrumentation
//! costs, and the exit status after SIGTERM.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context as _, ensure};
use domain::{Actor, Role, UserId};
use store::{DatabaseUrl, Store, StoreOptions};

use super::client;
use super::instrumentation::{self, Variants};
use super::server::{AGENT, Server};
use super::stats::median;

/// What the first table shows.
#[derive(Debug)]
pub struct Basics {
    /// The seeded database, which the login flood uses next.
    pub db: PathBuf,
    tickets: u64,
    runs: usize,
    seed_secs: f64,
    /// Per run: the whole CSV download, from the connect to the last byte.
    report: Vec<f64>,
    report_bytes: u64,
    sqlite_secs: f64,
    sqlite_rss: Option<u64>,
    baseline_rss: u64,
    peak_rss: u64,
    list_by_id: f64,
    list_by_creation: f64,
    login: Vec<f64>,
    /// With request ids, log lines and metrics; without the log lines;
    /// without any of them.
    variants: Variants,
    clean_exit: bool,
}

/// A freshly seeded benchmark database, still open (the search section's
/// `Seeded` is a database handed over by its URL).
#[derive(Debug)]
pub struct BenchDatabase {
    pub db: PathBuf,
    /// Still open on `db`.
    pub store: Store,
    /// The seeded agent ([`super::server::AGENT`]).
    pub agent: UserId,
    /// How long the seeding took.
    pub seconds: f64,
}

/// Seeds `tickets` (with the bench's users) into a new `dir/bench.db`.
pub fn seed(dir: &Path, tickets: u64) -> anyhow::Result<BenchDatabase> {
    let db = dir.join("bench.db");
    let store = Store::connect(&DatabaseUrl::Sqlite(db.clone()), StoreOptions::default())?;
    let started = Instant::now();
    let agent = crate::seed::seed_tickets(&store, tickets, 42)?;
    Ok(BenchDatabase {
        db,
        store,
        agent,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Seeds `tickets` into `dir/bench.db` and measures on it, each timed
/// request `runs` times (the list pages ten times as often).
pub fn measure(root: &Path, dir: &Path, tickets: u64, runs: usize) -> anyhow::Result<Basics> {
    let BenchDatabase {
        db: db_path,
        store,
        agent,
        seconds: seed_secs,
    } = seed(dir, tickets)?;
    // The report's own query, for the `sqlite3` shell to run as text.
    let reader = Actor::for_tests(agent, Role::SupportAgent);
    let report_sql = store.open_resolved_report(reader)?.sqlite_sql();
    drop(store);

    let server = Server::start(root, &db_path, &[])?;
    let token = server.login_token(AGENT)?;
    let baseline_rss = server.memory_kib("VmRSS")?;

    let address = server.address();
    // Each request on a connection of its own, timed from the connect to
    // the answer's last byte, as `curl` times one.
    let timed = |path: &str| -> anyhow::Result<client::Fetched> {
        let request = client::get_request(address, path, &token);
        let answer = client::once(address, &request, false)?;
        ensure!(
            answer.status == 200,
            "GET {path} answered {}",
            answer.status
        );
        Ok(answer)
    };
    let mut report = Vec::new();
    let mut report_bytes = 0;
    for _ in 0..runs {
        // The whole CSV as streamed, counted, not kept.
        let answer = timed("/api/v1/tickets/resolved-report")?;
        report.push(answer.latency.as_secs_f64());
        report_bytes = answer.body_bytes;
    }
    let peak_rss = server.memory_kib("VmHWM")?;

    let list_latency = |query: &str| -> anyhow::Result<f64> {
        let path = format!("/api/v1/tickets?{query}");
        let times: Vec<f64> = (0..runs * 10)
            .map(|_| timed(&path).map(|answer| answer.latency.as_secs_f64()))
            .collect::<anyhow::Result<_>>()?;
        Ok(median(&times))
    };
    let list_by_id = list_latency("page=50&limit=20")?;
    let list_by_creation = list_latency("page=50&limit=20&sort=createdAt&direction=desc")?;
    let login: Vec<f64> = (0..runs)
        .map(|_| server.login(AGENT).map(|(seconds, _)| seconds))
        .collect::<anyhow::Result<_>>()?;
    let clean_exit = server.stop()?;
    let variants = instrumentation::measure(root, &db_path)?;

    let (sqlite_secs, sqlite_rss) = sqlite3_report(&db_path, &report_sql, runs)?;
    Ok(Basics {
        db: db_path,
        tickets,
        runs,
        seed_secs,
        report,
        report_bytes,
        sqlite_secs,
        sqlite_rss,
        baseline_rss,
        peak_rss,
        list_by_id,
        list_by_creation,
        login,
        variants,
        clean_exit,
    })
}

pub fn print(basics: &Basics) {
    println!("| measurement | median |");
    println!("|---|---|");
    println!(
        "| seed {} tickets (with replies, notes, tags and history) | {:.1} s ({:.0} tickets/s) |",
        basics.tickets,
        basics.seed_secs,
        basics.tickets as f64 / basics.seed_secs
    );
    println!(
        "| report over HTTP, {:.1} MB CSV | {:.3} s |",
        basics.report_bytes as f64 / 1e6,
        median(&basics.report)
    );
    println!(
        "| `sqlite3 -csv`, same query | {:.3} s |",
        basics.sqlite_secs
    );
    println!(
        "| report / sqlite3 time ratio | {:.2} |",
        median(&basics.report) / basics.sqlite_secs
    );
    println!(
        "| server RSS before the report | {:.1} MB |",
        basics.baseline_rss as f64 / 1024.0
    );
    println!(
        "| server peak RSS after {} reports | {:.1} MB |",
        basics.runs,
        basics.peak_rss as f64 / 1024.0
    );
    match basics.sqlite_rss {
        Some(kib) => println!(
            "| `sqlite3 -csv` peak RSS | {:.1} MB |",
            kib as f64 / 1024.0
        ),
        None => println!("| `sqlite3 -csv` peak RSS | (no /usr/bin/time) |"),
    }
    println!(
        "| GET /tickets page 50 of 20, by ticketId | {:.2} ms |",
        basics.list_by_id * 1e3
    );
    println!(
        "| GET /tickets page 50 of 20, by createdAt desc | {:.2} ms |",
        basics.list_by_creation * 1e3
    );
    println!(
        "| POST /login (Argon2id) | {:.1} ms |",
        median(&basics.login) * 1e3
    );
    instrumentation::print_rows("", &basics.variants);
    println!(
        "| exit status after SIGTERM | {} |",
        if basics.clean_exit { "0" } else { "non-zero" }
    );
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
