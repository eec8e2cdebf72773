//! Replies and the rules that guard them.

use super::*;

http_tests! {
    async fn an_agent_reply_moves_the_ticket_to_replied_then_the_customer_may_reply(app) {
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
}

http_tests! {
    async fn admins_do_not_reply_and_other_customers_see_nothing(app) {
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
}

http_tests! {
    async fn a_resolved_ticket_takes_no_reply(app) {
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
}

http_tests! {
    async fn bad_reply_bodies_are_400(app) {
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
}

http_tests! {
    async fn replies_are_listed_oldest_first_in_pages(app) {
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
            .get(&format!("{path}?count=true"), &customer)
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
}

http_tests! {
    async fn concurrent_replies_and_a_resolve_keep_the_timeline_in_order(app) {
        let app = std::sync::Arc::new(app);
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        let id = app.open_ticket(&customer, "race").await;
        let replies: Vec<_> = (0..20)
            .map(|i| {
                let (app, agent) = (app.clone(), agent.clone());
                tokio::spawn(async move { app.reply(&agent, id, &format!("reply {i}")).await.status })
            })
            .collect();
        app.resolve(&customer, id).await.expect(StatusCode::OK);
        let mut created = 0;
        for handle in replies {
            let status = handle.await.expect("join");
            assert!(
                status == StatusCode::CREATED || status == StatusCode::CONFLICT,
                "{status}"
            );
            created += usize::from(status == StatusCode::CREATED);
        }
        // The wire rounds to milliseconds; the store keeps microseconds.
        let reader = customer.actor();
        let (ticket, listed) = app
            .with_store(move |store| {
                let page = domain::PageRequest::new(1, 100).expect("valid");
                (
                    store.read_ticket(reader, TicketId(id)).expect("ticket"),
                    store.list_replies(reader, TicketId(id), page).expect("replies").items,
                )
            })
            .await;
        assert_eq!(listed.len(), created, "every 201 was kept, no 409 was");
        let resolved_at = ticket.resolved_at.expect("resolved");
        // Ids are handed out in commit order: the times must follow them.
        let mut by_id = listed.clone();
        by_id.sort_by_key(|reply| reply.id);
        for pair in by_id.windows(2) {
            assert!(
                pair[0].created_at <= pair[1].created_at,
                "reply {} at {} is later than reply {} at {}",
                pair[0].id,
                pair[0].created_at,
                pair[1].id,
                pair[1].created_at
            );
        }
        for reply in &listed {
            assert!(
                reply.created_at <= resolved_at,
                "reply {} at {} after resolvedAt {resolved_at}",
                reply.id,
                reply.created_at
            );
        }
    }
}
