//! HTTP tests of the whole API, in process, with a fresh database per test:
//! every endpoint, rule and status of the contract, each test run on SQLite
//! and on PostgreSQL.

/// Declares HTTP tests whose body runs once per backend:
/// `http_tests! { async fn name(app) { ... } }` makes `name::sqlite` and
/// `name::postgres`, each with a fresh [`TestApp`].
macro_rules! http_tests {
    ($($(#[doc = $doc:literal])* async fn $name:ident($app:ident) $body:block)*) => {$(
        $(#[doc = $doc])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($app: TestApp) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                body(TestApp::new()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                // `None` only under the explicit opt-out SKIP_POSTGRES_TESTS=1.
                if let Some(app) = TestApp::on(Backend::Postgres) {
                    body(app).await;
                }
            }
        }
    )*};
}

mod abuse;
mod accounts;
mod addresses;
mod auth;
mod binary;
mod bodies;
mod conditional;
mod contract;
mod cursors;
mod documentation;
mod errors;
mod faults;
mod fuzz;
mod held;
mod idempotency;
mod imap;
mod inbound;
mod inbound_corpus;
mod mail;
mod mailgate;
mod notifications;
mod operations;
mod original;
mod pin_resets;
mod process;
mod processes;
mod replies;
mod report;
mod requester;
mod search;
mod tickets;
mod tokens;
mod users;
mod web;
mod webhooks;
mod workflow;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use contract::Contract;
use domain::{Actor, Pin, Role, TicketId, UserId, Username};
use edge::App;
use edge::keys::{Keys, ServerSecret};
use edge::limits::{LimitSettings, Limits};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use store::Store;
use testkit::{Backend, TestDb};
use tower::ServiceExt;

pub const SECRET: &str = "test-secret-of-at-least-32-bytes!";
pub const PIN: &str = "0000";

/// The tests' keys: tokens last an hour.
pub fn test_keys() -> Keys {
    Keys::new(
        &ServerSecret::new(SECRET).expect("long enough"),
        Duration::from_secs(3600),
    )
}

/// The state the server's doors share, over `store`, with these budgets,
/// reached at `public_url`.
pub fn shared_state(store: Store, limits: &LimitSettings, public_url: Option<&str>) -> App {
    App::new(store, test_keys(), Limits::new(limits), public_url)
}

/// The real router over a fresh database.
pub struct TestApp {
    pub db: TestDb,
    router: Router,
}

impl std::fmt::Debug for TestApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApp")
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

/// A logged-in user: its id, role and bearer token.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub role: Role,
    pub token: String,
}

impl Session {
    /// The user as the store's rules see it.
    pub fn actor(&self) -> Actor {
        Actor::for_tests(UserId(self.id.parse().expect("numeric id")), self.role)
    }
}

/// A response, body read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn data(&self) -> Value {
        self.json()["data"].clone()
    }

    /// Asserts the status and, for errors, the JSON error envelope.
    #[track_caller]
    pub fn expect(self, status: StatusCode) -> Self {
        assert_eq!(self.status, status, "body: {}", self.text());
        let json = self.json();
        assert_eq!(
            json["error"],
            json!(!status.is_success()),
            "envelope: {json}"
        );
        assert!(json["message"].is_string(), "envelope: {json}");
        if !status.is_success() {
            // Every error names its request, as the response header does.
            let header = self
                .headers
                .get("x-request-id")
                .map(|v| v.to_str().expect("ascii"));
            assert!(header.is_some(), "no x-request-id on {json}");
            assert_eq!(json["requestId"].as_str(), header, "envelope: {json}");
        }
        self
    }
}

impl TestApp {
    /// A fresh app on SQLite.
    #[expect(clippy::new_without_default, reason = "each call makes a database")]
    pub fn new() -> TestApp {
        Self::on(Backend::Sqlite).unwrap_or_else(|| unreachable!("SQLite is always there"))
    }

    /// A fresh app on `backend`; `None` only for PostgreSQL under the
    /// explicit opt-out (a missing PostgreSQL otherwise fails the test).
    pub fn on(backend: Backend) -> Option<TestApp> {
        let db = TestDb::new(backend)?;
        let app = shared_state(db.store().clone(), &LimitSettings::off(), None);
        Some(TestApp {
            router: api::router(app),
            db,
        })
    }

    /// The same database behind a router whose store queues mail (as a
    /// server given `SMTP_URL` does), with these budgets; `db.store()`
    /// stays as it was (mail off), and both see the same rows.
    pub fn with_mail(self, limits: &LimitSettings) -> TestApp {
        let router = api::router(shared_state(self.mailing_store(), limits, None));
        self.with_router(router)
    }

    /// A second store on the test database that queues mail, as a server
    /// given `SMTP_URL` has.
    pub fn mailing_store(&self) -> Store {
        let url = store::DatabaseUrl::parse(&self.db.url()).expect("the test database's URL");
        let options = store::StoreOptions {
            sends_mail: true,
            ..store::StoreOptions::default()
        };
        Store::connect(&url, options).expect("a second store on the test database")
    }

    pub fn router(&self) -> &Router {
        &self.router
    }

    /// The same database behind another router (say over a differently
    /// sized pool).
    pub fn with_router(self, router: Router) -> TestApp {
        TestApp { router, ..self }
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(json) => {
                builder = builder.header(header::CONTENT_TYPE, "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        self.send(builder.body(body).expect("request")).await
    }

    /// The response with its body still unread; its status and headers
    /// are checked against the OpenAPI document.
    pub async fn send_raw(&self, request: Request<Body>) -> axum::response::Response {
        let (method, path) = (request.method().clone(), request.uri().to_string());
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let contract = Contract::of(&self.router).await;
        contract.check(&method, &path, response.status(), response.headers(), None);
        response
    }

    /// The response, read whole and checked (body included) against the
    /// OpenAPI document.
    pub async fn send(&self, request: Request<Body>) -> Answer {
        let (method, path) = (request.method().clone(), request.uri().to_string());
        let response = self.send_raw(request).await;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        let contract = Contract::of(&self.router).await;
        contract.check(&method, &path, status, &headers, Some(&body));
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, session: &Session) -> Answer {
        self.request(Method::GET, path, Some(&session.token), None)
            .await
    }

    pub async fn post(&self, path: &str, session: &Session, body: Value) -> Answer {
        self.request(Method::POST, path, Some(&session.token), Some(body))
            .await
    }

    pub async fn put(&self, path: &str, session: &Session, body: Value) -> Answer {
        self.request(Method::PUT, path, Some(&session.token), Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, session: &Session, body: Value) -> Answer {
        self.request(Method::PATCH, path, Some(&session.token), Some(body))
            .await
    }

    pub async fn login(&self, username: &str, pin: &str) -> Answer {
        self.request(
            Method::POST,
            "/api/v1/login",
            None,
            Some(json!({"username": username, "pin": pin})),
        )
        .await
    }

    /// Loads a user of `role` straight into the store (staff accounts need
    /// an admin to exist first) and logs it in over HTTP.
    pub async fn user(&self, username: &str, role: Role) -> Session {
        let username = Username::parse(username).expect("valid username");
        let name = username.as_str().to_owned();
        let store = self.db.store().clone();
        let loaded = tokio::task::spawn_blocking(move || {
            store.bulk_ensure_user(&username, &Pin::parse(PIN).expect("valid pin"), role)
        })
        .await
        .expect("join")
        .expect("load user");
        assert_eq!(
            loaded.role, role,
            "{name} existed already with another role"
        );
        let answer = self.login(&name, PIN).await.expect(StatusCode::OK);
        let json = answer.json();
        Session {
            id: json["data"]["_id"].as_str().expect("id").to_owned(),
            role,
            token: json["token"].as_str().expect("token").to_owned(),
        }
    }

    /// Runs `work` on the store, off the async workers.
    pub async fn with_store<T: Send + 'static>(
        &self,
        work: impl FnOnce(&store::Store) -> T + Send + 'static,
    ) -> T {
        let store = self.db.store().clone();
        tokio::task::spawn_blocking(move || work(&store))
            .await
            .expect("join")
    }

    pub async fn customer(&self, username: &str) -> Session {
        self.user(username, Role::Customer).await
    }

    pub async fn agent(&self) -> Session {
        self.user("benjamin", Role::SupportAgent).await
    }

    pub async fn admin(&self) -> Session {
        self.user("iambenkay", Role::Admin).await
    }

    /// Opens a ticket as `customer`; returns its ticketId.
    pub async fn open_ticket(&self, customer: &Session, body: &str) -> i64 {
        let answer = self
            .post(
                "/api/v1/tickets",
                customer,
                json!({"subject": "Issue", "body": body}),
            )
            .await
            .expect(StatusCode::CREATED);
        answer.data()["ticketId"].as_i64().expect("ticketId")
    }

    pub async fn reply(&self, session: &Session, ticket_id: i64, body: &str) -> Answer {
        self.post(
            &format!("/api/v1/tickets/{ticket_id}/replies"),
            session,
            json!({ "body": body }),
        )
        .await
    }

    pub async fn resolve(&self, session: &Session, ticket_id: i64) -> Answer {
        self.put(
            &format!("/api/v1/tickets/{ticket_id}"),
            session,
            json!({"status": "RESOLVED"}),
        )
        .await
    }
}
