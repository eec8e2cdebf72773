//! A small closed-loop HTTP/1.1 load generator for the benchmark: a few
//! keep-alive connections, each sending its request again as soon as the
//! last answer arrived, for a fixed time. Enough to compare two builds of one
//! server on one machine; not a general tool.
//!
//! [`run`] drives one group of clients and tallies what they saw: answers by
//! status and, if asked, each request's latency; [`run_spread`] does the same
//! with the clients spread over several servers. [`get`] is the simple case:
//! one GET, nothing but 200 accepted.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};

/// The status a request is counted under when it got no answer: the
/// connection failed, closed or timed out before a whole answer arrived. The
/// client then reconnects.
pub const NO_ANSWER: u16 = 0;

/// How long a client waits for an answer before it gives up on it.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// What a run of load did.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    pub answered: u64,
    pub seconds: f64,
}

impl Run {
    pub fn per_second(self) -> f64 {
        self.answered as f64 / self.seconds
    }
}

/// Sends `GET path` with a bearer `token` from `connections` clients for
/// `duration`. Any answer but 200 is an error: the comparison must be of
/// successes.
pub fn get(
    address: SocketAddr,
    path: &str,
    token: &str,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<Run> {
    let request = get_request(address, path, token);
    let clients = Clients {
        connections,
        request: &|buffer| buffer.extend_from_slice(&request),
        record_latencies: false,
    };
    let tally = run(address, &clients, Instant::now() + duration)?;
    let answered = tally.count(200);
    ensure!(
        answered == tally.total(),
        "GET {path} answered other than 200 (status {NO_ANSWER} is no answer): {:?}{}",
        tally.statuses,
        tally
            .first_error
            .map(|error| format!(", first error: {error}"))
            .unwrap_or_default()
    );
    Ok(Run {
        answered,
        seconds: tally.seconds,
    })
}

/// The bytes of `GET path` with a bearer token.
pub fn get_request(address: SocketAddr, path: &str, token: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\r\n")
        .into_bytes()
}

/// The bytes of `POST path` with a JSON `body`, and a bearer `token` if
/// there is one.
pub fn post_json_request(
    address: SocketAddr,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> Vec<u8> {
    json_request("POST", address, path, token, body)
}

/// The bytes of `method path` with a JSON `body`, and a bearer `token` if
/// there is one.
pub fn json_request(
    method: &str,
    address: SocketAddr,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> Vec<u8> {
    let authorization = token
        .map(|token| format!("Authorization: Bearer {token}\r\n"))
        .unwrap_or_default();
    format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\n{authorization}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A group of clients that all send the same kind of request.
pub struct Clients<'a> {
    /// How many clients, each on its own connection and thread.
    pub connections: usize,
    /// Appends the next request's bytes to an empty buffer. Called before
    /// every request, from every client, so it may vary the requests.
    pub request: &'a (dyn Fn(&mut Vec<u8>) + Sync),
    /// Whether to keep each answered request's latency.
    pub record_latencies: bool,
}

impl std::fmt::Debug for Clients<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clients")
            .field("connections", &self.connections)
            .field("record_latencies", &self.record_latencies)
            .finish_non_exhaustive()
    }
}

/// Everything a group of clients saw. Any status is counted, none is an
/// error: the caller decides what it accepts.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Requests by the status of their answer; [`NO_ANSWER`] for those
    /// without one.
    pub statuses: BTreeMap<u16, u64>,
    /// Each answered request's time from writing it to reading the last
    /// byte of its answer, by status; sorted, and empty unless
    /// [`Clients::record_latencies`].
    pub latencies: BTreeMap<u16, Vec<Duration>>,
    /// From the start to the last client's last answer.
    pub seconds: f64,
    /// What went wrong with the first request counted as [`NO_ANSWER`].
    pub first_error: Option<String>,
}

impl Tally {
    /// Requests answered with `status`.
    pub fn count(&self, status: u16) -> u64 {
        self.statuses.get(&status).copied().unwrap_or(0)
    }

    /// All requests, answered or not.
    pub fn total(&self) -> u64 {
        self.statuses.values().sum()
    }

    /// Requests answered with `status`, per second.
    pub fn per_second(&self, status: u16) -> f64 {
        self.count(status) as f64 / self.seconds
    }

    /// The `q` quantile (0 to 1) of the latencies of answers with `status`,
    /// by nearest rank; `None` if none were recorded.
    pub fn latency_quantile(&self, status: u16, q: f64) -> Option<Duration> {
        let latencies = self.latencies.get(&status).filter(|l| !l.is_empty())?;
        let rank = (q * latencies.len() as f64).ceil() as usize;
        latencies.get(rank.clamp(1, latencies.len()) - 1).copied()
    }

    fn add(&mut self, other: Tally) {
        for (status, count) in other.statuses {
            *self.statuses.entry(status).or_default() += count;
        }
        for (status, latencies) in other.latencies {
            self.latencies.entry(status).or_default().extend(latencies);
        }
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

/// Runs `clients` against `address` until `until`; each finishes the request
/// it has in flight then. Fails only if a client cannot connect at all.
pub fn run(address: SocketAddr, clients: &Clients, until: Instant) -> anyhow::Result<Tally> {
    run_spread(&[address], clients, until)
}

/// Like [`run`], with the clients spread over `addresses` (several servers
/// behind one imaginary balancer): client `i` talks to `addresses[i % n]`
/// all along, so each server gets an even share when `n` divides
/// [`Clients::connections`].
pub fn run_spread(
    addresses: &[SocketAddr],
    clients: &Clients,
    until: Instant,
) -> anyhow::Result<Tally> {
    ensure!(!addresses.is_empty(), "no server to send the load to");
    let started = Instant::now();
    let mut tally = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..clients.connections)
            .map(|i| {
                let address = addresses[i % addresses.len()];
                scope.spawn(move || client(address, clients, until))
            })
            .collect();
        let mut tally = Tally::default();
        for thread in threads {
            let one = thread
                .join()
                .map_err(|_| anyhow::anyhow!("a client panicked"))??;
            tally.add(one);
        }
        anyhow::Ok(tally)
    })?;
    tally.seconds = started.elapsed().as_secs_f64();
    for latencies in tally.latencies.values_mut() {
        latencies.sort_unstable();
    }
    Ok(tally)
}

fn client(address: SocketAddr, clients: &Clients, until: Instant) -> anyhow::Result<Tally> {
    let mut tally = Tally::default();
    let mut connection: Option<Connection> = None;
    let mut request = Vec::new();
    while Instant::now() < until {
        let open = match &mut connection {
            Some(open) => open,
            None => connection.insert(Connection::open(address)?),
        };
        request.clear();
        (clients.request)(&mut request);
        let sent = Instant::now();
        let outcome = open.exchange(&request);
        let latency = sent.elapsed();
        let status = match outcome {
            Ok(answer) => {
                if answer.closes {
                    connection = None;
                }
                if clients.record_latencies {
                    tally
                        .latencies
                        .entry(answer.status)
                        .or_default()
                        .push(latency);
                }
                answer.status
            }
            Err(error) => {
                tally.first_error.get_or_insert_with(|| error.to_string());
                connection = None;
                NO_ANSWER
            }
        };
        *tally.statuses.entry(status).or_default() += 1;
    }
    Ok(tally)
}

/// One keep-alive connection to the server.
pub struct Connection {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
    line: String,
    body: Vec<u8>,
}

/// The parts of an answer the load generator cares about.
pub struct Answer {
    pub status: u16,
    /// The server said `Connection: close`.
    pub closes: bool,
}

impl Connection {
    pub fn open(address: SocketAddr) -> anyhow::Result<Self> {
        let stream =
            TcpStream::connect(address).with_context(|| format!("connecting to {address}"))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(READ_TIMEOUT))?;
        Ok(Connection {
            writer: stream.try_clone()?,
            reader: BufReader::new(stream),
            line: String::new(),
            body: Vec::new(),
        })
    }

    /// Writes `request` and reads its whole answer.
    pub fn exchange(&mut self, request: &[u8]) -> io::Result<Answer> {
        self.writer.write_all(request)?;
        self.line.clear();
        if self.reader.read_line(&mut self.line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection before answering",
            ));
        }
        let status = self
            .line
            .strip_prefix("HTTP/1.")
            .and_then(|rest| rest.get(2..5))
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| invalid(format!("status line {:?}", self.line)))?;
        let mut length = None;
        let mut closes = false;
        loop {
            self.line.clear();
            self.reader.read_line(&mut self.line)?;
            let header = self.line.trim_end();
            if header.is_empty() {
                break;
            }
            let Some((name, value)) = header.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(
                    value
                        .parse()
                        .map_err(|_| invalid(format!("content-length {value:?}")))?,
                );
            } else if name.eq_ignore_ascii_case("connection") {
                closes = value.eq_ignore_ascii_case("close");
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                return Err(invalid(format!(
                    "transfer-encoding {value:?} (only Content-Length bodies are read)"
                )));
            }
        }
        self.body.clear();
        match length {
            Some(length) => {
                self.body.resize(length, 0);
                self.reader.read_exact(&mut self.body)?;
            }
            // No length: the body runs to the end of the connection.
            None if closes => {
                self.reader.read_to_end(&mut self.body)?;
            }
            None => {}
        }
        Ok(Answer { status, closes })
    }
}

impl Connection {
    /// The body of the last answer.
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

fn invalid(what: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("unexpected answer: {what}"),
    )
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    /// A server that answers each connection's first request with a 503
    /// and `Connection: close`, then closes it.
    fn refusing_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address");
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let mut body = [0; 2];
                let _ = reader.read_exact(&mut body);
                let _ = stream.write_all(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\
                      Connection: close\r\n\r\nbusy",
                );
            }
        });
        address
    }

    /// A keep-alive server that answers every request 200 and counts them.
    fn counting_server() -> (SocketAddr, Arc<AtomicU64>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address");
        let served = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&served);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let counter = Arc::clone(&counter);
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                    let mut line = String::new();
                    loop {
                        // A GET's head, up to its empty line.
                        line.clear();
                        match reader.read_line(&mut line) {
                            Ok(0) | Err(_) => return,
                            Ok(_) if line == "\r\n" => {}
                            Ok(_) => continue,
                        }
                        counter.fetch_add(1, Ordering::Relaxed);
                        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                        if stream.write_all(ok).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (address, served)
    }

    #[test]
    fn spread_clients_reach_every_server_and_every_answer_is_counted() {
        let servers = [counting_server(), counting_server(), counting_server()];
        let addresses: Vec<SocketAddr> = servers.iter().map(|(address, _)| *address).collect();
        let request = get_request(addresses[0], "/", "token");
        let clients = Clients {
            connections: 6,
            request: &|buffer| buffer.extend_from_slice(&request),
            record_latencies: false,
        };
        let until = Instant::now() + Duration::from_millis(200);
        let tally = run_spread(&addresses, &clients, until).expect("the load runs");
        let served: Vec<u64> = servers
            .iter()
            .map(|(_, served)| served.load(Ordering::Relaxed))
            .collect();
        assert!(served.iter().all(|&n| n > 0), "{served:?}");
        assert_eq!(served.iter().sum::<u64>(), tally.count(200), "{tally:?}");
        assert_eq!(tally.count(200), tally.total(), "{tally:?}");
    }

    #[test]
    fn answers_that_close_the_connection_are_counted_and_the_client_reconnects() {
        let address = refusing_server();
        let request = post_json_request(address, "/login", None, "{}");
        let clients = Clients {
            connections: 2,
            request: &|buffer| buffer.extend_from_slice(&request),
            record_latencies: true,
        };
        let tally = run(
            address,
            &clients,
            Instant::now() + Duration::from_millis(200),
        )
        .expect("the load runs");
        assert!(tally.count(503) > 2, "{tally:?}");
        assert_eq!(tally.count(503), tally.total(), "{tally:?}");
        assert!(tally.latency_quantile(503, 0.99).is_some());
        assert_eq!(tally.latency_quantile(200, 0.5), None);
    }
}
