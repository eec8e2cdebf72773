//! What inbound mail costs (`--only inbound`): messages a second through
//! `POST /api/v1/inbound/email` on SQLite, as a mail server's pipe posts
//! them, from 8 clients in rounds: new tickets (each from a known customer)
//! and customers' replies to tickets an agent answered (each naming its
//! ticket in `References`, as a reply to our mail does). Then memory: the
//! server's RSS idle, and its peak while 20 messages of 25 MiB (mostly a
//! base64 attachment) are posted at once: the reading budget
//! (`edge::inbound`, 32 MiB of messages read at once) should keep the peak
//! near one message's cost, not twenty's.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::ensure;

use super::client::{self, Clients, Connection, Tally};
use super::server::{AGENT, Server};
use super::stats::{count_by_status, median};

/// `--only inbound` seeds this many tickets (for the bench's users).
pub const TICKETS: u64 = 1_000;
const TOKEN: &str = "bench-inbound-token-0123456789abcdef";
const PUBLIC_HOST: &str = "support.example.com";
/// Known customers the mail comes from (seeded `customer-01`...).
const SENDERS: usize = 8;
/// Tickets each sender's replies go round, all answered by an agent.
const TICKETS_PER_SENDER: usize = 25;
const CONNECTIONS: usize = 8;
/// The large messages posted at once, and the size of each.
const LARGE_MESSAGES: usize = 20;
const LARGE_MESSAGE_BYTES: usize = 25 * 1024 * 1024;
/// The peak over idle the reading budget should keep the server within.
const MEMORY_TARGET_KIB: u64 = 128 * 1024;

/// The section's options.
#[derive(Debug, clap::Args)]
pub struct InboundArgs {
    /// Rounds of each load (new tickets, replies); medians are reported.
    #[arg(long, default_value_t = 5)]
    inbound_rounds: usize,
    /// Seconds of each run of a load.
    #[arg(long, default_value_t = 4)]
    inbound_seconds: u64,
}

impl InboundArgs {
    pub fn check(&self) -> anyhow::Result<()> {
        ensure!(
            self.inbound_rounds > 0 && self.inbound_seconds > 0,
            "--inbound-rounds and --inbound-seconds must be positive"
        );
        Ok(())
    }
}

/// What the section measured.
#[derive(Debug)]
pub struct Measured {
    new_tickets_per_second: f64,
    replies_per_second: f64,
    /// What the last posted reply became (`appended`, checked).
    last_reply_outcome: String,
    idle_rss_kib: u64,
    peak_rss_kib: u64,
    /// Whether `VmHWM` was reset to the idle figure before the large
    /// messages (`/proc/PID/clear_refs`); if not, the peak is the
    /// process's whole life's.
    peak_reset: bool,
    large_statuses: String,
    large_seconds: f64,
}

/// Measures on the SQLite database `db`, which holds the bench's users.
pub fn measure(root: &Path, db: &Path, args: &InboundArgs) -> anyhow::Result<Measured> {
    let limit = u32::MAX.to_string();
    let server = Server::start(
        root,
        db,
        &[
            ("ACCOUNT_WRITE_LIMIT", "0"),
            ("ADDRESS_RATE_LIMIT", "0"),
            ("INBOUND_ADDRESS", "support@example.com"),
            ("INBOUND_TOKEN", TOKEN),
            ("INBOUND_SENDER_LIMIT", limit.as_str()),
            ("PUBLIC_URL", "https://support.example.com"),
        ],
    )?;
    let agent = server.login_token(AGENT)?;
    let mut senders = Vec::new();
    let mut answered = Vec::new();
    for n in 1..=SENDERS {
        let username = format!("customer-{n:02}");
        let address = format!("{username}@customers.example");
        let token = server.login_token(&username)?;
        server.patch_json(
            &token,
            "/api/v1/users/me",
            &serde_json::json!({ "email": address }),
        )?;
        for _ in 0..TICKETS_PER_SENDER {
            let ticket = server.open_ticket(&token, "Inbound bench")?;
            server.reply(&agent, ticket, "Please try again.")?;
            answered.push((address.clone(), ticket));
        }
        senders.push(address);
    }

    println!(
        "inbound: {} rounds of new tickets and replies by mail ...",
        args.inbound_rounds
    );
    let sent = AtomicUsize::new(0);
    let (mut new_rates, mut reply_rates) = (Vec::new(), Vec::new());
    for round in 0..args.inbound_rounds {
        for replying in [round % 2 == 0, round % 2 != 0] {
            let post = |buffer: &mut Vec<u8>| {
                let n = sent.fetch_add(1, Ordering::Relaxed);
                let message = if replying {
                    let (from, ticket) = &answered[n % answered.len()];
                    reply(n, from, *ticket)
                } else {
                    new_ticket(n, &senders[n % senders.len()])
                };
                buffer.extend_from_slice(&mail_request(&server, &message));
            };
            let clients = Clients {
                connections: CONNECTIONS,
                request: &post,
                record_latencies: false,
            };
            let until = Instant::now() + Duration::from_secs(args.inbound_seconds);
            let tally = client::run(server.address(), &clients, until)?;
            every_taken(&tally)?;
            match replying {
                true => reply_rates.push(tally.per_second(200)),
                false => new_rates.push(tally.per_second(200)),
            }
        }
    }
    // The load's replies were appended, not held: one more, read back.
    let (from, ticket) = &answered[0];
    let message = reply(sent.fetch_add(1, Ordering::Relaxed), from, *ticket);
    let answer = client::once(server.address(), &mail_request(&server, &message), true)?;
    let json: serde_json::Value = serde_json::from_slice(&answer.body)?;
    let last_reply_outcome = json["data"]["outcome"].as_str().unwrap_or("?").to_owned();

    println!("inbound: {LARGE_MESSAGES} messages of 25 MiB at once ...");
    std::thread::sleep(Duration::from_secs(1));
    let idle_rss_kib = server.memory_kib("VmRSS")?;
    let peak_reset = server.reset_peak_memory().is_ok();
    let template = large_message(LARGE_MESSAGE_BYTES);
    let started = Instant::now();
    let statuses = std::thread::scope(|scope| {
        let posts: Vec<_> = (0..LARGE_MESSAGES)
            .map(|n| {
                let request = mail_request(
                    &server,
                    &template.replacen("<large-00@", &format!("<large-{n:02}@"), 1),
                );
                let address = server.address();
                scope.spawn(move || -> anyhow::Result<u16> {
                    let mut connection = Connection::open(address)?;
                    Ok(connection.exchange(&request)?.status)
                })
            })
            .collect();
        posts
            .into_iter()
            .map(|post| post.join().expect("a posting thread"))
            .collect::<anyhow::Result<Vec<u16>>>()
    })?;
    let large_seconds = started.elapsed().as_secs_f64();
    let peak_rss_kib = server.memory_kib("VmHWM")?;
    let mut by_status = std::collections::BTreeMap::new();
    for status in statuses {
        *by_status.entry(status).or_insert(0u64) += 1;
    }
    ensure!(
        server.stop()?,
        "the inbound bench's server did not exit cleanly"
    );
    Ok(Measured {
        new_tickets_per_second: median(&new_rates),
        replies_per_second: median(&reply_rates),
        last_reply_outcome,
        idle_rss_kib,
        peak_rss_kib,
        peak_reset,
        large_statuses: count_by_status(&by_status),
        large_seconds,
    })
}

/// Every message of a run taken (200), or why not.
fn every_taken(tally: &Tally) -> anyhow::Result<()> {
    ensure!(
        tally.count(200) == tally.total(),
        "inbound mail answered other than 200: {:?}{}",
        tally.statuses,
        tally
            .first_error
            .as_ref()
            .map(|error| format!(", first error: {error}"))
            .unwrap_or_default()
    );
    Ok(())
}

/// The bytes of `POST /api/v1/inbound/email` with `message`.
fn mail_request(server: &Server, message: &str) -> Vec<u8> {
    let mut request = format!(
        "POST /api/v1/inbound/email HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: message/rfc822\r\nContent-Length: {}\r\n\r\n",
        server.address(),
        message.len()
    )
    .into_bytes();
    request.extend_from_slice(message.as_bytes());
    request
}

/// Message `n`, a new ticket from `from`.
fn new_ticket(n: usize, from: &str) -> String {
    format!(
        "From: Customer <{from}>\r\nTo: support@example.com\r\nSubject: Printer {n} is offline\r\n\
         Message-ID: <new-{n}-{}@customers.example>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n\
         Hello,\r\n\r\nthe printer on floor {n} shows offline since this morning.\r\n\r\nThanks\r\n",
        std::process::id()
    )
}

/// Message `n`, `from`'s reply to their `ticket`, quoting our mail.
fn reply(n: usize, from: &str, ticket: u64) -> String {
    format!(
        "From: Customer <{from}>\r\nTo: support@example.com\r\nSubject: Re: [#{ticket}] Inbound bench\r\n\
         Message-ID: <reply-{n}-{}@customers.example>\r\n\
         References: <ticket-{ticket}@{PUBLIC_HOST}>\r\nIn-Reply-To: <ticket-{ticket}@{PUBLIC_HOST}>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         It still does not print.\r\n\r\nOn Mon, 7 Dec 2026 at 10:00, Support <support@example.com> wrote:\r\n\
         > Please try again.\r\n",
        std::process::id()
    )
}

/// A new ticket's message of `bytes` in all (give or take a line): a
/// short text and a base64 attachment for the rest, as a scan or a log
/// file is mailed.
fn large_message(bytes: usize) -> String {
    let head = "From: Big Sender <big@customers.example>\r\nTo: support@example.com\r\n\
        Subject: The scan you asked for\r\nMessage-ID: <large-00@customers.example>\r\n\
        MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
        Content-Type: text/plain; charset=utf-8\r\n\r\nThe scan is attached.\r\n--b\r\n\
        Content-Type: application/pdf; name=\"scan.pdf\"\r\n\
        Content-Disposition: attachment; filename=\"scan.pdf\"\r\n\
        Content-Transfer-Encoding: base64\r\n\r\n";
    let tail = "--b--\r\n";
    // 76 characters a line, as encoders write base64.
    let line = "QmVuY2ggYXR0YWNobWVudCBieXRlcywgYWxsIGFsaWtlLCBub3RoaW5nIHRvIHNlZSBoZXJlLi4u\r\n";
    let lines = (bytes - head.len() - tail.len()) / line.len();
    let mut message = String::with_capacity(bytes);
    message.push_str(head);
    for _ in 0..lines {
        message.push_str(line);
    }
    message.push_str(tail);
    message
}

pub fn print(measured: &Measured) {
    let mib = |kib: u64| kib as f64 / 1024.0;
    let over = measured.peak_rss_kib.saturating_sub(measured.idle_rss_kib);
    println!();
    println!(
        "| inbound mail (SQLite, `POST /api/v1/inbound/email`, {CONNECTIONS} clients, {SENDERS} known customers) | median |"
    );
    println!("|---|---|");
    println!(
        "| new tickets by mail / customers' replies by mail (to {} answered tickets) | {:.0} / {:.0} a second |",
        SENDERS * TICKETS_PER_SENDER,
        measured.new_tickets_per_second,
        measured.replies_per_second
    );
    println!(
        "| a reply after the load became | {} |",
        measured.last_reply_outcome
    );
    println!(
        "| server RSS idle / peak while taking {LARGE_MESSAGES} messages of 25 MiB at once{} | {:.0} / {:.0} MiB |",
        if measured.peak_reset {
            ""
        } else {
            " (peak of the process's life: VmHWM could not be reset)"
        },
        mib(measured.idle_rss_kib),
        mib(measured.peak_rss_kib)
    );
    println!(
        "| peak over idle (target ≤ 128 MiB) | {:.0} MiB, {} |",
        mib(over),
        if over <= MEMORY_TARGET_KIB {
            "met"
        } else {
            "missed"
        }
    );
    println!(
        "| the {LARGE_MESSAGES} large messages: answers, time until the last | {}; {:.1} s |",
        measured.large_statuses, measured.large_seconds
    );
}
