//! Webhook endpoints, their delivery log, tests and redeliveries
//! (`/webhooks`, admins only).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::values::parse_id;
use domain::webhooks::parse_description;
use domain::{EventSet, PageRequest, WebhookUrl};
use edge::App;
use edge::problem::Problem;
use store::{NewWebhook, WebhookChange};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::required;
use crate::auth::{Caller, as_caller};
use crate::extract::{JsonBody, PathParam, QueryParams};
use crate::wire::{
    CreateWebhookRequest, DeliveryJson, DeliveryPath, Envelope, ErrorEnvelope, PageEnvelope,
    PageQuery, QueuedJson, UpdateWebhookRequest, WebhookJson, WebhookPath, WebhookWithSecretJson,
};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(get_webhooks, post_webhooks))
        .routes(routes!(get_webhook, patch_webhook, delete_webhook))
        .routes(routes!(rotate_webhook_secret))
        .routes(routes!(test_webhook))
        .routes(routes!(get_webhook_deliveries))
        .routes(routes!(redeliver_webhook))
}

/// Register an endpoint (admins only). The answer holds its signing
/// secret, shown this once.
#[utoipa::path(
    post,
    path = "/webhooks",
    tag = "webhooks",
    request_body = CreateWebhookRequest,
    responses(
        (status = 201, description = "Endpoint created, with its secret", body = Envelope<WebhookWithSecretJson>),
        (status = 403, description = "Only admins manage webhooks", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
async fn post_webhooks(
    State(app): State<App>,
    caller: Caller,
    JsonBody(request): JsonBody<CreateWebhookRequest>,
) -> Result<Response, Problem> {
    let new = NewWebhook {
        url: WebhookUrl::parse(&required("url", request.url)?, app.webhook_policy)?,
        events: EventSet::parse(
            &request
                .events
                .ok_or_else(|| domain::ValidationError::new("events", "is required"))?,
        )?,
        description: parse_description(request.description.as_deref().unwrap_or(""))?,
    };
    let created = as_caller(&app, caller, move |store, caller| {
        store.create_webhook(caller, &new)
    })
    .await?;
    Ok(Envelope::new(
        "Webhook was created successfully",
        WebhookWithSecretJson::from(created),
    )
    .created())
}

/// Every endpoint, oldest first (admins only).
#[utoipa::path(
    get,
    path = "/webhooks",
    tag = "webhooks",
    responses(
        (status = 200, description = "The endpoints", body = Envelope<Vec<WebhookJson>>),
        (status = 403, description = "Only admins manage webhooks", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
async fn get_webhooks(
    State(app): State<App>,
    caller: Caller,
) -> Result<Envelope<Vec<WebhookJson>>, Problem> {
    let webhooks = as_caller(&app, caller, move |store, caller| {
        store.list_webhooks(caller)
    })
    .await?;
    Ok(Envelope::new(
        "Webhooks retrieved successfully",
        webhooks.into_iter().map(WebhookJson::from).collect(),
    ))
}

/// One endpoint (admins only).
#[utoipa::path(
    get,
    path = "/webhooks/{id}",
    tag = "webhooks",
    params(WebhookPath),
    responses(
        (status = 200, description = "The endpoint", body = Envelope<WebhookJson>),
        (status = 403, description = "Only admins manage webhooks", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
async fn get_webhook(
    State(app): State<App>,
    caller: Caller,
    PathParam(WebhookPath { id }): PathParam<WebhookPath>,
) -> Result<Envelope<WebhookJson>, Problem> {
    let id = parse_id("id", &id)?;
    let webhook = as_caller(&app, caller, move |store, caller| {
        store.read_webhook(caller, id)
    })
    .await?;
    Ok(Envelope::new(
        "Webhook retrieved successfully",
        WebhookJson::from(webhook),
    ))
}

/// Change an endpoint's URL, events, description, or whether it is
/// enabled (admins only).
#[utoipa::path(
    patch,
    path = "/webhooks/{id}",
    tag = "webhooks",
    params(WebhookPath),
    request_body = UpdateWebhookRequest,
    responses(
        (status = 200, description = "The endpoint after the change", body = Envelope<WebhookJson>),
        (status = 403, description = "Only admins manage webhooks", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
async fn patch_webhook(
    State(app): State<App>,
    caller: Caller,
    PathParam(WebhookPath { id }): PathParam<WebhookPath>,
    JsonBody(request): JsonBody<UpdateWebhookRequest>,
) -> Result<Envelope<WebhookJson>, Problem> {
    let id = parse_id("id", &id)?;
    let change = WebhookChange {
        url: request
            .url
            .map(|url| WebhookUrl::parse(&url, app.webhook_policy))
            .transpose()?,
        events: request
            .events
            .map(|events| EventSet::parse(&events))
            .transpose()?,
        enabled: request.enabled,
        description: request
            .description
            .map(|description| parse_description(&description))
            .transpose()?,
    };
    let webhook = as_caller(&app, caller, move |store, caller| {
        store.update_webhook(caller, id, &change)
    })
    .await?;
    Ok(Envelope::new(
        "Webhook updated successfully",
        WebhookJson::from(webhook),
    ))
}

/// Delete an endpoint, its undelivered messages and its log (admins
/// only).
#[utoipa::path(
    delete,
    path = "/webhooks/{id}",
    tag = "webhooks",
    params(WebhookPath),
    responses(
        (status = 200, description = "The endpoint as it was", body = Envelope<WebhookJson>),
        (status = 403, description = "Only admins manage webhooks", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
async fn delete_webhook(
    State(app): State<App>,
    caller: Caller,
    PathParam(WebhookPath { id }): PathParam<WebhookPath>,
) -> Result<Envelope<WebhookJson>, Problem> {
    let id = parse_id("id", &id)?;
    let webhook = as_caller(&app, caller, move |store, caller| {
        let webhook = store.read_webhook(caller, id)?;
        store.delete_webhook(caller, id)?;
        Ok::<_, store::StoreError>(webhook)
    })
    .await?;
    Ok(Envelope::new(
        "Webhook deleted successfully",
        WebhookJson::from(webhook),
    ))
}

/// Give an endpoint a new signing secret (admins only). For 24 hours
/// every delivery carries a signature with each, the old and the new, so
/// the receiver can switch over.
#[utoipa::path(
    post,
    path = "/webhooks/{id}/rotate-secret",
    tag = "webhooks",
    params(WebhookPath),
    responses(
        (status = 200, description = "The endpoint with its new secret", body = Envelope<WebhookWithSecretJson>),
        (status = 403, description = "Only admins manage webhooks", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
async fn rotate_webhook_secret(
    State(app): State<App>,
    caller: Caller,
    PathParam(WebhookPath { id }): PathParam<WebhookPath>,
) -> Result<Envelope<WebhookWithSecretJson>, Problem> {
    let id = parse_id("id", &id)?;
    let rotated = as_caller(&app, caller, move |store, caller| {
        store.rotate_webhook_secret(caller, id)
    })
    .await?;
    Ok(Envelope::new(
        "Webhook secret rotated successfully",
        WebhookWithSecretJson::from(rotated),
    ))
}

/// Queue a `ping` to an endpoint, whatever it subscribed to (admins
/// only); its attempts show in the delivery log.
#[utoipa::path(
    post,
    path = "/webhooks/{id}/test",
    tag = "webhooks",
    params(WebhookPath),
    responses(
        (status = 202, description = "The ping is queued", body = Envelope<QueuedJson>),
        (status = 403, description = "Only admins manage webhooks", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
async fn test_webhook(
    State(app): State<App>,
    caller: Caller,
    PathParam(WebhookPath { id }): PathParam<WebhookPath>,
) -> Result<Response, Problem> {
    let id = parse_id("id", &id)?;
    let webhook_id = as_caller(&app, caller, move |store, caller| {
        store.queue_webhook_ping(caller, id)
    })
    .await?;
    Ok(accepted("Ping queued", webhook_id))
}

/// An endpoint's delivery attempts, oldest first (admins only).
#[utoipa::path(
    get,
    path = "/webhooks/{id}/deliveries",
    tag = "webhooks",
    params(WebhookPath, PageQuery),
    responses(
        (status = 200, description = "One page of attempts", body = PageEnvelope<DeliveryJson>),
        (status = 403, description = "Only admins manage webhooks", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
async fn get_webhook_deliveries(
    State(app): State<App>,
    caller: Caller,
    PathParam(WebhookPath { id }): PathParam<WebhookPath>,
    QueryParams(query): QueryParams<PageQuery>,
) -> Result<PageEnvelope<DeliveryJson>, Problem> {
    let id = parse_id("id", &id)?;
    let keys = app.keys.clone();
    let (page, attempts) = as_caller(&app, caller, move |store, caller| {
        let page = PageRequest::of_webhook_deliveries(query.paging(), &keys.cursors, id, caller)?;
        Ok::<_, Problem>((page, store.list_webhook_deliveries(caller, id, page)?))
    })
    .await?;
    Ok(PageEnvelope::new(
        "Deliveries retrieved successfully",
        page,
        attempts,
        &app.keys.cursors,
    ))
}

/// Queue the message of one attempt again: the same event, with the same
/// `webhook-id` (admins only).
#[utoipa::path(
    post,
    path = "/webhooks/{id}/deliveries/{deliveryId}/redeliver",
    tag = "webhooks",
    params(DeliveryPath),
    responses(
        (status = 202, description = "The message is queued again", body = Envelope<QueuedJson>),
        (status = 403, description = "Only admins manage webhooks", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
async fn redeliver_webhook(
    State(app): State<App>,
    caller: Caller,
    PathParam(DeliveryPath { id, delivery_id }): PathParam<DeliveryPath>,
) -> Result<Response, Problem> {
    let id = parse_id("id", &id)?;
    let attempt = parse_id("deliveryId", &delivery_id)?;
    let webhook_id = as_caller(&app, caller, move |store, caller| {
        store.redeliver_webhook(caller, id, attempt)
    })
    .await?;
    Ok(accepted("Delivery queued again", webhook_id))
}

/// 202 with the queued message's id.
fn accepted(message: &'static str, webhook_id: String) -> Response {
    (
        StatusCode::ACCEPTED,
        Json(Envelope::new(message, QueuedJson { webhook_id })),
    )
        .into_response()
}

/// Describes in the document (OpenAPI 3.1's `webhooks`) the requests the
/// tracker sends to endpoints: one per event type, each a signed `POST`
/// with the Standard Webhooks headers and the `{type, timestamp, data}`
/// body, delivered when the endpoint answers 2xx within 10 seconds.
pub fn describe_deliveries(document: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::{
        HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem, PathsBuilder,
    };
    use utoipa::openapi::request_body::RequestBodyBuilder;
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    use utoipa::openapi::{Content, Required, ResponseBuilder};

    let text = |description: &str| {
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .description(Some(description))
            .build()
    };
    let header = |name: &str, description: &str| {
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Header)
            .required(Required::True)
            .description(Some(description))
            .schema(Some(text(description)))
            .build()
    };
    let mut paths = PathsBuilder::new();
    for event in domain::WebhookEvent::ALL {
        let body = ObjectBuilder::new()
            .property(
                "type",
                ObjectBuilder::new()
                    .schema_type(SchemaType::new(Type::String))
                    .enum_values(Some([event.as_str()])),
            )
            .required("type")
            .property("timestamp", text("When the event happened (RFC 3339, UTC)"))
            .required("timestamp")
            .property(
                "data",
                ObjectBuilder::new()
                    .schema_type(SchemaType::new(Type::Object))
                    .description(Some(
                        "The records as the API shows them to staff: `ticket`, `event` \
                         (and `reply` for replies and notes) for a ticket's events, `user` \
                         for an account's, `webhookId` for a ping",
                    )),
            )
            .required("data")
            .build();
        let operation = OperationBuilder::new()
            .summary(Some(format!("A `{event}` event")))
            .description(Some(
                "Sent to every enabled endpoint subscribed to this type (a `ping` to the \
                 endpoint tested). Verify `webhook-signature` with the endpoint's secret \
                 before trusting the body; drop a `webhook-id` already seen.",
            ))
            .parameter(header(
                "webhook-id",
                "The message's id: the same on every retry and redelivery",
            ))
            .parameter(header(
                "webhook-timestamp",
                "When this attempt was signed, in Unix seconds",
            ))
            .parameter(header(
                "webhook-signature",
                "`v1,` and the base64 of HMAC-SHA256 over `id.timestamp.body`, keyed with \
                 the secret's bytes; two, separated by a space, for 24 hours after a rotation",
            ))
            .request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content("application/json", Content::new(Some(body)))
                    .build(),
            ))
            .response(
                "2XX",
                ResponseBuilder::new()
                    .description(
                        "Delivered, if it came within 10 seconds; any other answer is retried",
                    )
                    .build(),
            );
        paths = paths.path(event.as_str(), PathItem::new(HttpMethod::Post, operation));
    }
    document.webhooks = Some(paths.build());
}
