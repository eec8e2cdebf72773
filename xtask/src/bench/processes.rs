//! The bench's processes section: reads and writes spread over 1, 2 and 3
//! release server processes sharing one throwaway PostgreSQL database, as
//! behind a load balancer.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use domain::{Actor, Role};
use store::{DatabaseUrl, Store, StoreOptions};

use super::client;
use super::machine::MachineCpu;
use super::server::{AGENT, LIST_READER, Server, WRITER};
use super::stats::{Spread, count_by_status, median};

/// How many server processes share the database, in turn.
const PROCESS_COUNTS: [usize; 3] = [1, 2, 3];
/// Clients of the processes section; divisible by every process count, so
/// each process gets the same share.
const SPREAD_CONNECTIONS: usize = 6;
/// At most this many tickets are seeded for the processes section (see
/// [`measure`]).
const SPREAD_MAX_TICKETS: u64 = 50_000;
/// Unmeasured load before each measurement, while fresh processes open
/// their pools' connections.
const SPREAD_WARM_UP: Duration = Duration::from_millis(300);

/// What the processes section sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Workload {
    ReadTicket,
    ListPage,
    CreateTicket,
    ReplyTicket,
    PatchTicket,
}

impl Workload {
    const ALL: [Workload; 5] = [
        Workload::ReadTicket,
        Workload::ListPage,
        Workload::CreateTicket,
        Workload::ReplyTicket,
        Workload::PatchTicket,
    ];

    fn label(self) -> &'static str {
        match self {
            Workload::ReadTicket => "`GET /tickets/:id` (agent, seeded tickets in turn)",
            Workload::ListPage => "`GET /tickets?limit=20` (a customer's first page)",
            Workload::CreateTicket => "`POST /tickets` (a customer)",
            Workload::ReplyTicket => "`POST /tickets/:id/replies` (agent, open tickets in turn)",
            Workload::PatchTicket => {
                "`PATCH /tickets/:id` (agent: priority and tags, open tickets in turn)"
            }
        }
    }

    /// The status of a success, the only answers counted as throughput.
    fn success(self) -> u16 {
        match self {
            Workload::ReadTicket | Workload::ListPage | Workload::PatchTicket => 200,
            Workload::CreateTicket | Workload::ReplyTicket => 201,
        }
    }
}

/// What the processes section measured.
#[derive(Debug)]
pub struct Processes {
    /// Rounds, each measuring every process count.
    rounds: usize,
    /// Each measurement's length.
    phase: Duration,
    tickets: u64,
    seed_secs: f64,
    /// The whole section, the cluster's start and the seeding included.
    section_secs: f64,
    spreads: BTreeMap<(Workload, usize), Spread>,
}

/// Seeds a throwaway PostgreSQL cluster, then for 1, 2 and 3 release server
/// processes on that one database sends reads and writes from
/// [`SPREAD_CONNECTIONS`] clients spread evenly over the processes (a load
/// balancer's round robin), in rounds that rotate the order of the process
/// counts so drift hits each alike. Each measurement starts its processes
/// afresh and stops them after.
///
/// The seeded tickets are capped at [`SPREAD_MAX_TICKETS`]: what is compared
/// is the process count, and none of the three requests grows with the
/// table (an index lookup, an index-ordered page of one customer's tickets,
/// an insert), so a larger table would only lengthen the seeding.
/// `tickets` is the bench's `--tickets`; `rounds` and `phase` its
/// `--processes-rounds` and `--processes-seconds`.
pub fn measure(
    root: &Path,
    tickets: u64,
    rounds: usize,
    phase: Duration,
) -> anyhow::Result<Processes> {
    let tickets = tickets.min(SPREAD_MAX_TICKETS);
    ensure!(tickets > 0, "the processes section needs --tickets above 0");
    let section_started = Instant::now();
    let cluster = crate::test_env::start_cluster()
        .context("no PostgreSQL for the processes section (`--processes-seconds 0` skips it)")?;
    let url = crate::test_env::cluster_url(&cluster);
    println!("processes on one PostgreSQL: seeding {tickets} tickets ...");
    let store = Store::connect(&DatabaseUrl::parse(&url)?, StoreOptions::default())?;
    let started = Instant::now();
    let agent_id = crate::seed::seed_tickets(&store, tickets, 42)?;
    let seed_secs = started.elapsed().as_secs_f64();
    let open_tickets = open_ticket_ids(&store, agent_id)?;
    drop(store);

    // The account write budget (per process) would soon refuse the writer.
    let env = [("ACCOUNT_WRITE_LIMIT", "0")];
    let [agent, reader, writer] = {
        let server = Server::start_on(root, &url, &env)?;
        [
            server.login_token(AGENT)?,
            server.login_token(LIST_READER)?,
            server.login_token(WRITER)?,
        ]
    };
    println!(
        "processes on one PostgreSQL: {rounds} rounds of {} process counts x {} workloads x {} s ...",
        PROCESS_COUNTS.len(),
        Workload::ALL.len(),
        phase.as_secs()
    );
    let mut spreads: BTreeMap<(Workload, usize), Spread> = BTreeMap::new();
    for round in 0..rounds {
        for offset in 0..PROCESS_COUNTS.len() {
            let count = PROCESS_COUNTS[(round + offset) % PROCESS_COUNTS.len()];
            let servers: Vec<Server> = (0..count)
                .map(|_| Server::start_on(root, &url, &env))
                .collect::<anyhow::Result<_>>()?;
            let addresses: Vec<SocketAddr> = servers.iter().map(Server::address).collect();
            let host = addresses[0];
            let next_ticket = AtomicU64::new(0);
            let read_ticket = |buffer: &mut Vec<u8>| {
                // A stride through the seeded tickets, so reads are not all
                // of one cached row.
                let step = next_ticket.fetch_add(1, Ordering::Relaxed);
                let id = 1 + step.wrapping_mul(7_919) % tickets;
                let path = format!("/api/v1/tickets/{id}");
                buffer.extend_from_slice(&client::get_request(host, &path, &agent));
            };
            let list = client::get_request(host, "/api/v1/tickets?limit=20", &reader);
            let create = client::post_json_request(
                host,
                "/api/v1/tickets",
                Some(&writer),
                r#"{"subject":"Bench","body":"Opened by the bench's write load."}"#,
            );
            // Writes to existing tickets go round the open ones, so that
            // concurrent clients rarely wait for the same ticket's lock.
            let next_write = AtomicU64::new(0);
            let open_ticket = || {
                let step = next_write.fetch_add(1, Ordering::Relaxed);
                let index = usize::try_from(step).unwrap_or_default() % open_tickets.len();
                (open_tickets[index], step / open_tickets.len() as u64)
            };
            let reply = |buffer: &mut Vec<u8>| {
                let (id, _) = open_ticket();
                buffer.extend_from_slice(&client::post_json_request(
                    host,
                    &format!("/api/v1/tickets/{id}/replies"),
                    Some(&agent),
                    r#"{"body":"Thanks, we are looking into it."}"#,
                ));
            };
            let patch = |buffer: &mut Vec<u8>| {
                // Each visit to a ticket flips its priority and tags, so
                // every PATCH is a real change with its events.
                let (id, visit) = open_ticket();
                let body = if visit % 2 == 0 {
                    r#"{"priority":"HIGH","tags":["bench","billing"]}"#
                } else {
                    r#"{"priority":"LOW","tags":["bench"]}"#
                };
                let path = format!("/api/v1/tickets/{id}");
                buffer.extend_from_slice(&client::json_request(
                    "PATCH",
                    host,
                    &path,
                    Some(&agent),
                    body,
                ));
            };
            for workload in Workload::ALL {
                let request: &(dyn Fn(&mut Vec<u8>) + Sync) = match workload {
                    Workload::ReadTicket => &read_ticket,
                    Workload::ListPage => &|buffer| buffer.extend_from_slice(&list),
                    Workload::CreateTicket => &|buffer| buffer.extend_from_slice(&create),
                    Workload::ReplyTicket => &reply,
                    Workload::PatchTicket => &patch,
                };
                let clients = client::Clients {
                    connections: SPREAD_CONNECTIONS,
                    request,
                    record_latencies: true,
                };
                client::run_spread(&addresses, &clients, Instant::now() + SPREAD_WARM_UP)?;
                let (server_cpu, machine) = (servers_cpu_seconds(&servers)?, MachineCpu::now()?);
                let tally = client::run_spread(&addresses, &clients, Instant::now() + phase)?;
                let server_cpu = servers_cpu_seconds(&servers)? - server_cpu;
                let machine_cores = machine.cores_busy_since()?;
                spreads.entry((workload, count)).or_default().add(
                    workload.success(),
                    tally,
                    server_cpu,
                    machine_cores,
                );
            }
        }
    }
    Ok(Processes {
        rounds,
        phase,
        tickets,
        seed_secs,
        section_secs: section_started.elapsed().as_secs_f64(),
        spreads,
    })
}

/// Up to 200 unresolved tickets, for the reply and PATCH workloads.
fn open_ticket_ids(store: &Store, agent: domain::UserId) -> anyhow::Result<Vec<i64>> {
    let agent = Actor::for_tests(agent, Role::SupportAgent);
    let mut ids = Vec::new();
    for status in [
        domain::TicketStatus::Unattended,
        domain::TicketStatus::Replied,
    ] {
        let request = domain::ListTickets {
            status: Some(status),
            page: domain::PageRequest::new(1, 100)?,
            ..domain::ListTickets::default()
        };
        ids.extend(
            store
                .list_tickets(agent, &request)?
                .items
                .iter()
                .map(|t| t.id.0),
        );
    }
    ensure!(!ids.is_empty(), "the seed made no open ticket to write to");
    Ok(ids)
}

/// The CPU time of `servers` together.
fn servers_cpu_seconds(servers: &[Server]) -> anyhow::Result<f64> {
    servers.iter().map(Server::cpu_seconds).sum()
}

pub fn print(processes: &Processes) {
    println!();
    println!(
        "processes on one PostgreSQL (a throwaway cluster: fsync and synchronous_commit off; \
         {} tickets seeded in {:.1} s; `ACCOUNT_WRITE_LIMIT=0`): {SPREAD_CONNECTIONS} clients \
         spread evenly over the processes; medians of {} rounds of {} s; {:.0} s in all",
        processes.tickets,
        processes.seed_secs,
        processes.rounds,
        processes.phase.as_secs(),
        processes.section_secs
    );
    println!(
        "| workload | processes | requests/s | vs 1 process | p50 | p99 \
         | server CPU per request | cores busy (machine) | other answers |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for workload in Workload::ALL {
        let one = processes
            .spreads
            .get(&(workload, 1))
            .map_or(f64::NAN, |spread| median(&spread.per_second));
        for count in PROCESS_COUNTS {
            let Some(spread) = processes.spreads.get(&(workload, count)) else {
                continue;
            };
            let per_second = median(&spread.per_second);
            println!(
                "| {} | {count} | {per_second:.0} | {:.2}x | {:.2} ms | {:.2} ms | {:.1} µs | {:.2} | {} |",
                workload.label(),
                per_second / one,
                median(&spread.p50) * 1e3,
                median(&spread.p99) * 1e3,
                median(&spread.server_cpu_micros),
                median(&spread.machine_cores),
                count_by_status(&spread.others),
            );
        }
    }
    for ((workload, count), spread) in &processes.spreads {
        if let Some(error) = &spread.first_error {
            println!(
                "| first request without an answer, {} on {count} | {error} |",
                workload.label()
            );
        }
    }
}
