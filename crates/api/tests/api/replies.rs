//! Replies and the rules that guard them.

use super::*;

#[tokio::test]
async fn an_agent_reply_moves_the_ticket_to_replied_then_the_customer_may_reply() {
    let app = TestApp::new();
    let customer = app.customer("kayode").await;
    let agent = app.agent().await;
    let id = app.open_ticket(&customer, "help").await;
    app.reply(&customer, id, "anyone?")
        .await
        .expect(StatusCode::CONFLICT);
    let reply = app
        .reply(&agent, id, "on it")
        .await
        .expect(StatusCode::CREATED)
        .data();
    for key in [
        "_id",
        "body",
        "author",
        "ticketId",
        "createdAt",
        "updatedAt",
    ] {
        assert!(reply.get(key).is_some(), "{key} missing in {reply}");
    }
    assert_eq!(reply["role"], "SUPPORT_AGENT");
    let ticket = app
        .get(&format!("/api/v1/tickets/{id}"), &customer)
        .await
        .expect(StatusCode::OK)
        .data();
    assert_eq!(ticket["status"], "REPLIED");
    app.reply(&customer, id, "thanks")
        .await
        .expect(StatusCode::CREATED);
    let ticket = app
        .get(&format!("/api/v1/tickets/{id}"), &customer)
        .await
        .expect(StatusCode::OK)
        .data();
    assert_eq!(ticket["status"], "REPLIED");
}

#[tokio::test]
async fn admins_do_not_reply_and_other_customers_see_nothing() {
    let app = TestApp::new();
    let customer = app.customer("kayode").await;
    let other = app.customer("tolu").await;
    let agent = app.agent().await;
    let admin = app.admin().await;
    let id = app.open_ticket(&customer, "help").await;
    app.reply(&admin, id, "admin here")
        .await
        .expect(StatusCode::FORBIDDEN);
    app.reply(&agent, id, "on it")
        .await
        .expect(StatusCode::CREATED);
    app.reply(&other, id, "me too")
        .await
        .expect(StatusCode::NOT_FOUND);
    app.get(&format!("/api/v1/tickets/{id}/replies"), &other)
        .await
        .expect(StatusCode::NOT_FOUND);
    app.get(&format!("/api/v1/tickets/{id}/replies"), &admin)
        .await
        .expect(StatusCode::OK);
    app.reply(&agent, 999_999, "where?")
        .await
        .expect(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_resolved_ticket_takes_no_reply() {
    let app = TestApp::new();
    let customer = app.customer("kayode").await;
    let agent = app.agent().await;
    let id = app.open_ticket(&customer, "help").await;
    app.reply(&agent, id, "on it")
        .await
        .expect(StatusCode::CREATED);
    app.resolve(&customer, id).await.expect(StatusCode::OK);
    app.reply(&agent, id, "one more thing")
        .await
        .expect(StatusCode::CONFLICT);
    app.reply(&customer, id, "one more thing")
        .await
        .expect(StatusCode::CONFLICT);
}

#[tokio::test]
async fn bad_reply_bodies_are_400() {
    let app = TestApp::new();
    let customer = app.customer("kayode").await;
    let agent = app.agent().await;
    let id = app.open_ticket(&customer, "help").await;
    for body in [
        json!({}),
        json!({"body": " "}),
        json!({"body": "x".repeat(20_001)}),
        json!({"body": 7}),
        json!({"body": "a\u{0}b"}),
    ] {
        let path = format!("/api/v1/tickets/{id}/replies");
        let answer = app.post(&path, &agent, body.clone()).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            answer.text()
        );
    }
    let ticket = app
        .get(&format!("/api/v1/tickets/{id}"), &customer)
        .await
        .expect(StatusCode::OK)
        .data();
    assert_eq!(
        ticket["status"], "UNATTENDED",
        "no refused reply moved the status"
    );
}

#[tokio::test]
async fn replies_are_listed_oldest_first_in_pages() {
    let app = TestApp::new();
    let customer = app.customer("kayode").await;
    let agent = app.agent().await;
    let id = app.open_ticket(&customer, "help").await;
    for i in 0..3 {
        app.reply(&agent, id, &format!("agent {i}"))
            .await
            .expect(StatusCode::CREATED);
        app.reply(&customer, id, &format!("customer {i}"))
            .await
            .expect(StatusCode::CREATED);
    }
    let path = format!("/api/v1/tickets/{id}/replies");
    let all = app
        .get(&path, &customer)
        .await
        .expect(StatusCode::OK)
        .json();
    let bodies: Vec<_> = all["data"]
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["body"].clone())
        .collect();
    assert_eq!(
        bodies,
        [
            "agent 0",
            "customer 0",
            "agent 1",
            "customer 1",
            "agent 2",
            "customer 2"
        ]
        .map(|b| json!(b))
    );
    assert_eq!(all["meta"]["total"], 6);
    let page = app
        .get(&format!("{path}?page=2&limit=4"), &customer)
        .await
        .expect(StatusCode::OK)
        .data();
    assert_eq!(page.as_array().map(Vec::len), Some(2));
    app.get(&format!("{path}?limit=500"), &customer)
        .await
        .expect(StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_replies_and_a_resolve_keep_the_timeline_in_order() {
    let app = std::sync::Arc::new(TestApp::new());
    let customer = app.customer("kayode").await;
    let agent = app.agent().await;
    let id = app.open_ticket(&customer, "race").await;
    let replies: Vec<_> = (0..20)
        .map(|i| {
            let (app, agent) = (app.clone(), agent.clone());
            tokio::spawn(async move { app.reply(&agent, id, &format!("reply {i}")).await.status })
        })
        .collect();
    let resolved = app
        .resolve(&customer, id)
        .await
        .expect(StatusCode::OK)
        .data();
    for handle in replies {
        let status = handle.await.expect("join");
        assert!(
            status == StatusCode::CREATED || status == StatusCode::CONFLICT,
            "{status}"
        );
    }
    let resolved_at = resolved["resolvedAt"]
        .as_str()
        .expect("resolvedAt")
        .to_owned();
    let listed = app
        .get(
            &format!("/api/v1/tickets/{id}/replies?limit=100"),
            &customer,
        )
        .await
        .expect(StatusCode::OK)
        .data();
    for reply in listed.as_array().expect("array") {
        assert!(
            reply["createdAt"].as_str().expect("createdAt") <= resolved_at.as_str(),
            "{reply} after {resolved_at}"
        );
    }
}
