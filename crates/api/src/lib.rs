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
pub mod routes;
pub mod state;
pub mod tokens;
pub mod wire;

use anyhow::Context as _;
use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Request, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use tower_http::normalize_path::NormalizePath;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::config::Settings;
use crate::error::{ApiError, error_body};
use crate::state::AppState;

/// Largest request body accepted (413 above it).
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// Every route, with the JSON error envelope on whatever axum itself
/// answers (unknown route, wrong method, body too large, ...).
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .merge(routes::auth::router())
        .merge(routes::users::router())
        .merge(routes::report::router())
        .merge(routes::tickets::router())
        .merge(routes::replies::router());
    let routes = Router::new()
        .nest("/api/v1", api)
        .fallback(|| async { ApiError::NotFound("no such route") })
        .layer(middleware::from_fn(json_errors))
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(
            // One line per request (method, path, status, latency) at info.
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state);
    // The original (Express) matched `/tickets/` as `/tickets`; the path is
    // trimmed before routing, so this wraps the routed app.
    Router::new().fallback_service(NormalizePath::trim_trailing_slash(routes))
}

/// Rewrites any error response that is not already JSON (axum's own 405
/// with its `Allow` header, for one) into our envelope, keeping its headers.
async fn json_errors(request: Request<Body>, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let message = status.canonical_reason().unwrap_or("error").to_lowercase();
    let (mut parts, _) = response.into_parts();
    let replacement = error_body(status, &message);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, replacement.into_body())
}

/// Sets up logging once: `RUST_LOG` if set, else info for our crates.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}

/// Connects the store (applying migrations) and builds the state.
pub fn build_state(settings: &Settings) -> anyhow::Result<AppState> {
    let options = store::PoolOptions {
        max_size: settings.pool_size,
        connection_timeout: state::POOL_TIMEOUT,
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
    Ok(AppState::new(
        store,
        tokens::Tokens::new(&secret, settings.token_lifetime),
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
    let listener = tokio::net::TcpListener::bind(settings.listen).await?;
    tracing::info!(address = %listener.local_addr()?, "listening");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("stopped");
    Ok(())
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
