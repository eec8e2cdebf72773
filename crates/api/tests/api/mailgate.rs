//! `api mailgate` as a mail server runs it: one message on standard input,
//! posted to a real server process, and the exit status the mail server
//! acts on (0 taken, 75 try again later, 65 refused, 78 the gate's own
//! settings), on SQLite and on PostgreSQL.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use domain::{Actor, ListTickets, Pin, Role, Username};
use testkit::{Backend, Log, TestDb};

use crate::process::{BINARY, Server};

const TOKEN: &str = "the-inbound-token-of-32-bytes-or-more";

/// Runs the gate with `env` (and nothing else of ours), `stdin` piped in.
fn gate(url: &str, env: &[(&str, &str)], stdin: &[u8]) -> Output {
    let mut child = Command::new(BINARY)
        .args(["mailgate", "--url", url])
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the gate");
    let mut input = child.stdin.take().expect("stdin");
    // A gate that stopped reading (too large) closes the pipe: not an error.
    let _ = input.write_all(stdin);
    drop(input);
    child.wait_with_output().expect("the gate ran")
}

fn with_token() -> Vec<(&'static str, &'static str)> {
    vec![("INBOUND_TOKEN", TOKEN)]
}

fn status(output: &Output) -> i32 {
    output.status.code().expect("an exit status, not a signal")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn message(key: &str, text: &str) -> Vec<u8> {
    format!(
        "From: Ada <ada@example.org>\r\nTo: support@example.com\r\nSubject: {key}\r\n\
         Message-ID: <{key}@mail.example.org>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    )
    .into_bytes()
}

/// A server taking mail over `db`, with `env` besides.
fn mail_server(db: &TestDb, dir: &std::path::Path, env: &[(&str, &str)]) -> Server {
    let url = db.url();
    let mut all = vec![
        ("DATABASE_URL", url.as_str()),
        ("INBOUND_ADDRESS", "support@example.com"),
        ("INBOUND_TOKEN", TOKEN),
    ];
    all.extend_from_slice(env);
    Server::start(dir, &all, Log::Discard)
}

fn stop(mut server: Server) {
    let stopped = server.process.terminate(Duration::from_secs(30));
    assert!(stopped.expect("stop").success());
}

fn base_url(server: &Server) -> String {
    format!("http://127.0.0.1:{}", server.port)
}

/// The tickets in the database, as an admin lists them.
fn ticket_count(db: &TestDb) -> u64 {
    let admin = db
        .store()
        .bulk_ensure_user(
            &Username::parse("gate-admin").expect("username"),
            &Pin::parse("0000").expect("pin"),
            Role::Admin,
        )
        .expect("an admin");
    let admin = Actor::for_tests(admin.id, Role::Admin);
    let request = ListTickets::default();
    let page = db
        .store()
        .list_tickets(
            admin,
            &ListTickets {
                page: request.page.counting(),
                ..request
            },
        )
        .expect("list");
    page.total.expect("counted")
}

fn each_backend(test: impl Fn(&TestDb)) {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        // `None` only under the explicit opt-out SKIP_POSTGRES_TESTS=1.
        if let Some(db) = TestDb::new(backend) {
            test(&db);
        }
    }
}

#[test]
fn a_message_piped_in_is_taken_once() {
    each_backend(|db| {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = mail_server(db, dir.path(), &[]);
        let raw = message("printer", "My printer is on fire");
        let first = gate(&base_url(&server), &with_token(), &raw);
        assert_eq!(status(&first), 0, "{}", stderr(&first));
        assert!(stderr(&first).contains("created"), "{}", stderr(&first));
        assert_eq!(ticket_count(db), 1, "the ticket made");
        let again = gate(&base_url(&server), &with_token(), &raw);
        assert_eq!(status(&again), 0, "{}", stderr(&again));
        assert!(stderr(&again).contains("duplicate"), "{}", stderr(&again));
        assert_eq!(ticket_count(db), 1, "the same message makes one ticket");
        // A base URL with a trailing slash reaches the same endpoint.
        let slash = gate(
            &format!("{}/", base_url(&server)),
            &with_token(),
            &message("toner", "Out of toner"),
        );
        assert_eq!(status(&slash), 0, "{}", stderr(&slash));
        assert_eq!(ticket_count(db), 2);
        stop(server);
    });
}

#[test]
fn a_refused_message_is_65_and_the_server_says_why() {
    each_backend(|db| {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = mail_server(db, dir.path(), &[("MAX_EMAIL_BYTES", "2000")]);
        let url = base_url(&server);
        let wrong = gate(
            &url,
            &[("INBOUND_TOKEN", "not-the-token-but-32-bytes-long-anyway")],
            &message("wrong", "Hello"),
        );
        assert_eq!(status(&wrong), 65, "{}", stderr(&wrong));
        assert!(stderr(&wrong).contains("401"), "{}", stderr(&wrong));
        assert!(
            stderr(&wrong).contains("token"),
            "the server's message: {}",
            stderr(&wrong)
        );

        // Over the server's limit (the gate's own is the default): 413.
        let large = message("large", &"x".repeat(5000));
        let refused = gate(&url, &with_token(), &large);
        assert_eq!(status(&refused), 65, "{}", stderr(&refused));
        assert!(stderr(&refused).contains("413"), "{}", stderr(&refused));

        // Over the gate's own limit: refused unsent.
        let mut small_gate = with_token();
        small_gate.push(("MAX_EMAIL_BYTES", "100"));
        let unsent = gate(&url, &small_gate, &large);
        assert_eq!(status(&unsent), 65, "{}", stderr(&unsent));
        assert!(stderr(&unsent).contains("too large"), "{}", stderr(&unsent));

        // No usable From: 400.
        let nobody = gate(&url, &with_token(), b"Subject: hi\r\n\r\nno sender\r\n");
        assert_eq!(status(&nobody), 65, "{}", stderr(&nobody));
        assert!(stderr(&nobody).contains("400"), "{}", stderr(&nobody));
        assert_eq!(ticket_count(db), 0, "nothing refused made a ticket");
        stop(server);
    });
}

#[test]
fn a_server_down_or_silent_is_75_so_the_mail_server_keeps_the_message() {
    // Nothing listens on a port just freed.
    let port = testkit::free_port().expect("a free port");
    let down = gate(
        &format!("http://127.0.0.1:{port}"),
        &with_token(),
        &message("down", "Hello"),
    );
    assert_eq!(status(&down), 75, "{}", stderr(&down));
    assert!(
        stderr(&down).contains("could not connect"),
        "{}",
        stderr(&down)
    );

    // A peer that takes the connection and never answers: the timeout.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = silent.local_addr().expect("address");
    let holder = std::thread::spawn(move || {
        let (mut stream, _) = silent.accept().expect("accept");
        let mut sink = Vec::new();
        // Reads until the gate gives up and closes.
        let _ = stream.read_to_end(&mut sink);
    });
    let mut timing_out = with_token();
    timing_out.push(("MAILGATE_TIMEOUT_SECS", "1"));
    let started = Instant::now();
    let timed_out = gate(
        &format!("http://{address}"),
        &timing_out,
        &message("slow", "Hi"),
    );
    assert_eq!(status(&timed_out), 75, "{}", stderr(&timed_out));
    assert!(
        stderr(&timed_out).contains("timed out"),
        "{}",
        stderr(&timed_out)
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the timeout held"
    );
    holder.join().expect("the silent peer");
}

#[test]
fn the_gates_own_settings_missing_is_78() {
    let no_token = gate("http://127.0.0.1:9", &[], &message("x", "Hi"));
    assert_eq!(status(&no_token), 78, "{}", stderr(&no_token));
    assert!(
        stderr(&no_token).contains("INBOUND_TOKEN"),
        "{}",
        stderr(&no_token)
    );
    let bad_url = gate("help.example.com", &with_token(), &message("x", "Hi"));
    assert_eq!(status(&bad_url), 78, "{}", stderr(&bad_url));
}
