//! Login, tokens and throttling.

use jsonwebtoken::{EncodingKey, Header};

use super::*;

http_tests! {
    async fn login_answers_the_user_and_a_token_never_the_pin(app) {
        app.customer("kayode").await;
        let answer = app.login("kayode", PIN).await.expect(StatusCode::OK);
        let json = answer.json();
        assert!(
            json["token"]
                .as_str()
                .is_some_and(|t| t.split('.').count() == 3)
        );
        let user = &json["data"];
        assert_eq!(user["username"], "kayode");
        assert_eq!(user["role"], "CUSTOMER");
        for key in ["_id", "createdAt", "updatedAt"] {
            assert!(user[key].is_string(), "{key} missing in {user}");
        }
        assert!(!answer.text().contains("argon2"), "the hash leaked");
        assert!(user.get("pin").is_none());
    }
}

http_tests! {
    async fn unknown_user_wrong_pin_and_malformed_pin_get_one_401_message(app) {
        app.customer("kayode").await;
        let unknown = app
            .login("nobody", PIN)
            .await
            .expect(StatusCode::UNAUTHORIZED)
            .json();
        let wrong = app
            .login("kayode", "1111")
            .await
            .expect(StatusCode::UNAUTHORIZED)
            .json();
        let malformed = app
            .login("kayode", "12")
            .await
            .expect(StatusCode::UNAUTHORIZED)
            .json();
        assert_eq!(unknown["message"], wrong["message"]);
        assert_eq!(unknown["message"], malformed["message"]);
    }
}

http_tests! {
    async fn login_without_username_or_pin_is_400(app) {
        for body in [
            json!({"username": "kayode"}),
            json!({"pin": "0000"}),
            json!({}),
        ] {
            app.request(Method::POST, "/api/v1/login", None, Some(body))
                .await
                .expect(StatusCode::BAD_REQUEST);
        }
    }
}

http_tests! {
    async fn five_failures_lock_the_username_even_for_the_right_pin(app) {
        app.customer("kayode").await;
        for _ in 0..5 {
            app.login("kayode", "9999")
                .await
                .expect(StatusCode::UNAUTHORIZED);
        }
        let locked = app
            .login("kayode", PIN)
            .await
            .expect(StatusCode::TOO_MANY_REQUESTS);
        let retry_after: u64 = locked.headers[header::RETRY_AFTER]
            .to_str()
            .ok()
            .and_then(|v| v.parse().ok())
            .expect("Retry-After in seconds");
        assert!((1..=30).contains(&retry_after), "{retry_after}");
    }
}

http_tests! {
    async fn a_successful_login_resets_the_failure_count(app) {
        app.customer("kayode").await;
        for _ in 0..4 {
            app.login("kayode", "9999")
                .await
                .expect(StatusCode::UNAUTHORIZED);
        }
        app.login("kayode", PIN).await.expect(StatusCode::OK);
        for _ in 0..4 {
            app.login("kayode", "9999")
                .await
                .expect(StatusCode::UNAUTHORIZED);
        }
        app.login("kayode", PIN).await.expect(StatusCode::OK);
    }
}

fn token_with(secret: &str, sub: &str, iat: i64, exp: i64) -> String {
    let claims = json!({"sub": sub, "role": "ADMIN", "iat": iat, "exp": exp});
    jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("encode")
}

http_tests! {
    async fn missing_malformed_expired_and_forged_tokens_are_401(app) {
        let customer = app.customer("kayode").await;
        let now = chrono::Utc::now().timestamp();
        let bad = [
            token_with(SECRET, &customer.id, now - 7200, now - 3600),
            token_with("another-secret", &customer.id, now, now + 3600),
            token_with(SECRET, "999999", now, now + 3600),
            "not.a.token".to_owned(),
        ];
        for token in &bad {
            app.request(Method::GET, "/api/v1/tickets", Some(token), None)
                .await
                .expect(StatusCode::UNAUTHORIZED);
        }
        app.request(Method::GET, "/api/v1/tickets", None, None)
            .await
            .expect(StatusCode::UNAUTHORIZED);
        let basic = Request::get("/api/v1/tickets")
            .header(header::AUTHORIZATION, "Basic a2F5b2RlOjAwMDA=")
            .body(Body::empty())
            .expect("request");
        app.send(basic).await.expect(StatusCode::UNAUTHORIZED);
        // The right secret and a live user still work, so the checks above were not vacuous.
        let good = token_with(SECRET, &customer.id, now, now + 3600);
        app.request(Method::GET, "/api/v1/tickets", Some(&good), None)
            .await
            .expect(StatusCode::OK);
    }
}

http_tests! {
    async fn the_role_comes_from_the_database_not_the_token(app) {
        let admin = app.admin().await;
        let agent = app.agent().await;
        let report = app.get("/api/v1/tickets/resolved-report", &agent).await;
        assert_eq!(report.status, StatusCode::OK);
        app.patch(
            &format!("/api/v1/users/{}", agent.id),
            &admin,
            json!({"role": "CUSTOMER"}),
        )
        .await
        .expect(StatusCode::OK);
        app.get("/api/v1/tickets/resolved-report", &agent)
            .await
            .expect(StatusCode::FORBIDDEN);
    }
}

http_tests! {
    async fn deactivation_stops_login_and_every_token_already_issued(app) {
        let admin = app.admin().await;
        let customer = app.customer("kayode").await;
        let ticket = format!("/api/v1/tickets/{}", app.open_ticket(&customer, "Mine").await);
        app.get(&ticket, &customer).await.expect(StatusCode::OK);
        app.patch(
            &format!("/api/v1/users/{}", customer.id),
            &admin,
            json!({"active": false}),
        )
        .await
        .expect(StatusCode::OK);
        app.get("/api/v1/tickets", &customer)
            .await
            .expect(StatusCode::UNAUTHORIZED);
        // A ticket's read authenticates in the same query as it reads:
        // refused alike whether the ticket exists or not.
        app.get(&ticket, &customer)
            .await
            .expect(StatusCode::UNAUTHORIZED);
        app.get("/api/v1/tickets/999999", &customer)
            .await
            .expect(StatusCode::UNAUTHORIZED);
        let refused = app
            .login("kayode", PIN)
            .await
            .expect(StatusCode::UNAUTHORIZED)
            .json();
        let unknown = app.login("nobody", PIN).await.json();
        assert_eq!(refused["message"], unknown["message"]);
        app.patch(
            &format!("/api/v1/users/{}", customer.id),
            &admin,
            json!({"active": true}),
        )
        .await
        .expect(StatusCode::OK);
        // Reactivation lets the user log in again, but the old token stays dead.
        app.get("/api/v1/tickets", &customer)
            .await
            .expect(StatusCode::UNAUTHORIZED);
        app.get(&ticket, &customer)
            .await
            .expect(StatusCode::UNAUTHORIZED);
        app.login("kayode", PIN).await.expect(StatusCode::OK);
    }
}

http_tests! {
    async fn parallel_guesses_cannot_outrun_the_lock(app) {
        let app = std::sync::Arc::new(app);
        app.customer("kayode").await;
        let guesses: Vec<_> = (0..20)
            .map(|i| {
                let app = app.clone();
                tokio::spawn(async move {
                    // A 503 (the hashing queue is full) counts nothing:
                    // the client tries again, as `Retry-After` says.
                    loop {
                        let status = app.login("kayode", &format!("{:04}", 1000 + i)).await.status;
                        if status != StatusCode::SERVICE_UNAVAILABLE {
                            return status;
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                })
            })
            .collect();
        let mut checked = 0;
        for guess in guesses {
            match guess.await.expect("join") {
                StatusCode::UNAUTHORIZED => checked += 1,
                StatusCode::TOO_MANY_REQUESTS => {}
                other => panic!("unexpected {other}"),
            }
        }
        assert_eq!(
            checked, 5,
            "exactly five guesses were checked before the lock"
        );
    }
}

/// A login sending `cookie` as its `Cookie` header.
async fn login_with_cookie(app: &TestApp, username: &str, pin: &str, cookie: &str) -> Answer {
    let request = Request::post("/api/v1/login")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::COOKIE, cookie)
        .body(Body::from(
            json!({"username": username, "pin": pin}).to_string(),
        ))
        .expect("request");
    app.send(request).await
}

/// The `name=value` part of the device cookie a login answer sets.
fn device_cookie(answer: &Answer) -> String {
    let set_cookie = answer
        .headers
        .get(header::SET_COOKIE)
        .and_then(|value| value.to_str().ok())
        .expect("a device cookie");
    for attribute in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/api/v1/login",
    ] {
        assert!(
            set_cookie.contains(attribute),
            "{attribute} in {set_cookie}"
        );
    }
    set_cookie.split(';').next().expect("name=value").to_owned()
}

http_tests! {
    async fn strangers_wrong_pins_do_not_lock_the_owner_out_of_a_known_device(app) {
        let owner = app.customer("kayode").await;
        app.customer("tolu").await;
        let owners_device = device_cookie(&app.login("kayode", PIN).await.expect(StatusCode::OK));
        let others_device = device_cookie(&app.login("tolu", PIN).await.expect(StatusCode::OK));
        assert!(owners_device.starts_with("tracker_device="), "{owners_device}");
        // A stranger guesses until the username is locked for strangers.
        for _ in 0..5 {
            app.login("kayode", "9999").await.expect(StatusCode::UNAUTHORIZED);
        }
        app.login("kayode", PIN).await.expect(StatusCode::TOO_MANY_REQUESTS);
        // Neither another account's device, a forged cookie, nor a bearer
        // token dressed as one is the owner's device.
        for cookie in [
            others_device,
            format!("{owners_device}x"),
            format!("tracker_device={}", owner.token),
        ] {
            login_with_cookie(&app, "kayode", PIN, &cookie)
                .await
                .expect(StatusCode::TOO_MANY_REQUESTS);
        }
        // The owner's own device is counted apart, and gets in.
        let cookies = format!("theme=dark; {owners_device}");
        let back = login_with_cookie(&app, "kayode", PIN, &cookies).await.expect(StatusCode::OK);
        device_cookie(&back);
        // Its own wrong PINs lock it like anyone's.
        for _ in 0..5 {
            login_with_cookie(&app, "kayode", "9999", &owners_device)
                .await
                .expect(StatusCode::UNAUTHORIZED);
        }
        login_with_cookie(&app, "kayode", PIN, &owners_device)
            .await
            .expect(StatusCode::TOO_MANY_REQUESTS);
    }
}
