//! Real `api` processes for the tests that need one: the binary run as an
//! operator runs it, a server on a free port, raw HTTP/1.1 over TCP.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

pub const BINARY: &str = env!("CARGO_BIN_EXE_api");
pub const LONG_SECRET: &str = "a-secret-of-at-least-thirty-two-bytes";

pub fn api(dir: &std::path::Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(BINARY)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("DATABASE_URL", "sqlite://data/tracker.db")
        .env("JWT_SECRET", LONG_SECRET)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start api");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("api ran")
}

/// One HTTP/1.1 exchange with `Connection: close`; the whole answer.
pub fn http(port: u16, request: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    answer
}

/// A server process on a free port of 127.0.0.1, over a SQLite file in
/// `dir` (the server applies the migrations); killed if a test fails
/// before it stops it.
pub struct Server {
    pub child: Child,
    pub port: u16,
}

impl Server {
    /// Starts the server with `env` on top of the database, secret and
    /// port, and waits until it listens. `stdout` is piped only by a test
    /// that reads the logs after the exit (an unread pipe fills up).
    pub fn start(dir: &std::path::Path, env: &[(&str, &str)], stdout: Stdio) -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(BINARY)
            .current_dir(dir)
            .env_clear()
            .env("DATABASE_URL", "sqlite://data/tracker.db")
            .env("JWT_SECRET", LONG_SECRET)
            .env("PORT", port.to_string())
            .envs(env.iter().copied())
            .stdout(stdout)
            .stderr(Stdio::null())
            .spawn()
            .expect("start the server");
        let mut server = Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = server.child.try_wait().expect("wait") {
                panic!("the server exited before listening: {status}");
            }
            assert!(Instant::now() < deadline, "the server did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    pub fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("read timeout");
        stream
    }

    /// Sends SIGTERM; the exit status, which must come within `limit`.
    pub fn terminate(&mut self, limit: Duration) -> ExitStatus {
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(killed.success());
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "no exit within {limit:?} of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Reads one HTTP/1.1 response (headers, then a `Content-Length` body).
pub fn read_response(stream: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&seen[..end]).to_lowercase();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .map_or(0, |value| value.trim().parse().expect("a length"));
            if seen.len() >= end + 4 + length {
                return String::from_utf8_lossy(&seen).into_owned();
            }
        }
        let read = stream.read(&mut buffer).expect("read a response");
        assert!(
            read > 0,
            "closed mid-response: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buffer[..read]);
    }
}

/// Reads until the server closes the connection; how long that took from
/// `since`. Whatever is read on the way is ignored.
pub fn time_until_closed(stream: &mut TcpStream, since: Instant) -> Duration {
    let mut buffer = [0u8; 1024];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return since.elapsed(),
            Ok(_) => {}
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                panic!("still open after {:?}", since.elapsed())
            }
            // A reset is a close too.
            Err(_) => return since.elapsed(),
        }
    }
}
