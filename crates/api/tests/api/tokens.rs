//! Programs' API tokens over HTTP: created, listed and revoked by their
//! owner and by admins, shown once (the store's tests read the row: a
//! digest only), accepted
//! wherever a JWT is (with the account's current role), a read-only one
//! refused on every write, ended by deactivation, revocation and expiry
//! but not by a PIN change, at most 20 live ones an account even when
//! created at once, and `lastUsedAt` written at most once a minute.

use testkit::fingerprint::fingerprint;

use super::*;

const MY_TOKENS: &str = "/api/v1/users/me/tokens";

/// Creates a token for `owner` and answers it as a session of its own.
async fn token_of(app: &TestApp, owner: &Session, body: Value) -> Session {
    let created = app
        .post(MY_TOKENS, owner, body)
        .await
        .expect(StatusCode::CREATED)
        .data();
    Session {
        id: owner.id.clone(),
        role: owner.role,
        token: created["token"].as_str().expect("token").to_owned(),
    }
}

/// The `_id` of `owner`'s token called `name`, as listed.
async fn token_id(app: &TestApp, owner: &Session, name: &str) -> String {
    let listed = app
        .get(MY_TOKENS, owner)
        .await
        .expect(StatusCode::OK)
        .data();
    listed
        .as_array()
        .expect("a list")
        .iter()
        .find(|token| token["name"] == name)
        .and_then(|token| token["_id"].as_str())
        .unwrap_or_else(|| panic!("no token {name} in {listed}"))
        .to_owned()
}

async fn delete(app: &TestApp, path: &str, session: &Session) -> Answer {
    app.request(Method::DELETE, path, Some(&session.token), None)
        .await
}

/// Runs SQL as another client of the test database.
async fn execute(app: &TestApp, sql: String) {
    let mut client = app.db.other_client();
    tokio::task::spawn_blocking(move || client.execute(&sql))
        .await
        .expect("join");
}

http_tests! {
    async fn a_token_is_shown_once_listed_without_it_and_acts_as_its_account(app) {
        let customer = app.customer("kayode").await;
        let answer = app
            .post(MY_TOKENS, &customer, json!({"name": "crm sync", "expiresInDays": 30}))
            .await
            .expect(StatusCode::CREATED);
        assert_eq!(
            answer.headers.get(header::CACHE_CONTROL).map(|v| v.as_bytes()),
            Some(&b"no-store"[..])
        );
        let created = answer.data();
        let token = created["token"].as_str().expect("token").to_owned();
        assert!(token.starts_with("trk_") && token.len() == 4 + 43, "{token}");
        assert_eq!(created["name"], "crm sync");
        assert_eq!(created["readOnly"], false);
        assert!(created["expiresAt"].is_string());
        assert!(created["lastUsedAt"].is_null());

        let listed = app.get(MY_TOKENS, &customer).await.expect(StatusCode::OK);
        assert!(!listed.text().contains(&token[4..]), "the list shows no token");
        let tokens = listed.data();
        assert_eq!(tokens.as_array().map(Vec::len), Some(1));
        assert_eq!(tokens[0]["_id"], created["_id"]);
        assert!(tokens[0].get("token").is_none());

        // The token acts as its account, wherever a JWT is accepted.
        let program = Session { token: token.clone(), ..customer.clone() };
        let me = app.get("/api/v1/users/me", &program).await.expect(StatusCode::OK);
        assert_eq!(me.data()["username"], "kayode");
        let ticket = app.open_ticket(&program, "printer on fire").await;
        let read = app
            .get(&format!("/api/v1/tickets/{ticket}"), &program)
            .await
            .expect(StatusCode::OK);
        assert_eq!(read.data()["author"], customer.id);
        assert!(!read.text().contains(&token[4..]));
    }
}

http_tests! {
    async fn a_bad_name_or_lifetime_is_a_clear_400(app) {
        let customer = app.customer("kayode").await;
        for (body, field) in [
            (json!({}), "name"),
            (json!({"name": "  \u{200B} "}), "name"),
            (json!({"name": "x".repeat(101)}), "name"),
            (json!({"name": null}), "name"),
            (json!({"name": "ok", "expiresInDays": 0}), "expiresInDays"),
            (json!({"name": "ok", "expiresInDays": 3651}), "expiresInDays"),
            (json!({"name": "ok", "expiresInDays": "30"}), "expiresInDays"),
            (json!({"name": "ok", "expiresInDays": 1.5}), "expiresInDays"),
            (json!({"name": "ok", "expiresInDays": 3651.0}), "expiresInDays"),
            (json!({"name": "ok", "expiresInDays": 1e300}), "expiresInDays"),
            (json!({"name": "ok", "readOnly": "yes"}), "readOnly"),
        ] {
            let answer = app
                .post(MY_TOKENS, &customer, body.clone())
                .await
                .expect(StatusCode::BAD_REQUEST);
            let message = answer.json()["message"].as_str().unwrap_or_default().to_owned();
            assert!(message.contains(field), "{body}: {message}");
        }
        let listed = app.get(MY_TOKENS, &customer).await.expect(StatusCode::OK);
        assert_eq!(listed.data(), json!([]));
        // A whole number written with a fraction is that number, as the
        // schema's `integer` says.
        let created = app
            .post(MY_TOKENS, &customer, json!({"name": "ok", "expiresInDays": 30.0}))
            .await
            .expect(StatusCode::CREATED)
            .data();
        assert!(created["expiresAt"].is_string(), "{created}");
    }
}

http_tests! {
    async fn a_revoked_token_is_401_at_once(app) {
        let customer = app.customer("kayode").await;
        let program = token_of(&app, &customer, json!({"name": "bot"})).await;
        app.get("/api/v1/users/me", &program).await.expect(StatusCode::OK);
        let id = token_id(&app, &customer, "bot").await;
        let revoked = delete(&app, &format!("{MY_TOKENS}/{id}"), &customer)
            .await
            .expect(StatusCode::OK);
        assert_eq!(revoked.data()["_id"], id.as_str());
        app.get("/api/v1/users/me", &program)
            .await
            .expect(StatusCode::UNAUTHORIZED);
        app.get("/api/v1/tickets/1", &program)
            .await
            .expect(StatusCode::UNAUTHORIZED);
        // Gone: revoking it again, or a token that never was, is not found.
        delete(&app, &format!("{MY_TOKENS}/{id}"), &customer)
            .await
            .expect(StatusCode::NOT_FOUND);
        delete(&app, &format!("{MY_TOKENS}/999999"), &customer)
            .await
            .expect(StatusCode::NOT_FOUND);
        delete(&app, &format!("{MY_TOKENS}/abc"), &customer)
            .await
            .expect(StatusCode::BAD_REQUEST);
        // A token of our shape that was never issued, and one of the wrong
        // shape, are 401 too.
        let forged = Session {
            token: edge::api_tokens::ApiTokenSecret::generate().expose().to_owned(),
            ..customer.clone()
        };
        app.get("/api/v1/users/me", &forged).await.expect(StatusCode::UNAUTHORIZED);
        let misshapen = Session { token: "trk_short".to_owned(), ..customer.clone() };
        app.get("/api/v1/users/me", &misshapen).await.expect(StatusCode::UNAUTHORIZED);
    }
}

http_tests! {
    async fn an_expired_token_is_401(app) {
        let customer = app.customer("kayode").await;
        let program = token_of(&app, &customer, json!({"name": "bot", "expiresInDays": 1})).await;
        app.get("/api/v1/users/me", &program).await.expect(StatusCode::OK);
        execute(&app, "UPDATE api_tokens SET expires_at = '2000-01-01 00:00:00'".to_owned()).await;
        app.get("/api/v1/users/me", &program)
            .await
            .expect(StatusCode::UNAUTHORIZED);
        app.get("/api/v1/tickets/1", &program)
            .await
            .expect(StatusCode::UNAUTHORIZED);
        // Still listed for its owner, as expired.
        let listed = app.get(MY_TOKENS, &customer).await.expect(StatusCode::OK).data();
        assert_eq!(listed[0]["expiresAt"], "2000-01-01T00:00:00.000Z");
    }
}

http_tests! {
    async fn a_read_only_token_reads_and_every_write_is_403_and_changes_nothing(app) {
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        let ticket = app.open_ticket(&customer, "printer on fire").await;
        let reader = token_of(&app, &customer, json!({"name": "dashboard", "readOnly": true})).await;
        let staff_reader = token_of(&app, &agent, json!({"name": "wallboard", "readOnly": true})).await;
        let full = token_of(&app, &customer, json!({"name": "full"})).await;
        let full_id = token_id(&app, &customer, "full").await;

        // Reads: the list, the one-query ticket read, the account.
        app.get("/api/v1/tickets", &reader).await.expect(StatusCode::OK);
        app.get(&format!("/api/v1/tickets/{ticket}"), &reader).await.expect(StatusCode::OK);
        app.get("/api/v1/users/me", &reader).await.expect(StatusCode::OK);
        app.get(MY_TOKENS, &reader).await.expect(StatusCode::OK);
        // HEAD is a read too (sent past the document's check, which lists
        // GET only).
        let head = Request::builder()
            .method(Method::HEAD)
            .uri("/api/v1/users/me")
            .header(header::AUTHORIZATION, format!("Bearer {}", reader.token))
            .body(Body::empty())
            .expect("request");
        let answered = app.router().clone().oneshot(head).await.expect("infallible");
        assert_eq!(answered.status(), StatusCode::OK);

        let before = app.with_store(|store| fingerprint(store).expect("fingerprint")).await;
        let tokens_before = app.get(MY_TOKENS, &customer).await.expect(StatusCode::OK).data();
        let ticket_path = format!("/api/v1/tickets/{ticket}");
        let writes: Vec<(Method, String, &Session, Option<Value>)> = vec![
            (Method::POST, "/api/v1/tickets".to_owned(), &reader, Some(json!({"body": "new"}))),
            (Method::POST, format!("{ticket_path}/replies"), &reader, Some(json!({"body": "hi"}))),
            (Method::PUT, ticket_path.clone(), &reader, Some(json!({"status": "RESOLVED"}))),
            (Method::PATCH, ticket_path.clone(), &staff_reader, Some(json!({"priority": "HIGH"}))),
            (Method::DELETE, format!("{MY_TOKENS}/{full_id}"), &reader, None),
            (Method::POST, MY_TOKENS.to_owned(), &reader, Some(json!({"name": "more"}))),
            (Method::PUT, "/api/v1/users/me/pin".to_owned(), &reader,
                Some(json!({"currentPin": PIN, "newPin": "1111"}))),
            // A route that takes an optional caller (sign-up) refuses too.
            (Method::POST, "/api/v1/users".to_owned(), &reader,
                Some(json!({"username": "newcomer", "pin": "0000"}))),
        ];
        for (method, path, session, body) in writes {
            let answer = app
                .request(method.clone(), &path, Some(&session.token), body)
                .await
                .expect(StatusCode::FORBIDDEN);
            let message = answer.json()["message"].as_str().unwrap_or_default().to_owned();
            assert!(message.contains("read-only"), "{method} {path}: {message}");
        }
        let after = app.with_store(|store| fingerprint(store).expect("fingerprint")).await;
        assert_eq!(before, after, "a refused write changed nothing");
        let tokens_after = app.get(MY_TOKENS, &customer).await.expect(StatusCode::OK).data();
        assert_eq!(
            tokens_before.as_array().map(Vec::len),
            tokens_after.as_array().map(Vec::len)
        );
        // The same writes with a full token go through.
        app.post("/api/v1/tickets", &full, json!({"body": "new"}))
            .await
            .expect(StatusCode::CREATED);
        let staff_full = token_of(&app, &agent, json!({"name": "agent bot"})).await;
        app.post(&format!("{ticket_path}/replies"), &staff_full, json!({"body": "hi"}))
            .await
            .expect(StatusCode::CREATED);
        app.patch(&ticket_path, &staff_full, json!({"priority": "HIGH"}))
            .await
            .expect(StatusCode::OK);
    }
}

http_tests! {
    async fn a_token_takes_its_accounts_current_role_and_deactivation_ends_it(app) {
        let admin = app.admin().await;
        let customer = app.customer("kayode").await;
        let program = token_of(&app, &customer, json!({"name": "bot"})).await;
        app.get("/api/v1/users", &program).await.expect(StatusCode::FORBIDDEN);
        app.patch(&format!("/api/v1/users/{}", customer.id), &admin, json!({"role": "ADMIN"}))
            .await
            .expect(StatusCode::OK);
        app.get("/api/v1/users", &program).await.expect(StatusCode::OK);

        app.patch(&format!("/api/v1/users/{}", customer.id), &admin, json!({"active": false}))
            .await
            .expect(StatusCode::OK);
        app.get("/api/v1/users/me", &program).await.expect(StatusCode::UNAUTHORIZED);
        app.get("/api/v1/tickets/1", &program).await.expect(StatusCode::UNAUTHORIZED);
        // Ended for good: reactivating the account does not revive it.
        app.patch(&format!("/api/v1/users/{}", customer.id), &admin, json!({"active": true}))
            .await
            .expect(StatusCode::OK);
        app.get("/api/v1/users/me", &program).await.expect(StatusCode::UNAUTHORIZED);
        let listed = app
            .get(&format!("/api/v1/users/{}/tokens", customer.id), &admin)
            .await
            .expect(StatusCode::OK);
        assert_eq!(listed.data(), json!([]));
    }
}

http_tests! {
    async fn a_pin_change_or_reset_keeps_the_token(app) {
        let admin = app.admin().await;
        let customer = app.customer("kayode").await;
        let program = token_of(&app, &customer, json!({"name": "bot"})).await;
        app.put("/api/v1/users/me/pin", &customer, json!({"currentPin": PIN, "newPin": "1111"}))
            .await
            .expect(StatusCode::OK);
        // The old session's JWT is over; the token is not.
        app.get("/api/v1/users/me", &customer).await.expect(StatusCode::UNAUTHORIZED);
        app.get("/api/v1/users/me", &program).await.expect(StatusCode::OK);
        app.patch(&format!("/api/v1/users/{}", customer.id), &admin, json!({"pin": "2222"}))
            .await
            .expect(StatusCode::OK);
        app.get("/api/v1/users/me", &program).await.expect(StatusCode::OK);
        app.get("/api/v1/tickets", &program).await.expect(StatusCode::OK);
    }
}

http_tests! {
    async fn admins_list_and_revoke_anyones_tokens_and_others_find_none(app) {
        let admin = app.admin().await;
        let customer = app.customer("kayode").await;
        let other = app.customer("tolu").await;
        let agent = app.agent().await;
        let program = token_of(&app, &customer, json!({"name": "bot"})).await;
        let id = token_id(&app, &customer, "bot").await;
        let theirs = format!("/api/v1/users/{}/tokens", customer.id);

        for stranger in [&other, &agent] {
            app.get(&theirs, stranger).await.expect(StatusCode::NOT_FOUND);
            delete(&app, &format!("{theirs}/{id}"), stranger)
                .await
                .expect(StatusCode::NOT_FOUND);
            // Nor through their own list: a token id names only their own.
            delete(&app, &format!("{MY_TOKENS}/{id}"), stranger)
                .await
                .expect(StatusCode::NOT_FOUND);
        }
        app.get("/api/v1/users/me", &program).await.expect(StatusCode::OK);
        // The owner reaches their own by id too.
        app.get(&theirs, &customer).await.expect(StatusCode::OK);

        let listed = app.get(&theirs, &admin).await.expect(StatusCode::OK).data();
        assert_eq!(listed[0]["_id"], id.as_str());
        app.get("/api/v1/users/999999/tokens", &admin)
            .await
            .expect(StatusCode::NOT_FOUND);
        // An admin's own token list is its own, not the customer's.
        app.get(MY_TOKENS, &admin).await.expect(StatusCode::OK);
        delete(&app, &format!("/api/v1/users/{}/tokens/{id}", admin.id), &admin)
            .await
            .expect(StatusCode::NOT_FOUND);
        delete(&app, &format!("{theirs}/{id}"), &admin)
            .await
            .expect(StatusCode::OK);
        app.get("/api/v1/users/me", &program).await.expect(StatusCode::UNAUTHORIZED);
    }
}

http_tests! {
    async fn an_account_holds_at_most_20_live_tokens_even_when_25_are_asked_at_once(app) {
        let customer = app.customer("kayode").await;
        let asked = (0..25).map(|i| {
            let (app, customer) = (&app, &customer);
            async move { app.post(MY_TOKENS, customer, json!({"name": format!("bot {i}")})).await }
        });
        let answers = futures_util::future::join_all(asked).await;
        let created = answers.iter().filter(|a| a.status == StatusCode::CREATED).count();
        let refused = answers.iter().filter(|a| a.status == StatusCode::CONFLICT).count();
        assert_eq!((created, refused), (20, 5), "{:?}", answers.iter().map(|a| a.status).collect::<Vec<_>>());
        let listed = app.get(MY_TOKENS, &customer).await.expect(StatusCode::OK).data();
        assert_eq!(listed.as_array().map(Vec::len), Some(20));

        // An expired token does not count: it is swept by the next creation.
        let id = listed[0]["_id"].as_str().expect("id").to_owned();
        execute(&app, format!("UPDATE api_tokens SET expires_at = '2000-01-01 00:00:00' WHERE id = {id}")).await;
        app.post(MY_TOKENS, &customer, json!({"name": "replacement"}))
            .await
            .expect(StatusCode::CREATED);
        app.post(MY_TOKENS, &customer, json!({"name": "one more"}))
            .await
            .expect(StatusCode::CONFLICT);
        // Another account's budget is its own.
        let other = app.customer("tolu").await;
        app.post(MY_TOKENS, &other, json!({"name": "bot"}))
            .await
            .expect(StatusCode::CREATED);
    }
}

http_tests! {
    async fn last_used_at_is_written_at_most_once_a_minute(app) {
        let customer = app.customer("kayode").await;
        let program = token_of(&app, &customer, json!({"name": "bot"})).await;
        let last_used = || async {
            let listed = app.get(MY_TOKENS, &customer).await.expect(StatusCode::OK).data();
            listed[0]["lastUsedAt"].clone()
        };
        assert_eq!(last_used().await, Value::Null);
        app.get("/api/v1/users/me", &program).await.expect(StatusCode::OK);
        let first = last_used().await;
        assert!(first.is_string(), "{first}");
        app.get("/api/v1/tickets", &program).await.expect(StatusCode::OK);
        app.get("/api/v1/users/me", &program).await.expect(StatusCode::OK);
        assert_eq!(last_used().await, first, "a use within the minute writes nothing");
        // A stored use over a minute old is written again.
        execute(&app, "UPDATE api_tokens SET last_used_at = '2000-01-01 00:00:00'".to_owned()).await;
        app.get("/api/v1/users/me", &program).await.expect(StatusCode::OK);
        let again = last_used().await;
        assert_ne!(again, json!("2000-01-01T00:00:00.000Z"));
        assert!(again.as_str() >= first.as_str(), "{again} after {first}");
    }
}

/// The server process as an operator runs it, logging everything down to
/// debug: whatever is done with a token (created, used, refused a write,
/// revoked, used again), it appears in no log line.
#[test]
fn a_token_appears_in_no_log_line() {
    use crate::process::Server;

    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(
        dir.path(),
        &[("LOG_FORMAT", "json"), ("RUST_LOG", "debug")],
        testkit::Log::CaptureStdout,
    );
    let jwt = server.customer_token("kayode");
    let created = server.call(
        "POST",
        MY_TOKENS,
        Some(&jwt),
        Some(&json!({"name": "bot", "readOnly": true})),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let token = created.body["data"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let id = created.body["data"]["_id"].as_str().expect("id").to_owned();
    let me = server.call("GET", "/api/v1/users/me", Some(&token), None);
    assert_eq!(me.status, 200, "{}", me.body);
    let write = server.call(
        "POST",
        "/api/v1/tickets",
        Some(&token),
        Some(&json!({"body": "hi"})),
    );
    write.assert_envelope(403);
    let revoked = server.call("DELETE", &format!("{MY_TOKENS}/{id}"), Some(&jwt), None);
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    server
        .call("GET", "/api/v1/tickets/1", Some(&token), None)
        .assert_envelope(401);

    assert!(server.terminate(Duration::from_secs(30)).success());
    let logs = server.stdout();
    assert!(
        logs.contains("/api/v1/users/me/tokens"),
        "the requests were logged: {logs}"
    );
    let secret_part = &token["trk_".len()..];
    assert!(
        !logs.contains(secret_part),
        "a log line holds the token: {logs}"
    );
}
