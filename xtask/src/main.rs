//! Project tasks, run as `cargo xtask <command>` (alias in `.cargo/config.toml`).
//!
//! Add a command by adding a variant to [`Command`] and an arm in `main`.

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
    /// exports its URL as `TEST_POSTGRES_URL`. Without PostgreSQL the tests still
    /// run (PostgreSQL tests skip themselves), except under `CI`, where it is an error.
    Test {
        /// Extra arguments for `cargo test`, e.g. `-p domain -- --nocapture`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        cargo_args: Vec<String>,
    },
    /// Start a throwaway PostgreSQL, print its URL and keep it running until Ctrl-C.
    Pg,
}

fn main() -> anyhow::Result<ExitCode> {
    dotenvy::dotenv().ok();
    match Cli::parse().command {
        Command::Test { cargo_args } => test_env::run_tests(&workspace_root()?, &cargo_args),
        Command::Pg => test_env::serve(),
    }
}

/// The workspace root: the parent of this crate's directory, fixed at compile time.
fn workspace_root() -> anyhow::Result<PathBuf> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .context("xtask manifest dir has no parent")
}
