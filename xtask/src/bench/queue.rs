//! `cargo xtask bench`'s queue section: every filter of the agents' queue
//! crossed with every sort and direction, on a large seed of each engine
//! (the search section's, or its own with `--only queue`), one request at
//! a time: the first page, then the page after it by its cursor. Which
//! combinations have an index of their own and what the rest cost is the
//! point: the target is 50 ms at p99 for every one, checked and printed,
//! never failed on.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;

use super::client::{self, Client};
use super::search::Seeded;
use super::server::{AGENT, LIST_READER, Server};
use super::stats::quantile;

/// The target of every combination, at p99.
const TARGET_P99: Duration = Duration::from_millis(50);
/// Unmeasured rounds of every combination before the measured ones.
const WARM_UP_ROUNDS: usize = 1;
/// Rows per page.
const LIMIT: u32 = 20;

/// The sorts of a ticket list, as the API spells them.
const SORTS: [&str; 7] = [
    "ticketId",
    "createdAt",
    "updatedAt",
    "resolvedAt",
    "status",
    "priority",
    "resolutionDueAt",
];
const DIRECTIONS: [&str; 2] = ["asc", "desc"];

/// What the queue section measures with.
#[derive(Debug, clap::Args)]
pub struct QueueArgs {
    /// Measured rounds of every filter x sort x direction (each the first
    /// page and the next by cursor), one request at a time; 0 skips the
    /// section.
    #[arg(long, default_value_t = 10)]
    queue_rounds: usize,
    /// Tickets on SQLite when the section runs alone (`--only queue`); 0
    /// skips it.
    #[arg(long, default_value_t = 1_000_000)]
    queue_tickets: u64,
    /// Tickets on PostgreSQL when the section runs alone; 0 skips it.
    #[arg(long, default_value_t = 100_000)]
    queue_postgres_tickets: u64,
}

impl QueueArgs {
    pub fn runs(&self) -> bool {
        self.queue_rounds > 0
    }
}

/// A filter of the list and who asks.
#[derive(Debug, Clone, Copy)]
struct Filter {
    query: &'static str,
    customer: bool,
}

fn filters() -> Vec<Filter> {
    let staff = |query| Filter {
        query,
        customer: false,
    };
    vec![
        staff(""),
        staff("status=UNATTENDED"),
        staff("status=REPLIED"),
        staff("status=RESOLVED"),
        staff("priority=LOW"),
        staff("priority=NORMAL"),
        staff("priority=HIGH"),
        staff("priority=URGENT"),
        staff("assignee=me"),
        staff("assignee=none"),
        staff("tag=vip"),
        staff("breached=true"),
        staff("breached=false"),
        staff("status=UNATTENDED&assignee=me"),
        staff("status=REPLIED&priority=URGENT"),
        Filter {
            query: "",
            customer: true,
        },
    ]
}

/// One combination's latencies: the first page and the next.
#[derive(Debug)]
struct Combination {
    filter: Filter,
    sort: &'static str,
    direction: &'static str,
    first_median: Duration,
    first_p99: Duration,
    next_median: Duration,
    next_p99: Duration,
}

impl Combination {
    fn worst(&self) -> Duration {
        self.first_p99.max(self.next_p99)
    }
}

/// What the section measured on one engine.
#[derive(Debug)]
pub struct EngineQueue {
    engine: &'static str,
    tickets: u64,
    combinations: Vec<Combination>,
}

/// The tickets the section seeds when it runs alone, on SQLite and on
/// PostgreSQL.
pub fn seeds(args: &QueueArgs) -> (u64, u64) {
    (args.queue_tickets, args.queue_postgres_tickets)
}

/// Every combination on the database `seeded`, on a release server of its
/// own.
pub fn measure(root: &Path, seeded: &Seeded, args: &QueueArgs) -> anyhow::Result<EngineQueue> {
    let server = Server::start_on(root, seeded.url, &[])?;
    let agent = server.login_token(AGENT)?;
    let customer = server.login_token(LIST_READER)?;
    let mut client = Client::new(server.address());
    let mut combinations = Vec::new();
    let filters = filters();
    println!(
        "queue on {}: {} filters x {} sorts x 2 directions, {WARM_UP_ROUNDS} + {} rounds ...",
        seeded.engine,
        filters.len(),
        SORTS.len(),
        args.queue_rounds
    );
    for filter in filters {
        let token = if filter.customer { &customer } else { &agent };
        for sort in SORTS {
            for direction in DIRECTIONS {
                let path = format!(
                    "/api/v1/tickets?{}{}sort={sort}&direction={direction}&limit={LIMIT}",
                    filter.query,
                    if filter.query.is_empty() { "" } else { "&" },
                );
                let first = client::get_request(server.address(), &path, token);
                let mut firsts = Vec::new();
                let mut nexts = Vec::new();
                for round in 0..WARM_UP_ROUNDS + args.queue_rounds {
                    let (latency, body) = client
                        .exchange(&first)
                        .with_context(|| format!("GET {path}"))?;
                    let next = next_page(&path, &body)?;
                    let next_latency = match next {
                        Some(next) => {
                            let request = client::get_request(server.address(), &next, token);
                            Some(
                                client
                                    .exchange(&request)
                                    .with_context(|| format!("GET {next}"))?
                                    .0,
                            )
                        }
                        None => None,
                    };
                    if round >= WARM_UP_ROUNDS {
                        firsts.push(latency);
                        nexts.extend(next_latency);
                    }
                }
                firsts.sort_unstable();
                nexts.sort_unstable();
                combinations.push(Combination {
                    filter,
                    sort,
                    direction,
                    first_median: quantile(&firsts, 0.5),
                    first_p99: quantile(&firsts, 0.99),
                    next_median: quantile(&nexts, 0.5),
                    next_p99: quantile(&nexts, 0.99),
                });
            }
        }
    }
    server.stop()?;
    Ok(EngineQueue {
        engine: seeded.engine,
        tickets: seeded.tickets,
        combinations,
    })
}

/// The path of the page after the one in `body`, if there is one.
fn next_page(path: &str, body: &[u8]) -> anyhow::Result<Option<String>> {
    let json: serde_json::Value = serde_json::from_slice(body)?;
    Ok(json["meta"]["nextCursor"]
        .as_str()
        .map(|cursor| format!("{path}&cursor={cursor}")))
}

pub fn print(reports: &[EngineQueue]) {
    for report in reports {
        print_engine(report);
    }
}

fn print_engine(report: &EngineQueue) {
    println!();
    println!(
        "queue on {}, {} tickets: every filter x sort, the worse p99 of the first page and the next \
         by cursor, of both directions, in ms (target {} ms)",
        report.engine,
        report.tickets,
        TARGET_P99.as_millis()
    );
    println!();
    println!("| filter | {} |", SORTS.join(" | "));
    println!("|---|{}", "---|".repeat(SORTS.len()));
    let mut row_filter: Option<(&str, bool)> = None;
    let mut cells = Vec::new();
    let flush = |filter: Option<(&str, bool)>, cells: &mut Vec<String>| {
        if let Some((query, customer)) = filter {
            let label = match (query, customer) {
                ("", true) => "a customer's own".to_owned(),
                ("", false) => "none".to_owned(),
                (query, _) => format!("`{query}`"),
            };
            println!("| {label} | {} |", cells.join(" | "));
        }
        cells.clear();
    };
    for sort_chunk in report.combinations.chunks(DIRECTIONS.len()) {
        let first = &sort_chunk[0];
        let key = (first.filter.query, first.filter.customer);
        if row_filter != Some(key) {
            flush(row_filter, &mut cells);
            row_filter = Some(key);
        }
        let worst = sort_chunk
            .iter()
            .map(Combination::worst)
            .max()
            .unwrap_or_default();
        let mark = if worst > TARGET_P99 { " ✗" } else { "" };
        cells.push(format!("{:.1}{mark}", ms(worst)));
    }
    flush(row_filter, &mut cells);
    let mut slowest: Vec<&Combination> = report.combinations.iter().collect();
    slowest.sort_by_key(|combination| std::cmp::Reverse(combination.worst()));
    let over = slowest.iter().filter(|c| c.worst() > TARGET_P99).count();
    println!();
    println!(
        "{over} of {} combinations over {} ms; the slowest:",
        report.combinations.len(),
        TARGET_P99.as_millis()
    );
    for combination in slowest.iter().take(8) {
        println!(
            "  {}{} sort={} {}: first page median {:.1} ms, p99 {:.1} ms; next page median {:.1} ms, p99 {:.1} ms",
            if combination.filter.customer {
                "customer "
            } else {
                ""
            },
            if combination.filter.query.is_empty() {
                "no filter"
            } else {
                combination.filter.query
            },
            combination.sort,
            combination.direction,
            ms(combination.first_median),
            ms(combination.first_p99),
            ms(combination.next_median),
            ms(combination.next_p99),
        );
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
