//! The support tracker's server, and the commands an operator runs beside it.

use api::config::Settings;
use clap::{Parser, Subcommand};
use domain::{EmailAddress, Role};

#[derive(Debug, Parser)]
#[command(name = "api", version, about = "The support tracker's HTTP server")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create an account; its PIN is read as one line from standard input.
    CreateUser {
        #[arg(long)]
        username: String,
        /// ADMIN, SUPPORT_AGENT or CUSTOMER.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// The account's email address (optional).
        #[arg(long, value_parser = parse_email)]
        email: Option<EmailAddress>,
    },
    /// Hand one message from standard input to the server (for a mail
    /// server's pipe): exits 0 when it was taken, 75 to have the mail
    /// server keep it and try again, 65 when it was refused.
    Mailgate {
        /// The server's base URL, such as https://help.example.com.
        #[arg(long)]
        url: String,
    },
}

fn parse_email(raw: &str) -> Result<EmailAddress, String> {
    EmailAddress::parse(raw).map_err(|error| error.to_string())
}

fn parse_role(raw: &str) -> Result<Role, String> {
    raw.parse()
        .map_err(|error: domain::ValidationError| error.to_string())
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // The gate runs on the mail server's host, which has no server
    // settings: it reads only its own.
    if let Some(Command::Mailgate { url }) = &cli.command {
        let gated = api::mailgate::run(url, &mut std::io::stdin().lock());
        eprintln!("{}", gated.message);
        std::process::exit(i32::from(gated.status));
    }
    let settings = Settings::from_env()?;
    // Held to the end of main: dropping it writes out the queued lines.
    let _log_guard = api::init_tracing(settings.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let runtime = tokio::runtime::Runtime::new()?;
            let served = runtime.block_on(api::serve(settings));
            // The grace period is over: work still on the blocking pool (a
            // report waiting on a stalled client) must not hold the exit.
            runtime.shutdown_timeout(EXIT_WAIT);
            served
        }
        Command::Migrate => api::commands::migrate(&settings),
        Command::Mailgate { .. } => unreachable!("the gate ran above"),
        Command::CreateUser {
            username,
            role,
            email,
        } => api::commands::create_user(
            &settings,
            &username,
            role,
            email,
            &mut std::io::stdin().lock(),
        ),
    }
}

/// How long the exit waits for blocking work after the server stopped.
const EXIT_WAIT: std::time::Duration = std::time::Duration::from_secs(1);
