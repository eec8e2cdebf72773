//! Accounts' email addresses: set at sign-up, by an admin and by their
//! owner; checked, held lower-cased and unique whatever their case; seen
//! by the account itself, admins, and staff looking at a customer only.

use super::*;

async fn sign_up(app: &TestApp, token: Option<&str>, body: Value) -> Answer {
    app.request(Method::POST, "/api/v1/users", token, Some(body))
        .await
}

/// An account of `role` with `email`, set by its owner; its session.
async fn with_address(app: &TestApp, username: &str, role: Role, email: &str) -> Session {
    let session = app.user(username, role).await;
    app.patch("/api/v1/users/me", &session, json!({ "email": email }))
        .await
        .expect(StatusCode::OK);
    session
}

const BAD: [&str; 7] = [
    "",
    "kayode",
    "kayode@",
    "@example.com",
    "kayode @example.com",
    "Kayode <kayode@example.com>",
    "kayode@example..com",
];

http_tests! {
    async fn a_sign_up_keeps_its_address_lower_cased_and_a_bad_one_is_400(app) {
        let created = sign_up(&app, None, json!({"username": "kayode", "pin": "0000", "email": "Kayode.A+Help@Example.COM"}))
            .await
            .expect(StatusCode::CREATED)
            .data();
        assert_eq!(created["email"], "kayode.a+help@example.com");
        let none = sign_up(&app, None, json!({"username": "tolu", "pin": "0000"}))
            .await
            .expect(StatusCode::CREATED)
            .data();
        assert_eq!(none["email"], Value::Null, "shown to its owner as none");
        let null = sign_up(&app, None, json!({"username": "ada", "pin": "0000", "email": null}))
            .await
            .expect(StatusCode::CREATED)
            .data();
        assert_eq!(null["email"], Value::Null);
        let too_long = format!("{}@{}.com", "a".repeat(64), "b".repeat(187));
        assert_eq!(too_long.len(), 256);
        for bad in BAD.iter().copied().chain([too_long.as_str()]) {
            let refused = sign_up(&app, None, json!({"username": "newcomer", "pin": "0000", "email": bad}))
                .await
                .expect(StatusCode::BAD_REQUEST);
            let message = refused.json()["message"].as_str().expect("message").to_owned();
            assert!(message.starts_with("email "), "{bad:?}: {message}");
        }
        sign_up(&app, None, json!({"username": "newcomer", "pin": "0000", "email": 7}))
            .await
            .expect(StatusCode::BAD_REQUEST);
        app.login("newcomer", "0000").await.expect(StatusCode::UNAUTHORIZED);
        let admin = app.admin().await;
        let kayode = created["_id"].as_str().expect("id");
        for bad in BAD {
            app.patch(&format!("/api/v1/users/{kayode}"), &admin, json!({"email": bad}))
                .await
                .expect(StatusCode::BAD_REQUEST);
            app.patch("/api/v1/users/me", &admin, json!({"email": bad}))
                .await
                .expect(StatusCode::BAD_REQUEST);
        }
        let kept = app.get(&format!("/api/v1/users/{kayode}"), &admin).await.expect(StatusCode::OK).data();
        assert_eq!(kept["email"], "kayode.a+help@example.com");
    }
}

http_tests! {
    async fn an_address_belongs_to_one_account_whatever_its_case(app) {
        sign_up(&app, None, json!({"username": "kayode", "pin": "0000", "email": "kayode@example.com"}))
            .await
            .expect(StatusCode::CREATED);
        let taken = sign_up(&app, None, json!({"username": "tolu", "pin": "0000", "email": "KAYODE@example.com"}))
            .await
            .expect(StatusCode::CONFLICT);
        assert_eq!(taken.json()["message"], "the email address belongs to another account");
        app.login("tolu", "0000").await.expect(StatusCode::UNAUTHORIZED);
        let tolu = app.customer("tolu").await;
        app.patch("/api/v1/users/me", &tolu, json!({"email": "Kayode@Example.com"}))
            .await
            .expect(StatusCode::CONFLICT);
        let admin = app.admin().await;
        app.patch(&format!("/api/v1/users/{}", tolu.id), &admin, json!({"email": "kayode@EXAMPLE.com"}))
            .await
            .expect(StatusCode::CONFLICT);
        let mine = app.get("/api/v1/users/me", &tolu).await.expect(StatusCode::OK).data();
        assert_eq!(mine["email"], Value::Null, "a refused change changed nothing");
        // A username taken is still told as such.
        let username = sign_up(&app, None, json!({"username": "kayode", "pin": "0000", "email": "other@example.com"}))
            .await
            .expect(StatusCode::CONFLICT);
        assert_eq!(username.json()["message"], "the username is taken");
    }
}

http_tests! {
    async fn ten_sign_ups_at_once_with_one_address_make_one_account(app) {
        let sends = (0..10).map(|i| {
            let app = &app;
            async move {
                let case = if i % 2 == 0 { "same@example.com" } else { "SAME@example.com" };
                let body = json!({"username": format!("racer{i}"), "pin": "0000", "email": case});
                // 503 is the PIN hashing's own guard (too many at once):
                // asked again, as a client told to retry would.
                loop {
                    let status = sign_up(app, None, body.clone()).await.status;
                    if status != StatusCode::SERVICE_UNAVAILABLE {
                        break status;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        });
        let statuses = futures_util::future::join_all(sends).await;
        let created = statuses.iter().filter(|status| **status == StatusCode::CREATED).count();
        let conflicts = statuses.iter().filter(|status| **status == StatusCode::CONFLICT).count();
        assert_eq!((created, conflicts), (1, 9), "{statuses:?}");
        let admin = app.admin().await;
        let users = app.get("/api/v1/users?limit=100", &admin).await.expect(StatusCode::OK).data();
        let holders: Vec<&Value> = users
            .as_array()
            .expect("a list")
            .iter()
            .filter(|user| user["email"] == "same@example.com")
            .collect();
        assert_eq!(holders.len(), 1, "{users}");
    }
}

http_tests! {
    async fn the_owner_sets_changes_and_clears_their_own_address(app) {
        let customer = app.customer("kayode").await;
        let before = app.get("/api/v1/users/me", &customer).await.expect(StatusCode::OK);
        assert_eq!(before.data()["email"], Value::Null);
        let first_tag = before.headers[header::ETAG].to_str().expect("etag").to_owned();
        let set = app
            .patch("/api/v1/users/me", &customer, json!({"email": "Kayode@Example.com"}))
            .await
            .expect(StatusCode::OK);
        assert_eq!(set.data()["email"], "kayode@example.com");
        let read = app.get("/api/v1/users/me", &customer).await.expect(StatusCode::OK);
        assert_eq!(read.data()["email"], "kayode@example.com");
        let set_tag = read.headers[header::ETAG].to_str().expect("etag").to_owned();
        assert_ne!(set_tag, first_tag, "the tag follows the address");
        assert_eq!(set.headers[header::ETAG].to_str().expect("etag"), set_tag);
        // A write naming the old version changes nothing.
        let stale = app
            .send(
                Request::patch("/api/v1/users/me")
                    .header(header::AUTHORIZATION, format!("Bearer {}", customer.token))
                    .header(header::CONTENT_TYPE, "application/json")
                    .header(header::IF_MATCH, &first_tag)
                    .body(Body::from(json!({"email": null}).to_string()))
                    .expect("request"),
            )
            .await;
        assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
        let cleared = app
            .send(
                Request::patch("/api/v1/users/me")
                    .header(header::AUTHORIZATION, format!("Bearer {}", customer.token))
                    .header(header::CONTENT_TYPE, "application/json")
                    .header(header::IF_MATCH, &set_tag)
                    .body(Body::from(json!({"email": null}).to_string()))
                    .expect("request"),
            )
            .await
            .expect(StatusCode::OK);
        assert_eq!(cleared.data()["email"], Value::Null);
        // Left out, it stays as it is.
        app.patch("/api/v1/users/me", &customer, json!({"email": "k@example.com"})).await.expect(StatusCode::OK);
        let same = app.patch("/api/v1/users/me", &customer, json!({})).await.expect(StatusCode::OK);
        assert_eq!(same.data()["email"], "k@example.com");
        // Its old address is free again for someone else.
        sign_up(&app, None, json!({"username": "tolu", "pin": "0000", "email": "kayode@example.com"}))
            .await
            .expect(StatusCode::CREATED);
    }
}

http_tests! {
    async fn an_admin_sets_changes_and_clears_anyones_address(app) {
        let admin = app.admin().await;
        let agent = app.agent().await;
        let customer = app.customer("kayode").await;
        for (who, address) in [(&agent, "benjamin@example.com"), (&customer, "kayode@example.com")] {
            let changed = app
                .patch(&format!("/api/v1/users/{}", who.id), &admin, json!({"email": address.to_uppercase()}))
                .await
                .expect(StatusCode::OK);
            assert_eq!(changed.data()["email"], address);
            let own = app.get("/api/v1/users/me", who).await.expect(StatusCode::OK).data();
            assert_eq!(own["email"], address);
        }
        let listed = app.get("/api/v1/users?limit=100", &admin).await.expect(StatusCode::OK).data();
        let address_of = |id: &str| {
            listed.as_array().expect("a list").iter().find(|user| user["_id"] == id).expect("listed")["email"].clone()
        };
        assert_eq!(address_of(&agent.id), "benjamin@example.com");
        assert_eq!(address_of(&customer.id), "kayode@example.com");
        // Other fields alone leave it as it is; null clears it.
        let demoted = app
            .patch(&format!("/api/v1/users/{}", agent.id), &admin, json!({"role": "CUSTOMER"}))
            .await
            .expect(StatusCode::OK);
        assert_eq!(demoted.data()["email"], "benjamin@example.com");
        let cleared = app
            .patch(&format!("/api/v1/users/{}", customer.id), &admin, json!({"email": null}))
            .await
            .expect(StatusCode::OK);
        assert_eq!(cleared.data()["email"], Value::Null);
        let own = app.get("/api/v1/users/me", &customer).await.expect(StatusCode::OK).data();
        assert_eq!(own["email"], Value::Null);
        // A customer or an agent changes no one else's.
        app.patch(&format!("/api/v1/users/{}", admin.id), &customer, json!({"email": "x@example.com"}))
            .await
            .expect(StatusCode::FORBIDDEN);
    }
}

http_tests! {
    /// A customer reads tickets, replies and events in which staff with
    /// addresses took part, and never meets one of their addresses; nor
    /// does one agent read another's.
    async fn a_customer_never_sees_a_staff_address(app) {
        let admin = with_address(&app, "iambenkay", Role::Admin, "boss@staff.example").await;
        let agent = with_address(&app, "benjamin", Role::SupportAgent, "benjamin@staff.example").await;
        let customer = with_address(&app, "kayode", Role::Customer, "kayode@example.com").await;
        let ticket = app.open_ticket(&customer, "The printer is on fire").await;
        app.reply(&agent, ticket, "On it").await.expect(StatusCode::CREATED);
        app.patch(&format!("/api/v1/tickets/{ticket}"), &admin, json!({"assignee": agent.id}))
            .await
            .expect(StatusCode::OK);
        app.reply(&customer, ticket, "Thanks").await.expect(StatusCode::CREATED);
        let reads = [
            "/api/v1/users/me".to_owned(),
            format!("/api/v1/tickets/{ticket}"),
            format!("/api/v1/tickets/{ticket}/replies"),
            format!("/api/v1/tickets/{ticket}/events"),
            "/api/v1/tickets".to_owned(),
            format!("/api/v1/users/{}", agent.id),
            format!("/api/v1/users/{}", admin.id),
        ];
        for (i, path) in reads.iter().enumerate() {
            let answer = app.get(path, &customer).await;
            // The customer's own account and ticket are read; staff accounts are hidden.
            let expected = if i < 5 { StatusCode::OK } else { StatusCode::NOT_FOUND };
            let text = answer.expect(expected).text();
            assert!(!text.contains("staff.example"), "{path}: {text}");
        }
        let own = app.get("/api/v1/users/me", &customer).await.expect(StatusCode::OK).data();
        assert_eq!(own["email"], "kayode@example.com");
        // An agent sees its own address, never another staff member's.
        let second = with_address(&app, "dora", Role::SupportAgent, "dora@staff.example").await;
        let own = app.get("/api/v1/users/me", &second).await.expect(StatusCode::OK).data();
        assert_eq!(own["email"], "dora@staff.example");
        for path in &reads[1..5] {
            let text = app.get(path, &second).await.expect(StatusCode::OK).text();
            assert!(!text.contains("benjamin@staff.example") && !text.contains("boss@staff.example"), "{path}: {text}");
        }
        app.get(&format!("/api/v1/users/{}", agent.id), &second).await.expect(StatusCode::NOT_FOUND);
    }
}
