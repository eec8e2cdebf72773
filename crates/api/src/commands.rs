//! The `api` binary's commands besides serving: applying migrations, and
//! creating an account from the server's host (how a real deployment gets
//! its first admin).

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Context as _;
use domain::{Creator, EmailAddress, Pin, Role, Username};
use store::{NewAccount, Store};

use crate::config::Settings;

/// Applies pending migrations and says how many ran.
pub fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let applied = store::migrate(&settings.database_url)
        .with_context(|| format!("cannot migrate {}", settings.database_url.display()))?;
    println!(
        "{}: {applied} migration(s) applied",
        settings.database_url.display()
    );
    Ok(())
}

/// Creates an account of any role as the operator, with the PIN read as one
/// line from `pin_source` (standard input: a PIN on the command line would
/// sit in the shell history and in `ps`).
pub fn create_user(
    settings: &Settings,
    username: &str,
    role: Role,
    email: Option<EmailAddress>,
    pin_source: &mut impl BufRead,
) -> anyhow::Result<()> {
    let username = Username::parse(username).context("--username")?;
    if std::io::stdin().is_terminal() {
        eprint!("PIN for {} (4-12 digits): ", username.as_str());
        std::io::stderr().flush()?;
    }
    let mut line = String::new();
    pin_source
        .read_line(&mut line)
        .context("cannot read the PIN from standard input")?;
    let pin = Pin::parse(line.trim_end_matches(['\n', '\r'])).context("the PIN")?;
    let options = store::StoreOptions {
        max_size: Some(1),
        ..settings.store_options()
    };
    let store = Store::connect(&settings.database_url, options)
        .with_context(|| format!("cannot open {}", settings.database_url.display()))?;
    let new = NewAccount {
        username,
        pin,
        role: Some(role),
        email,
    };
    let user = store
        .reserve_hashing()
        .and_then(|hashing| store.create_user(hashing, Creator::Operator, &new))
        .context("cannot create the account")?;
    match &user.email {
        Some(email) => println!(
            "created {} {} <{email}> (id {})",
            user.role, user.username, user.id
        ),
        None => println!("created {} {} (id {})", user.role, user.username, user.id),
    }
    Ok(())
}
