//! Limits under abuse: request budgets per address and per account, the
//! bounded Argon2 queue, the request timeout, the report places, and the
//! headers and checks that keep hostile requests cheap.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::ConnectInfo;
use axum::http::HeaderName;
use chrono::{TimeDelta, Utc};
use store::{DatabaseUrl, Store, StoreOptions};

use super::*;

/// The app's database behind a router with these budgets and this store.
fn limited_by(app: TestApp, store: Store, settings: &LimitSettings) -> TestApp {
    app.with_router(api::router(shared_state(store, settings, None)))
}

/// The app's database and store behind a router with these budgets.
fn limited(app: TestApp, settings: &LimitSettings) -> TestApp {
    let store = app.db.store().clone();
    limited_by(app, store, settings)
}

/// A second store on the app's database, with its own pool and hasher.
async fn second_store(app: &TestApp, options: StoreOptions) -> Store {
    let url = DatabaseUrl::parse(&app.db.url()).expect("url");
    tokio::task::spawn_blocking(move || Store::connect(&url, options).expect("connect"))
        .await
        .expect("join")
}

fn peer(address: &str) -> SocketAddr {
    format!("{address}:40000").parse().expect("socket address")
}

/// A JSON request from the TCP peer `from`, as the server's accept loop
/// marks it, with extra headers.
fn request_from(
    from: SocketAddr,
    method: Method,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Value,
) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let mut request = builder.body(Body::from(body.to_string())).expect("request");
    request.extensions_mut().insert(ConnectInfo(from));
    request
}

async fn login_from(
    app: &TestApp,
    from: SocketAddr,
    headers: &[(&str, &str)],
    username: &str,
    pin: &str,
) -> Answer {
    let body = json!({"username": username, "pin": pin});
    app.send(request_from(
        from,
        Method::POST,
        "/api/v1/login",
        None,
        headers,
        body,
    ))
    .await
}

/// The seconds `Retry-After` asks for; at least one.
#[track_caller]
fn retry_after(headers: &HeaderMap) -> u64 {
    let value = headers
        .get(header::RETRY_AFTER)
        .unwrap_or_else(|| panic!("no Retry-After in {headers:?}"));
    let seconds: u64 = value
        .to_str()
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| panic!("Retry-After {value:?} is not whole seconds"));
    assert!(seconds >= 1, "Retry-After {seconds}");
    seconds
}

/// A 429 with the envelope and a `Retry-After`.
#[track_caller]
fn assert_throttled(answer: Answer) -> u64 {
    let answer = answer.expect(StatusCode::TOO_MANY_REQUESTS);
    retry_after(&answer.headers)
}

fn address_budget(per_minute: u32) -> LimitSettings {
    LimitSettings {
        address_per_minute: per_minute,
        ..LimitSettings::off()
    }
}

http_tests! {
    async fn logins_beyond_an_address_budget_answer_429_whatever_the_username(app) {
        app.customer("kayode").await;
        let app = limited(app, &address_budget(3));
        let (a, b) = (peer("198.51.100.10"), peer("198.51.100.20"));
        for n in 0..3 {
            login_from(&app, a, &[], &format!("ghost{n}"), "1234")
                .await
                .expect(StatusCode::UNAUTHORIZED);
        }
        let seconds = assert_throttled(login_from(&app, a, &[], "ghost3", "1234").await);
        assert!(seconds <= 60, "Retry-After {seconds}");
        // Another address has its own budget.
        login_from(&app, b, &[], "ghost4", "1234")
            .await
            .expect(StatusCode::UNAUTHORIZED);
        // The budget is the address's, not the name's: a right PIN is refused too.
        assert_throttled(login_from(&app, a, &[], "kayode", PIN).await);
        login_from(&app, b, &[], "kayode", PIN).await.expect(StatusCode::OK);
    }
}

http_tests! {
    async fn a_trusted_proxy_header_counts_its_right_most_address_only(app) {
        let xff = "x-forwarded-for";
        let proxy = peer("10.0.0.1");
        let trusted = LimitSettings {
            trusted_proxy_header: Some(HeaderName::from_static("x-forwarded-for")),
            ..address_budget(2)
        };
        let app = limited(app, &trusted);
        // Clients behind the one proxy: each right-most address its own budget.
        for client in ["198.51.100.1", "198.51.100.2"] {
            for n in 0..2 {
                login_from(&app, proxy, &[(xff, client)], &format!("ghost{n}"), "1234")
                    .await
                    .expect(StatusCode::UNAUTHORIZED);
            }
        }
        assert_throttled(login_from(&app, proxy, &[(xff, "198.51.100.1")], "ghost", "1234").await);
        assert_throttled(login_from(&app, proxy, &[(xff, "198.51.100.2")], "ghost", "1234").await);
        login_from(&app, proxy, &[(xff, "198.51.100.3")], "ghost", "1234")
            .await
            .expect(StatusCode::UNAUTHORIZED);
        // What the client wrote left of the proxy's entry changes nothing.
        for n in 1..=2 {
            let forged = format!("1.2.3.{n}, 203.0.113.5");
            login_from(&app, proxy, &[(xff, &forged)], "ghost", "1234")
                .await
                .expect(StatusCode::UNAUTHORIZED);
        }
        let forged = "1.2.3.3, 203.0.113.5";
        assert_throttled(login_from(&app, proxy, &[(xff, forged)], "ghost", "1234").await);

        // Without the setting the header is the client's word: the peer counts.
        let app = limited(app, &address_budget(2));
        for client in ["198.51.100.7", "198.51.100.8"] {
            login_from(&app, proxy, &[(xff, client)], "ghost", "1234")
                .await
                .expect(StatusCode::UNAUTHORIZED);
        }
        assert_throttled(login_from(&app, proxy, &[(xff, "198.51.100.9")], "ghost", "1234").await);
    }
}

async fn sign_up_from(
    app: &TestApp,
    from: SocketAddr,
    token: Option<&str>,
    username: &str,
) -> Answer {
    let body = json!({"username": username, "pin": "4821"});
    app.send(request_from(
        from,
        Method::POST,
        "/api/v1/users",
        token,
        &[],
        body,
    ))
    .await
}

http_tests! {
    async fn anonymous_sign_ups_have_an_address_budget_an_admin_has_none(app) {
        let admin = app.admin().await;
        let app = limited(app, &address_budget(2));
        let from = peer("198.51.100.30");
        for n in 0..2 {
            sign_up_from(&app, from, None, &format!("newcomer{n}"))
                .await
                .expect(StatusCode::CREATED);
        }
        assert_throttled(sign_up_from(&app, from, None, "newcomer2").await);
        // An admin creating accounts from that very address spends nothing.
        for n in 0..4 {
            sign_up_from(&app, from, Some(&admin.token), &format!("made{n}"))
                .await
                .expect(StatusCode::CREATED);
        }
        // The sign-up budget is its own: logins from there still count apart.
        login_from(&app, from, &[], "ghost", "1234")
            .await
            .expect(StatusCode::UNAUTHORIZED);
        sign_up_from(&app, peer("198.51.100.31"), None, "newcomer3")
            .await
            .expect(StatusCode::CREATED);
    }
}

http_tests! {
    async fn a_signed_in_customer_spends_the_sign_up_budget_like_a_stranger(app) {
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        let app = limited(app, &address_budget(2));
        let from = peer("198.51.100.40");
        for n in 0..2 {
            sign_up_from(&app, from, Some(&customer.token), &format!("made{n}"))
                .await
                .expect(StatusCode::CREATED);
        }
        assert_throttled(sign_up_from(&app, from, Some(&customer.token), "made2").await);
        // Neither a stranger nor an agent gets round it from there.
        assert_throttled(sign_up_from(&app, from, None, "made3").await);
        assert_throttled(sign_up_from(&app, from, Some(&agent.token), "made4").await);
        // Nor does a taken name (a probe) go unspent.
        let elsewhere = peer("198.51.100.41");
        for _ in 0..2 {
            sign_up_from(&app, elsewhere, Some(&customer.token), "kayode")
                .await
                .expect(StatusCode::CONFLICT);
        }
        assert_throttled(sign_up_from(&app, elsewhere, Some(&customer.token), "kayode").await);
    }
}

http_tests! {
    async fn pin_changes_have_an_address_budget(app) {
        let customer = app.customer("kayode").await;
        let app = limited(app, &address_budget(3));
        let from = peer("198.51.100.50");
        let mut token = customer.token.clone();
        let mut current = PIN.to_owned();
        for n in 0..3 {
            let new = format!("48{n}{n}");
            let body = json!({"currentPin": current, "newPin": new});
            let changed = app
                .send(request_from(from, Method::PUT, "/api/v1/users/me/pin", Some(&token), &[], body))
                .await
                .expect(StatusCode::OK);
            token = changed.json()["token"].as_str().expect("a fresh token").to_owned();
            current = new;
        }
        let body = json!({"currentPin": current, "newPin": "9999"});
        assert_throttled(
            app.send(request_from(from, Method::PUT, "/api/v1/users/me/pin", Some(&token), &[], body.clone()))
                .await,
        );
        // The refused change changed nothing: the PIN is still the last one.
        app.send(request_from(peer("198.51.100.51"), Method::PUT, "/api/v1/users/me/pin", Some(&token), &[], body))
            .await
            .expect(StatusCode::OK);
    }
}

http_tests! {
    async fn a_spray_of_one_pin_over_many_usernames_is_stopped_after_ten_failures(app) {
        // The server's default budgets, as an operator runs it.
        let owner = app.customer("kayode").await;
        let app = limited(app, &LimitSettings::default());
        let (sprayer, other) = (peer("203.0.113.5"), peer("203.0.113.6"));
        let mut checked = 0;
        for n in 0..50 {
            let answer = login_from(&app, sprayer, &[], &format!("target{n}"), "1234").await;
            if answer.status == StatusCode::UNAUTHORIZED {
                checked += 1;
            } else {
                let seconds = assert_throttled(answer);
                assert!(seconds <= 60, "Retry-After {seconds}");
            }
        }
        assert_eq!(checked, 10, "failed logins checked before the address was stopped");
        // Even the right PIN waits from there; elsewhere it gets in.
        assert_throttled(login_from(&app, sprayer, &[], "kayode", PIN).await);
        login_from(&app, other, &[], "kayode", PIN).await.expect(StatusCode::OK);
        let _ = owner;
    }
}

http_tests! {
    async fn an_unknown_username_is_locked_out_exactly_like_a_known_one(app) {
        app.customer("kayode").await;
        let mut answers = Vec::new();
        for name in ["kayode", "nobody"] {
            let mut seen = Vec::new();
            for _ in 0..7 {
                let answer = app.login(name, "9999").await;
                let retry_after = answer.headers.get(header::RETRY_AFTER).map(|v| v.to_str().expect("ascii").to_owned());
                seen.push((answer.status, answer.json()["message"].clone(), retry_after.is_some()));
            }
            answers.push(seen);
        }
        assert_eq!(answers[0], answers[1], "a lock-out must not tell which usernames exist");
        assert_eq!(answers[1][5].0, StatusCode::TOO_MANY_REQUESTS);
        assert!(answers[1][5].2, "Retry-After");
    }
}

http_tests! {
    async fn new_tickets_and_replies_share_one_budget_per_account(app) {
        let kayode = app.customer("kayode").await;
        let ada = app.customer("ada").await;
        let agent = app.agent().await;
        let app = limited(
            app,
            &LimitSettings {
                account_writes_per_minute: 3,
                ..LimitSettings::off()
            },
        );
        let mut opened = Vec::new();
        for n in 0..3 {
            opened.push(app.open_ticket(&kayode, &format!("ticket {n}")).await);
        }
        let fourth = app
            .post("/api/v1/tickets", &kayode, json!({"subject": "Issue", "body": "one more"}))
            .await;
        assert_throttled(fourth);

        // Another account is unaffected: ada opens a ticket, the agent replies.
        let adas = app.open_ticket(&ada, "my ticket").await;
        app.reply(&agent, adas, "looking").await.expect(StatusCode::CREATED);
        for &ticket in &opened[..2] {
            app.reply(&agent, ticket, "looking").await.expect(StatusCode::CREATED);
        }
        assert_throttled(app.reply(&agent, opened[2], "one too many").await);

        // Replies and new tickets spend the same budget.
        app.reply(&ada, adas, "thanks").await.expect(StatusCode::CREATED);
        app.open_ticket(&ada, "another").await;
        assert_throttled(app.reply(&ada, adas, "and another").await);
        let refused = app
            .post("/api/v1/tickets", &ada, json!({"body": "and another"}))
            .await;
        assert_throttled(refused);
    }
}

http_tests! {
    async fn logins_beyond_the_hashing_queue_answer_503_never_500(app) {
        app.customer("kayode").await;
        let options = StoreOptions {
            hashing: store::HashLimits { workers: 1, queue: 0 },
            ..StoreOptions::default()
        };
        let store = second_store(&app, options).await;
        let app = Arc::new(limited_by(app, store, &LimitSettings::off()));
        let mut busy = 0;
        // One round nearly always meets a full queue; a few make it certain.
        for round in 0..5 {
            let logins: Vec<_> = (0..12)
                .map(|n| {
                    let app = Arc::clone(&app);
                    let username = format!("ghost{round}x{n}");
                    tokio::spawn(async move { app.login(&username, "1234").await })
                })
                .collect();
            for login in logins {
                let answer = login.await.expect("join");
                match answer.status {
                    StatusCode::UNAUTHORIZED => {
                        answer.expect(StatusCode::UNAUTHORIZED);
                    }
                    StatusCode::SERVICE_UNAVAILABLE => {
                        let answer = answer.expect(StatusCode::SERVICE_UNAVAILABLE);
                        assert_eq!(answer.headers[header::RETRY_AFTER], "1");
                        busy += 1;
                    }
                    other => panic!("a login answered {other}: {}", answer.text()),
                }
            }
            if busy > 0 {
                break;
            }
        }
        assert!(busy > 0, "no login met a full hashing queue");
        app.login("kayode", PIN).await.expect(StatusCode::OK);
    }
}

/// A request with `Authorization` twice.
fn twice_authorized(path: &str, first: &str, second: &str) -> Request<Body> {
    Request::get(path)
        .header(header::AUTHORIZATION, first)
        .header(header::AUTHORIZATION, second)
        .body(Body::empty())
        .expect("request")
}

http_tests! {
    async fn two_authorization_headers_are_refused(app) {
        let kayode = app.customer("kayode").await;
        let agent = app.agent().await;
        let ticket = app.open_ticket(&kayode, "printer on fire").await;
        let one_ticket = format!("/api/v1/tickets/{ticket}");
        let both = [
            (format!("Bearer {}", kayode.token), format!("Bearer {}", agent.token)),
            (format!("Bearer {}", agent.token), "Bearer garbage".to_owned()),
            ("garbage".to_owned(), format!("Bearer {}", kayode.token)),
        ];
        for (first, second) in &both {
            for path in ["/api/v1/tickets", one_ticket.as_str(), "/api/v1/users/me", "/api/v1/tickets/resolved-report"] {
                let answer = app.send(twice_authorized(path, first, second)).await;
                let json = answer.expect(StatusCode::BAD_REQUEST).json();
                assert_eq!(json["message"], json_api::auth::ONE_AUTHORIZATION, "{path}");
            }
        }
        // One of them alone is fine.
        app.get(&one_ticket, &kayode).await.expect(StatusCode::OK);
    }
}

/// A POST declaring `Content-Length: 100000` whose body never comes.
fn declared_oversize(path: &str, token: &str, expect_continue: bool) -> Request<Body> {
    let mut builder = Request::post(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, "100000");
    if expect_continue {
        builder = builder.header(header::EXPECT, "100-continue");
    }
    let never = futures_util::stream::pending::<Result<Bytes, std::io::Error>>();
    builder.body(Body::from_stream(never)).expect("request")
}

http_tests! {
    async fn a_body_declared_over_64_kib_is_refused_before_it_is_read(app) {
        let kayode = app.customer("kayode").await;
        for path in ["/api/v1/login", "/api/v1/tickets"] {
            for expect_continue in [false, true] {
                let request = declared_oversize(path, &kayode.token, expect_continue);
                let answer = tokio::time::timeout(Duration::from_secs(5), app.send(request))
                    .await
                    .unwrap_or_else(|_| panic!("{path} waited for a body it must refuse unread"));
                answer.expect(StatusCode::PAYLOAD_TOO_LARGE);
            }
        }
    }
}

#[track_caller]
fn assert_nosniff(answer: &Answer, what: &str) {
    assert_eq!(
        answer
            .headers
            .get(header::X_CONTENT_TYPE_OPTIONS)
            .map(|v| v.as_bytes()),
        Some(&b"nosniff"[..]),
        "{what}: {:?}",
        answer.headers
    );
}

http_tests! {
    async fn tokens_are_never_cached_and_no_answer_may_be_sniffed(app) {
        let kayode = app.customer("kayode").await;
        let agent = app.agent().await;
        let login = app.login("kayode", PIN).await.expect(StatusCode::OK);
        assert_eq!(login.headers[header::CACHE_CONTROL], "no-store");
        assert_nosniff(&login, "login");
        let changed = app
            .put("/api/v1/users/me/pin", &kayode, json!({"currentPin": PIN, "newPin": "4821"}))
            .await
            .expect(StatusCode::OK);
        assert_eq!(changed.headers[header::CACHE_CONTROL], "no-store");
        let kayode = Session {
            token: changed.json()["token"].as_str().expect("token").to_owned(),
            ..kayode
        };

        let listed = app.get("/api/v1/tickets", &kayode).await.expect(StatusCode::OK);
        assert_nosniff(&listed, "a JSON 200");
        let missing = app.get("/api/v1/tickets/987654", &kayode).await;
        let missing = missing.expect(StatusCode::NOT_FOUND);
        assert_nosniff(&missing, "a 404");
        let unmatched = app.request(Method::GET, "/no/such/route", None, None).await;
        assert_nosniff(&unmatched.expect(StatusCode::NOT_FOUND), "an unmatched route");
        let report = app.get("/api/v1/tickets/resolved-report", &agent).await;
        assert_eq!(report.status, StatusCode::OK);
        assert_nosniff(&report, "the CSV report");
        let health = app.request(Method::GET, "/health", None, None).await;
        assert_eq!(health.status, StatusCode::OK);
        assert_nosniff(&health, "/health");
        let docs = app.request(Method::GET, "/docs/", None, None).await;
        assert_eq!(docs.status, StatusCode::OK);
        assert_nosniff(&docs, "/docs/");
    }
}

const ZERO_WIDTH: &str = "\u{200b}\u{200d}\u{feff}";

http_tests! {
    async fn a_body_of_zero_width_characters_is_blank(app) {
        let kayode = app.customer("kayode").await;
        let agent = app.agent().await;
        app.post("/api/v1/tickets", &kayode, json!({"subject": "Issue", "body": ZERO_WIDTH}))
            .await
            .expect(StatusCode::BAD_REQUEST);
        let ticket = app.open_ticket(&kayode, "printer on fire").await;
        app.reply(&agent, ticket, ZERO_WIDTH).await.expect(StatusCode::BAD_REQUEST);
        app.reply(&agent, ticket, "on it").await.expect(StatusCode::CREATED);
        app.reply(&kayode, ticket, ZERO_WIDTH).await.expect(StatusCode::BAD_REQUEST);
        // Issue 25, finding 5: fillers and format characters show nothing too.
        for blank in ["\u{2800}\u{2800}", "\u{3164}", "\u{115f}\u{1160}\u{ffa0}", "\u{202e}\u{e0020}\u{fe0f}\u{34f}"] {
            app.reply(&kayode, ticket, blank).await.expect(StatusCode::BAD_REQUEST);
            app.post("/api/v1/tickets", &kayode, json!({"subject": "Issue", "body": blank}))
                .await
                .expect(StatusCode::BAD_REQUEST);
        }
    }
}

http_tests! {
    async fn a_request_past_its_time_answers_503_long_before_the_pool_gives_up(app) {
        let kayode = app.customer("kayode").await;
        let options = StoreOptions {
            max_size: Some(1),
            connection_timeout: Duration::from_secs(30),
            ..StoreOptions::default()
        };
        let store = second_store(&app, options).await;
        let held = {
            let store = store.clone();
            tokio::task::spawn_blocking(move || {
                testkit::hold_connection(&store).expect("a connection")
            })
            .await
            .expect("join")
        };
        let settings = LimitSettings {
            request_timeout: Duration::from_secs(1),
            ..LimitSettings::off()
        };
        let app = limited_by(app, store, &settings);
        let started = Instant::now();
        // Even the token's check waits for the one connection.
        app.get("/api/v1/tickets", &kayode)
            .await
            .expect(StatusCode::SERVICE_UNAVAILABLE);
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(900), "answered after {waited:?}");
        assert!(waited < Duration::from_secs(5), "answered after {waited:?}");
        drop(held);
        app.get("/api/v1/tickets", &kayode).await.expect(StatusCode::OK);
    }
}

fn report_request(session: &Session) -> Request<Body> {
    Request::get("/api/v1/tickets/resolved-report")
        .header(header::AUTHORIZATION, format!("Bearer {}", session.token))
        .body(Body::empty())
        .expect("request")
}

/// Reads an unread response into an [`Answer`] (an error body, here).
async fn read_whole(response: axum::response::Response) -> Answer {
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("body").to_bytes().to_vec();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

http_tests! {
    async fn stalled_report_readers_neither_starve_the_pool_nor_hold_their_places(app) {
        let kayode = app.customer("kayode").await;
        let agent = app.agent().await;
        let author = kayode.actor().id();
        let now = Utc::now();
        let big_body = "x".repeat(500);
        let tickets: Vec<_> = (0..3_000)
            .map(|i| {
                super::report::resolved(author, Some("bulk"), &big_body, now - TimeDelta::seconds(10 + i))
            })
            .collect();
        let ids = app
            .with_store(move |store| store.bulk_load_tickets(&tickets))
            .await
            .expect("seed");
        // A request pool of two: were reports read on it, two stalled ones
        // would leave nothing for anyone else.
        let options = StoreOptions { max_size: Some(2), ..StoreOptions::default() };
        let store = second_store(&app, options).await;
        let settings = LimitSettings {
            request_timeout: Duration::from_secs(2),
            ..LimitSettings::off()
        };
        let app = limited_by(app, store, &settings);

        let started = Instant::now();
        let responses = futures_util::future::join_all(
            (0..8).map(|_| app.send_raw(report_request(&agent))),
        )
        .await;
        let mut stalled = Vec::new();
        let mut refused = 0;
        for response in responses {
            match response.status() {
                StatusCode::OK => stalled.push(response),
                StatusCode::TOO_MANY_REQUESTS => {
                    let answer = read_whole(response).await;
                    let seconds = assert_throttled(answer);
                    assert!(seconds <= 60, "Retry-After {seconds}");
                    refused += 1;
                }
                other => panic!("a report answered {other}"),
            }
        }
        assert_eq!((stalled.len(), refused), (2, 6));

        // Two readers that read nothing: everyone else is served.
        for _ in 0..3 {
            let listed = app.get("/api/v1/tickets", &kayode).await.expect(StatusCode::OK);
            assert!(listed.data().as_array().is_some_and(|page| !page.is_empty()));
            app.get(&format!("/api/v1/tickets/{}", ids[0]), &kayode)
                .await
                .expect(StatusCode::OK);
        }

        // Past the stall timeout the stalled readers are cut off and their
        // places are free again, while they still hold their responses.
        tokio::time::sleep(Duration::from_secs(4).saturating_sub(started.elapsed())).await;
        let fresh = app.send_raw(report_request(&agent)).await;
        assert_eq!(fresh.status(), StatusCode::OK, "the stalled reports still hold the places");
        let whole = fresh.into_body().collect().await.expect("a whole report").to_bytes();
        assert!(whole.len() > 3_000 * 500, "{} bytes", whole.len());
        let lines = whole.windows(2).filter(|pair| pair == b"\r\n").count();
        assert_eq!(lines, 3_001, "a header and every row");

        let mut stalled = stalled.into_iter();
        let cut_off = stalled.next().expect("a stalled report").into_body().collect().await;
        assert!(cut_off.is_err(), "a stalled report must end in an error, not look complete");
        drop(stalled);
    }
}
