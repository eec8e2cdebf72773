//! Creating, listing, reading and resolving tickets.

use super::*;

http_tests! {
    async fn only_a_customer_creates_and_a_new_ticket_has_the_original_fields(app) {
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        let admin = app.admin().await;
        let body = json!({"subject": "Login", "body": "I cannot log in"});
        let ticket = app
            .post("/api/v1/tickets", &customer, body.clone())
            .await
            .expect(StatusCode::CREATED)
            .data();
        for key in [
            "_id",
            "ticketId",
            "subject",
            "body",
            "status",
            "author",
            "createdAt",
            "updatedAt",
            "resolvedAt",
        ] {
            assert!(ticket.get(key).is_some(), "{key} missing in {ticket}");
        }
        assert_eq!(ticket["status"], "UNATTENDED");
        assert_eq!(ticket["resolvedAt"], Value::Null);
        let created_at = ticket["createdAt"].as_str().expect("string");
        assert!(
            created_at.ends_with('Z') && created_at.len() == 24,
            "{created_at}"
        );
        app.post("/api/v1/tickets", &agent, body.clone())
            .await
            .expect(StatusCode::FORBIDDEN);
        app.post("/api/v1/tickets", &admin, body)
            .await
            .expect(StatusCode::FORBIDDEN);
        let no_subject = app
            .post("/api/v1/tickets", &customer, json!({"body": "x"}))
            .await;
        assert_eq!(
            no_subject.expect(StatusCode::CREATED).data()["subject"],
            Value::Null
        );
    }
}

http_tests! {
    async fn ticket_ids_increase(app) {
        let customer = app.customer("kayode").await;
        let first = app.open_ticket(&customer, "one").await;
        let second = app.open_ticket(&customer, "two").await;
        assert!(first > 0 && second > first);
    }
}

http_tests! {
    async fn bad_ticket_bodies_are_400_and_create_nothing(app) {
        let customer = app.customer("kayode").await;
        let bodies = [
            json!({}),
            json!({"body": ""}),
            json!({"body": "  \n "}),
            json!({"body": "é".repeat(20_001)}),
            json!({"subject": "s".repeat(201), "body": "fine"}),
            json!({"body": ["not", "text"]}),
            json!({"body": "nul \u{0} inside"}),
            json!({"subject": "nul \u{0}", "body": "fine"}),
        ];
        for body in bodies {
            let answer = app.post("/api/v1/tickets", &customer, body.clone()).await;
            assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text());
        }
        app.post(
            "/api/v1/tickets",
            &customer,
            json!({"body": "é".repeat(20_000)}),
        )
        .await
        .expect(StatusCode::CREATED);
        let list = app
            .get("/api/v1/tickets?count=true", &customer)
            .await
            .expect(StatusCode::OK)
            .json();
        assert_eq!(list["meta"]["total"], 1);
    }
}

http_tests! {
    async fn a_customer_sees_only_their_own_tickets_and_staff_see_all(app) {
        let kayode = app.customer("kayode").await;
        let tolu = app.customer("tolu").await;
        let agent = app.agent().await;
        let admin = app.admin().await;
        let mine = app.open_ticket(&kayode, "mine").await;
        let theirs = app.open_ticket(&tolu, "theirs").await;
        let ids = |answer: Answer| -> Vec<i64> {
            answer
                .expect(StatusCode::OK)
                .data()
                .as_array()
                .expect("array")
                .iter()
                .filter_map(|t| t["ticketId"].as_i64())
                .collect()
        };
        assert_eq!(ids(app.get("/api/v1/tickets", &kayode).await), vec![mine]);
        assert_eq!(
            ids(app.get("/api/v1/tickets", &agent).await),
            vec![mine, theirs]
        );
        assert_eq!(
            ids(app.get("/api/v1/tickets", &admin).await),
            vec![mine, theirs]
        );
        app.get(&format!("/api/v1/tickets/{theirs}"), &kayode)
            .await
            .expect(StatusCode::NOT_FOUND);
        app.get(&format!("/api/v1/tickets/{theirs}"), &agent)
            .await
            .expect(StatusCode::OK);
        app.get(&format!("/api/v1/tickets/{theirs}"), &admin)
            .await
            .expect(StatusCode::OK);
        // A hidden ticket and a missing one look the same.
        // A hidden ticket and a missing one look the same (but for the
        // request's own id).
        let mut hidden = app
            .get(&format!("/api/v1/tickets/{theirs}"), &kayode)
            .await
            .json();
        let mut missing = app
            .get("/api/v1/tickets/999999", &kayode)
            .await
            .expect(StatusCode::NOT_FOUND)
            .json();
        for answer in [&mut hidden, &mut missing] {
            answer.as_object_mut().map(|fields| fields.remove("requestId"));
        }
        assert_eq!(hidden, missing);
    }
}

http_tests! {
    async fn list_parameters_page_sort_and_filter(app) {
        let customer = app.customer("kayode").await;
        let mut ids = Vec::new();
        for i in 0..5 {
            ids.push(app.open_ticket(&customer, &format!("t{i}")).await);
        }
        app.resolve(&customer, ids[2]).await.expect(StatusCode::OK);
        let list = |query: &'static str| {
            let app = &app;
            let customer = &customer;
            async move {
                let json = app
                    .get(&format!("/api/v1/tickets?{query}"), customer)
                    .await
                    .expect(StatusCode::OK)
                    .json();
                let got: Vec<i64> = json["data"]
                    .as_array()
                    .expect("array")
                    .iter()
                    .filter_map(|t| t["ticketId"].as_i64())
                    .collect();
                (got, json["meta"].clone())
            }
        };
        let (page, meta) = list("page=2&limit=2&count=true").await;
        assert_eq!(page, vec![ids[2], ids[3]]);
        let next = meta["nextCursor"].as_str().expect("a cursor").to_owned();
        assert_eq!(
            meta,
            json!({"page": 2, "limit": 2, "hasMore": true, "nextCursor": next, "total": 5})
        );
        // Without `count=true` there is no total; the last page says so.
        let (page, meta) = list("page=3&limit=2").await;
        assert_eq!(page, vec![ids[4]]);
        assert_eq!(
            meta,
            json!({"page": 3, "limit": 2, "hasMore": false, "nextCursor": null})
        );
        assert_eq!(
            list("direction=-1").await.0,
            ids.iter().rev().copied().collect::<Vec<_>>()
        );
        assert_eq!(
            list("sort=ticketId&direction=desc&limit=1").await.0,
            vec![ids[4]]
        );
        assert_eq!(list("status=RESOLVED").await.0, vec![ids[2]]);
        assert_eq!(list("sort=resolvedAt").await.0[0], ids[2]);
        assert_eq!(list("sort=updatedAt&direction=desc").await.0[0], ids[2]);
        assert_eq!(list("unknown=ignored").await.0.len(), 5);
        let (empty, _) = list("page=9").await;
        assert!(empty.is_empty());
    }
}

http_tests! {
    async fn bad_list_parameters_are_400(app) {
        let customer = app.customer("kayode").await;
        for query in [
            "page=0",
            "page=-1",
            "page=x",
            "limit=0",
            "limit=101",
            "limit=ten",
            "sort=body",
            "direction=up",
            "status=OPEN",
        ] {
            app.get(&format!("/api/v1/tickets?{query}"), &customer)
                .await
                .expect(StatusCode::BAD_REQUEST);
        }
    }
}

http_tests! {
    async fn a_non_numeric_ticket_id_is_400(app) {
        let customer = app.customer("kayode").await;
        for id in ["abc", "1.5", "-3", "0", "+1", "%2B1"] {
            app.get(&format!("/api/v1/tickets/{id}"), &customer)
                .await
                .expect(StatusCode::BAD_REQUEST);
            app.get(&format!("/api/v1/tickets/{id}/replies"), &customer)
                .await
                .expect(StatusCode::BAD_REQUEST);
        }
    }
}

http_tests! {
    async fn only_the_owner_resolves_and_resolving_again_changes_nothing(app) {
        let owner = app.customer("kayode").await;
        let other = app.customer("tolu").await;
        let agent = app.agent().await;
        let admin = app.admin().await;
        let id = app.open_ticket(&owner, "help").await;
        app.resolve(&agent, id).await.expect(StatusCode::FORBIDDEN);
        app.resolve(&admin, id).await.expect(StatusCode::FORBIDDEN);
        app.resolve(&other, id).await.expect(StatusCode::NOT_FOUND);
        let path = format!("/api/v1/tickets/{id}");
        app.put(&path, &owner, json!({"status": "REPLIED"}))
            .await
            .expect(StatusCode::BAD_REQUEST);
        app.put(&path, &owner, json!({"status": "CLOSED"}))
            .await
            .expect(StatusCode::BAD_REQUEST);
        app.put(&path, &owner, json!({}))
            .await
            .expect(StatusCode::BAD_REQUEST);
        let unresolved = app.get(&path, &owner).await.expect(StatusCode::OK).data();
        assert_eq!(unresolved["status"], "UNATTENDED");
        let first = app.resolve(&owner, id).await.expect(StatusCode::OK).data();
        assert_eq!(first["status"], "RESOLVED");
        let resolved_at = first["resolvedAt"].clone();
        assert!(resolved_at.is_string());
        let again = app.resolve(&owner, id).await.expect(StatusCode::OK).data();
        assert_eq!(again["resolvedAt"], resolved_at);
        app.resolve(&owner, 999_999)
            .await
            .expect(StatusCode::NOT_FOUND);
    }
}
