//! The outbox's `mail` channel: a change queues the mail it causes, in its
//! own transaction, addressed to the recipient's address; the mail worker
//! claims, renders and sends it. What a mail says is decided in
//! `domain::mail`.

use std::time::Duration;

use domain::{EmailAddress, OutgoingMail, RetrySchedule};

use crate::Store;
use crate::connection::DbConnection;
use crate::error::{StoreError, StoreResult};
use crate::outbox::{
    AttemptOutcome, AttemptRecord, ClaimedMessage, NewMessage, and_claim_next, enqueue,
    finish_attempt, new_message_id,
};

/// The outbox channel mail travels on; a row's recipient is the address.
pub const MAIL_CHANNEL: &str = "mail";

/// Queues `mails` (each to its address) in the caller's transaction. Each
/// gets a message id of its own, kept across retries: the mail's
/// `Message-ID` is made from it, so a mail sent again after a crash is
/// recognisably the same mail.
pub(crate) fn queue_mail(
    conn: &mut DbConnection,
    mails: &[(&EmailAddress, &OutgoingMail)],
) -> StoreResult<()> {
    if mails.is_empty() {
        return Ok(());
    }
    let rows = mails
        .iter()
        .map(|(to, mail)| {
            let payload = serde_json::to_string(mail).map_err(StoreError::internal)?;
            Ok((to.as_str().to_owned(), new_message_id(), payload))
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let messages: Vec<NewMessage<'_>> = rows
        .iter()
        .map(|(recipient, message_id, payload)| NewMessage {
            channel: MAIL_CHANNEL,
            recipient: recipient.clone(),
            message_id,
            payload,
        })
        .collect();
    enqueue(conn, &messages)
}

impl Store {
    /// Records an attempt at a mail (see the outbox's `finish_attempt`):
    /// sent, tried again after the schedule's next delay, or failed (no
    /// attempt left, or the server refused the recipient for good). For
    /// the mail worker, which acts for no account.
    pub fn finish_mail_attempt(
        &self,
        claimed: &ClaimedMessage,
        record: &AttemptRecord,
        schedule: &RetrySchedule,
    ) -> StoreResult<AttemptOutcome> {
        self.write(|conn| finish_attempt(conn, MAIL_CHANNEL, claimed, record, schedule))
    }

    /// As [`Store::finish_mail_attempt`], and when the mail was sent, the
    /// same address's next due mail, claimed for `lease` in the same
    /// transaction: one address's backlog goes out without a poll between
    /// mails.
    pub fn finish_mail_attempt_and_claim_next(
        &self,
        claimed: &ClaimedMessage,
        record: &AttemptRecord,
        schedule: &RetrySchedule,
        lease: Duration,
    ) -> StoreResult<(AttemptOutcome, Option<ClaimedMessage>)> {
        self.write(|conn| {
            let outcome = finish_attempt(conn, MAIL_CHANNEL, claimed, record, schedule)?;
            and_claim_next(conn, MAIL_CHANNEL, claimed, outcome, lease)
        })
    }
}
