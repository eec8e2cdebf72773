//! The accept loop: hyper's HTTP/1.1 connections with the bounds a public
//! server needs, which `axum::serve` does not offer. A client has
//! [`HEADER_READ_TIMEOUT`] to send a request's headers (and as long to
//! start the next one on a kept-alive connection), and a request's head may
//! take at most [`MAX_HEAD_BYTES`] (hyper answers 431 beyond). One client
//! address may hold at most `max_per_address` connections: one more is
//! reset as soon as it is accepted, before it takes any of the
//! `max_connections` places (the rest wait in the kernel's backlog). After
//! the shutdown signal requests in flight get `shutdown_grace` before the
//! connections left are closed.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::Request;
use edge::limits::budget_key;
use edge::observe;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

/// How long a client may take to send a request's headers, counted from
/// the connection's start or the end of the previous response: a client
/// that trickles its headers (slowloris), or keeps an idle connection, is
/// disconnected after this.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The most a request's head (request line and headers) may take: past it,
/// hyper answers 431 Request Header Fields Too Large and closes the
/// connection. It also bounds hyper's read buffer (`max_buf_size`, about
/// 400 KiB by default), so an unfinished head holds at most this much (and
/// the buffer's spare capacity, at most as much again) per connection.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// How the accept loop is bounded.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    /// Connections one client address (IPv4, or IPv6 by its /64) may hold
    /// at once; `None`: no such cap (behind a trusted proxy, every
    /// connection comes from the proxy).
    pub max_per_address: Option<usize>,
    pub shutdown_grace: Duration,
}

/// Serves `app` on `listener` until `shutdown` completes, then lets the
/// requests in flight finish for at most the grace period.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_header_size(MAX_HEAD_BYTES)
        .max_buf_size(MAX_HEAD_BYTES);
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let per_address = limits.max_per_address.map(OpenPerAddress::new);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, say: wait rather than spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Before a place is taken: an address at its cap cannot hold more
        // of them, however many connections it opens.
        let address_place = match &per_address {
            Some(per_address) => match per_address.admit(peer.ip()) {
                Some(place) => Some(place),
                None => {
                    refuse(stream, peer);
                    continue;
                }
            },
            None => None,
        };
        // Every place taken: this one connection waits here, the next ones
        // in the kernel's backlog.
        let place = tokio::select! {
            place = Arc::clone(&open).acquire_owned() => place?,
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = app
            .clone()
            .map_request(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
        let connection = graceful
            .watch(http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service)));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
            drop(place);
            drop(address_place);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("every connection finished"),
        () = tokio::time::sleep(limits.shutdown_grace) => {
            tracing::warn!(
                grace_secs = limits.shutdown_grace.as_secs(),
                "shutdown grace period over: closing the connections left"
            );
        }
    }
    Ok(())
}

/// Closes a connection over its address's cap at once, with a reset: no
/// answer to write, no `TIME_WAIT` left behind, nothing read. Counted in
/// `connections_refused_total{reason="per_address"}` and logged at DEBUG
/// only, so a flood does not flood the log.
fn refuse(stream: tokio::net::TcpStream, peer: std::net::SocketAddr) {
    let _ = stream.set_zero_linger();
    drop(stream);
    observe::record_connection_refused_per_address();
    tracing::debug!(%peer, "connection refused: its address holds as many as it may");
}

/// The open connections of each client address, keyed as the request
/// budgets are ([`budget_key`]: IPv4 as is, IPv6 by its /64). An address
/// is remembered only while it has a connection open, so the map holds at
/// most as many addresses as there are connections.
#[derive(Debug)]
struct OpenPerAddress {
    cap: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

impl OpenPerAddress {
    fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            cap,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// One more connection from `peer`, unless its address holds the cap
    /// already; the place is given back when the guard is dropped.
    fn admit(self: &Arc<Self>, peer: IpAddr) -> Option<AddressPlace> {
        let key = budget_key(peer);
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.get(&key).copied().unwrap_or(0);
        if count >= self.cap {
            return None;
        }
        open.insert(key, count + 1);
        Some(AddressPlace {
            owner: Arc::clone(self),
            key,
        })
    }

    #[cfg(test)]
    fn addresses(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// One connection's place in its address's count, given back on drop
/// however the connection ends.
#[derive(Debug)]
struct AddressPlace {
    owner: Arc<OpenPerAddress>,
    key: IpAddr,
}

impl Drop for AddressPlace {
    fn drop(&mut self) {
        let mut open = self
            .owner
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    #[test]
    fn an_address_holds_at_most_its_cap_and_gets_places_back_on_drop() {
        let open = OpenPerAddress::new(2);
        let first = open.admit(address("192.0.2.1")).expect("first");
        let second = open.admit(address("192.0.2.1")).expect("second");
        assert!(open.admit(address("192.0.2.1")).is_none(), "a third");
        assert!(
            open.admit(address("192.0.2.2")).is_some(),
            "another address"
        );
        drop(first);
        let third = open.admit(address("192.0.2.1")).expect("a place came back");
        assert!(open.admit(address("192.0.2.1")).is_none());
        drop((second, third));
        assert_eq!(
            open.addresses(),
            0,
            "an address without connections is forgotten"
        );
    }

    #[test]
    fn ipv6_addresses_count_by_their_64_bit_prefix() {
        let open = OpenPerAddress::new(1);
        let _held = open.admit(address("2001:db8:1:2::1")).expect("first");
        assert!(open.admit(address("2001:db8:1:2:ffff::9")).is_none());
        assert!(open.admit(address("2001:db8:1:3::1")).is_some());
    }
}
