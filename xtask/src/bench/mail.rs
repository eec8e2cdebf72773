//! What mail costs a reply and how soon it arrives (`--only mail`): agents'
//! public replies to tickets of a customer with an address, on a server
//! with mail on (a local SMTP sink, testkit's aiosmtpd) against one with
//! mail off, both on the same database, in alternated rounds; then replies
//! one at a time, each mail's lag from the reply's answer to the sink's
//! receipt.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, ensure};
use testkit::SmtpSink;

use super::server::{AGENT, Server, WRITER};
use super::stats::{median, millis, quantile};

/// `--only mail` seeds this many tickets (for the bench's users).
pub const TICKETS: u64 = 1_000;
/// The customer's address: each public reply mails it once.
const CUSTOMER_ADDRESS: &str = "bench-customer@example.com";
/// Tickets the replies go round (none resolved, so none refuses a reply).
const REPLIED_TICKETS: usize = 200;
/// Clients sending replies.
const CONNECTIONS: usize = 8;
/// Replies sent one at a time, for the lag.
const QUIET_REPLIES: usize = 50;
/// How long the outbox may take to send what a round queued.
const DRAIN_LIMIT: Duration = Duration::from_secs(300);

/// The section's options.
#[derive(Debug, clap::Args)]
pub struct MailArgs {
    /// Rounds of the reply load, each one run with mail off and one with
    /// mail on; medians are reported.
    #[arg(long, default_value_t = 5)]
    mail_rounds: usize,
    /// Seconds of each reply run.
    #[arg(long, default_value_t = 4)]
    mail_seconds: u64,
}

impl MailArgs {
    pub fn check(&self) -> anyhow::Result<()> {
        ensure!(
            self.mail_rounds > 0 && self.mail_seconds > 0,
            "--mail-rounds and --mail-seconds must be positive"
        );
        Ok(())
    }
}

/// What the section measured.
#[derive(Debug)]
pub struct Measured {
    replies_per_second_off: f64,
    replies_per_second_on: f64,
    /// Mail the rounds with mail on queued, and how long the sink took to
    /// receive the last of them after the last round's end.
    mailed: usize,
    drain_after_last_round: Duration,
    quiet_lag: (Duration, Duration),
    received: usize,
    duplicates: usize,
}

/// Measures on the SQLite database `db`, which holds the bench's users.
pub fn measure(root: &Path, db: &Path, args: &MailArgs) -> anyhow::Result<Measured> {
    let sink = SmtpSink::start().context("starting the SMTP sink (aiosmtpd)")?;
    let shared = [("ACCOUNT_WRITE_LIMIT", "0"), ("ADDRESS_RATE_LIMIT", "0")];
    let off = Server::start(root, db, &shared)?;
    let smtp_url = sink.url();
    let mail_on: Vec<(&str, &str)> = shared
        .iter()
        .copied()
        .chain([
            ("SMTP_URL", smtp_url.as_str()),
            ("MAIL_FROM", "Support <support@example.com>"),
            ("PUBLIC_URL", "https://support.example.com"),
        ])
        .collect();
    let on = Server::start(root, db, &mail_on)?;

    let customer = on.login_token(WRITER)?;
    on.patch_json(
        &customer,
        "/api/v1/users/me",
        &serde_json::json!({ "email": CUSTOMER_ADDRESS }),
    )?;
    let tickets = (0..REPLIED_TICKETS)
        .map(|_| off.open_ticket(&customer, "Mail bench"))
        .collect::<anyhow::Result<Vec<u64>>>()?;

    println!(
        "mail: {} rounds of public replies, mail off and on ...",
        args.mail_rounds
    );
    let (mut off_rates, mut on_rates) = (Vec::new(), Vec::new());
    let mut expected = 0;
    let mut drain_after_last_round = Duration::ZERO;
    for round in 0..args.mail_rounds {
        // Each round starts with the other side, so neither always runs first.
        for mailing in [round % 2 == 0, round % 2 != 0] {
            let server = if mailing { &on } else { &off };
            let agent = server.login_token(AGENT)?;
            let tally = server.reply_load(
                &agent,
                &tickets,
                CONNECTIONS,
                Instant::now() + Duration::from_secs(args.mail_seconds),
            )?;
            let created = tally.count(201);
            let ended = Instant::now();
            if mailing {
                expected += created as usize;
                on_rates.push(tally.per_second(201));
            } else {
                off_rates.push(tally.per_second(201));
            }
            // The next run starts with the outbox empty, so mail left over
            // does not load it.
            wait_for(&sink, expected)?;
            if mailing {
                drain_after_last_round = ended.elapsed();
            }
        }
    }
    let mailed = expected;

    println!("mail: {QUIET_REPLIES} replies one at a time ...");
    let agent = on.login_token(AGENT)?;
    let mut lags = Vec::new();
    for ticket in tickets.iter().take(QUIET_REPLIES) {
        let sent = SystemTime::now();
        on.reply(&agent, *ticket, "One more thing.")?;
        expected += 1;
        wait_for(&sink, expected)?;
        let arrived = *sink.arrivals().last().context("no mail")?;
        lags.push(arrived.duration_since(sent).unwrap_or_default());
    }
    lags.sort_unstable();

    let all = sink.received();
    let mut ids: Vec<String> = all
        .iter()
        .filter_map(|mail| mail.parsed().message_id().map(str::to_owned))
        .collect();
    let received = all.len();
    ids.sort_unstable();
    ids.dedup();
    Ok(Measured {
        replies_per_second_off: median(&off_rates),
        replies_per_second_on: median(&on_rates),
        mailed,
        drain_after_last_round,
        quiet_lag: (quantile(&lags, 0.5), quantile(&lags, 0.99)),
        received,
        duplicates: received - ids.len(),
    })
}

/// Waits until the sink has received `expected` messages in all (reading
/// its directory's names only, so waiting costs the server little).
fn wait_for(sink: &SmtpSink, expected: usize) -> anyhow::Result<()> {
    let received = sink.wait_for_count(expected, DRAIN_LIMIT);
    ensure!(
        received >= expected,
        "the outbox sent {received} of {expected} mails in {DRAIN_LIMIT:?}"
    );
    Ok(())
}

pub fn print(measured: &Measured) {
    let ratio = measured.replies_per_second_on / measured.replies_per_second_off;
    println!();
    println!(
        "| mail (SQLite, public replies going round {REPLIED_TICKETS} open tickets of a customer with an address, {CONNECTIONS} clients, aiosmtpd on loopback) | median |"
    );
    println!("|---|---|");
    println!(
        "| `POST /tickets/:id/replies` with mail off / on | {:.0} / {:.0} a second |",
        measured.replies_per_second_off, measured.replies_per_second_on
    );
    println!(
        "| replies with mail on against off (target ≥ 0.85x) | {ratio:.2}x, {} |",
        if ratio >= 0.85 { "met" } else { "missed" }
    );
    println!(
        "| mail queued by the rounds with mail on; the last round's all received | {}; {:.2} s after its end |",
        measured.mailed,
        measured.drain_after_last_round.as_secs_f64()
    );
    println!(
        "| lag from a reply's answer to its mail received, replies one at a time: p50 / p99 | {:.1} / {:.1} ms |",
        millis(measured.quiet_lag.0),
        millis(measured.quiet_lag.1)
    );
    println!(
        "| mails received in all / received twice (same Message-ID) | {} / {} |",
        measured.received, measured.duplicates
    );
}
