//! Webhooks end to end, on both databases, against a real receiver: an
//! HTTP server started by the test that checks every delivery with the
//! reference Standard Webhooks verifier, counts duplicates and overlaps,
//! and can be told to fail, hang or go away. The delivery worker runs in
//! the test's process over the test's database, as the server runs it.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use delivery::{DeliverySettings, Worker};
use domain::{DestinationPolicy, RetrySchedule};
use edge::limits::LimitSettings;
use serde_json::{Value, json};

use super::*;

/// What the receiver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Ok,
    /// Answer this status.
    Fail(u16),
    /// Never answer (until the sender gives up).
    Hang,
    /// Answer 200 after this many milliseconds.
    Slow(u64),
}

/// One delivery as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub webhook_id: String,
    pub kind: String,
    pub body: Value,
    /// Whether it verified with each of the receiver's secrets, in order.
    pub verified: Vec<bool>,
    pub signatures: usize,
}

#[derive(Debug, Default)]
struct Shared {
    secrets: Vec<String>,
    mode: Option<Mode>,
    /// Failures to answer before `mode` applies.
    fail_next: usize,
    received: Vec<Received>,
    in_flight: HashSet<String>,
    /// Deliveries of a `webhook-id` that arrived while another of it was
    /// still being answered.
    overlaps: usize,
}

/// A webhook receiver on 127.0.0.1, on a thread and runtime of its own.
pub struct Receiver {
    shared: Arc<Mutex<Shared>>,
    pub address: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Receiver {
    pub fn start() -> Receiver {
        let shared = Arc::new(Mutex::new(Shared {
            mode: Some(Mode::Ok),
            ..Shared::default()
        }));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (bound, address) = std::sync::mpsc::channel();
        let state = shared.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                bound
                    .send(listener.local_addr().expect("address"))
                    .expect("send");
                let app = axum::Router::new()
                    .route("/hook", post(receive))
                    .with_state(state);
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.await;
                    })
                    .await;
            });
            // Hanging handlers are dropped with the runtime.
            runtime.shutdown_timeout(Duration::from_millis(100));
        });
        Receiver {
            shared,
            address: address.recv().expect("bound"),
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `http://127.0.0.1:port/hook`.
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.address)
    }

    /// The same receiver by a name that resolves to 127.0.0.1.
    pub fn url_by_name(&self) -> String {
        format!("http://localhost:{}/hook", self.address.port())
    }

    /// The secrets each delivery is verified with.
    pub fn trust(&self, secret: &str) {
        self.lock().secrets.push(secret.to_owned());
    }

    pub fn set_mode(&self, mode: Mode) {
        self.lock().mode = Some(mode);
    }

    /// Answer 500 to the next `count` deliveries.
    pub fn fail_next(&self, count: usize) {
        self.lock().fail_next = count;
    }

    pub fn received(&self) -> Vec<Received> {
        self.lock().received.clone()
    }

    pub fn overlaps(&self) -> usize {
        self.lock().overlaps
    }

    /// Waits (up to `limit`) until `done` holds of what was received.
    pub fn wait_until(&self, limit: Duration, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = Instant::now() + limit;
        loop {
            let received = self.received();
            if done(&received) {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "the receiver did not get what was expected within {limit:?}: {:#?}",
                received
                    .iter()
                    .map(|r| (&r.kind, &r.webhook_id))
                    .collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops listening: later deliveries find nobody.
    pub fn go_away(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.go_away();
    }
}

/// Takes a `webhook-id` out of the in-flight set however its answer ends
/// (a sender that gave up drops the handler).
struct InFlight(Arc<Mutex<Shared>>, String);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .in_flight
            .remove(&self.1);
    }
}

async fn receive(
    State(shared): State<Arc<Mutex<Shared>>>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::http::StatusCode {
    let webhook_id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mode = {
        let mut state = shared.lock().unwrap_or_else(PoisonError::into_inner);
        let verified = state
            .secrets
            .iter()
            .map(|secret| {
                standardwebhooks::Webhook::new(secret)
                    .expect("a secret")
                    .verify(&body, &headers)
                    .is_ok()
            })
            .collect();
        let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if !state.in_flight.insert(webhook_id.clone()) {
            state.overlaps += 1;
        }
        state.received.push(Received {
            webhook_id: webhook_id.clone(),
            kind: parsed["type"].as_str().unwrap_or_default().to_owned(),
            body: parsed,
            verified,
            signatures: headers
                .get("webhook-signature")
                .and_then(|v| v.to_str().ok())
                .map_or(0, |v| v.split(' ').count()),
        });
        if state.fail_next > 0 {
            state.fail_next -= 1;
            Mode::Fail(500)
        } else {
            state.mode.unwrap_or(Mode::Ok)
        }
    };
    let _in_flight = InFlight(shared, webhook_id);
    match mode {
        Mode::Ok => axum::http::StatusCode::OK,
        Mode::Fail(status) => axum::http::StatusCode::from_u16(status)
            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            axum::http::StatusCode::OK
        }
        Mode::Slow(ms) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            axum::http::StatusCode::OK
        }
    }
}

/// Deliveries to 127.0.0.1 over plain HTTP: the tests' receiver.
pub fn local_policy() -> DestinationPolicy {
    DestinationPolicy {
        allow_http: true,
        allow_private: true,
    }
}

/// A worker that retries fast: 100 ms apart, four attempts in all.
pub fn quick_settings(policy: DestinationPolicy) -> DeliverySettings {
    DeliverySettings {
        policy,
        schedule: RetrySchedule::parse("100ms,100ms,100ms").expect("schedule"),
        connect_timeout: Duration::from_secs(1),
        timeout: Duration::from_secs(1),
        lease: Duration::from_secs(5),
        poll_interval: Duration::from_millis(30),
        max_in_flight: 8,
    }
}

/// The app with endpoints allowed to point at the local receiver, and a
/// worker over its database.
fn with_worker(app: TestApp, settings: DeliverySettings) -> (TestApp, Worker) {
    let state = shared_state(app.db.store().clone(), &LimitSettings::off(), None)
        .with_webhook_policy(local_policy());
    let worker = Worker::start(app.db.store().clone(), settings).expect("worker");
    (app.with_router(api::router(state)), worker)
}

/// Registers an endpoint; its id and secret.
async fn register(app: &TestApp, admin: &Session, url: &str, events: &[&str]) -> (String, String) {
    let created = app
        .post(
            "/api/v1/webhooks",
            admin,
            json!({"url": url, "events": events}),
        )
        .await
        .expect(StatusCode::CREATED)
        .data();
    (
        created["_id"].as_str().expect("id").to_owned(),
        created["secret"].as_str().expect("secret").to_owned(),
    )
}

const ALL_EVENTS: [&str; 9] = [
    "ticket.created",
    "ticket.replied",
    "ticket.noted",
    "ticket.status_changed",
    "ticket.priority_changed",
    "ticket.assigned",
    "ticket.tags_changed",
    "user.created",
    "user.updated",
];

const WAIT: Duration = Duration::from_secs(10);

fn kinds(received: &[Received]) -> HashSet<String> {
    received.iter().map(|r| r.kind.clone()).collect()
}

http_tests! {
    /// Every event type reaches an endpoint subscribed to it, and only
    /// those; every delivery verifies; a customer's changes carry the staff
    /// view, equal to what the API shows an agent.
    async fn each_event_type_reaches_its_subscribers_only(app) {
        let (app, worker) = with_worker(app, quick_settings(local_policy()));
        let everything = Receiver::start();
        let users_only = Receiver::start();
        let admin = app.admin().await;
        let (_, secret) = register(&app, &admin, &everything.url(), &ALL_EVENTS).await;
        everything.trust(&secret);
        let (_, secret) = register(&app, &admin, &users_only.url(), &["user.created"]).await;
        users_only.trust(&secret);

        let customer = app.customer("carol").await;
        let agent = app.agent().await;
        let ticket = app.open_ticket(&customer, "The printer is on fire").await;
        app.reply(&agent, ticket, "On it").await.expect(StatusCode::CREATED);
        app.post(
            &format!("/api/v1/tickets/{ticket}/replies"),
            &agent,
            json!({"body": "Call facilities", "internal": true}),
        )
        .await
        .expect(StatusCode::CREATED);
        app.patch(
            &format!("/api/v1/tickets/{ticket}"),
            &agent,
            json!({"priority": "HIGH", "tags": ["printer"]}),
        )
        .await
        .expect(StatusCode::OK);
        app.resolve(&customer, ticket).await.expect(StatusCode::OK);
        let created = app
            .post("/api/v1/users", &admin, json!({"username": "dora", "pin": "1234", "role": "SUPPORT_AGENT"}))
            .await
            .expect(StatusCode::CREATED)
            .data();
        let dora = created["_id"].as_str().expect("id").to_owned();
        app.patch(&format!("/api/v1/users/{dora}"), &admin, json!({"active": false}))
            .await
            .expect(StatusCode::OK);

        let received = everything.wait_until(WAIT, |r| {
            ALL_EVENTS.iter().all(|kind| kinds(r).contains(*kind))
        });
        assert!(received.iter().all(|r| r.verified == [true]), "{received:#?}");
        let only = users_only.wait_until(WAIT, |r| !r.is_empty());
        // Time for anything else to arrive, which must not.
        std::thread::sleep(Duration::from_millis(300));
        let only = users_only.received().into_iter().chain(only).collect::<Vec<_>>();
        assert!(only.iter().all(|r| r.kind == "user.created"), "{only:#?}");
        assert!(only.iter().all(|r| r.verified == [true]));

        // Each payload is {type, timestamp, data}; a ticket's event carries
        // the ticket as staff see it (tags included), as the API shows it
        // to an agent.
        let ticket_events: Vec<&Received> = received
            .iter()
            .filter(|r| r.kind.starts_with("ticket."))
            .collect();
        for event in &ticket_events {
            assert!(event.body["timestamp"].is_string());
            assert_eq!(event.body["data"]["ticket"]["ticketId"], json!(ticket));
            assert!(event.body["data"]["ticket"]["tags"].is_array(), "staff view: {}", event.body);
            assert_eq!(
                event.body["data"]["ticket"]["requester"],
                json!({"_id": customer.id, "username": "carol", "email": null}),
                "staff view: {}",
                event.body
            );
        }
        let created_event = ticket_events
            .iter()
            .find(|r| r.kind == "ticket.created")
            .expect("created");
        assert_eq!(created_event.body["data"]["event"]["type"], "created");
        let last = ticket_events
            .iter()
            .max_by_key(|r| r.body["data"]["event"]["_id"].as_str().and_then(|id| id.parse::<i64>().ok()))
            .expect("a ticket event");
        assert_eq!(last.kind, "ticket.status_changed", "the customer's resolution comes last");
        let shown = app
            .get(&format!("/api/v1/tickets/{ticket}"), &agent)
            .await
            .expect(StatusCode::OK)
            .data();
        assert_eq!(last.body["data"]["ticket"], shown);
        let noted = ticket_events.iter().find(|r| r.kind == "ticket.noted").expect("noted");
        assert_eq!(noted.body["data"]["reply"]["internal"], true);
        let user_updated = received.iter().find(|r| r.kind == "user.updated").expect("updated");
        assert_eq!(user_updated.body["data"]["user"]["active"], false);
        assert_eq!(everything.overlaps(), 0);
        worker.stop(Duration::from_secs(5)).await;
    }

    /// A change is delivered as soon as it commits, not at the worker's
    /// next poll: here the poll is an hour away.
    async fn a_change_is_delivered_at_once_not_at_the_next_poll(app) {
        let settings = DeliverySettings {
            poll_interval: Duration::from_secs(3600),
            ..quick_settings(local_policy())
        };
        let (app, worker) = with_worker(app, settings);
        let receiver = Receiver::start();
        let admin = app.admin().await;
        let (_, secret) = register(&app, &admin, &receiver.url(), &["ticket.created"]).await;
        receiver.trust(&secret);
        let customer = app.customer("carol").await;
        for (delivered, subject) in [(1, "First"), (2, "Second")] {
            let asked = Instant::now();
            app.open_ticket(&customer, subject).await;
            receiver.wait_until(WAIT, |r| r.len() == delivered);
            assert!(asked.elapsed() < Duration::from_secs(5), "{:?}", asked.elapsed());
        }
        worker.stop(Duration::from_secs(5)).await;
    }

    /// A refused change writes no outbox row: the outbox is written in the
    /// change's own transaction.
    async fn a_refused_change_announces_nothing(app) {
        let (app, worker) = with_worker(app, quick_settings(local_policy()));
        let receiver = Receiver::start();
        let admin = app.admin().await;
        let (id, secret) = register(&app, &admin, &receiver.url(), &ALL_EVENTS).await;
        receiver.trust(&secret);
        let customer = app.customer("carol").await;
        let ticket = app.open_ticket(&customer, "Help").await;
        // A customer may not reply before an agent has.
        app.reply(&customer, ticket, "Hello?").await.expect(StatusCode::CONFLICT);
        app.patch(&format!("/api/v1/tickets/{ticket}"), &customer, json!({"priority": "HIGH"}))
            .await
            .expect(StatusCode::FORBIDDEN);
        receiver.wait_until(WAIT, |r| !r.is_empty());
        app.post(&format!("/api/v1/webhooks/{id}/test"), &admin, json!({}))
            .await
            .expect(StatusCode::ACCEPTED);
        let received = receiver.wait_until(WAIT, |r| r.iter().any(|r| r.kind == "ping"));
        let kinds: Vec<&str> = received.iter().map(|r| r.kind.as_str()).collect();
        assert_eq!(kinds, ["ticket.created", "ping"]);
        worker.stop(Duration::from_secs(5)).await;
    }

    /// A 500 is tried again on the schedule, with the same `webhook-id`,
    /// until a 2xx; each attempt is in the endpoint's log; a redelivery
    /// sends the same event with the same id once more.
    async fn a_failed_delivery_is_retried_with_the_same_id_and_can_be_redelivered(app) {
        let (app, worker) = with_worker(app, quick_settings(local_policy()));
        let receiver = Receiver::start();
        receiver.fail_next(2);
        let admin = app.admin().await;
        let (id, secret) = register(&app, &admin, &receiver.url(), &["ticket.created"]).await;
        receiver.trust(&secret);
        let customer = app.customer("carol").await;
        app.open_ticket(&customer, "Help").await;
        let received = receiver.wait_until(WAIT, |r| r.len() == 3);
        let ids: HashSet<&str> = received.iter().map(|r| r.webhook_id.as_str()).collect();
        assert_eq!(ids.len(), 1, "the same webhook-id on every attempt");
        assert!(received.iter().all(|r| r.verified == [true]));

        let log = wait_for_log(&app, &admin, &id, 3).await;
        let outcomes: Vec<(Value, bool)> = log
            .iter()
            .map(|a| (a["statusCode"].clone(), a["succeeded"].as_bool().expect("bool")))
            .collect();
        assert_eq!(outcomes, [(json!(500), false), (json!(500), false), (json!(200), true)]);
        assert_eq!(log[0]["webhookId"], json!(received[0].webhook_id));
        assert_eq!(log[0]["type"], "ticket.created");
        assert!(log[0]["error"].is_string());

        let last = log[2]["_id"].as_str().expect("id");
        let queued = app
            .post(&format!("/api/v1/webhooks/{id}/deliveries/{last}/redeliver"), &admin, json!({}))
            .await
            .expect(StatusCode::ACCEPTED)
            .data();
        assert_eq!(queued["webhookId"], json!(received[0].webhook_id));
        let again = receiver.wait_until(WAIT, |r| r.len() == 4);
        assert_eq!(again[3].webhook_id, received[0].webhook_id);
        assert_eq!(again[3].body, received[0].body);
        worker.stop(Duration::from_secs(5)).await;
    }

    /// An endpoint that never answers times out, and holds up no other.
    async fn a_hanging_endpoint_times_out_and_delays_no_other(app) {
        let (app, worker) = with_worker(app, quick_settings(local_policy()));
        let hanging = Receiver::start();
        hanging.set_mode(Mode::Hang);
        let healthy = Receiver::start();
        let admin = app.admin().await;
        let (hanging_id, _) = register(&app, &admin, &hanging.url(), &["ticket.created"]).await;
        let (_, secret) = register(&app, &admin, &healthy.url(), &["ticket.created"]).await;
        healthy.trust(&secret);
        let customer = app.customer("carol").await;
        let started = Instant::now();
        for n in 0..3 {
            app.open_ticket(&customer, &format!("Help {n}")).await;
        }
        healthy.wait_until(Duration::from_secs(3), |r| r.len() == 3);
        assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
        let log = wait_for_log(&app, &admin, &hanging_id, 1).await;
        let error = log[0]["error"].as_str().expect("an error");
        assert!(error.contains("timed out"), "{error}");
        assert_eq!(log[0]["statusCode"], Value::Null);
        assert!(log[0]["durationMs"].as_i64().expect("ms") >= 900);
        worker.stop(Duration::from_secs(5)).await;
    }

    /// After a rotation both the old and the new secret sign each delivery,
    /// and each verifies it alone.
    async fn after_a_rotation_both_secrets_sign(app) {
        let (app, worker) = with_worker(app, quick_settings(local_policy()));
        let old_receiver = Receiver::start();
        let admin = app.admin().await;
        let (id, old) = register(&app, &admin, &old_receiver.url(), &["ticket.created"]).await;
        let rotated = app
            .post(&format!("/api/v1/webhooks/{id}/rotate-secret"), &admin, json!({}))
            .await
            .expect(StatusCode::OK)
            .data();
        let new = rotated["secret"].as_str().expect("secret").to_owned();
        assert_ne!(new, old);
        assert!(new.starts_with("whsec_"));
        assert!(rotated["previousSecretExpiresAt"].is_string());
        old_receiver.trust(&old);
        old_receiver.trust(&new);
        let customer = app.customer("carol").await;
        app.open_ticket(&customer, "Help").await;
        let received = old_receiver.wait_until(WAIT, |r| !r.is_empty());
        assert_eq!(received[0].signatures, 2);
        assert_eq!(received[0].verified, [true, true], "each secret verifies alone");
        // The secret is never shown again.
        let shown = app.get(&format!("/api/v1/webhooks/{id}"), &admin).await.expect(StatusCode::OK);
        assert!(!shown.text().contains(&new) && !shown.text().contains(&old));
        worker.stop(Duration::from_secs(5)).await;
    }

    /// With private addresses not allowed, a name that resolves to
    /// 127.0.0.1 is refused at delivery time, after resolution: the attempt
    /// is logged with why, and nothing reaches the receiver.
    async fn a_name_resolving_inward_is_refused_at_delivery(app) {
        let strict = DestinationPolicy {
            allow_http: true,
            allow_private: false,
        };
        let (app, worker) = with_worker(app, quick_settings(strict));
        let receiver = Receiver::start();
        let admin = app.admin().await;
        let (by_name, _) = register(&app, &admin, &receiver.url_by_name(), &["ticket.created"]).await;
        let (by_address, _) = register(&app, &admin, &receiver.url(), &["ticket.created"]).await;
        let customer = app.customer("carol").await;
        app.open_ticket(&customer, "Help").await;
        for id in [by_name, by_address] {
            let log = wait_for_log(&app, &admin, &id, 1).await;
            let error = log[0]["error"].as_str().expect("an error");
            assert!(error.contains("not a public address"), "{error}");
        }
        std::thread::sleep(Duration::from_millis(300));
        assert!(receiver.received().is_empty());
        worker.stop(Duration::from_secs(5)).await;
    }

    /// A receiver that went away fails its attempts; once the schedule is
    /// spent the message has failed, and the endpoint's failures are noted.
    async fn a_receiver_that_went_away_fails_after_the_schedule(app) {
        let (app, worker) = with_worker(app, quick_settings(local_policy()));
        let mut receiver = Receiver::start();
        let admin = app.admin().await;
        let (id, _) = register(&app, &admin, &receiver.url(), &["ticket.created"]).await;
        receiver.go_away();
        let customer = app.customer("carol").await;
        app.open_ticket(&customer, "Help").await;
        let log = wait_for_log(&app, &admin, &id, 4).await;
        assert!(log.iter().all(|a| !a["succeeded"].as_bool().expect("bool")));
        tokio::time::sleep(Duration::from_millis(500)).await;
        let log = wait_for_log(&app, &admin, &id, 4).await;
        assert_eq!(log.len(), 4, "four attempts, then no more");
        let endpoint = app.get(&format!("/api/v1/webhooks/{id}"), &admin).await.expect(StatusCode::OK).data();
        assert!(endpoint["failingSince"].is_string());
        assert_eq!(endpoint["enabled"], true, "five days have not passed");
        worker.stop(Duration::from_secs(5)).await;
    }

    /// The outbox's metrics: pending rows and the oldest one's age by
    /// channel, delivered and failed totals, attempt durations.
    async fn the_outbox_is_measured(app) {
        let (app, worker) = with_worker(app, quick_settings(local_policy()));
        let receiver = Receiver::start();
        receiver.set_mode(Mode::Hang);
        let admin = app.admin().await;
        register(&app, &admin, &receiver.url(), &["ticket.created"]).await;
        let customer = app.customer("carol").await;
        app.open_ticket(&customer, "Help").await;
        receiver.wait_until(WAIT, |r| !r.is_empty());
        app.with_store(edge::observe::record_outbox).await;
        let text = app.request(Method::GET, "/metrics", None, None).await.text();
        for series in [
            "outbox_pending{channel=\"webhook\"}",
            "outbox_oldest_pending_seconds{channel=\"webhook\"}",
        ] {
            assert!(text.contains(series), "{series} missing:\n{text}");
        }
        receiver.set_mode(Mode::Ok);
        // The hanging attempt times out; the retry is delivered.
        receiver.wait_until(WAIT, |r| r.len() >= 2);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let text = app.request(Method::GET, "/metrics", None, None).await.text();
        for series in [
            "outbox_sent_total{channel=\"webhook\"}",
            "webhook_attempt_duration_seconds_bucket",
            "webhook_attempts_total{result=\"failure\"}",
        ] {
            assert!(text.contains(series), "{series} missing:\n{text}");
        }
        worker.stop(Duration::from_secs(5)).await;
    }

    /// Only admins manage webhooks; bad input is a clear 400.
    async fn only_admins_manage_webhooks_and_bad_input_is_400(app) {
        let state = shared_state(app.db.store().clone(), &LimitSettings::off(), None);
        let app = app.with_router(api::router(state));
        let admin = app.admin().await;
        let agent = app.agent().await;
        let customer = app.customer("carol").await;
        let body = json!({"url": "https://hooks.example.com/in", "events": ["ticket.created"]});
        for session in [&agent, &customer] {
            app.post("/api/v1/webhooks", session, body.clone()).await.expect(StatusCode::FORBIDDEN);
            app.get("/api/v1/webhooks", session).await.expect(StatusCode::FORBIDDEN);
        }
        app.request(Method::GET, "/api/v1/webhooks", None, None)
            .await
            .expect(StatusCode::UNAUTHORIZED);
        let created = app.post("/api/v1/webhooks", &admin, body.clone()).await.expect(StatusCode::CREATED).data();
        let id = created["_id"].as_str().expect("id");
        for session in [&agent, &customer] {
            app.get(&format!("/api/v1/webhooks/{id}"), session).await.expect(StatusCode::FORBIDDEN);
            app.get(&format!("/api/v1/webhooks/{id}/deliveries"), session).await.expect(StatusCode::FORBIDDEN);
            app.post(&format!("/api/v1/webhooks/{id}/test"), session, json!({})).await.expect(StatusCode::FORBIDDEN);
        }
        let listed = app.get("/api/v1/webhooks", &admin).await.expect(StatusCode::OK);
        assert!(!listed.text().contains("whsec_"), "a secret is shown only once");
        for bad in [
            json!({"url": "http://hooks.example.com/in", "events": ["ticket.created"]}),
            json!({"url": "ftp://x", "events": ["ticket.created"]}),
            json!({"url": "https://hooks.example.com/in", "events": []}),
            json!({"url": "https://hooks.example.com/in", "events": ["ticket.deleted"]}),
            json!({"url": "https://hooks.example.com/in"}),
            json!({"events": ["ticket.created"]}),
        ] {
            app.post("/api/v1/webhooks", &admin, bad).await.expect(StatusCode::BAD_REQUEST);
        }
        app.get("/api/v1/webhooks/99999", &admin).await.expect(StatusCode::NOT_FOUND);
        app.get("/api/v1/webhooks/abc", &admin).await.expect(StatusCode::BAD_REQUEST);
        let changed = app
            .patch(&format!("/api/v1/webhooks/{id}"), &admin, json!({"enabled": false, "events": ["ping", "user.created"]}))
            .await
            .expect(StatusCode::OK)
            .data();
        assert_eq!(changed["enabled"], false);
        assert_eq!(changed["events"], json!(["user.created", "ping"]));
        app.request(Method::DELETE, &format!("/api/v1/webhooks/{id}"), Some(&admin.token), None)
            .await
            .expect(StatusCode::OK);
        // The document describes what is sent, with its headers.
        let document = app.request(Method::GET, "/api/v1/openapi.json", None, None).await.json();
        for kind in ALL_EVENTS.iter().chain(&["ping"]) {
            let delivery = &document["webhooks"][*kind]["post"];
            let headers: Vec<&str> = delivery["parameters"]
                .as_array()
                .unwrap_or_else(|| panic!("{kind} is not described"))
                .iter()
                .filter_map(|p| p["name"].as_str())
                .collect();
            assert_eq!(headers, ["webhook-id", "webhook-timestamp", "webhook-signature"]);
        }
        app.get(&format!("/api/v1/webhooks/{id}"), &admin).await.expect(StatusCode::NOT_FOUND);
    }
}

/// The endpoint's delivery log, once it holds at least `count` attempts.
async fn wait_for_log(app: &TestApp, admin: &Session, id: &str, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + WAIT;
    loop {
        let log = app
            .get(
                &format!("/api/v1/webhooks/{id}/deliveries?limit=100"),
                admin,
            )
            .await
            .expect(StatusCode::OK)
            .data();
        let log = log.as_array().expect("a list").clone();
        if log.len() >= count {
            return log;
        }
        assert!(
            Instant::now() < deadline,
            "{count} attempts expected: {log:#?}"
        );
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

/// How many times each `webhook-id` arrived.
fn by_id(received: &[Received]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for r in received {
        *counts.entry(r.webhook_id.clone()).or_insert(0) += 1;
    }
    counts
}

// Real server processes: the worker as the binary runs it.

mod processes {
    use std::time::{Duration, Instant};

    use domain::{Actor, EventSet, Pin, Role, TicketBody, Username, WebhookUrl};
    use store::{NewTicket, NewWebhook, Store};
    use testkit::{Backend, TestDb};

    use super::{Mode, Receiver, by_id, local_policy};
    use crate::process::Server;

    /// An admin and a customer loaded into `store`.
    fn accounts(store: &Store) -> (Actor, Actor) {
        let load = |name: &str, role| {
            let user = store
                .bulk_ensure_user(
                    &Username::parse(name).expect("name"),
                    &Pin::parse("0000").expect("pin"),
                    role,
                )
                .expect("load user");
            Actor::for_tests(user.id, role)
        };
        (load("admin", Role::Admin), load("carol", Role::Customer))
    }

    /// An endpoint at `receiver` for `ticket.created`, its secret trusted
    /// by the receiver; its id.
    fn subscribe(store: &Store, admin: Actor, receiver: &Receiver) -> i64 {
        let created = store
            .create_webhook(
                admin,
                &NewWebhook {
                    url: WebhookUrl::parse(&receiver.url(), local_policy()).expect("url"),
                    events: EventSet::parse(&["ticket.created"]).expect("events"),
                    description: String::new(),
                },
            )
            .expect("endpoint");
        receiver.trust(&created.secret);
        created.webhook.id
    }

    fn open_ticket(store: &Store, customer: Actor, n: usize) {
        store
            .create_ticket(
                customer,
                &NewTicket {
                    subject: None,
                    body: TicketBody::parse(format!("Help {n}")).expect("body"),
                },
            )
            .expect("ticket");
    }

    fn env(db: &TestDb, extra: &[(&'static str, &'static str)]) -> Vec<(String, String)> {
        let mut env = vec![
            ("DATABASE_URL".to_owned(), db.url()),
            ("WEBHOOK_ALLOW_HTTP".to_owned(), "true".to_owned()),
            ("WEBHOOK_ALLOW_PRIVATE".to_owned(), "true".to_owned()),
            ("OUTBOX_POLL_MS".to_owned(), "50".to_owned()),
            ("RUST_LOG".to_owned(), "warn".to_owned()),
        ];
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        env
    }

    /// A server killed after sending and before recording the attempt
    /// leaves the message leased; once the lease ends, the next process
    /// sends it again, with the same `webhook-id`.
    fn a_crash_between_send_and_mark_is_delivered_again(backend: Backend) {
        let Some(db) = TestDb::new(backend) else {
            return;
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let receiver = Receiver::start();
        receiver.set_mode(Mode::Hang);
        let (admin, customer) = accounts(db.store());
        subscribe(db.store(), admin, &receiver);
        let env = env(
            &db,
            &[("WEBHOOK_TIMEOUT_MS", "5000"), ("WEBHOOK_LEASE_MS", "6000")],
        );
        let mut first = Server::start_logged(dir.path(), &env);
        open_ticket(db.store(), customer, 1);
        let sent = receiver.wait_until(Duration::from_secs(10), |r| r.len() == 1);
        let claimed_at = Instant::now();
        first.process.signal("KILL").expect("kill");
        while first.is_running() {
            std::thread::sleep(Duration::from_millis(10));
        }
        receiver.set_mode(Mode::Ok);
        let mut second = Server::start_logged(dir.path(), &env);
        let received = receiver.wait_until(Duration::from_secs(20), |r| r.len() == 2);
        assert!(
            claimed_at.elapsed() >= Duration::from_secs(4),
            "sent again only once the lease ran out"
        );
        assert_eq!(received[1].webhook_id, sent[0].webhook_id);
        assert_eq!(received[1].body, sent[0].body);
        assert!(received.iter().all(|r| r.verified == [true]));
        assert_eq!(receiver.overlaps(), 0);
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(receiver.received().len(), 2, "and recorded as delivered");
        second.terminate(Duration::from_secs(10));
    }

    #[test]
    fn a_crash_between_send_and_mark_is_delivered_again_sqlite() {
        a_crash_between_send_and_mark_is_delivered_again(Backend::Sqlite);
    }

    #[test]
    fn a_crash_between_send_and_mark_is_delivered_again_postgres() {
        a_crash_between_send_and_mark_is_delivered_again(Backend::Postgres);
    }

    /// SIGTERM while an attempt is in flight: the attempt finishes and is
    /// recorded within the shutdown grace; nothing is sent twice.
    fn sigterm_lets_the_attempt_in_flight_finish(backend: Backend) {
        let Some(db) = TestDb::new(backend) else {
            return;
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let receiver = Receiver::start();
        receiver.set_mode(Mode::Slow(1500));
        let (admin, customer) = accounts(db.store());
        let id = subscribe(db.store(), admin, &receiver);
        let env = env(&db, &[("SHUTDOWN_GRACE_SECS", "10")]);
        let mut server = Server::start_logged(dir.path(), &env);
        open_ticket(db.store(), customer, 1);
        receiver.wait_until(Duration::from_secs(10), |r| r.len() == 1);
        let status = server.terminate(Duration::from_secs(10));
        assert!(status.success(), "{status}");
        let log = db
            .store()
            .list_webhook_deliveries(admin, id, domain::PageRequest::default())
            .expect("log");
        assert_eq!(
            log.items.len(),
            1,
            "{log:?}\n{}",
            server.process.log().unwrap_or_default()
        );
        assert!(log.items[0].succeeded, "{log:?}");
        assert!(log.items[0].duration_ms >= 1400);
        // A fresh process finds nothing left to send.
        let mut again = Server::start_logged(dir.path(), &env);
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(receiver.received().len(), 1);
        again.terminate(Duration::from_secs(10));
    }

    #[test]
    fn sigterm_lets_the_attempt_in_flight_finish_sqlite() {
        sigterm_lets_the_attempt_in_flight_finish(Backend::Sqlite);
    }

    #[test]
    fn sigterm_lets_the_attempt_in_flight_finish_postgres() {
        sigterm_lets_the_attempt_in_flight_finish(Backend::Postgres);
    }

    /// Three processes on one PostgreSQL database deliver 1,000 events
    /// made while they run, to each of two endpoints: every one arrives,
    /// exactly once, and no event is ever being delivered to an endpoint
    /// by two processes at once.
    #[test]
    fn three_processes_deliver_a_thousand_events_once_each() {
        let Some(db) = TestDb::postgres() else {
            return;
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let receivers = [Receiver::start(), Receiver::start()];
        let (admin, customer) = accounts(db.store());
        for receiver in &receivers {
            subscribe(db.store(), admin, receiver);
        }
        let env = env(&db, &[]);
        let mut servers = Server::start_several(3, dir.path(), &env);
        let store = db.store().clone();
        std::thread::scope(|scope| {
            for part in 0..4 {
                let store = store.clone();
                scope.spawn(move || {
                    for n in 0..250 {
                        open_ticket(&store, customer, part * 1000 + n);
                    }
                });
            }
        });
        for receiver in &receivers {
            receiver.wait_until(Duration::from_secs(120), |r| r.len() >= 1000);
        }
        // Time for a duplicate to show, if there were one.
        std::thread::sleep(Duration::from_millis(500));
        for receiver in &receivers {
            let received = receiver.received();
            let counts = by_id(&received);
            assert_eq!(counts.len(), 1000, "every event arrived");
            assert!(counts.values().all(|&n| n == 1), "and once");
            assert!(received.iter().all(|r| r.verified == [true]));
            assert_eq!(
                receiver.overlaps(),
                0,
                "never two deliveries of one event at once"
            );
        }
        for server in &mut servers {
            server.terminate(Duration::from_secs(10));
        }
    }
}

http_tests! {
    /// An account's payload is the staff's view: a customer's address is in
    /// it, a staff member's never is.
    async fn a_user_payload_carries_a_customers_address_never_a_staff_members(app) {
        let (app, worker) = with_worker(app, quick_settings(local_policy()));
        let receiver = Receiver::start();
        let admin = app.admin().await;
        let (_, secret) = register(&app, &admin, &receiver.url(), &["user.created", "user.updated"]).await;
        receiver.trust(&secret);
        app.post("/api/v1/users", &admin, json!({"username": "dora", "pin": "1234", "role": "SUPPORT_AGENT", "email": "dora@staff.example"}))
            .await
            .expect(StatusCode::CREATED);
        app.request(Method::POST, "/api/v1/users", None, Some(json!({"username": "carol", "pin": "1234", "email": "Carol@Example.com"})))
            .await
            .expect(StatusCode::CREATED);
        let received = receiver.wait_until(WAIT, |r| r.len() >= 2);
        let user_named = |name: &str| {
            received
                .iter()
                .map(|r| r.body["data"]["user"].clone())
                .find(|user| user["username"] == name)
                .unwrap_or_else(|| panic!("no payload for {name}: {received:#?}"))
        };
        let dora = user_named("dora");
        assert!(dora.get("email").is_none(), "{dora}");
        assert!(!format!("{received:?}").contains("staff.example"), "{received:#?}");
        assert_eq!(user_named("carol")["email"], "carol@example.com");
        worker.stop(Duration::from_secs(5)).await;
    }
}
