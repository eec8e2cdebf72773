//! What webhooks cost and how soon they arrive (`--only webhooks`): agents'
//! replies with one endpoint subscribed to `ticket.replied` against none,
//! in alternated rounds on one server; then a burst of replies delivered by
//! the outbox to a local receiver (events a second), and each event's
//! lag from its change (the payload's `timestamp`) to its arrival, both in
//! the burst and for replies sent one at a time.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use chrono::{DateTime, Utc};

use super::client;
use super::server::{AGENT, Server, WRITER};
use super::stats::{median, millis, quantile};

/// The seeded admin, who manages webhooks.
const ADMIN: &str = "iambenkay";
/// `--only webhooks` seeds this many tickets (for the bench's users).
pub const TICKETS: u64 = 1_000;
/// Tickets the bench opens for the replies to go round, so no one
/// ticket's lock decides the rate (and none is resolved, which would
/// refuse a reply).
const REPLIED_TICKETS: usize = 200;
/// Clients sending replies.
const CONNECTIONS: usize = 8;
/// Replies sent one at a time, for the lag of a quiet server.
const QUIET_REPLIES: usize = 50;
/// How long the outbox may take to deliver what a round made.
const DRAIN_LIMIT: Duration = Duration::from_secs(180);

/// The section's options.
#[derive(Debug, clap::Args)]
pub struct WebhookArgs {
    /// Rounds of the reply load, each one run without and one with the
    /// subscribed endpoint; medians are reported.
    #[arg(long, default_value_t = 5)]
    webhook_rounds: usize,
    /// Seconds of each reply run.
    #[arg(long, default_value_t = 4)]
    webhook_seconds: u64,
}

impl WebhookArgs {
    pub fn check(&self) -> anyhow::Result<()> {
        ensure!(
            self.webhook_rounds > 0 && self.webhook_seconds > 0,
            "--webhook-rounds and --webhook-seconds must be positive"
        );
        Ok(())
    }
}

/// What the section measured.
#[derive(Debug)]
pub struct Measured {
    replies_per_second_without: f64,
    replies_per_second_with: f64,
    burst: usize,
    burst_sent_seconds: f64,
    burst_seconds: f64,
    burst_lag: (Duration, Duration),
    quiet_lag: (Duration, Duration),
    delivered: usize,
    duplicates: usize,
}

/// One delivery as the receiver saw it.
#[derive(Debug, Clone)]
struct Arrival {
    webhook_id: String,
    lag: Duration,
    at: Instant,
}

/// A local HTTP receiver answering 204 to every delivery, on a runtime of
/// its own; stops when dropped.
struct Receiver {
    address: SocketAddr,
    arrivals: Arc<Mutex<Vec<Arrival>>>,
    _runtime: tokio::runtime::Runtime,
}

impl Receiver {
    fn start() -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let arrivals: Arc<Mutex<Vec<Arrival>>> = Arc::default();
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let address = listener.local_addr()?;
        let kept = Arc::clone(&arrivals);
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                    let kept = Arc::clone(&kept);
                    async move {
                        record(&kept, &headers, &body);
                        axum::http::StatusCode::NO_CONTENT
                    }
                },
            ),
        );
        runtime.spawn(async move { axum::serve(listener, app).await });
        Ok(Receiver {
            address,
            arrivals,
            _runtime: runtime,
        })
    }

    fn count(&self) -> usize {
        self.arrivals.lock().expect("arrivals").len()
    }

    /// Waits until `expected` deliveries have arrived in all.
    fn wait_for(&self, expected: usize) -> anyhow::Result<()> {
        let deadline = Instant::now() + DRAIN_LIMIT;
        while self.count() < expected {
            ensure!(
                Instant::now() < deadline,
                "the outbox delivered {} of {expected} events in {DRAIN_LIMIT:?}",
                self.count()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    fn since(&self, first: usize) -> Vec<Arrival> {
        self.arrivals.lock().expect("arrivals")[first..].to_vec()
    }
}

fn record(arrivals: &Mutex<Vec<Arrival>>, headers: &axum::http::HeaderMap, body: &[u8]) {
    let at = Instant::now();
    let now = Utc::now();
    let webhook_id = headers
        .get("webhook-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let happened = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|payload| payload["timestamp"].as_str().map(str::to_owned))
        .and_then(|stamp| DateTime::parse_from_rfc3339(&stamp).ok());
    let lag = happened
        .and_then(|happened| (now - happened.with_timezone(&Utc)).to_std().ok())
        .unwrap_or_default();
    arrivals.lock().expect("arrivals").push(Arrival {
        webhook_id,
        lag,
        at,
    });
}

/// Measures on the SQLite database `db`, which holds the bench's users.
pub fn measure(root: &Path, db: &Path, args: &WebhookArgs) -> anyhow::Result<Measured> {
    let receiver = Receiver::start()?;
    let server = Server::start(
        root,
        db,
        &[
            ("ACCOUNT_WRITE_LIMIT", "0"),
            ("ADDRESS_RATE_LIMIT", "0"),
            // The receiver is plain HTTP on loopback.
            ("WEBHOOK_ALLOW_HTTP", "true"),
            ("WEBHOOK_ALLOW_PRIVATE", "true"),
        ],
    )?;
    let admin = server.login_token(ADMIN)?;
    let agent = server.login_token(AGENT)?;
    let customer = server.login_token(WRITER)?;
    let endpoint = create_endpoint(&server, &admin, receiver.address)?;
    let tickets = (0..REPLIED_TICKETS)
        .map(|_| server.open_ticket(&customer, "Webhook bench"))
        .collect::<anyhow::Result<Vec<u64>>>()?;

    println!(
        "webhooks: {} rounds of replies, without and with one endpoint ...",
        args.webhook_rounds
    );
    let (mut without, mut with) = (Vec::new(), Vec::new());
    let mut expected = 0;
    for round in 0..args.webhook_rounds {
        // Each round starts with the other side, so neither always runs first.
        for subscribed in [round % 2 == 0, round % 2 != 0] {
            set_enabled(&server, &admin, &endpoint, subscribed)?;
            let tally = server.reply_load(
                &agent,
                &tickets,
                CONNECTIONS,
                Instant::now() + Duration::from_secs(args.webhook_seconds),
            )?;
            let created = tally.count(201);
            if subscribed {
                expected += created as usize;
                with.push(tally.per_second(201));
            } else {
                without.push(tally.per_second(201));
            }
            // The next run starts with the outbox empty, so deliveries
            // left over do not load it.
            receiver.wait_for(expected)?;
        }
    }

    set_enabled(&server, &admin, &endpoint, true)?;
    println!(
        "webhooks: a burst of replies for {} s ...",
        args.webhook_seconds
    );
    let first = receiver.count();
    let burst_started = Instant::now();
    let burst_tally = server.reply_load(
        &agent,
        &tickets,
        CONNECTIONS,
        burst_started + Duration::from_secs(args.webhook_seconds),
    )?;
    let burst = burst_tally.count(201) as usize;
    let burst_sent_seconds = burst_started.elapsed().as_secs_f64();
    receiver.wait_for(first + burst)?;
    let burst_arrivals = receiver.since(first);
    let last = burst_arrivals
        .iter()
        .map(|arrival| arrival.at)
        .max()
        .unwrap_or(burst_started);
    let burst_seconds = (last - burst_started).as_secs_f64();

    println!("webhooks: {QUIET_REPLIES} replies one at a time ...");
    let first = receiver.count();
    for (sent, ticket) in tickets.iter().take(QUIET_REPLIES).enumerate() {
        server.reply(&agent, *ticket, "One more thing.")?;
        receiver.wait_for(first + sent + 1)?;
    }
    let quiet_arrivals = receiver.since(first);

    let all = receiver.since(0);
    let distinct: HashSet<&str> = all
        .iter()
        .map(|arrival| arrival.webhook_id.as_str())
        .collect();
    Ok(Measured {
        replies_per_second_without: median(&without),
        replies_per_second_with: median(&with),
        burst,
        burst_sent_seconds,
        burst_seconds,
        burst_lag: lags(&burst_arrivals),
        quiet_lag: lags(&quiet_arrivals),
        delivered: all.len(),
        duplicates: all.len() - distinct.len(),
    })
}

/// The p50 and p99 of the arrivals' lags.
fn lags(arrivals: &[Arrival]) -> (Duration, Duration) {
    let mut lags: Vec<Duration> = arrivals.iter().map(|arrival| arrival.lag).collect();
    lags.sort_unstable();
    if lags.is_empty() {
        return (Duration::ZERO, Duration::ZERO);
    }
    (quantile(&lags, 0.5), quantile(&lags, 0.99))
}

/// Creates the endpoint subscribed to `ticket.replied`; its id.
fn create_endpoint(server: &Server, admin: &str, receiver: SocketAddr) -> anyhow::Result<String> {
    let body = serde_json::json!({
        "url": format!("http://{receiver}/hook"),
        "events": ["ticket.replied"],
        "description": "bench receiver",
    });
    let request = client::post_json_request(
        server.address(),
        "/api/v1/webhooks",
        Some(admin),
        &body.to_string(),
    );
    let answer = client::once(server.address(), &request, true)?;
    ensure!(
        answer.status == 201,
        "creating the webhook: {}: {}",
        answer.status,
        String::from_utf8_lossy(&answer.body)
    );
    let json: serde_json::Value = serde_json::from_slice(&answer.body)?;
    json["data"]["_id"]
        .as_str()
        .map(str::to_owned)
        .context("no _id in the webhook's answer")
}

fn set_enabled(server: &Server, admin: &str, endpoint: &str, enabled: bool) -> anyhow::Result<()> {
    server.patch_json(
        admin,
        &format!("/api/v1/webhooks/{endpoint}"),
        &serde_json::json!({ "enabled": enabled }),
    )
}

pub fn print(measured: &Measured) {
    let ratio = measured.replies_per_second_with / measured.replies_per_second_without;
    println!();
    println!(
        "| webhooks (SQLite, replies going round {REPLIED_TICKETS} open tickets, {CONNECTIONS} clients) | median |"
    );
    println!("|---|---|");
    println!(
        "| `POST /tickets/:id/replies` with no endpoint / one subscribed | {:.0} / {:.0} a second |",
        measured.replies_per_second_without, measured.replies_per_second_with
    );
    println!(
        "| replies with the endpoint against without (target ≥ 0.85x) | {ratio:.2}x, {} |",
        if ratio >= 0.85 { "met" } else { "missed" }
    );
    println!(
        "| a burst of {} replies sent in {:.1} s, all delivered | {:.2} s after the burst's start, {:.0} events a second |",
        measured.burst,
        measured.burst_sent_seconds,
        measured.burst_seconds,
        measured.burst as f64 / measured.burst_seconds
    );
    println!(
        "| lag from change to arrival, in the burst: p50 / p99 | {:.1} / {:.1} ms |",
        millis(measured.burst_lag.0),
        millis(measured.burst_lag.1)
    );
    println!(
        "| lag from change to arrival, replies one at a time: p50 / p99 | {:.1} / {:.1} ms |",
        millis(measured.quiet_lag.0),
        millis(measured.quiet_lag.1)
    );
    println!(
        "| deliveries in all / delivered twice | {} / {} |",
        measured.delivered, measured.duplicates
    );
}
