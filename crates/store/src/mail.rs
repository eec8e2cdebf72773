//! The outbox's `mail` channel: a change queues the mail it causes, in its
//! own transaction, addressed to the recipient's address; the mail worker
//! claims, renders and sends it. What a mail says is decided in
//! `domain::mail`.

use domain::{EmailAddress, OutgoingMail};

use crate::connection::DbConnection;
use crate::error::{StoreError, StoreResult};
use crate::outbox::{NewMessage, enqueue, new_message_id};

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
