//! The `api` binary as an operator runs it on a fresh deployment:
//! `migrate`, `create-user` with the PIN on standard input, the server
//! with JSON logs, a login, SIGTERM.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_api");
const LONG_SECRET: &str = "a-secret-of-at-least-thirty-two-bytes";

fn api(dir: &std::path::Path, args: &[&str], stdin: &str) -> Output {
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
fn http(port: u16, request: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    answer
}

#[test]
fn a_fresh_deployment_migrates_creates_its_admin_serves_and_stops_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let migrated = api(dir.path(), &["migrate"], "");
    assert!(migrated.status.success(), "{migrated:?}");
    assert!(String::from_utf8_lossy(&migrated.stdout).contains("migration(s) applied"));

    let created = api(
        dir.path(),
        &["create-user", "--username", "root", "--role", "ADMIN"],
        "4821\n",
    );
    assert!(created.status.success(), "{created:?}");
    assert!(String::from_utf8_lossy(&created.stdout).contains("ADMIN root"));
    let again = api(
        dir.path(),
        &["create-user", "--username", "root", "--role", "ADMIN"],
        "4821\n",
    );
    assert!(!again.status.success(), "a taken username is refused");
    let on_argv = api(
        dir.path(),
        &[
            "create-user",
            "--username",
            "x",
            "--role",
            "ADMIN",
            "--pin",
            "4821",
        ],
        "",
    );
    assert!(!on_argv.status.success(), "a PIN is never taken from argv");
    let bad_pin = api(
        dir.path(),
        &["create-user", "--username", "x", "--role", "ADMIN"],
        "12\n",
    );
    assert!(!bad_pin.status.success());

    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let mut server = Command::new(BINARY)
        .current_dir(dir.path())
        .env_clear()
        .env("DATABASE_URL", "sqlite://data/tracker.db")
        .env("JWT_SECRET", LONG_SECRET)
        .env("PORT", port.to_string())
        .env("LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the server");
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the server did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    let body = r#"{"username":"root","pin":"4821"}"#;
    let answer = http(
        port,
        &format!(
            "POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nx-request-id: deploy-check-1\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"token\""), "{answer}");

    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let stopped = loop {
        if let Some(status) = server.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(stopped.success(), "exit status {stopped}");
    let mut logs = String::new();
    server
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut logs)
        .expect("logs");
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    let request_line = lines
        .iter()
        .find(|line| line.to_string().contains("deploy-check-1"))
        .unwrap_or_else(|| panic!("no log line carries the request id: {logs}"));
    let text = request_line.to_string();
    for field in ["POST", "/api/v1/login", "latency", "200"] {
        assert!(text.contains(field), "{field} missing from {text}");
    }
}

#[test]
fn a_short_jwt_secret_stops_the_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = Command::new(BINARY)
        .current_dir(dir.path())
        .env_clear()
        .env("JWT_SECRET", "too-short")
        .output()
        .expect("ran");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("JWT_SECRET") && stderr.contains("32"),
        "{stderr}"
    );
    assert!(!stderr.contains("too-short"), "the secret is never printed");
}
