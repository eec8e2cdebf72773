//! Conditional requests: the `ETag` of a ticket or an account as its
//! caller sees it, `If-None-Match` (304), and `If-Match` on the writes
//! (412 when it names no current version, compared with the record locked;
//! 428 without it when the server requires it).

use super::*;

/// `method path` as `session`, with `headers` and an optional JSON body.
pub async fn send_with(
    app: &TestApp,
    method: Method,
    path: &str,
    session: Option<&Session>,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Answer {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(session) = session {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {}", session.token));
    }
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let body = match body {
        Some(json) => {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
            Body::from(json.to_string())
        }
        None => Body::empty(),
    };
    app.send(builder.body(body).expect("request")).await
}

/// The `ETag` an answer carries.
#[track_caller]
pub fn etag(answer: &Answer) -> String {
    answer
        .headers
        .get(header::ETAG)
        .unwrap_or_else(|| panic!("no ETag on {} {}", answer.status, answer.text()))
        .to_str()
        .expect("ascii")
        .to_owned()
}

async fn ticket_etag(app: &TestApp, session: &Session, ticket_id: i64) -> String {
    let answer = app
        .get(&format!("/api/v1/tickets/{ticket_id}"), session)
        .await
        .expect(StatusCode::OK);
    etag(&answer)
}

async fn patch_if(
    app: &TestApp,
    session: &Session,
    ticket_id: i64,
    if_match: &str,
    body: Value,
) -> Answer {
    send_with(
        app,
        Method::PATCH,
        &format!("/api/v1/tickets/{ticket_id}"),
        Some(session),
        &[("if-match", if_match)],
        Some(body),
    )
    .await
}

http_tests! {
    async fn a_ticket_read_with_its_current_etag_is_304_with_no_body(app) {
        let customer = app.customer("kayode").await;
        let ticket = app.open_ticket(&customer, "printer on fire").await;
        let path = format!("/api/v1/tickets/{ticket}");
        let tag = ticket_etag(&app, &customer, ticket).await;
        assert!(tag.starts_with('"') && tag.ends_with('"'), "a strong tag: {tag}");
        assert_eq!(ticket_etag(&app, &customer, ticket).await, tag, "stable while nothing changes");

        let not_modified = send_with(&app, Method::GET, &path, Some(&customer), &[("if-none-match", &tag)], None).await;
        assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
        assert!(not_modified.body.is_empty(), "{}", not_modified.text());
        assert_eq!(etag(&not_modified), tag);
        let listed = format!("\"stale\", W/{tag}");
        let weakly = send_with(&app, Method::GET, &path, Some(&customer), &[("if-none-match", &listed)], None).await;
        assert_eq!(weakly.status, StatusCode::NOT_MODIFIED, "If-None-Match compares weakly");
        let star = send_with(&app, Method::GET, &path, Some(&customer), &[("if-none-match", "*")], None).await;
        assert_eq!(star.status, StatusCode::NOT_MODIFIED);

        for other in ["\"stale\"", "not a tag list"] {
            let full = send_with(&app, Method::GET, &path, Some(&customer), &[("if-none-match", other)], None)
                .await
                .expect(StatusCode::OK);
            assert_eq!(full.data()["ticketId"], ticket);
            assert_eq!(etag(&full), tag);
        }
        // Someone who may not see it learns nothing from a tag.
        let stranger = app.customer("tolu").await;
        send_with(&app, Method::GET, &path, Some(&stranger), &[("if-none-match", &tag)], None)
            .await
            .expect(StatusCode::NOT_FOUND);
    }
}

http_tests! {
    async fn a_customers_etag_ignores_notes_and_tags_and_follows_public_replies(app) {
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        let ticket = app.open_ticket(&customer, "printer on fire").await;
        let customers = ticket_etag(&app, &customer, ticket).await;
        let agents = ticket_etag(&app, &agent, ticket).await;
        assert_ne!(customers, agents, "staff see tags, so theirs is another representation");

        app.post(&format!("/api/v1/tickets/{ticket}/replies"), &agent, json!({"body": "she did it", "internal": true}))
            .await
            .expect(StatusCode::CREATED);
        assert_eq!(ticket_etag(&app, &customer, ticket).await, customers, "a note is not theirs to see");

        let tagged = app
            .patch(&format!("/api/v1/tickets/{ticket}"), &agent, json!({"tags": ["printer", "vip"]}))
            .await
            .expect(StatusCode::OK);
        assert_eq!(ticket_etag(&app, &customer, ticket).await, customers, "nor are tags");
        let agents_now = ticket_etag(&app, &agent, ticket).await;
        assert_ne!(agents_now, agents, "staff see the tags change");
        assert_eq!(etag(&tagged), agents_now, "a write answers the new version");

        app.reply(&agent, ticket, "on my way").await.expect(StatusCode::CREATED);
        assert_ne!(ticket_etag(&app, &customer, ticket).await, customers, "a public reply changes what they see");
    }
}

http_tests! {
    async fn a_write_whose_if_match_is_stale_is_412_and_changes_nothing(app) {
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        let ticket = app.open_ticket(&customer, "printer on fire").await;
        let path = format!("/api/v1/tickets/{ticket}");
        let read = ticket_etag(&app, &agent, ticket).await;

        let changed = patch_if(&app, &agent, ticket, &read, json!({"priority": "HIGH"}))
            .await
            .expect(StatusCode::OK);
        let now = etag(&changed);
        assert_ne!(now, read);
        assert_eq!(ticket_etag(&app, &agent, ticket).await, now, "the answer's tag is the read's");

        let stale = patch_if(&app, &agent, ticket, &read, json!({"priority": "LOW"}))
            .await
            .expect(StatusCode::PRECONDITION_FAILED);
        assert_eq!(stale.json()["code"], "precondition_failed");
        assert!(stale.headers.get(header::ETAG).is_none());
        let after = app.get(&path, &agent).await.expect(StatusCode::OK);
        assert_eq!(after.data()["priority"], "HIGH", "nothing changed");
        // Even a change to what already is, when made against another version.
        patch_if(&app, &agent, ticket, &read, json!({"priority": "HIGH"}))
            .await
            .expect(StatusCode::PRECONDITION_FAILED);
        // A weak tag never matches a write.
        patch_if(&app, &agent, ticket, &format!("W/{now}"), json!({"priority": "LOW"}))
            .await
            .expect(StatusCode::PRECONDITION_FAILED);
        // One of a list, or any version.
        patch_if(&app, &agent, ticket, &format!("\"old\", {now}"), json!({"priority": "LOW"}))
            .await
            .expect(StatusCode::OK);
        patch_if(&app, &agent, ticket, "*", json!({"priority": "URGENT"}))
            .await
            .expect(StatusCode::OK);
        patch_if(&app, &agent, 999_999, "*", json!({"priority": "URGENT"}))
            .await
            .expect(StatusCode::NOT_FOUND);
        // Who may not triage is told so, whatever the tag.
        patch_if(&app, &customer, ticket, "\"old\"", json!({"priority": "LOW"}))
            .await
            .expect(StatusCode::FORBIDDEN);
        let bad = patch_if(&app, &agent, ticket, "unquoted", json!({"priority": "LOW"}))
            .await
            .expect(StatusCode::BAD_REQUEST);
        assert!(bad.json()["message"].as_str().is_some_and(|m| m.contains("If-Match")), "{}", bad.text());
    }
}

http_tests! {
    async fn resolving_honours_if_match_with_the_customers_own_tag(app) {
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        let ticket = app.open_ticket(&customer, "printer on fire").await;
        let path = format!("/api/v1/tickets/{ticket}");
        let read = ticket_etag(&app, &customer, ticket).await;
        app.reply(&agent, ticket, "try turning it off").await.expect(StatusCode::CREATED);

        let resolve = |tag: String| {
            let (app, path, customer) = (&app, path.clone(), customer.clone());
            async move {
                send_with(app, Method::PUT, &path, Some(&customer), &[("if-match", &tag)], Some(json!({"status": "RESOLVED"}))).await
            }
        };
        resolve(read.clone()).await.expect(StatusCode::PRECONDITION_FAILED);
        assert_eq!(app.get(&path, &customer).await.data()["status"], "REPLIED");
        let current = ticket_etag(&app, &customer, ticket).await;
        let resolved = resolve(current).await.expect(StatusCode::OK);
        assert_eq!(resolved.data()["status"], "RESOLVED");
        assert_eq!(etag(&resolved), ticket_etag(&app, &customer, ticket).await);
    }
}

http_tests! {
    async fn two_agents_patching_the_same_version_at_once_get_one_200_and_one_412(app) {
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        let other_agent = app.user("marta", Role::SupportAgent).await;
        for round in 0..5 {
            let ticket = app.open_ticket(&customer, &format!("printer on fire {round}")).await;
            let read = ticket_etag(&app, &agent, ticket).await;
            let (first, second) = tokio::join!(
                patch_if(&app, &agent, ticket, &read, json!({"priority": "HIGH"})),
                patch_if(&app, &other_agent, ticket, &read, json!({"priority": "LOW", "tags": ["printer"]})),
            );
            let mut statuses = [first.status, second.status];
            statuses.sort();
            assert_eq!(statuses, [StatusCode::OK, StatusCode::PRECONDITION_FAILED], "round {round}");
            let winner = if first.status == StatusCode::OK { first } else { second };
            let after = app.get(&format!("/api/v1/tickets/{ticket}"), &agent).await.expect(StatusCode::OK);
            assert_eq!(after.data()["priority"], winner.data()["priority"], "the loser changed nothing");
            assert_eq!(after.data()["tags"], winner.data()["tags"]);
            assert_eq!(etag(&after), etag(&winner));
        }
    }
}

http_tests! {
    async fn with_require_if_match_a_write_without_it_is_428(app) {
        let state = shared_state(app.db.store().clone(), &edge::limits::LimitSettings::off(), None)
            .requiring_if_match(true);
        let app = app.with_router(api::router(state));
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        let admin = app.admin().await;
        let ticket = app.open_ticket(&customer, "printer on fire").await;
        let path = format!("/api/v1/tickets/{ticket}");
        let required = app.patch(&path, &agent, json!({"priority": "HIGH"}))
            .await
            .expect(StatusCode::PRECONDITION_REQUIRED);
        assert_eq!(required.json()["code"], "precondition_required");
        app.put(&path, &customer, json!({"status": "RESOLVED"}))
            .await
            .expect(StatusCode::PRECONDITION_REQUIRED);
        app.patch(&format!("/api/v1/users/{}", customer.id), &admin, json!({"active": false}))
            .await
            .expect(StatusCode::PRECONDITION_REQUIRED);
        assert_eq!(app.get(&path, &agent).await.data()["priority"], "NORMAL", "nothing changed");
        // Creating and replying are not conditional writes.
        app.reply(&agent, ticket, "on my way").await.expect(StatusCode::CREATED);
        patch_if(&app, &agent, ticket, "*", json!({"priority": "HIGH"}))
            .await
            .expect(StatusCode::OK);
    }
}

http_tests! {
    async fn an_account_is_read_by_its_owner_or_an_admin_with_an_etag(app) {
        let customer = app.customer("kayode").await;
        let other = app.customer("tolu").await;
        let agent = app.agent().await;
        let admin = app.admin().await;
        let path = format!("/api/v1/users/{}", customer.id);

        let own = app.get(&path, &customer).await.expect(StatusCode::OK);
        assert_eq!(own.data()["username"], "kayode");
        let by_admin = app.get(&path, &admin).await.expect(StatusCode::OK);
        assert_eq!(own.data(), by_admin.data());
        assert_eq!(etag(&own), etag(&by_admin));
        let me = app.get("/api/v1/users/me", &customer).await.expect(StatusCode::OK);
        assert_eq!(etag(&me), etag(&own), "one account, one version");
        for stranger in [&other, &agent] {
            app.get(&path, stranger).await.expect(StatusCode::NOT_FOUND);
        }
        app.get("/api/v1/users/999999", &admin).await.expect(StatusCode::NOT_FOUND);
        app.get("/api/v1/users/abc", &admin).await.expect(StatusCode::BAD_REQUEST);

        let tag = etag(&own);
        for path in [path.as_str(), "/api/v1/users/me"] {
            let cached = send_with(&app, Method::GET, path, Some(&customer), &[("if-none-match", &tag)], None).await;
            assert_eq!(cached.status, StatusCode::NOT_MODIFIED, "{path}");
            assert!(cached.body.is_empty());
        }
    }
}

http_tests! {
    async fn an_admins_account_change_honours_if_match(app) {
        let customer = app.customer("kayode").await;
        let admin = app.admin().await;
        let path = format!("/api/v1/users/{}", customer.id);
        let read = etag(&app.get(&path, &admin).await.expect(StatusCode::OK));
        let change = |tag: String, body: Value| {
            let (app, path, admin) = (&app, path.clone(), admin.clone());
            async move { send_with(app, Method::PATCH, &path, Some(&admin), &[("if-match", &tag)], Some(body)).await }
        };
        let changed = change(read.clone(), json!({"role": "SUPPORT_AGENT"})).await.expect(StatusCode::OK);
        assert_eq!(changed.data()["role"], "SUPPORT_AGENT");
        let now = etag(&changed);
        assert_ne!(now, read);
        assert_eq!(etag(&app.get(&path, &admin).await.expect(StatusCode::OK)), now);
        change(read, json!({"active": false})).await.expect(StatusCode::PRECONDITION_FAILED);
        assert_eq!(app.get(&path, &admin).await.data()["active"], true, "nothing changed");
        change(now, json!({"active": false})).await.expect(StatusCode::OK);
    }
}

/// The document's pattern for `If-Match` is the language the server
/// parses: a value the schema allows is never a 400, one it refuses is.
#[tokio::test]
async fn the_documented_if_match_pattern_is_what_the_server_parses() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let app = TestApp::new();
    let document = Contract::of(app.router()).await.document();
    let parameter = document["paths"]["/api/v1/tickets/{ticketId}"]["patch"]["parameters"]
        .as_array()
        .and_then(|parameters| parameters.iter().find(|p| p["name"] == "If-Match"))
        .expect("If-Match is documented")
        .clone();
    let schema = jsonschema::validator_for(&parameter["schema"]).expect("a valid schema");
    let agrees = |value: &str| {
        let parsed = domain::TagList::parse("If-Match", value).is_ok();
        let allowed = schema.is_valid(&json!(value));
        (parsed == allowed, parsed, allowed)
    };
    for value in [
        "*",
        " * ",
        "\"a\"",
        "W/\"a\", \"b\"",
        "\"a\",,\"b\",",
        ", \"a\"",
        "\"\"",
        "",
        "a",
        "* ,\"a\"",
        "\"a\" \"b\"",
        "\"a b\"",
    ] {
        let (same, parsed, allowed) = agrees(value);
        assert!(same, "{value:?}: parsed {parsed}, documented {allowed}");
    }
    let mut runner = TestRunner::new(Config {
        cases: 2_000,
        ..Config::default()
    });
    runner
        .run(&"[ \t,*W/\"a!#~]{0,10}", |value| {
            let (same, parsed, allowed) = agrees(&value);
            prop_assert!(same, "{value:?}: parsed {parsed}, documented {allowed}");
            Ok(())
        })
        .expect("the pattern and the parser agree");
}
