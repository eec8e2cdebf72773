//! The release servers the bench measures (testkit's [`ServerProcess`]),
//! the seeded users it signs in as, and what it reads of a server's
//! process: its CPU time and memory.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context as _, ensure};
use testkit::{Log, ServerProcess};

use super::client::{self, Clients, Tally};
use super::machine;

/// The seeded agent, who may read every ticket.
pub const AGENT: &str = "benjamin";
/// A seeded customer, whose own first page of tickets is the list read.
pub const LIST_READER: &str = "kayode";
/// A seeded customer who opens the tickets of the write load, so the list
/// reader's page and count stay as seeded.
pub const WRITER: &str = "customer-20";

/// A release server on the benchmark database; killed when dropped.
#[derive(Debug)]
pub struct Server {
    process: ServerProcess,
}

impl Server {
    /// The server on the SQLite file `db`.
    pub fn start(root: &Path, db: &Path, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        Self::start_on(root, &format!("sqlite://{}", db.display()), env)
    }

    /// The server on `database_url`.
    pub fn start_on(root: &Path, database_url: &str, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        Self::start_binary(root, "api", database_url, env)
    }

    /// The release build of `binary`, a server that reads `DATABASE_URL`,
    /// `HOST` and `PORT` as ours does, on `database_url`, on a free port;
    /// ready once it listens. Its stdout is discarded, its stderr is ours.
    pub fn start_binary(
        root: &Path,
        binary: &str,
        database_url: &str,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let binary = root.join("target/release").join(binary);
        let process = ServerProcess::build(&binary)
            .env("DATABASE_URL", database_url)
            .env("HOST", "127.0.0.1")
            .env("JWT_SECRET", "bench-secret-bench-secret-bench-secret")
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .log(Log::Stderr)
            .start()
            .with_context(|| format!("starting {}", binary.display()))?;
        Ok(Server { process })
    }

    pub fn address(&self) -> SocketAddr {
        self.process.address()
    }

    /// Logs a seeded user in (PIN `0000`) on a connection of its own: the
    /// seconds it took, from the connect to the answer's last byte, and
    /// the bearer token.
    pub fn login(&self, username: &str) -> anyhow::Result<(f64, String)> {
        let credentials = serde_json::json!({ "username": username, "pin": crate::seed::DEMO_PIN });
        let request = client::post_json_request(
            self.address(),
            "/api/v1/login",
            None,
            &credentials.to_string(),
        );
        let answer = client::once(self.address(), &request, true)?;
        ensure!(
            answer.status == 200,
            "login failed: {}: {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
        let json: serde_json::Value = serde_json::from_slice(&answer.body)?;
        let token = json["token"]
            .as_str()
            .map(str::to_owned)
            .context("no token in the login answer")?;
        Ok((answer.latency.as_secs_f64(), token))
    }

    pub fn login_token(&self, username: &str) -> anyhow::Result<String> {
        Ok(self.login(username)?.1)
    }

    /// Opens a ticket with `subject` as the customer holding `token`; its
    /// number.
    pub fn open_ticket(&self, token: &str, subject: &str) -> anyhow::Result<u64> {
        let body = serde_json::json!({ "subject": subject, "body": "Please help." });
        let request = client::post_json_request(
            self.address(),
            "/api/v1/tickets",
            Some(token),
            &body.to_string(),
        );
        let answer = client::once(self.address(), &request, true)?;
        ensure!(
            answer.status == 201,
            "opening a ticket: {}: {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
        let json: serde_json::Value = serde_json::from_slice(&answer.body)?;
        json["data"]["ticketId"]
            .as_u64()
            .context("no ticketId in the ticket's answer")
    }

    /// `PATCH path` with the JSON `body` as the holder of `token`, which
    /// must answer 200.
    pub fn patch_json(
        &self,
        token: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> anyhow::Result<()> {
        let request = client::json_request(
            "PATCH",
            self.address(),
            path,
            Some(token),
            &body.to_string(),
        );
        let answer = client::once(self.address(), &request, true)?;
        ensure!(
            answer.status == 200,
            "PATCH {path}: {}: {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
        Ok(())
    }

    /// One public reply `body` to `ticket` by the staff member holding
    /// `token`, which must answer 201.
    pub fn reply(&self, token: &str, ticket: u64, body: &str) -> anyhow::Result<()> {
        let request = client::post_json_request(
            self.address(),
            &format!("/api/v1/tickets/{ticket}/replies"),
            Some(token),
            &serde_json::json!({ "body": body }).to_string(),
        );
        let answer = client::once(self.address(), &request, false)?;
        ensure!(answer.status == 201, "a reply answered {}", answer.status);
        Ok(())
    }

    /// Public replies by the staff member holding `token` from
    /// `connections` clients until `until`, going round `tickets` (so no
    /// one ticket's lock decides the rate); every one must answer 201.
    pub fn reply_load(
        &self,
        token: &str,
        tickets: &[u64],
        connections: usize,
        until: Instant,
    ) -> anyhow::Result<Tally> {
        let next_ticket = AtomicUsize::new(0);
        let reply = |buffer: &mut Vec<u8>| {
            let ticket = tickets[next_ticket.fetch_add(1, Ordering::Relaxed) % tickets.len()];
            buffer.extend_from_slice(&client::post_json_request(
                self.address(),
                &format!("/api/v1/tickets/{ticket}/replies"),
                Some(token),
                r#"{"body":"Thanks, we are looking into it."}"#,
            ));
        };
        let clients = Clients {
            connections,
            request: &reply,
            record_latencies: false,
        };
        let tally = client::run(self.address(), &clients, until)?;
        ensure!(
            tally.count(201) == tally.total(),
            "replies answered other than 201: {:?}",
            tally.statuses
        );
        Ok(tally)
    }

    /// The server's CPU time so far (user + system), from `/proc/PID/stat`.
    pub fn cpu_seconds(&self) -> anyhow::Result<f64> {
        machine::cpu_seconds(&self.process.pid().to_string())
    }

    /// A memory figure of the server from `/proc/PID/status`, in KiB.
    pub fn memory_kib(&self, field: &str) -> anyhow::Result<u64> {
        machine::memory_kib(self.process.pid(), field)
    }

    /// Resets the server's `VmHWM` to its RSS now.
    pub fn reset_peak_memory(&self) -> anyhow::Result<()> {
        machine::reset_peak_memory(self.process.pid())
    }

    /// SIGTERM, then waits; whether the server exited 0.
    pub fn stop(self) -> anyhow::Result<bool> {
        Ok(self.process.stop()?.success())
    }
}
