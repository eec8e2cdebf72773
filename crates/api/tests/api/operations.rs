//! What an operator relies on: health, metrics, request ids.

use std::time::{Duration, Instant};

use edge::limits::LimitSettings;
use store::{DatabaseUrl, Store, StoreOptions};

use super::*;

async fn get_anonymous(app: &TestApp, path: &str) -> Answer {
    app.request(Method::GET, path, None, None).await
}

http_tests! {
    async fn liveness_and_readiness_answer_ok_with_a_database(app) {
        let live = get_anonymous(&app, "/health/live").await;
        assert_eq!(live.status, StatusCode::OK);
        assert_eq!(live.json(), json!({"status": "ok"}));
        let ready = get_anonymous(&app, "/health").await;
        assert_eq!(ready.status, StatusCode::OK);
        assert_eq!(ready.json(), json!({"status": "ok", "database": "ok"}));
    }
}

http_tests! {
    async fn readiness_is_503_with_a_reason_within_about_two_seconds_when_no_connection_frees(app) {
        // A pool of one, its connection held.
        let url = DatabaseUrl::parse(&app.db.url()).expect("url");
        let (store, held) = tokio::task::spawn_blocking(move || {
            let options = StoreOptions { max_size: Some(1), connection_timeout: Duration::from_secs(30), ..StoreOptions::default() };
            let store = Store::connect(&url, options).expect("connect");
            let held = testkit::hold_connection(&store).expect("a connection");
            (store, held)
        })
        .await
        .expect("join");
        let starved = app.with_router(api::router(shared_state(store, &LimitSettings::off(), None)));
        let started = Instant::now();
        let answer = get_anonymous(&starved, "/health").await.expect(StatusCode::SERVICE_UNAVAILABLE);
        let waited = started.elapsed();
        assert!(waited < Duration::from_secs(4), "waited {waited:?}");
        let body = answer.json();
        assert_eq!(body["status"], "unavailable");
        assert!(body["database"].as_str().is_some_and(|reason| !reason.is_empty()), "{body}");
        // Liveness does not depend on the database.
        assert_eq!(get_anonymous(&starved, "/health/live").await.status, StatusCode::OK);
        drop(held);
        assert_eq!(get_anonymous(&starved, "/health").await.status, StatusCode::OK);
    }
}

/// The label values of every sample of `metric` in a Prometheus text.
fn label_sets<'a>(text: &'a str, metric: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|line| line.starts_with(&format!("{metric}{{")))
        .filter_map(|line| {
            line.split_once('{')
                .and_then(|(_, rest)| rest.rsplit_once('}'))
        })
        .map(|(labels, _)| labels)
        .collect()
}

http_tests! {
    async fn metrics_count_requests_by_route_template_never_by_id(app) {
        let customer = app.customer("kayode").await;
        let id = app.open_ticket(&customer, "printer on fire").await;
        app.get(&format!("/api/v1/tickets/{id}"), &customer).await.expect(StatusCode::OK);
        app.get("/api/v1/tickets/987654", &customer).await.expect(StatusCode::NOT_FOUND);
        app.request(Method::DELETE, &format!("/api/v1/tickets/{id}"), Some(&customer.token), None)
            .await
            .expect(StatusCode::METHOD_NOT_ALLOWED);
        get_anonymous(&app, "/no/such/path/987654").await.expect(StatusCode::NOT_FOUND);
        app.login("kayode", "9999").await.expect(StatusCode::UNAUTHORIZED);

        let scraped = get_anonymous(&app, "/metrics").await;
        assert_eq!(scraped.status, StatusCode::OK);
        let content_type = scraped.headers[header::CONTENT_TYPE].to_str().expect("ascii");
        assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
        let text = scraped.text();
        let requests = label_sets(&text, "http_requests_total");
        let has = |method: &str, status: &str, route: &str| {
            requests.iter().any(|labels| {
                labels.contains(&format!("method=\"{method}\""))
                    && labels.contains(&format!("status=\"{status}\""))
                    && labels.contains(&format!("route=\"{route}\""))
            })
        };
        assert!(has("GET", "200", "/api/v1/tickets/{ticketId}"), "{text}");
        assert!(has("GET", "404", "/api/v1/tickets/{ticketId}"), "{text}");
        assert!(has("DELETE", "405", "/api/v1/tickets/{ticketId}"), "a wrong method keeps its template: {text}");
        assert!(has("GET", "404", "unmatched"), "{text}");
        // No label value anywhere holds an id: no path segment of digits.
        for labels in requests {
            let route = labels.split("route=\"").nth(1).and_then(|rest| rest.split('"').next());
            let route = route.expect("a route label");
            assert!(
                !route.split('/').any(|segment| !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit())),
                "an id became a label value: {labels}"
            );
        }
        assert!(!text.contains("987654"), "{text}");
        assert!(!label_sets(&text, "http_request_duration_seconds_bucket").is_empty(), "a histogram: {text}");
        for gauge in ["db_pool_connections_in_use", "db_pool_connections_idle", "db_pool_connections_max"] {
            assert!(text.lines().any(|line| line.starts_with(gauge)), "{gauge} missing: {text}");
        }
        assert!(label_sets(&text, "login_attempts_total").contains(&"outcome=\"failure\""), "{text}");
        assert!(label_sets(&text, "login_attempts_total").contains(&"outcome=\"success\""), "{text}");
    }
}

http_tests! {
    async fn throttled_logins_are_counted_apart(app) {
        app.customer("kayode").await;
        for _ in 0..5 {
            app.login("kayode", "9999").await.expect(StatusCode::UNAUTHORIZED);
        }
        app.login("kayode", PIN).await.expect(StatusCode::TOO_MANY_REQUESTS);
        let text = get_anonymous(&app, "/metrics").await.text();
        assert!(label_sets(&text, "login_attempts_total").contains(&"outcome=\"throttled\""), "{text}");
    }
}

async fn with_request_id(app: &TestApp, path: &str, ids: &[&[u8]]) -> Answer {
    let mut request = Request::builder().method(Method::GET).uri(path);
    for id in ids {
        request = request.header("x-request-id", HeaderValue::from_bytes(id).expect("header"));
    }
    app.send(request.body(Body::empty()).expect("request"))
        .await
}

http_tests! {
    async fn every_response_has_a_request_id_and_a_sane_one_from_the_client_is_kept(app) {
        let made = with_request_id(&app, "/health/live", &[]).await;
        let id = made.headers["x-request-id"].to_str().expect("ascii").to_owned();
        assert!(!id.is_empty() && id.len() <= 128, "{id}");
        let other = with_request_id(&app, "/health/live", &[]).await;
        assert_ne!(other.headers["x-request-id"], id.as_str(), "each request has its own");

        let kept = with_request_id(&app, "/api/v1/tickets", &[b"support-case-4711"]).await;
        assert_eq!(kept.headers["x-request-id"], "support-case-4711");
        let error = kept.expect(StatusCode::UNAUTHORIZED).json();
        assert_eq!(error["requestId"], "support-case-4711");

        let kept = with_request_id(&app, "/health/live", &[b"A.z_0-9"]).await;
        assert_eq!(kept.headers["x-request-id"], "A.z_0-9");

        // Only [A-Za-z0-9._-]{1,128} is kept: no forged log text (issue 25,
        // finding 6).
        let long = "x".repeat(129);
        let forged: [&[u8]; 8] = [
            long.as_bytes(), b"has space", b"caf\xc3\xa9", b"a}b", b"x=1", b"id\"}{\"level\":\"ERROR",
            b"a:b", b"%7D",
        ];
        for insane in forged {
            let replaced = with_request_id(&app, "/api/v1/tickets", &[insane]).await;
            let id = replaced.headers["x-request-id"].as_bytes();
            assert!(id != insane && !id.is_empty(), "{insane:?} was kept");
            replaced.expect(StatusCode::UNAUTHORIZED);
        }
        let twice = with_request_id(&app, "/health/live", &[b"one", b"two"]).await;
        let ids: Vec<_> = twice.headers.get_all("x-request-id").iter().collect();
        assert_eq!(ids.len(), 1);
        assert!(ids[0] != "one" && ids[0] != "two", "an ambiguous id is replaced");
    }
}
