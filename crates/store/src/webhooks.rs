//! Webhook endpoints (admins' only), the events announced to them, and
//! their side of delivery. An action that changes a ticket or an account
//! announces its events here, in its own transaction: one outbox row per
//! enabled endpoint subscribed to each, with the staff's view of what
//! changed as the payload. With no endpoint subscribed, announcing costs
//! one small read and writes nothing.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use domain::audience::{Audience, see_ticket_as, see_user_as};
use domain::json::{EventJson, ReplyJson, TicketJson, UserJson, timestamp};
use domain::webhooks::{
    OLD_SECRET_SIGNS_FOR, SECRET_BYTES, may_manage_webhooks, receives, secret_text, should_disable,
    signing_secrets,
};
use domain::{
    Actor, Event, EventSet, Page, PageRequest, Refusal, RetrySchedule, TicketId, User,
    WebhookEvent, WebhookUrl,
};
use rand::Rng as _;

use crate::connection::{DbBackend, DbConnection};
use crate::error::{StoreError, StoreResult};
use crate::outbox::{
    AttemptOutcome, AttemptRecord, ClaimedMessage, NewMessage, and_claim_next, enqueue,
    finish_attempt, new_message_id,
};
use crate::paging::page_in_id_order;
use crate::prepared::load_requester_and_tags;
use crate::rows::{REPLY_COLUMNS, ReplyRow, load_ticket, utc};
use crate::schema::{outbox, outbox_attempts, replies, users, webhook_endpoints};
use crate::{Store, now};

/// The outbox channel webhooks travel on; a row's recipient is the
/// endpoint's id.
pub const WEBHOOK_CHANNEL: &str = "webhook";

/// An endpoint as admins see it (never its secret, which is shown once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    pub description: String,
    pub events: EventSet,
    pub enabled: bool,
    /// Until when the secret a rotation replaced still signs.
    pub previous_secret_until: Option<DateTime<Utc>>,
    /// The first failed delivery since the last success.
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An endpoint with its new secret: the answer of its creation and of a
/// rotation, the only times the secret is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithSecret {
    pub webhook: Webhook,
    pub secret: String,
}

/// An endpoint to create.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: WebhookUrl,
    pub events: EventSet,
    pub description: String,
}

/// A change to an endpoint; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct WebhookChange {
    pub url: Option<WebhookUrl>,
    pub events: Option<EventSet>,
    pub enabled: Option<bool>,
    pub description: Option<String>,
}

/// One attempt to deliver a message to an endpoint, as its log shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    pub id: i64,
    /// The `webhook-id` the receiver saw.
    pub message_id: String,
    pub event_type: String,
    pub at: DateTime<Utc>,
    pub duration_ms: i64,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    /// The first KiB of the answer.
    pub response: Option<String>,
    pub succeeded: bool,
}

/// Where a delivery goes and what signs it, at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub url: WebhookUrl,
    /// The current secret first, then one a rotation replaced while it
    /// still signs.
    pub secrets: Vec<String>,
    pub enabled: bool,
}

/// An endpoint's URL, whether it is enabled, its secret, and the secret a
/// rotation replaced with its end.
type DestinationRow = (String, bool, String, Option<String>, Option<NaiveDateTime>);

type EndpointRow = (
    i64,
    String,
    String,
    String,
    bool,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    NaiveDateTime,
    NaiveDateTime,
);

macro_rules! endpoint_columns {
    () => {
        (
            webhook_endpoints::id,
            webhook_endpoints::url,
            webhook_endpoints::description,
            webhook_endpoints::events,
            webhook_endpoints::enabled,
            webhook_endpoints::previous_secret_until,
            webhook_endpoints::failing_since,
            webhook_endpoints::created_at,
            webhook_endpoints::updated_at,
        )
    };
}

fn webhook(row: EndpointRow) -> StoreResult<Webhook> {
    let (id, url, description, events, enabled, previous_until, failing_since, created, updated) =
        row;
    Ok(Webhook {
        id,
        url,
        description,
        events: EventSet::from_column(&events).map_err(|e| {
            StoreError::internal(format!("unreadable webhook events in the database: {e}"))
        })?,
        enabled,
        previous_secret_until: previous_until.map(utc),
        failing_since: failing_since.map(utc),
        created_at: utc(created),
        updated_at: utc(updated),
    })
}

fn load_webhook(conn: &mut DbConnection, id: i64) -> StoreResult<Webhook> {
    let row: EndpointRow = webhook_endpoints::table
        .find(id)
        .select(endpoint_columns!())
        .first(conn)?;
    webhook(row)
}

/// A new signing secret: `whsec_` and the base64 of random bytes.
fn new_secret() -> String {
    let bytes: [u8; SECRET_BYTES] = rand::rng().random();
    secret_text(&bytes)
}

impl Store {
    /// Creates an endpoint; its secret is in the answer and nowhere else.
    pub fn create_webhook(&self, actor: Actor, new: &NewWebhook) -> StoreResult<WithSecret> {
        may_manage_webhooks(actor)?;
        let secret = new_secret();
        let at = now().naive_utc();
        let conn = &mut *self.conn()?;
        let id: i64 = diesel::insert_into(webhook_endpoints::table)
            .values((
                webhook_endpoints::url.eq(new.url.as_str()),
                webhook_endpoints::description.eq(&new.description),
                webhook_endpoints::events.eq(new.events.to_column()),
                webhook_endpoints::enabled.eq(true),
                webhook_endpoints::secret.eq(&secret),
                webhook_endpoints::created_at.eq(at),
                webhook_endpoints::updated_at.eq(at),
            ))
            .returning(webhook_endpoints::id)
            .get_result(conn)?;
        let webhook = load_webhook(conn, id)?;
        Ok(WithSecret { webhook, secret })
    }

    /// Every endpoint, oldest first (admins keep a handful).
    pub fn list_webhooks(&self, actor: Actor) -> StoreResult<Vec<Webhook>> {
        may_manage_webhooks(actor)?;
        let rows: Vec<EndpointRow> = webhook_endpoints::table
            .order_by(webhook_endpoints::id.asc())
            .select(endpoint_columns!())
            .load(&mut *self.conn()?)?;
        rows.into_iter().map(webhook).collect()
    }

    pub fn read_webhook(&self, actor: Actor, id: i64) -> StoreResult<Webhook> {
        may_manage_webhooks(actor)?;
        load_webhook(&mut *self.conn()?, id)
    }

    /// Changes an endpoint's URL, events, description or whether it is
    /// enabled. Enabling it again starts its failure count afresh.
    pub fn update_webhook(
        &self,
        actor: Actor,
        id: i64,
        change: &WebhookChange,
    ) -> StoreResult<Webhook> {
        may_manage_webhooks(actor)?;
        self.write(|conn| {
            let current = load_webhook(conn, id)?;
            let url = change
                .url
                .as_ref()
                .map_or(current.url.as_str(), WebhookUrl::as_str);
            let events = change.events.as_ref().unwrap_or(&current.events);
            let description = change.description.as_ref().unwrap_or(&current.description);
            let enabled = change.enabled.unwrap_or(current.enabled);
            let failing_since = match (current.enabled, enabled) {
                (false, true) => None,
                _ => current.failing_since.map(|at| at.naive_utc()),
            };
            diesel::update(webhook_endpoints::table.find(id))
                .set((
                    webhook_endpoints::url.eq(url),
                    webhook_endpoints::events.eq(events.to_column()),
                    webhook_endpoints::description.eq(description),
                    webhook_endpoints::enabled.eq(enabled),
                    webhook_endpoints::failing_since.eq(failing_since),
                    webhook_endpoints::updated_at.eq(now().naive_utc()),
                ))
                .execute(conn)?;
            load_webhook(conn, id)
        })
    }

    /// Deletes an endpoint with its undelivered messages and its log.
    pub fn delete_webhook(&self, actor: Actor, id: i64) -> StoreResult<()> {
        may_manage_webhooks(actor)?;
        self.write(|conn| {
            let deleted = diesel::delete(webhook_endpoints::table.find(id)).execute(conn)?;
            if deleted == 0 {
                return Err(Refusal::NotFound.into());
            }
            let mine = outbox::table
                .filter(outbox::channel.eq(WEBHOOK_CHANNEL))
                .filter(outbox::recipient.eq(id.to_string()))
                .select(outbox::id);
            diesel::delete(outbox_attempts::table.filter(outbox_attempts::outbox_id.eq_any(mine)))
                .execute(conn)?;
            diesel::delete(
                outbox::table
                    .filter(outbox::channel.eq(WEBHOOK_CHANNEL))
                    .filter(outbox::recipient.eq(id.to_string())),
            )
            .execute(conn)?;
            Ok(())
        })
    }

    /// A new secret for an endpoint; the old one keeps signing beside it
    /// for [`OLD_SECRET_SIGNS_FOR`], so receivers can switch over.
    pub fn rotate_webhook_secret(&self, actor: Actor, id: i64) -> StoreResult<WithSecret> {
        may_manage_webhooks(actor)?;
        let secret = new_secret();
        self.write(|conn| {
            let old: String = webhook_endpoints::table
                .find(id)
                .select(webhook_endpoints::secret)
                .first(conn)?;
            let at = now();
            diesel::update(webhook_endpoints::table.find(id))
                .set((
                    webhook_endpoints::secret.eq(&secret),
                    webhook_endpoints::previous_secret.eq(Some(old)),
                    webhook_endpoints::previous_secret_until
                        .eq(Some((at + OLD_SECRET_SIGNS_FOR).naive_utc())),
                    webhook_endpoints::updated_at.eq(at.naive_utc()),
                ))
                .execute(conn)?;
            Ok(WithSecret {
                webhook: load_webhook(conn, id)?,
                secret: secret.clone(),
            })
        })
    }

    /// Queues a `ping` for an endpoint, whatever it subscribed to (and
    /// even disabled, so the admin sees it refused in the log); answers
    /// the message's id.
    pub fn queue_webhook_ping(&self, actor: Actor, id: i64) -> StoreResult<String> {
        may_manage_webhooks(actor)?;
        self.write(|conn| {
            load_webhook(conn, id)?;
            let message_id = new_message_id();
            let payload = envelope(
                WebhookEvent::Ping,
                now(),
                serde_json::json!({ "webhookId": id.to_string() }),
            )?;
            enqueue(
                conn,
                &[NewMessage {
                    channel: WEBHOOK_CHANNEL,
                    recipient: id.to_string(),
                    message_id: &message_id,
                    payload: &payload,
                }],
            )?;
            Ok(message_id)
        })
    }

    /// A page of an endpoint's delivery attempts, oldest first.
    pub fn list_webhook_deliveries(
        &self,
        actor: Actor,
        id: i64,
        page: PageRequest,
    ) -> StoreResult<Page<DeliveryAttempt>> {
        may_manage_webhooks(actor)?;
        let conn = &mut *self.conn()?;
        load_webhook(conn, id)?;
        let recipient = id.to_string();
        let of_endpoint = || {
            outbox_attempts::table
                .inner_join(outbox::table)
                .filter(outbox_attempts::channel.eq(WEBHOOK_CHANNEL))
                .filter(outbox_attempts::recipient.eq(recipient.clone()))
                .into_boxed::<DbBackend>()
        };
        Ok(page_in_id_order!(
            conn,
            page,
            of_endpoint,
            ATTEMPT_COLUMNS => AttemptRow,
            outbox_attempts::id,
            |attempt: &DeliveryAttempt| attempt.id,
        ))
    }

    /// An endpoint's latest `count` attempts, newest first (its page).
    pub fn recent_webhook_deliveries(
        &self,
        actor: Actor,
        id: i64,
        count: i64,
    ) -> StoreResult<Vec<DeliveryAttempt>> {
        may_manage_webhooks(actor)?;
        let conn = &mut *self.conn()?;
        load_webhook(conn, id)?;
        let rows: Vec<AttemptRow> = outbox_attempts::table
            .inner_join(outbox::table)
            .filter(outbox_attempts::channel.eq(WEBHOOK_CHANNEL))
            .filter(outbox_attempts::recipient.eq(id.to_string()))
            .order_by(outbox_attempts::id.desc())
            .limit(count)
            .select(ATTEMPT_COLUMNS)
            .load(conn)?;
        rows.into_iter().map(DeliveryAttempt::try_from).collect()
    }

    /// Queues the message of one of an endpoint's attempts again: the same
    /// payload, the same message id; answers the id.
    pub fn redeliver_webhook(&self, actor: Actor, id: i64, attempt: i64) -> StoreResult<String> {
        may_manage_webhooks(actor)?;
        self.write(|conn| {
            let (message_id, payload): (String, String) = outbox_attempts::table
                .inner_join(outbox::table)
                .filter(outbox_attempts::id.eq(attempt))
                .filter(outbox_attempts::channel.eq(WEBHOOK_CHANNEL))
                .filter(outbox_attempts::recipient.eq(id.to_string()))
                .select((outbox::message_id, outbox::payload))
                .first(conn)?;
            enqueue(
                conn,
                &[NewMessage {
                    channel: WEBHOOK_CHANNEL,
                    recipient: id.to_string(),
                    message_id: &message_id,
                    payload: &payload,
                }],
            )?;
            Ok(message_id)
        })
    }

    /// Where a claimed webhook message goes, and what signs it now; `None`
    /// when its endpoint is gone. For the delivery worker, which acts for
    /// no account.
    pub fn webhook_destination(&self, recipient: &str) -> StoreResult<Option<Destination>> {
        let Ok(id) = recipient.parse::<i64>() else {
            return Ok(None);
        };
        let found: Option<DestinationRow> = webhook_endpoints::table
            .find(id)
            .select((
                webhook_endpoints::url,
                webhook_endpoints::enabled,
                webhook_endpoints::secret,
                webhook_endpoints::previous_secret,
                webhook_endpoints::previous_secret_until,
            ))
            .first(&mut *self.conn()?)
            .optional()?;
        Ok(found.map(|(url, enabled, secret, previous, until)| {
            let previous = previous.as_deref().zip(until.map(utc));
            Destination {
                url: WebhookUrl::stored(url),
                secrets: signing_secrets(&secret, previous, now())
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
                enabled,
            }
        }))
    }

    /// Records an attempt at a webhook message (see the outbox's
    /// `finish_attempt`) and what it says of the endpoint: a success ends
    /// its failing streak; a failure starts one, or continues it and
    /// disables the endpoint once it has lasted five days. For the
    /// delivery worker.
    pub fn finish_webhook_attempt(
        &self,
        claimed: &ClaimedMessage,
        record: &AttemptRecord,
        schedule: &RetrySchedule,
    ) -> StoreResult<AttemptOutcome> {
        self.write(|conn| record_webhook_attempt(conn, claimed, record, schedule))
    }

    /// [`Store::finish_webhook_attempt`], and when the attempt succeeded,
    /// the endpoint's next due message claimed for `lease` in the same
    /// transaction: a worker keeping up with a busy endpoint takes one
    /// write a message, not two.
    pub fn finish_webhook_attempt_and_claim_next(
        &self,
        claimed: &ClaimedMessage,
        record: &AttemptRecord,
        schedule: &RetrySchedule,
        lease: Duration,
    ) -> StoreResult<(AttemptOutcome, Option<ClaimedMessage>)> {
        self.write(|conn| {
            let outcome = record_webhook_attempt(conn, claimed, record, schedule)?;
            and_claim_next(conn, WEBHOOK_CHANNEL, claimed, outcome, lease)
        })
    }

    /// Whether any enabled endpoint receives `event` now: the create
    /// path on PostgreSQL asks before choosing its one-statement write.
    pub(crate) fn anyone_receives(&self, event: WebhookEvent) -> StoreResult<bool> {
        Ok(!subscribers(&mut *self.conn()?, event)?.is_empty())
    }
}

/// The enabled endpoints and what each subscribed to: one small read.
fn enabled_endpoints(conn: &mut DbConnection) -> StoreResult<Vec<(i64, EventSet)>> {
    let rows: Vec<(i64, String)> = webhook_endpoints::table
        .filter(webhook_endpoints::enabled.eq(true))
        .select((webhook_endpoints::id, webhook_endpoints::events))
        .load(conn)?;
    rows.into_iter()
        .map(|(id, events)| {
            EventSet::from_column(&events)
                .map(|events| (id, events))
                .map_err(|e| {
                    StoreError::internal(format!("unreadable webhook events in the database: {e}"))
                })
        })
        .collect()
}

/// Of `endpoints`, those that receive `event`.
fn receiving(endpoints: &[(i64, EventSet)], event: WebhookEvent) -> Vec<i64> {
    endpoints
        .iter()
        .filter(|(_, events)| receives(events, event))
        .map(|(id, _)| *id)
        .collect()
}

/// The enabled endpoints that receive `event`.
fn subscribers(conn: &mut DbConnection, event: WebhookEvent) -> StoreResult<Vec<i64>> {
    Ok(receiving(&enabled_endpoints(conn)?, event))
}

/// `{"type", "timestamp", "data"}`, as text.
fn envelope(
    event: WebhookEvent,
    at: DateTime<Utc>,
    data: serde_json::Value,
) -> StoreResult<String> {
    Ok(serde_json::json!({
        "type": event.as_str(),
        "timestamp": timestamp(at),
        "data": data,
    })
    .to_string())
}

fn json<T: serde::Serialize>(value: T) -> StoreResult<serde_json::Value> {
    serde_json::to_value(value).map_err(StoreError::internal)
}

/// Queues one message per subscriber of `event`, in the caller's
/// transaction.
fn announce(conn: &mut DbConnection, endpoints: &[i64], payload: &str) -> StoreResult<()> {
    let message_id = new_message_id();
    let messages: Vec<NewMessage<'_>> = endpoints
        .iter()
        .map(|endpoint| NewMessage {
            channel: WEBHOOK_CHANNEL,
            recipient: endpoint.to_string(),
            message_id: &message_id,
            payload,
        })
        .collect();
    enqueue(conn, &messages)
}

/// Announces a ticket's just-recorded `events` to their subscribers, in
/// the transaction that recorded them: each event's payload holds the
/// ticket as staff see it after the change, the event, and for a reply or
/// a note the reply.
pub(crate) fn announce_ticket_events(
    conn: &mut DbConnection,
    ticket_id: TicketId,
    events: &[Event],
) -> StoreResult<()> {
    let enabled = enabled_endpoints(conn)?;
    let mut wanted = Vec::new();
    for event in events {
        let hook = WebhookEvent::of_ticket_event(event.kind.event_type());
        let endpoints = receiving(&enabled, hook);
        if !endpoints.is_empty() {
            wanted.push((event, hook, endpoints));
        }
    }
    if wanted.is_empty() {
        return Ok(());
    }
    let at = now();
    let ticket = load_ticket(conn, ticket_id)?;
    let (author, tags) = load_requester_and_tags(conn, ticket_id)?;
    let seen = see_ticket_as(
        Audience::Staff,
        domain::Ticket {
            tags: Some(tags),
            ..ticket
        },
        Some(author),
        at,
    );
    let ticket_json = json(TicketJson::from(seen))?;
    for (event, hook, endpoints) in wanted {
        let mut data = serde_json::json!({
            "ticket": ticket_json,
            "event": json(EventJson::from(event.clone()))?,
        });
        if let domain::EventKind::Replied { reply_id } | domain::EventKind::Noted { reply_id } =
            event.kind
        {
            let row: ReplyRow = replies::table
                .inner_join(users::table)
                .filter(replies::id.eq(reply_id))
                .select(REPLY_COLUMNS)
                .first(conn)?;
            data["reply"] = json(ReplyJson::from(domain::Reply::try_from(row)?))?;
        }
        let payload = envelope(hook, event.at, data)?;
        announce(conn, &endpoints, &payload)?;
    }
    Ok(())
}

/// Announces an account's creation or change, in its transaction: the
/// payload holds the account as staff see it (a customer's address, never
/// a staff member's).
pub(crate) fn announce_user(
    conn: &mut DbConnection,
    event: WebhookEvent,
    user: &User,
) -> StoreResult<()> {
    let endpoints = subscribers(conn, event)?;
    if endpoints.is_empty() {
        return Ok(());
    }
    let data = serde_json::json!({ "user": json(UserJson::from(see_user_as(Audience::Staff, user.clone())))? });
    let payload = envelope(event, user.updated_at, data)?;
    announce(conn, &endpoints, &payload)
}

/// Records an attempt at a webhook message (see
/// [`Store::finish_webhook_attempt`]) in the caller's transaction, and keeps
/// the endpoint's failure streak for the disable rule.
fn record_webhook_attempt(
    conn: &mut DbConnection,
    claimed: &ClaimedMessage,
    record: &AttemptRecord,
    schedule: &RetrySchedule,
) -> StoreResult<AttemptOutcome> {
    let outcome = finish_attempt(conn, WEBHOOK_CHANNEL, claimed, record, schedule)?;
    let Ok(id) = claimed.recipient.parse::<i64>() else {
        return Ok(outcome);
    };
    let endpoint: Option<(bool, Option<NaiveDateTime>)> = webhook_endpoints::table
        .find(id)
        .select((webhook_endpoints::enabled, webhook_endpoints::failing_since))
        .first(conn)
        .optional()?;
    let Some((true, failing_since)) = endpoint else {
        return Ok(outcome);
    };
    if record.succeeded {
        if failing_since.is_some() {
            diesel::update(webhook_endpoints::table.find(id))
                .set(webhook_endpoints::failing_since.eq(None::<NaiveDateTime>))
                .execute(conn)?;
        }
        return Ok(outcome);
    }
    let since = failing_since.map(utc).unwrap_or(record.at);
    let disable = should_disable(Some(since), now());
    if failing_since.is_none() || disable {
        diesel::update(webhook_endpoints::table.find(id))
            .set((
                webhook_endpoints::failing_since.eq(Some(since.naive_utc())),
                webhook_endpoints::enabled.eq(!disable),
            ))
            .execute(conn)?;
    }
    Ok(outcome)
}

/// The columns of an attempt, with its message's id and payload.
type AttemptColumns = (
    outbox_attempts::id,
    outbox::message_id,
    outbox::payload,
    outbox_attempts::at,
    outbox_attempts::duration_ms,
    outbox_attempts::status_code,
    outbox_attempts::error,
    outbox_attempts::response,
    outbox_attempts::succeeded,
);
const ATTEMPT_COLUMNS: AttemptColumns = (
    outbox_attempts::id,
    outbox::message_id,
    outbox::payload,
    outbox_attempts::at,
    outbox_attempts::duration_ms,
    outbox_attempts::status_code,
    outbox_attempts::error,
    outbox_attempts::response,
    outbox_attempts::succeeded,
);

#[derive(Debug, Queryable)]
struct AttemptRow {
    id: i64,
    message_id: String,
    payload: String,
    at: NaiveDateTime,
    duration_ms: i64,
    status_code: Option<i32>,
    error: Option<String>,
    response: Option<String>,
    succeeded: bool,
}

impl TryFrom<AttemptRow> for DeliveryAttempt {
    type Error = StoreError;

    fn try_from(row: AttemptRow) -> Result<Self, StoreError> {
        let payload: serde_json::Value =
            serde_json::from_str(&row.payload).map_err(StoreError::internal)?;
        Ok(DeliveryAttempt {
            id: row.id,
            message_id: row.message_id,
            event_type: payload["type"].as_str().unwrap_or_default().to_owned(),
            at: utc(row.at),
            duration_ms: row.duration_ms,
            status_code: row.status_code,
            error: row.error,
            response: row.response,
            succeeded: row.succeeded,
        })
    }
}
