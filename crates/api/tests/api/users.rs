//! Sign-up and the admin's user management.

use super::*;

async fn sign_up(app: &TestApp, token: Option<&str>, body: Value) -> Answer {
    app.request(Method::POST, "/api/v1/users", token, Some(body))
        .await
}

http_tests! {
    async fn anyone_signs_up_as_a_customer(app) {
        let with_role = sign_up(
            &app,
            None,
            json!({"username": "kayode", "pin": "0000", "role": "CUSTOMER"}),
        )
        .await;
        let user = with_role.expect(StatusCode::CREATED).data();
        assert_eq!(user["role"], "CUSTOMER");
        assert!(user.get("pin").is_none() && user.get("pinHash").is_none());
        let without_role = sign_up(
            &app,
            None,
            json!({"username": "tolu", "pin": "123456789012"}),
        )
        .await;
        assert_eq!(
            without_role.expect(StatusCode::CREATED).data()["role"],
            "CUSTOMER"
        );
        app.login("tolu", "123456789012")
            .await
            .expect(StatusCode::OK);
    }
}

http_tests! {
    async fn only_an_admin_creates_staff_accounts(app) {
        let admin = app.admin().await;
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        for role in ["ADMIN", "SUPPORT_AGENT"] {
            let body = json!({"username": format!("new-{role}"), "pin": "0000", "role": role});
            sign_up(&app, None, body.clone())
                .await
                .expect(StatusCode::UNAUTHORIZED);
            sign_up(&app, Some(&customer.token), body.clone())
                .await
                .expect(StatusCode::FORBIDDEN);
            sign_up(&app, Some(&agent.token), body.clone())
                .await
                .expect(StatusCode::FORBIDDEN);
            let created = sign_up(&app, Some(&admin.token), body)
                .await
                .expect(StatusCode::CREATED);
            assert_eq!(created.data()["role"], role);
        }
    }
}

http_tests! {
    async fn a_sent_token_that_does_not_hold_is_401_even_for_sign_up(app) {
        let body = json!({"username": "kayode", "pin": "0000"});
        sign_up(&app, Some("garbage"), body)
            .await
            .expect(StatusCode::UNAUTHORIZED);
    }
}

http_tests! {
    async fn a_duplicate_username_is_409_but_case_differs(app) {
        sign_up(&app, None, json!({"username": "kayode", "pin": "0000"}))
            .await
            .expect(StatusCode::CREATED);
        sign_up(&app, None, json!({"username": "kayode", "pin": "1111"}))
            .await
            .expect(StatusCode::CONFLICT);
        sign_up(&app, None, json!({"username": "Kayode", "pin": "1111"}))
            .await
            .expect(StatusCode::CREATED);
    }
}

http_tests! {
    async fn bad_usernames_pins_and_roles_are_400(app) {
        let bodies = [
            json!({"pin": "0000"}),
            json!({"username": "kayode"}),
            json!({"username": "has space", "pin": "0000"}),
            json!({"username": "a".repeat(65), "pin": "0000"}),
            json!({"username": "kayode", "pin": "123"}),
            json!({"username": "kayode", "pin": "1234567890123"}),
            json!({"username": "kayode", "pin": "12a4"}),
            json!({"username": "kayode", "pin": 1234}),
            json!({"username": "kayode", "pin": "0000", "role": "ROOT"}),
        ];
        for body in bodies {
            let answer = sign_up(&app, None, body.clone()).await;
            assert_eq!(
                answer.status,
                StatusCode::BAD_REQUEST,
                "{body}: {}",
                answer.text()
            );
        }
    }
}

http_tests! {
    async fn only_admins_list_users_by_role_and_page(app) {
        let admin = app.admin().await;
        let agent = app.agent().await;
        app.customer("kayode").await;
        app.customer("tolu").await;
        app.get("/api/v1/users", &agent)
            .await
            .expect(StatusCode::FORBIDDEN);
        let customers = app
            .get("/api/v1/users?role=CUSTOMER&count=true", &admin)
            .await
            .expect(StatusCode::OK)
            .json();
        let names: Vec<_> = customers["data"]
            .as_array()
            .expect("array")
            .iter()
            .map(|u| u["username"].clone())
            .collect();
        assert_eq!(names, vec![json!("kayode"), json!("tolu")]);
        assert_eq!(customers["meta"]["total"], 2);
        let page = app
            .get("/api/v1/users?page=2&limit=3", &admin)
            .await
            .expect(StatusCode::OK)
            .json();
        assert_eq!(page["data"].as_array().map(Vec::len), Some(1));
        app.get("/api/v1/users?role=ROOT", &admin)
            .await
            .expect(StatusCode::BAD_REQUEST);
    }
}

http_tests! {
    async fn the_last_active_admin_cannot_be_removed(app) {
        let admin = app.admin().await;
        let path = format!("/api/v1/users/{}", admin.id);
        app.patch(&path, &admin, json!({"active": false}))
            .await
            .expect(StatusCode::CONFLICT);
        app.patch(&path, &admin, json!({"role": "CUSTOMER"}))
            .await
            .expect(StatusCode::CONFLICT);
        app.patch("/api/v1/users/999999", &admin, json!({"active": false}))
            .await
            .expect(StatusCode::NOT_FOUND);
        app.patch("/api/v1/users/abc", &admin, json!({"active": false}))
            .await
            .expect(StatusCode::BAD_REQUEST);
        app.patch(&path, &admin, json!({"role": "KING"}))
            .await
            .expect(StatusCode::BAD_REQUEST);
        let customer = app.customer("kayode").await;
        app.patch(&path, &customer, json!({"active": true}))
            .await
            .expect(StatusCode::FORBIDDEN);
    }
}

http_tests! {
    /// Input is parsed before any rule is asked; a non-admin learns nothing
    /// about which accounts exist.
    async fn a_malformed_request_is_400_first_and_a_non_admin_learns_no_ids(app) {
        app.admin().await;
        let agent = app.agent().await;
        app.get("/api/v1/users?role=ROOT", &agent)
            .await
            .expect(StatusCode::BAD_REQUEST);
        app.patch("/api/v1/users/abc", &agent, json!({"active": false}))
            .await
            .expect(StatusCode::BAD_REQUEST);
        for target in [agent.id.as_str(), "999999"] {
            let answer = app
                .patch(
                    &format!("/api/v1/users/{target}"),
                    &agent,
                    json!({"role": "ADMIN"}),
                )
                .await
                .expect(StatusCode::FORBIDDEN);
            assert_eq!(answer.json()["message"], "only admins can manage users");
        }
        // The refused promotions changed nothing: still an agent, not an admin.
        app.get("/api/v1/users", &agent)
            .await
            .expect(StatusCode::FORBIDDEN);
    }
}
