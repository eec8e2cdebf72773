//! What a client sees when the world breaks under a real server process:
//! the database going away and coming back, and SIGTERM in the middle of
//! continuous writes.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt as _;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use testkit::{Log, SKIP_POSTGRES_VAR, TestCluster};

use crate::process::{Reply, Server, api, give_to_nobody, request_text, try_read_response};

/// `DATABASE_CONNECT_TIMEOUT_SECS` in these tests: short, so they run fast.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// What a 503 may take beyond the connect timeout on a busy shared
/// machine: generous, yet far below the 30 s request timeout that would
/// answer 503 too if nothing bounded the wait for a connection.
const SLACK: Duration = Duration::from_secs(5);

fn outage_settings() -> Vec<(&'static str, &'static str)> {
    vec![
        ("DATABASE_CONNECT_TIMEOUT_SECS", "2"),
        ("ADDRESS_RATE_LIMIT", "0"),
    ]
}

/// What the server answers while its database is away: 503 with the
/// envelope, soon enough, for reads, writes, logins and readiness, while
/// the process runs on and says it is alive.
fn assert_unavailable(server: &mut Server, token: &str, ticket_id: &str) {
    let ticket_path = format!("/api/v1/tickets/{ticket_id}");
    let new_ticket = json!({"body": "written while the database is away"});
    let credentials = json!({"username": "ada", "pin": "0000"});
    let attempts: [(&str, &str, Option<&str>, Option<&Value>); 4] = [
        ("GET", &ticket_path, Some(token), None),
        ("POST", "/api/v1/tickets", Some(token), Some(&new_ticket)),
        ("POST", "/api/v1/login", None, Some(&credentials)),
        ("GET", "/health", None, None),
    ];
    for (method, path, token, body) in attempts {
        let started = Instant::now();
        let reply = server.call(method, path, token, body);
        let took = started.elapsed();
        reply.assert_envelope(503);
        assert!(
            took <= CONNECT_TIMEOUT + SLACK,
            "{method} {path} took {took:?} to answer 503"
        );
        if path == "/health" {
            assert_eq!(reply.body["status"], "unavailable", "{}", reply.body);
        }
    }
    assert_eq!(server.call("GET", "/health/live", None, None).status, 200);
    assert!(server.is_running(), "the outage stopped the process");
}

/// Once the database is back, requests succeed again with no restart (the
/// pool reconnects on its own), and what was written before is there.
fn assert_recovered(server: &Server, token: &str, ticket_id: &str, before: &Value) {
    let path = format!("/api/v1/tickets/{ticket_id}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let reply = loop {
        let reply = server.call("GET", &path, Some(token), None);
        if reply.status != 503 || Instant::now() > deadline {
            break reply;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(reply.status, 200, "no recovery: {}", reply.body);
    assert_eq!(&reply.body["data"], before, "the ticket written before");
    assert_eq!(server.call("GET", "/health", None, None).status, 200);
    let created = create_ticket(server, token, "after the outage");
    assert!(created.status == 201, "{}", created.body);
}

fn create_ticket(server: &Server, token: &str, body: &str) -> Reply {
    let ticket = json!({"subject": "Outage", "body": body});
    server.call("POST", "/api/v1/tickets", Some(token), Some(&ticket))
}

/// A ticket written before the outage: its id and how it reads.
fn a_ticket_before(server: &Server, token: &str) -> (String, Value) {
    let created = create_ticket(server, token, "before the outage");
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["data"]["ticketId"].to_string();
    let read = server.call("GET", &format!("/api/v1/tickets/{id}"), Some(token), None);
    assert_eq!(read.status, 200, "{}", read.body);
    (id, read.body["data"].clone())
}

#[test]
fn while_postgresql_is_stopped_requests_answer_503_and_succeed_again_once_it_is_back() {
    let cluster = match TestCluster::start(&[], "tracker") {
        Ok(cluster) => cluster,
        Err(error) if std::env::var(SKIP_POSTGRES_VAR).is_ok_and(|v| v == "1") => {
            eprintln!("notice: {SKIP_POSTGRES_VAR}=1 and no PostgreSQL ({error}): not run");
            return;
        }
        Err(error) => panic!("cannot start a PostgreSQL cluster: {error}"),
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let url = cluster.url("tracker");
    let mut env = outage_settings();
    env.push(("DATABASE_URL", &url));
    let mut server = Server::start(dir.path(), &env, Log::Discard);
    let token = server.customer_token("ada");
    let (ticket_id, before) = a_ticket_before(&server, &token);

    cluster.stop().expect("stop PostgreSQL");
    assert_unavailable(&mut server, &token, &ticket_id);

    // The same port and data directory, as after an operator's restart.
    cluster.start_again().expect("start PostgreSQL again");
    assert_recovered(&server, &token, &ticket_id, &before);
}

#[test]
fn while_the_sqlite_directory_is_unreadable_requests_answer_503_and_succeed_again_once_it_is_readable()
 {
    let dir = tempfile::tempdir().expect("tempdir");
    give_to_nobody(dir.path());
    let mut server = Server::start_unprivileged(dir.path(), &outage_settings());
    let token = server.customer_token("ada");
    let (ticket_id, before) = a_ticket_before(&server, &token);

    let data = dir.path().join("data");
    let set_mode = |mode| {
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(mode)).expect("chmod");
    };
    set_mode(0o000);
    assert_unavailable(&mut server, &token, &ticket_id);

    set_mode(0o755);
    assert_recovered(&server, &token, &ticket_id, &before);
}

/// What one request of the load got.
#[derive(Debug)]
enum Outcome {
    Created(i64),
    /// Refused with this status (the server may answer 503 while it stops).
    Refused(u16),
    /// The connection closed before a whole answer came.
    NoAnswer,
}

/// Creates tickets over keep-alive connections until the server stops
/// accepting them; every request's subject and outcome.
fn create_until_refused(port: u16, token: &str, client: usize) -> Vec<(String, Outcome)> {
    let mut outcomes = Vec::new();
    'connections: loop {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
            return outcomes;
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("read timeout");
        loop {
            let subject = format!("client {client} request {}", outcomes.len());
            let body = json!({"subject": subject, "body": "load"});
            let request = request_text(
                "POST",
                "/api/v1/tickets",
                Some(token),
                Some(&body),
                "keep-alive",
            );
            if stream.write_all(request.as_bytes()).is_err() {
                outcomes.push((subject, Outcome::NoAnswer));
                continue 'connections;
            }
            let Ok(response) = try_read_response(&mut stream) else {
                outcomes.push((subject, Outcome::NoAnswer));
                continue 'connections;
            };
            let closing = response.to_lowercase().contains("connection: close");
            let reply = Reply::parse(&response);
            let outcome = match reply.status {
                201 => Outcome::Created(reply.body["data"]["ticketId"].as_i64().expect("an id")),
                status => Outcome::Refused(status),
            };
            outcomes.push((subject, outcome));
            if closing {
                continue 'connections;
            }
        }
    }
}

#[test]
fn sigterm_under_continuous_writes_exits_0_in_the_grace_period_and_every_201_is_durable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let agent = api(
        dir.path(),
        &[
            "create-user",
            "--username",
            "agent",
            "--role",
            "SUPPORT_AGENT",
        ],
        "0000\n",
    );
    assert!(agent.status.success(), "{agent:?}");
    let env = [
        ("ADDRESS_RATE_LIMIT", "0"),
        ("ACCOUNT_WRITE_LIMIT", "0"),
        ("SHUTDOWN_GRACE_SECS", "10"),
    ];
    let mut server = Server::start(dir.path(), &env, Log::Discard);
    let tokens: Vec<String> = (0..4)
        .map(|client| server.customer_token(&format!("client{client}")))
        .collect();

    let port = server.port;
    let loaders: Vec<_> = tokens
        .into_iter()
        .enumerate()
        .map(|(client, token)| {
            std::thread::spawn(move || create_until_refused(port, &token, client))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    let stopping = Instant::now();
    let status = server.terminate(Duration::from_secs(15));
    assert!(status.success(), "exit status {status}");
    assert!(
        stopping.elapsed() < Duration::from_secs(10),
        "past the grace period: {:?}",
        stopping.elapsed()
    );

    let outcomes: Vec<(String, Outcome)> = loaders
        .into_iter()
        .flat_map(|loader| loader.join().expect("a loader"))
        .collect();
    let answered: BTreeMap<&str, i64> = outcomes
        .iter()
        .filter_map(|(subject, outcome)| match outcome {
            Outcome::Created(id) => Some((subject.as_str(), *id)),
            _ => None,
        })
        .collect();
    assert!(answered.len() >= 20, "too little load: {outcomes:?}");
    let refused: Vec<u16> = outcomes
        .iter()
        .filter_map(|(_, outcome)| match outcome {
            Outcome::Refused(status) => Some(*status),
            _ => None,
        })
        .collect();
    assert!(
        refused.iter().all(|status| *status == 503),
        "only the stopping server's 503 may refuse: {refused:?}"
    );

    // After a restart: exactly the tickets answered 201, with their ids.
    // One more means a request was done but its answer dropped; one fewer,
    // a 201 that was not durable.
    let server = Server::start(dir.path(), &[], Log::Discard);
    let agent = server.token("agent", "0000");
    let stored = all_tickets(&server, &agent);
    let stored: BTreeMap<&str, i64> = stored
        .iter()
        .map(|(subject, id)| (subject.as_str(), *id))
        .collect();
    assert_eq!(stored, answered);
    let unanswered: BTreeSet<&str> = outcomes
        .iter()
        .filter(|(_, outcome)| matches!(outcome, Outcome::NoAnswer))
        .map(|(subject, _)| subject.as_str())
        .collect();
    assert!(
        unanswered
            .iter()
            .all(|subject| !stored.contains_key(subject))
    );
}

/// Every ticket an agent sees: subject and id.
fn all_tickets(server: &Server, token: &str) -> Vec<(String, i64)> {
    let mut tickets = Vec::new();
    for page in 1.. {
        let path = format!("/api/v1/tickets?limit=100&page={page}");
        let reply = server.call("GET", &path, Some(token), None);
        assert_eq!(reply.status, 200, "{}", reply.body);
        let data = reply.body["data"].as_array().expect("a list").clone();
        if data.is_empty() {
            return tickets;
        }
        tickets.extend(data.iter().map(|ticket| {
            (
                ticket["subject"].as_str().expect("a subject").to_owned(),
                ticket["ticketId"].as_i64().expect("an id"),
            )
        }));
    }
    unreachable!("pages run out")
}
