//! A throwaway PostgreSQL cluster for tests and the bench, and the `test` / `pg` commands.
//!
//! The cluster lives in a fresh temp directory, listens on 127.0.0.1 on a free port and is
//! stopped and deleted when [`TempCluster`] is dropped (on success, error or panic). A detached
//! watchdog does the same if xtask is killed (e.g. Ctrl-C), since `pg_ctl` puts the server in
//! its own session, where it would otherwise outlive us.

use std::net::TcpListener;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};
use std::{env, fs};

use anyhow::{Context as _, bail, ensure};

/// Database created in the cluster; tests create their own databases next to it.
const DB_NAME: &str = "tracker_test";
/// The opt-out the tests themselves honour (`store::test_support`); CI never sets it.
const SKIP_POSTGRES_VAR: &str = "SKIP_POSTGRES_TESTS";

/// `cargo test [--workspace] ARGS` with `TEST_POSTGRES_URL` pointing at a PostgreSQL.
pub fn run_tests(root: &Path, cargo_args: &[String]) -> anyhow::Result<ExitCode> {
    let cluster = if env::var_os("TEST_POSTGRES_URL").is_some_and(|u| !u.is_empty()) {
        eprintln!("xtask: using TEST_POSTGRES_URL from the environment");
        None
    } else {
        match TempCluster::start() {
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

    let mut cargo = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo.current_dir(root).arg("test");
    // `--workspace` would override `-p`, so only test everything when no package is named.
    if !selects_package(cargo_args) {
        cargo.arg("--workspace");
    }
    cargo.args(cargo_args);
    if let Some(cluster) = &cluster {
        cargo.env("TEST_POSTGRES_URL", cluster.url());
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
    let cluster = TempCluster::start()?;
    println!("{}", cluster.url());
    eprintln!("xtask: press Ctrl-C to stop and delete the cluster");
    // Ctrl-C kills us without running Drop; the watchdog then stops and removes the cluster.
    loop {
        std::thread::park();
    }
}

/// A running temporary cluster; dropping it stops the server and deletes its directory.
#[derive(Debug)]
pub(crate) struct TempCluster {
    dir: PathBuf,
    bin: PathBuf,
    /// We are root, so PostgreSQL binaries run as the `postgres` user (they refuse root).
    as_postgres: bool,
    port: u16,
    /// Cleanup process for when we die without running Drop; see [`Self::spawn_watchdog`].
    watchdog: Option<Child>,
}

impl TempCluster {
    pub(crate) fn start() -> anyhow::Result<Self> {
        let bin = find_bin_dir()?;
        let as_postgres = is_root()?;
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos();
        let dir = env::temp_dir().join(format!("tracker-pg-{}-{nanos}", std::process::id()));
        if as_postgres {
            run(Command::new("install")
                .args(["-d", "-o", "postgres", "-g", "postgres", "-m", "700"])
                .arg(&dir))?;
        } else {
            fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        // From here on, Drop (or the watchdog) cleans up whatever fails.
        let mut cluster = Self {
            dir,
            bin,
            as_postgres,
            port: free_port()?,
            watchdog: None,
        };
        cluster.watchdog = Some(cluster.spawn_watchdog()?);

        let data = cluster.dir.join("data");
        let log = cluster.dir.join("server.log");
        run(cluster.pg("initdb").arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        ]))?;
        // Durability is pointless for a throwaway cluster; many connections for parallel tests.
        let opts = format!(
            "-p {} -k '{}' -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=300",
            cluster.port,
            cluster.dir.display()
        );
        let started = run(cluster
            .pg("pg_ctl")
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "30", "-o", &opts, "start"]));
        if let Err(e) = started {
            let log_text = fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<&str> = log_text.lines().collect();
            let tail = lines[lines.len().saturating_sub(30)..].join("\n");
            bail!("PostgreSQL did not start: {e:#}\n--- server log tail ---\n{tail}");
        }
        run(cluster.pg("createdb").arg("-h").arg(&cluster.dir).args([
            "-p",
            &cluster.port.to_string(),
            "-U",
            "postgres",
            DB_NAME,
        ]))?;
        eprintln!(
            "xtask: PostgreSQL ready at {} (in {})",
            cluster.url(),
            cluster.dir.display()
        );
        Ok(cluster)
    }

    pub(crate) fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{DB_NAME}", self.port)
    }

    /// A command running the PostgreSQL binary `name`, as `postgres` if we are root.
    fn pg(&self, name: &str) -> Command {
        let exe = self.bin.join(name);
        let mut cmd = if self.as_postgres {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(exe);
            cmd
        } else {
            Command::new(exe)
        };
        // postgres must be able to read its cwd, which our cwd (e.g. under /root) may not allow.
        cmd.current_dir("/tmp");
        cmd
    }

    /// Spawns a detached shell that stops and deletes the cluster once its stdin pipe closes,
    /// i.e. once the returned [`Child`] is dropped or this process dies in any way (the pipe's
    /// write end is close-on-exec, so no other child keeps it open). After a normal Drop it
    /// finds nothing left to do.
    fn spawn_watchdog(&self) -> anyhow::Result<Child> {
        const SCRIPT: &str = r#"dir=$1; shift
cat >/dev/null
if [ -e "$dir/data/postmaster.pid" ]; then "$@" -D "$dir/data" -m immediate -w stop; fi
rm -rf "$dir""#;
        let pg_ctl = self.pg("pg_ctl");
        Command::new("sh")
            .args(["-c", SCRIPT, "sh"])
            .arg(&self.dir)
            .arg(pg_ctl.get_program())
            .args(pg_ctl.get_args())
            .current_dir("/tmp")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Own process group, so the terminal's Ctrl-C does not kill it along with us.
            .process_group(0)
            .spawn()
            .context("spawning the cleanup watchdog")
    }
}

impl Drop for TempCluster {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        if data.join("postmaster.pid").exists() {
            let stop = run(self
                .pg("pg_ctl")
                .arg("-D")
                .arg(&data)
                .args(["-m", "fast", "-w", "stop"]));
            if let Err(e) = stop {
                eprintln!("xtask: warning: stopping PostgreSQL: {e:#}");
            }
        }
        if let Err(e) = fs::remove_dir_all(&self.dir) {
            eprintln!("xtask: warning: removing {}: {e}", self.dir.display());
        }
    }
}

/// Server binaries: `$PG_BIN_DIR`, else PostgreSQL 15, else the newest installed version.
fn find_bin_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = env::var_os("PG_BIN_DIR") {
        let dir = PathBuf::from(dir);
        ensure!(
            dir.join("initdb").is_file(),
            "PG_BIN_DIR={} has no initdb",
            dir.display()
        );
        return Ok(dir);
    }
    let root = Path::new("/usr/lib/postgresql");
    let preferred = root.join("15/bin");
    if preferred.join("initdb").is_file() {
        return Ok(preferred);
    }
    fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .max_by_key(|(version, _)| *version)
        .map(|(_, bin)| bin)
        .context("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (set PG_BIN_DIR)")
}

fn is_root() -> anyhow::Result<bool> {
    // `id -u` instead of libc::geteuid: unsafe code is forbidden in this workspace.
    let out = Command::new("id")
        .arg("-u")
        .output()
        .context("running `id -u`")?;
    Ok(String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// A port that is free right now (freed again before postgres binds it; good enough here).
fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Runs `cmd` with its output captured; on failure the error includes that output.
fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}
