//! The outbox as an admin looks at it: its messages of every channel by
//! status (the API's `GET /outbox`), each with its last error, and a
//! failed message queued again (`POST /outbox/:id/retry`).

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use domain::outbox::may_manage_outbox;
use domain::{Actor, OutboxFilter, OutboxStatus, OutgoingMail, Page, PageRequest, Refusal};

use crate::connection::{DbBackend, DbConnection};
use crate::error::{StoreError, StoreResult};
use crate::outbox::{DELIVERED, FAILED, PENDING, mark_queued};
use crate::paging::page_in_id_order;
use crate::rows::utc;
use crate::schema::{outbox, outbox_attempts};
use crate::{Store, now};

/// One message of the outbox, as the admin's list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    pub id: i64,
    pub channel: String,
    /// The notification kind, `pinReset`, or the webhook event type.
    pub kind: Option<String>,
    /// The address (mail) or the endpoint's id (webhooks).
    pub recipient: String,
    pub ticket_id: Option<i64>,
    pub status: OutboxStatus,
    pub attempts: i32,
    /// What went wrong at the latest attempt, if it failed.
    pub last_error: Option<String>,
    /// When it is tried next (pending only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

type MessageRow = (
    i64,
    String,
    String,
    String,
    String,
    i32,
    NaiveDateTime,
    NaiveDateTime,
);

const MESSAGE_COLUMNS: (
    outbox::id,
    outbox::channel,
    outbox::recipient,
    outbox::payload,
    outbox::state,
    outbox::attempts,
    outbox::due_at,
    outbox::created_at,
) = (
    outbox::id,
    outbox::channel,
    outbox::recipient,
    outbox::payload,
    outbox::state,
    outbox::attempts,
    outbox::due_at,
    outbox::created_at,
);

/// A row as read, before its last error is added.
#[derive(Debug)]
struct ReadMessage(OutboxMessage);

impl TryFrom<MessageRow> for ReadMessage {
    type Error = StoreError;

    fn try_from(row: MessageRow) -> Result<Self, StoreError> {
        let (id, channel, recipient, payload, state, attempts, due_at, created_at) = row;
        let status = match state.as_str() {
            PENDING => OutboxStatus::Pending,
            DELIVERED => OutboxStatus::Sent,
            FAILED => OutboxStatus::Failed,
            other => {
                return Err(StoreError::internal(format!(
                    "unknown outbox state in the database: {other}"
                )));
            }
        };
        let (kind, ticket_id) = describe_payload(&channel, &payload);
        Ok(Self(OutboxMessage {
            id,
            channel,
            kind,
            recipient,
            ticket_id,
            status,
            attempts,
            last_error: None,
            next_attempt_at: (status == OutboxStatus::Pending).then(|| utc(due_at)),
            created_at: utc(created_at),
        }))
    }
}

/// The store's states that show as `status`.
fn state_of(status: OutboxStatus) -> &'static str {
    match status {
        OutboxStatus::Pending => PENDING,
        OutboxStatus::Sent => DELIVERED,
        OutboxStatus::Failed => FAILED,
    }
}

/// Adds to each message the error of its latest attempt, if that failed.
fn with_last_errors(
    conn: &mut DbConnection,
    messages: Vec<ReadMessage>,
) -> StoreResult<Vec<OutboxMessage>> {
    let ids: Vec<i64> = messages.iter().map(|message| message.0.id).collect();
    let attempts: Vec<(i64, Option<String>)> = outbox_attempts::table
        .filter(outbox_attempts::outbox_id.eq_any(&ids))
        .order_by(outbox_attempts::id.desc())
        .select((outbox_attempts::outbox_id, outbox_attempts::error))
        .load(conn)?;
    let mut latest = std::collections::HashMap::new();
    for (id, error) in attempts {
        latest.entry(id).or_insert(error);
    }
    Ok(messages
        .into_iter()
        .map(|ReadMessage(mut message)| {
            message.last_error = latest.remove(&message.id).flatten();
            message
        })
        .collect())
}

/// What a message is about: its kind (the notification kind, `pinReset`,
/// or the webhook event type) and its ticket, when it has them.
fn describe_payload(channel: &str, payload: &str) -> (Option<String>, Option<i64>) {
    match channel {
        "mail" => match serde_json::from_str::<OutgoingMail>(payload) {
            Ok(OutgoingMail::Notification(mail)) => {
                (Some(mail.kind.name().to_owned()), Some(mail.ticket_id))
            }
            Ok(OutgoingMail::PinReset(_)) => (Some("pinReset".to_owned()), None),
            Err(_) => (None, None),
        },
        _ => {
            let Ok(value) = serde_json::from_str::<serde_json::Value>(payload) else {
                return (None, None);
            };
            (
                value["type"].as_str().map(str::to_owned),
                value["data"]["ticket"]["ticketId"].as_i64(),
            )
        }
    }
}

impl Store {
    /// A page of the outbox's messages of `filter`, oldest first (admins
    /// only).
    pub fn list_outbox(
        &self,
        actor: Actor,
        filter: OutboxFilter,
        page: PageRequest,
    ) -> StoreResult<Page<OutboxMessage>> {
        may_manage_outbox(actor)?;
        let conn = &mut *self.conn()?;
        let matching = || {
            let mut query = outbox::table.into_boxed::<DbBackend>();
            if let Some(status) = filter.status {
                query = query.filter(outbox::state.eq(state_of(status)));
            }
            if let Some(channel) = filter.channel {
                query = query.filter(outbox::channel.eq(channel));
            }
            query
        };
        let read: Page<ReadMessage> = page_in_id_order!(
            conn,
            page,
            matching,
            MESSAGE_COLUMNS => MessageRow,
            outbox::id,
            |message: &ReadMessage| message.0.id,
        );
        read.try_map_items(|items| with_last_errors(conn, items))
    }

    /// Queues a failed message again, due now, with its whole schedule
    /// before it (admins only): 404 if there is none, 409 if it has not
    /// failed. The message keeps its id, so a receiver that got it after
    /// all drops it.
    pub fn retry_outbox(&self, actor: Actor, id: i64) -> StoreResult<OutboxMessage> {
        may_manage_outbox(actor)?;
        self.write(|conn| {
            let row: MessageRow = outbox::table.find(id).select(MESSAGE_COLUMNS).first(conn)?;
            if row.4 != FAILED {
                return Err(Refusal::Conflict("only a failed message can be retried").into());
            }
            diesel::update(outbox::table.find(id))
                .set((
                    outbox::state.eq(PENDING),
                    outbox::attempts.eq(0),
                    outbox::due_at.eq(now().naive_utc()),
                    outbox::leased_until.eq(None::<NaiveDateTime>),
                    outbox::finished_at.eq(None::<NaiveDateTime>),
                ))
                .execute(conn)?;
            mark_queued(&row.1);
            let row: MessageRow = outbox::table.find(id).select(MESSAGE_COLUMNS).first(conn)?;
            with_last_errors(conn, vec![ReadMessage::try_from(row)?])?
                .pop()
                .ok_or_else(|| StoreError::internal("the retried message went missing"))
        })
    }
}

#[cfg(test)]
mod tests {
    use domain::ids::UserId;
    use domain::{NotificationKind, NotificationMail, PinResetMail, Priority, TicketStatus};

    use super::*;

    #[test]
    fn a_payload_says_its_kind_and_ticket() {
        let notification = OutgoingMail::Notification(NotificationMail {
            recipient: UserId(7),
            recipient_name: "carol".into(),
            to_customer: true,
            kind: NotificationKind::PublicReply,
            ticket_id: 12,
            subject: None,
            status: TicketStatus::Replied,
            priority: Priority::Normal,
            by: "Support".into(),
            text: None,
            status_before: None,
            at: "2026-12-07T10:00:00.000Z".into(),
        });
        let json = serde_json::to_string(&notification).expect("JSON");
        assert_eq!(
            describe_payload("mail", &json),
            (Some("publicReply".to_owned()), Some(12))
        );
        let reset = OutgoingMail::PinReset(PinResetMail {
            recipient: UserId(7),
            recipient_name: "carol".into(),
            nonce: "n".into(),
            expires_at: "2026-12-07T10:30:00.000Z".into(),
        });
        let json = serde_json::to_string(&reset).expect("JSON");
        assert_eq!(
            describe_payload("mail", &json),
            (Some("pinReset".to_owned()), None)
        );
        assert_eq!(
            describe_payload(
                "webhook",
                r#"{"type":"ticket.created","data":{"ticket":{"ticketId":5}}}"#
            ),
            (Some("ticket.created".to_owned()), Some(5))
        );
        assert_eq!(
            describe_payload("webhook", r#"{"type":"ping","data":{}}"#),
            (Some("ping".to_owned()), None)
        );
        assert_eq!(describe_payload("mail", "{}"), (None, None));
    }
}
