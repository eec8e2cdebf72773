//! `cargo xtask bench`: seeds a fresh SQLite database, runs the release
//! server on it and measures what the contract cares about: seeding speed,
//! the streamed report's time and the server's peak memory (against
//! `sqlite3 -csv` on the same query), list and login latency. It prints
//! medians; it asserts nothing, so a busy machine cannot make it flaky.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use domain::{Actor, Role};
use store::{DatabaseUrl, PoolOptions, Store};

use crate::load;

/// `/proc` counts CPU time in clock ticks; Linux's USER_HZ is 100.
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

/// What to measure with.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Tickets to seed before measuring.
    #[arg(long, default_value_t = 200_000)]
    tickets: u64,
    /// Repetitions of each timed request; the median is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
}

pub fn run(root: &Path, args: &BenchArgs) -> anyhow::Result<()> {
    ensure!(args.runs > 0, "--runs must be positive");
    println!("building the release server ...");
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .current_dir(root)
        .args(["build", "--release", "--quiet", "-p", "api"])
        .status()?;
    ensure!(status.success(), "cargo build --release -p api failed");

    let dir = std::env::temp_dir().join(format!("tracker-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = measure(root, &dir, args);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn measure(root: &Path, dir: &Path, args: &BenchArgs) -> anyhow::Result<()> {
    let db_path = dir.join("bench.db");
    let url = DatabaseUrl::Sqlite(db_path.clone());
    let store = Store::connect(&url, PoolOptions::default())?;
    let started = Instant::now();
    let agent = crate::seed::seed_tickets(&store, args.tickets, 42)?;
    let seed_secs = started.elapsed().as_secs_f64();
    // The report's own query, for the `sqlite3` shell to run as text.
    let reader = Actor {
        id: agent,
        role: Role::SupportAgent,
    };
    let report_sql = store.open_resolved_report(reader)?.sqlite_sql();
    drop(store);

    let server = Server::start(root, &db_path, &[])?;
    let token = server.login_token()?;
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

    println!();
    println!("machine: {} cores, {}", cores(), cpu_model());
    println!("| measurement | median |");
    println!("|---|---|");
    println!(
        "| seed {} tickets (with replies) | {:.1} s ({:.0} tickets/s) |",
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

fn median(values: &[f64]) -> f64 {
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
struct Server {
    child: Child,
    address: SocketAddr,
}

impl Server {
    fn start(root: &Path, db: &Path, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let binary: PathBuf = root.join("target/release/api");
        let child = Command::new(&binary)
            .env("DATABASE_URL", format!("sqlite://{}", db.display()))
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

    fn login(&self) -> anyhow::Result<(f64, String)> {
        let out = Command::new("curl")
            .args([
                "-s",
                "-f",
                "-w",
                "\n%{time_total}",
                "-H",
                "Content-Type: application/json",
            ])
            .args(["-d", r#"{"username":"benjamin","pin":"0000"}"#])
            .arg(self.url("/api/v1/login"))
            .output()?;
        ensure!(out.status.success(), "login failed: {}", out.status);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, seconds) = text.rsplit_once('\n').context("curl output")?;
        Ok((seconds.trim().parse()?, body.to_owned()))
    }

    fn login_seconds(&self) -> anyhow::Result<f64> {
        Ok(self.login()?.0)
    }

    fn login_token(&self) -> anyhow::Result<String> {
        let (_, body) = self.login()?;
        let json: serde_json::Value = serde_json::from_str(&body)?;
        json["token"]
            .as_str()
            .map(str::to_owned)
            .context("no token in the login answer")
    }

    /// The server's CPU time so far (user + system), from `/proc/PID/stat`.
    fn cpu_seconds(&self) -> anyhow::Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))?;
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
    fn stop(mut self) -> anyhow::Result<bool> {
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
