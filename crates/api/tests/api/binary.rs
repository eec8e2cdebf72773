//! The `api` binary as an operator runs it on a fresh deployment:
//! `migrate`, `create-user` with the PIN on standard input, the server
//! with JSON logs, a login, SIGTERM.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use testkit::Log;

use crate::process::{
    BINARY, Server, api, http, read_response, time_until_closed, try_read_response,
};

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

    let mut server = Server::start(dir.path(), &[("LOG_FORMAT", "json")], Log::CaptureStdout);
    let port = server.port;
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

    let stopped = server.terminate(Duration::from_secs(30));
    assert!(stopped.success(), "exit status {stopped}");
    let logs = server.stdout();
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

#[test]
fn slow_headers_idle_connections_and_slow_bodies_are_cut_off_after_about_ten_seconds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &[], Log::Discard);
    let expected = Duration::from_secs(9)..=Duration::from_secs(15);
    std::thread::scope(|scope| {
        let slowloris = scope.spawn(|| {
            let mut stream = server.connect();
            let started = Instant::now();
            stream
                .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
                .expect("send");
            time_until_closed(&mut stream, started)
        });
        let idle = scope.spawn(|| {
            let mut stream = server.connect();
            stream
                .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                .expect("send");
            let answer = read_response(&mut stream);
            assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
            let answered = Instant::now();
            time_until_closed(&mut stream, answered)
        });
        let slow_body = scope.spawn(|| {
            let mut stream = server.connect();
            start_a_login_body_that_stalls(&mut stream);
            let started = Instant::now();
            let answer = read_response(&mut stream);
            (answer, started.elapsed())
        });
        let (answer, waited) = slow_body.join().expect("no panic");
        assert!(
            answer.starts_with("HTTP/1.1 400") && answer.contains("\"requestId\""),
            "a body not sent in time: {answer}"
        );
        assert!(
            expected.contains(&waited),
            "the body was cut off after {waited:?}"
        );
        let slowloris = slowloris.join().expect("no panic");
        assert!(
            expected.contains(&slowloris),
            "unfinished headers were cut off after {slowloris:?}"
        );
        let idle = idle.join().expect("no panic");
        assert!(
            expected.contains(&idle),
            "an idle kept-alive connection was closed after {idle:?}"
        );
    });
}

/// Sends a login's headers declaring a 100-byte body, and 10 bytes of it.
fn start_a_login_body_that_stalls(stream: &mut TcpStream) {
    stream
        .write_all(
            b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"username",
        )
        .expect("send");
}

#[test]
fn sigterm_ends_the_process_after_the_grace_period_despite_a_stalled_client() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(dir.path(), &[("SHUTDOWN_GRACE_SECS", "2")], Log::Discard);
    let mut stream = server.connect();
    start_a_login_body_that_stalls(&mut stream);
    // The request is in flight, its body a tenth there.
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    let stopped = server.terminate(Duration::from_secs(8));
    assert!(stopped.success(), "exit status {stopped}");
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "the grace period was not given: {:?}",
        started.elapsed()
    );
    drop(stream);
}

#[test]
fn a_declared_oversize_body_is_refused_without_a_100_continue() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &[], Log::Discard);
    let mut stream = server.connect();
    stream
        .write_all(
            b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 100000\r\nExpect: 100-continue\r\n\r\n",
        )
        .expect("send");
    let answer = read_response(&mut stream);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(!answer.contains("100 Continue"), "{answer}");
    let body = &answer[answer.find("\r\n\r\n").expect("a head") + 4..];
    let json: serde_json::Value = serde_json::from_str(body).expect("a JSON body");
    assert_eq!(json["error"], true, "{json}");
}

#[test]
fn connections_beyond_the_bound_wait_until_one_closes() {
    let dir = tempfile::tempdir().expect("tempdir");
    // One connection per address by default (half of the two places), so
    // each comes from an address of its own.
    let server = Server::start(dir.path(), &[("MAX_CONNECTIONS", "2")], Log::Discard);
    let request = b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n";
    // Two kept-alive connections, answered once, hold both places. Not
    // from 127.0.0.1: the start-up check's connection from there may be
    // counted a moment longer than its client keeps it.
    let mut held: Vec<TcpStream> = ["127.0.0.2", "127.0.0.3"]
        .into_iter()
        .map(|source| {
            let mut stream = server.connect_from(source);
            stream.write_all(request).expect("send");
            assert!(read_response(&mut stream).starts_with("HTTP/1.1 200"));
            stream
        })
        .collect();
    // A third is accepted by the kernel, but not served.
    let mut waiting = server.connect_from("127.0.0.4");
    waiting.write_all(request).expect("send");
    waiting
        .set_read_timeout(Some(Duration::from_secs(1)))
        .expect("read timeout");
    let mut byte = [0u8; 1];
    let unserved = waiting.read(&mut byte);
    assert!(
        unserved.is_err(),
        "the third connection was served: {unserved:?}"
    );
    // One place frees: the third is served.
    drop(held.pop());
    waiting
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("read timeout");
    assert!(read_response(&mut waiting).starts_with("HTTP/1.1 200"));
}

/// Whether the server has closed (or reset) `stream`: a read that finds
/// nothing within `wait` means it is still open.
fn is_closed(mut stream: &TcpStream, wait: Duration) -> bool {
    stream.set_read_timeout(Some(wait)).expect("read timeout");
    let mut buffer = [0u8; 1024];
    match stream.read(&mut buffer) {
        Ok(0) => true,
        Ok(_) => false,
        Err(error) => !matches!(
            error.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

#[test]
fn one_address_trickling_headers_on_every_place_cannot_keep_another_from_being_served() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The default cap per address: 32, half of the 64 places.
    let server = Server::start(dir.path(), &[("MAX_CONNECTIONS", "64")], Log::Discard);
    // More slow connections from 127.0.0.1 than there are places, each
    // starting a request it never finishes.
    let slow: Vec<TcpStream> = (0..70)
        .map(|_| {
            let stream = server.connect();
            let _ = (&stream).write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\n");
            stream
        })
        .collect();
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        // A header line a second on each, as a slowloris client sends.
        scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_secs(1));
                for stream in &slow {
                    let _ = (&*stream).write_all(b"X-Slow: 1\r\n");
                }
            }
        });
        std::thread::sleep(Duration::from_millis(1500));
        let started = Instant::now();
        let mut other = server.connect_from("127.0.0.2");
        other
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("read timeout");
        other
            .write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .expect("send");
        let answer = try_read_response(&mut other);
        let waited = started.elapsed();
        stop.store(true, Ordering::Relaxed);
        let answer = answer.unwrap_or_else(|partial| {
            panic!("another address was not answered in {waited:?}: {partial:?}")
        });
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(
            waited < Duration::from_secs(3),
            "another address waited {waited:?} behind the slow connections"
        );
    });
    // 32 of them were let in and still trickle; the rest were closed.
    let open = slow
        .iter()
        .filter(|stream| !is_closed(stream, Duration::from_millis(50)))
        .count();
    assert_eq!(open, 32, "slow connections of one address still open");
}

#[test]
fn a_connection_past_its_address_cap_is_closed_at_once_while_the_others_stay_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(
        dir.path(),
        &[("MAX_CONNECTIONS_PER_ADDRESS", "4")],
        Log::Discard,
    );
    let request = b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n";
    // Not from 127.0.0.1, whose start-up check may still be counted.
    let source = "127.0.0.3";
    let mut held: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut stream = server.connect_from(source);
            stream.write_all(request).expect("send");
            assert!(read_response(&mut stream).starts_with("HTTP/1.1 200"));
            stream
        })
        .collect();
    // The fifth is closed before it sends a byte, long before the header
    // timeout would close an idle one.
    let mut fifth = server.connect_from(source);
    fifth
        .set_read_timeout(Some(Duration::from_secs(3)))
        .expect("read timeout");
    let closed_after = time_until_closed(&mut fifth, Instant::now());
    assert!(
        closed_after < Duration::from_secs(1),
        "closed after {closed_after:?}"
    );
    // The four are still open and served.
    for stream in &mut held {
        stream.write_all(request).expect("send");
        assert!(read_response(stream).starts_with("HTTP/1.1 200"));
    }
    // Another address is not concerned.
    let mut other = server.connect_from("127.0.0.2");
    other.write_all(request).expect("send");
    assert!(read_response(&mut other).starts_with("HTTP/1.1 200"));
    // One of the four closes: its place comes back once the server has
    // seen the end of it.
    drop(held.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut again = server.connect_from(source);
        if again.write_all(request).is_ok()
            && try_read_response(&mut again).is_ok_and(|answer| answer.starts_with("HTTP/1.1 200"))
        {
            break;
        }
        assert!(Instant::now() < deadline, "the place never came back");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A request for `/health/live` whose head is about `head_bytes` long.
fn health_request_with_a_head_of(head_bytes: usize) -> Vec<u8> {
    let start = "GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Filler: ";
    let filler = "a".repeat(head_bytes - start.len() - 4);
    format!("{start}{filler}\r\n\r\n").into_bytes()
}

#[test]
fn a_request_head_past_64_kib_is_answered_431_and_one_below_is_served() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &[], Log::Discard);
    for (head_bytes, status) in [(60 * 1024, "200"), (70 * 1024, "431"), (300 * 1024, "431")] {
        let mut stream = server.connect();
        // The server stops reading at 64 KiB: what it leaves unread may
        // break our write, never its answer.
        let _ = stream.write_all(&health_request_with_a_head_of(head_bytes));
        let answer = try_read_response(&mut stream)
            .unwrap_or_else(|partial| panic!("{head_bytes} bytes of head: no answer: {partial:?}"));
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{head_bytes} bytes of head: {answer}"
        );
    }
}

#[test]
fn every_request_answered_before_sigterm_has_its_log_line_after_the_exit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(dir.path(), &[("RUST_LOG", "info")], Log::CaptureStdout);
    // Answered one after another on one connection, the last one just
    // before the signal: their lines may still be queued for the writer.
    const REQUESTS: usize = 100;
    let mut stream = server.connect();
    for n in 0..REQUESTS {
        stream
            .write_all(
                format!(
                    "GET /health/live HTTP/1.1\r\nHost: x\r\nx-request-id: before-exit-{n}\r\n\r\n"
                )
                .as_bytes(),
            )
            .expect("send");
        assert!(read_response(&mut stream).starts_with("HTTP/1.1 200"));
    }
    drop(stream);
    let stopped = server.terminate(Duration::from_secs(30));
    assert!(stopped.success(), "exit status {stopped}");
    let logs = server.stdout();
    for n in 0..REQUESTS {
        let id = format!("request_id=before-exit-{n} ");
        let lines = logs.lines().filter(|line| line.contains(&id)).count();
        assert_eq!(lines, 1, "the line of request {n}, of {REQUESTS}: {logs}");
    }
    assert!(
        logs.lines()
            .last()
            .is_some_and(|line| line.contains("stopped")),
        "the last line is the exit's: {logs}"
    );
}

#[test]
fn create_user_gives_the_account_its_address_checked_and_lower_cased() {
    let dir = tempfile::tempdir().expect("tempdir");
    let migrated = api(dir.path(), &["migrate"], "");
    assert!(migrated.status.success(), "{migrated:?}");
    let create = |username: &str, email: &str| {
        api(
            dir.path(),
            &[
                "create-user",
                "--username",
                username,
                "--role",
                "ADMIN",
                "--email",
                email,
            ],
            "4821\n",
        )
    };
    let created = create("root", "Root@Example.COM");
    assert!(created.status.success(), "{created:?}");
    let said = String::from_utf8_lossy(&created.stdout).into_owned();
    assert!(said.contains("ADMIN root <root@example.com>"), "{said}");
    let malformed = create("second", "root at example.com");
    assert!(
        !malformed.status.success(),
        "a malformed address is refused"
    );
    assert!(
        String::from_utf8_lossy(&malformed.stderr).contains("email"),
        "{malformed:?}"
    );
    let taken = create("second", "ROOT@example.com");
    assert!(!taken.status.success(), "an address another account has");
    let said = format!("{:?}", String::from_utf8_lossy(&taken.stderr));
    assert!(said.contains("another account"), "{said}");
    let other = create("second", "second@example.com");
    assert!(other.status.success(), "{other:?}");
}
