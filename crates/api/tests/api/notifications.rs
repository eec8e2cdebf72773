//! Notifications by mail, decided and queued: each row of who is told
//! what, through the API, read back from the outbox as queued (the send
//! itself is the mail worker's); a customer's mail free of notes, tags and
//! staff names; nothing queued with mail off; preferences and their
//! defaults; one-click unsubscribe; the SLA sweep, once.

use domain::{NotificationKind, NotificationMail, OutgoingMail};
use store::StoreOptions;

use super::*;

/// `app`'s database behind a router whose store queues mail, and that
/// store.
async fn mailing(app: TestApp) -> (TestApp, Store) {
    let url = store::DatabaseUrl::parse(&app.db.url()).expect("a test database URL");
    let store = tokio::task::spawn_blocking(move || {
        Store::connect(
            &url,
            StoreOptions {
                sends_mail: true,
                max_size: Some(4),
                ..StoreOptions::default()
            },
        )
    })
    .await
    .expect("join")
    .expect("a second store over the test database");
    let router = api::router(shared_state(store.clone(), &LimitSettings::off(), None));
    (app.with_router(router), store)
}

/// An account of `role` with the address `<username>@example.com`.
async fn addressed(app: &TestApp, username: &str, role: Role) -> Session {
    let session = app.user(username, role).await;
    app.patch(
        "/api/v1/users/me",
        &session,
        json!({ "email": format!("{username}@example.com") }),
    )
    .await
    .expect(StatusCode::OK);
    session
}

/// The mail queued since the last call: (address, notification).
struct Outbox {
    store: Store,
    seen: usize,
}

impl Outbox {
    fn new(store: &Store) -> Self {
        Self {
            store: store.clone(),
            seen: 0,
        }
    }

    async fn all(&self) -> Vec<(String, NotificationMail)> {
        let store = self.store.clone();
        let pending = tokio::task::spawn_blocking(move || store::test_hooks::pending_mail(&store))
            .await
            .expect("join")
            .expect("pending mail");
        pending
            .into_iter()
            .map(|(to, mail)| match mail {
                OutgoingMail::Notification(mail) => (to, mail),
                other => panic!("not a notification: {other:?}"),
            })
            .collect()
    }

    /// What was queued since the last call, as (address, kind), sorted.
    async fn new_mail(&mut self) -> Vec<(String, NotificationKind)> {
        let all = self.all().await;
        let fresh = all[self.seen..].to_vec();
        self.seen = all.len();
        let mut told: Vec<_> = fresh
            .into_iter()
            .map(|(to, mail)| (to, mail.kind))
            .collect();
        told.sort();
        told
    }
}

fn to(name: &str, kind: NotificationKind) -> (String, NotificationKind) {
    (format!("{name}@example.com"), kind)
}

http_tests! {
    /// Each row of the table, in the life of two tickets.
    async fn each_change_tells_whom_the_table_says(app) {
        use NotificationKind as K;
        let (app, store) = mailing(app).await;
        let kayode = addressed(&app, "kayode", Role::Customer).await;
        let benjamin = addressed(&app, "benjamin", Role::SupportAgent).await;
        let ada = addressed(&app, "ada", Role::SupportAgent).await;
        let admin = addressed(&app, "iambenkay", Role::Admin).await;
        // An agent without an address is never told.
        app.user("noaddress", Role::SupportAgent).await;
        let mut outbox = Outbox::new(&store);

        // Created: the customer's acknowledgement, and the agents with new
        // tickets on (not the admin: off by default).
        let id = app.open_ticket(&kayode, "The printer is on fire").await;
        assert_eq!(
            outbox.new_mail().await,
            [to("ada", K::TicketCreated), to("benjamin", K::TicketCreated), to("kayode", K::TicketCreated)]
        );
        // A staff reply that moves the status and assigns its writer: the
        // customer, once, as the reply; not the writer.
        app.reply(&benjamin, id, "We are on it").await.expect(StatusCode::CREATED);
        assert_eq!(outbox.new_mail().await, [to("kayode", K::PublicReply)]);
        // A note by the assignee: no one.
        let note = json!({"body": "secret plan: replace the fuser", "internal": true});
        app.post(&format!("/api/v1/tickets/{id}/replies"), &benjamin, note.clone())
            .await
            .expect(StatusCode::CREATED);
        assert_eq!(outbox.new_mail().await, []);
        // Assigned: the new assignee only.
        app.patch(&format!("/api/v1/tickets/{id}"), &admin, json!({"assignee": ada.id.parse::<i64>().expect("id"), "tags": ["vip-hardware"]}))
            .await
            .expect(StatusCode::OK);
        assert_eq!(outbox.new_mail().await, [to("ada", K::Assigned)]);
        // A note by someone else: the assignee, never the customer.
        app.post(&format!("/api/v1/tickets/{id}/replies"), &benjamin, note)
            .await
            .expect(StatusCode::CREATED);
        assert_eq!(outbox.new_mail().await, [to("ada", K::InternalNote)]);
        // A public reply by someone other than the assignee: both.
        app.reply(&benjamin, id, "A technician comes at noon").await.expect(StatusCode::CREATED);
        assert_eq!(outbox.new_mail().await, [to("ada", K::PublicReply), to("kayode", K::PublicReply)]);
        // The customer's reply: the assignee.
        app.reply(&kayode, id, "Thanks, I will be in").await.expect(StatusCode::CREATED);
        assert_eq!(outbox.new_mail().await, [to("ada", K::CustomerReply)]);
        // A change of priority or tags alone: no one.
        app.patch(&format!("/api/v1/tickets/{id}"), &admin, json!({"priority": "HIGH"}))
            .await
            .expect(StatusCode::OK);
        assert_eq!(outbox.new_mail().await, []);
        // The customer resolves it: the assignee, not the customer.
        app.resolve(&kayode, id).await.expect(StatusCode::OK);
        assert_eq!(outbox.new_mail().await, [to("ada", K::StatusChanged)]);
        let resolved = outbox.all().await.last().cloned().expect("a mail").1;
        assert_eq!(resolved.status_before, Some(domain::TicketStatus::Replied));
        assert_eq!(resolved.status, domain::TicketStatus::Resolved);
        assert_eq!(resolved.by, "kayode", "staff see who did it");

        // A customer's reply on an unassigned ticket: the agents with new
        // tickets on.
        let second = app.open_ticket(&kayode, "And the scanner").await;
        outbox.new_mail().await;
        app.reply(&ada, second, "Looking").await.expect(StatusCode::CREATED);
        outbox.new_mail().await;
        app.patch(&format!("/api/v1/tickets/{second}"), &admin, json!({"assignee": null}))
            .await
            .expect(StatusCode::OK);
        assert_eq!(outbox.new_mail().await, []);
        app.reply(&kayode, second, "Still broken").await.expect(StatusCode::CREATED);
        assert_eq!(outbox.new_mail().await, [to("ada", K::CustomerReply), to("benjamin", K::CustomerReply)]);

        // Everything the customer was sent: no note, no tag, no staff name.
        let customer_mail: Vec<NotificationMail> = outbox
            .all()
            .await
            .into_iter()
            .filter(|(address, _)| address == "kayode@example.com")
            .map(|(_, mail)| mail)
            .collect();
        assert_eq!(customer_mail.len(), 5, "{customer_mail:?}");
        for mail in &customer_mail {
            assert!(mail.to_customer);
            let json = serde_json::to_string(mail).expect("json");
            for secret in ["secret plan", "vip-hardware", "benjamin", "iambenkay", "\"ada\""] {
                assert!(!json.contains(secret), "{secret} in {json}");
            }
        }
        let replies: Vec<_> = customer_mail
            .iter()
            .filter(|mail| mail.kind == K::PublicReply)
            .map(|mail| (mail.by.as_str(), mail.text.as_deref()))
            .collect();
        assert_eq!(replies, [("Support", Some("We are on it")), ("Support", Some("A technician comes at noon")), ("Support", Some("Looking"))]);
        // Staff see the names and the note.
        let noted = outbox
            .all()
            .await
            .into_iter()
            .find(|(_, mail)| mail.kind == K::InternalNote)
            .expect("the note's mail")
            .1;
        assert_eq!(noted.by, "benjamin");
        assert_eq!(noted.text.as_deref(), Some("secret plan: replace the fuser"));
        assert_eq!(noted.subject_line(), format!("[#{id}] Issue"));
    }
}

http_tests! {
    /// Deactivated accounts and those without an address are not told.
    async fn only_active_accounts_with_an_address_are_told(app) {
        let (app, store) = mailing(app).await;
        let kayode = app.customer("kayode").await;
        let benjamin = addressed(&app, "benjamin", Role::SupportAgent).await;
        let ada = addressed(&app, "ada", Role::SupportAgent).await;
        let admin = app.admin().await;
        app.patch(&format!("/api/v1/users/{}", ada.id), &admin, json!({"active": false}))
            .await
            .expect(StatusCode::OK);
        let mut outbox = Outbox::new(&store);
        app.open_ticket(&kayode, "No address here").await;
        assert_eq!(outbox.new_mail().await, [to("benjamin", NotificationKind::TicketCreated)]);
        drop(benjamin);
    }
}

http_tests! {
    /// With mail off (no `SMTP_URL`), no change queues anything.
    async fn nothing_is_queued_when_mail_is_off(app) {
        let kayode = addressed(&app, "kayode", Role::Customer).await;
        let benjamin = addressed(&app, "benjamin", Role::SupportAgent).await;
        let id = app.open_ticket(&kayode, "Quiet, please").await;
        app.reply(&benjamin, id, "Shh").await.expect(StatusCode::CREATED);
        app.resolve(&kayode, id).await.expect(StatusCode::OK);
        let outbox = Outbox::new(app.db.store());
        assert!(outbox.all().await.is_empty());
    }
}

http_tests! {
    /// A change that is refused queues nothing: the rule's refusal comes
    /// before any write, and its transaction is rolled back whole.
    async fn a_refused_change_queues_nothing(app) {
        let (app, store) = mailing(app).await;
        let kayode = addressed(&app, "kayode", Role::Customer).await;
        let benjamin = addressed(&app, "benjamin", Role::SupportAgent).await;
        let id = app.open_ticket(&kayode, "Wait for me").await;
        let mut outbox = Outbox::new(&store);
        outbox.new_mail().await;
        // A customer may not reply before an agent has.
        app.reply(&kayode, id, "Hello?").await.expect(StatusCode::CONFLICT);
        assert_eq!(outbox.new_mail().await, []);
        drop(benjamin);
    }
}

http_tests! {
    async fn preferences_have_defaults_by_role_and_change_in_part(app) {
        let kayode = app.customer("kayode").await;
        let benjamin = app.agent().await;
        let admin = app.admin().await;
        let path = "/api/v1/users/me/notifications";
        let customer = app.get(path, &kayode).await.expect(StatusCode::OK).data();
        assert_eq!(customer, json!({"ticketCreated": true, "publicReply": true, "statusChanged": true}));
        let agent = app.get(path, &benjamin).await.expect(StatusCode::OK).data();
        assert_eq!(agent, json!({"ticketCreated": true, "publicReply": true, "customerReply": true, "internalNote": true, "statusChanged": true, "assigned": true, "slaBreached": true}));
        let admins = app.get(path, &admin).await.expect(StatusCode::OK).data();
        assert_eq!(admins["ticketCreated"], false);
        assert_eq!(admins["slaBreached"], true);

        // Partial: what is left out keeps its value.
        let changed = app.put(path, &benjamin, json!({"internalNote": false})).await.expect(StatusCode::OK).data();
        assert_eq!(changed["internalNote"], false);
        assert_eq!(changed["assigned"], true);
        let changed = app.put(path, &benjamin, json!({"assigned": false})).await.expect(StatusCode::OK).data();
        assert_eq!((changed["internalNote"].clone(), changed["assigned"].clone()), (json!(false), json!(false)));
        assert_eq!(app.get(path, &benjamin).await.expect(StatusCode::OK).data(), changed);
        let same = app.put(path, &benjamin, json!({})).await.expect(StatusCode::OK).data();
        assert_eq!(same, changed);
        let admin_on = app.put(path, &admin, json!({"ticketCreated": true})).await.expect(StatusCode::OK).data();
        assert_eq!(admin_on["ticketCreated"], true);

        // A customer's body holds its three keys only.
        let refused = app.put(path, &kayode, json!({"internalNote": true})).await.expect(StatusCode::BAD_REQUEST);
        assert!(refused.json()["message"].as_str().expect("message").contains("ticketCreated, publicReply and statusChanged"));
        let quiet = app.put(path, &kayode, json!({"publicReply": false})).await.expect(StatusCode::OK).data();
        assert_eq!(quiet, json!({"ticketCreated": true, "publicReply": false, "statusChanged": true}));
        // Unknown keys and values that are not booleans: 400, nothing changed.
        for body in [json!({"everything": false}), json!({"publicReply": "no"}), json!({"publicReply": null}), json!({"statusChanged": false, "x": 1})] {
            let answer = app.put(path, &kayode, body.clone()).await.expect(StatusCode::BAD_REQUEST);
            let message = answer.json()["message"].as_str().expect("message").to_owned();
            assert!(message.starts_with("everything") || message.starts_with("publicReply") || message.starts_with('x'), "{body}: {message}");
        }
        assert_eq!(app.get(path, &kayode).await.expect(StatusCode::OK).data(), quiet);
        app.request(Method::GET, path, None, None).await.expect(StatusCode::UNAUTHORIZED);
    }
}

http_tests! {
    /// A kind turned off is not sent; turning "new tickets" on brings an
    /// admin in.
    async fn a_kind_turned_off_is_not_queued(app) {
        use NotificationKind as K;
        let (app, store) = mailing(app).await;
        let kayode = addressed(&app, "kayode", Role::Customer).await;
        let benjamin = addressed(&app, "benjamin", Role::SupportAgent).await;
        let admin = addressed(&app, "iambenkay", Role::Admin).await;
        let path = "/api/v1/users/me/notifications";
        app.put(path, &kayode, json!({"ticketCreated": false})).await.expect(StatusCode::OK);
        app.put(path, &benjamin, json!({"ticketCreated": false})).await.expect(StatusCode::OK);
        app.put(path, &admin, json!({"ticketCreated": true})).await.expect(StatusCode::OK);
        let mut outbox = Outbox::new(&store);
        app.open_ticket(&kayode, "Who hears?").await;
        assert_eq!(outbox.new_mail().await, [to("iambenkay", K::TicketCreated)]);
    }
}

/// A request to the web door's unsubscribe link, as a mail client or a
/// browser sends it (no cookie, no form token).
async fn unsubscribe_request(app: &TestApp, method: Method, token: &str) -> (StatusCode, String) {
    let mut request = Request::builder()
        .method(method.clone())
        .uri(format!("/unsubscribe?token={token}"));
    let body = match method {
        Method::POST => {
            request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            Body::from("List-Unsubscribe=One-Click")
        }
        _ => Body::empty(),
    };
    let response = app
        .router()
        .clone()
        .oneshot(request.body(body).expect("request"))
        .await
        .expect("infallible");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

http_tests! {
    /// The link in a mail turns exactly its kind off for its account, by a
    /// mail client's one-click POST, without signing in; the next change
    /// of that kind queues nothing for them.
    async fn one_click_unsubscribe_turns_exactly_that_kind_off(app) {
        use NotificationKind as K;
        let (app, store) = mailing(app).await;
        let kayode = addressed(&app, "kayode", Role::Customer).await;
        let benjamin = addressed(&app, "benjamin", Role::SupportAgent).await;
        let user = UserId(kayode.id.parse().expect("id"));
        let token = test_keys().unsubscribe_token(user, K::PublicReply).expect("a token");

        // GET shows what it turns off, and changes nothing.
        let (status, page) = unsubscribe_request(&app, Method::GET, &token).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page.contains("replies from support"), "{page}");
        assert!(page.contains("id=\"unsubscribe-form\""), "{page}");
        let path = "/api/v1/users/me/notifications";
        assert_eq!(app.get(path, &kayode).await.expect(StatusCode::OK).data()["publicReply"], true);

        let (status, page) = unsubscribe_request(&app, Method::POST, &token).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page.contains("id=\"unsubscribed\""), "{page}");
        assert_eq!(
            app.get(path, &kayode).await.expect(StatusCode::OK).data(),
            json!({"ticketCreated": true, "publicReply": false, "statusChanged": true})
        );
        // Twice is the same.
        assert_eq!(unsubscribe_request(&app, Method::POST, &token).await.0, StatusCode::OK);

        let mut outbox = Outbox::new(&store);
        let id = app.open_ticket(&kayode, "Still want the receipt").await;
        assert!(outbox.new_mail().await.contains(&to("kayode", K::TicketCreated)));
        app.reply(&benjamin, id, "Answered").await.expect(StatusCode::CREATED);
        assert_eq!(outbox.new_mail().await, [], "no public reply for kayode now");

        // A bad, forged or foreign token is a clear 400 page, never a 500.
        let foreign = Keys::new(
            &ServerSecret::new("another-secret-of-at-least-32-bytes").expect("long enough"),
            Duration::from_secs(3600),
        )
        .unsubscribe_token(user, K::StatusChanged)
        .expect("a token");
        for bad in ["", "nonsense", &format!("{token}x"), &foreign] {
            for method in [Method::GET, Method::POST] {
                let (status, page) = unsubscribe_request(&app, method.clone(), bad).await;
                assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {bad}: {page}");
                assert!(page.contains("not valid or has expired"), "{page}");
            }
        }
        assert_eq!(
            app.get(path, &kayode).await.expect(StatusCode::OK).data()["statusChanged"],
            true
        );
        // A token for an account that is no more: not found.
        let gone = test_keys().unsubscribe_token(UserId(999_999), K::PublicReply).expect("a token");
        assert_eq!(unsubscribe_request(&app, Method::POST, &gone).await.0, StatusCode::NOT_FOUND);
    }
}

/// Puts every due time of `ticket` an hour in the past.
fn overdue(app: &TestApp, ticket: i64, which: &str) {
    let past = match app.db.backend() {
        testkit::Backend::Sqlite => "datetime('now', '-1 hour')",
        testkit::Backend::Postgres => "(now() at time zone 'utc') - interval '1 hour'",
    };
    app.db.other_client().execute(&format!(
        "UPDATE tickets SET {which} = {past} WHERE id = {ticket}"
    ));
}

http_tests! {
    /// A missed target is told once: to the assignee, or to the agents
    /// with new tickets on when there is none; the next sweep finds nothing.
    async fn the_sla_sweep_tells_of_each_miss_once(app) {
        use NotificationKind as K;
        let (app, store) = mailing(app).await;
        let kayode = addressed(&app, "kayode", Role::Customer).await;
        let benjamin = addressed(&app, "benjamin", Role::SupportAgent).await;
        let ada = addressed(&app, "ada", Role::SupportAgent).await;
        let unassigned = app.open_ticket(&kayode, "Nobody came").await;
        let assigned = app.open_ticket(&kayode, "Benjamin came late").await;
        let on_time = app.open_ticket(&kayode, "Not due yet").await;
        app.reply(&benjamin, assigned, "Here").await.expect(StatusCode::CREATED);
        overdue(&app, unassigned, "first_response_due_at");
        overdue(&app, assigned, "resolution_due_at");
        let mut outbox = Outbox::new(&store);
        outbox.new_mail().await;

        let sweeping = store.clone();
        let noticed = tokio::task::spawn_blocking(move || sweeping.notice_sla_breaches())
            .await
            .expect("join")
            .expect("a sweep");
        assert_eq!(noticed, 2);
        assert_eq!(
            outbox.new_mail().await,
            [to("ada", K::SlaBreached), to("benjamin", K::SlaBreached), to("benjamin", K::SlaBreached)]
        );
        let notices = outbox.all().await;
        let texts: Vec<_> = notices
            .iter()
            .filter(|(_, mail)| mail.kind == K::SlaBreached)
            .map(|(_, mail)| (mail.ticket_id, mail.text.clone().unwrap_or_default()))
            .collect();
        assert!(texts.iter().any(|(id, text)| *id == unassigned && text.contains("first response")), "{texts:?}");
        assert!(texts.iter().any(|(id, text)| *id == assigned && text.contains("resolution")), "{texts:?}");
        assert!(!texts.iter().any(|(id, _)| *id == on_time));

        let again = store.clone();
        let noticed = tokio::task::spawn_blocking(move || again.notice_sla_breaches())
            .await
            .expect("join")
            .expect("a sweep");
        assert_eq!(noticed, 0, "each miss once");
        assert_eq!(outbox.new_mail().await, []);
        drop(ada);
    }
}

http_tests! {
    /// Several sweeps at once (several processes) notice each miss once.
    async fn sweeps_at_once_tell_of_each_miss_once(app) {
        let (app, store) = mailing(app).await;
        let kayode = addressed(&app, "kayode", Role::Customer).await;
        addressed(&app, "benjamin", Role::SupportAgent).await;
        let mut ids = Vec::new();
        for n in 0..30 {
            ids.push(app.open_ticket(&kayode, &format!("Overdue {n}")).await);
        }
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let past = match app.db.backend() {
            testkit::Backend::Sqlite => "datetime('now', '-1 hour')",
            testkit::Backend::Postgres => "(now() at time zone 'utc') - interval '1 hour'",
        };
        app.db.other_client().execute(&format!(
            "UPDATE tickets SET first_response_due_at = {past} WHERE id IN ({list})"
        ));
        let before = Outbox::new(&store).all().await.len();
        // Three stores over one database, each its own pool, as three
        // processes would have.
        let mut stores = vec![store.clone()];
        for _ in 0..2 {
            let url = store::DatabaseUrl::parse(&app.db.url()).expect("url");
            stores.push(
                tokio::task::spawn_blocking(move || {
                    Store::connect(&url, StoreOptions { sends_mail: true, ..StoreOptions::default() })
                })
                .await
                .expect("join")
                .expect("store"),
            );
        }
        let sweeps: Vec<_> = stores
            .into_iter()
            .map(|store| tokio::task::spawn_blocking(move || store.notice_sla_breaches()))
            .collect();
        let mut noticed = 0;
        for sweep in sweeps {
            noticed += sweep.await.expect("join").expect("a sweep");
        }
        assert_eq!(noticed, 30);
        let notices: Vec<i64> = Outbox::new(&store)
            .all()
            .await
            .into_iter()
            .skip(before)
            .map(|(_, mail)| mail.ticket_id)
            .collect();
        let mut unique = notices.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(notices.len(), 30, "one notice a ticket: {notices:?}");
        assert_eq!(unique, ids);
    }
}

http_tests! {
    /// The mail is queued in the change's own transaction: when queuing
    /// fails (a trigger refuses the row), the reply is not written either,
    /// and nothing is queued.
    async fn a_change_rolled_back_queues_nothing_and_keeps_nothing(app) {
        let (app, store) = mailing(app).await;
        let kayode = addressed(&app, "kayode", Role::Customer).await;
        let benjamin = addressed(&app, "benjamin", Role::SupportAgent).await;
        let id = app.open_ticket(&kayode, "Roll me back").await;
        let before = Outbox::new(&store).all().await.len();
        app.db.other_client().execute(match app.db.backend() {
            testkit::Backend::Sqlite => {
                "CREATE TRIGGER refuse_boom BEFORE INSERT ON outbox
                 WHEN NEW.payload LIKE '%boom%'
                 BEGIN SELECT RAISE(ABORT, 'boom refused'); END;"
            }
            testkit::Backend::Postgres => {
                "CREATE FUNCTION refuse_boom() RETURNS trigger AS $$
                 BEGIN
                   IF NEW.payload LIKE '%boom%' THEN RAISE EXCEPTION 'boom refused'; END IF;
                   RETURN NEW;
                 END $$ LANGUAGE plpgsql;
                 CREATE TRIGGER refuse_boom BEFORE INSERT ON outbox
                 FOR EACH ROW EXECUTE FUNCTION refuse_boom();"
            }
        });
        let actor = benjamin.actor();
        let replying = store.clone();
        let failed = tokio::task::spawn_blocking(move || {
            replying.add_reply(
                actor,
                TicketId(id),
                &domain::ReplyBody::parse("boom").expect("a body"),
                domain::ReplyKind::Public,
            )
        })
        .await
        .expect("join");
        assert!(failed.is_err(), "{failed:?}");
        let thread = app.get(&format!("/api/v1/tickets/{id}/replies"), &benjamin).await.expect(StatusCode::OK).data();
        assert_eq!(thread, json!([]), "the reply went with its mail");
        let ticket = app.get(&format!("/api/v1/tickets/{id}"), &benjamin).await.expect(StatusCode::OK).data();
        assert_eq!(ticket["status"], "UNATTENDED");
        assert_eq!(Outbox::new(&store).all().await.len(), before);
        // Another reply goes through, with its mail.
        app.reply(&benjamin, id, "fine").await.expect(StatusCode::CREATED);
        assert_eq!(Outbox::new(&store).all().await.len(), before + 1);
    }
}

http_tests! {
    /// Deciding who is told reads the ticket's people in one query, and
    /// the staff who watch new tickets in one more only when the change
    /// tells them.
    async fn the_people_are_read_in_one_query_and_the_watchers_only_when_needed(app) {
        let (app, store) = mailing(app).await;
        let kayode = addressed(&app, "kayode", Role::Customer).await;
        let benjamin = addressed(&app, "benjamin", Role::SupportAgent).await;
        let id = app.open_ticket(&kayode, "Count my queries").await;
        app.reply(&benjamin, id, "Counted").await.expect(StatusCode::CREATED);
        let log = testkit::record_queries(&store);
        let preferences_read = |log: &testkit::QueryLog| {
            log.take()
                .into_iter()
                .filter(|sql| sql.contains("notification_preferences"))
                .count()
        };
        // An assigned ticket: its people, in one query.
        app.reply(&kayode, id, "Thanks").await.expect(StatusCode::CREATED);
        assert_eq!(preferences_read(&log), 1);
        // A new ticket: its people, and the watchers.
        app.open_ticket(&kayode, "Another").await;
        assert_eq!(preferences_read(&log), 2);
        // A change that tells no one reads neither.
        app.patch(&format!("/api/v1/tickets/{id}"), &benjamin, json!({"priority": "LOW"}))
            .await
            .expect(StatusCode::OK);
        assert_eq!(preferences_read(&log), 0);
    }
}
