//! Webhooks for admins: every endpoint with its latest delivery attempts,
//! a button that sends it a test ping, and one that sends an attempt's
//! message again. Endpoints are registered and changed through the API.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use edge::App;
use serde::Deserialize;

use super::{PageQuery, notice, path_id, viewer};
use crate::SessionCookie;
use crate::error::PageError;
use crate::forms::{EmptyForm, Posted};
use crate::views::{Chrome, DeliveryRow, EndpointRow, WebhooksPage, When, render};

/// The attempts shown under each endpoint, newest first.
const RECENT_ATTEMPTS: i64 = 10;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct WebhooksQuery {
    done: Option<String>,
}

pub async fn list(
    State(app): State<App>,
    session: SessionCookie,
    PageQuery(query): PageQuery<WebhooksQuery>,
) -> Result<Response, PageError> {
    let (user, endpoints) = session
        .run(&app, move |store, user| {
            let endpoints = store
                .list_webhooks(user.actor)?
                .into_iter()
                .map(|endpoint| {
                    let recent = store.recent_webhook_deliveries(
                        user.actor,
                        endpoint.id,
                        RECENT_ATTEMPTS,
                    )?;
                    Ok::<_, PageError>((endpoint, recent))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok::<_, PageError>((user.clone(), endpoints))
        })
        .await?;
    let rows = endpoints
        .into_iter()
        .map(|(endpoint, recent)| EndpointRow {
            id: endpoint.id,
            url: endpoint.url,
            description: endpoint.description,
            events: endpoint.events.names().collect::<Vec<_>>().join(", "),
            enabled: endpoint.enabled,
            failing_since: endpoint.failing_since.map(When::of),
            deliveries: recent
                .into_iter()
                .map(|attempt| DeliveryRow {
                    id: attempt.id,
                    webhook_id: attempt.message_id,
                    kind: attempt.event_type,
                    at: When::of(attempt.at),
                    status: attempt
                        .status_code
                        .map_or_else(|| "no answer".to_owned(), |code| code.to_string()),
                    duration_ms: attempt.duration_ms,
                    error: attempt.error.unwrap_or_default(),
                    succeeded: attempt.succeeded,
                })
                .collect(),
        })
        .collect();
    let page = WebhooksPage {
        chrome: Chrome::new("Webhooks", Some(viewer(&app, &session, &user)))
            .with_notice(notice(query.done.as_deref())),
        rows,
    };
    Ok(render(&page))
}

/// Queues a ping to an endpoint.
pub async fn test(
    State(app): State<App>,
    Path(raw_id): Path<String>,
    Posted { session, form: _ }: Posted<EmptyForm>,
) -> Result<Response, PageError> {
    let id = path_id(&raw_id)?;
    session
        .run(&app, move |store, user| {
            Ok::<_, PageError>(store.queue_webhook_ping(user.actor, id)?)
        })
        .await?;
    Ok(Redirect::to(&format!("/admin/webhooks?done=ping#webhook-{id}")).into_response())
}

/// Queues an attempt's message again, with its `webhook-id`.
pub async fn redeliver(
    State(app): State<App>,
    Path((raw_id, raw_attempt)): Path<(String, String)>,
    Posted { session, form: _ }: Posted<EmptyForm>,
) -> Result<Response, PageError> {
    let id = path_id(&raw_id)?;
    let attempt = path_id(&raw_attempt)?;
    session
        .run(&app, move |store, user| {
            Ok::<_, PageError>(store.redeliver_webhook(user.actor, id, attempt)?)
        })
        .await?;
    Ok(Redirect::to(&format!("/admin/webhooks?done=redelivered#webhook-{id}")).into_response())
}
