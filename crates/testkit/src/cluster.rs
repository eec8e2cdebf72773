//! A throwaway PostgreSQL cluster: started from the installed server
//! binaries in a fresh temporary directory, listening on 127.0.0.1 on a free
//! port, stopped and deleted when dropped. `cargo xtask test` runs the
//! suite against one; a fault test starts its own, to stop and start it
//! under a running server without disturbing the other tests.
//!
//! A detached watchdog stops and deletes the cluster if this process dies
//! without running `Drop` (killed, Ctrl-C), since `pg_ctl` puts the server
//! in its own session, where it would otherwise outlive us.

use std::io;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::server::free_port;

/// A running (or deliberately stopped) temporary cluster.
#[derive(Debug)]
pub struct TestCluster {
    dir: PathBuf,
    bin: PathBuf,
    /// We may be root, and PostgreSQL refuses to run as root: its binaries
    /// then run as the `postgres` user.
    as_postgres: bool,
    port: u16,
    /// Extra `-c name=value` server settings, kept for restarts.
    settings: Vec<String>,
    /// Cleanup process for when we die without running Drop.
    watchdog: Option<Child>,
}

impl TestCluster {
    /// Initialises and starts a cluster with `settings` (`name=value`
    /// server parameters) on top of ours, with a database `database`.
    pub fn start(settings: &[&str], database: &str) -> io::Result<Self> {
        let bin = find_bin_dir()?;
        let as_postgres = is_root()?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(io::Error::other)?
            .as_nanos();
        let dir = std::env::temp_dir().join(format!("tracker-pg-{}-{nanos}", std::process::id()));
        if as_postgres {
            run(Command::new("install")
                .args(["-d", "-o", "postgres", "-g", "postgres", "-m", "700"])
                .arg(&dir))?;
        } else {
            std::fs::create_dir(&dir)?;
        }
        // From here on, Drop (or the watchdog) cleans up whatever fails.
        let mut cluster = Self {
            dir,
            bin,
            as_postgres,
            port: free_port()?,
            settings: settings.iter().map(|s| (*s).to_owned()).collect(),
            watchdog: None,
        };
        cluster.watchdog = Some(cluster.spawn_watchdog()?);
        run(cluster.pg("initdb").arg("-D").arg(cluster.data()).args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        ]))?;
        cluster.start_again()?;
        run(cluster.pg("createdb").arg("-h").arg(&cluster.dir).args([
            "-p",
            &cluster.port.to_string(),
            "-U",
            "postgres",
            database,
        ]))?;
        Ok(cluster)
    }

    /// The URL of `database` on this cluster.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Where the cluster's files are.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Starts the server on its port and data directory, waiting until it
    /// accepts connections.
    pub fn start_again(&self) -> io::Result<()> {
        // Durability is pointless for a throwaway cluster; many
        // connections for parallel tests.
        let mut options = format!(
            "-p {} -k '{}' -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=300",
            self.port,
            self.dir.display()
        );
        for setting in &self.settings {
            options.push_str(&format!(" -c {setting}"));
        }
        let log = self.dir.join("server.log");
        let started = run(self
            .pg("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "30", "-o", &options, "start"]));
        started.map_err(|error| {
            let log_text = std::fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<&str> = log_text.lines().collect();
            let tail = lines[lines.len().saturating_sub(30)..].join("\n");
            io::Error::other(format!(
                "PostgreSQL did not start: {error}\n--- server log tail ---\n{tail}"
            ))
        })
    }

    /// Stops the server the way an operator would (`pg_ctl stop -m fast`:
    /// sessions are ended, then it shuts down).
    pub fn stop(&self) -> io::Result<()> {
        run(self
            .pg("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "fast", "-w", "stop"]))
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// A command running the PostgreSQL binary `name`, as `postgres` if we
    /// are root.
    fn pg(&self, name: &str) -> Command {
        let exe = self.bin.join(name);
        let mut cmd = if self.as_postgres {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(exe);
            cmd
        } else {
            Command::new(exe)
        };
        // postgres must be able to read its cwd, which ours may not allow.
        cmd.current_dir("/tmp");
        cmd
    }

    /// Spawns a detached shell that stops and deletes the cluster once its
    /// stdin pipe closes, i.e. once the returned [`Child`] is dropped or
    /// this process dies in any way (the pipe's write end is
    /// close-on-exec, so no other child keeps it open). After a normal
    /// Drop it finds nothing left to do.
    fn spawn_watchdog(&self) -> io::Result<Child> {
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
            // Its own process group, so the terminal's Ctrl-C spares it.
            .process_group(0)
            .spawn()
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        if self.data().join("postmaster.pid").exists()
            && let Err(error) = self.stop()
        {
            eprintln!("warning: stopping PostgreSQL: {error}");
        }
        if let Err(error) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("warning: removing {}: {error}", self.dir.display());
        }
    }
}

/// Server binaries: `$PG_BIN_DIR`, else PostgreSQL 15, else the newest
/// installed version.
fn find_bin_dir() -> io::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("PG_BIN_DIR") {
        let dir = PathBuf::from(dir);
        if !dir.join("initdb").is_file() {
            return Err(io::Error::other(format!(
                "PG_BIN_DIR={} has no initdb",
                dir.display()
            )));
        }
        return Ok(dir);
    }
    let root = Path::new("/usr/lib/postgresql");
    let preferred = root.join("15/bin");
    if preferred.join("initdb").is_file() {
        return Ok(preferred);
    }
    std::fs::read_dir(root)
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
        .ok_or_else(|| {
            io::Error::other(
                "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (set PG_BIN_DIR)",
            )
        })
}

/// Whether we run as root: `id -u`, since unsafe code (`geteuid`) is
/// forbidden in this workspace.
pub fn is_root() -> io::Result<bool> {
    let out = Command::new("id").arg("-u").output()?;
    Ok(String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// Runs `cmd` with its output captured; on failure the error includes
/// that output.
fn run(cmd: &mut Command) -> io::Result<()> {
    let out = cmd.stdin(Stdio::null()).output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "{cmd:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(())
}
