//! `POST /inbound/email`: a raw message handed over by a mail server (the
//! `api mailgate` pipe, or any relay that posts mail over HTTP), taken as
//! a ticket, a reply, or held. Behind its own guard
//! (`edge::guard::guarded_for_mail`): messages are up to `MAX_EMAIL_BYTES`,
//! not the API's 64 KiB, and may take longer to arrive.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use domain::inbound::Outcome;
use edge::App;
use edge::problem::Problem;
use http_body_util::BodyExt as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::wire::{Envelope, ErrorEnvelope, InboundOutcomeJson};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(post_inbound_email))
}

/// Take one inbound message (`message/rfc822`).
///
/// For a mail server: the message, byte for byte, as the body, with
/// `Authorization: Bearer <INBOUND_TOKEN>`. It becomes a new ticket, a
/// reply on the ticket it answers, or a held message for staff; machine
/// mail (auto-replies, bounces, bulk mail, our own) is recorded and
/// ignored. The same message delivered again, by any door, changes nothing
/// (`duplicate`).
#[utoipa::path(
    post,
    path = "/inbound/email",
    tag = "mail",
    request_body(content = String, content_type = "message/rfc822", description = "The raw message"),
    responses(
        (status = 200, description = "Taken: what became of it", body = Envelope<InboundOutcomeJson>),
        (status = 400, description = "The message has no usable `From` address", body = ErrorEnvelope),
        (status = 401, description = "The token is missing or wrong", body = ErrorEnvelope),
        (status = 404, description = "This server takes no inbound mail over HTTP (`INBOUND_TOKEN` is not set)", body = ErrorEnvelope),
        (status = 413, description = "The message is over `MAX_EMAIL_BYTES`; nothing was kept", body = ErrorEnvelope),
        (status = 415, description = "The body is not `message/rfc822`", body = ErrorEnvelope),
        (status = 503, description = "The database is unavailable or too busy; deliver it again later", body = ErrorEnvelope),
    ),
    security(("inbound_token" = []))
)]
async fn post_inbound_email(
    State(app): State<App>,
    headers: HeaderMap,
    body: Body,
) -> Result<Envelope<InboundOutcomeJson>, Problem> {
    let inbound = app.inbound.clone().ok_or(Problem::NotFound)?;
    let sent = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    inbound.admit(sent)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("message/rfc822") {
        return Err(Problem::UnsupportedMediaType(
            "the body must be a message, as message/rfc822".into(),
        ));
    }
    let max = inbound.settings.max_bytes;
    let too_large = || Problem::TooLarge(format!("a message may be at most {max} bytes"));
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > max as u64) {
        return Err(too_large());
    }
    // A place in the reading budget before a byte is read: messages that
    // do not fit wait, unread, for those being taken.
    let declared = declared.and_then(|length| usize::try_from(length).ok());
    let _place = inbound.place_for(declared.unwrap_or(max)).await;
    let raw = read_message(body, declared.unwrap_or(0), max)
        .await?
        .ok_or_else(too_large)?;
    let taken = inbound.take(&app.store, &app.keys, raw).await?;
    let message = match taken.outcome == Outcome::Duplicate.as_str() {
        true => "Already taken",
        false => "Taken",
    };
    Ok(Envelope::new(message, InboundOutcomeJson::from(taken)))
}

/// The body, read into one buffer of its declared length as it arrives
/// (collecting it and then joining it would hold it twice); `None` once it
/// runs past `max`.
async fn read_message(
    mut body: Body,
    declared: usize,
    max: usize,
) -> Result<Option<Vec<u8>>, Problem> {
    let mut raw = Vec::with_capacity(declared.min(max));
    while let Some(frame) = body.frame().await {
        let frame = frame
            .map_err(|error| Problem::Invalid(format!("the message could not be read: {error}")))?;
        if let Ok(data) = frame.into_data() {
            if raw.len() + data.len() > max {
                return Ok(None);
            }
            raw.extend_from_slice(&data);
        }
    }
    Ok(Some(raw))
}
