//! A PIN reset by mail through the API: the request answered alike
//! whatever matched (and who is mailed, read from the outbox), its
//! budgets, mail off, and the link: what it ends, what it clears, and
//! every way it stops working.

use chrono::{TimeDelta, Utc};
use domain::OutgoingMail;
use edge::limits::LimitSettings;

use super::*;

const RESETS: &str = "/api/v1/pin-resets";

/// A fresh app with mail on and every budget off.
fn mailing(app: TestApp) -> TestApp {
    app.with_mail(&LimitSettings::off())
}

async fn request_reset(app: &TestApp, body: Value) -> Answer {
    app.request(Method::POST, RESETS, None, Some(body)).await
}

pub(super) async fn use_link(app: &TestApp, token: &str, new_pin: &str) -> Answer {
    app.request(
        Method::POST,
        &format!("{RESETS}/{token}"),
        None,
        Some(json!({ "newPin": new_pin })),
    )
    .await
}

/// The PIN reset mails waiting in the outbox: address and nonce.
async fn reset_mails(app: &TestApp) -> Vec<(String, domain::PinResetMail)> {
    app.with_store(|store| store::test_hooks::pending_mail(store).expect("pending mail"))
        .await
        .into_iter()
        .filter_map(|(to, mail)| match mail {
            OutgoingMail::PinReset(mail) => Some((to, mail)),
            OutgoingMail::Notification(_) => None,
        })
        .collect()
}

/// The token of the link the newest reset mail carries, as the mail
/// worker derives it from the nonce with the server's secret.
pub(super) async fn newest_link(app: &TestApp) -> String {
    let (_, mail) = reset_mails(app).await.pop().expect("a reset mail");
    test_keys().pin_reset_token(&mail.nonce)
}

/// Gives `session`'s account `address`.
async fn set_address(app: &TestApp, session: &Session, address: &str) {
    app.patch("/api/v1/users/me", session, json!({ "email": address }))
        .await
        .expect(StatusCode::OK);
}

/// Runs SQL as another client of the test database.
async fn execute(app: &TestApp, sql: String) {
    let mut client = app.db.other_client();
    tokio::task::spawn_blocking(move || client.execute(&sql))
        .await
        .expect("join");
}

/// A time `minutes` from now as both databases read a timestamp literal.
fn minutes_from_now(minutes: i64) -> String {
    (Utc::now() + TimeDelta::minutes(minutes))
        .naive_utc()
        .format("%Y-%m-%d %H:%M:%S%.6f")
        .to_string()
}

http_tests! {
    async fn a_request_is_answered_alike_and_only_an_active_account_with_an_address_is_mailed(app) {
        let app = mailing(app);
        let admin = app.admin().await;
        let customer = app.customer("kayode").await;
        set_address(&app, &customer, "kayode@example.com").await;
        app.customer("ada").await; // no address
        let gone = app.customer("gone").await;
        set_address(&app, &gone, "gone@example.com").await;
        app.patch(&format!("/api/v1/users/{}", gone.id), &admin, json!({"active": false}))
            .await
            .expect(StatusCode::OK);

        let mut answers = Vec::new();
        for body in [
            json!({"username": "nobody"}),
            json!({"email": "nobody@example.com"}),
            json!({"username": "ada"}),
            json!({"username": "gone"}),
            json!({"email": "gone@example.com"}),
        ] {
            let answer = request_reset(&app, body).await.expect(StatusCode::ACCEPTED);
            answers.push(answer.json());
        }
        assert!(reset_mails(&app).await.is_empty(), "nobody matched, yet a mail was queued");
        let matched = request_reset(&app, json!({"email": "Kayode@Example.COM"}))
            .await
            .expect(StatusCode::ACCEPTED)
            .json();
        for answer in &answers {
            assert_eq!(answer, &matched, "an answer told a match apart");
        }
        assert_eq!(matched["data"]["linkLifetimeMinutes"], 30);

        let mails = reset_mails(&app).await;
        assert_eq!(mails.len(), 1, "{mails:?}");
        let (to, mail) = &mails[0];
        assert_eq!(to, "kayode@example.com");
        assert_eq!(mail.recipient.to_string(), customer.id);
        assert_eq!(mail.recipient_name, "kayode");
        // The token is in no mail, no answer, no row: only its digest is.
        let token = test_keys().pin_reset_token(&mail.nonce);
        let print = app
            .with_store(|store| testkit::fingerprint::fingerprint(store).expect("fingerprint"))
            .await;
        assert!(!format!("{print:?}").contains(&token), "the token is stored");
        assert!(!matched.to_string().contains(&token));
        // By username too.
        execute(&app, format!("UPDATE pin_resets SET created_at = '{}'", minutes_from_now(-6))).await;
        request_reset(&app, json!({"username": "kayode"})).await.expect(StatusCode::ACCEPTED);
        assert_eq!(reset_mails(&app).await.len(), 2);
    }

    async fn a_request_names_exactly_one_of_address_and_username(app) {
        let app = mailing(app);
        for (body, says) in [
            (json!({}), "email or username is required, not both"),
            (json!({"email": "kayode@example.com", "username": "kayode"}), "email or username is required, not both"),
            (json!({"email": "not an address"}), "email"),
            (json!({"username": ""}), "username"),
            (json!({"email": null}), "email"),
        ] {
            let answer = request_reset(&app, body.clone()).await.expect(StatusCode::BAD_REQUEST);
            let message = answer.json()["message"].as_str().expect("message").to_owned();
            assert!(message.starts_with(says), "{body}: {message}");
        }
    }

    async fn an_account_is_mailed_once_in_five_minutes_and_a_newer_link_voids_the_older(app) {
        let app = mailing(app);
        let customer = app.customer("kayode").await;
        set_address(&app, &customer, "kayode@example.com").await;
        request_reset(&app, json!({"username": "kayode"})).await.expect(StatusCode::ACCEPTED);
        let first = newest_link(&app).await;
        // Within five minutes: the same answer, no mail.
        request_reset(&app, json!({"email": "kayode@example.com"})).await.expect(StatusCode::ACCEPTED);
        assert_eq!(reset_mails(&app).await.len(), 1, "a second mail within five minutes");
        // Six minutes on, a new link, and the first one stops working.
        execute(&app, format!("UPDATE pin_resets SET created_at = '{}'", minutes_from_now(-6))).await;
        request_reset(&app, json!({"username": "kayode"})).await.expect(StatusCode::ACCEPTED);
        assert_eq!(reset_mails(&app).await.len(), 2);
        let second = newest_link(&app).await;
        assert_ne!(first, second);
        use_link(&app, &first, "4321").await.expect(StatusCode::NOT_FOUND);
        use_link(&app, &second, "4321").await.expect(StatusCode::OK);
        app.login("kayode", "4321").await.expect(StatusCode::OK);
    }

    async fn an_address_spends_its_budget_of_reset_requests(app) {
        let budgets = LimitSettings {
            address_per_minute: 2,
            ..LimitSettings::off()
        };
        let app = app.with_mail(&budgets);
        for _ in 0..2 {
            request_reset(&app, json!({"username": "nobody"})).await.expect(StatusCode::ACCEPTED);
        }
        let refused = request_reset(&app, json!({"username": "nobody"}))
            .await
            .expect(StatusCode::TOO_MANY_REQUESTS);
        assert!(refused.headers.contains_key(header::RETRY_AFTER), "{:?}", refused.headers);
        assert_eq!(
            refused.json()["message"],
            edge::limits::TOO_MANY_PIN_RESETS
        );
        // A link's use spends from the same budget.
        use_link(&app, "x", "4321").await.expect(StatusCode::TOO_MANY_REQUESTS);
    }

    async fn with_mail_off_every_reset_request_is_a_503(app) {
        let customer = app.customer("kayode").await;
        set_address(&app, &customer, "kayode@example.com").await;
        for body in [json!({"username": "kayode"}), json!({"email": "kayode@example.com"}), json!({"username": "nobody"})] {
            let answer = request_reset(&app, body).await.expect(StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(answer.json()["message"], edge::problem::NO_MAIL);
            assert_eq!(answer.json()["code"], "unavailable");
        }
        let token = test_keys().pin_reset_token("any nonce");
        use_link(&app, &token, "4321").await.expect(StatusCode::SERVICE_UNAVAILABLE);
        assert!(reset_mails(&app).await.is_empty());
    }

    async fn a_link_sets_the_pin_ends_every_session_and_token_and_clears_the_lock(app) {
        let app = mailing(app);
        let customer = app.customer("kayode").await;
        set_address(&app, &customer, "kayode@example.com").await;
        let program = app
            .post("/api/v1/users/me/tokens", &customer, json!({"name": "crm"}))
            .await
            .expect(StatusCode::CREATED)
            .data()["token"]
            .as_str()
            .expect("token")
            .to_owned();
        // Locked out by wrong guesses.
        for _ in 0..5 {
            app.login("kayode", "9999").await.expect(StatusCode::UNAUTHORIZED);
        }
        app.login("kayode", PIN).await.expect(StatusCode::TOO_MANY_REQUESTS);

        request_reset(&app, json!({"email": "kayode@example.com"})).await.expect(StatusCode::ACCEPTED);
        let link = newest_link(&app).await;
        let done = use_link(&app, &link, "4321").await.expect(StatusCode::OK);
        assert_eq!(done.data()["username"], "kayode");
        assert!(done.json().get("token").is_none(), "a reset signs no one in");

        // What the old PIN opened is closed.
        app.get("/api/v1/users/me", &customer).await.expect(StatusCode::UNAUTHORIZED);
        let with_program = Session { token: program, ..customer.clone() };
        app.get("/api/v1/users/me", &with_program).await.expect(StatusCode::UNAUTHORIZED);
        app.login("kayode", PIN).await.expect(StatusCode::UNAUTHORIZED);
        // The lock-out is cleared: the new PIN signs in at once.
        let signed_in = app.login("kayode", "4321").await.expect(StatusCode::OK);
        assert!(signed_in.json()["token"].is_string());

        // Used once, then the same 404 as a link that never was.
        let reused = use_link(&app, &link, "5555").await.expect(StatusCode::NOT_FOUND);
        let unknown = use_link(&app, &test_keys().pin_reset_token("never sent"), "5555")
            .await
            .expect(StatusCode::NOT_FOUND);
        let malformed = use_link(&app, "not-a-token", "5555").await.expect(StatusCode::NOT_FOUND);
        for other in [&unknown, &malformed] {
            assert_eq!(reused.json()["message"], other.json()["message"]);
            assert_eq!(reused.json()["code"], other.json()["code"]);
        }
        app.login("kayode", "4321").await.expect(StatusCode::OK);
        // A bad PIN is a 400, whatever the link.
        use_link(&app, &link, "12").await.expect(StatusCode::BAD_REQUEST);
    }

    async fn an_expired_link_is_a_404(app) {
        let app = mailing(app);
        let customer = app.customer("kayode").await;
        set_address(&app, &customer, "kayode@example.com").await;
        request_reset(&app, json!({"username": "kayode"})).await.expect(StatusCode::ACCEPTED);
        let link = newest_link(&app).await;
        execute(&app, format!("UPDATE pin_resets SET expires_at = '{}'", minutes_from_now(-1))).await;
        let expired = use_link(&app, &link, "4321").await.expect(StatusCode::NOT_FOUND);
        assert_eq!(expired.json()["message"], edge::problem::NOTHING_HERE);
        app.login("kayode", PIN).await.expect(StatusCode::OK);
        // The sweep takes the expired row; the link stays a 404.
        let swept = app.with_store(|store| store.forget_expired_pin_resets().expect("sweep")).await;
        assert_eq!(swept, 1);
        use_link(&app, &link, "4321").await.expect(StatusCode::NOT_FOUND);
    }

    async fn any_other_pin_change_voids_a_pending_link(app) {
        let app = mailing(app);
        let admin = app.admin().await;
        let customer = app.customer("kayode").await;
        set_address(&app, &customer, "kayode@example.com").await;
        // The owner's own change.
        request_reset(&app, json!({"username": "kayode"})).await.expect(StatusCode::ACCEPTED);
        let link = newest_link(&app).await;
        app.put("/api/v1/users/me/pin", &customer, json!({"currentPin": PIN, "newPin": "1111"}))
            .await
            .expect(StatusCode::OK);
        use_link(&app, &link, "4321").await.expect(StatusCode::NOT_FOUND);
        // An admin's reset.
        execute(&app, format!("UPDATE pin_resets SET created_at = '{}'", minutes_from_now(-6))).await;
        request_reset(&app, json!({"username": "kayode"})).await.expect(StatusCode::ACCEPTED);
        let link = newest_link(&app).await;
        app.patch(&format!("/api/v1/users/{}", customer.id), &admin, json!({"pin": "2222"}))
            .await
            .expect(StatusCode::OK);
        use_link(&app, &link, "4321").await.expect(StatusCode::NOT_FOUND);
        app.login("kayode", "2222").await.expect(StatusCode::OK);
        // A deactivation between request and use: the link opens nothing.
        execute(&app, format!("UPDATE pin_resets SET created_at = '{}'", minutes_from_now(-6))).await;
        request_reset(&app, json!({"username": "kayode"})).await.expect(StatusCode::ACCEPTED);
        let link = newest_link(&app).await;
        app.patch(&format!("/api/v1/users/{}", customer.id), &admin, json!({"active": false}))
            .await
            .expect(StatusCode::OK);
        use_link(&app, &link, "4321").await.expect(StatusCode::NOT_FOUND);
    }

    async fn requests_at_once_for_one_account_mail_it_once(app) {
        let app = mailing(app);
        let customer = app.customer("kayode").await;
        set_address(&app, &customer, "kayode@example.com").await;
        let requests = (0..8).map(|n| {
            let body = match n % 2 {
                0 => json!({"username": "kayode"}),
                _ => json!({"email": "kayode@example.com"}),
            };
            request_reset(&app, body)
        });
        for answer in futures_util::future::join_all(requests).await {
            answer.expect(StatusCode::ACCEPTED);
        }
        assert_eq!(reset_mails(&app).await.len(), 1, "requests at once each sent a mail");
    }

    async fn of_uses_of_one_link_at_once_exactly_one_sets_the_pin(app) {
        let app = mailing(app);
        let customer = app.customer("kayode").await;
        set_address(&app, &customer, "kayode@example.com").await;
        request_reset(&app, json!({"username": "kayode"})).await.expect(StatusCode::ACCEPTED);
        let link = newest_link(&app).await;
        let pins = ["1111", "2222", "3333", "4444"];
        let uses = pins.map(|pin| use_link(&app, &link, pin));
        let answers = futures_util::future::join_all(uses).await;
        let statuses: Vec<StatusCode> = answers.iter().map(|answer| answer.status).collect();
        let winners: Vec<&str> = pins
            .iter()
            .zip(&statuses)
            .filter(|(_, status)| **status == StatusCode::OK)
            .map(|(pin, _)| *pin)
            .collect();
        assert_eq!(winners.len(), 1, "{statuses:?}");
        assert!(
            statuses.iter().all(|s| *s == StatusCode::OK || *s == StatusCode::NOT_FOUND),
            "{statuses:?}"
        );
        app.login("kayode", winners[0]).await.expect(StatusCode::OK);
    }
}

// ---------------------------------------------------------------------
// The pages
// ---------------------------------------------------------------------

/// A page as a browser without JavaScript gets it.
struct Page {
    status: StatusCode,
    headers: HeaderMap,
    html: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    }

    /// The session cookie's value this answer sets, if it does.
    fn session_cookie(&self) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find_map(|cookie| cookie.strip_prefix("tracker_session="))
            .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
    }
}

/// GET `path` with the session `cookie`, if any.
async fn open_page(app: &TestApp, path: &str, cookie: Option<&str>) -> Page {
    let mut request = Request::get(path);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, format!("tracker_session={cookie}"));
    }
    page_of(app, request.body(Body::empty()).expect("request")).await
}

/// Posts a form from one of our own pages, signed out.
async fn post_form(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> Page {
    let body = fields
        .iter()
        .map(|(name, value)| format!("{name}={}", form_encode(value)))
        .collect::<Vec<_>>()
        .join("&");
    let request = Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(body))
        .expect("request");
    page_of(app, request).await
}

fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn page_of(app: &TestApp, request: Request<Body>) -> Page {
    let response = app
        .router()
        .clone()
        .oneshot(request)
        .await
        .expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    Page {
        status,
        headers,
        html: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// Signs in through the sign-in form; the session cookie.
async fn sign_in_page(app: &TestApp, username: &str, pin: &str) -> Page {
    post_form(app, "/login", &[("username", username), ("pin", pin)]).await
}

http_tests! {
    async fn the_pages_ask_for_a_link_and_set_the_pin_with_it(app) {
        let app = mailing(app);
        let customer = app.customer("kayode").await;
        set_address(&app, &customer, "kayode@example.com").await;
        let signed_in = sign_in_page(&app, "kayode", PIN).await;
        assert_eq!(signed_in.location(), "/tickets", "{}", signed_in.html);
        let old_session = signed_in.session_cookie().expect("a session cookie");
        assert_eq!(open_page(&app, "/tickets", Some(&old_session)).await.status, StatusCode::OK);

        // The sign-in page leads to the form.
        let sign_in = open_page(&app, "/login", None).await;
        assert!(sign_in.html.contains(r#"href="/reset-pin""#), "{}", sign_in.html);
        let form = open_page(&app, "/reset-pin", None).await;
        assert_eq!(form.status, StatusCode::OK);
        assert!(form.html.contains(r#"action="/reset-pin""#), "{}", form.html);

        // A name that cannot be: refused beside the form, what was typed kept.
        let refused = post_form(&app, "/reset-pin", &[("account", "kay <b>ode")]).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.html);
        assert!(refused.html.contains("kay &#60;b&#62;ode") || refused.html.contains("kay &lt;b&gt;ode"), "{}", refused.html);
        assert!(reset_mails(&app).await.is_empty());

        // A stranger and the owner are told the same.
        let unknown = post_form(&app, "/reset-pin", &[("account", "nobody@example.com")]).await;
        let known = post_form(&app, "/reset-pin", &[("account", "Kayode@Example.com")]).await;
        for answer in [&unknown, &known] {
            assert_eq!((answer.status, answer.location()), (StatusCode::SEE_OTHER, "/reset-pin?done=link-sent"));
        }
        let told = open_page(&app, "/reset-pin?done=link-sent", None).await;
        assert!(told.html.contains("If an account matches"), "{}", told.html);
        let link = newest_link(&app).await;
        assert_eq!(reset_mails(&app).await.len(), 1);

        // The link's form carries the token, not a PIN.
        let new_pin = open_page(&app, &format!("/reset-pin?token={link}"), None).await;
        assert_eq!(new_pin.status, StatusCode::OK);
        assert!(new_pin.html.contains(&format!(r#"name="token" value="{link}""#)), "{}", new_pin.html);
        let differ = post_form(&app, "/reset-pin/new-pin", &[("token", &link), ("pin", "4321"), ("pin_again", "4322")]).await;
        assert_eq!(differ.status, StatusCode::BAD_REQUEST, "{}", differ.html);
        assert!(differ.html.contains("The two PINs differ"), "{}", differ.html);
        assert!(differ.html.contains(&link) && !differ.html.contains("4321"), "{}", differ.html);

        let set = post_form(&app, "/reset-pin/new-pin", &[("token", &link), ("pin", "4321"), ("pin_again", "4321")]).await;
        assert_eq!((set.status, set.location()), (StatusCode::SEE_OTHER, "/login?done=pin-set"), "{}", set.html);
        // The browser signed in before is signed out.
        let ended = open_page(&app, "/tickets", Some(&old_session)).await;
        assert_eq!(ended.status, StatusCode::SEE_OTHER);
        assert!(ended.location().starts_with("/login"), "{}", ended.location());
        // The link works once.
        let again = post_form(&app, "/reset-pin/new-pin", &[("token", &link), ("pin", "5555"), ("pin_again", "5555")]).await;
        assert_eq!(again.status, StatusCode::NOT_FOUND, "{}", again.html);
        assert!(again.html.contains("does not work any more"), "{}", again.html);
        // And the new PIN signs in.
        let back = sign_in_page(&app, "kayode", "4321").await;
        assert_eq!(back.location(), "/tickets", "{}", back.html);
    }

    async fn without_mail_the_pages_offer_no_reset(app) {
        let sign_in = open_page(&app, "/login", None).await;
        assert!(!sign_in.html.contains("/reset-pin"), "{}", sign_in.html);
        for page in [
            open_page(&app, "/reset-pin", None).await,
            post_form(&app, "/reset-pin", &[("account", "kayode")]).await,
        ] {
            assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE, "{}", page.html);
            assert!(page.html.contains("sends no mail"), "{}", page.html);
        }
    }
}
