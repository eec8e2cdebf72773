//! Accounts in production: the caller's own account, changing one's PIN,
//! an admin's PIN reset, and which of these end the sessions before them.

use super::*;

async fn change_pin(app: &TestApp, session: &Session, current: &str, new: &str) -> Answer {
    app.put(
        "/api/v1/users/me/pin",
        session,
        json!({"currentPin": current, "newPin": new}),
    )
    .await
}

http_tests! {
    async fn me_is_the_callers_own_account(app) {
        let customer = app.customer("kayode").await;
        let me = app.get("/api/v1/users/me", &customer).await.expect(StatusCode::OK);
        assert_eq!(me.data()["_id"], customer.id.as_str());
        assert_eq!(me.data()["username"], "kayode");
        assert_eq!(me.data()["role"], "CUSTOMER");
        app.request(Method::GET, "/api/v1/users/me", None, None)
            .await
            .expect(StatusCode::UNAUTHORIZED);
    }
}

http_tests! {
    async fn a_pin_change_ends_every_older_token_and_answers_a_fresh_one(app) {
        let customer = app.customer("kayode").await;
        let other_device = app.login("kayode", PIN).await.expect(StatusCode::OK);
        let other_token = other_device.json()["token"].as_str().expect("token").to_owned();
        let changed = change_pin(&app, &customer, PIN, "4821").await.expect(StatusCode::OK);
        assert_eq!(changed.data()["_id"], customer.id.as_str());
        let fresh = Session {
            token: changed.json()["token"].as_str().expect("a fresh token").to_owned(),
            ..customer.clone()
        };
        for old in [&customer.token, &other_token] {
            app.request(Method::GET, "/api/v1/users/me", Some(old), None)
                .await
                .expect(StatusCode::UNAUTHORIZED);
        }
        app.get("/api/v1/users/me", &fresh).await.expect(StatusCode::OK);
        app.login("kayode", PIN).await.expect(StatusCode::UNAUTHORIZED);
        app.login("kayode", "4821").await.expect(StatusCode::OK);
    }
}

http_tests! {
    async fn a_wrong_current_pin_is_403_and_locks_like_a_failed_login(app) {
        let customer = app.customer("kayode").await;
        for attempt in 0..5 {
            let answer = change_pin(&app, &customer, "9999", "4821").await;
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "attempt {attempt}");
            answer.expect(StatusCode::FORBIDDEN);
        }
        let locked = change_pin(&app, &customer, PIN, "4821").await.expect(StatusCode::TOO_MANY_REQUESTS);
        assert!(locked.headers.contains_key(header::RETRY_AFTER));
        app.login("kayode", PIN).await.expect(StatusCode::TOO_MANY_REQUESTS);
        // The session itself still holds: it was the PIN that was wrong.
        app.get("/api/v1/users/me", &customer).await.expect(StatusCode::OK);
    }
}

http_tests! {
    async fn a_pin_change_checks_its_fields(app) {
        let customer = app.customer("kayode").await;
        for body in [
            json!({"currentPin": PIN}),
            json!({"newPin": "4821"}),
            json!({"currentPin": PIN, "newPin": "12"}),
            json!({"currentPin": PIN, "newPin": 4821}),
        ] {
            app.put("/api/v1/users/me/pin", &customer, body).await.expect(StatusCode::BAD_REQUEST);
        }
        change_pin(&app, &customer, "12", "4821").await.expect(StatusCode::FORBIDDEN);
        app.request(
            Method::PUT,
            "/api/v1/users/me/pin",
            None,
            Some(json!({"currentPin": PIN, "newPin": "4821"})),
        )
        .await
        .expect(StatusCode::UNAUTHORIZED);
        app.login("kayode", PIN).await.expect(StatusCode::OK);
    }
}

http_tests! {
    async fn an_admins_pin_reset_ends_the_users_sessions(app) {
        let admin = app.admin().await;
        let customer = app.customer("kayode").await;
        let path = format!("/api/v1/users/{}", customer.id);
        app.patch(&path, &customer, json!({"pin": "4821"})).await.expect(StatusCode::FORBIDDEN);
        app.patch(&path, &admin, json!({"pin": "12"})).await.expect(StatusCode::BAD_REQUEST);
        app.patch(&path, &admin, json!({"pin": "4821"})).await.expect(StatusCode::OK);
        app.get("/api/v1/users/me", &customer).await.expect(StatusCode::UNAUTHORIZED);
        app.login("kayode", PIN).await.expect(StatusCode::UNAUTHORIZED);
        app.login("kayode", "4821").await.expect(StatusCode::OK);
        app.get("/api/v1/users/me", &admin).await.expect(StatusCode::OK);
    }
}

http_tests! {
    async fn reactivating_an_account_does_not_revive_its_old_tokens(app) {
        let admin = app.admin().await;
        let customer = app.customer("kayode").await;
        let path = format!("/api/v1/users/{}", customer.id);
        app.patch(&path, &admin, json!({"active": false})).await.expect(StatusCode::OK);
        app.patch(&path, &admin, json!({"active": true})).await.expect(StatusCode::OK);
        app.get("/api/v1/users/me", &customer).await.expect(StatusCode::UNAUTHORIZED);
        let again = app.login("kayode", PIN).await.expect(StatusCode::OK);
        let token = again.json()["token"].as_str().expect("token").to_owned();
        app.request(Method::GET, "/api/v1/users/me", Some(&token), None)
            .await
            .expect(StatusCode::OK);
        // A role change ends nothing: the token reads the role anew.
        app.patch(&path, &admin, json!({"role": "SUPPORT_AGENT"})).await.expect(StatusCode::OK);
        let me = app.request(Method::GET, "/api/v1/users/me", Some(&token), None).await.expect(StatusCode::OK);
        assert_eq!(me.data()["role"], "SUPPORT_AGENT");
    }
}
