//! What axum itself would answer, in our envelope.

use super::*;

#[tokio::test]
async fn an_unknown_route_is_a_json_404() {
    let app = TestApp::new();
    let customer = app.customer("kayode").await;
    app.get("/api/v1/nothing-here", &customer)
        .await
        .expect(StatusCode::NOT_FOUND);
    app.request(Method::GET, "/", None, None)
        .await
        .expect(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_wrong_method_is_a_json_405_with_allow() {
    let app = TestApp::new();
    let answer = app
        .request(Method::DELETE, "/api/v1/tickets", None, None)
        .await
        .expect(StatusCode::METHOD_NOT_ALLOWED);
    let allow = answer.headers[header::ALLOW].to_str().expect("ascii");
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    assert_eq!(answer.headers[header::CONTENT_TYPE], "application/json");
}

#[tokio::test]
async fn malformed_json_is_400_and_a_wrong_content_type_is_415() {
    let app = TestApp::new();
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

#[tokio::test]
async fn a_body_over_64_kib_is_413() {
    let app = TestApp::new();
    let customer = app.customer("kayode").await;
    let huge = "a".repeat(70 * 1024);
    app.post("/api/v1/tickets", &customer, json!({ "body": huge }))
        .await
        .expect(StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_too_busy_to_answer_is_503_and_loses_nothing() {
    let app = TestApp::new();
    let customer = app.customer("kayode").await;
    // Another process holding SQLite's write lock longer than the busy timeout.
    let path = app.db.url().trim_start_matches("sqlite://").to_owned();
    // stdbuf: sqlite3 would hold its "locked" in a pipe buffer until it exits.
    let locker = std::process::Command::new("stdbuf")
        .args(["-oL", "sqlite3"])
        .arg(&path)
        .args(["BEGIN EXCLUSIVE;", ".print locked", ".shell sleep 7"])
        .stdout(std::process::Stdio::piped())
        .spawn();
    let Ok(mut locker) = locker else {
        eprintln!("notice: no stdbuf; skipping the busy-database test");
        return;
    };
    // Go on only once the lock is held, however slow the machine.
    let mut said = String::new();
    let stdout = locker.stdout.take().expect("piped");
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut said).expect("read");
    assert_eq!(said.trim(), "locked");
    app.post("/api/v1/tickets", &customer, json!({"body": "help"}))
        .await
        .expect(StatusCode::SERVICE_UNAVAILABLE);
    let _ = locker.wait();
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

#[tokio::test]
async fn a_trailing_slash_reaches_the_same_route_as_in_the_original() {
    let app = TestApp::new();
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
