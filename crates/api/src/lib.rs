//! The support tracker's server: its settings, read once ([`config`]); the
//! composition root that builds the shared state and mounts the doors side
//! by side ([`app`]: the JSON API of `json_api` and the pages of `web`, over
//! `edge` and `store`); the accept loop ([`server`]); and the commands an
//! operator runs beside it ([`commands`]). No door knows another: each is
//! handed the same [`edge::App`] here.

pub mod commands;
pub mod config;
pub mod mailgate;
pub mod server;

use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::middleware;
use edge::App;
use edge::keys::{Keys, ServerSecret};
use edge::limits::Limits;
use edge::observe;
use tower::util::MapRequestLayer;
use tower_http::normalize_path::NormalizePath;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::{Instrumentation, Settings};

/// The whole server over `app`: the pages and the JSON API side by side,
/// an unknown path answered by the API (a JSON 404), and around every
/// request its id, its log line and its metrics.
pub fn router(app: App) -> Router {
    build_router(app, Instrumentation::On)
}

pub fn build_router(app: App, instrumentation: Instrumentation) -> Router {
    let json = json_api::door(app.clone());
    let doors = Router::new().merge(web::router(app)).merge(json.routes);
    around_doors(doors, json.docs, instrumentation)
}

/// What every request passes around the doors: trailing slashes trimmed
/// (but for `docs`, which are mounted before), `nosniff`, and with
/// instrumentation its id, its log line and its metrics.
fn around_doors(doors: Router, docs: Router, instrumentation: Instrumentation) -> Router {
    let app = match instrumentation {
        Instrumentation::On => Router::new()
            .merge(observed(docs))
            .fallback_service(NormalizePath::trim_trailing_slash(observed(doors))),
        Instrumentation::Off => Router::new()
            .merge(docs)
            .fallback_service(NormalizePath::trim_trailing_slash(doors)),
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

/// Metrics and a log line for every request of `router` (one middleware,
/// one event, no span). Applied with `Router::layer`, it runs after
/// routing, so both see the matched route template.
fn observed(router: Router) -> Router {
    // The process's recorder is in place before the first request is counted.
    observe::metrics_handle();
    router.layer(middleware::from_fn(observe::record_request))
}

/// Keeps the log writer's thread running: hold it for the life of the
/// process; dropping it writes out every line still queued (within a
/// second), so a line logged before SIGTERM is not lost at the exit.
pub type LogGuard = tracing_appender::non_blocking::WorkerGuard;

/// Sets up logging once: `RUST_LOG` if set, else info; human text, or one
/// JSON object per line. Colours only on a terminal, never in a log file.
/// The lines are formatted where they are logged and written to standard
/// output by a thread of their own, a batch per system call, so a request
/// never waits on the write; when that thread falls behind by
/// [`LOG_LINES_QUEUED`] lines, the loggers wait rather than drop lines.
pub fn init_tracing(format: config::LogFormat) -> LogGuard {
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let (writer, guard) = log_writer(std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::stdout().is_terminal());
    let _ = match format {
        config::LogFormat::Text => builder.try_init(),
        config::LogFormat::Json => builder.json().try_init(),
    };
    guard
}

/// Lines the log writer's queue holds before loggers wait.
pub const LOG_LINES_QUEUED: usize = 128_000;

/// A writer that hands each line to a thread of its own, which writes what
/// has queued up to `out` in one go (buffered, flushed whenever the queue
/// is empty); and the guard that flushes it at the end.
fn log_writer(
    out: impl std::io::Write + Send + 'static,
) -> (tracing_appender::non_blocking::NonBlocking, LogGuard) {
    tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(LOG_LINES_QUEUED)
        .thread_name("log-writer")
        .finish(std::io::BufWriter::with_capacity(64 * 1024, out))
}

/// Connects the store (applying migrations) and builds the state every
/// door shares.
pub fn build_app(settings: &Settings) -> anyhow::Result<App> {
    let store = store::Store::connect(&settings.database_url, settings.store_options())
        .with_context(|| format!("cannot open {}", settings.database_url.display()))?;
    let secret = match &settings.secret {
        Some(secret) => secret.clone(),
        None => {
            tracing::warn!(
                "JWT_SECRET is not set: using a random secret; every token and browser session will stop working when the server restarts"
            );
            ServerSecret::random()
        }
    };
    Ok(App::new(
        store,
        Keys::new(&secret, settings.token_lifetime),
        Limits::new(&settings.limits),
        settings.public_url.as_deref(),
    )
    .requiring_if_match(settings.require_if_match)
    .with_webhook_policy(settings.webhooks.policy)
    .with_inbound(settings.inbound.clone()))
}

/// Serves until SIGTERM or Ctrl-C, then lets requests in flight finish.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let app = tokio::task::spawn_blocking({
        let settings = settings.clone();
        move || build_app(&settings)
    })
    .await??;
    tracing::info!(
        database = %settings.database_url.display(),
        backend = app.store.backend(),
        "database ready"
    );
    // The recorder keeps histogram samples until upkeep folds them in.
    let metrics = observe::metrics_handle();
    spawn_every(Duration::from_secs(5), move || metrics.run_upkeep());
    // Budgets of addresses that came back to full are forgotten.
    let limits = app.limits.clone();
    spawn_every(Duration::from_secs(60), move || limits.forget_idle());
    // So are the login records of unknown names quiet for a day, the
    // budgets of addresses whole again, and PIN reset links expired: the
    // tables stay small.
    let store = app.store.clone();
    spawn_every(Duration::from_secs(60), move || {
        let store = store.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(error) = store.forget_quiet_logins() {
                tracing::warn!(error = %store::with_causes(&error), "forgetting quiet logins failed");
            }
            if let Err(error) = store.forget_expired_pin_resets() {
                tracing::warn!(error = %store::with_causes(&error), "forgetting expired PIN resets failed");
            }
        });
    });
    // Idempotency keys are kept for 24 hours, then forgotten.
    let store = app.store.clone();
    spawn_every(Duration::from_secs(10 * 60), move || {
        let store = store.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(error) = store.forget_expired_idempotency_keys() {
                tracing::warn!(error = %store::with_causes(&error), "forgetting expired idempotency keys failed");
            }
        });
    });
    let listener = tokio::net::TcpListener::bind(settings.listen).await?;
    let address = listener.local_addr()?;
    tracing::info!(%address, "listening; open http://{address}/ in a browser");
    let connection_limits = server::ConnectionLimits {
        max_connections: settings.max_connections,
        max_per_address: settings.max_connections_per_address,
        shutdown_grace: settings.shutdown_grace,
    };
    // The delivery workers (webhooks, mail), doors with no requests: they
    // stop claiming at the shutdown signal, and what they have in flight
    // finishes within the grace.
    let shutdown = shutdown_signal();
    let deliveries = delivery::Worker::start(app.store.clone(), settings.webhooks.clone())?;
    match &settings.inbound {
        Some(inbound) => tracing::info!(
            address = %inbound.address,
            endpoint = if inbound.token.is_some() { "on" } else { "off (INBOUND_TOKEN is not set)" },
            "inbound mail is on"
        ),
        None => tracing::info!("inbound mail is off (INBOUND_ADDRESS is not set)"),
    }
    // The mail worker, when mail is on: changes queue mail only then.
    let mail = match &settings.mail {
        Some(mail) => {
            tracing::info!(
                smtp = %format!("{}:{}", mail.smtp.host, mail.smtp.port),
                security = ?mail.smtp.security,
                "mail is on"
            );
            Some(delivery::Worker::start_mail(
                app.store.clone(),
                mail.clone(),
                app.keys.clone(),
            )?)
        }
        None => {
            tracing::info!(
                "mail is off (SMTP_URL is not set): no notification or PIN reset mail is queued or sent"
            );
            None
        }
    };
    // The IMAP poller, when a mailbox is given (the settings require
    // inbound mail with it).
    let imap = match (&settings.imap, &app.inbound) {
        (Some(imap), Some(inbound)) => {
            tracing::info!(
                host = %imap.mailbox.host,
                port = imap.mailbox.port,
                security = ?imap.mailbox.security,
                folder = %imap.mailbox.folder,
                done_folder = %imap.done_folder,
                "IMAP polling is on"
            );
            Some(delivery::Worker::start_imap(
                app.store.clone(),
                imap.clone(),
                inbound.clone(),
                app.keys.clone(),
            )?)
        }
        _ => None,
    };
    let outbox_store = app.store.clone();
    spawn_every(Duration::from_secs(15), move || {
        let store = outbox_store.clone();
        tokio::task::spawn_blocking(move || observe::record_outbox(&store));
    });
    // Missed SLA targets are noticed once a minute: each is marked and
    // (with mail on) told once, whichever process's sweep finds it first.
    let sweep_store = app.store.clone();
    spawn_every(SLA_SWEEP_EVERY, move || {
        let store = sweep_store.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(error) = store.notice_sla_breaches() {
                tracing::warn!(error = %store::with_causes(&error), "noticing missed SLA targets failed");
            }
        });
    });
    // The delivery log keeps finished messages for 30 days.
    let outbox_store = app.store.clone();
    spawn_every(Duration::from_secs(3600), move || {
        let store = outbox_store.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(error) = store.forget_finished_outbox(store::FINISHED_KEPT_FOR) {
                tracing::warn!(error = %store::with_causes(&error), "forgetting old deliveries failed");
            }
        });
    });
    let router = build_router(app, settings.instrumentation);
    let (stopping, stop) = tokio::sync::watch::channel(false);
    let signal = async move {
        shutdown.await;
        let _ = stopping.send(true);
    };
    let worker_grace = settings.shutdown_grace;
    let worker = tokio::spawn(async move {
        let mut stop = stop;
        let _ = stop.wait_for(|stopping| *stopping).await;
        // Each finishes what it is sending (the poller, the message in
        // hand), side by side, within the grace.
        let stopping: Vec<_> = [Some(deliveries), mail, imap]
            .into_iter()
            .flatten()
            .map(|worker| tokio::spawn(worker.stop(worker_grace)))
            .collect();
        for stopped in stopping {
            let _ = stopped.await;
        }
    });
    server::serve(listener, router, connection_limits, signal).await?;
    let _ = worker.await;
    tracing::info!("stopped");
    Ok(())
}

/// How often each server process looks for missed SLA targets to tell of.
pub const SLA_SWEEP_EVERY: Duration = Duration::from_secs(60);

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

/// SIGTERM or Ctrl-C. The handlers are installed when this is called, not
/// when it is first awaited: the delivery worker starts sending before the
/// accept loop runs, and a signal meanwhile must not kill the process in
/// the middle of an attempt.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let signals = [
        tokio::signal::unix::SignalKind::terminate(),
        tokio::signal::unix::SignalKind::interrupt(),
    ]
    .map(|kind| tokio::signal::unix::signal(kind).ok());
    async move {
        #[cfg(unix)]
        {
            let [terminate, interrupt] = signals;
            tokio::select! {
                () = received(terminate) => {},
                () = received(interrupt) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutting down: finishing requests in flight");
    }
}

/// Once `signal` arrives; never, if its handler could not be installed.
#[cfg(unix)]
async fn received(signal: Option<tokio::signal::unix::Signal>) {
    match signal {
        Some(mut signal) => {
            signal.recv().await;
        }
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
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

    /// The lines `app` logs while it answers `request`, with a subscriber
    /// of the server's kind (text, or JSON) at `level`.
    async fn logged(
        app: Router,
        request: Request<Body>,
        level: tracing::Level,
        json: bool,
    ) -> (StatusCode, Vec<String>) {
        let logs = Captured::default();
        let writer = logs.clone();
        let builder = tracing_subscriber::fmt()
            .with_max_level(level)
            .with_writer(move || writer.clone())
            .with_ansi(false);
        let subscriber: Box<dyn tracing::Subscriber + Send + Sync> = if json {
            Box::new(builder.json().finish())
        } else {
            Box::new(builder.finish())
        };
        let _logging = tracing::subscriber::set_default(subscriber);
        let response = app.oneshot(request).await.expect("an answer");
        let status = response.status();
        let _ = axum::body::to_bytes(response.into_body(), 4096).await;
        let text = String::from_utf8_lossy(&logs.0.lock().expect("log buffer")).into_owned();
        (status, text.lines().map(str::to_owned).collect())
    }

    /// A door with a templated route answering `status`.
    fn door_answering(status: StatusCode) -> Router {
        around_doors(
            Router::new().route("/things/{thingId}", get(move || async move { status })),
            Router::new(),
            Instrumentation::On,
        )
    }

    fn get_thing(id: &str) -> Request<Body> {
        Request::get("/things/4711")
            .header("x-request-id", id)
            .body(Body::empty())
            .expect("request")
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_request_is_logged_in_one_info_line_with_its_method_route_template_id_status_and_latency()
     {
        let app = door_answering(StatusCode::OK);
        let (status, lines) =
            logged(app, get_thing("line-test-1"), tracing::Level::INFO, false).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(lines.len(), 1, "one line per request: {lines:#?}");
        let line = &lines[0];
        for field in [
            " INFO ",
            "finished processing request",
            "method=GET",
            r#"route="/things/{thingId}""#,
            "request_id=line-test-1",
            "status=200",
            "latency_ms=",
        ] {
            assert!(line.contains(field), "{field} missing from {line}");
        }
        assert!(
            !line.contains("4711"),
            "the raw path is never logged: {line}"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_request_line_in_json_is_one_object_with_every_field() {
        let app = door_answering(StatusCode::NOT_FOUND);
        let (_, lines) = logged(app, get_thing("json-test-1"), tracing::Level::INFO, true).await;
        assert_eq!(lines.len(), 1, "{lines:#?}");
        let line: serde_json::Value = serde_json::from_str(&lines[0]).expect("a JSON object");
        assert_eq!(line["level"], "INFO", "{line}");
        let fields = &line["fields"];
        assert_eq!(fields["message"], "finished processing request", "{line}");
        assert_eq!(fields["method"], "GET", "{line}");
        assert_eq!(fields["route"], "/things/{thingId}", "{line}");
        assert_eq!(fields["request_id"], "json-test-1", "{line}");
        assert_eq!(fields["status"], 404, "{line}");
        assert!(fields["latency_ms"].as_f64().is_some(), "{line}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn refusals_under_load_are_logged_at_debug_only() {
        for refusal in [
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::SERVICE_UNAVAILABLE,
        ] {
            let (status, lines) = logged(
                door_answering(refusal),
                get_thing("flood-1"),
                tracing::Level::INFO,
                false,
            )
            .await;
            assert_eq!(status, refusal);
            assert!(lines.is_empty(), "{refusal} logged at INFO: {lines:#?}");
            let (_, lines) = logged(
                door_answering(refusal),
                get_thing("flood-2"),
                tracing::Level::DEBUG,
                false,
            )
            .await;
            assert_eq!(lines.len(), 1, "{lines:#?}");
            assert!(lines[0].contains("DEBUG"), "{}", lines[0]);
            assert!(
                lines[0].contains(&format!("status={}", refusal.as_u16())),
                "{}",
                lines[0]
            );
        }
    }

    /// A sink that takes its time over every write, as a slow pipe does.
    #[derive(Debug, Clone, Default)]
    struct Slow(Captured);

    impl std::io::Write for Slow {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            std::thread::sleep(Duration::from_micros(200));
            self.0.write(bytes)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_queued_for_the_log_writer_is_written_once_its_guard_is_dropped() {
        use std::io::Write as _;
        let sink = Slow::default();
        let (mut writer, guard) = log_writer(sink.clone());
        for n in 0..2_000 {
            writer
                .write_all(format!("line {n}\n").as_bytes())
                .expect("queued");
        }
        drop(guard);
        let written = String::from_utf8(sink.0.0.lock().expect("sink").clone()).expect("text");
        let lines: Vec<&str> = written.lines().collect();
        assert_eq!(lines.len(), 2_000, "lines lost at the end");
        assert_eq!(lines.last(), Some(&"line 1999"));
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
        // A door as the JSON API makes one: guarded, its errors enveloped.
        let door = edge::guard::guarded(
            Router::new().route("/boom", get(panics)),
            Duration::from_secs(30),
        )
        .layer(middleware::from_fn(json_api::error::json_errors));
        let app = around_doors(door, Router::new(), Instrumentation::On);
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
