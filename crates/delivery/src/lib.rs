//! The delivery workers: doors like the API and the pages, with no
//! request to answer. One claim loop (`run`) per channel runs in every
//! server process: webhooks here, mail in [`mail`]. The webhook worker
//! claims due webhook messages from the store's outbox (a lease on each,
//! so a crash only delays a message), signs each by the Standard Webhooks
//! specification, posts it, and hands the store how the attempt went; the
//! store decides what follows (delivered, tried again later, failed) and
//! what it says of the endpoint. It holds no rule of its own but where a
//! delivery may connect ([`client`]), which `domain` decides per address.
//!
//! Bounded: at most `max_in_flight` attempts at once in a process, and at
//! most one per recipient (endpoint or address), so a slow or dead one
//! holds one place and never delays another's deliveries; the API's
//! requests never wait on a delivery (they only write an outbox row).
//!
//! The IMAP poller ([`imap`]) runs beside them: the door inbound mail
//! comes through when the server fetches it from a mailbox.

pub mod client;
pub mod imap;
pub mod mail;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::webhooks::{kept_response, may_connect_to};
use domain::{DestinationPolicy, RetrySchedule};
use store::{AttemptOutcome, AttemptRecord, ClaimedMessage, Store, WEBHOOK_CHANNEL};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::client::{Client, Sent};

/// How the worker delivers; read once from the server's settings.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    pub policy: DestinationPolicy,
    /// The delays between attempts; after the last, a message has failed.
    pub schedule: RetrySchedule,
    /// A connection must be made within this.
    pub connect_timeout: Duration,
    /// An answer (2xx within it is a delivery) must come within this.
    pub timeout: Duration,
    /// How long a claimed message is held before another worker may take
    /// it: longer than an attempt can take, so only a worker that died
    /// loses it.
    pub lease: Duration,
    /// How often the outbox is looked at when nothing was due.
    pub poll_interval: Duration,
    /// Attempts at once in this process.
    pub max_in_flight: usize,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            policy: DestinationPolicy::default(),
            schedule: RetrySchedule::default(),
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_secs(1),
            max_in_flight: 16,
        }
    }
}

/// A running worker (or the IMAP poller); [`Worker::stop`] ends it.
#[derive(Debug)]
pub struct Worker {
    /// What it does, for the log.
    name: &'static str,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Worker {
    /// Starts the webhook worker on the current tokio runtime.
    pub fn start(store: Store, settings: DeliverySettings) -> Result<Self, client::ClientError> {
        let client = Client::new(&settings)?;
        let claiming = Claiming {
            lease: settings.lease,
            poll_interval: settings.poll_interval,
            max_in_flight: settings.max_in_flight,
        };
        Ok(Self::spawn(
            store,
            Arc::new(Webhooks { settings, client }),
            claiming,
        ))
    }

    /// Starts the mail worker on the current tokio runtime.
    pub fn start_mail(
        store: Store,
        settings: mail::MailSettings,
        keys: Arc<edge::keys::Keys>,
    ) -> Result<Self, mail::MailError> {
        let claiming = Claiming {
            lease: settings.lease,
            poll_interval: settings.poll_interval,
            max_in_flight: settings.max_in_flight,
        };
        let sender = mail::Mailer::new(settings, keys)?;
        Ok(Self::spawn(store, Arc::new(sender), claiming))
    }

    /// Starts the IMAP poller on the current tokio runtime: it takes the
    /// mailbox's mail through `inbound`.
    pub fn start_imap(
        store: Store,
        settings: imap::ImapSettings,
        inbound: Arc<edge::inbound::Inbound>,
        keys: Arc<edge::keys::Keys>,
    ) -> Result<Self, imap::ImapSetupError> {
        let poller = imap::Poller::new(settings, store, inbound, keys)?;
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(poller.run(stopped));
        Ok(Self {
            name: "IMAP polling",
            stop,
            task,
        })
    }

    fn spawn<C: Channel>(store: Store, channel: Arc<C>, claiming: Claiming) -> Self {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(store, channel, claiming, stopped));
        Self {
            name: C::NAME,
            stop,
            task,
        }
    }

    /// Claims (or takes) nothing more and waits for the work in hand to
    /// finish and be recorded (each attempt bounded by the timeout; the
    /// IMAP poller's message in hand), for at most `grace`.
    pub async fn stop(self, grace: Duration) {
        let _ = self.stop.send(true);
        if tokio::time::timeout(grace, self.task).await.is_err() {
            tracing::warn!(
                worker = self.name,
                "work still in hand at the end of the grace period"
            );
        }
    }
}

/// How a worker claims: the lease, the poll, the places.
#[derive(Debug, Clone, Copy)]
struct Claiming {
    lease: Duration,
    poll_interval: Duration,
    max_in_flight: usize,
}

/// What one channel's worker does with a claimed message; the claim loop
/// ([`run`]) is the same for every channel.
trait Channel: Send + Sync + 'static {
    /// The store's name of the channel.
    const NAME: &'static str;

    /// One attempt at `message`, recorded through the store; with
    /// `claim_next`, the recipient's next due message, if the channel
    /// claims it on the way.
    fn attempt(
        &self,
        store: &Store,
        message: ClaimedMessage,
        claim_next: bool,
    ) -> impl Future<Output = Option<ClaimedMessage>> + Send;

    /// Completes when a change of this process queued a message on the
    /// channel.
    fn queued(store: &Store) -> impl Future<Output = ()> + Send;
}

/// The webhook channel: signed HTTP posts.
#[derive(Debug)]
struct Webhooks {
    settings: DeliverySettings,
    client: Client,
}

impl Channel for Webhooks {
    const NAME: &'static str = WEBHOOK_CHANNEL;

    fn attempt(
        &self,
        store: &Store,
        message: ClaimedMessage,
        claim_next: bool,
    ) -> impl Future<Output = Option<ClaimedMessage>> + Send {
        attempt(store, &self.settings, &self.client, message, claim_next)
    }

    fn queued(store: &Store) -> impl Future<Output = ()> + Send {
        store.outbox_message_queued()
    }
}

/// The claim loop: claims what is due into the free places (one per
/// recipient where the channel serialises them), and waits for a place to free, the next poll, or the stop.
async fn run<C: Channel>(
    store: Store,
    channel: Arc<C>,
    settings: Claiming,
    mut stopped: watch::Receiver<bool>,
) {
    let mut in_flight: JoinSet<()> = JoinSet::new();
    // The recipient each attempt in flight is for, by task: a place is
    // given back however the attempt ends, a panic included.
    let mut recipients: HashMap<tokio::task::Id, String> = HashMap::new();
    let mut busy: HashSet<String> = HashSet::new();
    loop {
        if *stopped.borrow() {
            break;
        }
        let free = settings.max_in_flight.saturating_sub(in_flight.len());
        let mut claimed_all_free = false;
        if free > 0 {
            let claim_store = store.clone();
            let claim_busy = busy.clone();
            let lease = settings.lease;
            let claimed = tokio::task::spawn_blocking(move || {
                claim_store.claim_outbox(C::NAME, free, lease, &claim_busy)
            })
            .await;
            match claimed {
                Ok(Ok(claimed)) => {
                    claimed_all_free = claimed.len() == free;
                    for message in claimed {
                        if store::serialises_recipients(C::NAME) {
                            busy.insert(message.recipient.clone());
                        }
                        let recipient = message.recipient.clone();
                        let (store, channel, stopped) =
                            (store.clone(), channel.clone(), stopped.clone());
                        // The recipient's next message is claimed as the
                        // last one is recorded, and taken in the same place,
                        // until none is due or the worker stops.
                        let task = in_flight.spawn(async move {
                            let mut next = Some(message);
                            while let Some(message) = next {
                                let claim_next = !*stopped.borrow();
                                next = channel.attempt(&store, message, claim_next).await;
                            }
                        });
                        recipients.insert(task.id(), recipient);
                    }
                }
                Ok(Err(error)) => {
                    tracing::warn!(channel = C::NAME, error = %store::with_causes(&error), "claiming deliveries failed");
                }
                Err(error) => {
                    tracing::error!(channel = C::NAME, %error, "claiming deliveries panicked");
                }
            }
        }
        // A full claim may have left more due: look again at once when a
        // place frees; otherwise at the next poll.
        let wait = if claimed_all_free {
            Duration::from_secs(3600)
        } else {
            settings.poll_interval
        };
        tokio::select! {
            done = in_flight.join_next_with_id(), if !in_flight.is_empty() => {
                let mut finished = done;
                while let Some(ended) = finished {
                    let id = match ended {
                        Ok((id, ())) => id,
                        Err(error) => {
                            tracing::error!(channel = C::NAME, %error, "a delivery attempt panicked");
                            error.id()
                        }
                    };
                    if let Some(recipient) = recipients.remove(&id) {
                        busy.remove(&recipient);
                    }
                    finished = in_flight.try_join_next_with_id();
                }
            }
            () = tokio::time::sleep(wait) => {}
            // A change of this process queued a message: claim it now
            // rather than at the next poll (other processes' messages wait
            // for it).
            () = C::queued(&store) => {}
            _ = stopped.changed() => {}
        }
    }
    // Stopping: what is in flight finishes and is recorded.
    while in_flight.join_next().await.is_some() {}
}

/// Records an attempt at a message of `channel` with `finish` (off the
/// async threads) and counts its outcome; answers the recipient's next
/// message if `finish` claimed one. A record that fails leaves the
/// message's lease to run out, and it is sent again: at least once, with
/// the same id.
pub(crate) async fn record_attempt<F>(
    store: &Store,
    channel: &'static str,
    finish: F,
) -> Option<ClaimedMessage>
where
    F: FnOnce(&Store) -> store::StoreResult<(AttemptOutcome, Option<ClaimedMessage>)>
        + Send
        + 'static,
{
    let finish_store = store.clone();
    match tokio::task::spawn_blocking(move || finish(&finish_store)).await {
        Ok(Ok((outcome, next))) => {
            count_outcome(channel, outcome);
            next
        }
        Ok(Err(error)) => {
            tracing::warn!(channel, error = %store::with_causes(&error), "recording a delivery attempt failed");
            None
        }
        Err(error) => {
            tracing::error!(channel, %error, "recording a delivery attempt panicked");
            None
        }
    }
}

/// Counts a finished message of `channel`: sent, or failed for good.
pub(crate) fn count_outcome(channel: &'static str, outcome: AttemptOutcome) {
    match outcome {
        AttemptOutcome::Delivered => {
            metrics::counter!("outbox_sent_total", "channel" => channel).increment(1);
        }
        AttemptOutcome::Failed => {
            metrics::counter!("outbox_failed_total", "channel" => channel).increment(1);
        }
        AttemptOutcome::Retrying(_) | AttemptOutcome::Stale => {}
    }
}

/// One attempt at one message: where it goes, the send, and the record;
/// with `claim_next`, the endpoint's next due message, claimed in the
/// record's transaction when this one was delivered.
async fn attempt(
    store: &Store,
    settings: &DeliverySettings,
    client: &Client,
    message: ClaimedMessage,
    claim_next: bool,
) -> Option<ClaimedMessage> {
    let lookup_store = store.clone();
    let recipient = message.recipient.clone();
    let destination =
        tokio::task::spawn_blocking(move || lookup_store.webhook_destination(&recipient)).await;
    let destination = match destination {
        Ok(Ok(Some(destination))) => destination,
        // The endpoint was deleted with its messages.
        Ok(Ok(None)) => return None,
        Ok(Err(error)) => {
            tracing::warn!(error = %store::with_causes(&error), "reading a webhook endpoint failed");
            return None;
        }
        Err(error) => {
            tracing::error!(%error, "reading a webhook endpoint panicked");
            return None;
        }
    };
    let at = store::now();
    let started = Instant::now();
    let sent = if !destination.enabled {
        Err("the endpoint is disabled".to_owned())
    } else {
        send(settings, client, &destination, &message).await
    };
    let duration = started.elapsed();
    let record = match sent {
        Ok(Sent { status, body }) => AttemptRecord {
            at,
            duration,
            status_code: Some(status),
            error: (!(200..300).contains(&status)).then(|| format!("answered {status}")),
            response: Some(kept_response(&body)),
            succeeded: (200..300).contains(&status),
            permanent: false,
        },
        Err(error) => AttemptRecord {
            at,
            duration,
            status_code: None,
            error: Some(error),
            response: None,
            succeeded: false,
            permanent: false,
        },
    };
    metrics::histogram!("webhook_attempt_duration_seconds").record(duration.as_secs_f64());
    metrics::counter!(
        "webhook_attempts_total",
        "result" => if record.succeeded { "success" } else { "failure" }
    )
    .increment(1);
    let (schedule, lease) = (settings.schedule.clone(), settings.lease);
    record_attempt(store, WEBHOOK_CHANNEL, move |store| match claim_next {
        true => store.finish_webhook_attempt_and_claim_next(&message, &record, &schedule, lease),
        false => store
            .finish_webhook_attempt(&message, &record, &schedule)
            .map(|outcome| (outcome, None)),
    })
    .await
}

/// Signs and posts one message; the answer, or why none came.
async fn send(
    settings: &DeliverySettings,
    client: &Client,
    destination: &store::Destination,
    message: &ClaimedMessage,
) -> Result<Sent, String> {
    let url = reqwest::Url::parse(destination.url.as_str())
        .map_err(|error| format!("unusable URL: {error}"))?;
    match url.scheme() {
        "https" => {}
        "http" if settings.policy.allow_http => {}
        _ => return Err("refused: not an https URL (WEBHOOK_ALLOW_HTTP is off)".to_owned()),
    }
    // An address written in the URL is never resolved, so the resolver's
    // check would not see it.
    match url.host() {
        Some(url::Host::Ipv4(v4)) => may_connect_to(v4.into(), settings.policy)?,
        Some(url::Host::Ipv6(v6)) => may_connect_to(v6.into(), settings.policy)?,
        Some(url::Host::Domain(_)) => {}
        None => return Err("unusable URL: no host".to_owned()),
    }
    let timestamp = chrono::Utc::now().timestamp();
    let signature = sign(
        &destination.secrets,
        &message.message_id,
        timestamp,
        &message.payload,
    )?;
    client
        .post(
            url,
            &message.message_id,
            timestamp,
            &signature,
            message.payload.clone(),
        )
        .await
}

/// The `webhook-signature` value: `v1,<base64>` for each secret, separated
/// by spaces.
pub fn sign(
    secrets: &[String],
    message_id: &str,
    timestamp: i64,
    payload: &str,
) -> Result<String, String> {
    let mut signatures = Vec::with_capacity(secrets.len());
    for secret in secrets {
        let signer = standardwebhooks::Webhook::new(secret)
            .map_err(|error| format!("unusable signing secret: {error}"))?;
        signatures.push(
            signer
                .sign(message_id, timestamp, payload.as_bytes())
                .map_err(|error| format!("signing failed: {error}"))?,
        );
    }
    Ok(signatures.join(" "))
}
