//! Generated requests against the real router (proptest): whatever a client
//! sends, the server answers without a 5xx, in the JSON envelope, and a
//! request it refuses leaves the database as it was.
//!
//! `FUZZ_CASES` sets the requests per backend (default [`DEFAULT_CASES`],
//! sized for CI); `FUZZ_SEED` replays the run a failure names, on the
//! backend it names. For example `FUZZ_CASES=50000 cargo xtask test -p api
//! -- fuzz::`, or on SQLite alone
//! `SKIP_POSTGRES_TESTS=1 cargo test -p api --test api fuzz::`.
//!
//! The requests act as real accounts (admin, agent, two customers, a
//! deactivated one) on real tickets, so many get past authentication and
//! reach the rules. Tokens and ids in a case are symbolic (`Valid(Agent)`)
//! and minted when the case runs, so a shrunk failure reads as a request.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;

use domain::{LoggedIn, SessionEpoch, User, UserChange};
use edge::keys::Keys;
use jsonwebtoken::{Algorithm, EncodingKey};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner};
use testkit::fingerprint::{Fingerprint, fingerprint};

use super::*;

/// Requests per backend when `FUZZ_CASES` is unset: 5 to 10 s per backend
/// in a debug build on two cores.
const DEFAULT_CASES: u32 = 2_000;

http_tests! {
    /// The property itself, over [`DEFAULT_CASES`] (or `FUZZ_CASES`)
    /// generated requests.
    async fn no_generated_request_gets_a_5xx_a_bare_error_or_a_partial_write(app) {
        let world = World::build(app).await;
        let handle = tokio::runtime::Handle::current();
        // proptest drives the cases synchronously; each runs on this runtime.
        tokio::task::block_in_place(|| world.fuzz(&handle));
    }
}

// ---------------------------------------------------------------------
// The world the requests act in
// ---------------------------------------------------------------------

/// The accounts a generated request can act as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Admin,
    Agent,
    Customer,
    OtherCustomer,
    Deactivated,
}

impl Who {
    const ALL: [Who; 5] = [
        Who::Admin,
        Who::Agent,
        Who::Customer,
        Who::OtherCustomer,
        Who::Deactivated,
    ];

    fn username(self) -> &'static str {
        match self {
            Who::Admin => "iambenkay",
            Who::Agent => "benjamin",
            Who::Customer => "kayode",
            Who::OtherCustomer => "ada",
            Who::Deactivated => "gone",
        }
    }

    /// The role and standing the world keeps this account in.
    fn standing(self) -> (Role, bool) {
        match self {
            Who::Admin => (Role::Admin, true),
            Who::Agent => (Role::SupportAgent, true),
            Who::Customer | Who::OtherCustomer => (Role::Customer, true),
            Who::Deactivated => (Role::Customer, false),
        }
    }
}

/// A fresh app with the accounts of [`Who`] and four tickets (`kayode`'s
/// unattended #1, replied #2 and resolved #3, `ada`'s #4; the generated ids
/// 5 and 6 name none until the run opens more), and what the run has seen
/// so far.
struct World {
    app: TestApp,
    /// The accounts' ids, in the order [`Who`] declares them.
    ids: [UserId; 5],
    /// Programs' API tokens, in the order [`ProgramToken`] declares them.
    api_tokens: [String; 3],
    keys: Keys,
    /// The database as the last case left it.
    last: RefCell<Fingerprint>,
    /// How many answers of each status the run got.
    statuses: RefCell<BTreeMap<u16, u32>>,
}

impl fmt::Debug for World {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("World")
            .field("app", &self.app)
            .field("ids", &self.ids)
            .finish_non_exhaustive()
    }
}

impl World {
    async fn build(app: TestApp) -> World {
        // Mail on, so a PIN reset request reaches the rules (off, every
        // one is a 503).
        let app = app.with_mail(&LimitSettings::off());
        let admin = app.admin().await;
        let agent = app.agent().await;
        let customer = app.customer(Who::Customer.username()).await;
        let other = app.customer(Who::OtherCustomer.username()).await;
        let gone = app.customer(Who::Deactivated.username()).await;
        // Programs' API tokens: a full one, a read-only one, and one of an
        // account deactivated since (so ended).
        let program_token = async |owner: &Session, body: Value| {
            let created = app
                .post("/api/v1/users/me/tokens", owner, body)
                .await
                .expect(StatusCode::CREATED);
            created.data()["token"].as_str().expect("token").to_owned()
        };
        let api_tokens = [
            program_token(&customer, json!({"name": "crm"})).await,
            program_token(&agent, json!({"name": "wallboard", "readOnly": true})).await,
            program_token(&gone, json!({"name": "ended"})).await,
        ];
        app.patch(
            &format!("/api/v1/users/{}", gone.id),
            &admin,
            json!({"active": false}),
        )
        .await
        .expect(StatusCode::OK);
        let unattended = app.open_ticket(&customer, "I cannot log in").await;
        let replied = app.open_ticket(&customer, "The pages are slow").await;
        app.reply(&agent, replied, "Which pages?")
            .await
            .expect(StatusCode::CREATED);
        let resolved = app.open_ticket(&customer, "Wrong invoice").await;
        app.reply(&agent, resolved, "Fixed it")
            .await
            .expect(StatusCode::CREATED);
        app.resolve(&customer, resolved)
            .await
            .expect(StatusCode::OK);
        let others = app.open_ticket(&other, "Where is my parcel?").await;
        assert_eq!(
            [unattended, replied, resolved, others],
            [1, 2, 3, 4],
            "the generated paths name these tickets"
        );
        let ids = [admin, agent, customer, other, gone].map(|session| session.actor().id());
        let store = app.db.store().clone();
        let now = tokio::task::spawn_blocking(move || fingerprint(&store))
            .await
            .expect("join")
            .expect("fingerprint");
        World {
            app,
            ids,
            api_tokens,
            keys: test_keys(),
            last: RefCell::new(now),
            statuses: RefCell::default(),
        }
    }

    fn id(&self, who: Who) -> UserId {
        self.ids[who as usize]
    }

    /// Runs the cases; panics with the smallest failing request.
    fn fuzz(&self, runtime: &tokio::runtime::Handle) {
        let cases = env_number("FUZZ_CASES").map_or(DEFAULT_CASES, |n| {
            u32::try_from(n).unwrap_or_else(|_| panic!("FUZZ_CASES={n} is too large"))
        });
        let seed = env_number("FUZZ_SEED").unwrap_or_else(rand::random);
        let config = Config {
            cases,
            // No regressions file: cases name accounts and tickets of a
            // world rebuilt on every run, so a stored case can only be
            // replayed with its seed (printed below), and each failure
            // becomes a named test in this file instead.
            failure_persistence: None,
            rng_seed: RngSeed::Fixed(seed),
            // A shrink step is a request: bound the search, not the run.
            max_shrink_iters: 10_000,
            max_shrink_time: 120_000,
            ..Config::default()
        };
        let mut runner = TestRunner::new(config);
        let outcome = runner.run(&case(), |case| runtime.block_on(self.check(&case)));
        let statuses = self.statuses.borrow();
        eprintln!(
            "fuzz on {:?}: {cases} cases, seed {seed}, statuses {statuses:?}",
            self.app.db.backend()
        );
        match outcome {
            Ok(()) => {}
            Err(TestError::Fail(reason, case)) => panic!(
                "{reason}\n\nsmallest failing request:\n{case:?}\n\nreplay on {:?}: FUZZ_SEED={seed} FUZZ_CASES={cases}",
                self.app.db.backend()
            ),
            Err(TestError::Abort(reason)) => panic!("fuzzing aborted: {reason}"),
        }
        // The run reached the rules: writes succeeded, and each kind of
        // refusal was met. About 1 request in 100 creates something, so
        // from 1,000 cases on missing one of these is no bad luck.
        if cases >= 1_000 {
            for status in [200, 201, 400, 401, 403, 404, 405] {
                assert!(
                    statuses.contains_key(&status),
                    "no request answered {status}; the generator no longer reaches that far: {statuses:?}"
                );
            }
        }
    }

    /// Sends one case and checks everything the property promises.
    async fn check(&self, case: &Case) -> Result<(), TestCaseError> {
        let before = self.last.borrow().clone();
        let request = self.request(case, &before);
        let method = request.method().clone();
        // The router routes on the path, whatever form the target has
        // (`*`, `http://host/path`).
        let path = request.uri().path().to_owned();
        let target = request
            .uri()
            .path_and_query()
            .map_or_else(|| path.clone(), ToString::to_string);
        let response = self
            .app
            .router()
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await;
        *self
            .statuses
            .borrow_mut()
            .entry(status.as_u16())
            .or_default() += 1;
        // The next case starts from what this one left, even when this one
        // fails: shrinking replays cases against the same world.
        let after = self.fingerprint().await;
        *self.last.borrow_mut() = self.restore_accounts(&after).await;

        let body = body
            .map_err(|e| TestCaseError::fail(format!("{status}: the body broke off: {e}")))?
            .to_bytes()
            .to_vec();
        let answer = Answer {
            status,
            headers,
            body,
        };
        check_answer(case, &path, &answer)?;
        // The served OpenAPI document allows this answer. Not checked: HEAD
        // (answered like GET, without a body; in no document), methods not
        // in capitals (the checker lowercases them, so it would take `get`,
        // another method to HTTP, for GET), paths with repeated slashes
        // (the checker maps paths literally; the router merges them) and
        // 413s: a body declared too large is refused before routing, on an
        // unknown path or method too, where the checker expects 404 or 405.
        let checkable = method != Method::HEAD
            && !method.as_str().bytes().any(|b| b.is_ascii_lowercase())
            && !path.contains("//")
            && status != StatusCode::PAYLOAD_TOO_LARGE;
        if checkable {
            Contract::of(self.app.router()).await.check(
                &method,
                &target,
                answer.status,
                &answer.headers,
                Some(&answer.body),
            );
        }
        if status.is_client_error() && after != before {
            return Err(TestCaseError::fail(format!(
                "{status} refused the request, yet the database changed: {}",
                difference(&before, &after)
            )));
        }
        let reads = [Method::GET, Method::HEAD, Method::OPTIONS];
        if reads.contains(&method) && after != before {
            return Err(TestCaseError::fail(format!(
                "{method} answered {status}, and changed the database: {}",
                difference(&before, &after)
            )));
        }
        Ok(())
    }

    async fn fingerprint(&self) -> Fingerprint {
        self.app.with_store(fingerprint).await.expect("fingerprint")
    }

    /// Puts the world's accounts back in their role and standing when a
    /// request changed them (an admin's PATCH, say), so later cases still
    /// act as who they say; answers the database after.
    async fn restore_accounts(&self, now: &Fingerprint) -> Fingerprint {
        let changes: Vec<(UserId, UserChange)> = Who::ALL
            .iter()
            .filter_map(|&who| {
                let id = self.id(who);
                let row = now.users.iter().find(|row| row.id == id.0)?;
                let (role, active) = who.standing();
                (row.role != role.as_str() || row.active != active).then_some((
                    id,
                    UserChange {
                        role: Some(role),
                        active: Some(active),
                        pin: None,
                        email: None,
                    },
                ))
            })
            .collect();
        if changes.is_empty() {
            return now.clone();
        }
        let admin = Actor::for_tests(self.id(Who::Admin), Role::Admin);
        self.app
            .with_store(move |store| {
                for (id, change) in &changes {
                    store
                        .update_user(admin, *id, change)
                        .unwrap_or_else(|e| panic!("restore {id}: {e}"));
                }
            })
            .await;
        self.fingerprint().await
    }

    /// The case as a request, its tokens minted for the accounts as they
    /// are now (`now` holds their session generations).
    fn request(&self, case: &Case, now: &Fingerprint) -> Request<Body> {
        let mut builder = Request::builder()
            .method(case.method.clone())
            .uri(&case.target);
        for auth in &case.auth {
            builder = builder.header(header::AUTHORIZATION, self.authorization(auth, now));
        }
        if let Some(value) = &case.content_type {
            builder = builder.header(header::CONTENT_TYPE, value.header());
        }
        if let Some(value) = &case.accept {
            builder = builder.header(header::ACCEPT, value.header());
        }
        for value in &case.request_ids {
            builder = builder.header("x-request-id", value.header());
        }
        for cookie in &case.cookies {
            builder = builder.header(header::COOKIE, self.cookie(cookie, now));
        }
        for (name, value) in &case.extra_headers {
            builder = builder.header(*name, value.header());
        }
        let body = case.body.render();
        match &case.content_length {
            None => {}
            Some(ContentLength::Exact) => {
                builder = builder.header(header::CONTENT_LENGTH, body.len());
            }
            Some(ContentLength::Declared(value)) => {
                builder = builder.header(header::CONTENT_LENGTH, *value);
            }
        }
        let body = if case.breaks_off {
            let broken =
                std::io::Error::new(std::io::ErrorKind::ConnectionReset, "client went away");
            Body::from_stream(futures_util::stream::iter([Ok(body), Err(broken)]))
        } else {
            Body::from(body)
        };
        builder
            .body(body)
            .expect("the generator makes valid requests")
    }

    fn authorization(&self, auth: &Auth, now: &Fingerprint) -> HeaderValue {
        let text = match auth {
            Auth::Valid(who) => format!("Bearer {}", self.token(*who, now)),
            Auth::Scheme(scheme, who) => format!("{scheme}{}", self.token(*who, now)),
            Auth::Jwt(jwt) => format!("Bearer {}", self.jwt(jwt, now)),
            Auth::Raw(text) => return text.header(),
            Auth::Program(ProgramToken::Forged) => format!(
                "Bearer {}",
                edge::api_tokens::ApiTokenSecret::generate().expose()
            ),
            Auth::Program(token) => format!("Bearer {}", self.api_tokens[*token as usize]),
        };
        HeaderValue::from_str(&text).expect("a token is a header value")
    }

    /// A current token of `who`, issued as a login would.
    fn token(&self, who: Who, now: &Fingerprint) -> String {
        let id = self.id(who);
        let row = now
            .users
            .iter()
            .find(|row| row.id == id.0)
            .expect("the world's accounts stay");
        let user = User {
            id,
            username: row.username.clone(),
            role: row.role.parse().expect("a role"),
            active: row.active,
            email: None,
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
        };
        let session = LoggedIn {
            user,
            epoch: SessionEpoch(row.session_epoch),
        };
        self.keys.issue(&session).expect("token")
    }

    fn epoch(&self, who: Who, now: &Fingerprint) -> i64 {
        let id = self.id(who);
        now.users
            .iter()
            .find(|row| row.id == id.0)
            .map_or(0, |row| row.session_epoch)
    }

    /// A hand-built JWT: header and claims as the case says, signed as
    /// it says.
    fn jwt(&self, jwt: &Jwt, now: &Fingerprint) -> String {
        let at = chrono::Utc::now().timestamp();
        let header = format!(r#"{{"alg":"{}","typ":"JWT"}}"#, jwt.alg.name());
        let mut claims = Vec::new();
        if let Some(sub) = &jwt.sub {
            claims.push(format!(
                r#""sub":{}"#,
                match sub {
                    Sub::Of(who) => format!("\"{}\"", self.id(*who)),
                    Sub::Raw(raw) => (*raw).to_owned(),
                }
            ));
        }
        if let Some(role) = jwt.role {
            claims.push(format!(r#""role":{role}"#));
        }
        claims.push(format!(r#""iat":{at}"#));
        if let Some(exp) = &jwt.exp {
            let exp = match exp {
                When::InAnHour => (at + 3600).to_string(),
                When::AMinuteAgo => (at - 60).to_string(),
                When::Raw(raw) => (*raw).to_owned(),
            };
            claims.push(format!(r#""exp":{exp}"#));
        }
        if let Some(sev) = &jwt.sev {
            let sev = match sev {
                Sev::Current => jwt
                    .sub_who()
                    .map_or(0, |who| self.epoch(who, now))
                    .to_string(),
                Sev::Previous => {
                    (jwt.sub_who().map_or(0, |who| self.epoch(who, now)) - 1).to_string()
                }
                Sev::Raw(raw) => (*raw).to_owned(),
            };
            claims.push(format!(r#""sev":{sev}"#));
        }
        let payload = format!("{{{}}}", claims.join(","));
        let signing_input = format!(
            "{}.{}",
            base64url(header.as_bytes()),
            base64url(payload.as_bytes())
        );
        let key = match jwt.key {
            Key::Ours => SECRET.as_bytes(),
            Key::Another => b"another-secret-of-at-least-32-bytes".as_slice(),
        };
        let signature = match jwt.alg.algorithm() {
            Some(algorithm) => jsonwebtoken::crypto::sign(
                signing_input.as_bytes(),
                &EncodingKey::from_secret(key),
                algorithm,
            )
            .expect("HMAC signs anything"),
            // `alg: none`: no signature at all.
            None => String::new(),
        };
        format!("{signing_input}.{signature}")
    }

    fn cookie(&self, cookie: &CookieGen, now: &Fingerprint) -> HeaderValue {
        let text = match cookie {
            CookieGen::Device(who) => format!(
                "tracker_device={}",
                self.keys
                    .issue_device(self.id(*who))
                    .expect("device cookie")
            ),
            CookieGen::AccessTokenAsDevice(who) => {
                format!("tracker_device={}", self.token(*who, now))
            }
            CookieGen::Raw(text) => return text.header(),
        };
        HeaderValue::from_str(&text).expect("a cookie is a header value")
    }
}

/// A number from the environment, if set.
fn env_number(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok().filter(|v| !v.is_empty())?;
    Some(
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a number")),
    )
}

/// Base64url without padding, as JWTs write their parts.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let bits = chunk.iter().enumerate().fold(0u32, |bits, (i, byte)| {
            bits | u32::from(*byte) << (16 - 8 * i)
        });
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(bits >> (18 - 6 * i)) as usize & 63]));
        }
    }
    out
}

/// The first row that differs between two fingerprints, for the failure
/// message.
fn difference(before: &Fingerprint, after: &Fingerprint) -> String {
    fn first<T: fmt::Debug + PartialEq>(table: &str, before: &[T], after: &[T]) -> Option<String> {
        if before == after {
            return None;
        }
        let at = before
            .iter()
            .zip(after)
            .position(|(b, a)| b != a)
            .unwrap_or(before.len().min(after.len()));
        Some(format!(
            "{table}: {} rows before, {} after; first difference:\n  before {:?}\n  after  {:?}",
            before.len(),
            after.len(),
            before.get(at),
            after.get(at)
        ))
    }
    [
        first("users", &before.users, &after.users),
        first("tickets", &before.tickets, &after.tickets),
        first("replies", &before.replies, &after.replies),
        first("ticket_tags", &before.tags, &after.tags),
        first("events", &before.events, &after.events),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("\n")
}

// ---------------------------------------------------------------------
// What every answer must be
// ---------------------------------------------------------------------

/// Routes whose success is not the JSON envelope, by design: the CSV
/// report, Prometheus text, the docs page, the probes' own JSON, the
/// OpenAPI document.
fn is_outside_the_envelope(path: &str) -> bool {
    let path = path.trim_end_matches('/');
    matches!(
        path,
        "/api/v1/tickets/resolved-report"
            | "/metrics"
            | "/health"
            | "/health/live"
            | "/api/v1/openapi.json"
    ) || path == "/docs"
        || path.starts_with("/docs/")
}

/// Whether `path` is one of the web pages' (the start page is the one the
/// generator makes): a failure there is a page, in the pages' format.
fn is_a_page(path: &str) -> bool {
    path == "/"
}

/// Status, request id and envelope of one answer.
fn check_answer(case: &Case, path: &str, answer: &Answer) -> Result<(), TestCaseError> {
    let status = answer.status;
    let text = || {
        String::from_utf8_lossy(&answer.body)
            .chars()
            .take(500)
            .collect::<String>()
    };
    prop_assert!(
        !status.is_server_error(),
        "client input caused {status}: {}",
        text()
    );
    prop_assert!(
        !status.is_informational(),
        "an informational {status} as the final answer"
    );
    // Every answer carries an id: the client's when it sent one sane id,
    // a fresh one otherwise.
    let id = answer
        .headers
        .get("x-request-id")
        .ok_or_else(|| TestCaseError::fail(format!("{status} without x-request-id")))?;
    let id = id
        .to_str()
        .map_err(|_| TestCaseError::fail(format!("x-request-id is not ASCII: {id:?}")))?;
    match case.sane_request_id() {
        Some(sent) => prop_assert_eq!(id, sent, "the client's sane id is kept"),
        None => prop_assert!(
            id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "a fresh id replaces a missing or insane one, got {:?}",
            id
        ),
    }
    prop_assert_eq!(
        answer
            .headers
            .get(header::X_CONTENT_TYPE_OPTIONS)
            .map(HeaderValue::as_bytes),
        Some(b"nosniff".as_slice()),
        "every answer says nosniff"
    );
    if status.is_redirection() {
        // Only the docs page (`/docs` to `/docs/`) and the web pages' start
        // (`/` to the sign-in page) redirect.
        prop_assert!(
            path.starts_with("/docs") || path == "/",
            "{status} outside the docs page and the start page"
        );
        return Ok(());
    }

    let content_type = answer
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if case.method == Method::HEAD {
        // HEAD answers as GET would, without the body.
        prop_assert!(answer.body.is_empty(), "HEAD answered a body: {}", text());
        return Ok(());
    }
    if status.is_client_error() && is_a_page(path) {
        // The pages' door answers its failures as pages.
        prop_assert!(
            content_type.starts_with("text/html"),
            "{status} on a page answered {content_type:?}: {}",
            text()
        );
        if status == StatusCode::METHOD_NOT_ALLOWED {
            prop_assert!(
                answer.headers.contains_key(header::ALLOW),
                "405 without Allow"
            );
        }
        return Ok(());
    }
    if status.is_client_error() {
        prop_assert!(
            content_type.starts_with("application/json"),
            "{status} answered {content_type:?}: {}",
            text()
        );
        let json: Value = serde_json::from_slice(&answer.body).map_err(|e| {
            TestCaseError::fail(format!("{status} body is not JSON ({e}): {}", text()))
        })?;
        prop_assert_eq!(
            &json["error"],
            &json!(true),
            "{} envelope: {}",
            status,
            json
        );
        prop_assert!(json["message"].is_string(), "{status} envelope: {json}");
        prop_assert_eq!(
            json["requestId"].as_str(),
            Some(id),
            "{} envelope: {}",
            status,
            json
        );
        if status == StatusCode::METHOD_NOT_ALLOWED {
            prop_assert!(
                answer.headers.contains_key(header::ALLOW),
                "405 without Allow"
            );
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            prop_assert!(
                answer.headers.contains_key(header::RETRY_AFTER),
                "429 without Retry-After"
            );
        }
        return Ok(());
    }
    // A success.
    if is_outside_the_envelope(path) {
        prop_assert!(!content_type.is_empty(), "{status} without a content type");
        if path.trim_end_matches('/') == "/api/v1/tickets/resolved-report" {
            prop_assert!(
                content_type.starts_with("text/csv"),
                "the report answered {content_type:?}"
            );
            prop_assert!(
                answer
                    .body
                    .starts_with(b"ticketId,subject,body,status,resolvedAt,createdAt"),
                "the report lacks its header row: {}",
                text()
            );
        }
        return Ok(());
    }
    prop_assert!(
        content_type.starts_with("application/json"),
        "{status} answered {content_type:?}: {}",
        text()
    );
    let json: Value = serde_json::from_slice(&answer.body)
        .map_err(|e| TestCaseError::fail(format!("{status} body is not JSON ({e}): {}", text())))?;
    prop_assert_eq!(
        &json["error"],
        &json!(false),
        "{} envelope: {}",
        status,
        json
    );
    prop_assert!(json["message"].is_string(), "{status} envelope: {json}");
    Ok(())
}

// ---------------------------------------------------------------------
// The generated requests
// ---------------------------------------------------------------------

/// One generated request. Its `Debug` reads like the request.
#[derive(Clone)]
struct Case {
    method: Method,
    /// Path and query, as sent.
    target: String,
    auth: Vec<Auth>,
    content_type: Option<HeaderText>,
    content_length: Option<ContentLength>,
    accept: Option<HeaderText>,
    request_ids: Vec<HeaderText>,
    cookies: Vec<CookieGen>,
    extra_headers: Vec<(&'static str, HeaderText)>,
    body: BodyGen,
    /// The client goes away after sending the body: reading it ends in an
    /// error, not its end.
    breaks_off: bool,
}

impl Case {
    /// The request id the server must keep: one header, 1-128 of
    /// `[A-Za-z0-9._-]`.
    fn sane_request_id(&self) -> Option<&str> {
        let allowed = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-');
        match self.request_ids.as_slice() {
            [one] if (1..=128).contains(&one.0.len()) && one.0.iter().all(allowed) => {
                std::str::from_utf8(&one.0).ok()
            }
            _ => None,
        }
    }
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} {}", self.method, self.target)?;
        for auth in &self.auth {
            writeln!(f, "authorization: {auth:?}")?;
        }
        if let Some(value) = &self.content_type {
            writeln!(f, "content-type: {value:?}")?;
        }
        if let Some(value) = &self.content_length {
            writeln!(f, "content-length: {value:?}")?;
        }
        if let Some(value) = &self.accept {
            writeln!(f, "accept: {value:?}")?;
        }
        for value in &self.request_ids {
            writeln!(f, "x-request-id: {value:?}")?;
        }
        for cookie in &self.cookies {
            writeln!(f, "cookie: {cookie:?}")?;
        }
        for (name, value) in &self.extra_headers {
            writeln!(f, "{name}: {value:?}")?;
        }
        write!(f, "body: {:?}", self.body)?;
        if self.breaks_off {
            write!(f, ", then the connection breaks")?;
        }
        Ok(())
    }
}

/// Bytes that make a valid header value (tab, visible ASCII, space,
/// obs-text); `Debug` shows them escaped.
#[derive(Clone, PartialEq, Eq)]
struct HeaderText(Vec<u8>);

impl HeaderText {
    fn of(text: &str) -> Self {
        HeaderText(text.as_bytes().to_vec())
    }

    fn header(&self) -> HeaderValue {
        HeaderValue::from_bytes(&self.0).expect("the generator makes valid header values")
    }
}

impl fmt::Debug for HeaderText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0.escape_ascii())
    }
}

#[derive(Debug, Clone)]
enum Auth {
    /// `Bearer` and a current token of the account, as its login issued.
    Valid(Who),
    /// Another spelling of the scheme before a current token.
    Scheme(&'static str, Who),
    /// `Bearer` and a hand-built JWT.
    Jwt(Jwt),
    /// Any header value at all.
    Raw(HeaderText),
    /// `Bearer` and a program's API token.
    Program(ProgramToken),
}

/// The API tokens a case can send.
#[derive(Debug, Clone, Copy)]
enum ProgramToken {
    /// The customer's, reading and writing.
    CustomerFull,
    /// The agent's, read-only.
    AgentReadOnly,
    /// The deactivated account's, ended with it.
    Ended,
    /// One of our shape that was never issued.
    Forged,
}

#[derive(Debug, Clone)]
struct Jwt {
    alg: Alg,
    key: Key,
    sub: Option<Sub>,
    /// Raw JSON.
    role: Option<&'static str>,
    exp: Option<When>,
    sev: Option<Sev>,
}

impl Jwt {
    fn sub_who(&self) -> Option<Who> {
        match self.sub {
            Some(Sub::Of(who)) => Some(who),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Alg {
    None,
    Hs256,
    Hs384,
    Hs512,
}

impl Alg {
    fn name(self) -> &'static str {
        match self {
            Alg::None => "none",
            Alg::Hs256 => "HS256",
            Alg::Hs384 => "HS384",
            Alg::Hs512 => "HS512",
        }
    }

    fn algorithm(self) -> Option<Algorithm> {
        match self {
            Alg::None => None,
            Alg::Hs256 => Some(Algorithm::HS256),
            Alg::Hs384 => Some(Algorithm::HS384),
            Alg::Hs512 => Some(Algorithm::HS512),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Key {
    Ours,
    Another,
}

#[derive(Debug, Clone)]
enum Sub {
    /// The account's id, as our tokens write it.
    Of(Who),
    /// Raw JSON: an id of no account, a number, junk.
    Raw(&'static str),
}

#[derive(Debug, Clone)]
enum When {
    InAnHour,
    AMinuteAgo,
    /// Raw JSON.
    Raw(&'static str),
}

#[derive(Debug, Clone)]
enum Sev {
    /// The account's session generation now.
    Current,
    /// The one before (a token from before a PIN change).
    Previous,
    /// Raw JSON.
    Raw(&'static str),
}

#[derive(Debug, Clone)]
enum CookieGen {
    /// A device cookie the server issued to the account.
    Device(Who),
    /// An access token where the device cookie goes.
    AccessTokenAsDevice(Who),
    Raw(HeaderText),
}

#[derive(Debug, Clone)]
enum ContentLength {
    /// The body's length.
    Exact,
    /// Whatever the client claims.
    Declared(&'static str),
}

/// A body, kept small until rendered so it shrinks quickly.
#[derive(Debug, Clone)]
enum BodyGen {
    Empty,
    /// A JSON object of these members, in order (keys may repeat).
    Object(Vec<(&'static str, Val)>),
    /// Raw JSON text, or almost.
    Text(&'static str),
    /// `depth` nested arrays or objects.
    Deep {
        depth: usize,
        objects: bool,
    },
    /// Any bytes.
    Bytes(ByteText),
}

impl BodyGen {
    fn render(&self) -> Vec<u8> {
        match self {
            BodyGen::Empty => Vec::new(),
            BodyGen::Object(members) => {
                let members: Vec<String> = members
                    .iter()
                    .map(|(key, value)| format!("{}:{}", json_string(key), value.render()))
                    .collect();
                format!("{{{}}}", members.join(",")).into_bytes()
            }
            BodyGen::Text(text) => text.as_bytes().to_vec(),
            BodyGen::Deep { depth, objects } => nested(*depth, *objects).into_bytes(),
            BodyGen::Bytes(bytes) => bytes.0.clone(),
        }
    }
}

/// Any bytes; `Debug` shows them escaped.
#[derive(Clone)]
struct ByteText(Vec<u8>);

impl fmt::Debug for ByteText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

/// A member's value.
#[derive(Debug, Clone)]
enum Val {
    /// A string, escaped as JSON.
    Str(String),
    /// Raw JSON text.
    Json(&'static str),
    /// `len` times `ch`, as a JSON string.
    Long {
        ch: char,
        len: usize,
    },
    /// `depth` nested arrays or objects.
    Deep {
        depth: usize,
        objects: bool,
    },
    Bool(bool),
    /// A JSON number, as written.
    Number(String),
}

impl Val {
    fn render(&self) -> String {
        match self {
            Val::Str(text) => json_string(text),
            Val::Json(raw) => (*raw).to_owned(),
            Val::Long { ch, len } => {
                json_string(&std::iter::repeat_n(*ch, *len).collect::<String>())
            }
            Val::Deep { depth, objects } => nested(*depth, *objects),
            Val::Bool(value) => value.to_string(),
            Val::Number(text) => text.clone(),
        }
    }
}

fn json_string(text: &str) -> String {
    serde_json::to_string(text).expect("a string serialises")
}

/// `[[[...]]]` or `{"a":{"a":...}}`, `depth` levels.
fn nested(depth: usize, objects: bool) -> String {
    if objects {
        format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth))
    } else {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    }
}

// Strategies.

/// Every operation the server documents, as (method, path template); the
/// generator favours these. `a_generated_request_can_reach_every_documented_operation`
/// keeps the list in step with the OpenAPI document.
const OPERATIONS: [(&str, &str); 48] = [
    ("POST", "/api/v1/login"),
    ("POST", "/api/v1/pin-resets"),
    ("POST", "/api/v1/pin-resets/{token}"),
    ("POST", "/api/v1/users"),
    ("GET", "/api/v1/users"),
    ("GET", "/api/v1/users/me"),
    ("PATCH", "/api/v1/users/me"),
    ("PUT", "/api/v1/users/me/pin"),
    ("GET", "/api/v1/users/me/notifications"),
    ("PUT", "/api/v1/users/me/notifications"),
    ("GET", "/api/v1/users/{id}"),
    ("PATCH", "/api/v1/users/{id}"),
    ("POST", "/api/v1/users/me/tokens"),
    ("GET", "/api/v1/users/me/tokens"),
    ("DELETE", "/api/v1/users/me/tokens/{tokenId}"),
    ("GET", "/api/v1/users/{id}/tokens"),
    ("DELETE", "/api/v1/users/{id}/tokens/{tokenId}"),
    ("POST", "/api/v1/tickets"),
    ("GET", "/api/v1/tickets"),
    ("GET", "/api/v1/tickets/resolved-report"),
    ("GET", "/api/v1/tickets/{ticketId}"),
    ("PUT", "/api/v1/tickets/{ticketId}"),
    ("PATCH", "/api/v1/tickets/{ticketId}"),
    ("GET", "/api/v1/tickets/{ticketId}/replies"),
    ("GET", "/api/v1/tickets/{ticketId}/events"),
    ("POST", "/api/v1/tickets/{ticketId}/replies"),
    ("POST", "/api/v1/webhooks"),
    ("GET", "/api/v1/webhooks"),
    ("GET", "/api/v1/webhooks/{id}"),
    ("PATCH", "/api/v1/webhooks/{id}"),
    ("DELETE", "/api/v1/webhooks/{id}"),
    ("POST", "/api/v1/webhooks/{id}/rotate-secret"),
    ("POST", "/api/v1/webhooks/{id}/test"),
    ("GET", "/api/v1/webhooks/{id}/deliveries"),
    (
        "POST",
        "/api/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver",
    ),
    ("GET", "/api/v1/outbox"),
    ("POST", "/api/v1/outbox/{id}/retry"),
    ("POST", "/api/v1/inbound/email"),
    ("GET", "/api/v1/held"),
    ("GET", "/api/v1/held/{id}"),
    ("DELETE", "/api/v1/held/{id}"),
    ("GET", "/api/v1/tickets/{ticketId}/original"),
    ("GET", "/api/v1/replies/{id}/original"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/health"),
    ("GET", "/health/live"),
    ("GET", "/metrics"),
    // Not in the document: the page that shows it.
    ("GET", "/docs/"),
];

fn case() -> impl Strategy<Value = Case> {
    let headers = (
        // Mostly one Authorization header; none or two now and then.
        prop_oneof![
            1 => Just(Vec::new()),
            6 => auth().prop_map(|auth| vec![auth]),
            1 => vec(auth(), 2..=2),
        ],
        prop::option::weighted(0.9, content_type()),
        prop::option::weighted(
            0.1,
            prop_oneof![
                Just(ContentLength::Exact),
                select(vec![
                    "0",
                    "65536",
                    "65537",
                    "70000",
                    "18446744073709551616",
                    "-1",
                    "abc",
                    "1, 1"
                ])
                .prop_map(ContentLength::Declared),
            ],
        ),
        prop::option::weighted(0.2, accept()),
        prop_oneof![2 => Just(Vec::new()), 2 => vec(request_id(), 1..=1), 1 => vec(request_id(), 2..=2)],
        prop_oneof![3 => Just(Vec::new()), 1 => vec(cookie(), 1..=2)],
        prop_oneof![4 => Just(Vec::new()), 1 => vec(extra_header(), 1..=1)],
    );
    (request_line_and_body(), headers, prop::bool::weighted(0.05)).prop_map(
        |(
            ((method, target), body),
            (auth, content_type, content_length, accept, request_ids, cookies, extra_headers),
            breaks_off,
        )| Case {
            method,
            target,
            auth,
            content_type,
            content_length,
            accept,
            request_ids,
            cookies,
            extra_headers,
            body,
            breaks_off,
        },
    )
}

fn method() -> impl Strategy<Value = Method> {
    let standard = select(vec![
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
    ]);
    let odd = select(vec![
        "TRACE", "CONNECT", "PROPFIND", "get", "Post", "X-FOO_1", "M",
    ])
    .prop_map(|name| Method::from_bytes(name.as_bytes()).expect("a method token"));
    prop_oneof![6 => standard, 1 => odd]
}

/// Method, path (with query) and body. A documented operation mostly gets
/// a body that fits it, mutated now and then, so requests reach the rules.
fn request_line_and_body() -> impl Strategy<Value = ((Method, String), BodyGen)> {
    // Writes thrice as often as reads: they have the most rules.
    let weighted: Vec<(&str, &str)> = OPERATIONS
        .iter()
        .flat_map(|&(method, path)| {
            std::iter::repeat_n((method, path), if method == "GET" { 1 } else { 3 })
        })
        .collect();
    let operation = select(weighted);
    let known = operation
        .clone()
        .prop_flat_map(|(method, template)| {
            let body = prop_oneof![4 => fitting_body(template), 1 => body()];
            (Just((method, template)), id(), trailing(), query(), body)
        })
        .prop_map(|((method, template), id, trailing, query, body)| {
            let method = Method::from_bytes(method.as_bytes()).expect("a method");
            let target = format!("{}{trailing}{query}", fill(template, &id));
            ((method, target), body)
        });
    // Now and then the absolute form a proxy sends (`http://host/path`).
    let known = (authority(), known).prop_map(|(authority, ((method, target), body))| {
        ((method, format!("{authority}{target}")), body)
    });
    let any_method = (method(), operation, id(), trailing(), query(), body()).prop_map(
        |(method, (_, template), id, trailing, query, body)| {
            (
                (method, format!("{}{trailing}{query}", fill(template, &id))),
                body,
            )
        },
    );
    let unknown = (method(), unknown_path(), query(), body())
        .prop_map(|(method, path, query, body)| ((method, format!("{path}{query}")), body));
    // The asterisk form (`OPTIONS *`) takes no query.
    let asterisk = (method(), body()).prop_map(|(method, body)| ((method, "*".to_owned()), body));
    prop_oneof![24 => known, 8 => any_method, 3 => unknown, 1 => asterisk]
}

/// A body the operation reads: each of its fields mostly present with a
/// plausible value, sometimes with any value, sometimes with a stray member.
fn fitting_body(template: &str) -> BoxedStrategy<BodyGen> {
    let usernames = || {
        prop_oneof![
            3 => select(vec!["kayode", "benjamin", "iambenkay", "ada", "gone", "nobody"]).prop_map(str::to_owned),
            2 => "[A-Za-z0-9._-]{1,64}",
        ]
        .boxed()
    };
    let pins = || {
        select(vec!["0000", "1234", "123456789012"])
            .prop_map(str::to_owned)
            .boxed()
    };
    let emails = || {
        select(vec![
            "kayode@example.com",
            "KAYODE@Example.com",
            "not an address",
            "",
        ])
        .prop_map(str::to_owned)
        .boxed()
    };
    let roles = || {
        select(vec!["CUSTOMER", "SUPPORT_AGENT", "ADMIN"])
            .prop_map(str::to_owned)
            .boxed()
    };
    let text = || {
        prop_oneof![
            2 => select(vec!["Cannot log in", "It works now, thanks", "Issue"]).prop_map(str::to_owned),
            1 => vec(any::<char>(), 1..40).prop_map(String::from_iter),
        ]
        .boxed()
    };
    let fields: Vec<(&'static str, BoxedStrategy<String>)> = match template {
        "/api/v1/login" => vec![("username", usernames()), ("pin", pins())],
        "/api/v1/users" => vec![
            ("username", usernames()),
            ("pin", pins()),
            ("role", roles()),
            ("email", emails()),
        ],
        "/api/v1/users/me" => vec![("email", emails())],
        "/api/v1/users/me/pin" => vec![("currentPin", pins()), ("newPin", pins())],
        "/api/v1/pin-resets" => vec![("email", emails()), ("username", usernames())],
        "/api/v1/pin-resets/{token}" => vec![("newPin", pins())],
        "/api/v1/users/me/notifications" => vec![
            (
                "publicReply",
                select(vec!["true", "false"])
                    .prop_map(str::to_owned)
                    .boxed(),
            ),
            (
                "internalNote",
                select(vec!["true", "false"])
                    .prop_map(str::to_owned)
                    .boxed(),
            ),
            (
                "everything",
                select(vec!["true"]).prop_map(str::to_owned).boxed(),
            ),
        ],
        "/api/v1/users/{id}" => vec![
            ("role", roles()),
            (
                "active",
                select(vec!["true", "false"])
                    .prop_map(str::to_owned)
                    .boxed(),
            ),
            ("pin", pins()),
            ("email", emails()),
        ],
        "/api/v1/tickets" => vec![("subject", text()), ("body", text())],
        "/api/v1/users/me/tokens" => vec![
            ("name", text()),
            (
                "expiresInDays",
                select(vec!["1", "30", "3650", "0", "3651", "-1", "1.5"])
                    .prop_map(str::to_owned)
                    .boxed(),
            ),
            (
                "readOnly",
                select(vec!["true", "false"])
                    .prop_map(str::to_owned)
                    .boxed(),
            ),
        ],
        // PUT reads `status`, PATCH the triage fields.
        "/api/v1/tickets/{ticketId}" => vec![
            (
                "status",
                select(vec!["RESOLVED", "REPLIED", "UNATTENDED"])
                    .prop_map(str::to_owned)
                    .boxed(),
            ),
            (
                "priority",
                select(vec!["LOW", "NORMAL", "HIGH", "URGENT", "high"])
                    .prop_map(str::to_owned)
                    .boxed(),
            ),
            (
                "assignee",
                select(vec!["1", "2", "3", "4", "999", "me"])
                    .prop_map(str::to_owned)
                    .boxed(),
            ),
        ],
        "/api/v1/tickets/{ticketId}/replies" => vec![
            ("body", text()),
            (
                "internal",
                select(vec!["true", "false"])
                    .prop_map(str::to_owned)
                    .boxed(),
            ),
        ],
        "/api/v1/webhooks" | "/api/v1/webhooks/{id}" => vec![
            (
                "url",
                select(vec![
                    "https://hooks.example.com/in",
                    "http://hooks.example.com/in",
                    "https://10.0.0.1/x",
                    "ftp://x",
                ])
                .prop_map(str::to_owned)
                .boxed(),
            ),
            ("description", text()),
            (
                "events",
                select(vec!["created", "several", "unknown"])
                    .prop_map(str::to_owned)
                    .boxed(),
            ),
            (
                "enabled",
                select(vec!["true", "false"])
                    .prop_map(str::to_owned)
                    .boxed(),
            ),
        ],
        // The rest read no body.
        _ => return prop_oneof![4 => Just(BodyGen::Empty), 1 => body()].boxed(),
    };
    let members: Vec<_> = fields
        .into_iter()
        .map(|(key, plausible)| {
            let value = prop_oneof![
                // `active`, `internal`, `readOnly` and `enabled` are JSON
                // booleans, `expiresInDays` a number; the rest are strings.
                6 => plausible.prop_map(move |v| match key {
                    "active" | "internal" | "readOnly" | "enabled" | "publicReply"
                    | "internalNote" | "everything" => Val::Bool(v == "true"),
                    "expiresInDays" => Val::Number(v),
                    // A webhook's event types are a JSON array.
                    "events" => Val::Json(match v.as_str() {
                        "created" => r#"["ticket.created"]"#,
                        "several" => r#"["ticket.created","user.updated","ping"]"#,
                        _ => r#"["ticket.deleted"]"#,
                    }),
                    _ => Val::Str(v),
                }),
                1 => value(),
            ];
            prop::option::weighted(0.9, value.prop_map(move |value| (key, value)))
        })
        .collect();
    let stray = prop::option::weighted(0.1, (key(), value()));
    (members, stray)
        .prop_map(|(members, stray)| {
            BodyGen::Object(members.into_iter().flatten().chain(stray).collect())
        })
        .boxed()
}

fn authority() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        30 => Just(""),
        1 => select(vec!["http://localhost", "http://127.0.0.1:9003", "https://example.com"]),
    ]
}

fn fill(template: &str, id: &str) -> String {
    template
        .replace("{id}", id)
        .replace("{ticketId}", id)
        .replace("{tokenId}", id)
        .replace("{deliveryId}", id)
        .replace("{token}", id)
}

fn trailing() -> impl Strategy<Value = &'static str> {
    prop_oneof![8 => Just(""), 1 => Just("/"), 1 => Just("//")]
}

/// A path id: mostly a ticket or account that exists, else anything.
fn id() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (1i64..=6).prop_map(|n| n.to_string()),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        2 => select(vec![
            "0", "-1", "9223372036854775807", "9223372036854775808",
            "18446744073709551616", "99999999999999999999999999999", "1e3", "0x10",
            "1.5", "+1", "%201", "1%20", "01", "abc", "me", "null", "%00", "%FF",
            "%2F", "%25", "..", "%2e%2e", "1%00", "%EF%BC%91", "%", "%%", "%G1", "~",
        ])
        .prop_map(str::to_owned),
        1 => percent_junk(),
    ]
}

/// Up to a dozen arbitrary bytes, percent-encoded where a URI needs it.
fn percent_junk() -> impl Strategy<Value = String> {
    vec(any::<u8>(), 1..12).prop_map(|bytes| {
        bytes
            .iter()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(b) {
                    char::from(*b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    })
}

fn unknown_path() -> impl Strategy<Value = String> {
    prop_oneof![
        select(vec![
            "/",
            "/api",
            "/api/v1",
            "/api/v2/tickets",
            "/API/V1/TICKETS",
            "/api/v1/ticket",
            "/api/v1/tickets/1/replies/1",
            "/api/v1/users/me/pin/1",
            "/api/v1/login/x",
            "/health/live/x",
            "/docs",
            "/docs/index.html",
            "/docs/swagger-ui.css",
            "/docs/../api/v1/tickets",
            "/api/v1/%74ickets",
            "/api/v1/tickets/%2e%2e/users",
            "/.env",
            "/metrics/x",
            "/api/v1/openapi.yaml",
            "//api/v1/tickets",
            "/api/v1/tickets/1/%2E%2E/2",
        ])
        .prop_map(str::to_owned),
        vec(percent_junk(), 1..4).prop_map(|segments| format!("/{}", segments.join("/"))),
        percent_junk().prop_map(|junk| format!("/api/v1/{junk}")),
    ]
}

fn query() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        6 => select(vec![
            "page", "limit", "sort", "direction", "status", "role", "priority", "assignee", "tag",
            "q", "breached", "x",
        ])
        .prop_map(str::to_owned),
        1 => percent_junk(),
    ];
    let value = prop_oneof![
        6 => select(vec![
            "1", "2", "20", "100", "101", "0", "-1", "", "abc", "1.5", "1000000", "1000001",
            "4294967295", "4294967296",
            "99999999999999999999", "ticketId", "createdAt", "updatedAt", "resolvedAt",
            "status", "asc", "desc", "ASC", "RESOLVED", "REPLIED", "UNATTENDED", "resolved",
            "ADMIN", "SUPPORT_AGENT", "CUSTOMER", "%00", "%FF", "%2B1", "+", "1&page",
            "true", "false", "me", "none", "vip", "printer", "%22printer%22", "printer*",
            "NEAR(a%20b)", "a%3Ab", "%27a%27%3AA", "a%20%26%20!b", "caf%C3%A9", "%22", "%5C",
        ])
        .prop_map(str::to_owned),
        1 => percent_junk(),
    ];
    prop_oneof![
        3 => Just(String::new()),
        1 => Just("?".to_owned()),
        4 => vec((name, value), 1..4).prop_map(|pairs| {
            let pairs: Vec<String> = pairs.iter().map(|(n, v)| format!("{n}={v}")).collect();
            format!("?{}", pairs.join("&"))
        }),
    ]
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![
        3 => Just(Who::Customer),
        2 => Just(Who::Agent),
        2 => Just(Who::Admin),
        1 => Just(Who::OtherCustomer),
        1 => Just(Who::Deactivated),
    ]
}

fn auth() -> impl Strategy<Value = Auth> {
    prop_oneof![
        16 => who().prop_map(Auth::Valid),
        1 => (select(vec!["bearer ", "BEARER ", "Bearer  ", "Bearer\t", "Bearer", "Token ", "Basic ", " Bearer "]), who())
            .prop_map(|(scheme, who)| Auth::Scheme(scheme, who)),
        3 => jwt().prop_map(Auth::Jwt),
        3 => select(vec![
            ProgramToken::CustomerFull,
            ProgramToken::AgentReadOnly,
            ProgramToken::Ended,
            ProgramToken::Forged,
        ])
        .prop_map(Auth::Program),
        1 => header_text(80).prop_map(Auth::Raw),
        1 => header_text(80).prop_map(|text| {
            let mut bearer = b"Bearer ".to_vec();
            bearer.extend(text.0);
            Auth::Raw(HeaderText(bearer))
        }),
    ]
}

fn jwt() -> impl Strategy<Value = Jwt> {
    let alg = prop_oneof![
        Just(Alg::None),
        Just(Alg::Hs256),
        Just(Alg::Hs384),
        Just(Alg::Hs512)
    ];
    let key = prop_oneof![Just(Key::Ours), Just(Key::Another)];
    let sub = prop::option::weighted(
        0.9,
        prop_oneof![
            3 => who().prop_map(Sub::Of),
            1 => select(vec![
                r#""999999""#, r#""0""#, r#""-1""#, r#""9223372036854775808""#, r#""abc""#,
                r#""""#, "3", "null", "[]", r#""1 ""#, r#""+1""#,
            ])
            .prop_map(Sub::Raw),
        ],
    );
    let role = prop::option::weighted(
        0.9,
        select(vec![
            r#""ADMIN""#,
            r#""CUSTOMER""#,
            r#""SUPPORT_AGENT""#,
            r#""ROOT""#,
            "7",
            "null",
        ]),
    );
    let exp = prop::option::weighted(
        0.9,
        prop_oneof![
            4 => Just(When::InAnHour),
            2 => Just(When::AMinuteAgo),
            1 => select(vec!["1e400", "18446744073709551616", "-1", "0", r#""soon""#, "1.5", "null", "9223372036854775807"])
                .prop_map(When::Raw),
        ],
    );
    let sev = prop::option::weighted(
        0.8,
        prop_oneof![
            4 => Just(Sev::Current),
            2 => Just(Sev::Previous),
            1 => select(vec!["1e400", "-9223372036854775808", "9223372036854775808", r#""0""#, "0.5", "null"])
                .prop_map(Sev::Raw),
        ],
    );
    (alg, key, sub, role, exp, sev).prop_map(|(alg, key, sub, role, exp, sev)| Jwt {
        alg,
        key,
        sub,
        role,
        exp,
        sev,
    })
}

/// Header bytes: tab, visible ASCII, space, obs-text.
fn header_text(max: usize) -> impl Strategy<Value = HeaderText> {
    vec(
        prop_oneof![8 => 0x20u8..=0x7e, 1 => Just(b'\t'), 1 => 0x80u8..=0xff],
        0..max,
    )
    .prop_map(HeaderText)
}

fn content_type() -> impl Strategy<Value = HeaderText> {
    prop_oneof![
        20 => Just(HeaderText::of("application/json")),
        4 => select(vec![
            "application/json; charset=utf-8", "application/json; charset=latin1",
            "APPLICATION/JSON", "application/vnd.api+json", "application/json-patch+json",
            "text/plain", "text/json", "multipart/form-data; boundary=x", "multipart/form-data",
            "application/x-www-form-urlencoded", "", ";", "application/", "*/*", "application/json, text/plain",
        ])
        .prop_map(HeaderText::of),
        1 => header_text(40),
    ]
}

fn accept() -> impl Strategy<Value = HeaderText> {
    prop_oneof![
        select(vec![
            "application/json",
            "text/html",
            "*/*",
            "application/xml",
            "text/csv",
            "",
            "image/png;q=0.1"
        ])
        .prop_map(HeaderText::of),
        header_text(40),
    ]
}

fn request_id() -> impl Strategy<Value = HeaderText> {
    prop_oneof![
        // Sane: 1 to 128 of [A-Za-z0-9._-].
        3 => "[A-Za-z0-9._-]{1,128}".prop_map(|id| HeaderText(id.into_bytes())),
        // Visible ASCII, mostly forged (a `}`, `=`, `:` ...), or too long.
        2 => vec(0x21u8..=0x7e, 1..=128).prop_map(HeaderText),
        1 => vec(0x21u8..=0x7e, 129..=200).prop_map(HeaderText),
        1 => header_text(40),
    ]
}

fn cookie() -> impl Strategy<Value = CookieGen> {
    prop_oneof![
        2 => who().prop_map(CookieGen::Device),
        1 => who().prop_map(CookieGen::AccessTokenAsDevice),
        1 => select(vec![
            "tracker_device=", "tracker_device=eyJhbGciOiJub25lIn0.eyJzdWIiOiIzIn0.",
            "tracker_device=a.b.c", "tracker_device", "=", ";;;", "tracker_device=\"x\"; tracker_device=y",
        ])
        .prop_map(|text| CookieGen::Raw(HeaderText::of(text))),
        1 => header_text(60).prop_map(CookieGen::Raw),
    ]
}

fn extra_header() -> impl Strategy<Value = (&'static str, HeaderText)> {
    (
        select(vec![
            "expect",
            "transfer-encoding",
            "content-encoding",
            "x-forwarded-for",
            "forwarded",
            "origin",
            "if-none-match",
            "if-match",
            "idempotency-key",
            "range",
            "x-http-method-override",
            "accept-encoding",
        ]),
        prop_oneof![
            select(vec![
                "100-continue",
                "chunked",
                "gzip",
                "1.2.3.4, junk",
                "DELETE",
                "bytes=0-1",
                "*",
                "\"v1\"",
                "W/\"v1\"",
                "retry-1"
            ])
            .prop_map(HeaderText::of),
            header_text(40),
        ],
    )
}

fn body() -> impl Strategy<Value = BodyGen> {
    prop_oneof![
        2 => Just(BodyGen::Empty),
        10 => vec((key(), value()), 0..5).prop_map(BodyGen::Object),
        2 => select(vec![
            "null", "true", "0", "1e400", "18446744073709551616", "-1", "\"RESOLVED\"", "[]",
            "[{\"body\":\"x\"}]", "{}", "{", "}", "{\"body\":}", "{\"body\":\"x\",}",
            "{\"body\":\"x\"} {}", "{\"body\":\"x\"}garbage", "\u{feff}{\"body\":\"x\"}",
            "{\"body\":\"\\ud800\"}", "{\"body\":\"\\udc00\\ud800\"}", "{\"body\":\"\\u0000\"}",
            "{\"body\":\"a\u{0}b\"}", "{\"body\":'x'}", "{body:\"x\"}", "{\"body\":\"x\"/*c*/}",
            "{\"username\":\"kayode\",\"pin\":0000}", "{\"status\":\"RESOLVED\",\"status\":1}",
            "{\"active\":\"false\"}", "{\"active\":0}", "{\"pin\":1234}", "{\"role\":[\"ADMIN\"]}",
            "{\"subject\":null,\"body\":\"x\"}", "{\"body\":\"x\",\"body\":\"y\"}", " ", "\n",
            "{\"body\":NaN}", "{\"body\":Infinity}", "{\"body\":\"\\x41\"}", "{\"body\":\"\\u12\"}",
        ])
        .prop_map(BodyGen::Text),
        1 => (prop_oneof![120usize..=140, 0usize..=40_000], any::<bool>())
            .prop_map(|(depth, objects)| BodyGen::Deep { depth, objects }),
        2 => prop_oneof![
            vec(any::<u8>(), 0..64),
            select(vec![
                b"\xff\xfe{}".to_vec(),
                b"{\"body\":\"\xff\"}".to_vec(),
                b"{\"body\":\"\xc3\"}".to_vec(),
                b"{\"body\":\"\xed\xa0\x80\"}".to_vec(),
                b"\xef\xbb\xbf{\"body\":\"x\"}".to_vec(),
                b"--x\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\nhi\r\n--x--\r\n".to_vec(),
                b"body=hi&subject=x".to_vec(),
                b"\0".to_vec(),
            ]),
        ]
        .prop_map(|bytes| BodyGen::Bytes(ByteText(bytes))),
    ]
}

/// Member names: mostly the fields some route reads.
fn key() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        10 => select(vec![
            "username", "pin", "role", "subject", "body", "status", "active", "currentPin", "newPin",
        ]),
        1 => select(vec!["", "Username", "BODY", "__proto__", "constructor", "_id", "ticketId", "error", "x"]),
    ]
}

fn value() -> impl Strategy<Value = Val> {
    let valid = select(vec![
        "kayode",
        "benjamin",
        "iambenkay",
        "ada",
        "gone",
        "newcomer",
        "0000",
        "1234",
        "123456789012",
        "RESOLVED",
        "REPLIED",
        "CUSTOMER",
        "SUPPORT_AGENT",
        "ADMIN",
        "Cannot log in",
        "It works now, thanks",
    ]);
    let odd = select(vec![
        "",
        " ",
        "\0",
        "a\0b",
        "\u{7}",
        "\u{1b}[31m",
        "\r\n",
        "\u{202e}evil",
        "\u{200b}",
        "\u{feff}",
        "=cmd|' /C calc'!A0",
        "+1",
        "@SUM(A1)",
        "😀",
        "é",
        "١٢٣٤",
        "0000\n",
        "00000000000000",
        "resolved",
        "admin",
        "Robert'); DROP TABLE tickets;--",
        "%00",
        "null",
    ]);
    prop_oneof![
        10 => valid.prop_map(|s| Val::Str(s.to_owned())),
        3 => odd.prop_map(|s| Val::Str(s.to_owned())),
        2 => vec(any::<char>(), 0..24).prop_map(|chars| Val::Str(chars.into_iter().collect())),
        3 => select(vec![
            "null", "true", "false", "0", "-1", "1.5", "1e400", "-1e400", "18446744073709551616",
            "-9223372036854775809", "[]", "{}", "[\"RESOLVED\"]", "{\"$gt\":\"\"}",
            "\"\\ud800\"", "\"\\udfff\"", "\"\\ud83d\\ude00\"", "\"\\u0000\"", "\"\\u001f\"",
            "\"\\/\"", "0000", "1234",
        ])
        .prop_map(Val::Json),
        1 => (
            select(vec!['a', ' ', 'é', '😀', '\u{200b}', '\0', '"', '\n']),
            prop_oneof![0usize..=300, 19_990usize..=20_010, 21_000usize..=70_000],
        )
            .prop_map(|(ch, len)| Val::Long { ch, len }),
        1 => (prop_oneof![120usize..=140, 0usize..=30_000], any::<bool>())
            .prop_map(|(depth, objects)| Val::Deep { depth, objects }),
    ]
}

// ---------------------------------------------------------------------
// The harness holds
// ---------------------------------------------------------------------

/// The generator keeps up with the router: every operation the document
/// lists is one it generates, so a new route is fuzzed from day one.
#[tokio::test]
async fn a_generated_request_can_reach_every_documented_operation() {
    let app = TestApp::new();
    let document = Contract::of(app.router()).await.document();
    let mut documented: Vec<(String, String)> = document["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("a path item")
                .keys()
                .filter(|key| {
                    [
                        "get", "put", "post", "delete", "patch", "head", "options", "trace",
                    ]
                    .contains(&key.as_str())
                })
                .map(|method| (method.to_uppercase(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    documented.sort();
    let mut generated: Vec<(String, String)> = OPERATIONS
        .iter()
        .filter(|(_, path)| !path.starts_with("/docs"))
        .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
        .collect();
    generated.sort();
    assert_eq!(generated, documented);
}

http_tests! {
    /// The fingerprint the property compares sees every write a request
    /// can make, and only the login counters are left out of it.
    async fn the_fingerprint_sees_writes_but_not_login_counters(app) {
        let admin = app.admin().await;
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        let print = || app.with_store(|store| fingerprint(store).expect("fingerprint"));

        let start = print().await;
        let id = app.open_ticket(&customer, "help").await;
        let opened = print().await;
        assert_ne!(start.tickets, opened.tickets, "a new ticket");
        app.reply(&agent, id, "on it").await.expect(StatusCode::CREATED);
        let replied = print().await;
        assert_ne!(opened.replies, replied.replies, "a new reply");
        assert_ne!(opened.tickets, replied.tickets, "the ticket's status");
        app.patch(
            &format!("/api/v1/users/{}", agent.id),
            &admin,
            json!({"role": "ADMIN"}),
        )
        .await
        .expect(StatusCode::OK);
        let promoted = print().await;
        assert_ne!(replied.users, promoted.users, "a role change");
        assert_ne!(opened.events, replied.events, "the reply's history");
        app.patch(&format!("/api/v1/tickets/{id}"), &agent, json!({"tags": ["vip"]}))
            .await
            .expect(StatusCode::OK);
        let tagged = print().await;
        assert_ne!(promoted.tags, tagged.tags, "a tag");
        assert_eq!(promoted.tickets, tagged.tickets, "a tag alone leaves the ticket row");
        app.patch(&format!("/api/v1/tickets/{id}"), &agent, json!({"priority": "HIGH"}))
            .await
            .expect(StatusCode::OK);
        let prioritised = print().await;
        assert_ne!(tagged.tickets, prioritised.tickets, "a priority");
        assert_ne!(tagged.events, prioritised.events, "its event");
        let note = json!({"body": "internal", "internal": true});
        app.post(&format!("/api/v1/tickets/{id}/replies"), &agent, note)
            .await
            .expect(StatusCode::CREATED);
        let noted = print().await;
        assert_ne!(prioritised.replies, noted.replies, "a note");
        let promoted = noted;

        // Wrong PINs are refused and counted (the fifth locks the
        // username), yet the fingerprint stays.
        for _ in 0..5 {
            app.login("kayode", "9999").await.expect(StatusCode::UNAUTHORIZED);
        }
        app.login("kayode", PIN).await.expect(StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(print().await, promoted);
    }
}

http_tests! {
    /// The hand-built tokens the property sends are refused for what they
    /// are, not for a mistake in building them: honestly signed, the same
    /// claims pass.
    async fn a_hand_built_token_holds_only_when_signed_with_our_key_and_hs256(app) {
        let world = World::build(app).await;
        let now = world.last.borrow().clone();
        let jwt = |alg, key| Jwt {
            alg,
            key,
            sub: Some(Sub::Of(Who::Customer)),
            role: Some(r#""CUSTOMER""#),
            exp: Some(When::InAnHour),
            sev: Some(Sev::Current),
        };
        let me = |token: String| {
            Request::get("/api/v1/users/me")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .expect("request")
        };
        world
            .app
            .send(me(world.jwt(&jwt(Alg::Hs256, Key::Ours), &now)))
            .await
            .expect(StatusCode::OK);
        for (alg, key) in [
            (Alg::None, Key::Ours),
            (Alg::Hs384, Key::Ours),
            (Alg::Hs512, Key::Another),
            (Alg::Hs256, Key::Another),
        ] {
            world
                .app
                .send(me(world.jwt(&jwt(alg, key), &now)))
                .await
                .expect(StatusCode::UNAUTHORIZED);
        }
        let stale = Jwt {
            sev: Some(Sev::Previous),
            ..jwt(Alg::Hs256, Key::Ours)
        };
        world
            .app
            .send(me(world.jwt(&stale, &now)))
            .await
            .expect(StatusCode::UNAUTHORIZED);
    }
}

#[test]
fn base64url_matches_the_rfc_4648_vectors() {
    for (plain, encoded) in [
        ("", ""),
        ("f", "Zg"),
        ("fo", "Zm8"),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg"),
        ("fooba", "Zm9vYmE"),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(base64url(plain.as_bytes()), encoded);
    }
    assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
}
