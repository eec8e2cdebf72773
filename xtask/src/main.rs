//! Project tasks, run as `cargo xtask <command>` (alias in `.cargo/config.toml`).
//!
//! Add a command by adding a variant to [`Command`] and an arm in `main`.

mod bench;
#[cfg(test)]
mod module_cycles;
mod mutants;
mod schemathesis;
mod screenshots;
mod seed;
mod test_env;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "xtask", about = "Project tasks for the ticket tracker")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run `cargo test [ARGS]` (whole workspace unless `-p` is given) against PostgreSQL.
    ///
    /// Uses `TEST_POSTGRES_URL` if set; otherwise starts a temporary cluster and
    /// exports its URL as `TEST_POSTGRES_URL`. Without PostgreSQL it fails, unless
    /// `SKIP_POSTGRES_TESTS=1` says to run only the SQLite half.
    Test {
        /// Extra arguments for `cargo test`, e.g. `-p domain -- --nocapture`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        cargo_args: Vec<String>,
    },
    /// Start a throwaway PostgreSQL, print its URL and keep it running until Ctrl-C.
    Pg,
    /// Apply pending migrations to `DATABASE_URL` (default: the server's SQLite file).
    Migrate,
    /// Create the original's demo users (idempotent) and, with `--tickets N`,
    /// N generated tickets over two months: priorities, tags, assignments,
    /// replies, internal notes, resolutions and their history.
    Seed {
        /// How many tickets to add (each run adds this many more).
        #[arg(long, default_value_t = 0)]
        tickets: u64,
        /// Random seed, for the same tickets on every run.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Measure seeding, the streamed report, list and login latency on a
    /// fresh SQLite database with the release server, throughput with 1, 2
    /// and 3 server processes on one throwaway PostgreSQL, search and the
    /// SLA breach filter on a large seed on each engine, and on those seeds
    /// list pages and writes against a bare baseline server.
    Bench(Box<bench::BenchArgs>),
    /// Save PNGs of the main web pages at desktop (1280 px) and phone
    /// (375 px) width in `docs/screenshots/`, from the browser tests
    /// (needs `chromium` and `chromium-driver`).
    Screenshots,
    /// Mutation-test the `domain` crate with its own tests (cargo-mutants,
    /// two jobs; about half an hour, so not run by CI). Extra arguments go to
    /// `cargo mutants`, e.g. `--file crates/domain/src/login.rs`; the report
    /// lands in `target/mutants.out/`.
    Mutants {
        /// Extra arguments for `cargo mutants`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        cargo_mutants_args: Vec<String>,
    },
    /// Fuzz the running `api` binary from outside with Schemathesis (every
    /// check, from the served OpenAPI document) as a customer, an agent and
    /// an admin, on SQLite and on a throwaway PostgreSQL, with the request
    /// budgets off; fails on any finding. Needs `schemathesis` on `PATH`
    /// (`python3 -m pip install schemathesis`); about 3 minutes.
    Schemathesis(schemathesis::Args),
}

fn main() -> anyhow::Result<ExitCode> {
    store::read_dotenv()?;
    match Cli::parse().command {
        Command::Test { cargo_args } => test_env::run_tests(&workspace_root()?, &cargo_args),
        Command::Pg => test_env::serve(),
        Command::Migrate => {
            let url = store::DatabaseUrl::from_env()?;
            let applied = store::migrate(&url)?;
            println!("{}: {applied} migration(s) applied", url.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Seed { tickets, seed } => {
            let url = store::DatabaseUrl::from_env()?;
            let store = store::Store::connect(&url, store::StoreOptions::default())?;
            println!("seeding {}", url.display());
            if tickets == 0 {
                seed::seed_users(&store, false)?;
            } else {
                let started = std::time::Instant::now();
                seed::seed_tickets(&store, tickets, seed)?;
                println!(
                    "{tickets} tickets in {:.1} s",
                    started.elapsed().as_secs_f64()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Screenshots => screenshots::run(&workspace_root()?),
        Command::Mutants { cargo_mutants_args } => {
            mutants::run(&workspace_root()?, &cargo_mutants_args)
        }
        Command::Schemathesis(args) => schemathesis::run(&workspace_root()?, &args),
        Command::Bench(args) => {
            bench::run(&workspace_root()?, &args)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The workspace root: the parent of this crate's directory, fixed at compile time.
fn workspace_root() -> anyhow::Result<PathBuf> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .context("xtask manifest dir has no parent")
}
