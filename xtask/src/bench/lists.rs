//! `cargo xtask bench`'s list section (issue #13), on the databases the
//! search section seeded (SQLite and PostgreSQL), while they still exist:
//!
//! - our release server against a bare baseline (`bench_baseline`: plain
//!   axum handlers running the same queries with Diesel, the rows as JSON
//!   and nothing else) on the same database: one ticket, page 50 of 20 by
//!   offset, the same rows by cursor, and a new ticket; 8 keep-alive
//!   clients, ours and the baseline alternating over several rounds.
//! - on SQLite, the cursor page 50,000 rows deep against page 1, one
//!   request at a time: a cursor page should cost the same at any depth.
//!
//! Targets are checked and printed, never failed on.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use store::DatabaseUrl;

use super::client::{self, Client, Tally};
use super::machine::MachineCpu;
use super::search::Seeded;
use super::server::{AGENT, Server, WRITER};
use super::stats::{Spread, count_by_status, median, quantile};

/// The bare server the section compares ours with.
pub const BASELINE_BINARY: &str = "bench_baseline";
/// Rows per page, as the issue measures them.
const LIMIT: u64 = 20;
/// The offset page compared: page 50, rows 981 to 1,000.
const PAGE: u64 = 50;
/// Keep-alive clients of each measurement, as in the measurement.
const CONNECTIONS: usize = 8;
/// Unmeasured load on each endpoint of each server before the rounds.
const WARM_UP: Duration = Duration::from_millis(500);
/// The ticket the writes of both servers are opened with.
const NEW_SUBJECT: &str = "Bench";
const NEW_BODY: &str = "Opened by the bench's list section.";
/// Each endpoint of ours should keep this share of the baseline's rate.
const TARGET_RATIO: f64 = 0.6;
/// How deep the deep cursor page is, in rows before it, on SQLite.
const DEEP_ROWS: u64 = 50_000;
/// The deep page's median and p99 against page 1's, at most.
const TARGET_DEPTH_RATIO: f64 = 1.2;
/// Unmeasured rounds of the depth measurement.
const DEPTH_WARM_UP_ROUNDS: usize = 5;

/// What the list section measures with.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Seconds of each measurement of our server and of the bare baseline
    /// on each of the search section's databases; 0 skips that comparison.
    #[arg(long, default_value_t = 3)]
    list_seconds: u64,
    /// Rounds of that comparison, each measuring every endpoint on both
    /// servers; the median is reported.
    #[arg(long, default_value_t = 3)]
    list_rounds: usize,
    /// Requests of page 1 and of the cursor page 50,000 rows deep, one at a
    /// time, on the search section's SQLite database; 0 skips that.
    #[arg(long, default_value_t = 400)]
    list_depth_requests: usize,
    /// Another build of our server (a release `api` binary, e.g. of an
    /// earlier commit), measured in the same rounds as ours and the
    /// baseline on the same database, to compare before and after.
    #[arg(long)]
    list_other_api: Option<std::path::PathBuf>,
}

impl ListArgs {
    /// Whether the comparison runs, and so needs the baseline built.
    pub fn compares(&self) -> bool {
        self.list_seconds > 0
    }

    pub fn check(&self) -> anyhow::Result<()> {
        ensure!(self.list_rounds > 0, "--list-rounds must be positive");
        Ok(())
    }
}

/// What is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Endpoint {
    GetTicket,
    OffsetPage,
    CursorPage,
    CreateTicket,
    /// Ours against the baseline doing the same statements.
    CreateTicketSameWork,
}

impl Endpoint {
    const ALL: [Endpoint; 5] = [
        Endpoint::GetTicket,
        Endpoint::OffsetPage,
        Endpoint::CursorPage,
        Endpoint::CreateTicket,
        Endpoint::CreateTicketSameWork,
    ];

    fn label(self) -> &'static str {
        match self {
            Endpoint::GetTicket => {
                "`GET /tickets/:id` (agent, seeded tickets in turn) / `WHERE id = ?`"
            }
            Endpoint::OffsetPage => {
                "`GET /tickets?page=50&limit=20` (agent) / `ORDER BY id LIMIT 20 OFFSET 980`"
            }
            Endpoint::CursorPage => {
                "`GET /tickets?limit=20&cursor=…` at row 981 (agent) / `WHERE id > ? ORDER BY id LIMIT 20`"
            }
            Endpoint::CreateTicket => "`POST /tickets` (a customer) / one `INSERT … RETURNING`",
            Endpoint::CreateTicketSameWork => {
                "`POST /tickets` (a customer) / the same work: the ticket, its search words and \
                 its `created` event in one transaction"
            }
        }
    }

    fn success(self) -> u16 {
        match self {
            Endpoint::CreateTicket | Endpoint::CreateTicketSameWork => 201,
            _ => 200,
        }
    }
}

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    Ours,
    Baseline,
    /// `--list-other-api`.
    Other,
}

/// One server of the comparison and the requests it is sent: the same for
/// both but the paths and, for the baseline, the author of a new ticket in
/// its body (it ignores the tokens).
struct Target {
    side: Side,
    server: Server,
    /// The path tickets are under: one is `{tickets}/{id}`.
    tickets: &'static str,
    offset_page: Vec<u8>,
    /// `None` while our server serves no cursor.
    cursor_page: Option<Vec<u8>>,
    create: Vec<u8>,
    /// Ours: the same as `create`.
    create_same_work: Vec<u8>,
}

/// What the comparison measured on one database.
#[derive(Debug)]
struct Comparison {
    engine: &'static str,
    tickets: u64,
    spreads: BTreeMap<(Endpoint, Side), Spread>,
    /// Why the cursor page was not measured, if it was not.
    cursor_missing: Option<String>,
    seconds: f64,
}

/// The deep cursor page against page 1.
#[derive(Debug)]
struct Depth {
    tickets: u64,
    rows: u64,
    walk_secs: f64,
    /// Median and p99, page 1 then the deep page.
    first: (Duration, Duration),
    deep: (Duration, Duration),
}

/// What the section measured, filled in as the search section hands over
/// its databases.
#[derive(Debug)]
pub struct ListSection<'a> {
    root: &'a Path,
    args: &'a ListArgs,
    comparisons: Vec<Comparison>,
    /// On SQLite, if measured; the error if our server serves no cursor.
    depth: Option<Result<Depth, String>>,
}

impl<'a> ListSection<'a> {
    pub fn new(root: &'a Path, args: &'a ListArgs) -> Self {
        ListSection {
            root,
            args,
            comparisons: Vec::new(),
            depth: None,
        }
    }

    /// Measures on a database the search section seeded: the depth first
    /// on SQLite, while the table is as seeded and the machine quiet, then
    /// the comparison, whose writes add tickets.
    pub fn on_seeded(&mut self, seeded: &Seeded) -> anyhow::Result<()> {
        let on_sqlite = matches!(DatabaseUrl::parse(seeded.url)?, DatabaseUrl::Sqlite(_));
        if on_sqlite && self.args.list_depth_requests > 0 {
            self.depth = Some(cursor_depth(
                self.root,
                seeded,
                self.args.list_depth_requests,
            )?);
        }
        if self.args.compares() {
            self.comparisons
                .push(compare(self.root, seeded, self.args)?);
        }
        Ok(())
    }

    pub fn print(&self) {
        for comparison in &self.comparisons {
            print_comparison(comparison, self.args);
        }
        match &self.depth {
            Some(Ok(depth)) => print_depth(depth, self.args),
            Some(Err(error)) => {
                println!();
                println!("cursor depth on SQLite: not measured: {error}");
            }
            None => {}
        }
    }
}

/// Ours and the baseline on `seeded`, endpoint by endpoint, alternating.
fn compare(root: &Path, seeded: &Seeded, args: &ListArgs) -> anyhow::Result<Comparison> {
    let started = Instant::now();
    // The account write budget would soon refuse the writer.
    let ours = Server::start_on(root, seeded.url, &[("ACCOUNT_WRITE_LIMIT", "0")])?;
    let other = match &args.list_other_api {
        Some(binary) => Some(Server::start_binary(
            root,
            &binary.to_string_lossy(),
            seeded.url,
            &[("ACCOUNT_WRITE_LIMIT", "0")],
        )?),
        None => None,
    };
    let baseline = Server::start_binary(root, BASELINE_BINARY, seeded.url, &[])?;
    let agent = ours.login_token(AGENT)?;
    let writer = ours.login_token(WRITER)?;
    let writer_id = user_id(&ours, &writer)?;

    // Our cursor for the first row of page 50, and the last ticketId
    // before it, the baseline's keyset.
    let rows_before = (PAGE - 1) * LIMIT;
    let mut client = Client::new(ours.address());
    let (cursor, cursor_missing) = match walk(&mut client, &agent, rows_before) {
        Ok((cursor, after)) => (Some((cursor, after)), None),
        Err(error) => (None, Some(format!("{error:#}"))),
    };
    let our_create = |server: &Server| {
        client::post_json_request(
            server.address(),
            "/api/v1/tickets",
            Some(&writer),
            &serde_json::json!({ "subject": NEW_SUBJECT, "body": NEW_BODY }).to_string(),
        )
    };
    let baseline_create = |path: &str| {
        client::post_json_request(
            baseline.address(),
            path,
            Some(&writer),
            &serde_json::json!({ "subject": NEW_SUBJECT, "body": NEW_BODY, "authorId": writer_id })
                .to_string(),
        )
    };
    // The same requests for another build of ours: the tokens and
    // cursors hold there too (the same key).
    let our_target = |side, server: Server| Target {
        side,
        tickets: "/api/v1/tickets",
        offset_page: client::get_request(
            server.address(),
            &format!("/api/v1/tickets?page={PAGE}&limit={LIMIT}"),
            &agent,
        ),
        cursor_page: cursor
            .as_ref()
            .map(|(cursor, _)| client::get_request(server.address(), &cursor_path(cursor), &agent)),
        create: our_create(&server),
        create_same_work: our_create(&server),
        server,
    };
    let ours_target = our_target(Side::Ours, ours);
    let other_target = other.map(|server| our_target(Side::Other, server));
    let (create, create_same_work) = (
        baseline_create("/tickets"),
        baseline_create("/tickets/with-history"),
    );
    let baseline_target = Target {
        side: Side::Baseline,
        tickets: "/tickets",
        offset_page: client::get_request(
            baseline.address(),
            &format!("/tickets?limit={LIMIT}&offset={rows_before}"),
            &agent,
        ),
        cursor_page: cursor.as_ref().map(|(_, after)| {
            client::get_request(
                baseline.address(),
                &format!("/tickets?limit={LIMIT}&after={after}"),
                &agent,
            )
        }),
        create,
        create_same_work,
        server: baseline,
    };
    same_rows(&mut client, &ours_target, &baseline_target)?;

    let mut targets = vec![ours_target, baseline_target];
    targets.extend(other_target);
    let phase = Duration::from_secs(args.list_seconds);
    println!(
        "list section on {}: {} rounds of {} endpoints x {} servers x {} s ...",
        seeded.engine,
        args.list_rounds,
        Endpoint::ALL.len(),
        targets.len(),
        args.list_seconds
    );
    for target in &targets {
        for endpoint in Endpoint::ALL {
            load_once(target, endpoint, &agent, seeded.tickets, WARM_UP)?;
        }
    }
    let mut spreads = BTreeMap::new();
    for round in 0..args.list_rounds {
        for endpoint in Endpoint::ALL {
            // Each round another server goes first, so drift hits both.
            for offset in 0..targets.len() {
                let target = &targets[(round + offset) % targets.len()];
                let (cpu, machine) = (target.server.cpu_seconds()?, MachineCpu::now()?);
                let Some(tally) = load_once(target, endpoint, &agent, seeded.tickets, phase)?
                else {
                    continue;
                };
                let cpu = target.server.cpu_seconds()? - cpu;
                let machine_cores = machine.cores_busy_since()?;
                spreads
                    .entry((endpoint, target.side))
                    .or_insert_with(Spread::default)
                    .add(endpoint.success(), tally, cpu, machine_cores);
            }
        }
    }
    for target in targets {
        target.server.stop()?;
    }
    Ok(Comparison {
        engine: seeded.engine,
        tickets: seeded.tickets,
        spreads,
        cursor_missing,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Loads `target` with `endpoint`'s requests from [`CONNECTIONS`] clients
/// for `duration`; `None` if it has no such request (no cursor yet).
fn load_once(
    target: &Target,
    endpoint: Endpoint,
    agent: &str,
    tickets: u64,
    duration: Duration,
) -> anyhow::Result<Option<Tally>> {
    let address = target.server.address();
    let next_ticket = AtomicU64::new(0);
    let get_ticket = |buffer: &mut Vec<u8>| {
        // A stride through the seeded tickets, the same on both servers,
        // so reads are not all of one cached row.
        let step = next_ticket.fetch_add(1, Ordering::Relaxed);
        let id = 1 + step.wrapping_mul(7_919) % tickets;
        let path = format!("{}/{id}", target.tickets);
        buffer.extend_from_slice(&client::get_request(address, &path, agent));
    };
    // The other endpoints send the same bytes every time.
    let fixed: Option<&[u8]> = match endpoint {
        Endpoint::GetTicket => None,
        Endpoint::OffsetPage => Some(&target.offset_page),
        Endpoint::CursorPage => match &target.cursor_page {
            Some(page) => Some(page),
            None => return Ok(None),
        },
        Endpoint::CreateTicket => Some(&target.create),
        Endpoint::CreateTicketSameWork => Some(&target.create_same_work),
    };
    let request = |buffer: &mut Vec<u8>| match fixed {
        Some(request) => buffer.extend_from_slice(request),
        None => get_ticket(buffer),
    };
    let clients = client::Clients {
        connections: CONNECTIONS,
        request: &request,
        record_latencies: true,
    };
    client::run(address, &clients, Instant::now() + duration).map(Some)
}

/// Checks that both servers answer the offset page, and the cursor page,
/// with the same tickets: the comparison is of the same work.
fn same_rows(client: &mut Client, ours: &Target, baseline: &Target) -> anyhow::Result<()> {
    let mut baseline_client = Client::new(baseline.server.address());
    let ids = |client: &mut Client, request: &[u8], ours: bool| -> anyhow::Result<Vec<i64>> {
        let (_, body) = client.exchange(request)?;
        let json: serde_json::Value = serde_json::from_slice(&body)?;
        let rows = if ours { &json["data"] } else { &json };
        rows.as_array()
            .context("no rows in the answer")?
            .iter()
            .map(|row| row["ticketId"].as_i64().context("a row without ticketId"))
            .collect()
    };
    let offset = ids(client, &ours.offset_page, true)?;
    ensure!(
        offset.len() == LIMIT as usize,
        "page {PAGE} has {} rows",
        offset.len()
    );
    ensure!(
        offset == ids(&mut baseline_client, &baseline.offset_page, false)?,
        "our page {PAGE} and the baseline's offset page differ"
    );
    if let (Some(ours), Some(baseline)) = (&ours.cursor_page, &baseline.cursor_page) {
        ensure!(
            offset == ids(client, ours, true)?,
            "our cursor page and page {PAGE} differ"
        );
        ensure!(
            offset == ids(&mut baseline_client, baseline, false)?,
            "our page {PAGE} and the baseline's keyset page differ"
        );
    }
    Ok(())
}

/// Follows `meta.nextCursor` from page 1 (`limit=20`, by ticketId) until
/// `rows` rows are behind, one page at a time on `client`'s keep-alive
/// connection (a cursor is bound to its limit, so there is no shortcut):
/// the cursor of the page that starts after them, and the last ticketId
/// before it.
fn walk(client: &mut Client, token: &str, rows: u64) -> anyhow::Result<(String, i64)> {
    ensure!(
        rows > 0 && rows.is_multiple_of(LIMIT),
        "walk {rows} rows in pages of {LIMIT}"
    );
    let address = client.address();
    let mut path = format!("/api/v1/tickets?limit={LIMIT}");
    let mut behind = 0;
    loop {
        let (_, body) = client.exchange(&client::get_request(address, &path, token))?;
        let json: serde_json::Value = serde_json::from_slice(&body)?;
        let data = json["data"].as_array().context("no data in a list page")?;
        ensure!(
            data.len() == LIMIT as usize,
            "a page after {behind} rows has {} rows",
            data.len()
        );
        behind += LIMIT;
        let cursor = json["meta"]["nextCursor"]
            .as_str()
            .with_context(|| format!("no meta.nextCursor after {behind} rows: {}", json["meta"]))?;
        if behind == rows {
            let last = data
                .last()
                .and_then(|row| row["ticketId"].as_i64())
                .context("a row without ticketId")?;
            return Ok((cursor.to_owned(), last));
        }
        path = cursor_path(cursor);
    }
}

/// Our list path for the page `cursor` points to.
fn cursor_path(cursor: &str) -> String {
    // The cursor is opaque: every byte but the unreserved ones is escaped.
    let escaped: String = cursor
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect();
    format!("/api/v1/tickets?limit={LIMIT}&cursor={escaped}")
}

/// The id of the account `token` is of, from `GET /api/v1/users/me`.
fn user_id(server: &Server, token: &str) -> anyhow::Result<i64> {
    let mut client = Client::new(server.address());
    let (_, body) = client.exchange(&client::get_request(
        server.address(),
        "/api/v1/users/me",
        token,
    ))?;
    let json: serde_json::Value = serde_json::from_slice(&body)?;
    json["data"]["_id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .context("no user id in GET /users/me")
}

/// Page 1 and the cursor page [`DEEP_ROWS`] rows deep (fewer on a smaller
/// seed), `requests` times each, one request at a time, alternating.
/// `Err` inside if our server serves no cursor.
fn cursor_depth(
    root: &Path,
    seeded: &Seeded,
    requests: usize,
) -> anyhow::Result<Result<Depth, String>> {
    let rows = DEEP_ROWS.min(seeded.tickets.saturating_sub(LIMIT)) / LIMIT * LIMIT;
    ensure!(rows > 0, "too few tickets for a cursor depth");
    let server = Server::start_on(root, seeded.url, &[])?;
    let agent = server.login_token(AGENT)?;
    let mut client = Client::new(server.address());
    println!(
        "list section on {}: walking {} pages of {LIMIT} to the cursor after {rows} rows ...",
        seeded.engine,
        rows / LIMIT
    );
    let started = Instant::now();
    let (cursor, _) = match walk(&mut client, &agent, rows) {
        Ok(walked) => walked,
        Err(error) => return Ok(Err(format!("{error:#}"))),
    };
    let walk_secs = started.elapsed().as_secs_f64();
    let pages = [
        client::get_request(
            server.address(),
            &format!("/api/v1/tickets?limit={LIMIT}"),
            &agent,
        ),
        client::get_request(server.address(), &cursor_path(&cursor), &agent),
    ];
    println!(
        "list section on {}: page 1 and the deep page, {DEPTH_WARM_UP_ROUNDS} + {requests} rounds, one request at a time ...",
        seeded.engine
    );
    let mut latencies = [Vec::with_capacity(requests), Vec::with_capacity(requests)];
    for round in 0..DEPTH_WARM_UP_ROUNDS + requests {
        for (which, page) in pages.iter().enumerate() {
            let (latency, _) = client.exchange(page)?;
            if round >= DEPTH_WARM_UP_ROUNDS {
                latencies[which].push(latency);
            }
        }
    }
    server.stop()?;
    let [first, deep] = latencies.map(|mut latencies| {
        latencies.sort_unstable();
        (quantile(&latencies, 0.5), quantile(&latencies, 0.99))
    });
    Ok(Ok(Depth {
        tickets: seeded.tickets,
        rows,
        walk_secs,
        first,
        deep,
    }))
}

fn verdict(met: bool) -> &'static str {
    if met { "MET" } else { "MISSED" }
}

fn print_comparison(comparison: &Comparison, args: &ListArgs) {
    println!();
    println!(
        "lists against a bare baseline on {}, {} tickets (the search section's database): the \
         release server (`ACCOUNT_WRITE_LIMIT=0`) and `{BASELINE_BINARY}` (plain axum handlers, \
         the same queries with Diesel, the same pool size and pragmas, rows as JSON only) on \
         the same database, sent the same requests but the paths; {CONNECTIONS} keep-alive \
         clients; medians of {} rounds of {} s, the servers alternating; {:.0} s in all",
        comparison.engine,
        comparison.tickets,
        args.list_rounds,
        args.list_seconds,
        comparison.seconds
    );
    println!(
        "| request, ours / baseline | ours req/s | baseline req/s | ours / baseline \
         | ours p99 | baseline p99 | server CPU per request, ours / baseline \
         | target ≥ {TARGET_RATIO}x | other answers, ours / baseline |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for endpoint in Endpoint::ALL {
        let spread = |side| comparison.spreads.get(&(endpoint, side));
        let (Some(ours), Some(baseline)) = (spread(Side::Ours), spread(Side::Baseline)) else {
            let why = comparison
                .cursor_missing
                .as_deref()
                .unwrap_or("no measurement");
            println!(
                "| {} | not measured: {why} | | | | | | | |",
                endpoint.label()
            );
            continue;
        };
        let (ours_rate, baseline_rate) = (median(&ours.per_second), median(&baseline.per_second));
        let ratio = ours_rate / baseline_rate;
        println!(
            "| {} | {ours_rate:.0} | {baseline_rate:.0} | {ratio:.2}x | {:.2} ms | {:.2} ms \
             | {:.0} / {:.0} µs | {} | {} / {} |",
            endpoint.label(),
            median(&ours.p99) * 1e3,
            median(&baseline.p99) * 1e3,
            median(&ours.server_cpu_micros),
            median(&baseline.server_cpu_micros),
            verdict(ratio >= TARGET_RATIO),
            count_by_status(&ours.others),
            count_by_status(&baseline.others),
        );
    }
    if let Some(binary) = &args.list_other_api {
        println!();
        println!(
            "the other build (`{}`), measured in the same rounds:",
            binary.display()
        );
        println!(
            "| request | other req/s | other / baseline | ours / other | other p99 \
             | server CPU per request, other / ours |"
        );
        println!("|---|---|---|---|---|---|");
        for endpoint in Endpoint::ALL {
            let spread = |side| comparison.spreads.get(&(endpoint, side));
            let (Some(ours), Some(baseline), Some(other)) = (
                spread(Side::Ours),
                spread(Side::Baseline),
                spread(Side::Other),
            ) else {
                println!("| {} | not measured | | | | |", endpoint.label());
                continue;
            };
            let rate = |spread: &Spread| median(&spread.per_second);
            println!(
                "| {} | {:.0} | {:.2}x | {:.2}x | {:.2} ms | {:.0} / {:.0} µs |",
                endpoint.label(),
                rate(other),
                rate(other) / rate(baseline),
                rate(ours) / rate(other),
                median(&other.p99) * 1e3,
                median(&other.server_cpu_micros),
                median(&ours.server_cpu_micros),
            );
        }
    }
    for ((endpoint, side), spread) in &comparison.spreads {
        if let Some(error) = &spread.first_error {
            println!(
                "| first request without an answer, {side:?}, {} | {error} |",
                endpoint.label()
            );
        }
    }
}

fn print_depth(depth: &Depth, args: &ListArgs) {
    let ms = |latency: Duration| latency.as_secs_f64() * 1e3;
    let ratio = |deep: Duration, first: Duration| deep.as_secs_f64() / first.as_secs_f64();
    let (median_ratio, p99_ratio) = (
        ratio(depth.deep.0, depth.first.0),
        ratio(depth.deep.1, depth.first.1),
    );
    println!();
    println!(
        "cursor depth on SQLite, {} tickets (the search section's database): the release \
         server, as the agent, by ticketId, limit {LIMIT}; the deep page's cursor reached by \
         following `meta.nextCursor` over {} pages in {:.1} s; each page {} times, one request \
         at a time on one keep-alive connection, alternating, after {DEPTH_WARM_UP_ROUNDS} \
         unmeasured rounds",
        depth.tickets,
        depth.rows / LIMIT,
        depth.walk_secs,
        args.list_depth_requests
    );
    println!("| `GET /api/v1/tickets?limit={LIMIT}…` | median | p99 |");
    println!("|---|---|---|");
    println!(
        "| page 1 | {:.2} ms | {:.2} ms |",
        ms(depth.first.0),
        ms(depth.first.1)
    );
    println!(
        "| the cursor page after {} rows | {:.2} ms | {:.2} ms |",
        depth.rows,
        ms(depth.deep.0),
        ms(depth.deep.1)
    );
    println!("| deep / page 1 | {median_ratio:.2}x | {p99_ratio:.2}x |");
    println!(
        "| target ≤ {TARGET_DEPTH_RATIO}x | {} | {} |",
        verdict(median_ratio <= TARGET_DEPTH_RATIO),
        verdict(p99_ratio <= TARGET_DEPTH_RATIO)
    );
}
