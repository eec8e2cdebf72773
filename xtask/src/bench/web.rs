//! `cargo xtask bench`'s web pages section (issue #14), on the databases the
//! search section seeded (SQLite and PostgreSQL), while they still exist:
//! the release server's HTML pages, each loaded in turn by a few keep-alive
//! clients that send the session cookie a browser would.
//!
//! The users sign in as a browser does: `POST /login` with a form-encoded
//! username and PIN (and an `Origin` of the server's own), the
//! `tracker_session` cookie kept from `Set-Cookie` and sent as `Cookie:` on
//! every page. The pages: the sign-in page signed out; a customer's tickets,
//! new ticket form and one of their tickets; an agent's queue, filtered, its
//! next page (the `rel="next"` link of the first), a search, and a ticket
//! with replies and internal notes; an admin's users. Each must answer 200
//! before it is measured.
//!
//! The target, 20 ms at p99 for every page (at 100,000 tickets), is checked
//! and printed, never failed on.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};

use super::client::{self, Client};
use super::machine::MachineCpu;
use super::search::Seeded;
use super::server::{AGENT, LIST_READER, Server};
use super::stats::{count_by_status, median, quantile};

/// The target of every page, at p99.
const TARGET_P99: Duration = Duration::from_millis(20);
/// Keep-alive clients loading each page.
const CONNECTIONS: usize = 4;
/// Unmeasured load on each page before the rounds.
const WARM_UP: Duration = Duration::from_millis(300);
/// The seeded admin.
const ADMIN: &str = "iambenkay";
/// The session cookie's name (`web::session::SESSION_COOKIE`).
const SESSION_COOKIE: &str = "tracker_session";
/// The queue's filtered view: waiting for an agent and unassigned.
const FILTERED_QUEUE: &str = "/tickets?status=UNATTENDED&assignee=none";
/// The queue's search: a word in one topic of ten.
const SEARCH: &str = "/tickets?q=refund";
/// Queue pages walked at most to find a ticket with internal notes.
const NOTE_SEARCH_PAGES: usize = 8;

/// What the web pages section measures with.
#[derive(Debug, clap::Args)]
pub struct WebArgs {
    /// Seconds of each measurement of each web page (4 keep-alive clients)
    /// on each of the search section's databases; 0 skips the section.
    #[arg(long, default_value_t = 2)]
    web_seconds: u64,
    /// Rounds of the web pages section, each measuring every page in turn;
    /// p50 and p99 are over every request of every round, requests/s the
    /// median of the rounds.
    #[arg(long, default_value_t = 3)]
    web_rounds: usize,
}

impl WebArgs {
    fn runs(&self) -> bool {
        self.web_seconds > 0
    }

    pub fn check(&self) -> anyhow::Result<()> {
        ensure!(self.web_rounds > 0, "--web-rounds must be positive");
        Ok(())
    }
}

/// Who asks for a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    SignedOut,
    Customer,
    Agent,
    Admin,
}

impl Who {
    fn label(self) -> &'static str {
        match self {
            Who::SignedOut => "signed out",
            Who::Customer => "customer",
            Who::Agent => "agent",
            Who::Admin => "admin",
        }
    }
}

/// One page, as measured.
#[derive(Debug)]
struct PageRun {
    label: String,
    who: Who,
    path: String,
    /// The size of its HTML, from the check before the rounds.
    bytes: usize,
    /// 200s per second, per round.
    per_second: Vec<f64>,
    /// Every 200's latency, every round.
    latencies: Vec<Duration>,
    /// The server's CPU time per 200, per round, in µs.
    server_cpu_micros: Vec<f64>,
    /// Answers other than 200, all rounds.
    others: BTreeMap<u16, u64>,
    first_error: Option<String>,
}

impl PageRun {
    fn requests(&self) -> usize {
        self.latencies.len()
    }

    /// p50 and p99 over every round's 200s.
    fn quantiles(&self) -> (Duration, Duration) {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        (quantile(&sorted, 0.5), quantile(&sorted, 0.99))
    }
}

/// What the section measured on one database.
#[derive(Debug)]
struct Report {
    engine: &'static str,
    tickets: u64,
    pages: Vec<PageRun>,
    /// Cores busy machine-wide during the rounds (the server, the database,
    /// the clients and anything else).
    machine_cores: f64,
    seconds: f64,
}

/// What the section measured, filled in as the search section hands over
/// its databases.
#[derive(Debug)]
pub struct WebSection<'a> {
    root: &'a Path,
    args: &'a WebArgs,
    reports: Vec<Report>,
}

impl<'a> WebSection<'a> {
    pub fn new(root: &'a Path, args: &'a WebArgs) -> Self {
        WebSection {
            root,
            args,
            reports: Vec::new(),
        }
    }

    /// Measures every page on a database the search section seeded.
    pub fn on_seeded(&mut self, seeded: &Seeded) -> anyhow::Result<()> {
        if self.args.runs() {
            let report = measure(self.root, seeded, self.args)
                .with_context(|| format!("the web pages section on {}", seeded.engine))?;
            self.reports.push(report);
        }
        Ok(())
    }

    pub fn print(&self) {
        for report in &self.reports {
            print_report(report, self.args);
        }
    }
}

/// A signed-in browser: the cookie it sends.
struct Browser {
    cookie: Option<String>,
}

impl Browser {
    /// Signs `username` in through the sign-in form, as a browser posts it.
    fn sign_in(address: SocketAddr, username: &str) -> anyhow::Result<Self> {
        let body = format!("username={username}&pin={}", crate::seed::DEMO_PIN);
        let request = format!(
            "POST /login HTTP/1.1\r\nHost: {address}\r\nOrigin: http://{address}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        );
        let answer = client::once(address, request.as_bytes(), true)?;
        if !(300..400).contains(&answer.status) {
            bail!(
                "POST /login as {username} answered {}: {}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
            );
        }
        let cookie = answer
            .headers("set-cookie")
            .filter_map(|value| value.split(';').next())
            .find_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                (name.trim() == SESSION_COOKIE && !value.is_empty()).then(|| value.to_owned())
            })
            .with_context(|| {
                format!(
                    "POST /login as {username} set no {SESSION_COOKIE} cookie:\n{}",
                    answer.head
                )
            })?;
        Ok(Browser {
            cookie: Some(cookie),
        })
    }

    /// The bytes of `GET path` as this browser sends it.
    fn get(&self, address: SocketAddr, path: &str) -> Vec<u8> {
        let cookie = self
            .cookie
            .as_ref()
            .map(|value| format!("Cookie: {SESSION_COOKIE}={value}\r\n"))
            .unwrap_or_default();
        format!(
            "GET {path} HTTP/1.1\r\nHost: {address}\r\n{cookie}\
             Accept: text/html\r\n\r\n"
        )
        .into_bytes()
    }
}

/// One page to measure, before it is.
struct Probe {
    label: String,
    who: Who,
    path: String,
}

/// Signs the three users in, finds the tickets and the next page to ask
/// for, checks every page answers 200, then loads each page in turn.
fn measure(root: &Path, seeded: &Seeded, args: &WebArgs) -> anyhow::Result<Report> {
    let started = Instant::now();
    let server = Server::start_on(root, seeded.url, &[])?;
    let address = server.address();
    let customer = Browser::sign_in(address, LIST_READER)?;
    let agent = Browser::sign_in(address, AGENT)?;
    let admin = Browser::sign_in(address, ADMIN)?;
    let signed_out = Browser { cookie: None };
    let browser = |who: Who| match who {
        Who::SignedOut => &signed_out,
        Who::Customer => &customer,
        Who::Agent => &agent,
        Who::Admin => &admin,
    };
    let mut client = Client::new(address);
    let mut page = |who: Who, path: &str| -> anyhow::Result<String> {
        let (_, body) = client
            .exchange(&browser(who).get(address, path))
            .with_context(|| format!("GET {path} as {}", who.label()))?;
        Ok(String::from_utf8_lossy(&body).into_owned())
    };

    println!(
        "web pages on {}: finding a customer's ticket, a ticket with notes and the queue's next page ...",
        seeded.engine
    );
    let own = page(Who::Customer, "/tickets")?;
    let mut own_ticket = None;
    for id in ticket_ids(&own) {
        let thread = Thread::of(&page(Who::Customer, &format!("/tickets/{id}"))?);
        if own_ticket.is_none_or(|(_, best): (i64, Thread)| thread.messages > best.messages) {
            own_ticket = Some((id, thread));
        }
    }
    let (own_id, own_thread) =
        own_ticket.with_context(|| format!("{LIST_READER}'s /tickets lists no ticket"))?;

    let queue = page(Who::Agent, "/tickets")?;
    let next_page = next_link(&queue).context("the queue's first page has no rel=\"next\" link")?;
    let mut noted: Option<(i64, Thread)> = None;
    let mut listing = queue;
    for _ in 0..NOTE_SEARCH_PAGES {
        for id in ticket_ids(&listing) {
            let thread = Thread::of(&page(Who::Agent, &format!("/tickets/{id}"))?);
            if noted.is_none_or(|(_, best)| thread.rank() > best.rank()) {
                noted = Some((id, thread));
            }
        }
        let found = noted.is_some_and(|(_, best)| best.notes > 0 && best.messages > 3);
        match next_link(&listing) {
            Some(next) if !found => listing = page(Who::Agent, &next)?,
            _ => break,
        }
    }
    let (noted_id, noted_thread) = noted.context("the queue lists no ticket")?;

    let probes = [
        (
            Who::SignedOut,
            "`GET /login`".to_owned(),
            "/login".to_owned(),
        ),
        (
            Who::Customer,
            "`GET /tickets` (my tickets)".to_owned(),
            "/tickets".to_owned(),
        ),
        (
            Who::Customer,
            "`GET /tickets/new`".to_owned(),
            "/tickets/new".to_owned(),
        ),
        (
            Who::Customer,
            format!(
                "`GET /tickets/{own_id}` (own ticket, {})",
                own_thread.describe()
            ),
            format!("/tickets/{own_id}"),
        ),
        (
            Who::Agent,
            "`GET /tickets` (the queue)".to_owned(),
            "/tickets".to_owned(),
        ),
        (
            Who::Agent,
            format!("`GET {FILTERED_QUEUE}`"),
            FILTERED_QUEUE.to_owned(),
        ),
        (
            Who::Agent,
            "the queue's next page (its `rel=\"next\"` cursor link)".to_owned(),
            next_page,
        ),
        (Who::Agent, format!("`GET {SEARCH}`"), SEARCH.to_owned()),
        (
            Who::Agent,
            format!(
                "`GET /tickets/{noted_id}` ({}, history)",
                noted_thread.describe()
            ),
            format!("/tickets/{noted_id}"),
        ),
        (
            Who::Admin,
            "`GET /admin/users`".to_owned(),
            "/admin/users".to_owned(),
        ),
    ]
    .map(|(who, label, path)| Probe { label, who, path });

    // Every page answers 200 before any is measured; `exchange` says
    // otherwise with the body.
    let mut pages = Vec::with_capacity(probes.len());
    let mut requests = Vec::with_capacity(probes.len());
    for probe in probes {
        let html = page(probe.who, &probe.path)?;
        requests.push(browser(probe.who).get(address, &probe.path));
        pages.push(PageRun {
            label: probe.label,
            who: probe.who,
            path: probe.path,
            bytes: html.len(),
            per_second: Vec::new(),
            latencies: Vec::new(),
            server_cpu_micros: Vec::new(),
            others: BTreeMap::new(),
            first_error: None,
        });
    }
    drop(client);

    let load = |request: &[u8], duration: Duration| {
        let clients = client::Clients {
            connections: CONNECTIONS,
            request: &|buffer| buffer.extend_from_slice(request),
            record_latencies: true,
        };
        client::run(address, &clients, Instant::now() + duration)
    };
    for request in &requests {
        load(request, WARM_UP)?;
    }
    println!(
        "web pages on {}: {} rounds of {} pages x {} s, {CONNECTIONS} clients ...",
        seeded.engine,
        args.web_rounds,
        pages.len(),
        args.web_seconds
    );
    let phase = Duration::from_secs(args.web_seconds);
    let machine = MachineCpu::now()?;
    for _ in 0..args.web_rounds {
        for (page, request) in pages.iter_mut().zip(&requests) {
            let cpu = server.cpu_seconds()?;
            let mut tally = load(request, phase)?;
            let cpu = server.cpu_seconds()? - cpu;
            let ok = tally.count(200);
            page.per_second.push(tally.per_second(200));
            page.server_cpu_micros.push(cpu / ok.max(1) as f64 * 1e6);
            page.latencies
                .extend(tally.latencies.remove(&200).unwrap_or_default());
            for (status, count) in tally.statuses {
                if status != 200 {
                    *page.others.entry(status).or_default() += count;
                }
            }
            if page.first_error.is_none() {
                page.first_error = tally.first_error;
            }
        }
    }
    let machine_cores = machine.cores_busy_since()?;
    server.stop()?;
    Ok(Report {
        engine: seeded.engine,
        tickets: seeded.tickets,
        pages,
        machine_cores,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// A ticket page's thread: its messages (the ticket, replies and notes)
/// and, of them, the internal notes.
#[derive(Debug, Clone, Copy)]
struct Thread {
    messages: usize,
    notes: usize,
}

impl Thread {
    fn of(html: &str) -> Self {
        Thread {
            messages: html.matches("<article class=\"message").count(),
            notes: html.matches("<article class=\"message note").count(),
        }
    }

    /// Which of two tickets is the heavier with notes: any note first.
    fn rank(self) -> (bool, usize) {
        (self.notes > 0, self.messages)
    }

    fn describe(self) -> String {
        let replies = self.messages.saturating_sub(1 + self.notes);
        format!(
            "{replies} {} and {} {}",
            if replies == 1 { "reply" } else { "replies" },
            self.notes,
            if self.notes == 1 { "note" } else { "notes" }
        )
    }
}

/// The ticket ids a list page links to, in order.
fn ticket_ids(html: &str) -> Vec<i64> {
    html.split("href=\"/tickets/")
        .skip(1)
        .filter_map(|rest| {
            let (id, _) = rest.split_once('"')?;
            id.parse().ok()
        })
        .collect()
}

/// The `href` of the page's `rel="next"` link, unescaped.
fn next_link(html: &str) -> Option<String> {
    let at = html.find("rel=\"next\"")?;
    let tag = &html[html[..at].rfind('<')?..at];
    let (_, rest) = tag.split_once("href=\"")?;
    let (href, _) = rest.split_once('"')?;
    Some(unescape_html(href))
}

/// An attribute's text with its character references replaced: `&amp;`,
/// `&lt;`, `&gt;`, `&quot;`, `&apos;` and numeric ones (`&#38;`, `&#x26;`).
fn unescape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let decoded = rest.find(';').and_then(|end| {
            let name = &rest[1..end];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => {
                    let number = name.strip_prefix('#')?;
                    let code = match number.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => number.parse().ok()?,
                    };
                    char::from_u32(code)
                }
            }?;
            Some((c, end + 1))
        });
        match decoded {
            Some((c, length)) => {
                out.push(c);
                rest = &rest[length..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn print_report(report: &Report, args: &WebArgs) {
    println!();
    println!(
        "web pages on {}, {} tickets (the search section's database): the release server; \
         signed in through `POST /login` (form-encoded) as {LIST_READER} (customer), {AGENT} \
         (agent) and {ADMIN} (admin), each page sent with its `{SESSION_COOKIE}` cookie by \
         {CONNECTIONS} keep-alive clients; {} rounds of {} s per page, the pages in turn, after \
         {} ms of warm-up each; p50 and p99 over every request of every round, requests/s the \
         median of the rounds; {:.2} cores busy machine-wide meanwhile; {:.0} s in all",
        report.engine,
        report.tickets,
        args.web_rounds,
        args.web_seconds,
        WARM_UP.as_millis(),
        report.machine_cores,
        report.seconds
    );
    println!(
        "| page | as | requests | req/s | p50 | p99 | p99 ≤ {} ms | server CPU per request \
         | HTML | other answers |",
        TARGET_P99.as_millis()
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for page in &report.pages {
        let (p50, p99) = page.quantiles();
        let verdict = if page.requests() > 0 && p99 <= TARGET_P99 {
            "met"
        } else {
            "MISSED"
        };
        println!(
            "| {} | {} | {} | {:.0} | {:.2} ms | {:.2} ms | {verdict} | {:.0} µs | {:.1} kB | {} |",
            page.label,
            page.who.label(),
            page.requests(),
            median(&page.per_second),
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3,
            median(&page.server_cpu_micros),
            page.bytes as f64 / 1e3,
            count_by_status(&page.others),
        );
    }
    for page in &report.pages {
        if let Some(error) = &page.first_error {
            println!(
                "| first request without an answer, `GET {}` | {error} |",
                page.path
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_link_is_found_and_unescaped() {
        let html = r#"<nav><a href="/tickets?sort=updatedAt&#38;direction=desc" rel="first">First</a>
            <a href="/tickets?sort=updatedAt&amp;direction=desc&#x26;cursor=ab_-" rel="next" id="next-page">Next</a></nav>"#;
        assert_eq!(
            next_link(html).as_deref(),
            Some("/tickets?sort=updatedAt&direction=desc&cursor=ab_-")
        );
        assert_eq!(next_link("<p>no link</p>"), None);
        assert_eq!(unescape_html("a &unknown; b & c"), "a &unknown; b & c");
    }

    #[test]
    fn ticket_ids_are_the_links_to_tickets_only() {
        let html = r#"<a href="/tickets/new">New</a><a href="/tickets/42">#42</a>
            <a href="/tickets/7">#7</a><a href="/tickets?q=x">x</a>"#;
        assert_eq!(ticket_ids(html), vec![42, 7]);
    }

    #[test]
    fn a_thread_counts_its_messages_and_notes() {
        let html = r#"<article class="message mine" id="ticket"></article>
            <article class="message" id="reply-1"></article>
            <article class="message note" id="reply-2"></article>"#;
        let thread = Thread::of(html);
        assert_eq!((thread.messages, thread.notes), (3, 1));
        assert_eq!(thread.describe(), "1 reply and 1 note");
    }
}
