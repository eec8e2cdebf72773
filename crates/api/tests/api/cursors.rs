//! Cursor pagination over HTTP: `meta.nextCursor` walks every list, a
//! cursor serves only the query it came from, and nothing a client sends
//! as a cursor is ever a 500.

use domain::ticket_list::TicketQuery;
use domain::{CursorKey, ListTickets, Paging, Position};

use super::*;

/// Follows `meta.nextCursor` from `first` (a path with its query) to the
/// end; every page but the last is full and says more follow.
async fn walk(app: &TestApp, session: &Session, first: &str, limit: usize) -> Vec<Value> {
    let mut records = Vec::new();
    let mut path = first.to_owned();
    loop {
        let answer = app.get(&path, session).await.expect(StatusCode::OK).json();
        let data = answer["data"].as_array().expect("data").clone();
        let meta = &answer["meta"];
        let numbered = if path == first { json!(1) } else { Value::Null };
        assert_eq!(
            meta["page"], numbered,
            "only the first page has a number: {meta}"
        );
        assert_eq!(meta.get("total"), None, "counted only when asked: {meta}");
        records.extend(data.iter().cloned());
        match meta["nextCursor"].as_str() {
            Some(cursor) => {
                assert_eq!(meta["hasMore"], true, "{meta}");
                assert_eq!(data.len(), limit, "only the last page is short: {meta}");
                let separator = if first.contains('?') { '&' } else { '?' };
                path = format!("{first}{separator}cursor={cursor}");
            }
            None => {
                assert_eq!(meta["hasMore"], false, "{meta}");
                assert!(
                    !data.is_empty() || records.is_empty(),
                    "a trailing empty page"
                );
                return records;
            }
        }
    }
}

fn ids(records: &[Value], field: &str) -> Vec<i64> {
    records
        .iter()
        .map(|r| {
            r[field]
                .as_i64()
                .unwrap_or_else(|| panic!("{field} in {r}"))
        })
        .collect()
}

/// The first page's `meta.nextCursor`.
async fn first_cursor(app: &TestApp, session: &Session, path: &str) -> String {
    let answer = app.get(path, session).await.expect(StatusCode::OK).json();
    answer["meta"]["nextCursor"]
        .as_str()
        .unwrap_or_else(|| panic!("no cursor: {answer}"))
        .to_owned()
}

/// Asks `path` and expects a 400 that names the cursor (or `what`).
async fn refused(app: &TestApp, session: &Session, path: &str, what: &str) {
    let answer = app.get(path, session).await.expect(StatusCode::BAD_REQUEST);
    let message = answer.json()["message"].as_str().unwrap_or("").to_owned();
    assert!(message.contains(what), "{path}: {message}");
}

http_tests! {
    async fn a_cursor_walk_lists_every_ticket_once_in_every_order(app) {
        let customer = app.customer("kayode").await;
        let other = app.customer("tolu").await;
        let agent = app.agent().await;
        let mut mine = Vec::new();
        for i in 0..7 {
            mine.push(app.open_ticket(&customer, &format!("mine {i}")).await);
            app.open_ticket(&other, &format!("theirs {i}")).await;
        }
        // Some resolved, some not, for the NULL end of `resolvedAt`.
        for &id in &mine[..3] {
            app.resolve(&customer, id).await.expect(StatusCode::OK);
        }
        for sort in ["ticketId", "createdAt", "updatedAt", "resolvedAt", "status", "priority", "resolutionDueAt"] {
            for direction in ["asc", "desc"] {
                for (session, expected) in [(&agent, 14), (&customer, 7)] {
                    let query = format!("/api/v1/tickets?limit=3&sort={sort}&direction={direction}");
                    let walked = ids(&walk(&app, session, &query, 3).await, "ticketId");
                    let all = app
                        .get(&format!("/api/v1/tickets?limit=100&sort={sort}&direction={direction}&count=true"), session)
                        .await
                        .expect(StatusCode::OK)
                        .json();
                    assert_eq!(all["meta"]["total"], expected);
                    assert_eq!(walked, ids(all["data"].as_array().expect("data"), "ticketId"), "{query}");
                }
            }
        }
        // Descending: the latest resolved first, then the unresolved, by id
        // in the same direction.
        let by_resolution = walk(
            &app,
            &customer,
            "/api/v1/tickets?limit=2&sort=resolvedAt&direction=desc",
            2,
        )
        .await;
        assert_eq!(
            ids(&by_resolution, "ticketId"),
            [mine[2], mine[1], mine[0], mine[6], mine[5], mine[4], mine[3]]
        );
    }

    async fn a_cursor_serves_only_its_own_query_and_caller(app) {
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        let other_agent = app.user("mina", Role::SupportAgent).await;
        for i in 0..5 {
            app.open_ticket(&customer, &format!("ticket {i}")).await;
        }
        let base = "/api/v1/tickets?limit=2&sort=createdAt&status=UNATTENDED";
        let cursor = first_cursor(&app, &agent, base).await;
        // The same query takes it.
        app.get(&format!("{base}&cursor={cursor}"), &agent)
            .await
            .expect(StatusCode::OK);
        app.get(&format!("{base}&cursor={cursor}&count=true"), &agent)
            .await
            .expect(StatusCode::OK);
        for other in [
            "/api/v1/tickets?limit=2&sort=createdAt",
            "/api/v1/tickets?limit=3&sort=createdAt&status=UNATTENDED",
            "/api/v1/tickets?limit=2&sort=updatedAt&status=UNATTENDED",
            "/api/v1/tickets?limit=2&sort=createdAt&status=UNATTENDED&direction=desc",
            "/api/v1/tickets?limit=2&sort=createdAt&status=UNATTENDED&q=ticket",
            "/api/v1/tickets?limit=2&sort=createdAt&status=UNATTENDED&priority=NORMAL",
        ] {
            refused(&app, &agent, &format!("{other}&cursor={cursor}"), "another query").await;
        }
        // Another caller, even one who sees the same tickets.
        refused(&app, &other_agent, &format!("{base}&cursor={cursor}"), "another query").await;
        // A cursor says where its page starts; a page number too is one too many.
        refused(&app, &agent, &format!("{base}&cursor={cursor}&page=2"), "cursor").await;
        // A ticket list's cursor is no reply list's.
        let id = app.open_ticket(&customer, "with replies").await;
        refused(
            &app,
            &agent,
            &format!("/api/v1/tickets/{id}/replies?limit=2&cursor={cursor}"),
            "another query",
        )
        .await;
    }

    async fn garbage_tampered_and_forged_cursors_are_400_never_500(app) {
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        for i in 0..3 {
            app.open_ticket(&customer, &format!("ticket {i}")).await;
        }
        let base = "/api/v1/tickets?limit=1";
        let cursor = first_cursor(&app, &agent, base).await;
        let mut tampered = Vec::new();
        for at in [0, cursor.len() / 2, cursor.len() - 1] {
            let mut chars: Vec<char> = cursor.chars().collect();
            chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
            tampered.push(chars.into_iter().collect::<String>());
        }
        // A cursor sealed for this very query and position: with this
        // server's key it is taken, with another server's it is a forgery.
        let first = app.get(base, &agent).await.json();
        let first_id = first["data"][0]["ticketId"].as_i64().expect("ticketId");
        let our_key = CursorKey::derive(SECRET.as_bytes());
        let request = ListTickets::parse(
            TicketQuery {
                paging: Paging {
                    limit: Some("1"),
                    ..Paging::default()
                },
                ..TicketQuery::default()
            },
            agent.actor(),
            &our_key,
        )
        .expect("valid");
        let position = Position::after_id(first_id);
        let ours = our_key.seal(request.page.binding(), position);
        let second = app.get(&format!("{base}&cursor={ours}"), &agent).await.expect(StatusCode::OK).json();
        assert_eq!(second["data"][0]["ticketId"].as_i64(), Some(first_id + 1));
        let forged = CursorKey::derive(b"another server's secret, 32 bytes+")
            .seal(request.page.binding(), position);
        let garbage = [
            "",
            "abc",
            "%00",
            "%FF%FE",
            "null",
            "1",
            "-1",
            "'%3B%20DROP%20TABLE%20tickets%3B--",
            &"A".repeat(56),
            &"z".repeat(5000),
            &format!("{cursor}{cursor}"),
            &cursor[..cursor.len() - 2],
        ];
        for raw in garbage.iter().copied().chain(tampered.iter().map(String::as_str)).chain([forged.as_str()]) {
            refused(&app, &agent, &format!("{base}&cursor={raw}"), "cursor").await;
        }
        for list in ["/api/v1/users?limit=1", "/api/v1/tickets/1/replies?limit=1", "/api/v1/tickets/1/events?limit=1"] {
            let admin = app.admin().await;
            refused(&app, &admin, &format!("{list}&cursor=abc"), "cursor").await;
        }
    }

    async fn a_deep_page_is_refused_with_a_pointer_to_the_cursor(app) {
        let agent = app.agent().await;
        for (query, status) in [
            ("page=500&limit=20", StatusCode::OK),
            ("page=10000&limit=1", StatusCode::OK),
            ("page=100&limit=100", StatusCode::OK),
            ("page=501&limit=20", StatusCode::BAD_REQUEST),
            ("page=10001", StatusCode::BAD_REQUEST),
            ("page=101&limit=100", StatusCode::BAD_REQUEST),
            ("page=99999999999999999999", StatusCode::BAD_REQUEST),
        ] {
            let answer = app.get(&format!("/api/v1/tickets?{query}"), &agent).await.expect(status);
            if status == StatusCode::BAD_REQUEST {
                let message = answer.json()["message"].as_str().unwrap_or("").to_owned();
                assert!(message.contains("cursor"), "{query}: {message}");
            }
        }
        let customer = app.customer("kayode").await;
        let id = app.open_ticket(&customer, "deep").await;
        for list in ["replies", "events"] {
            refused(&app, &agent, &format!("/api/v1/tickets/{id}/{list}?page=501"), "cursor").await;
        }
        let admin = app.admin().await;
        refused(&app, &admin, "/api/v1/users?page=501", "cursor").await;
    }

    async fn replies_events_and_users_walk_by_cursor(app) {
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        let admin = app.admin().await;
        let id = app.open_ticket(&customer, "help").await;
        for i in 0..3 {
            app.reply(&agent, id, &format!("agent {i}")).await.expect(StatusCode::CREATED);
            app.post(
                &format!("/api/v1/tickets/{id}/replies"),
                &agent,
                json!({"body": format!("note {i}"), "internal": true}),
            )
            .await
            .expect(StatusCode::CREATED);
            app.reply(&customer, id, &format!("customer {i}")).await.expect(StatusCode::CREATED);
        }
        let replies = format!("/api/v1/tickets/{id}/replies?limit=2");
        let theirs = walk(&app, &customer, &replies, 2).await;
        let bodies: Vec<&str> = theirs.iter().map(|r| r["body"].as_str().expect("body")).collect();
        assert_eq!(bodies, ["agent 0", "customer 0", "agent 1", "customer 1", "agent 2", "customer 2"]);
        let all = walk(&app, &agent, &replies, 2).await;
        assert_eq!(all.len(), 9);
        let reply_ids: Vec<i64> = all
            .iter()
            .map(|r| r["_id"].as_str().and_then(|id| id.parse().ok()).expect("_id"))
            .collect();
        let mut sorted = reply_ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(reply_ids, sorted, "oldest first, each once");
        // A cursor of one ticket's replies is not another's.
        let other = app.open_ticket(&customer, "other").await;
        let cursor = first_cursor(&app, &agent, &replies).await;
        refused(&app, &agent, &format!("/api/v1/tickets/{other}/replies?limit=2&cursor={cursor}"), "another query").await;
        // Nor a customer's cursor an agent's.
        let cursor = first_cursor(&app, &customer, &replies).await;
        refused(&app, &agent, &format!("{replies}&cursor={cursor}"), "another query").await;

        let events = format!("/api/v1/tickets/{id}/events?limit=4");
        let all_events = walk(&app, &agent, &events, 4).await;
        let one_page = app.get(&format!("/api/v1/tickets/{id}/events?limit=100"), &agent).await.json();
        assert_eq!(&all_events, one_page["data"].as_array().expect("data"));
        let their_events = walk(&app, &customer, &events, 4).await;
        assert!(their_events.iter().all(|e| e["type"] != "noted"), "{their_events:?}");

        for i in 0..4 {
            app.customer(&format!("customer{i}")).await;
        }
        let customers = walk(&app, &admin, "/api/v1/users?limit=2&role=CUSTOMER", 2).await;
        let names: Vec<&str> = customers.iter().map(|u| u["username"].as_str().expect("username")).collect();
        assert_eq!(names, ["kayode", "customer0", "customer1", "customer2", "customer3"]);
    }

    async fn the_total_is_counted_only_when_asked(app) {
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        for i in 0..3 {
            app.open_ticket(&customer, &format!("ticket {i}")).await;
        }
        for session in [&agent, &customer] {
            let plain = app.get("/api/v1/tickets", session).await.expect(StatusCode::OK).json();
            assert_eq!(plain["meta"], json!({"page": 1, "limit": 20, "hasMore": false, "nextCursor": null}));
            let counted = app.get("/api/v1/tickets?limit=2&count=true", session).await.expect(StatusCode::OK).json();
            assert_eq!(counted["meta"]["total"], 3);
            assert_eq!(counted["meta"]["hasMore"], true);
            let none = app.get("/api/v1/tickets?count=false", session).await.expect(StatusCode::OK).json();
            assert_eq!(none["meta"].get("total"), None);
        }
        refused(&app, &agent, "/api/v1/tickets?count=yes", "count").await;
    }
}
