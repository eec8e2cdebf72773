//! `cargo xtask schemathesis`: an outside fuzzer against the document the
//! server serves. For each engine (SQLite, then a throwaway PostgreSQL) it
//! makes a fresh database, loads some tickets and one account of each
//! role, starts the `api` binary on it with every request budget off, and
//! runs Schemathesis (`schemathesis run --checks all`) once as each role,
//! bounded in time. Any finding fails the command. What each check means,
//! and the few that are narrowed, is in `xtask/schemathesis.toml`.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use domain::{Actor, Pin, Role, TicketBody, Username};
use store::{DatabaseUrl, NewTicket, Store, StoreOptions};
use testkit::{Log, Ready, ServerProcess};

use crate::test_env;

/// The flags of `cargo xtask schemathesis`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Seconds Schemathesis spends on each run (one role on one engine;
    /// six runs in all).
    #[arg(long, default_value_t = 25)]
    max_time: u32,
    /// At most this many generated requests per operation in each phase.
    #[arg(long, default_value_t = 25)]
    max_examples: u32,
    /// Schemathesis' seed, to replay a run.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Only this engine: `sqlite` or `postgres`.
    #[arg(long)]
    only: Option<String>,
}

/// The accounts Schemathesis speaks as. Their PIN is no PIN a fuzzer
/// would try first (the document's example is `0000`): a PIN change
/// with the right current PIN would end the run's session.
const PIN: &str = "58204613";
const ACCOUNTS: [(&str, Role); 3] = [
    ("fuzz-customer", Role::Customer),
    ("fuzz-agent", Role::SupportAgent),
    ("fuzz-admin", Role::Admin),
];

/// The server's request budgets, each turned off (0): the fuzzer sends
/// hundreds of logins, sign-ups and writes a minute from one address and
/// one account, which a budget would answer 429 (a status the checks of
/// malformed input do not expect). A new budget's switch belongs here.
const BUDGETS_OFF: [(&str, &str); 3] = [
    ("ADDRESS_RATE_LIMIT", "0"),
    ("ACCOUNT_WRITE_LIMIT", "0"),
    ("FAILED_LOGIN_LIMIT", "0"),
];

/// The inbound mail token of the server under test.
const INBOUND_TOKEN: &str = "schemathesis-inbound-token-schemathesis-inbound";
const JWT_SECRET: &str = "schemathesis-secret-of-at-least-32-bytes";

pub fn run(root: &Path, args: &Args) -> anyhow::Result<ExitCode> {
    let version = Command::new("schemathesis")
        .arg("--version")
        .output()
        .context("running `schemathesis --version`: install it with `python3 -m pip install schemathesis`")?;
    ensure!(version.status.success(), "`schemathesis --version` failed");
    eprintln!("xtask: {}", String::from_utf8_lossy(&version.stdout).trim());
    let built = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .current_dir(root)
        .args(["build", "-p", "api", "--bin", "api"])
        .status()
        .context("building the api binary")?;
    ensure!(built.success(), "cargo build -p api failed");

    let engines: Vec<&str> = match args.only.as_deref() {
        None => vec!["sqlite", "postgres"],
        Some(one @ ("sqlite" | "postgres")) => vec![one],
        Some(other) => bail!("--only takes sqlite or postgres, not {other}"),
    };
    let started = Instant::now();
    let mut failed = Vec::new();
    for engine in engines {
        let dir = tempfile::tempdir().context("a temporary directory")?;
        // Kept until the engine's runs end.
        let cluster = match engine {
            "postgres" => Some(test_env::start_cluster()?),
            _ => None,
        };
        let url = match &cluster {
            Some(cluster) => test_env::cluster_url(cluster),
            None => format!("sqlite://{}", dir.path().join("tracker.db").display()),
        };
        prepare(&url)?;
        let server = ServerProcess::build(root.join("target/debug/api"))
            .current_dir(dir.path())
            .env("DATABASE_URL", &url)
            .env("JWT_SECRET", JWT_SECRET)
            .env("RUST_LOG", "warn")
            // Inbound mail's endpoint on, so it is fuzzed as deployed (its
            // token is none of the fuzzer's: every message it sends is a 401).
            .env("INBOUND_ADDRESS", "support@example.com")
            .env("INBOUND_TOKEN", INBOUND_TOKEN)
            .envs(BUDGETS_OFF.iter().copied())
            .log(Log::File(dir.path().join("server.log")))
            .ready(Ready::Answers200("/health".into()))
            .start()
            .context("starting the api binary")?;
        for (username, role) in ACCOUNTS {
            let token = log_in(server.address(), username)?;
            eprintln!("xtask: schemathesis on {engine} as {}", role.as_str());
            // Its cache of past crashes (`.schemathesis/`) goes with the
            // temporary directory: each run starts from nothing.
            let status = Command::new("schemathesis")
                .current_dir(dir.path())
                .env(
                    "SCHEMATHESIS_HOOKS",
                    root.join("xtask/schemathesis_hooks.py"),
                )
                .arg("--config-file")
                .arg(root.join("xtask/schemathesis.toml"))
                .arg("run")
                .arg(server.url("/api/v1/openapi.json"))
                .args(["--checks", "all"])
                .args(["--header", &format!("Authorization: Bearer {token}")])
                .args(["--max-time", &args.max_time.to_string()])
                .args(["--max-examples", &args.max_examples.to_string()])
                .args(["--seed", &args.seed.to_string()])
                .args(["--workers", "1"])
                .args(["--request-timeout", "30"])
                .status()
                .context("running schemathesis")?;
            if !status.success() {
                failed.push(format!("{engine} as {}", role.as_str()));
            }
        }
        drop(server);
        drop(cluster);
    }
    eprintln!(
        "xtask: schemathesis took {:.0} s",
        started.elapsed().as_secs_f64()
    );
    if failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("xtask: schemathesis found failures: {}", failed.join(", "));
        Ok(ExitCode::FAILURE)
    }
}

/// Migrates the fresh database at `url` and loads what the fuzzer finds
/// there: the seed's tickets and accounts (so ids lead somewhere), then
/// the fuzzer's own accounts, whose ids come after the seed's small ones,
/// and a few tickets of the fuzzer's customer.
fn prepare(url: &str) -> anyhow::Result<()> {
    let url = DatabaseUrl::parse(url)?;
    store::migrate(&url)?;
    let store = Store::connect(&url, StoreOptions::default())?;
    crate::seed::seed_tickets(&store, 40, 1)?;
    let pin = Pin::parse(PIN)?;
    for (username, role) in ACCOUNTS {
        let user = store.bulk_ensure_user(&Username::parse(username)?, &pin, role)?;
        if role == Role::Customer {
            let customer = Actor::for_tests(user.id, role);
            for body in ["The printer is on fire", "Refund, please"] {
                let new = NewTicket {
                    subject: None,
                    body: TicketBody::parse(body)?,
                };
                store.create_ticket(customer, &new)?;
            }
        }
    }
    Ok(())
}

/// Logs `username` in with [`PIN`]; its bearer token.
fn log_in(address: SocketAddr, username: &str) -> anyhow::Result<String> {
    let body = serde_json::json!({ "username": username, "pin": PIN }).to_string();
    let request = format!(
        "POST /api/v1/login HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.write_all(request.as_bytes())?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let (head, json) = answer
        .split_once("\r\n\r\n")
        .context("an answer without a body")?;
    ensure!(
        head.starts_with("HTTP/1.1 200"),
        "login of {username}: {head}"
    );
    let json: serde_json::Value = serde_json::from_str(json)
        .with_context(|| format!("login of {username}: not JSON: {json}"))?;
    json["token"]
        .as_str()
        .map(str::to_owned)
        .context("a login answer without a token")
}
