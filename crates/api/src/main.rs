//! The support tracker's server, and the commands an operator runs beside it.

use api::config::Settings;
use clap::{Parser, Subcommand};
use domain::Role;

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
    },
}

fn parse_role(raw: &str) -> Result<Role, String> {
    raw.parse()
        .map_err(|error: domain::ValidationError| error.to_string())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::from_env()?;
    api::init_tracing(settings.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => api::serve(settings).await,
        Command::Migrate => api::commands::migrate(&settings),
        Command::CreateUser { username, role } => {
            api::commands::create_user(&settings, &username, role, &mut std::io::stdin().lock())
        }
    }
}
