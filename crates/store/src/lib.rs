//! Persistence for the support tracker: Diesel over SQLite and PostgreSQL.
//!
//! The [`Store`] API speaks plain Rust and `domain` types; no Diesel type
//! leaves this crate. **Every rule is applied here, at one boundary**: the
//! action that performs a change (or reveals data) takes the acting user,
//! opens its transaction, locks what the rule needs, asks `domain`, and
//! writes the decision. Nothing that changes or reveals data can be called
//! without an actor, except the rule-free loading behind the `bulk-load`
//! feature, which the server does not enable.

mod api_tokens;
#[cfg(feature = "bulk-load")]
mod bulk;
mod connection;
mod directory;
mod error;
mod events;
mod held;
mod idempotency;
mod inbound;
mod login;
mod mail;
mod migrations;
mod notify;
mod originals;
mod outbox;
mod outbox_log;
mod paging;
mod pin;
mod pin_resets;
mod prepared;
mod replies;
mod report;
mod rows;
// Public only to the bench's baseline server, which queries our tables
// with plain Diesel to show what our layers cost, and to testkit's
// fingerprint of a test database.
#[cfg(feature = "bulk-load")]
pub mod schema;
#[cfg(not(feature = "bulk-load"))]
mod schema;
mod search;
mod sla;
mod slots;
mod ticket_list;
mod ticket_page;
mod tickets;
mod triage;
mod users;
mod web_sessions;
mod webhooks;

#[cfg(feature = "test-hooks")]
pub mod test_hooks;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use diesel::RunQueryDsl;
use parking_lot::Mutex;

#[cfg(feature = "bulk-load")]
pub use bulk::{SeedReply, SeedTicket};
pub use connection::{DEFAULT_DATABASE_URL, DatabaseUrl, StoreOptions, read_dotenv};
pub use directory::ASSIGNABLE_STAFF_SHOWN;
pub use error::{BoxError, StoreError, StoreResult, with_causes};
pub use held::HeldMessage;
pub use idempotency::{Claimed, KeyClaim, Recording};
pub use inbound::Taken;
pub use mail::MAIL_CHANNEL;
pub use migrations::migrate;
pub use notify::SLA_SWEEP_BATCH;
pub use outbox::{
    AttemptOutcome, AttemptRecord, ClaimedMessage, FINISHED_KEPT_FOR, OutboxStats,
    serialises_recipients,
};
pub use outbox_log::OutboxMessage;
pub use pin::HashingPlace;
pub use pin::{BUSY_RETRY_AFTER_SECS, HashLimits};
pub use report::{REPORTS_AT_ONCE, ResolvedReport};
pub use tickets::NewTicket;
pub use users::NewAccount;
pub use web_sessions::SignedInUser;
pub use webhooks::{
    DeliveryAttempt, Destination, NewWebhook, WEBHOOK_CHANNEL, Webhook, WebhookChange, WithSecret,
};

/// The tracker's database: a pool of connections to one backend.
#[derive(Clone)]
pub struct Store {
    pool: connection::Pool,
    /// On SQLite, the turn this process's writers take (see [`Store::write`]).
    writer_turn: Option<Arc<Mutex<()>>>,
    hasher: pin::Hasher,
    reports: report::ReportConnections,
    backend: &'static str,
    sla: domain::SlaTargets,
    few_matches: i64,
    sends_mail: bool,
    /// Woken when a write of this process has queued an outbox message, so
    /// its workers deliver at once instead of at their next poll: the
    /// webhook worker's, and the mail worker's.
    outbox_queued: Arc<tokio::sync::Notify>,
    mail_queued: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .field("pool", &self.pool.state())
            .field("hasher", &self.hasher)
            .finish()
    }
}

impl Store {
    /// Connects (failing now, with the real error, on a bad URL), applies
    /// pending migrations (see [`migrate`]) and builds the pool. It also
    /// makes the dummy PIN hash that unknown usernames are checked against,
    /// so a store that could not make one never serves a login.
    pub fn connect(url: &DatabaseUrl, options: StoreOptions) -> StoreResult<Self> {
        pin::dummy_hash().map_err(StoreError::internal)?;
        migrate(url)?;
        let pool = connection::connect(url, options)?;
        Ok(Self {
            pool,
            hasher: pin::Hasher::start(options.hashing)?,
            reports: report::ReportConnections::new(url, options)?,
            backend: url.backend_name(),
            sla: options.sla,
            few_matches: options.few_matches,
            sends_mail: options.sends_mail,
            outbox_queued: Arc::default(),
            mail_queued: Arc::default(),
            writer_turn: match url {
                DatabaseUrl::Sqlite(_) => Some(Arc::default()),
                DatabaseUrl::Postgres(_) => None,
            },
        })
    }

    /// Whether changes queue mail ([`StoreOptions::sends_mail`]).
    pub fn sends_mail(&self) -> bool {
        self.sends_mail
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// Whether the database answers a trivial query, waiting at most
    /// `timeout` for a connection: a readiness probe that never queues
    /// behind requests for long.
    pub fn ping(&self, timeout: Duration) -> StoreResult<()> {
        let mut conn = self.pool.get_timeout(timeout)?;
        diesel::sql_query("SELECT 1").execute(&mut **conn)?;
        Ok(())
    }

    /// How the pool's connections are used right now; reads counters only.
    pub fn pool_status(&self) -> PoolStatus {
        let state = self.pool.state();
        PoolStatus {
            in_use: state.connections.saturating_sub(state.idle_connections),
            idle: state.idle_connections,
            max: self.pool.max_size(),
        }
    }

    fn conn(&self) -> StoreResult<connection::Conn> {
        Ok(connection::Conn::from_pool(&self.pool)?)
    }

    /// Runs `work` in a write transaction on a pooled connection. On SQLite,
    /// which takes one writer at a time, the process's writers first take
    /// turns on a lock of their own: one that found the database locked
    /// would otherwise sleep in SQLite's busy handler (1 ms, then 2, 5, 10
    /// ... however soon the lock came free), and under concurrent writes
    /// that sleeping cost more than the writes. The wait is bounded like
    /// SQLite's own; other processes still meet SQLite's lock.
    fn write<T>(
        &self,
        work: impl FnOnce(&mut connection::DbConnection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let _turn = match &self.writer_turn {
            Some(turn) => Some(
                turn.try_lock_for(connection::SQLITE_BUSY_TIMEOUT)
                    .ok_or_else(|| StoreError::Unavailable("database is locked".into()))?,
            ),
            None => None,
        };
        let written = connection::write_transaction(&mut *self.conn()?, work);
        let queued = outbox::take_queued();
        if written.is_ok() {
            if queued.other() {
                self.outbox_queued.notify_one();
            }
            if queued.mail() {
                self.mail_queued.notify_one();
            }
        }
        written
    }

    /// Completes when a write of this process has queued an outbox message
    /// since the last time it completed (or at once, if one has): the
    /// delivery worker waits on it beside its poll.
    pub async fn outbox_message_queued(&self) {
        self.outbox_queued.notified().await;
    }

    /// As [`Store::outbox_message_queued`], for mail: the mail worker
    /// waits on it.
    pub async fn mail_queued(&self) {
        self.mail_queued.notified().await;
    }
}

/// The connection pool at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    pub in_use: u32,
    pub idle: u32,
    pub max: u32,
}

/// The current time at the precision both databases keep (microseconds), so
/// what a write returns equals what a later read finds.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
