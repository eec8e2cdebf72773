//! Real `api` processes for the tests that need one: the binary run as an
//! operator runs it, a server on a free port (testkit's [`ServerProcess`]),
//! raw HTTP/1.1 over TCP.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use testkit::{Log, ServerProcess};

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
    pub process: ServerProcess,
    pub port: u16,
}

impl Server {
    /// Starts the server with `env` on top of the database, secret and
    /// port, and waits until it listens. `log` is [`Log::CaptureStdout`]
    /// only for a test that reads the logs after the exit (an unread pipe
    /// fills up).
    pub fn start(dir: &std::path::Path, env: &[(&str, &str)], log: Log) -> Server {
        Self::launch(ServerProcess::build(BINARY), dir, env, log)
    }

    /// Starts the server with `env`, its output in a log file of its own
    /// in `dir` (whose last lines show when a test fails).
    pub fn start_logged(dir: &std::path::Path, env: &[(String, String)]) -> Server {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let log = dir.join(format!("server-{}.log", rand::random::<u32>()));
        Self::start(dir, &env, Log::File(log))
    }

    /// `count` servers like [`Server::start_logged`], started side by side.
    pub fn start_several(
        count: usize,
        dir: &std::path::Path,
        env: &[(String, String)],
    ) -> Vec<Server> {
        std::thread::scope(|scope| {
            let starting: Vec<_> = (0..count)
                .map(|_| scope.spawn(|| Self::start_logged(dir, env)))
                .collect();
            starting
                .into_iter()
                .map(|started| started.join().expect("started"))
                .collect()
        })
    }

    /// Like [`Server::start`], but as the unprivileged `nobody` when the
    /// tests run as root (root reads files whatever their permissions);
    /// `dir` must then belong to `nobody` (see [`give_to_nobody`]).
    pub fn start_unprivileged(dir: &std::path::Path, env: &[(&str, &str)]) -> Server {
        let mut launch = ServerProcess::build(BINARY);
        if testkit::is_root().expect("id -u") {
            // setpriv execs the server in its place, so the pid we signal is
            // the server's own.
            launch = launch.wrapped_in(
                "setpriv",
                ["--reuid=65534", "--regid=65534", "--clear-groups", "--"],
            );
        }
        Self::launch(launch, dir, env, Log::Discard)
    }

    fn launch(
        launch: testkit::Launch,
        dir: &std::path::Path,
        env: &[(&str, &str)],
        log: Log,
    ) -> Server {
        let process = launch
            .current_dir(dir)
            .env_clear()
            .env("DATABASE_URL", "sqlite://data/tracker.db")
            .env("JWT_SECRET", LONG_SECRET)
            .envs(env.iter().copied())
            .log(log)
            .start()
            .unwrap_or_else(|error| panic!("the server did not start: {error}"));
        let port = process.port();
        Server { process, port }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.process.is_running().expect("wait")
    }

    /// One request with `Connection: close`; panics if no answer comes.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let mut stream = self.connect();
        let request = request_text(method, path, token, body, "close");
        stream.write_all(request.as_bytes()).expect("send");
        Reply::parse(&read_response(&mut stream))
    }

    /// Signs up a customer and logs it in; its bearer token.
    pub fn customer_token(&self, username: &str) -> String {
        let account = json!({"username": username, "pin": "0000"});
        let signed_up = self.call("POST", "/api/v1/users", None, Some(&account));
        assert_eq!(signed_up.status, 201, "{}", signed_up.body);
        self.token(username, "0000")
    }

    /// Logs `username` in; its bearer token.
    pub fn token(&self, username: &str, pin: &str) -> String {
        let credentials = json!({"username": username, "pin": pin});
        let login = self.call("POST", "/api/v1/login", None, Some(&credentials));
        assert_eq!(login.status, 200, "{}", login.body);
        login.body["token"].as_str().expect("a token").to_owned()
    }

    pub fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("read timeout");
        stream
    }

    /// A connection from another client address: `source` is one of
    /// loopback's (`127.0.0.2`; the whole of 127/8 is this machine's).
    pub fn connect_from(&self, source: &str) -> TcpStream {
        let source: std::net::IpAddr = source.parse().expect("a source address");
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("a socket");
        socket
            .bind(&std::net::SocketAddr::new(source, 0).into())
            .expect("bind the source address");
        let server = std::net::SocketAddr::from(([127, 0, 0, 1], self.port));
        socket.connect(&server.into()).expect("connect");
        let stream = TcpStream::from(socket);
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("read timeout");
        stream
    }

    /// Sends SIGTERM; the exit status, which must come within `limit`.
    pub fn terminate(&mut self, limit: Duration) -> ExitStatus {
        self.process
            .terminate(limit)
            .unwrap_or_else(|error| panic!("{error}"))
    }

    /// What the server wrote to its stdout, once it has exited (with
    /// [`Log::CaptureStdout`]).
    pub fn stdout(&mut self) -> String {
        self.process.read_stdout().expect("the server's stdout")
    }
}

/// An HTTP/1.1 request as text, with a JSON body if there is one.
pub fn request_text(
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
    connection: &str,
) -> String {
    let body = body.map(Value::to_string).unwrap_or_default();
    let authorization = token
        .map(|token| format!("Authorization: Bearer {token}\r\n"))
        .unwrap_or_default();
    format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: {connection}\r\n\
         {authorization}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// A response's status, head (lower-cased) and JSON body: every answer of
/// the API is JSON, so any other body fails the test.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub head: String,
    pub body: Value,
}

impl Reply {
    pub fn parse(response: &str) -> Reply {
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((response, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
        Reply {
            status,
            head: head.to_lowercase(),
            body: serde_json::from_str(body)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {response}")),
        }
    }

    /// The value of the header `name` (lower-case), if it is there.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key == name).then(|| value.trim())
        })
    }

    /// Asserts the error envelope: `error: true` and a message.
    #[track_caller]
    pub fn assert_envelope(&self, status: u16) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.body["error"], true, "{}", self.body);
        assert!(self.body["message"].is_string(), "{}", self.body);
    }
}

/// Hands `dir` to `nobody` when we are root, for
/// [`Server::start_unprivileged`].
pub fn give_to_nobody(dir: &std::path::Path) {
    if testkit::is_root().expect("id -u") {
        std::os::unix::fs::chown(dir, Some(65534), Some(65534)).expect("chown");
    }
}

/// Reads one HTTP/1.1 response (headers, then a `Content-Length` body).
pub fn read_response(stream: &mut TcpStream) -> String {
    match try_read_response(stream) {
        Ok(response) => response,
        Err(partial) => panic!("closed mid-response: {partial}"),
    }
}

/// Reads one HTTP/1.1 response; if the connection ends (or breaks) first,
/// what had come of it as the error.
pub fn try_read_response(stream: &mut TcpStream) -> Result<String, String> {
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
                return Ok(String::from_utf8_lossy(&seen).into_owned());
            }
        }
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return Err(String::from_utf8_lossy(&seen).into_owned()),
            Ok(read) => seen.extend_from_slice(&buffer[..read]),
        }
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
