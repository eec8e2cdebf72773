//! A real server process, for the tests that run the `api` binary and for
//! the bench's release servers: started on a port of 127.0.0.1 (a free one
//! unless one is given, passed as `PORT`), waited for until it listens or
//! answers a health check, killed when dropped, and stopped with SIGTERM
//! when a test wants its exit status.
//!
//! ```no_run
//! # fn main() -> std::io::Result<()> {
//! use testkit::{Log, Ready, ServerProcess};
//!
//! let dir = tempfile::tempdir()?;
//! let mut server = ServerProcess::build("target/debug/api")
//!     .current_dir(dir.path())
//!     .env_clear()
//!     .env("DATABASE_URL", "sqlite://tracker.db")
//!     .env("JWT_SECRET", "a-secret-of-at-least-thirty-two-bytes")
//!     .log(Log::File(dir.path().join("server.log")))
//!     .ready(Ready::Answers200("/health".into()))
//!     .start()?;
//! println!("listening on {}", server.address());
//! let status = server.terminate(std::time::Duration::from_secs(10))?;
//! assert!(status.success());
//! # Ok(())
//! # }
//! ```

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How often a starting server is checked, and a stopping one waited for.
const POLL: Duration = Duration::from_millis(50);
/// How many of the log's last lines an error or a failing test shows.
const LOG_TAIL_LINES: usize = 80;

/// Where a server's output goes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Log {
    /// Nowhere: stdout and stderr are discarded.
    #[default]
    Discard,
    /// Stdout is discarded, stderr is this process's (a bench shows the
    /// server's warnings and errors).
    Stderr,
    /// Stdout is piped, for [`ServerProcess::read_stdout`] once the server
    /// has exited (an unread pipe fills up: only for short runs); stderr is
    /// discarded.
    CaptureStdout,
    /// Stdout and stderr are written to this file (created, or emptied),
    /// read with [`ServerProcess::log`]; its last lines are printed when a
    /// start fails and when the server is dropped during a panic.
    File(PathBuf),
}

/// When a starting server counts as ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ready {
    /// It accepts a TCP connection on its port.
    Listening,
    /// `GET` of this path answers 200 (on a connection of its own, closed
    /// after the answer).
    Answers200(String),
}

/// A server process being configured; [`Launch::start`] starts it.
#[derive(Debug)]
pub struct Launch {
    binary: PathBuf,
    wrapper: Option<(PathBuf, Vec<String>)>,
    args: Vec<String>,
    dir: Option<PathBuf>,
    env_clear: bool,
    env: Vec<(String, String)>,
    port: Option<u16>,
    log: Log,
    ready: Ready,
    ready_within: Duration,
}

/// A running server; killed (SIGKILL) when dropped if it still runs.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    port: u16,
    log: Log,
    /// The binary's file name, for messages.
    name: String,
}

impl ServerProcess {
    /// A server of `binary` (a path), by default: in our working directory
    /// with our environment, on a free port, its output discarded, ready
    /// once it listens, within 30 s.
    pub fn build(binary: impl AsRef<Path>) -> Launch {
        Launch {
            binary: binary.as_ref().to_path_buf(),
            wrapper: None,
            args: Vec::new(),
            dir: None,
            env_clear: false,
            env: Vec::new(),
            port: None,
            log: Log::Discard,
            ready: Ready::Listening,
            ready_within: Duration::from_secs(30),
        }
    }

    /// The port it listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT`.
    pub fn address(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address())
    }

    /// Its process id (of the wrapper, which execs the server in its place,
    /// if it was started through one).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it still runs.
    pub fn is_running(&mut self) -> io::Result<bool> {
        Ok(self.child.try_wait()?.is_none())
    }

    /// Sends it `signal` (`"TERM"`, `"KILL"`, ...) with `kill`.
    pub fn signal(&self, signal: &str) -> io::Result<()> {
        let sent = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .stdin(Stdio::null())
            .status()?;
        if sent.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "kill -{signal} {}: {sent}",
                self.pid()
            )))
        }
    }

    /// Sends SIGTERM; its exit status, which must come within `limit`
    /// (an error of kind `TimedOut` otherwise, the process left running
    /// until dropped).
    pub fn terminate(&mut self, limit: Duration) -> io::Result<ExitStatus> {
        self.signal("TERM")?;
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no exit within {limit:?} of SIGTERM"),
                ));
            }
            std::thread::sleep(POLL);
        }
    }

    /// Sends SIGTERM and waits, however long it takes; its exit status.
    pub fn stop(mut self) -> io::Result<ExitStatus> {
        self.signal("TERM")?;
        self.child.wait()
    }

    /// Its standard output, with [`Log::CaptureStdout`], once (`None`
    /// after that, or with another [`Log`]).
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    /// Reads its piped standard output to the end (so best after it
    /// exited): with [`Log::CaptureStdout`], once.
    pub fn read_stdout(&mut self) -> io::Result<String> {
        let mut stdout = self.take_stdout().ok_or_else(|| {
            io::Error::other("no standard output to read (not Log::CaptureStdout, or read already)")
        })?;
        let mut text = String::new();
        stdout.read_to_string(&mut text)?;
        Ok(text)
    }

    /// What it wrote so far, with [`Log::File`]; `None` with another
    /// [`Log`].
    pub fn log(&self) -> Option<String> {
        match &self.log {
            Log::File(path) => Some(std::fs::read_to_string(path).unwrap_or_default()),
            _ => None,
        }
    }

    /// The last lines of [`ServerProcess::log`], or an empty string.
    pub fn log_tail(&self) -> String {
        let log = self.log().unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
    }

    /// Waits until it is `ready`, or fails if it exits or `within` passes
    /// first (the error shows the log's tail, with [`Log::File`]).
    fn wait_until(&mut self, ready: &Ready, within: Duration) -> io::Result<()> {
        let what = match ready {
            Ready::Listening => "listening".to_owned(),
            Ready::Answers200(path) => format!("answering GET {path} with 200"),
        };
        let deadline = Instant::now() + within;
        loop {
            let is_ready = match ready {
                Ready::Listening => TcpStream::connect(self.address()).is_ok(),
                Ready::Answers200(path) => get_status(self.address(), path) == Some(200),
            };
            if is_ready {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                return Err(io::Error::other(format!(
                    "{} exited before {what} ({status}){}",
                    self.name,
                    self.shown_log()
                )));
            }
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "{} was not {what} within {} s{}",
                        self.name,
                        within.as_secs(),
                        self.shown_log()
                    ),
                ));
            }
            std::thread::sleep(POLL);
        }
    }

    /// The log's tail for an error message, if there is a log file.
    fn shown_log(&self) -> String {
        match &self.log {
            Log::File(path) => format!(
                "\n--- the last lines of {}:\n{}",
                path.display(),
                self.log_tail()
            ),
            _ => String::new(),
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() && matches!(self.log, Log::File(_)) {
            // Straight to the process's stderr: a test harness would
            // swallow this otherwise.
            let _ = writeln!(
                io::stderr(),
                "--- the server's last log lines:\n{}",
                self.log_tail()
            );
        }
    }
}

impl Launch {
    /// Runs the server in `dir` (ours otherwise).
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Passes none of our environment on: only what [`Launch::env`] sets
    /// (and `PORT`).
    pub fn env_clear(mut self) -> Self {
        self.env_clear = true;
        self
    }

    /// Sets one variable of its environment (a later one wins).
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    /// Sets each of `vars`, in order, after those set before.
    pub fn envs<K, V>(mut self, vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        self.env
            .extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Listens on `port` rather than on a free one.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Passes `args` to the binary (after those passed before).
    pub fn args<S: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.args.extend(
            args.into_iter()
                .map(|arg| arg.as_ref().to_string_lossy().into_owned()),
        );
        self
    }

    /// Runs `program ARGS... BINARY` rather than the binary itself: a
    /// wrapper such as `setpriv ... --` that execs the server in its place
    /// (so the pid signalled is the server's).
    pub fn wrapped_in<S: AsRef<OsStr>>(
        mut self,
        program: impl AsRef<Path>,
        args: impl IntoIterator<Item = S>,
    ) -> Self {
        let args = args
            .into_iter()
            .map(|arg| arg.as_ref().to_string_lossy().into_owned())
            .collect();
        self.wrapper = Some((program.as_ref().to_path_buf(), args));
        self
    }

    /// Where its output goes ([`Log::Discard`] by default).
    pub fn log(mut self, log: Log) -> Self {
        self.log = log;
        self
    }

    /// When it counts as started ([`Ready::Listening`] by default).
    pub fn ready(mut self, ready: Ready) -> Self {
        self.ready = ready;
        self
    }

    /// How long it may take to be ready (30 s by default).
    pub fn ready_within(mut self, within: Duration) -> Self {
        self.ready_within = within;
        self
    }

    /// Starts it, with `PORT` set, and waits until it is ready. A server
    /// that exits first, or is not ready in time, is an error (killed).
    pub fn start(self) -> io::Result<ServerProcess> {
        let port = match self.port {
            Some(port) => port,
            None => free_port()?,
        };
        let mut command = match &self.wrapper {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(&self.binary);
                command
            }
            None => Command::new(&self.binary),
        };
        command.args(&self.args);
        if let Some(dir) = &self.dir {
            command.current_dir(dir);
        }
        if self.env_clear {
            command.env_clear();
        }
        command
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("PORT", port.to_string())
            .stdin(Stdio::null());
        match &self.log {
            Log::Discard => {
                command.stdout(Stdio::null()).stderr(Stdio::null());
            }
            Log::Stderr => {
                command.stdout(Stdio::null()).stderr(Stdio::inherit());
            }
            Log::CaptureStdout => {
                command.stdout(Stdio::piped()).stderr(Stdio::null());
            }
            Log::File(path) => {
                let file = File::create(path).map_err(|error| {
                    io::Error::new(error.kind(), format!("{}: {error}", path.display()))
                })?;
                command.stdout(file.try_clone()?).stderr(file);
            }
        }
        let name = self.binary.file_name().map_or_else(
            || self.binary.display().to_string(),
            |name| name.to_string_lossy().into_owned(),
        );
        let child = command.spawn().map_err(|error| {
            io::Error::new(
                error.kind(),
                format!("starting {}: {error}", self.binary.display()),
            )
        })?;
        let mut server = ServerProcess {
            child,
            port,
            log: self.log,
            name,
        };
        server.wait_until(&self.ready, self.ready_within)?;
        Ok(server)
    }
}

/// A port of 127.0.0.1 that is free right now (freed again before the
/// server binds it; good enough here).
pub fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// The status of `GET path` at `address`, on a connection of its own;
/// `None` without a whole status line within a few seconds.
fn get_status(address: SocketAddr, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .ok()?;
    let mut answer = Vec::new();
    // The status line is all that is read; the rest goes with the stream.
    let mut buffer = [0u8; 512];
    while !answer.contains(&b'\n') {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => answer.extend_from_slice(&buffer[..read]),
        }
    }
    let line = String::from_utf8_lossy(&answer);
    line.strip_prefix("HTTP/1.")?
        .get(2..5)
        .and_then(|code| code.parse().ok())
}
