//! `cargo xtask bench`: seeds a fresh SQLite database, runs the release
//! server on it and measures what the contract cares about: seeding speed,
//! the streamed report's time and the server's peak memory (against
//! `sqlite3 -csv` on the same query), list and login latency, what
//! instrumentation costs (`report`, `instrumentation`), and how reads and
//! memory hold up under a flood of logins (`logins`); then, on a throwaway
//! PostgreSQL, reads and writes spread over 1, 2 and 3 server processes
//! sharing the database (`processes`); full-text search and the SLA breach
//! filter on a large seed, on each engine (`search`); and on those seeds,
//! list pages and writes against a bare baseline server and a deep cursor
//! page against page 1 (`lists`); and on those seeds too, every web page's
//! latency under a few clients (`web`); and attacks on the server's
//! connections, what they cost a bystander and the server's memory
//! (`attacks`, runnable alone with `--only attacks`) and on the doors that
//! hash a PIN (`login_attacks`, `--only login-attacks`); and on the search
//! section's seeds, every filter x sort of the agents' queue (`queue`,
//! runnable alone with `--only queue`, which seeds its own); and what a
//! webhook endpoint costs a reply, with the outbox's delivery rate and lag
//! (`webhooks`, runnable alone with `--only webhooks`); and what mail
//! costs a public reply, with its lag to a local SMTP server (`mail`,
//! runnable alone with `--only mail`); and what inbound mail takes, new
//! tickets and replies a second and the memory 20 messages of 25 MiB at
//! once take (`inbound`, runnable alone with `--only inbound`). What
//! instrumentation costs also runs alone, on a small seed, with `--only
//! instrumentation` (and beside another build of the server with
//! `--instrumentation-baseline PATH`). `--only lists`
//! seeds a database of each engine for the list section alone.
//! It prints medians and checks a few targets, but it fails on none, so a
//! busy machine cannot make it flaky.
//!
//! This file holds the arguments and the order of the sections; each
//! section is a module of its own, and what they share lives in leaf
//! modules that import no section: `client` (the one HTTP client, load runs
//! included), `server` (the release server, testkit's `ServerProcess`),
//! `stats` (medians, quantiles, rounds) and `machine` (`/proc`). No module
//! imports this one, and no two import each other.

mod attacks;
mod client;
mod inbound;
mod instrumentation;
mod lists;
mod login_attacks;
mod logins;
mod machine;
mod mail;
mod processes;
mod queue;
mod report;
mod search;
mod server;
mod stats;
mod web;
mod webhooks;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::ensure;

/// What to measure with.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Tickets to seed before measuring.
    #[arg(long, default_value_t = 200_000)]
    tickets: u64,
    /// Repetitions of each timed request; the median is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Seconds of each phase of the login flood (reads alone, then reads
    /// during a flood of logins); 0 skips the login flood.
    #[arg(long, default_value_t = 4)]
    flood_seconds: u64,
    /// Rounds of the login flood, each one phase of each kind; the median is
    /// reported.
    #[arg(long, default_value_t = 3)]
    flood_rounds: usize,
    /// Seconds of each measurement of 1, 2 and 3 server processes sharing
    /// one throwaway PostgreSQL database; 0 skips that section.
    #[arg(long, default_value_t = 2)]
    processes_seconds: u64,
    /// Rounds of that section, each measuring every process count; the
    /// median is reported.
    #[arg(long, default_value_t = 3)]
    processes_rounds: usize,
    /// The search and SLA breach section.
    #[command(flatten)]
    search: search::SearchArgs,
    /// The list section, on the search section's databases.
    #[command(flatten)]
    list: lists::ListArgs,
    /// The web pages section, on the search section's databases.
    #[command(flatten)]
    web: web::WebArgs,
    /// The attacks section.
    #[command(flatten)]
    attacks: attacks::AttackArgs,
    /// The login attacks section.
    #[command(flatten)]
    login_attacks: login_attacks::LoginAttackArgs,
    /// The queue section, on the search section's databases.
    #[command(flatten)]
    queue: queue::QueueArgs,
    /// What instrumentation costs (part of the first table).
    #[command(flatten)]
    instrumentation: instrumentation::InstrumentationArgs,
    /// What a webhook costs a reply, and how soon it is delivered.
    #[command(flatten)]
    webhooks: webhooks::WebhookArgs,
    /// What mail costs a reply, and how soon it arrives.
    #[command(flatten)]
    mail: mail::MailArgs,
    /// What inbound mail takes: its rate and its memory.
    #[command(flatten)]
    inbound: inbound::InboundArgs,
    /// Runs this section alone.
    #[arg(long, value_enum)]
    only: Option<Section>,
    /// With `--only lists` or `--only queue`: measures on this seeded
    /// database (a `DATABASE_URL`) instead of seeding one per engine.
    #[arg(long)]
    database: Option<String>,
    /// The tickets `--database` holds, for the headings.
    #[arg(long, default_value_t = 0)]
    database_tickets: u64,
}

impl BenchArgs {
    fn given(&self) -> Option<(&str, u64)> {
        self.database
            .as_deref()
            .map(|url| (url, self.database_tickets))
    }
}

/// A section that runs alone with `--only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Section {
    Attacks,
    LoginAttacks,
    /// Every filter x sort of the queue, on seeds of its own.
    Queue,
    /// What request ids, metrics and log lines cost, on a small seed.
    Instrumentation,
    /// The list section's comparison with the bare baseline (and the
    /// cursor depth, unless `--list-depth-requests 0`) on a database of
    /// each engine seeded for it alone (`--search-tickets`,
    /// `--search-postgres-tickets`; 0 skips an engine), with no search
    /// probes and no other section.
    Lists,
    /// Replies with a subscribed webhook endpoint against none, delivery
    /// throughput and lag, on a small seed.
    Webhooks,
    /// Public replies with mail on against off, and each mail's lag to a
    /// local SMTP server, on a small seed.
    Mail,
    /// New tickets and replies by mail a second, and the memory large
    /// messages at once take, on a small seed.
    Inbound,
}

pub fn run(root: &Path, args: &BenchArgs) -> anyhow::Result<()> {
    ensure!(args.runs > 0, "--runs must be positive");
    ensure!(args.flood_rounds > 0, "--flood-rounds must be positive");
    ensure!(
        args.processes_rounds > 0,
        "--processes-rounds must be positive"
    );
    args.list.check()?;
    args.web.check()?;
    args.attacks.check()?;
    args.instrumentation.check()?;
    args.webhooks.check()?;
    args.mail.check()?;
    args.inbound.check()?;
    println!("building the release server ...");
    build_release(root, &["-p", "api"])?;
    if args.list.compares() && matches!(args.only, None | Some(Section::Lists)) {
        println!("building the list section's baseline server ...");
        build_release(root, &["-p", "xtask", "--bin", lists::BASELINE_BINARY])?;
    }

    let dir = std::env::temp_dir().join(format!("tracker-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = measure(root, &dir, args);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// `cargo build --release` of `package_and_target` (`-p api`, say).
fn build_release(root: &Path, package_and_target: &[&str]) -> anyhow::Result<()> {
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .current_dir(root)
        .args(["build", "--release", "--quiet"])
        .args(package_and_target)
        .status()?;
    ensure!(
        status.success(),
        "cargo build --release {} failed",
        package_and_target.join(" ")
    );
    Ok(())
}

fn measure(root: &Path, dir: &Path, args: &BenchArgs) -> anyhow::Result<()> {
    if let Some(section) = args.only {
        return measure_alone(root, dir, args, section);
    }
    // First, so that a machine without PostgreSQL fails before the long
    // SQLite part rather than after it.
    let processes = if args.processes_seconds > 0 {
        Some(processes::measure(
            root,
            args.tickets,
            args.processes_rounds,
            Duration::from_secs(args.processes_seconds),
        )?)
    } else {
        None
    };
    let mut lists = lists::ListSection::new(root, &args.list);
    let mut web = web::WebSection::new(root, &args.web);
    let mut queues = Vec::new();
    let search = search::measure(root, dir, &args.search, &mut |seeded| {
        // The reads first, on the tickets as seeded; the list section's
        // writes add tickets.
        web.on_seeded(seeded)?;
        if args.queue.runs() {
            queues.push(queue::measure(root, seeded, &args.queue)?);
        }
        lists.on_seeded(seeded)
    })?;
    let basics = report::measure(root, dir, args.tickets, args.runs)?;
    // The default (one hashing thread per two cores) against one per core.
    let worker_counts = [(machine::cores() / 2).max(1), machine::cores()];
    let mut floods = Vec::new();
    if args.flood_seconds > 0 {
        for workers in worker_counts {
            floods.push(logins::measure(
                root,
                &basics.db,
                Duration::from_secs(args.flood_seconds),
                args.flood_rounds,
                workers,
            )?);
        }
    }

    let attacks = if args.attacks.runs() {
        Some(attacks::measure(root, dir, &args.attacks)?)
    } else {
        None
    };
    let login_attacks = if args.login_attacks.runs() {
        Some(login_attacks::measure(root, dir, &args.login_attacks)?)
    } else {
        None
    };
    let webhooks = webhooks::measure(root, &basics.db, &args.webhooks)?;
    let mail = mail::measure(root, &basics.db, &args.mail)?;
    let inbound = inbound::measure(root, &basics.db, &args.inbound)?;

    print_machine();
    report::print(&basics);
    for flood in &floods {
        logins::print(flood);
    }
    if let Some(processes) = &processes {
        processes::print(processes);
    }
    search::print(&search, &args.search);
    lists.print();
    web.print();
    queue::print(&queues);
    if let Some(attacks) = &attacks {
        attacks::print(attacks);
    }
    if let Some(attacks) = &login_attacks {
        login_attacks::print(attacks);
    }
    webhooks::print(&webhooks);
    mail::print(&mail);
    inbound::print(&inbound);
    Ok(())
}

/// One section, run alone.
fn measure_alone(
    root: &Path,
    dir: &Path,
    args: &BenchArgs,
    section: Section,
) -> anyhow::Result<()> {
    match section {
        Section::Attacks => {
            let attacks = attacks::measure(root, dir, &args.attacks)?;
            print_machine();
            attacks::print(&attacks);
        }
        Section::Instrumentation => {
            let seeded = report::seed(dir, instrumentation::ALONE_TICKETS)?;
            drop(seeded.store);
            let measured = instrumentation::measure_alone(root, &seeded.db, &args.instrumentation)?;
            print_machine();
            instrumentation::print(&measured);
        }
        Section::LoginAttacks => {
            let attacks = login_attacks::measure(root, dir, &args.login_attacks)?;
            print_machine();
            login_attacks::print(&attacks);
        }
        Section::Lists => {
            let mut lists = lists::ListSection::new(root, &args.list);
            let seeds = (
                args.search.search_tickets,
                args.search.search_postgres_tickets,
            );
            search::given_or_seeded(dir, args.given(), seeds, &mut |seeded| {
                lists.on_seeded(seeded)
            })?;
            print_machine();
            lists.print();
        }
        Section::Webhooks => {
            let seeded = report::seed(dir, webhooks::TICKETS)?;
            drop(seeded.store);
            let measured = webhooks::measure(root, &seeded.db, &args.webhooks)?;
            print_machine();
            webhooks::print(&measured);
        }
        Section::Mail => {
            let seeded = report::seed(dir, mail::TICKETS)?;
            drop(seeded.store);
            let measured = mail::measure(root, &seeded.db, &args.mail)?;
            print_machine();
            mail::print(&measured);
        }
        Section::Inbound => {
            let seeded = report::seed(dir, inbound::TICKETS)?;
            drop(seeded.store);
            let measured = inbound::measure(root, &seeded.db, &args.inbound)?;
            print_machine();
            inbound::print(&measured);
        }
        Section::Queue => {
            let mut queues = Vec::new();
            let seeds = queue::seeds(&args.queue);
            search::given_or_seeded(dir, args.given(), seeds, &mut |seeded| {
                queues.push(queue::measure(root, seeded, &args.queue)?);
                Ok(())
            })?;
            print_machine();
            queue::print(&queues);
        }
    }
    Ok(())
}

fn print_machine() {
    println!();
    println!(
        "machine: {} cores, {}",
        machine::cores(),
        machine::cpu_model()
    );
}
