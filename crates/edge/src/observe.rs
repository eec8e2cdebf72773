//! What an operator sees of the server: request ids, one log line per
//! request, and the Prometheus metrics behind `/metrics`.

use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use metrics::{Counter, Histogram, Label};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use rand::Rng as _;
use store::Store;
use tower_http::request_id::{MakeRequestId, RequestId};

use crate::problem::Problem;
use crate::request_log::{CURRENT_REQUEST, RequestFields};
pub use crate::request_log::{REQUEST_ID, UNMATCHED_ROUTE, in_request_span};

/// Request latency buckets, in seconds: from a cached read to a slow report.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// Webhook attempt buckets, in seconds: from a local receiver to the
/// 10-second timeout.
const WEBHOOK_BUCKETS: [f64; 10] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Mail attempt buckets, in seconds: from a local relay to the 30-second
/// timeout.
const MAIL_BUCKETS: [f64; 10] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 30.0];

/// The process-wide Prometheus recorder, installed on first use (the
/// `metrics` facade has one global recorder; tests build many routers).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_request_duration_seconds".to_owned()),
                    &LATENCY_BUCKETS,
                )
                .and_then(|builder| {
                    builder.set_buckets_for_metric(
                        Matcher::Full("webhook_attempt_duration_seconds".to_owned()),
                        &WEBHOOK_BUCKETS,
                    )
                })
                .and_then(|builder| {
                    builder.set_buckets_for_metric(
                        Matcher::Full("mail_attempt_duration_seconds".to_owned()),
                        &MAIL_BUCKETS,
                    )
                })
                .map(PrometheusBuilder::build_recorder)
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
            let handle = recorder.handle();
            // Fails only if another recorder was installed first; then this
            // handle renders nothing, which the metrics tests would show.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// The Prometheus text: pool gauges read now (counters only, no query),
/// everything recorded, then the open tickets in SLA breach (one count over
/// their index, made for this scrape). That gauge is written here rather
/// than kept in the process-wide recorder, which would show another
/// store's count in a process with several; when the count failed it is
/// left out, which alerting on an absent series notices, and logged.
pub fn render_metrics(
    handle: &PrometheusHandle,
    store: &Store,
    open_in_breach: Result<u64, Problem>,
) -> String {
    let pool = store.pool_status();
    metrics::gauge!("db_pool_connections_in_use").set(pool.in_use);
    metrics::gauge!("db_pool_connections_idle").set(pool.idle);
    metrics::gauge!("db_pool_connections_max").set(pool.max);
    let mut text = handle.render();
    match open_in_breach {
        Ok(count) => text.push_str(&format!(
            "# HELP {OPEN_IN_BREACH} Unresolved tickets past an SLA due time they missed.\n\
             # TYPE {OPEN_IN_BREACH} gauge\n{OPEN_IN_BREACH} {count}\n"
        )),
        Err(error) => tracing::warn!(error = %error, "could not count the tickets in breach"),
    }
    text
}

const OPEN_IN_BREACH: &str = "tickets_open_in_sla_breach";

/// Sets the outbox gauges from one read of the store: the rows still to
/// deliver and how long the oldest has waited, by channel (a channel with
/// none reads 0). Run every few seconds by the server; a failed read is
/// logged and leaves the gauges as they were.
pub fn record_outbox(store: &Store) {
    match store.outbox_stats() {
        Ok(stats) => {
            for channel in [store::WEBHOOK_CHANNEL, store::MAIL_CHANNEL] {
                if !stats.iter().any(|seen| seen.channel == channel) {
                    metrics::gauge!("outbox_pending", "channel" => channel).set(0.0);
                    metrics::gauge!("outbox_oldest_pending_seconds", "channel" => channel).set(0.0);
                }
            }
            for channel in &stats {
                let label = channel.channel.clone();
                metrics::gauge!("outbox_pending", "channel" => label.clone())
                    .set(channel.pending as f64);
                metrics::gauge!("outbox_oldest_pending_seconds", "channel" => label)
                    .set(channel.oldest_pending_age.as_secs_f64());
            }
        }
        Err(error) => {
            tracing::warn!(error = %store::with_causes(&error), "could not read the outbox's state");
        }
    }
}

/// Counts and times every request by method, route template and status,
/// and writes its one log line (see [`log_response`]). The route is the
/// template axum matched (`/api/v1/tickets/{ticketId}`), never the raw
/// path, so ids never become label values or log text. While the request
/// is answered, its method, route and id are the task's
/// ([`in_request_span`]), so a WARN or ERROR line logged on its way names
/// the request without a span made for every request.
pub async fn record_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let fields = RequestFields::of(&request);
    let response = CURRENT_REQUEST
        .scope(fields.clone(), next.run(request))
        .await;
    let latency = started.elapsed();
    let status = response.status();
    let (requests, duration) = request_series(fields.route(), fields.method, status);
    requests.increment(1);
    duration.record(latency.as_secs_f64());
    log_response(&fields, status, latency);
    response
}

/// The counter and histogram of one (route, method, status).
type Series = (Counter, Histogram);
/// Route template -> (method, status) -> its series.
type SeriesByRoute = HashMap<String, HashMap<(&'static str, u16), Series>>;

/// The series handles, registered once each: a request then costs two
/// atomic updates, not a label set built and looked up in the registry.
/// Bounded: routes are the router's templates, methods and statuses few.
fn request_series(route: &str, method: &'static str, status: StatusCode) -> Series {
    static SERIES: OnceLock<RwLock<SeriesByRoute>> = OnceLock::new();
    let series = SERIES.get_or_init(Default::default);
    let key = (method, status.as_u16());
    let known = series
        .read()
        .ok()
        .and_then(|routes| routes.get(route)?.get(&key).cloned());
    if let Some(handles) = known {
        return handles;
    }
    let labels = [
        Label::from_static_parts("method", method),
        Label::new("route", route.to_owned()),
        Label::new("status", status.as_u16().to_string()),
    ];
    let handles = (
        metrics::counter!("http_requests_total", labels.iter()),
        metrics::histogram!("http_request_duration_seconds", labels.iter()),
    );
    if let Ok(mut routes) = series.write() {
        routes
            .entry(route.to_owned())
            .or_default()
            .insert(key, handles.clone());
    }
    handles
}

/// Counts a login by its outcome: `success`, `failure` (wrong or malformed
/// credentials) or `throttled`. A database failure is none of these.
pub fn record_login<T>(result: &Result<T, Problem>) {
    let outcome = match result {
        Ok(_) => "success",
        Err(Problem::Unauthenticated(_)) => "failure",
        Err(Problem::TooMany { .. }) => "throttled",
        Err(_) => return,
    };
    metrics::counter!("login_attempts_total", "outcome" => outcome).increment(1);
}

/// Counts a connection the accept loop closed at once because its client
/// address already held as many open connections as it may
/// (`MAX_CONNECTIONS_PER_ADDRESS`).
pub fn record_connection_refused_per_address() {
    metrics::counter!("connections_refused_total", "reason" => "per_address").increment(1);
}

/// Makes a request id of 32 random hex digits from the thread's own
/// generator: as unique as a UUID v4, without a system call per request.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let id = format!("{:032x}", rand::rng().random::<u128>());
        HeaderValue::from_str(&id).ok().map(RequestId::new)
    }
}

/// Whether a client's request id is kept: 1 to 128 of `[A-Za-z0-9._-]`,
/// so it cannot break a log line, bloat it, or forge text in it (`}`, `=`,
/// `"`, a space would let a client write what reads as another field).
pub fn is_sane_request_id(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    let allowed = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-');
    (1..=128).contains(&bytes.len()) && bytes.iter().all(allowed)
}

/// Drops a client's request id that is not sane (or sent twice), so the
/// next layer makes a new one.
pub fn drop_insane_request_id<B>(mut request: axum::http::Request<B>) -> axum::http::Request<B> {
    let headers = request.headers_mut();
    let sane = headers.get_all(&REQUEST_ID).iter().count() == 1
        && headers.get(&REQUEST_ID).is_some_and(is_sane_request_id);
    if !sane {
        headers.remove(&REQUEST_ID);
    }
    request
}

/// The request's one log line, with its method, route template, id,
/// status and latency: at INFO, except for the refusals a flood produces
/// (429, and 503 when a bound is full). Those are counted in
/// `http_requests_total` and written only at DEBUG, so a flood cannot also
/// flood the log (a 503 for a database outage has its own WARN line). One
/// event, no span: a span per request cost as much again as the line.
fn log_response(fields: &RequestFields, status: StatusCode, latency: Duration) {
    // Whole microseconds, so the figure reads 0.146, not 0.14588700000000002.
    let latency_ms = latency.as_micros() as f64 / 1000.0;
    macro_rules! line {
        ($level:expr) => {
            tracing::event!(
                $level,
                method = %fields.method,
                route = fields.route(),
                request_id = %fields.id(),
                status = status.as_u16(),
                latency_ms,
                "finished processing request"
            )
        };
    }
    if is_refusal_under_load(status) {
        line!(tracing::Level::DEBUG);
    } else {
        line!(tracing::Level::INFO);
    }
}

fn is_refusal_under_load(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_id_is_kept_only_when_sane() {
        for sane in ["a", "0f1e2d3c-aaaa-bbbb", &"x".repeat(128), "Deploy_1.2-B"] {
            assert!(
                is_sane_request_id(&HeaderValue::from_str(sane).expect("header")),
                "{sane}"
            );
        }
        let forged = [
            "",
            &"x".repeat(129),
            "has space",
            "tab\there",
            "é",
            "req:1/2?3",
            "a}b",
            "a=b",
            "x\" status=200",
            "{}",
            "a,b",
            "a;b",
            "a@b",
            "a+b",
            "~",
            "%41",
        ];
        for insane in forged {
            let value = HeaderValue::from_bytes(insane.as_bytes()).expect("header");
            assert!(!is_sane_request_id(&value), "{insane:?}");
        }
    }
}
