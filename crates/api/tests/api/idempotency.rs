//! Idempotent creation: `Idempotency-Key` on `POST /tickets`,
//! `POST /tickets/:id/replies` and `POST /users`. A retry gets the first
//! answer again (`Idempotent-Replayed: true`) and changes nothing; another
//! body is 422; a retry while the first is in flight is 409; refusals are
//! kept like successes, but a 401 is not.

use testkit::fingerprint::fingerprint;

use super::conditional::send_with;
use super::*;

const REPLAYED: &str = "idempotent-replayed";

async fn post_keyed(
    app: &TestApp,
    path: &str,
    session: Option<&Session>,
    key: &str,
    body: Value,
) -> Answer {
    send_with(
        app,
        Method::POST,
        path,
        session,
        &[("idempotency-key", key)],
        Some(body),
    )
    .await
}

fn replayed(answer: &Answer) -> bool {
    answer
        .headers
        .get(REPLAYED)
        .is_some_and(|value| value == "true")
}

async fn ticket_count(app: &TestApp, session: &Session) -> usize {
    let answer = app
        .get("/api/v1/tickets?limit=100", session)
        .await
        .expect(StatusCode::OK);
    answer.json()["data"].as_array().expect("a list").len()
}

http_tests! {
    async fn the_same_post_sent_20_times_at_once_with_one_key_opens_one_ticket(app) {
        let customer = app.customer("kayode").await;
        let body = json!({"subject": "Printer", "body": "printer on fire"});
        let sends = (0..20).map(|_| post_keyed(&app, "/api/v1/tickets", Some(&customer), "retry-me-7", body.clone()));
        let answers = futures_util::future::join_all(sends).await;
        let created: Vec<&Answer> = answers.iter().filter(|a| a.status == StatusCode::CREATED).collect();
        assert!(!created.is_empty(), "one of them at least was answered");
        for answer in &answers {
            assert!(
                answer.status == StatusCode::CREATED || answer.status == StatusCode::CONFLICT,
                "{} {}",
                answer.status,
                answer.text()
            );
            if answer.status == StatusCode::CONFLICT {
                assert!(answer.json()["message"].as_str().is_some_and(|m| m.contains("still being answered")));
            }
        }
        for answer in &created {
            assert_eq!(answer.body, created[0].body, "every 201 is the same answer");
        }
        assert_eq!(created.iter().filter(|a| !replayed(a)).count(), 1, "one did the work");
        assert_eq!(ticket_count(&app, &customer).await, 1, "one ticket");

        let again = post_keyed(&app, "/api/v1/tickets", Some(&customer), "retry-me-7", body).await;
        assert_eq!(again.status, StatusCode::CREATED);
        assert!(replayed(&again));
        assert_eq!(again.body, created[0].body);
        assert_eq!(ticket_count(&app, &customer).await, 1);
    }
}

http_tests! {
    async fn a_retry_gets_the_first_answer_and_another_body_is_422(app) {
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        let ticket = app.open_ticket(&customer, "printer on fire").await;
        let path = format!("/api/v1/tickets/{ticket}/replies");
        let first = post_keyed(&app, &path, Some(&agent), "reply-1", json!({"body": "on my way"}))
            .await
            .expect(StatusCode::CREATED);
        assert!(!replayed(&first), "the first answer is not a replay");
        let before = app.with_store(|store| fingerprint(store).expect("fingerprint")).await;

        let again = post_keyed(&app, &path, Some(&agent), "reply-1", json!({"body": "on my way"})).await;
        assert_eq!(again.status, StatusCode::CREATED);
        assert!(replayed(&again));
        assert_eq!(again.body, first.body, "the same status and body");

        let other = post_keyed(&app, &path, Some(&agent), "reply-1", json!({"body": "on my way!"}))
            .await
            .expect(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(other.json()["code"], "unprocessable_content");
        assert!(!replayed(&other));
        let after = app.with_store(|store| fingerprint(store).expect("fingerprint")).await;
        assert_eq!(after, before, "neither changed anything");

        // A new key is a new request.
        post_keyed(&app, &path, Some(&agent), "reply-2", json!({"body": "on my way"}))
            .await
            .expect(StatusCode::CREATED);
    }
}

http_tests! {
    async fn a_key_is_its_callers_alone_and_its_paths(app) {
        let customer = app.customer("kayode").await;
        let other = app.customer("tolu").await;
        let body = json!({"body": "printer on fire"});
        let mine = post_keyed(&app, "/api/v1/tickets", Some(&customer), "shared", body.clone())
            .await
            .expect(StatusCode::CREATED);
        let theirs = post_keyed(&app, "/api/v1/tickets", Some(&other), "shared", body.clone())
            .await
            .expect(StatusCode::CREATED);
        assert!(!replayed(&theirs), "another account's key is another key");
        assert_ne!(mine.data()["ticketId"], theirs.data()["ticketId"]);
        let ticket = mine.data()["ticketId"].as_i64().expect("id");
        let agent = app.agent().await;
        app.reply(&agent, ticket, "hello").await.expect(StatusCode::CREATED);
        let reply = post_keyed(&app, &format!("/api/v1/tickets/{ticket}/replies"), Some(&customer), "shared", body)
            .await
            .expect(StatusCode::CREATED);
        assert!(!replayed(&reply), "another path's key is another key");
    }
}

http_tests! {
    async fn a_key_that_is_not_1_to_255_visible_ascii_characters_is_400(app) {
        let customer = app.customer("kayode").await;
        let long = "k".repeat(256);
        for bad in ["", " ", "two words", long.as_str()] {
            let answer = post_keyed(&app, "/api/v1/tickets", Some(&customer), bad, json!({"body": "x"}))
                .await
                .expect(StatusCode::BAD_REQUEST);
            assert!(answer.json()["message"].as_str().is_some_and(|m| m.contains("Idempotency-Key")), "{bad:?}: {}", answer.text());
        }
        let request = Request::post("/api/v1/tickets")
            .header(header::AUTHORIZATION, format!("Bearer {}", customer.token))
            .header(header::CONTENT_TYPE, "application/json")
            .header("idempotency-key", HeaderValue::from_bytes(b"caf\xe9").expect("obs-text"))
            .body(Body::from(json!({"body": "x"}).to_string()))
            .expect("request");
        app.send(request).await.expect(StatusCode::BAD_REQUEST);
        let request = Request::post("/api/v1/tickets")
            .header(header::AUTHORIZATION, format!("Bearer {}", customer.token))
            .header(header::CONTENT_TYPE, "application/json")
            .header("idempotency-key", "one")
            .header("idempotency-key", "two")
            .body(Body::from(json!({"body": "x"}).to_string()))
            .expect("request");
        app.send(request).await.expect(StatusCode::BAD_REQUEST);
        assert_eq!(ticket_count(&app, &customer).await, 0);
        post_keyed(&app, "/api/v1/tickets", Some(&customer), &"k".repeat(255), json!({"body": "x"}))
            .await
            .expect(StatusCode::CREATED);
    }
}

http_tests! {
    async fn a_refusal_is_kept_and_given_again_even_once_the_request_would_succeed(app) {
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        let ticket = app.open_ticket(&customer, "printer on fire").await;
        let path = format!("/api/v1/tickets/{ticket}/replies");
        // A customer waits for an agent's reply first: 409, kept.
        let early = post_keyed(&app, &path, Some(&customer), "early", json!({"body": "hello?"}))
            .await
            .expect(StatusCode::CONFLICT);
        app.reply(&agent, ticket, "hello").await.expect(StatusCode::CREATED);
        let again = post_keyed(&app, &path, Some(&customer), "early", json!({"body": "hello?"})).await;
        assert_eq!(again.status, StatusCode::CONFLICT);
        assert!(replayed(&again));
        assert_eq!(again.body, early.body, "the same mistake, the same answer");
        // A malformed body is a mistake too.
        let bad = post_keyed(&app, "/api/v1/tickets", Some(&customer), "blank", json!({"body": "  "}))
            .await
            .expect(StatusCode::BAD_REQUEST);
        let bad_again = post_keyed(&app, "/api/v1/tickets", Some(&customer), "blank", json!({"body": "  "})).await;
        assert_eq!(bad_again.status, StatusCode::BAD_REQUEST);
        assert!(replayed(&bad_again));
        assert_eq!(bad_again.body, bad.body);
        // A new key runs the request now.
        post_keyed(&app, &path, Some(&customer), "later", json!({"body": "hello?"}))
            .await
            .expect(StatusCode::CREATED);
    }
}

http_tests! {
    async fn a_401_is_not_kept_so_the_retry_with_a_new_token_runs(app) {
        let admin = app.admin().await;
        let customer = app.customer("kayode").await;
        app.patch(&format!("/api/v1/users/{}", customer.id), &admin, json!({"active": false}))
            .await
            .expect(StatusCode::OK);
        post_keyed(&app, "/api/v1/tickets", Some(&customer), "k", json!({"body": "x"}))
            .await
            .expect(StatusCode::UNAUTHORIZED);
        app.patch(&format!("/api/v1/users/{}", customer.id), &admin, json!({"active": true}))
            .await
            .expect(StatusCode::OK);
        let customer = app.customer("kayode").await;
        let created = post_keyed(&app, "/api/v1/tickets", Some(&customer), "k", json!({"body": "x"}))
            .await
            .expect(StatusCode::CREATED);
        assert!(!replayed(&created));
        // A token whose session ended gets no answer of its account again.
        app.patch(&format!("/api/v1/users/{}", customer.id), &admin, json!({"active": false}))
            .await
            .expect(StatusCode::OK);
        let ended = post_keyed(&app, "/api/v1/tickets", Some(&customer), "k", json!({"body": "x"}))
            .await
            .expect(StatusCode::UNAUTHORIZED);
        assert!(!replayed(&ended));
        // A token that does not verify is refused as without a key.
        let forged = Session { token: "garbage".to_owned(), ..customer.clone() };
        post_keyed(&app, "/api/v1/tickets", Some(&forged), "k", json!({"body": "x"}))
            .await
            .expect(StatusCode::UNAUTHORIZED);
    }
}

http_tests! {
    async fn a_sign_up_is_keyed_by_the_client_address(app) {
        let body = json!({"username": "kayode", "pin": "0000"});
        let first = post_keyed(&app, "/api/v1/users", None, "signup-1", body.clone())
            .await
            .expect(StatusCode::CREATED);
        let again = post_keyed(&app, "/api/v1/users", None, "signup-1", body).await;
        assert_eq!(again.status, StatusCode::CREATED, "not 409 for a taken username: {}", again.text());
        assert!(replayed(&again));
        assert_eq!(again.body, first.body);
        post_keyed(&app, "/api/v1/users", None, "signup-1", json!({"username": "tolu", "pin": "0000"}))
            .await
            .expect(StatusCode::UNPROCESSABLE_ENTITY);
        app.login("kayode", "0000").await.expect(StatusCode::OK);
        app.login("tolu", "0000").await.expect(StatusCode::UNAUTHORIZED);
        // An admin's key is their account's, not the address's.
        let admin = app.admin().await;
        let staff = post_keyed(&app, "/api/v1/users", Some(&admin), "signup-1", json!({"username": "marta", "pin": "0000", "role": "SUPPORT_AGENT"}))
            .await
            .expect(StatusCode::CREATED);
        assert!(!replayed(&staff));
    }
}

http_tests! {
    async fn a_request_without_a_key_is_not_idempotent(app) {
        let customer = app.customer("kayode").await;
        app.open_ticket(&customer, "printer on fire").await;
        app.open_ticket(&customer, "printer on fire").await;
        assert_eq!(ticket_count(&app, &customer).await, 2);
        // A key on a route that takes none is ignored.
        let ticket = app.open_ticket(&customer, "x").await;
        let agent = app.agent().await;
        for _ in 0..2 {
            let answer = send_with(&app, Method::PATCH, &format!("/api/v1/tickets/{ticket}"), Some(&agent), &[("idempotency-key", "k")], Some(json!({"priority": "HIGH"})))
                .await
                .expect(StatusCode::OK);
            assert!(!replayed(&answer));
        }
    }
}

http_tests! {
    async fn an_answer_that_says_come_back_later_lets_the_key_go(app) {
        let limits = edge::limits::LimitSettings {
            account_writes_per_minute: 1,
            ..edge::limits::LimitSettings::off()
        };
                let state = shared_state(app.db.store().clone(), &limits, None);
        let app = app.with_router(api::router(state));
        let customer = app.customer("kayode").await;
        app.open_ticket(&customer, "the one write this minute").await;
        let body = json!({"body": "printer on fire"});
        post_keyed(&app, "/api/v1/tickets", Some(&customer), "later", body.clone())
            .await
            .expect(StatusCode::TOO_MANY_REQUESTS);
        // The key is free again: the same request takes it afresh.
        let keyed = domain::idempotency::KeyedRequest {
            scope: domain::idempotency::KeyScope::new(
                &domain::idempotency::KeyOwner::Account(customer.actor().id()),
                "POST",
                "/api/v1/tickets",
            ),
            key: domain::idempotency::IdempotencyKey::parse("later").expect("valid"),
            fingerprint: domain::idempotency::Fingerprint::of(body.to_string().as_bytes()),
        };
        let claimed = app
            .with_store(move |store| store.claim_idempotency_key(&keyed, Duration::from_secs(30)))
            .await
            .expect("claim");
        assert!(matches!(claimed, store::Claimed::Fresh(_)), "{claimed:?}");
    }
}

http_tests! {
    /// The layer finds the caller before the route does and leaves it in
    /// the request: a keyed creation with an API token looks the token up
    /// as often as one without a key, not once more.
    async fn a_keyed_request_looks_its_api_token_up_once(app) {
        let customer = app.customer("kayode").await;
        let created = app
            .post("/api/v1/users/me/tokens", &customer, json!({"name": "form backend"}))
            .await
            .expect(StatusCode::CREATED)
            .data();
        let program = Session {
            token: created["token"].as_str().expect("token").to_owned(),
            ..customer.clone()
        };
        // Its first use writes `lastUsedAt`; the counted requests do not.
        app.get("/api/v1/users/me", &program).await.expect(StatusCode::OK);
        let lookups = |log: &testkit::QueryLog| {
            log.take()
                .iter()
                .filter(|sql| sql.contains("`api_tokens`") || sql.contains("\"api_tokens\""))
                .count()
        };
        let log = testkit::record_queries(app.db.store());
        app.post("/api/v1/tickets", &program, json!({"body": "Unkeyed"}))
            .await
            .expect(StatusCode::CREATED);
        let unkeyed = lookups(&log);
        post_keyed(&app, "/api/v1/tickets", Some(&program), "form-42", json!({"body": "Keyed"}))
            .await
            .expect(StatusCode::CREATED);
        let keyed = lookups(&log);
        assert!(unkeyed > 0, "the token is looked up");
        assert_eq!(keyed, unkeyed);
    }
}
