//! A small closed-loop HTTP/1.1 load generator for the benchmark: a few
//! keep-alive connections, each sending the same GET as soon as the last
//! answer arrived, for a fixed time. Enough to compare two builds of one
//! server on one machine; not a general tool.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};

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
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\r\n");
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let answered = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..connections)
            .map(|_| scope.spawn(|| client(address, request.as_bytes(), deadline)))
            .collect();
        clients
            .into_iter()
            .map(|client| {
                client
                    .join()
                    .map_err(|_| anyhow::anyhow!("a client panicked"))?
            })
            .sum::<anyhow::Result<u64>>()
    })?;
    Ok(Run {
        answered,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn client(address: SocketAddr, request: &[u8], deadline: Instant) -> anyhow::Result<u64> {
    let stream = TcpStream::connect(address)?;
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut answered = 0;
    let mut line = String::new();
    let mut body = Vec::new();
    while Instant::now() < deadline {
        writer.write_all(request)?;
        line.clear();
        reader.read_line(&mut line)?;
        ensure!(line.starts_with("HTTP/1.1 200"), "answered {line:?}");
        let mut length = 0;
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().context("content-length")?;
            }
        }
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
        answered += 1;
    }
    Ok(answered)
}
