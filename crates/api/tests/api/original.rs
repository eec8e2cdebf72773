//! The seven scenarios of the original service's test file, re-expressed,
//! and the whole flow.

use super::*;

async fn original_scenarios(app: TestApp) {
    let customer = app.customer("kayode").await;
    let agent = app.agent().await;

    // 1. A ticket without a body is refused.
    app.post(
        "/api/v1/tickets",
        &customer,
        json!({"subject": "Issue related to logging in"}),
    )
    .await
    .expect(StatusCode::BAD_REQUEST);

    // 2. A ticket with subject and body is created.
    let created = app
        .post(
            "/api/v1/tickets",
            &customer,
            json!({"subject": "Issue related to logging in", "body": "I have been unable to login"}),
        )
        .await
        .expect(StatusCode::CREATED)
        .data();
    assert_eq!(created["status"], "UNATTENDED");
    assert_eq!(created["author"], json!(customer.id));
    let id = created["ticketId"].as_i64().expect("ticketId");

    // 3. The customer's list.
    let list = app
        .get("/api/v1/tickets", &customer)
        .await
        .expect(StatusCode::OK)
        .data();
    assert_eq!(list.as_array().map(Vec::len), Some(1));

    // 4. Get by id.
    let one = app
        .get(&format!("/api/v1/tickets/{id}"), &customer)
        .await
        .expect(StatusCode::OK)
        .data();
    assert_eq!(one, created);

    // 5. A customer's reply before any agent reply is refused (409; the original said 400).
    app.reply(&customer, id, "hello?")
        .await
        .expect(StatusCode::CONFLICT);

    // 6. The agent replies.
    let reply = app
        .reply(
            &agent,
            id,
            "Hello! can you describe your issue more clearly?",
        )
        .await;
    let reply = reply.expect(StatusCode::CREATED).data();
    assert_eq!(reply["ticketId"], json!(id));
    assert_eq!(reply["author"], json!(agent.id));

    // 7. The customer replies, then the ticket is resolved: not by the agent
    //    (403 here), by the customer.
    app.reply(&customer, id, "That actually worked. Thanks")
        .await
        .expect(StatusCode::CREATED);
    app.resolve(&agent, id).await.expect(StatusCode::FORBIDDEN);
    let resolved = app
        .resolve(&customer, id)
        .await
        .expect(StatusCode::OK)
        .data();
    assert_eq!(resolved["status"], "RESOLVED");
    assert!(resolved["resolvedAt"].is_string());

    let replies = app
        .get(&format!("/api/v1/tickets/{id}/replies"), &customer)
        .await;
    let replies = replies.expect(StatusCode::OK).data();
    let roles: Vec<_> = replies
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["role"].clone())
        .collect();
    assert_eq!(roles, vec![json!("SUPPORT_AGENT"), json!("CUSTOMER")]);
    app.reply(&agent, id, "anything else?")
        .await
        .expect(StatusCode::CONFLICT);
}

http_tests! {
    async fn original_scenarios_pass(app) {
        original_scenarios(app).await;
    }
}
