//! The `test` and `pg` commands, over a throwaway PostgreSQL cluster (testkit's
//! [`TestCluster`]: a fresh temp directory, a free port on 127.0.0.1, stopped and deleted
//! when dropped or, through a watchdog, when xtask is killed).

use std::env;
use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::Context as _;
use testkit::{SKIP_POSTGRES_VAR, TestCluster};

/// Database created in the cluster; tests create their own databases next to it.
const DB_NAME: &str = "tracker_test";

/// `cargo test [--workspace] ARGS` with `TEST_POSTGRES_URL` pointing at a PostgreSQL.
pub fn run_tests(root: &Path, cargo_args: &[String]) -> anyhow::Result<ExitCode> {
    let cluster = if env::var_os("TEST_POSTGRES_URL").is_some_and(|u| !u.is_empty()) {
        eprintln!("xtask: using TEST_POSTGRES_URL from the environment");
        None
    } else {
        match start_cluster() {
            Ok(cluster) => Some(cluster),
            // Only an explicit opt-out lets the PostgreSQL half go unrun.
            Err(e) if env::var(SKIP_POSTGRES_VAR).is_ok_and(|v| v == "1") => {
                eprintln!("xtask: {SKIP_POSTGRES_VAR}=1: the PostgreSQL half will NOT run: {e:#}");
                None
            }
            Err(e) => {
                return Err(e.context(format!(
                    "cannot start PostgreSQL; install it, or set {SKIP_POSTGRES_VAR}=1 to skip its tests knowingly"
                )));
            }
        }
    };

    ensure_german_locale();
    let mut cargo = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo.current_dir(root).arg("test");
    // `--workspace` would override `-p`, so only test everything when no package is named.
    if !selects_package(cargo_args) {
        cargo.arg("--workspace");
    }
    cargo.args(cargo_args);
    if let Some(cluster) = &cluster {
        cargo.env("TEST_POSTGRES_URL", cluster_url(cluster));
    }
    let status = cargo.status().context("running cargo test")?;
    drop(cluster);
    // A signal death has no code; report it as a plain failure.
    Ok(ExitCode::from(
        status
            .code()
            .and_then(|c| u8::try_from(c).ok())
            .unwrap_or(1),
    ))
}

/// Whether cargo's own arguments (before any `--`) contain `-p`/`--package`.
fn selects_package(cargo_args: &[String]) -> bool {
    cargo_args
        .iter()
        .take_while(|a| *a != "--")
        .any(|a| a == "--package" || a.starts_with("--package=") || a.starts_with("-p"))
}

/// `cargo xtask pg`: start a cluster, print its URL, run until interrupted.
pub fn serve() -> anyhow::Result<ExitCode> {
    let cluster = start_cluster()?;
    println!("{}", cluster_url(&cluster));
    eprintln!("xtask: press Ctrl-C to stop and delete the cluster");
    // Ctrl-C kills us without running Drop; the watchdog then stops and removes the cluster.
    loop {
        std::thread::park();
    }
}

/// The database created in the cluster; tests create their own next to it.
pub(crate) fn start_cluster() -> anyhow::Result<TestCluster> {
    let cluster = TestCluster::start(&[], DB_NAME).context("starting PostgreSQL")?;
    eprintln!(
        "xtask: PostgreSQL ready at {} (in {})",
        cluster.url(DB_NAME),
        cluster.dir().display()
    );
    Ok(cluster)
}

/// The URL of the database [`start_cluster`] created.
pub(crate) fn cluster_url(cluster: &TestCluster) -> String {
    cluster.url(DB_NAME)
}

/// The store's fault tests start a PostgreSQL speaking German, to prove
/// errors are told apart by SQLSTATE rather than by English text; it needs
/// the `de_DE.UTF-8` locale, which a fresh Debian has the data for (the
/// `locales` package) but has not built. Built here when missing, if we
/// may; otherwise that test fails naming the command.
fn ensure_german_locale() {
    let listed = Command::new("locale").arg("-a").output();
    let present = listed.is_ok_and(|out| {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|name| name.eq_ignore_ascii_case("de_DE.utf8"))
    });
    if present {
        return;
    }
    eprintln!("xtask: building the de_DE.UTF-8 locale for the PostgreSQL error-language test");
    let built = Command::new("localedef")
        .args(["-i", "de_DE", "-f", "UTF-8", "de_DE.UTF-8"])
        .status();
    if !built.is_ok_and(|status| status.success()) {
        eprintln!("xtask: warning: `localedef -i de_DE -f UTF-8 de_DE.UTF-8` failed");
    }
}
