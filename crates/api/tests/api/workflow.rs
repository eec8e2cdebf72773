//! The helpdesk workflow over HTTP: the new ticket fields, triage
//! (`PATCH /tickets/:ticketId`), internal notes, assignment on reply, the
//! history (`GET /tickets/:ticketId/events`), the new list filters and
//! sorts, and the SLA verdict.

use chrono::{DateTime, TimeDelta, Utc};
use domain::SlaTargets;
use store::{DatabaseUrl, Store, StoreOptions};

use super::*;

/// A JSON timestamp as a time.
#[track_caller]
fn time(value: &Value) -> DateTime<Utc> {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not a timestamp: {value}"));
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .with_timezone(&Utc)
}

fn path(id: i64) -> String {
    format!("/api/v1/tickets/{id}")
}

/// Lets the clock move past the millisecond a timestamp shows.
async fn tick() {
    tokio::time::sleep(Duration::from_millis(5)).await;
}

/// The ticket as `session` reads it.
async fn ticket(app: &TestApp, session: &Session, id: i64) -> Value {
    app.get(&path(id), session)
        .await
        .expect(StatusCode::OK)
        .data()
}

async fn triage(app: &TestApp, session: &Session, id: i64, body: Value) -> Answer {
    app.patch(&path(id), session, body).await
}

/// Triage that must succeed; the changed ticket.
async fn triaged(app: &TestApp, session: &Session, id: i64, body: Value) -> Value {
    triage(app, session, id, body)
        .await
        .expect(StatusCode::OK)
        .data()
}

async fn note(app: &TestApp, session: &Session, id: i64, body: &str) -> Answer {
    app.post(
        &format!("{}/replies", path(id)),
        session,
        json!({"body": body, "internal": true}),
    )
    .await
}

/// The whole answer (`data` and `meta`) of `path`.
/// A list answer, counted (`count=true` added to the query).
async fn page(app: &TestApp, session: &Session, path: &str) -> Value {
    let separator = if path.contains('?') { '&' } else { '?' };
    app.get(&format!("{path}{separator}count=true"), session)
        .await
        .expect(StatusCode::OK)
        .json()
}

/// The ticket's history as `session` sees it, in one page.
async fn history(app: &TestApp, session: &Session, id: i64) -> Value {
    page(app, session, &format!("{}/events?limit=100", path(id))).await
}

/// `data` of a list answer, as a slice.
#[track_caller]
fn items(answer: &Value) -> &[Value] {
    answer["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data array: {answer}"))
}

/// Each event's `type`, `actor` and `data`.
fn summaries(answer: &Value) -> Vec<Value> {
    items(answer)
        .iter()
        .map(|e| json!({"type": e["type"], "actor": e["actor"], "data": e["data"]}))
        .collect()
}

fn event_types(answer: &Value) -> Vec<String> {
    items(answer)
        .iter()
        .map(|e| e["type"].as_str().expect("type").to_owned())
        .collect()
}

/// The `ticketId`s of a ticket list, checking that `meta.total` counts
/// them all (every list here fits one page).
async fn listed(app: &TestApp, session: &Session, query: &str) -> Vec<i64> {
    let answer = page(app, session, &format!("/api/v1/tickets?limit=100&{query}")).await;
    let ids: Vec<i64> = items(&answer)
        .iter()
        .map(|t| t["ticketId"].as_i64().expect("ticketId"))
        .collect();
    assert_eq!(
        answer["meta"]["total"],
        json!(ids.len()),
        "{query}: {answer}"
    );
    assert_eq!(answer["meta"]["hasMore"], false, "{query}: {answer}");
    ids
}

async fn list_status(app: &TestApp, session: &Session, query: &str) -> StatusCode {
    app.get(&format!("/api/v1/tickets?{query}"), session)
        .await
        .status
}

/// Deactivates `user` through the admin API.
async fn deactivate(app: &TestApp, admin: &Session, user: &Session) {
    app.patch(
        &format!("/api/v1/users/{}", user.id),
        admin,
        json!({"active": false}),
    )
    .await
    .expect(StatusCode::OK);
}

/// The same database behind a router whose store computes due times from
/// these first-response and resolution targets.
async fn with_sla(app: TestApp, first_response: &str, resolution: Option<&str>) -> TestApp {
    let sla = SlaTargets::parse(Some(first_response), resolution).expect("valid targets");
    let url = DatabaseUrl::parse(&app.db.url()).expect("url");
    let store = tokio::task::spawn_blocking(move || {
        let options = StoreOptions {
            sla,
            ..StoreOptions::default()
        };
        Store::connect(&url, options).expect("connect")
    })
    .await
    .expect("join");
    app.with_router(api::router(shared_state(
        store,
        &LimitSettings::off(),
        None,
    )))
}

// The new ticket fields.

http_tests! {
    async fn a_new_ticket_has_the_workflow_defaults_and_only_staff_see_its_tags(app) {
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        let admin = app.admin().await;
        let created = app
            .post(
                "/api/v1/tickets",
                &customer,
                json!({"subject": "Login", "body": "I cannot log in"}),
            )
            .await
            .expect(StatusCode::CREATED)
            .data();
        let id = created["ticketId"].as_i64().expect("ticketId");
        // The original fields, unchanged.
        assert_eq!(created["_id"], json!(id.to_string()));
        assert_eq!(created["subject"], "Login");
        assert_eq!(created["body"], "I cannot log in");
        assert_eq!(created["status"], "UNATTENDED");
        assert_eq!(created["author"], json!(customer.id));
        assert_eq!(created["resolvedAt"], Value::Null);
        assert_eq!(created["createdAt"], created["updatedAt"]);
        // The workflow fields and their defaults.
        assert_eq!(created["priority"], "NORMAL");
        assert_eq!(created["assignee"], Value::Null);
        assert_eq!(created["firstResponseAt"], Value::Null);
        assert_eq!(created["slaBreached"], false);
        let created_at = time(&created["createdAt"]);
        assert_eq!(
            time(&created["firstResponseDueAt"]),
            created_at + TimeDelta::hours(8)
        );
        assert_eq!(
            time(&created["resolutionDueAt"]),
            created_at + TimeDelta::days(3)
        );
        for key in ["firstResponseDueAt", "resolutionDueAt"] {
            let text = created[key].as_str().expect("string");
            assert!(text.ends_with('Z') && text.len() == 24, "{key}: {text}");
        }
        // A customer never sees tags: not on creation, not read, not listed.
        assert!(created.get("tags").is_none(), "{created}");
        let read = ticket(&app, &customer, id).await;
        assert!(read.get("tags").is_none(), "{read}");
        assert_eq!(read, created);
        let list = page(&app, &customer, "/api/v1/tickets").await;
        assert!(items(&list)[0].get("tags").is_none(), "{list}");
        // Staff do, on every read, with the requester beside them; the
        // rest is what the customer sees.
        for staff in [&agent, &admin] {
            let read = ticket(&app, staff, id).await;
            assert_eq!(read["tags"], json!([]), "{read}");
            assert_eq!(read["requester"]["_id"], created["author"], "{read}");
            let mut without_tags = read.clone();
            let fields = without_tags.as_object_mut().expect("object");
            fields.remove("tags");
            fields.remove("requester");
            assert_eq!(without_tags, created);
            let list = page(&app, staff, "/api/v1/tickets").await;
            assert_eq!(items(&list)[0]["tags"], json!([]), "{list}");
        }
    }
}

// Triage: PATCH /tickets/:ticketId.

http_tests! {
    async fn staff_set_the_priority_and_both_due_times_follow_it(app) {
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        let admin = app.admin().await;
        let id = app.open_ticket(&customer, "help").await;
        let before = ticket(&app, &agent, id).await;
        let created_at = time(&before["createdAt"]);
        let targets = [
            (&agent, "URGENT", TimeDelta::hours(1), TimeDelta::hours(4)),
            (&admin, "LOW", TimeDelta::hours(24), TimeDelta::days(7)),
            (&agent, "HIGH", TimeDelta::hours(4), TimeDelta::days(1)),
            (&admin, "NORMAL", TimeDelta::hours(8), TimeDelta::days(3)),
        ];
        let mut last_update = time(&before["updatedAt"]);
        for (who, priority, first_response, resolution) in targets {
            tick().await;
            let changed = triaged(&app, who, id, json!({"priority": priority})).await;
            assert_eq!(changed["priority"], priority);
            assert_eq!(
                time(&changed["firstResponseDueAt"]),
                created_at + first_response,
                "{priority}"
            );
            assert_eq!(
                time(&changed["resolutionDueAt"]),
                created_at + resolution,
                "{priority}"
            );
            let updated_at = time(&changed["updatedAt"]);
            assert!(updated_at > last_update, "{priority}: updatedAt did not move");
            last_update = updated_at;
            assert_eq!(changed["createdAt"], before["createdAt"]);
            assert_eq!(changed["status"], "UNATTENDED");
            assert_eq!(changed["tags"], json!([]));
            // What the PATCH answered is what is stored.
            assert_eq!(ticket(&app, who, id).await, changed);
        }
        // Everyone sees the priority.
        tick().await;
        triaged(&app, &agent, id, json!({"priority": "URGENT"})).await;
        let seen = ticket(&app, &customer, id).await;
        assert_eq!(seen["priority"], "URGENT");
        assert!(seen.get("tags").is_none(), "{seen}");
    }
}

http_tests! {
    async fn staff_assign_and_unassign_a_ticket(app) {
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        let admin = app.admin().await;
        let id = app.open_ticket(&customer, "help").await;
        let before = ticket(&app, &agent, id).await;
        tick().await;
        let assigned = triaged(&app, &admin, id, json!({"assignee": agent.id})).await;
        assert_eq!(assigned["assignee"], json!(agent.id));
        assert!(time(&assigned["updatedAt"]) > time(&before["updatedAt"]));
        // The due times stay: only the priority moves them.
        assert_eq!(assigned["firstResponseDueAt"], before["firstResponseDueAt"]);
        assert_eq!(assigned["resolutionDueAt"], before["resolutionDueAt"]);
        assert_eq!(ticket(&app, &customer, id).await["assignee"], json!(agent.id));
        // An admin may own a ticket too.
        tick().await;
        let to_admin = triaged(&app, &agent, id, json!({"assignee": admin.id})).await;
        assert_eq!(to_admin["assignee"], json!(admin.id));
        assert!(time(&to_admin["updatedAt"]) > time(&assigned["updatedAt"]));
        // A number names the user too, `2.0` as well as `2` (JSON Schema's
        // integers, which the document promises).
        let number: i64 = admin.id.parse().expect("digits");
        for sent in [json!(number), json!(number as f64)] {
            let by_number = triaged(&app, &agent, id, json!({"assignee": sent})).await;
            assert_eq!(by_number["assignee"], json!(admin.id), "{sent}");
        }
        // null unassigns.
        tick().await;
        let unassigned = triaged(&app, &agent, id, json!({"assignee": null})).await;
        assert_eq!(unassigned["assignee"], Value::Null);
        assert!(time(&unassigned["updatedAt"]) > time(&to_admin["updatedAt"]));
        assert_eq!(ticket(&app, &customer, id).await["assignee"], Value::Null);
        let all = history(&app, &agent, id).await;
        assert_eq!(
            event_types(&all),
            ["created", "assigned", "assigned", "assigned"]
        );
    }
}

http_tests! {
    async fn tags_are_lower_cased_deduplicated_sorted_and_leave_updated_at(app) {
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        let admin = app.admin().await;
        let id = app.open_ticket(&customer, "help").await;
        let before = ticket(&app, &agent, id).await;
        tick().await;
        let tagged = triaged(
            &app,
            &agent,
            id,
            json!({"tags": ["VIP", "billing", "vip", "Billing", "a-1", "0day"]}),
        )
        .await;
        assert_eq!(tagged["tags"], json!(["0day", "a-1", "billing", "vip"]));
        // A tag change alone reveals nothing to the customer.
        assert_eq!(tagged["updatedAt"], before["updatedAt"]);
        assert_eq!(ticket(&app, &admin, id).await, tagged);
        let seen = ticket(&app, &customer, id).await;
        assert!(seen.get("tags").is_none(), "{seen}");
        assert_eq!(seen["updatedAt"], before["updatedAt"]);
        // The set is replaced whole.
        let replaced = triaged(&app, &admin, id, json!({"tags": ["urgent-fix"]})).await;
        assert_eq!(replaced["tags"], json!(["urgent-fix"]));
        // The limits themselves are fine: 20 tags, 32 characters.
        let twenty: Vec<String> = (0..20).map(|i| format!("t{i:02}")).collect();
        let full = triaged(&app, &agent, id, json!({"tags": twenty})).await;
        assert_eq!(full["tags"], json!(twenty));
        let long = "a".repeat(32);
        let long_tagged = triaged(&app, &agent, id, json!({"tags": [long]})).await;
        assert_eq!(long_tagged["tags"], json!([long]));
        // Duplicates go, but the limit counts the tags as sent (as the
        // document's `maxItems` says): twenty spellings of one tag are one
        // tag, twenty-one spellings of twenty are refused.
        let spellings: Vec<String> = (0..20).map(|i| if i % 2 == 0 { "VIP" } else { "vip" }.to_owned()).collect();
        let one = triaged(&app, &agent, id, json!({"tags": spellings})).await;
        assert_eq!(one["tags"], json!(["vip"]));
        let mut spellings = twenty.clone();
        spellings.push("T00".to_owned());
        app.patch(&format!("/api/v1/tickets/{id}"), &agent, json!({"tags": spellings}))
            .await
            .expect(StatusCode::BAD_REQUEST);
        let cleared = triaged(&app, &agent, id, json!({"tags": []})).await;
        assert_eq!(cleared["tags"], json!([]));
        assert_eq!(cleared["updatedAt"], before["updatedAt"]);
    }
}

http_tests! {
    async fn customers_do_not_triage(app) {
        let kayode = app.customer("kayode").await;
        let tolu = app.customer("tolu").await;
        let agent = app.agent().await;
        let id = app.open_ticket(&kayode, "help").await;
        let before = ticket(&app, &agent, id).await;
        let bodies = [
            json!({"priority": "URGENT"}),
            json!({"assignee": agent.id}),
            json!({"tags": ["vip"]}),
            json!({}),
        ];
        for body in bodies {
            triage(&app, &kayode, id, body.clone())
                .await
                .expect(StatusCode::FORBIDDEN);
            triage(&app, &tolu, id, body)
                .await
                .expect(StatusCode::NOT_FOUND);
        }
        assert_eq!(ticket(&app, &agent, id).await, before);
        assert_eq!(event_types(&history(&app, &agent, id).await), ["created"]);
    }
}

http_tests! {
    async fn an_assignee_must_be_an_active_agent_or_admin(app) {
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        let admin = app.admin().await;
        let retired = app.user("tunde", Role::SupportAgent).await;
        deactivate(&app, &admin, &retired).await;
        let id = app.open_ticket(&customer, "help").await;
        let before = ticket(&app, &agent, id).await;
        let refused = [
            customer.id.clone(),
            retired.id.clone(),
            "999999".to_owned(),
        ];
        for assignee in refused {
            triage(&app, &agent, id, json!({"assignee": assignee}))
                .await
                .expect(StatusCode::BAD_REQUEST);
            // Nothing else in the request is applied either.
            triage(
                &app,
                &admin,
                id,
                json!({"assignee": assignee, "priority": "URGENT", "tags": ["vip"]}),
            )
            .await
            .expect(StatusCode::BAD_REQUEST);
        }
        assert_eq!(ticket(&app, &agent, id).await, before);
        assert_eq!(event_types(&history(&app, &agent, id).await), ["created"]);
        // An agent deactivated after being assigned cannot be assigned again.
        let later = app.user("sade", Role::SupportAgent).await;
        triaged(&app, &admin, id, json!({"assignee": later.id})).await;
        deactivate(&app, &admin, &later).await;
        let other = app.open_ticket(&customer, "again").await;
        triage(&app, &admin, other, json!({"assignee": later.id}))
            .await
            .expect(StatusCode::BAD_REQUEST);
        assert_eq!(ticket(&app, &admin, other).await["assignee"], Value::Null);
    }
}

http_tests! {
    async fn bad_triage_values_are_400_and_change_nothing(app) {
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        let id = app.open_ticket(&customer, "help").await;
        let before = ticket(&app, &agent, id).await;
        let twenty_one: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        let bad = [
            json!({"priority": "low"}),
            json!({"priority": "CRITICAL"}),
            json!({"priority": ""}),
            json!({"priority": 3}),
            json!({"priority": null}),
            json!({"tags": null}),
            json!({"tags": ["\u{212A}"]}),
            json!({"tags": ["-x"]}),
            json!({"tags": ["a".repeat(33)]}),
            json!({"tags": ["a b"]}),
            json!({"tags": [""]}),
            json!({"tags": ["ok", "bad_tag"]}),
            json!({"tags": twenty_one}),
            json!({"tags": "vip"}),
            json!({"tags": [1]}),
            json!({"tags": {"vip": true}}),
            json!({"assignee": true}),
            json!({"assignee": "abc"}),
            json!({"assignee": ""}),
            json!({"assignee": [agent.id]}),
            json!({"assignee": 1.5}),
            json!({"assignee": 0}),
            json!({"assignee": -1}),
            json!({"assignee": 1e300}),
        ];
        for body in bad {
            let answer = triage(&app, &agent, id, body.clone()).await;
            assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}: {}", answer.text());
            answer.expect(StatusCode::BAD_REQUEST);
            // A good field beside a bad one is not applied either.
            let mut mixed = body.clone();
            let object = mixed.as_object_mut().expect("object");
            if !object.contains_key("priority") {
                object.insert("priority".into(), json!("URGENT"));
            }
            if !object.contains_key("tags") {
                object.insert("tags".into(), json!(["vip"]));
            }
            if !object.contains_key("assignee") {
                object.insert("assignee".into(), json!(agent.id));
            }
            let answer = triage(&app, &agent, id, mixed.clone()).await;
            assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{mixed}: {}", answer.text());
        }
        assert_eq!(ticket(&app, &agent, id).await, before);
        assert_eq!(event_types(&history(&app, &agent, id).await), ["created"]);
    }
}

http_tests! {
    async fn unknown_fields_are_ignored_and_a_change_to_what_is_records_nothing(app) {
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        let id = app.open_ticket(&customer, "help").await;
        let before = ticket(&app, &agent, id).await;
        tick().await;
        let unchanged = [
            json!({}),
            json!({"colour": "red"}),
            json!({"priority": "NORMAL"}),
            json!({"assignee": null}),
            json!({"tags": []}),
            json!({"priority": "NORMAL", "assignee": null, "tags": [], "colour": "red"}),
        ];
        for body in unchanged {
            let answer = triaged(&app, &agent, id, body.clone()).await;
            assert_eq!(answer, before, "{body}");
        }
        assert_eq!(event_types(&history(&app, &agent, id).await), ["created"]);
        // An unknown field beside a known one: the known one applies.
        let changed = triaged(&app, &agent, id, json!({"colour": "red", "priority": "HIGH"})).await;
        assert_eq!(changed["priority"], "HIGH");
        let tagged = triaged(&app, &agent, id, json!({"tags": ["vip"]})).await;
        tick().await;
        // The same values again: 200, no event, updatedAt stays.
        let again = triaged(
            &app,
            &agent,
            id,
            json!({"priority": "HIGH", "tags": ["VIP", "vip"], "assignee": null}),
        )
        .await;
        assert_eq!(again, tagged);
        assert_eq!(
            event_types(&history(&app, &agent, id).await),
            ["created", "priority_changed", "tags_changed"]
        );
        triaged(&app, &agent, id, json!({"assignee": agent.id})).await;
        tick().await;
        let same_assignee = ticket(&app, &agent, id).await;
        assert_eq!(
            triaged(&app, &agent, id, json!({"assignee": agent.id})).await,
            same_assignee
        );
        assert_eq!(history(&app, &agent, id).await["meta"]["total"], 4);
    }
}

http_tests! {
    async fn a_resolved_ticket_can_still_be_triaged(app) {
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        let admin = app.admin().await;
        let id = app.open_ticket(&customer, "help").await;
        app.reply(&agent, id, "on it").await.expect(StatusCode::CREATED);
        let resolved = app.resolve(&customer, id).await.expect(StatusCode::OK).data();
        tick().await;
        let changed = triaged(
            &app,
            &admin,
            id,
            json!({"priority": "URGENT", "assignee": admin.id, "tags": ["done"]}),
        )
        .await;
        assert_eq!(changed["status"], "RESOLVED");
        assert_eq!(changed["resolvedAt"], resolved["resolvedAt"]);
        assert_eq!(changed["priority"], "URGENT");
        assert_eq!(changed["assignee"], json!(admin.id));
        assert_eq!(changed["tags"], json!(["done"]));
        assert_eq!(changed["firstResponseAt"], resolved["firstResponseAt"]);
        let created_at = time(&changed["createdAt"]);
        assert_eq!(
            time(&changed["firstResponseDueAt"]),
            created_at + TimeDelta::hours(1)
        );
        assert_eq!(
            time(&changed["resolutionDueAt"]),
            created_at + TimeDelta::hours(4)
        );
        assert_eq!(changed["slaBreached"], false);
        assert!(time(&changed["updatedAt"]) > time(&resolved["updatedAt"]));
        // Replies stay closed.
        app.reply(&agent, id, "more").await.expect(StatusCode::CONFLICT);
    }
}

http_tests! {
    async fn triage_refuses_bad_ids_missing_tickets_and_anonymous_callers(app) {
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        let id = app.open_ticket(&customer, "help").await;
        let body = json!({"priority": "HIGH"});
        app.patch("/api/v1/tickets/abc", &agent, body.clone())
            .await
            .expect(StatusCode::BAD_REQUEST);
        app.patch("/api/v1/tickets/1.5", &agent, body.clone())
            .await
            .expect(StatusCode::BAD_REQUEST);
        app.patch("/api/v1/tickets/999999", &agent, body.clone())
            .await
            .expect(StatusCode::NOT_FOUND);
        app.request(Method::PATCH, &path(id), None, Some(body.clone()))
            .await
            .expect(StatusCode::UNAUTHORIZED);
        app.request(Method::PATCH, &path(id), Some("not-a-token"), Some(body))
            .await
            .expect(StatusCode::UNAUTHORIZED);
        assert_eq!(ticket(&app, &agent, id).await["priority"], "NORMAL");
    }
}

// Internal notes.

http_tests! {
    async fn staff_write_internal_notes_that_change_nothing_about_the_ticket(app) {
        let customer = app.customer("kayode").await;
        let other = app.customer("tolu").await;
        let agent = app.agent().await;
        let admin = app.admin().await;
        let id = app.open_ticket(&customer, "help").await;
        let before = ticket(&app, &agent, id).await;
        tick().await;
        for (who, role) in [(&agent, "SUPPORT_AGENT"), (&admin, "ADMIN")] {
            let written = note(&app, who, id, "customer is on the legacy plan")
                .await
                .expect(StatusCode::CREATED)
                .data();
            assert_eq!(written["internal"], true);
            assert_eq!(written["role"], role);
            assert_eq!(written["author"], json!(who.id));
            assert_eq!(written["ticketId"], id);
            assert_eq!(written["body"], "customer is on the legacy plan");
        }
        // Not the status, not updatedAt, not the first response, not the
        // assignee.
        let after = ticket(&app, &agent, id).await;
        assert_eq!(after, before);
        assert_eq!(after["status"], "UNATTENDED");
        assert_eq!(after["firstResponseAt"], Value::Null);
        assert_eq!(after["assignee"], Value::Null);
        // Nor rule 4: the customer still waits for a public agent reply.
        app.reply(&customer, id, "anyone?")
            .await
            .expect(StatusCode::CONFLICT);
        // Customers write no notes; another customer's ticket is not there.
        note(&app, &customer, id, "psst")
            .await
            .expect(StatusCode::FORBIDDEN);
        note(&app, &other, id, "psst")
            .await
            .expect(StatusCode::NOT_FOUND);
        note(&app, &agent, 999_999, "where?")
            .await
            .expect(StatusCode::NOT_FOUND);
        // `internal` is a boolean.
        for internal in [json!("yes"), json!("true"), json!(1), json!({})] {
            app.post(
                &format!("{}/replies", path(id)),
                &agent,
                json!({"body": "note?", "internal": internal}),
            )
            .await
            .expect(StatusCode::BAD_REQUEST);
        }
        let written = page(&app, &agent, &format!("{}/replies", path(id))).await;
        assert_eq!(written["meta"]["total"], 2);
        // A public reply says so.
        let public = app.reply(&agent, id, "on it").await.expect(StatusCode::CREATED).data();
        assert_eq!(public["internal"], false);
        let explicit = app
            .post(
                &format!("{}/replies", path(id)),
                &customer,
                json!({"body": "thanks", "internal": false}),
            )
            .await
            .expect(StatusCode::CREATED)
            .data();
        assert_eq!(explicit["internal"], false);
        // Notes are allowed on a resolved ticket; public replies are not.
        app.resolve(&customer, id).await.expect(StatusCode::OK);
        let resolved = ticket(&app, &agent, id).await;
        tick().await;
        for who in [&agent, &admin] {
            let late = note(&app, who, id, "closing notes")
                .await
                .expect(StatusCode::CREATED)
                .data();
            assert_eq!(late["internal"], true);
        }
        app.reply(&agent, id, "one more thing")
            .await
            .expect(StatusCode::CONFLICT);
        note(&app, &customer, id, "psst")
            .await
            .expect(StatusCode::FORBIDDEN);
        assert_eq!(ticket(&app, &agent, id).await, resolved);
    }
}

http_tests! {
    async fn a_customer_never_sees_internal_notes_nor_counts_them(app) {
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        let admin = app.admin().await;
        let id = app.open_ticket(&customer, "help").await;
        note(&app, &admin, id, "note one").await.expect(StatusCode::CREATED);
        app.reply(&agent, id, "public one").await.expect(StatusCode::CREATED);
        note(&app, &agent, id, "note two").await.expect(StatusCode::CREATED);
        app.reply(&customer, id, "public two").await.expect(StatusCode::CREATED);
        note(&app, &agent, id, "note three").await.expect(StatusCode::CREATED);
        let replies = format!("{}/replies", path(id));
        let bodies = |answer: &Value| -> Vec<(String, bool)> {
            items(answer)
                .iter()
                .map(|r| {
                    (
                        r["body"].as_str().expect("body").to_owned(),
                        r["internal"].as_bool().expect("internal"),
                    )
                })
                .collect()
        };
        let mine = page(&app, &customer, &replies).await;
        assert_eq!(
            bodies(&mine),
            [("public one".to_owned(), false), ("public two".to_owned(), false)]
        );
        assert_eq!(mine["meta"]["total"], 2);
        // Paging counts only what the customer sees.
        let second = page(&app, &customer, &format!("{replies}?limit=1&page=2")).await;
        assert_eq!(bodies(&second), [("public two".to_owned(), false)]);
        assert_eq!(second["meta"]["total"], 2);
        let third = page(&app, &customer, &format!("{replies}?limit=1&page=3")).await;
        assert!(items(&third).is_empty(), "{third}");
        for staff in [&agent, &admin] {
            let all = page(&app, staff, &replies).await;
            assert_eq!(
                bodies(&all),
                [
                    ("note one".to_owned(), true),
                    ("public one".to_owned(), false),
                    ("note two".to_owned(), true),
                    ("public two".to_owned(), false),
                    ("note three".to_owned(), true),
                ]
            );
            assert_eq!(all["meta"]["total"], 5);
        }
    }
}

// Assignment on reply.

http_tests! {
    async fn an_agents_public_reply_takes_an_unassigned_ticket(app) {
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        let admin = app.admin().await;
        let second = app.user("tunde", Role::SupportAgent).await;
        let id = app.open_ticket(&customer, "help").await;
        // Notes assign nobody.
        note(&app, &admin, id, "admin note").await.expect(StatusCode::CREATED);
        note(&app, &second, id, "agent note").await.expect(StatusCode::CREATED);
        assert_eq!(ticket(&app, &agent, id).await["assignee"], Value::Null);
        tick().await;
        let reply = app.reply(&agent, id, "on it").await.expect(StatusCode::CREATED).data();
        let taken = ticket(&app, &customer, id).await;
        assert_eq!(taken["assignee"], json!(agent.id));
        assert_eq!(taken["status"], "REPLIED");
        assert_eq!(taken["firstResponseAt"], reply["createdAt"]);
        assert_eq!(taken["updatedAt"], reply["createdAt"]);
        // A second agent's reply keeps both.
        tick().await;
        let later = app.reply(&second, id, "me too").await.expect(StatusCode::CREATED).data();
        let kept = ticket(&app, &agent, id).await;
        assert_eq!(kept["assignee"], json!(agent.id));
        assert_eq!(kept["firstResponseAt"], reply["createdAt"]);
        assert_eq!(kept["updatedAt"], later["createdAt"]);
        // The customer's reply assigns nobody either.
        triaged(&app, &admin, id, json!({"assignee": null})).await;
        app.reply(&customer, id, "thanks").await.expect(StatusCode::CREATED);
        assert_eq!(ticket(&app, &agent, id).await["assignee"], Value::Null);
        // Unassigned again, the next agent to reply in public takes it; the
        // first response stays the first.
        app.reply(&second, id, "mine now").await.expect(StatusCode::CREATED);
        let retaken = ticket(&app, &agent, id).await;
        assert_eq!(retaken["assignee"], json!(second.id));
        assert_eq!(retaken["firstResponseAt"], reply["createdAt"]);
        let events = history(&app, &agent, id).await;
        assert_eq!(
            event_types(&events),
            [
                "created",
                "noted",
                "noted",
                "replied",
                "status_changed",
                "assigned",
                "replied",
                "assigned",
                "replied",
                "replied",
                "assigned",
            ]
        );
        let summary = summaries(&events);
        assert_eq!(
            summary[5],
            json!({"type": "assigned", "actor": agent.id, "data": {"from": null, "to": agent.id}})
        );
        assert_eq!(
            summary[10],
            json!({"type": "assigned", "actor": second.id, "data": {"from": null, "to": second.id}})
        );
        // A ticket assigned before its first reply keeps its assignee.
        let other = app.open_ticket(&customer, "other").await;
        triaged(&app, &admin, other, json!({"assignee": second.id})).await;
        let first = app.reply(&agent, other, "hello").await.expect(StatusCode::CREATED).data();
        let assigned = ticket(&app, &agent, other).await;
        assert_eq!(assigned["assignee"], json!(second.id));
        assert_eq!(assigned["firstResponseAt"], first["createdAt"]);
        let events = history(&app, &agent, other).await;
        assert_eq!(
            event_types(&events),
            ["created", "assigned", "replied", "status_changed"]
        );
    }
}

// History.

http_tests! {
    async fn the_history_records_each_change_with_its_data_oldest_first(app) {
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        let admin = app.admin().await;
        let created = app
            .post("/api/v1/tickets", &customer, json!({"body": "help"}))
            .await
            .expect(StatusCode::CREATED)
            .data();
        let id = created["ticketId"].as_i64().expect("ticketId");
        tick().await;
        let triage_one = triaged(
            &app,
            &agent,
            id,
            json!({"priority": "HIGH", "tags": ["vip", "billing"]}),
        )
        .await;
        tick().await;
        let noted = note(&app, &agent, id, "vip").await.expect(StatusCode::CREATED).data();
        tick().await;
        let reply = app.reply(&agent, id, "on it").await.expect(StatusCode::CREATED).data();
        tick().await;
        let answer = app.reply(&customer, id, "thanks").await.expect(StatusCode::CREATED).data();
        tick().await;
        triaged(&app, &agent, id, json!({"tags": ["billing", "refund"]})).await;
        tick().await;
        let unassigned = triaged(&app, &admin, id, json!({"assignee": null})).await;
        tick().await;
        let resolved = app.resolve(&customer, id).await.expect(StatusCode::OK).data();

        let all = history(&app, &agent, id).await;
        let expected = [
            json!({"type": "created", "actor": customer.id, "data": {}}),
            json!({"type": "priority_changed", "actor": agent.id, "data": {"from": "NORMAL", "to": "HIGH"}}),
            json!({"type": "tags_changed", "actor": agent.id, "data": {"added": ["billing", "vip"], "removed": []}}),
            json!({"type": "noted", "actor": agent.id, "data": {"replyId": noted["_id"]}}),
            json!({"type": "replied", "actor": agent.id, "data": {"replyId": reply["_id"]}}),
            json!({"type": "status_changed", "actor": agent.id, "data": {"from": "UNATTENDED", "to": "REPLIED"}}),
            json!({"type": "assigned", "actor": agent.id, "data": {"from": null, "to": agent.id}}),
            json!({"type": "replied", "actor": customer.id, "data": {"replyId": answer["_id"]}}),
            json!({"type": "tags_changed", "actor": agent.id, "data": {"added": ["refund"], "removed": ["vip"]}}),
            json!({"type": "assigned", "actor": admin.id, "data": {"from": agent.id, "to": null}}),
            json!({"type": "status_changed", "actor": customer.id, "data": {"from": "REPLIED", "to": "RESOLVED"}}),
        ];
        assert_eq!(summaries(&all), expected);
        assert_eq!(all["meta"]["total"], expected.len());
        assert!(noted["_id"].is_string() && reply["_id"].is_string());
        let events = items(&all);
        for event in events {
            assert_eq!(event["ticketId"], id, "{event}");
            assert!(event["_id"].is_string(), "{event}");
            let at = event["at"].as_str().expect("at");
            assert!(at.ends_with('Z') && at.len() == 24, "{at}");
        }
        // Each event's `at` is its change's time; a reply's side effects
        // share the reply's.
        let at = |i: usize| events[i]["at"].clone();
        assert_eq!(at(0), created["createdAt"]);
        assert_eq!(at(1), triage_one["updatedAt"]);
        assert_eq!(at(2), at(1));
        assert_eq!(at(3), noted["createdAt"]);
        assert_eq!(at(4), reply["createdAt"]);
        assert_eq!(at(5), reply["createdAt"]);
        assert_eq!(at(6), reply["createdAt"]);
        assert_eq!(at(7), answer["createdAt"]);
        assert_eq!(at(9), unassigned["updatedAt"]);
        assert_eq!(at(10), resolved["resolvedAt"]);
        let times: Vec<DateTime<Utc>> = events.iter().map(|e| time(&e["at"])).collect();
        assert!(times.is_sorted(), "{times:?}");
        // Admins see all of it too.
        assert_eq!(summaries(&history(&app, &admin, id).await), expected);

        // The customer sees creation, replies, status and priority changes,
        // and counts only those.
        let theirs = history(&app, &customer, id).await;
        let visible: Vec<Value> = expected
            .iter()
            .filter(|e| {
                ["created", "replied", "status_changed", "priority_changed"]
                    .contains(&e["type"].as_str().expect("type"))
            })
            .cloned()
            .collect();
        assert_eq!(visible.len(), 6);
        assert_eq!(summaries(&theirs), visible);
        assert_eq!(theirs["meta"]["total"], 6);
        let ids = |answer: &Value| -> Vec<Value> {
            items(answer).iter().map(|e| e["_id"].clone()).collect()
        };
        let all_ids = ids(&all);
        assert!(ids(&theirs).iter().all(|id| all_ids.contains(id)));
    }
}

http_tests! {
    async fn the_history_is_private_paginated_and_checks_its_parameters(app) {
        let customer = app.customer("kayode").await;
        let other = app.customer("tolu").await;
        let agent = app.agent().await;
        let id = app.open_ticket(&customer, "help").await;
        for priority in ["HIGH", "LOW", "URGENT", "NORMAL"] {
            triaged(&app, &agent, id, json!({"priority": priority})).await;
        }
        note(&app, &agent, id, "note").await.expect(StatusCode::CREATED);
        let events = format!("{}/events", path(id));
        let all = history(&app, &agent, id).await;
        let everything: Vec<Value> = items(&all).to_vec();
        assert_eq!(everything.len(), 6);
        // Pages of two, in order, each saying where it is.
        let mut walked = Vec::new();
        for number in 1..=4 {
            let one = page(&app, &agent, &format!("{events}?page={number}&limit=2")).await;
            assert_eq!(one["meta"]["page"], number);
            assert_eq!(one["meta"]["limit"], 2);
            assert_eq!(one["meta"]["total"], 6);
            walked.extend(items(&one).iter().cloned());
        }
        assert_eq!(walked, everything);
        // The default page.
        let first = page(&app, &agent, &events).await;
        assert_eq!(first["meta"]["page"], 1);
        assert_eq!(first["meta"]["limit"], 20);
        // The customer's pages skip the note.
        let theirs = page(&app, &customer, &format!("{events}?page=3&limit=2")).await;
        assert_eq!(theirs["meta"]["total"], 5);
        assert_eq!(event_types(&theirs), ["priority_changed"]);
        // Refusals.
        for query in ["page=0", "page=abc", "page=-1", "limit=0", "limit=101", "limit=x"] {
            app.get(&format!("{events}?{query}"), &agent)
                .await
                .expect(StatusCode::BAD_REQUEST);
        }
        app.get(&events, &other).await.expect(StatusCode::NOT_FOUND);
        app.get("/api/v1/tickets/999999/events", &agent)
            .await
            .expect(StatusCode::NOT_FOUND);
        app.get("/api/v1/tickets/abc/events", &agent)
            .await
            .expect(StatusCode::BAD_REQUEST);
        app.request(Method::GET, &events, None, None)
            .await
            .expect(StatusCode::UNAUTHORIZED);
    }
}

// Listing: filters and sorts.

http_tests! {
    async fn tickets_filter_by_priority_assignee_and_tag_combined_with_and(app) {
        let kayode = app.customer("kayode").await;
        let tolu = app.customer("tolu").await;
        let agent = app.agent().await;
        let admin = app.admin().await;
        let second = app.user("tunde", Role::SupportAgent).await;
        let setups = [
            (&kayode, json!({"priority": "HIGH", "assignee": agent.id, "tags": ["vip"]})),
            (&kayode, json!({"priority": "HIGH", "tags": ["billing"]})),
            (&kayode, json!({"priority": "LOW", "assignee": admin.id, "tags": ["VIP", "billing"]})),
            (&kayode, json!({})),
            (&kayode, json!({"priority": "URGENT", "assignee": second.id})),
            (&tolu, json!({"priority": "HIGH", "assignee": agent.id, "tags": ["vip"]})),
        ];
        let mut ids = Vec::new();
        for (customer, change) in setups {
            let id = app.open_ticket(customer, "help").await;
            triaged(&app, &agent, id, change).await;
            ids.push(id);
        }
        let [t1, t2, t3, t4, t5, t6] = ids[..] else {
            unreachable!("six tickets")
        };
        app.reply(&agent, t1, "on it").await.expect(StatusCode::CREATED);

        assert_eq!(listed(&app, &agent, "priority=HIGH").await, [t1, t2, t6]);
        assert_eq!(listed(&app, &admin, "priority=URGENT").await, [t5]);
        assert_eq!(listed(&app, &agent, "priority=NORMAL").await, [t4]);
        assert_eq!(listed(&app, &agent, "assignee=me").await, [t1, t6]);
        assert_eq!(listed(&app, &admin, "assignee=me").await, [t3]);
        assert_eq!(listed(&app, &second, "assignee=me").await, [t5]);
        assert_eq!(listed(&app, &agent, "assignee=none").await, [t2, t4]);
        let by_id = format!("assignee={}", second.id);
        assert_eq!(listed(&app, &admin, &by_id).await, [t5]);
        assert_eq!(listed(&app, &agent, &format!("assignee={}", agent.id)).await, [t1, t6]);
        // A user who owns nothing, and an id that is no user: no tickets.
        assert!(listed(&app, &agent, &format!("assignee={}", kayode.id)).await.is_empty());
        assert!(listed(&app, &agent, "assignee=999999").await.is_empty());
        // Tags are matched lower-cased.
        assert_eq!(listed(&app, &agent, "tag=VIP").await, [t1, t3, t6]);
        assert_eq!(listed(&app, &admin, "tag=vip").await, [t1, t3, t6]);
        assert_eq!(listed(&app, &agent, "tag=billing").await, [t2, t3]);
        assert!(listed(&app, &agent, "tag=nothing").await.is_empty());
        // Filters combine with AND, the old ones included.
        assert_eq!(listed(&app, &agent, "priority=HIGH&tag=vip").await, [t1, t6]);
        assert_eq!(listed(&app, &agent, "priority=HIGH&assignee=none").await, [t2]);
        assert_eq!(
            listed(&app, &agent, "priority=HIGH&assignee=me&tag=VIP&status=REPLIED").await,
            [t1]
        );
        assert_eq!(listed(&app, &agent, "status=UNATTENDED&assignee=me").await, [t6]);
        assert!(listed(&app, &agent, "priority=LOW&tag=vip&assignee=none").await.is_empty());
        // Paging a filtered list counts the filtered tickets.
        let paged = page(&app, &agent, "/api/v1/tickets?tag=vip&limit=2&page=2").await;
        assert_eq!(paged["meta"]["total"], 3);
        assert_eq!(items(&paged).len(), 1);
        assert_eq!(items(&paged)[0]["ticketId"], t6);

        // A customer may filter by priority, within their own tickets.
        assert_eq!(listed(&app, &kayode, "priority=HIGH").await, [t1, t2]);
        assert_eq!(listed(&app, &tolu, "priority=HIGH").await, [t6]);
        assert!(listed(&app, &tolu, "priority=LOW").await.is_empty());
        assert_eq!(listed(&app, &kayode, "priority=HIGH&status=REPLIED").await, [t1]);
        // Assignee and tag are staff business.
        for query in ["assignee=me", "assignee=none", "assignee=999999", "tag=vip", "priority=HIGH&tag=vip"] {
            app.get(&format!("/api/v1/tickets?{query}"), &kayode)
                .await
                .expect(StatusCode::FORBIDDEN);
        }
        // Malformed values.
        for query in [
            "priority=low",
            "priority=High",
            "priority=CRITICAL",
            "priority=",
            "assignee=abc",
            "assignee=",
            "assignee=-1",
            "assignee=1.5",
            "assignee=ME",
            "tag=-x",
            "tag=a%20b",
            "tag=",
        ] {
            assert_eq!(
                list_status(&app, &agent, query).await,
                StatusCode::BAD_REQUEST,
                "{query}"
            );
            app.get(&format!("/api/v1/tickets?{query}"), &agent)
                .await
                .expect(StatusCode::BAD_REQUEST);
        }
        app.get("/api/v1/tickets?priority=low", &kayode)
            .await
            .expect(StatusCode::BAD_REQUEST);
    }
}

http_tests! {
    async fn tickets_sort_by_priority_and_by_resolution_due_time(app) {
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        let priorities = ["NORMAL", "URGENT", "LOW", "HIGH", "NORMAL", "URGENT"];
        let mut ids = Vec::new();
        for priority in priorities {
            let id = app.open_ticket(&customer, "help").await;
            triaged(&app, &agent, id, json!({"priority": priority})).await;
            ids.push(id);
        }
        let [t1, t2, t3, t4, t5, t6] = ids[..] else {
            unreachable!("six tickets")
        };
        // LOW < NORMAL < HIGH < URGENT, ties by ticketId.
        let ascending = [t3, t1, t5, t4, t2, t6];
        assert_eq!(listed(&app, &agent, "sort=priority").await, ascending);
        assert_eq!(listed(&app, &customer, "sort=priority&direction=asc").await, ascending);
        let mut descending = ascending;
        descending.reverse();
        assert_eq!(listed(&app, &agent, "sort=priority&direction=desc").await, descending);
        assert_eq!(listed(&app, &customer, "sort=priority&direction=-1").await, descending);
        // Pages of a sorted list neither overlap nor skip.
        let mut walked = Vec::new();
        for number in 1..=3 {
            let one = page(&app, &agent, &format!("/api/v1/tickets?sort=priority&limit=2&page={number}")).await;
            walked.extend(items(&one).iter().map(|t| t["ticketId"].as_i64().expect("id")));
        }
        assert_eq!(walked, ascending);
        // A sorted list still filters.
        assert_eq!(listed(&app, &agent, "sort=priority&direction=desc&priority=NORMAL").await, [t5, t1]);

        // Resolution due: URGENT +4h, HIGH +1d, NORMAL +3d, LOW +7d, from
        // each ticket's creation.
        let by_due = [t2, t6, t4, t1, t5, t3];
        assert_eq!(listed(&app, &agent, "sort=resolutionDueAt").await, by_due);
        let mut by_due_desc = by_due;
        by_due_desc.reverse();
        assert_eq!(listed(&app, &customer, "sort=resolutionDueAt&direction=desc").await, by_due_desc);
        let answer = page(&app, &agent, "/api/v1/tickets?sort=resolutionDueAt").await;
        let dues: Vec<DateTime<Utc>> = items(&answer).iter().map(|t| time(&t["resolutionDueAt"])).collect();
        assert!(dues.is_sorted(), "{dues:?}");
        // A priority change moves a ticket in that order.
        triaged(&app, &agent, t3, json!({"priority": "URGENT"})).await;
        assert_eq!(listed(&app, &agent, "sort=resolutionDueAt").await, [t2, t3, t6, t4, t1, t5]);
        assert_eq!(
            list_status(&app, &agent, "sort=resolutiondueat").await,
            StatusCode::BAD_REQUEST
        );
    }
}

// SLA.

http_tests! {
    async fn the_sla_verdict_follows_the_due_times_and_the_clock(app) {
        // First response due after 3 s at NORMAL, an hour at HIGH and LOW;
        // resolution after 3 s at LOW, the defaults otherwise.
        let app = with_sla(app, "NORMAL=3s,HIGH=1h,LOW=1h", Some("LOW=3s")).await;
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        let answered = app
            .post("/api/v1/tickets", &customer, json!({"body": "answered in time"}))
            .await
            .expect(StatusCode::CREATED)
            .data();
        let created_at = time(&answered["createdAt"]);
        assert_eq!(time(&answered["firstResponseDueAt"]), created_at + TimeDelta::seconds(3));
        assert_eq!(time(&answered["resolutionDueAt"]), created_at + TimeDelta::days(3));
        assert_eq!(answered["slaBreached"], false);
        let answered = answered["ticketId"].as_i64().expect("ticketId");
        app.reply(&agent, answered, "right away").await.expect(StatusCode::CREATED);
        let ignored = app.open_ticket(&customer, "nobody answers").await;
        let raised = app.open_ticket(&customer, "raised").await;
        triaged(&app, &agent, raised, json!({"priority": "HIGH"})).await;
        let slow = app.open_ticket(&customer, "slow to resolve").await;
        triaged(&app, &agent, slow, json!({"priority": "LOW"})).await;
        app.reply(&agent, slow, "looking").await.expect(StatusCode::CREATED);
        let quick = app.open_ticket(&customer, "solved it myself").await;
        app.resolve(&customer, quick).await.expect(StatusCode::OK);
        let late = app.open_ticket(&customer, "solved it late").await;
        for id in [answered, ignored, raised, slow, quick, late] {
            assert_eq!(ticket(&app, &agent, id).await["slaBreached"], false, "ticket {id}");
        }

        tokio::time::sleep(Duration::from_millis(3500)).await;

        // Answered in time, resolution not yet due.
        assert_eq!(ticket(&app, &customer, answered).await["slaBreached"], false);
        // No answer after the due time.
        let breached = ticket(&app, &customer, ignored).await;
        assert_eq!(breached["slaBreached"], true);
        let listed = page(&app, &agent, "/api/v1/tickets?limit=100").await;
        let verdict = |id: i64| {
            items(&listed)
                .iter()
                .find(|t| t["ticketId"] == id)
                .map(|t| t["slaBreached"].clone())
        };
        assert_eq!(verdict(ignored), Some(json!(true)));
        assert_eq!(verdict(answered), Some(json!(false)));
        // A late answer does not undo it.
        let reply = app.reply(&agent, ignored, "sorry").await.expect(StatusCode::CREATED).data();
        let answered_late = ticket(&app, &customer, ignored).await;
        assert_eq!(answered_late["firstResponseAt"], reply["createdAt"]);
        assert!(time(&answered_late["firstResponseAt"]) > time(&answered_late["firstResponseDueAt"]));
        assert_eq!(answered_late["slaBreached"], true);
        // Its priority decides: an hour at HIGH is not missed yet, and back
        // at NORMAL the 3 s are.
        assert_eq!(ticket(&app, &agent, raised).await["slaBreached"], false);
        let lowered = triaged(&app, &agent, raised, json!({"priority": "NORMAL"})).await;
        assert_eq!(
            time(&lowered["firstResponseDueAt"]),
            time(&lowered["createdAt"]) + TimeDelta::seconds(3)
        );
        assert_eq!(lowered["slaBreached"], true);
        // Answered in time but not resolved in time.
        let unresolved = ticket(&app, &customer, slow).await;
        assert!(time(&unresolved["firstResponseAt"]) <= time(&unresolved["firstResponseDueAt"]));
        assert_eq!(unresolved["slaBreached"], true);
        // Resolved before any due time: the clocks stopped in time.
        assert_eq!(ticket(&app, &customer, quick).await["slaBreached"], false);
        // Resolved after the first response was due, unanswered.
        let resolved = app.resolve(&customer, late).await.expect(StatusCode::OK).data();
        assert_eq!(resolved["slaBreached"], true);
        // Triage of a resolved ticket judges it again by its recorded times.
        let forgiven = triaged(&app, &agent, late, json!({"priority": "HIGH"})).await;
        assert_eq!(forgiven["status"], "RESOLVED");
        assert_eq!(forgiven["slaBreached"], false);
        assert_eq!(ticket(&app, &customer, late).await["slaBreached"], false);

        // The breach filter lists exactly what `slaBreached` says, for staff
        // and for the customer, alone and with other filters.
        let all = page(&app, &agent, "/api/v1/tickets?limit=100").await;
        let ids_where = |breached: bool| -> Vec<Value> {
            items(&all)
                .iter()
                .filter(|t| t["slaBreached"] == breached)
                .map(|t| t["ticketId"].clone())
                .collect()
        };
        let listed = |answer: Value| -> Vec<Value> {
            items(&answer).iter().map(|t| t["ticketId"].clone()).collect()
        };
        let in_breach = ids_where(true);
        assert_eq!(in_breach, [json!(ignored), json!(raised), json!(slow)]);
        for session in [&agent, &customer] {
            let breached = page(&app, session, "/api/v1/tickets?breached=true&limit=100").await;
            assert_eq!(breached["meta"]["total"], 3, "{breached}");
            assert_eq!(listed(breached), in_breach);
            let kept = page(&app, session, "/api/v1/tickets?breached=false&limit=100").await;
            assert_eq!(listed(kept), ids_where(false));
        }
        let urgent_late = page(&app, &agent, "/api/v1/tickets?breached=true&priority=LOW&q=resolve").await;
        assert_eq!(listed(urgent_late), [json!(slow)]);
        let newest_first = page(&app, &agent, "/api/v1/tickets?breached=true&direction=desc").await;
        assert_eq!(listed(newest_first), [json!(slow), json!(raised), json!(ignored)]);
        for bad in ["yes", "1", "TRUE", ""] {
            let refused = app.get(&format!("/api/v1/tickets?breached={bad}"), &agent).await;
            let error = refused.expect(StatusCode::BAD_REQUEST).json();
            assert!(error["message"].as_str().is_some_and(|m| m.contains("breached")), "{error}");
        }
        // The operator's gauge counts the open ones.
        let scraped = app.request(Method::GET, "/metrics", None, None).await.text();
        assert!(
            scraped.lines().any(|line| line == "tickets_open_in_sla_breach 3"),
            "{scraped}"
        );
    }
}
