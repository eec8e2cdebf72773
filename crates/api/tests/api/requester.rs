//! A ticket's requester: staff see the account that opened a ticket
//! (`{_id, username, email}`) beside it in every answer that holds the
//! ticket; a customer, who is the requester, never gets the field.

use super::conditional::{etag, send_with};
use super::*;

/// `session`'s own address set to `email`.
async fn set_address(app: &TestApp, session: &Session, email: Value) {
    app.patch("/api/v1/users/me", session, json!({ "email": email }))
        .await
        .expect(StatusCode::OK);
}

/// An API token of `owner`'s, as a session of its own (the store reads a
/// ticket for it without the session's one-query read).
async fn api_token(app: &TestApp, owner: &Session) -> Session {
    let created = app
        .post("/api/v1/users/me/tokens", owner, json!({"name": "script"}))
        .await
        .expect(StatusCode::CREATED)
        .data();
    Session {
        token: created["token"].as_str().expect("token").to_owned(),
        ..owner.clone()
    }
}

/// The tickets of a list answer.
fn rows(answer: Answer) -> Vec<Value> {
    answer.data().as_array().expect("a list").clone()
}

/// The row of ticket `id` in a list answer.
fn row_of(rows: &[Value], id: i64) -> Value {
    rows.iter()
        .find(|row| row["ticketId"] == id)
        .unwrap_or_else(|| panic!("ticket {id} not in {rows:?}"))
        .clone()
}

http_tests! {
    /// Staff see the requester, with a customer's address or `null` when
    /// there is none, in the single read (by session and by API token), the
    /// list, a search and a triage answer; a customer never sees the field,
    /// in any answer holding their ticket.
    async fn staff_see_the_requester_and_a_customer_never_does(app) {
        let admin = app.admin().await;
        let agent = app.agent().await;
        let kayode = app.customer("kayode").await;
        let tolu = app.customer("tolu").await;
        set_address(&app, &kayode, json!("Kayode@Example.com")).await;
        set_address(&app, &agent, json!("benjamin@staff.example")).await;

        let created = app
            .post("/api/v1/tickets", &kayode, json!({"subject": "Printer", "body": "The printer is on fire"}))
            .await
            .expect(StatusCode::CREATED)
            .data();
        assert!(created.get("requester").is_none(), "creation: {created}");
        let ticket = created["ticketId"].as_i64().expect("ticketId");
        let other = app.open_ticket(&tolu, "The fax is on fire").await;
        let with_address = json!({"_id": kayode.id, "username": "kayode", "email": "kayode@example.com"});
        let without = json!({"_id": tolu.id, "username": "tolu", "email": null});

        let agent_token = api_token(&app, &agent).await;
        for staff in [&agent, &admin, &agent_token] {
            let read = app.get(&format!("/api/v1/tickets/{ticket}"), staff).await.expect(StatusCode::OK).data();
            assert_eq!(read["requester"], with_address, "{:?}", staff.role);
            let read = app.get(&format!("/api/v1/tickets/{other}"), staff).await.expect(StatusCode::OK).data();
            assert_eq!(read["requester"], without, "{:?}", staff.role);
            let listed = rows(app.get("/api/v1/tickets?limit=100", staff).await.expect(StatusCode::OK));
            assert_eq!(row_of(&listed, ticket)["requester"], with_address);
            assert_eq!(row_of(&listed, other)["requester"], without);
            let found = rows(app.get("/api/v1/tickets?q=printer", staff).await.expect(StatusCode::OK));
            assert_eq!(found.len(), 1, "{found:?}");
            assert_eq!(found[0]["requester"], with_address);
        }
        let triaged = app
            .patch(&format!("/api/v1/tickets/{ticket}"), &admin, json!({"priority": "HIGH"}))
            .await
            .expect(StatusCode::OK)
            .data();
        assert_eq!(triaged["requester"], with_address, "the triage answer");

        // The customer: no requester in the read, the list, a search, the
        // reply's answer or the resolution's, by session or by API token.
        app.reply(&agent, ticket, "On it").await.expect(StatusCode::CREATED);
        let kayode_token = api_token(&app, &kayode).await;
        for session in [&kayode, &kayode_token] {
            let read = app.get(&format!("/api/v1/tickets/{ticket}"), session).await.expect(StatusCode::OK).data();
            assert!(read.get("requester").is_none(), "{read}");
            let listed = app.get("/api/v1/tickets", session).await.expect(StatusCode::OK).text();
            assert!(!listed.contains("requester"), "{listed}");
            let found = app.get("/api/v1/tickets?q=printer", session).await.expect(StatusCode::OK).text();
            assert!(!found.contains("requester"), "{found}");
        }
        let replied = app.reply(&kayode, ticket, "Thanks").await.expect(StatusCode::CREATED).text();
        assert!(!replied.contains("requester"), "{replied}");
        let resolved = app.resolve(&kayode, ticket).await.expect(StatusCode::OK).text();
        assert!(!resolved.contains("requester") && !resolved.contains("example.com"), "{resolved}");
    }

    /// The requester's address is read with the ticket: a change shows on
    /// the next read and moves the staff's `ETag`, and not the customer's,
    /// who sees no requester.
    async fn an_address_change_shows_on_the_next_read_and_moves_the_staff_etag(app) {
        let agent = app.agent().await;
        let kayode = app.customer("kayode").await;
        let ticket = app.open_ticket(&kayode, "The printer is on fire").await;
        let path = format!("/api/v1/tickets/{ticket}");
        let staff_before = app.get(&path, &agent).await.expect(StatusCode::OK);
        assert_eq!(staff_before.data()["requester"]["email"], Value::Null);
        let customer_before = etag(&app.get(&path, &kayode).await.expect(StatusCode::OK));
        let staff_tag = etag(&staff_before);

        set_address(&app, &kayode, json!("kayode@example.com")).await;
        let after = send_with(&app, Method::GET, &path, Some(&agent), &[("if-none-match", &staff_tag)], None)
            .await
            .expect(StatusCode::OK);
        assert_eq!(after.data()["requester"]["email"], "kayode@example.com");
        assert_ne!(etag(&after), staff_tag, "the staff's tag follows the address");
        let listed = rows(app.get("/api/v1/tickets", &agent).await.expect(StatusCode::OK));
        assert_eq!(row_of(&listed, ticket)["requester"]["email"], "kayode@example.com");
        let customer_after = etag(&app.get(&path, &kayode).await.expect(StatusCode::OK));
        assert_eq!(customer_after, customer_before, "the customer sees nothing new");

        // A write naming the version from before the change is refused.
        let stale = send_with(
            &app,
            Method::PATCH,
            &path,
            Some(&agent),
            &[("if-match", &staff_tag)],
            Some(json!({"priority": "HIGH"})),
        )
        .await;
        assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED, "{}", stale.text());

        set_address(&app, &kayode, Value::Null).await;
        let cleared = app.get(&path, &agent).await.expect(StatusCode::OK);
        assert_eq!(cleared.data()["requester"]["email"], Value::Null);
        assert_eq!(etag(&cleared), staff_tag, "the same as before it was set");
    }

    /// A requester who became staff is shown by the rule for a staff
    /// member's address: to an admin, not to another agent.
    async fn a_requester_who_became_staff_keeps_their_address_from_other_agents(app) {
        let admin = app.admin().await;
        let agent = app.agent().await;
        let kayode = app.customer("kayode").await;
        set_address(&app, &kayode, json!("kayode@example.com")).await;
        let ticket = app.open_ticket(&kayode, "The printer is on fire").await;
        app.patch(&format!("/api/v1/users/{}", kayode.id), &admin, json!({"role": "SUPPORT_AGENT"}))
            .await
            .expect(StatusCode::OK);
        let path = format!("/api/v1/tickets/{ticket}");
        let seen = app.get(&path, &agent).await.expect(StatusCode::OK).data();
        assert_eq!(seen["requester"], json!({"_id": kayode.id, "username": "kayode"}));
        let listed = rows(app.get("/api/v1/tickets", &agent).await.expect(StatusCode::OK));
        assert!(row_of(&listed, ticket)["requester"].get("email").is_none());
        let seen = app.get(&path, &admin).await.expect(StatusCode::OK).data();
        assert_eq!(seen["requester"]["email"], "kayode@example.com");
    }
}
