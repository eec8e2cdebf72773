//! What axum itself would answer, in our envelope.

use super::*;

http_tests! {
    async fn an_unknown_route_is_a_json_404(app) {
        let customer = app.customer("kayode").await;
        app.get("/api/v1/nothing-here", &customer)
            .await
            .expect(StatusCode::NOT_FOUND);
        // Beside the web pages too.
        let answer = app
            .request(Method::GET, "/no-such-page", None, None)
            .await
            .expect(StatusCode::NOT_FOUND);
        assert_eq!(answer.headers[header::CONTENT_TYPE], "application/json");
    }
}

http_tests! {
    async fn a_wrong_method_is_a_json_405_with_allow(app) {
        let answer = app
            .request(Method::DELETE, "/api/v1/tickets", None, None)
            .await
            .expect(StatusCode::METHOD_NOT_ALLOWED);
        let allow = answer.headers[header::ALLOW].to_str().expect("ascii");
        assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
        assert_eq!(answer.headers[header::CONTENT_TYPE], "application/json");
    }
}

http_tests! {
    async fn malformed_json_is_400_and_a_wrong_content_type_is_415(app) {
        let customer = app.customer("kayode").await;
        let malformed = Request::post("/api/v1/tickets")
            .header(header::AUTHORIZATION, format!("Bearer {}", customer.token))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{\"body\": "))
            .expect("request");
        app.send(malformed).await.expect(StatusCode::BAD_REQUEST);
        let text = Request::post("/api/v1/tickets")
            .header(header::AUTHORIZATION, format!("Bearer {}", customer.token))
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from("body=hello"))
            .expect("request");
        app.send(text)
            .await
            .expect(StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let tickets = app
            .get("/api/v1/tickets", &customer)
            .await
            .expect(StatusCode::OK)
            .data();
        assert_eq!(
            tickets,
            json!([]),
            "nothing was created by the refused requests"
        );
    }
}

http_tests! {
    async fn a_body_over_64_kib_is_413(app) {
        let customer = app.customer("kayode").await;
        let huge = "a".repeat(70 * 1024);
        app.post("/api/v1/tickets", &customer, json!({ "body": huge }))
            .await
            .expect(StatusCode::PAYLOAD_TOO_LARGE);
    }
}

http_tests! {
    async fn a_database_too_busy_to_answer_is_503_and_loses_nothing(app) {
        let customer = app.customer("kayode").await;
        // Another client holds the lock a ticket write needs, longer than
        // the 5 s lock timeout.
        let mut holder = app.db.other_client();
        holder.hold_ticket_writes();
        app.post("/api/v1/tickets", &customer, json!({"body": "help"}))
            .await
            .expect(StatusCode::SERVICE_UNAVAILABLE);
        drop(holder);
        let listed = app
            .get("/api/v1/tickets", &customer)
            .await
            .expect(StatusCode::OK)
            .data();
        assert_eq!(listed, json!([]), "the refused ticket was not half-written");
        app.post("/api/v1/tickets", &customer, json!({"body": "help"}))
            .await
            .expect(StatusCode::CREATED);
    }
}

http_tests! {
    async fn a_trailing_slash_reaches_the_same_route_as_in_the_original(app) {
        let customer = app.customer("kayode").await;
        let id = app.open_ticket(&customer, "help").await;
        let listed = app
            .get("/api/v1/tickets/", &customer)
            .await
            .expect(StatusCode::OK)
            .data();
        assert_eq!(listed.as_array().map(Vec::len), Some(1));
        app.get(&format!("/api/v1/tickets/{id}/"), &customer)
            .await
            .expect(StatusCode::OK);
    }
}
