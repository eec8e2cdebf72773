//! The support tracker's HTTP API: the original service's wire format on
//! axum, over `domain`'s rules and `store`'s persistence.
//!
//! Handlers parse into `domain` types, call the store on the blocking pool
//! and answer the envelope; they hold no rule and no SQL.

pub mod auth;
pub mod blocking;
pub mod commands;
pub mod config;
pub mod error;
pub mod extract;
pub mod limits;
pub mod observe;
pub mod openapi;
pub mod pages;
pub mod routes;
pub mod server;
pub mod state;
pub mod tokens;
pub mod wire;

use std::time::Duration;

use anyhow::Context as _;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse as _, Response};
use axum::{Extension, Router};
use tower::util::MapRequestLayer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::normalize_path::NormalizePath;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::{RequestBodyDeadlineLayer, TimeoutLayer};
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::config::Settings;
use crate::error::{ApiError, error_json};
use crate::state::AppState;

/// Largest request body accepted (413 above it).
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// Every route, with the JSON error envelope on whatever axum itself
/// answers (unknown route, wrong method, body too large, ...), request ids,
/// a log line and metrics for every request.
pub fn router(state: AppState) -> Router {
    build_router(state, Instrumentation::On)
}

/// Whether requests get ids, log lines and metrics. `Off` exists only so
/// the benchmark can measure what they cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Instrumentation {
    On,
    Off,
}

pub fn build_router(state: AppState, instrumentation: Instrumentation) -> Router {
    let request_timeout = state.limits.request_timeout();
    let state_for_pages = state.clone();
    let api = OpenApiRouter::new()
        .merge(routes::auth::router())
        .merge(routes::users::router())
        .merge(routes::report::router())
        .merge(routes::tickets::router())
        .merge(routes::replies::router())
        .merge(openapi::router());
    let (routes, mut document) = openapi::base()
        .nest("/api/v1", api)
        .merge(routes::health::router())
        .with_state(state.clone())
        .split_for_parts();
    openapi::add_shared_responses(&mut document);
    let document_json = serde_json::to_vec(&document).expect("the OpenAPI document serialises");
    let routes = routes
        // The browser's pages at `/`, beside the API (their own router:
        // the state is merged in, not nested under a prefix).
        .merge(web::router::<AppState>().with_state(state_for_pages))
        .fallback(|| async { ApiError::NotFound("no such route") })
        .layer(Extension(openapi::DocumentJson(document_json.into())));
    // The docs page is mounted before the path is trimmed: it redirects
    // `/docs` to `/docs/` for its relative asset links.
    let docs: Router = SwaggerUi::new("/docs")
        .config(utoipa_swagger_ui::Config::new([openapi::DOCUMENT_PATH]).validator_url("none"))
        .into();
    with_middleware(routes, docs, request_timeout, instrumentation)
}

/// What every request passes through around the routes: limits on bodies
/// and time, the JSON envelope on every error (a panic's included), ids,
/// logs and metrics.
fn with_middleware(
    routes: Router,
    docs: Router,
    request_timeout: Duration,
    instrumentation: Instrumentation,
) -> Router {
    let routes = routes
        // A body trickled in byte by byte fails when its time is up.
        .layer(RequestBodyDeadlineLayer::new(BODY_READ_TIMEOUT))
        .layer(middleware::from_fn(refuse_declared_oversize))
        // Its bare 503 becomes the envelope in `json_errors`.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            request_timeout,
        ))
        // Inside `json_errors` (which adds the request id) and the trace
        // span (so the log line names the request).
        .layer(CatchPanicLayer::custom(answer_panic))
        .layer(middleware::from_fn(json_errors))
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES));
    let docs = docs.layer(middleware::from_fn(json_errors));
    let app = match instrumentation {
        Instrumentation::On => Router::new()
            .merge(observed(docs))
            .fallback_service(NormalizePath::trim_trailing_slash(observed(routes))),
        Instrumentation::Off => Router::new()
            .merge(docs)
            .fallback_service(NormalizePath::trim_trailing_slash(routes)),
    };
    // No browser may guess a type other than the one we declare.
    let app = app.layer(SetResponseHeaderLayer::overriding(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ));
    match instrumentation {
        // Outermost: every response, the docs' included, carries an id.
        Instrumentation::On => app
            .layer(PropagateRequestIdLayer::new(observe::REQUEST_ID))
            .layer(SetRequestIdLayer::new(
                observe::REQUEST_ID,
                observe::RandomRequestId,
            ))
            .layer(MapRequestLayer::new(observe::drop_insane_request_id)),
        Instrumentation::Off => app,
    }
}

/// Metrics and a log line for every request of `router`. Applied with
/// `Router::layer`, they run after routing, so both see the matched route
/// template.
fn observed(router: Router) -> Router {
    router
        .layer(middleware::from_fn(observe::record_request))
        .layer(
            // One line per request (method, route, id; status, latency).
            TraceLayer::new_for_http()
                .make_span_with(observe::request_span)
                .on_response(observe::log_response),
        )
}

/// A handler that panicked answers a plain 500 and is logged as one; the
/// connection stays usable.
fn answer_panic(payload: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    ApiError::internal(format!("handler panicked: {message}")).into_response()
}

/// How long a request body may take to arrive, whole.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A body declared larger than [`BODY_LIMIT_BYTES`] is refused before a
/// byte of it is read (and, on `Expect: 100-continue`, before the client
/// is told to send it).
async fn refuse_declared_oversize(request: Request<Body>, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    match declared {
        Some(length) if length > BODY_LIMIT_BYTES as u64 => {
            ApiError::PayloadTooLarge(format!("the body may be at most {BODY_LIMIT_BYTES} bytes"))
                .into_response()
        }
        _ => next.run(request).await,
    }
}

/// Largest error body read back to add the request id; ours are tiny.
const ERROR_BODY_LIMIT: usize = 16 * 1024;

/// Every error answers our envelope with the request's id as `requestId`:
/// a JSON error gets the id added, anything else (axum's own 405 with its
/// `Allow` header, for one) is rewritten into the envelope, keeping its
/// headers.
async fn json_errors(request: Request<Body>, next: Next) -> Response {
    let request_id = request
        .headers()
        .get(&observe::REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    // The web pages answer their errors as pages.
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if is_html {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let (mut parts, body) = response.into_parts();
    let read_back = if is_json {
        axum::body::to_bytes(body, ERROR_BODY_LIMIT)
            .await
            .ok()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .filter(serde_json::Value::is_object)
    } else {
        None
    };
    let mut envelope = read_back.unwrap_or_else(|| {
        let message = status.canonical_reason().unwrap_or("error").to_lowercase();
        error_json(status, &message)
    });
    if let Some(id) = request_id {
        envelope["requestId"] = serde_json::Value::String(id);
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(envelope.to_string()))
}

/// Sets up logging once: `RUST_LOG` if set, else info; human text, or one
/// JSON object per line. Colours only on a terminal, never in a log file.
pub fn init_tracing(format: config::LogFormat) {
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal());
    let _ = match format {
        config::LogFormat::Text => builder.try_init(),
        config::LogFormat::Json => builder.json().try_init(),
    };
}

/// Connects the store (applying migrations) and builds the state.
pub fn build_state(settings: &Settings) -> anyhow::Result<AppState> {
    let options = store::StoreOptions {
        max_size: settings.pool_size,
        connection_timeout: settings.database_connect_timeout,
        hashing: settings.hashing,
        sla: settings.sla,
    };
    let store = store::Store::connect(&settings.database_url, options)
        .with_context(|| format!("cannot open {}", settings.database_url.display()))?;
    let secret = match &settings.jwt_secret {
        Some(secret) => secret.clone(),
        None => {
            tracing::warn!(
                "JWT_SECRET is not set: using a random secret; every token will stop working when the server restarts"
            );
            config::JwtSecret::random()
        }
    };
    let mut tokens = tokens::Tokens::new(&secret, settings.token_lifetime);
    tokens.web = tokens.web.with_public_url(settings.public_url.as_deref());
    Ok(AppState::new(
        store,
        tokens,
        limits::Limits::new(&settings.limits),
    ))
}

/// Serves until SIGTERM or Ctrl-C, then lets requests in flight finish.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let state = tokio::task::spawn_blocking({
        let settings = settings.clone();
        move || build_state(&settings)
    })
    .await??;
    tracing::info!(
        database = %settings.database_url.display(),
        backend = state.store.backend(),
        "database ready"
    );
    // The recorder keeps histogram samples until upkeep folds them in.
    let metrics = state.metrics.clone();
    spawn_every(Duration::from_secs(5), move || metrics.run_upkeep());
    // Budgets of addresses that came back to full are forgotten.
    let limits = state.limits.clone();
    spawn_every(Duration::from_secs(60), move || limits.forget_idle());
    let listener = tokio::net::TcpListener::bind(settings.listen).await?;
    let address = listener.local_addr()?;
    tracing::info!(%address, "listening; open http://{address}/ in a browser");
    let connection_limits = server::ConnectionLimits {
        max_connections: settings.max_connections,
        shutdown_grace: settings.shutdown_grace,
    };
    let app = build_router(state, settings.instrumentation);
    server::serve(listener, app, connection_limits, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Runs `task` every `period` for as long as the server runs.
fn spawn_every(period: Duration, task: impl Fn() + Send + 'static) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(period);
        loop {
            every.tick().await;
            task();
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use std::sync::{Arc, Mutex};
    use tower::ServiceExt as _;

    /// A log sink the test reads back.
    #[derive(Debug, Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("log buffer").extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_panicking_handler_answers_a_json_500_logged_with_its_request_id() {
        let logs = Captured::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _logging = tracing::subscriber::set_default(subscriber);
        async fn panics() -> &'static str {
            panic!("the handler's bug")
        }
        let routes = Router::new().route("/boom", get(panics));
        let app = with_middleware(
            routes,
            Router::new(),
            Duration::from_secs(30),
            Instrumentation::On,
        );
        let request = Request::get("/boom")
            .header("x-request-id", "panic-test-17")
            .body(Body::empty())
            .expect("request");
        let response = app.oneshot(request).await.expect("an answer, not an error");

        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()["x-request-id"], "panic-test-17");
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .expect("body");
        let envelope: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(envelope["error"], true);
        assert_eq!(envelope["requestId"], "panic-test-17");
        // The cause goes to the log, never to the client.
        assert!(!String::from_utf8_lossy(&body).contains("the handler's bug"));
        let logged = String::from_utf8_lossy(&logs.0.lock().expect("log buffer")).into_owned();
        let line = logged
            .lines()
            .find(|line| line.contains("the handler's bug"))
            .unwrap_or_else(|| panic!("no log line names the panic: {logged}"));
        assert!(line.contains("panic-test-17"), "{line}");
        assert!(line.contains("ERROR"), "{line}");
    }
}
