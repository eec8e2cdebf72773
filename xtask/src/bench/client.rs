//! The bench's one HTTP/1.1 client, over plain `TcpStream`s: requests
//! written as bytes, answers read whole (a `Content-Length` body, a chunked
//! one such as the streamed report's, or one that runs to the end of the
//! connection), every request timed to the last byte of its answer.
//!
//! - [`Connection`]: one keep-alive connection, one exchange at a time.
//! - [`Client`]: a connection that reconnects, for requests sent one at a
//!   time; each must answer 200.
//! - [`once`]: one request on a connection of its own, timed from the
//!   connect, as `curl` times one.
//! - A small closed-loop load generator: a few keep-alive connections,
//!   each sending its request again as soon as the last answer arrived, for
//!   a fixed time. Enough to compare two builds of one server on one
//!   machine; not a general tool. [`run`] drives one group of clients and
//!   tallies what they saw: answers by status and, if asked, each request's
//!   latency; [`run_spread`] does the same with the clients spread over
//!   several servers. [`get`] is the simple case: one GET, nothing but 200
//!   accepted.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
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

/// The bytes of `GET path` without credentials.
pub fn get_anonymous(address: SocketAddr, path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: {address}\r\n\r\n").into_bytes()
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
    /// The last answer's header lines, each ending in CRLF.
    head: String,
    body: Vec<u8>,
    /// Whether bodies are kept for [`Connection::body`], or only counted.
    keep_bodies: bool,
    body_bytes: u64,
}

/// The parts of an answer the load generator cares about.
#[derive(Debug, Clone, Copy)]
pub struct Answer {
    pub status: u16,
    /// The server said `Connection: close`.
    pub closes: bool,
}

/// How an answer's body is delimited.
enum Framing {
    Length(u64),
    Chunked,
    /// To the end of the connection.
    Close,
    /// No body (no length, and the connection stays open).
    None,
}

impl Connection {
    pub fn open(address: SocketAddr) -> anyhow::Result<Self> {
        let stream =
            TcpStream::connect(address).with_context(|| format!("connecting to {address}"))?;
        Self::over(stream)
    }

    /// A connection from the local address `source` (one of loopback's
    /// 127/8, say), so the server counts it as another client.
    pub fn open_from(source: IpAddr, address: SocketAddr) -> anyhow::Result<Self> {
        let domain = socket2::Domain::for_address(address);
        let socket = socket2::Socket::new(domain, socket2::Type::STREAM, None)?;
        socket.bind(&SocketAddr::new(source, 0).into())?;
        socket
            .connect(&address.into())
            .with_context(|| format!("connecting to {address} from {source}"))?;
        Self::over(TcpStream::from(socket))
    }

    fn over(stream: TcpStream) -> anyhow::Result<Self> {
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(READ_TIMEOUT))?;
        Ok(Connection {
            writer: stream.try_clone()?,
            reader: BufReader::new(stream),
            line: String::new(),
            head: String::new(),
            body: Vec::new(),
            keep_bodies: true,
            body_bytes: 0,
        })
    }

    /// Bodies are only counted from now on ([`Connection::body_bytes`]),
    /// not kept: for a large download.
    pub fn discard_bodies(&mut self) {
        self.keep_bodies = false;
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
        let mut chunked = false;
        let mut closes = false;
        self.head.clear();
        loop {
            self.line.clear();
            self.reader.read_line(&mut self.line)?;
            let header = self.line.trim_end();
            if header.is_empty() {
                break;
            }
            self.head.push_str(header);
            self.head.push_str("\r\n");
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
                if !value.eq_ignore_ascii_case("chunked") {
                    return Err(invalid(format!("transfer-encoding {value:?}")));
                }
                chunked = true;
            }
        }
        let framing = match (chunked, length) {
            (true, _) => Framing::Chunked,
            (false, Some(length)) => Framing::Length(length),
            // No length: the body runs to the end of the connection.
            (false, None) if closes => Framing::Close,
            (false, None) => Framing::None,
        };
        self.body.clear();
        self.body_bytes = 0;
        match framing {
            Framing::Length(length) => self.read_body(Some(length))?,
            Framing::Chunked => self.read_chunks()?,
            Framing::Close => self.read_body(None)?,
            Framing::None => {}
        }
        Ok(Answer { status, closes })
    }

    /// Reads `length` bytes of body, or all that comes until the server
    /// closes the connection.
    fn read_body(&mut self, length: Option<u64>) -> io::Result<()> {
        let read = match (length, self.keep_bodies) {
            (Some(length), true) => {
                let start = self.body.len();
                let length = usize::try_from(length).map_err(io::Error::other)?;
                self.body.resize(start + length, 0);
                self.reader.read_exact(&mut self.body[start..])?;
                length as u64
            }
            (Some(length), false) => {
                let copied = io::copy(&mut (&mut self.reader).take(length), &mut io::sink())?;
                if copied < length {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the connection mid-body",
                    ));
                }
                copied
            }
            (None, true) => self.reader.read_to_end(&mut self.body)? as u64,
            (None, false) => io::copy(&mut self.reader, &mut io::sink())?,
        };
        self.body_bytes += read;
        Ok(())
    }

    /// Reads a chunked body: chunks until the empty one, then the trailer.
    fn read_chunks(&mut self) -> io::Result<()> {
        loop {
            self.line.clear();
            if self.reader.read_line(&mut self.line)? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the server closed the connection mid-body",
                ));
            }
            let size = self.line.trim_end();
            let size = size.split_once(';').map_or(size, |(size, _)| size).trim();
            let size = u64::from_str_radix(size, 16)
                .map_err(|_| invalid(format!("chunk size {size:?}")))?;
            if size == 0 {
                break;
            }
            self.read_body(Some(size))?;
            self.line.clear();
            self.reader.read_line(&mut self.line)?;
            if self.line != "\r\n" {
                return Err(invalid(format!("chunk end {:?}", self.line)));
            }
        }
        // The trailer: header lines up to an empty one.
        loop {
            self.line.clear();
            if self.reader.read_line(&mut self.line)? == 0 || self.line.trim_end().is_empty() {
                return Ok(());
            }
        }
    }

    /// The body of the last answer (empty after [`Connection::discard_bodies`]).
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The size of the last answer's body, as sent (without any chunking).
    pub fn body_bytes(&self) -> u64 {
        self.body_bytes
    }

    /// The last answer's first header called `name`, if any.
    pub fn header<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        header_values(&self.head, name).next()
    }
}

/// The values of the headers called `name` in `head`.
fn header_values<'a>(head: &'a str, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    head.lines().filter_map(move |line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// One keep-alive connection ([`Connection`]), one request at a time;
/// reconnects after the server closes it.
pub struct Client {
    address: SocketAddr,
    connection: Option<Connection>,
}

impl Client {
    pub fn new(address: SocketAddr) -> Self {
        Client {
            address,
            connection: None,
        }
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Sends `request` and reads its whole answer, which must be a 200: the
    /// time from writing to the answer's last byte, and its body.
    pub fn exchange(&mut self, request: &[u8]) -> anyhow::Result<(Duration, Vec<u8>)> {
        let connection = match &mut self.connection {
            Some(open) => open,
            None => self.connection.insert(Connection::open(self.address)?),
        };
        let started = Instant::now();
        let answer = connection.exchange(request)?;
        let latency = started.elapsed();
        let body = connection.body().to_vec();
        if answer.closes {
            self.connection = None;
        }
        ensure!(
            answer.status == 200,
            "answered {}: {}",
            answer.status,
            String::from_utf8_lossy(&body)
        );
        Ok((latency, body))
    }
}

/// What [`once`] got.
#[derive(Debug)]
pub struct Fetched {
    /// From connecting to the answer's last byte.
    pub latency: Duration,
    pub status: u16,
    /// The header lines, each ending in CRLF.
    pub head: String,
    /// The body, if it was kept.
    pub body: Vec<u8>,
    /// The body's size, kept or not.
    pub body_bytes: u64,
}

impl Fetched {
    /// The values of the headers called `name`, in order.
    pub fn headers<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        header_values(&self.head, name)
    }
}

/// Sends `request` on a connection of its own and reads the whole answer,
/// then closes the connection: a request as `curl` makes it, timed as
/// `curl`'s `time_total` times it, from the connect to the last byte.
/// `keep_body: false` only counts the body (`curl -o /dev/null`).
pub fn once(address: SocketAddr, request: &[u8], keep_body: bool) -> anyhow::Result<Fetched> {
    let started = Instant::now();
    let mut connection = Connection::open(address)?;
    if !keep_body {
        connection.discard_bodies();
    }
    let answer = connection
        .exchange(request)
        .with_context(|| format!("a request to {address}"))?;
    let latency = started.elapsed();
    Ok(Fetched {
        latency,
        status: answer.status,
        head: std::mem::take(&mut connection.head),
        body: std::mem::take(&mut connection.body),
        body_bytes: connection.body_bytes(),
    })
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

    /// A server that answers each connection's requests with `answer`,
    /// as is, until the client closes it.
    fn answering_server(answer: &'static [u8]) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address");
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                    let mut line = String::new();
                    loop {
                        line.clear();
                        match reader.read_line(&mut line) {
                            Ok(0) | Err(_) => return,
                            Ok(_) if line == "\r\n" => {}
                            Ok(_) => continue,
                        }
                        if stream.write_all(answer).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        address
    }

    #[test]
    fn a_chunked_body_is_read_whole_and_the_connection_kept() {
        let address = answering_server(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n\
              4\r\nid,s\r\na;ext=1\r\nubject\r\n1,\r\n0\r\nX-Trailer: t\r\n\r\n",
        );
        let mut connection = Connection::open(address).expect("connect");
        for _ in 0..2 {
            let answer = connection
                .exchange(&get_anonymous(address, "/"))
                .expect("an answer");
            assert_eq!(answer.status, 200);
            assert!(!answer.closes);
            assert_eq!(connection.body(), b"id,subject\r\n1,");
            assert_eq!(connection.body_bytes(), 14);
            assert_eq!(
                connection.head,
                "Content-Type: text/csv\r\nTransfer-Encoding: chunked\r\n"
            );
        }
        connection.discard_bodies();
        connection
            .exchange(&get_anonymous(address, "/"))
            .expect("an answer");
        assert_eq!(connection.body(), b"");
        assert_eq!(connection.body_bytes(), 14);
    }

    #[test]
    fn once_times_a_request_on_its_own_connection_and_keeps_its_headers() {
        let address = answering_server(
            b"HTTP/1.1 303 See Other\r\nSet-Cookie: a=1; Path=/\r\nset-cookie: b=2\r\n\
              Content-Length: 2\r\n\r\nok",
        );
        let fetched = once(address, &get_anonymous(address, "/"), true).expect("an answer");
        assert_eq!(fetched.status, 303);
        assert_eq!(fetched.body, b"ok");
        assert_eq!(fetched.body_bytes, 2);
        assert_eq!(
            fetched.headers("Set-Cookie").collect::<Vec<_>>(),
            ["a=1; Path=/", "b=2"]
        );
        assert!(fetched.latency > Duration::ZERO);
        let counted = once(address, &get_anonymous(address, "/"), false).expect("an answer");
        assert_eq!((counted.body.len(), counted.body_bytes), (0, 2));
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
