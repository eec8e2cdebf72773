//! The outbox at the store's boundary: announcements written in the
//! change's transaction (and only for subscribers), claims that never hand
//! one row to two workers, leases that expire, stale records that change
//! nothing, the retry schedule, and the disable rule.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use domain::tickets::ReplyKind;
use domain::{DestinationPolicy, EventSet, PageRequest, ReplyBody, RetrySchedule, WebhookUrl};
use store::{AttemptOutcome, AttemptRecord, NewWebhook, Store, WEBHOOK_CHANNEL};
use testkit::{TestDb, both_backends};

use super::*;

fn subscribe(store: &Store, admin: Actor, events: &[&str]) -> i64 {
    store
        .create_webhook(
            admin,
            &NewWebhook {
                url: WebhookUrl::parse(
                    "https://hooks.example.com/in",
                    DestinationPolicy::default(),
                )
                .expect("url"),
                events: EventSet::parse(events).expect("events"),
                description: "CRM".to_owned(),
            },
        )
        .expect("create")
        .webhook
        .id
}

fn claim(store: &Store, limit: usize, lease: Duration) -> Vec<store::ClaimedMessage> {
    store
        .claim_outbox(WEBHOOK_CHANNEL, limit, lease, &HashSet::new())
        .expect("claim")
}

fn attempt(succeeded: bool, at: chrono::DateTime<Utc>) -> AttemptRecord {
    AttemptRecord {
        at,
        duration: Duration::from_millis(12),
        status_code: Some(if succeeded { 200 } else { 500 }),
        error: (!succeeded).then(|| "answered 500".to_owned()),
        response: Some("ok".to_owned()),
        succeeded,
        permanent: false,
    }
}

fn pending(store: &Store) -> u64 {
    store
        .outbox_stats()
        .expect("stats")
        .iter()
        .map(|stats| stats.pending)
        .sum()
}

both_backends!(
    a_change_announces_itself_to_subscribers_only_and_a_refused_one_not_at_all,
    |db: &TestDb| {
        let store = db.store();
        let cast = cast(db);
        open(store, cast.customer, "before any endpoint");
        assert_eq!(pending(store), 0, "nobody listens: nothing queued");
        let replies = subscribe(store, cast.admin, &["ticket.replied"]);
        let everything = subscribe(store, cast.admin, &["ticket.created", "ticket.replied"]);
        let ticket = open(store, cast.customer, "Help");
        assert_eq!(pending(store), 1, "ticket.created to one endpoint");
        // Refused: a customer cannot reply before an agent has.
        let refusal = store.add_reply(
            cast.customer,
            ticket.id,
            &ReplyBody::parse("Hello?").expect("body"),
            ReplyKind::Public,
        );
        assert!(matches!(refused(refusal), Refusal::Conflict(_)));
        assert_eq!(pending(store), 1, "a refused change queues nothing");
        store
            .add_reply(
                cast.agent,
                ticket.id,
                &ReplyBody::parse("On it").expect("body"),
                ReplyKind::Public,
            )
            .expect("reply");
        let claimed = claim(store, 10, Duration::from_secs(60));
        let mut by_endpoint: Vec<(String, String)> = claimed
            .iter()
            .map(|c| {
                let payload: serde_json::Value = serde_json::from_str(&c.payload).expect("json");
                (
                    c.recipient.clone(),
                    payload["type"].as_str().expect("type").to_owned(),
                )
            })
            .collect();
        by_endpoint.sort();
        // One at a time per endpoint: the created event first, then the
        // reply to the other endpoint.
        assert_eq!(
            by_endpoint,
            [
                (replies.to_string(), "ticket.replied".to_owned()),
                (everything.to_string(), "ticket.created".to_owned()),
            ]
        );
        assert_eq!(pending(store), 3);
    }
);

both_backends!(
    a_claimed_row_is_not_claimed_again_until_its_lease_ends,
    |db: &TestDb| {
        let store = db.store();
        let cast = cast(db);
        subscribe(store, cast.admin, &["ticket.created"]);
        open(store, cast.customer, "Help");
        let first = claim(store, 5, Duration::from_millis(300));
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].attempt, 1);
        assert!(first[0].message_id.starts_with("msg_"));
        assert!(
            claim(store, 5, Duration::from_secs(60)).is_empty(),
            "leased"
        );
        std::thread::sleep(Duration::from_millis(400));
        let again = claim(store, 5, Duration::from_secs(60));
        assert_eq!(
            again.len(),
            1,
            "the lease ran out: a crashed worker's row is taken again"
        );
        assert_eq!(again[0].message_id, first[0].message_id, "with the same id");
        assert_eq!(again[0].attempt, 2);
        // The first worker's late record is logged but moves nothing on.
        let schedule = RetrySchedule::default();
        let stale = store
            .finish_webhook_attempt(&first[0], &attempt(true, store::now()), &schedule)
            .expect("record");
        assert_eq!(stale, AttemptOutcome::Stale);
        assert_eq!(pending(store), 1);
        let done = store
            .finish_webhook_attempt(&again[0], &attempt(true, store::now()), &schedule)
            .expect("record");
        assert_eq!(done, AttemptOutcome::Delivered);
        assert_eq!(pending(store), 0);
        let id: i64 = again[0].recipient.parse().expect("id");
        let log = store
            .list_webhook_deliveries(cast.admin, id, PageRequest::default())
            .expect("log");
        assert_eq!(log.items.len(), 2, "both attempts are in the log");
    }
);

both_backends!(
    a_failure_is_retried_on_the_schedule_then_fails,
    |db: &TestDb| {
        let store = db.store();
        let cast = cast(db);
        subscribe(store, cast.admin, &["ticket.created"]);
        open(store, cast.customer, "Help");
        let schedule = RetrySchedule::parse("50ms").expect("schedule");
        let first = claim(store, 1, Duration::from_secs(60));
        let outcome = store
            .finish_webhook_attempt(&first[0], &attempt(false, store::now()), &schedule)
            .expect("record");
        assert!(matches!(outcome, AttemptOutcome::Retrying(_)));
        assert!(
            claim(store, 1, Duration::from_secs(60)).is_empty(),
            "not due yet"
        );
        std::thread::sleep(Duration::from_millis(80));
        let second = claim(store, 1, Duration::from_secs(60));
        assert_eq!(second.len(), 1);
        let outcome = store
            .finish_webhook_attempt(&second[0], &attempt(false, store::now()), &schedule)
            .expect("record");
        assert_eq!(outcome, AttemptOutcome::Failed);
        assert_eq!(pending(store), 0);
        std::thread::sleep(Duration::from_millis(80));
        assert!(
            claim(store, 1, Duration::from_secs(60)).is_empty(),
            "failed for good"
        );
    }
);

both_backends!(
    an_endpoint_failing_every_delivery_for_five_days_is_disabled,
    |db: &TestDb| {
        let store = db.store();
        let cast = cast(db);
        let id = subscribe(store, cast.admin, &["ticket.created"]);
        // Each attempt fails for good at once: the schedule has no retry.
        let once = RetrySchedule::parse("").expect("schedule");
        let now = store::now();
        let deliver = |at, succeeded| {
            open(store, cast.customer, "Help");
            let claimed = claim(store, 1, Duration::from_secs(60));
            store
                .finish_webhook_attempt(&claimed[0], &attempt(succeeded, at), &once)
                .expect("record");
            store.read_webhook(cast.admin, id).expect("read")
        };
        // Failing for four days (the clock is the attempts'): still on.
        let endpoint = deliver(now - TimeDelta::days(4), false);
        assert!(endpoint.enabled);
        assert_eq!(endpoint.failing_since, Some(now - TimeDelta::days(4)));
        let endpoint = deliver(now, false);
        assert!(endpoint.enabled, "four days of failures are not five");
        // A success ends the streak.
        let endpoint = deliver(now, true);
        assert!(endpoint.enabled && endpoint.failing_since.is_none());
        // A streak that began six days ago disables it.
        deliver(now - TimeDelta::days(6), false);
        let endpoint = store.read_webhook(cast.admin, id).expect("read");
        assert!(!endpoint.enabled, "failing every delivery for five days");
        // A disabled endpoint is announced nothing.
        open(store, cast.customer, "Unheard");
        assert_eq!(pending(store), 0);
        // Enabled again by an admin, its failures are forgotten.
        let endpoint = store
            .update_webhook(
                cast.admin,
                id,
                &store::WebhookChange {
                    enabled: Some(true),
                    ..store::WebhookChange::default()
                },
            )
            .expect("enable");
        assert!(endpoint.enabled && endpoint.failing_since.is_none());
    }
);

both_backends!(
    only_admins_manage_endpoints_and_deleting_one_drops_its_messages,
    |db: &TestDb| {
        let store = db.store();
        let cast = cast(db);
        for actor in [cast.agent, cast.customer] {
            assert!(matches!(
                refused(store.list_webhooks(actor)),
                Refusal::Forbidden(_)
            ));
        }
        let id = subscribe(store, cast.admin, &["ticket.created"]);
        assert!(matches!(
            refused(store.read_webhook(cast.agent, id)),
            Refusal::Forbidden(_)
        ));
        open(store, cast.customer, "Help");
        let claimed = claim(store, 1, Duration::from_secs(60));
        store
            .finish_webhook_attempt(
                &claimed[0],
                &attempt(false, store::now()),
                &RetrySchedule::default(),
            )
            .expect("record");
        store.delete_webhook(cast.admin, id).expect("delete");
        assert_eq!(pending(store), 0);
        assert!(matches!(
            refused(store.read_webhook(cast.admin, id)),
            Refusal::NotFound
        ));
        assert!(matches!(
            refused(store.delete_webhook(cast.admin, id)),
            Refusal::NotFound
        ));
    }
);

both_backends!(
    finished_messages_are_forgotten_after_they_were_kept,
    |db: &TestDb| {
        let store = db.store();
        let cast = cast(db);
        let id = subscribe(store, cast.admin, &["ticket.created"]);
        open(store, cast.customer, "Delivered");
        open(store, cast.customer, "Pending");
        let claimed = claim(store, 1, Duration::from_secs(60));
        store
            .finish_webhook_attempt(
                &claimed[0],
                &attempt(true, store::now()),
                &RetrySchedule::default(),
            )
            .expect("record");
        let log = |store: &Store| {
            store
                .list_webhook_deliveries(cast.admin, id, PageRequest::default())
                .expect("log")
                .items
                .len()
        };
        assert_eq!(
            store
                .forget_finished_outbox(Duration::from_secs(3600))
                .expect("sweep"),
            0
        );
        assert_eq!(log(store), 1, "kept while young");
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(
            store
                .forget_finished_outbox(Duration::from_millis(10))
                .expect("sweep"),
            1
        );
        assert_eq!(log(store), 0, "its attempts went with it");
        assert_eq!(pending(store), 1, "a pending message is never forgotten");
    }
);

both_backends!(
    the_claim_and_the_gauge_read_pending_rows_through_their_index,
    |db: &TestDb| {
        // A partial index (`WHERE state = 'pending'`) served neither: the
        // state is a bound parameter, so the claim read every row of the
        // channel, delivered ones included, and sorted them, while holding
        // SQLite's one write lock (41 deliveries a second once 20,000 rows
        // were kept).
        let store = db.store();
        let cast = cast(db);
        subscribe(store, cast.admin, &["ticket.created"]);
        open(store, cast.customer, "Help");
        let log = testkit::record_queries(store);
        assert_eq!(claim(store, 4, Duration::from_secs(60)).len(), 1);
        assert_eq!(pending(store), 1, "claimed, not yet delivered");
        let mut client = db.other_client();
        if db.backend() == testkit::Backend::Postgres {
            client.execute("SET enable_seqscan = off; SET enable_sort = off");
        }
        let reads: Vec<String> = log
            .take()
            .into_iter()
            // Diesel quotes names with `"` on PostgreSQL, backticks on SQLite.
            .filter(|sql| {
                sql.starts_with("SELECT")
                    && (sql.contains("FROM \"outbox\"") || sql.contains("FROM `outbox`"))
            })
            .collect();
        assert!(
            reads.len() >= 3,
            "the claim's two reads and the gauge's: {reads:#?}"
        );
        for sql in reads {
            let plan = client.explain(&sql).join("\n");
            assert!(
                plan.contains("outbox_due")
                    && !plan.contains("TEMP B-TREE")
                    && !plan.contains("Seq Scan")
                    && !plan.contains("Sort"),
                "{sql}\n{plan}"
            );
        }
    }
);

both_backends!(
    a_delivered_message_hands_its_place_to_the_endpoints_next_one_only,
    |db: &TestDb| {
        let store = db.store();
        let cast = cast(db);
        let busy = subscribe(store, cast.admin, &["ticket.created"]);
        for subject in ["one", "two", "three"] {
            open(store, cast.customer, subject);
        }
        let other = subscribe(store, cast.admin, &["ticket.created"]);
        open(store, cast.customer, "four");
        let schedule = RetrySchedule::default();
        let lease = Duration::from_secs(60);
        let first = store
            .claim_outbox(
                WEBHOOK_CHANNEL,
                1,
                lease,
                &HashSet::from([other.to_string()]),
            )
            .expect("claim");
        assert_eq!(first[0].recipient, busy.to_string());
        let (outcome, next) = store
            .finish_webhook_attempt_and_claim_next(
                &first[0],
                &attempt(true, store::now()),
                &schedule,
                lease,
            )
            .expect("record and claim");
        assert_eq!(outcome, AttemptOutcome::Delivered);
        let next = next.expect("the endpoint's next message");
        assert_eq!(next.recipient, busy.to_string(), "never another endpoint's");
        assert_ne!(next.message_id, first[0].message_id);
        assert_eq!(next.attempt, 1);
        // Claimed: another worker's claim passes it over.
        let others = claim(store, 10, lease);
        let taken: Vec<&str> = others.iter().map(|c| c.recipient.as_str()).collect();
        assert_eq!(
            taken,
            [busy.to_string(), other.to_string()],
            "the third and the other's"
        );
        assert_ne!(others[0].message_id, next.message_id);
        // A failure hands nothing on: the schedule decides when it goes again.
        let (outcome, after_failure) = store
            .finish_webhook_attempt_and_claim_next(
                &next,
                &attempt(false, store::now()),
                &schedule,
                lease,
            )
            .expect("record");
        assert!(
            matches!(outcome, AttemptOutcome::Retrying(_)),
            "{outcome:?}"
        );
        assert!(after_failure.is_none());
    }
);

/// A mail to `to`, queued as a change would.
fn queue_mail(store: &Store, to: &str) -> String {
    let mail = domain::OutgoingMail::PinReset(domain::PinResetMail {
        recipient: domain::UserId(1),
        recipient_name: "kayode".into(),
        nonce: "nonce".into(),
        expires_at: "2026-12-07T10:30:00.000Z".into(),
    });
    store::test_hooks::queue_mail(
        store,
        &domain::EmailAddress::parse(to).expect("an address"),
        &mail,
    )
    .expect("queued")
}

fn claim_mail(store: &Store) -> Vec<store::ClaimedMessage> {
    store
        .claim_outbox(
            store::MAIL_CHANNEL,
            5,
            Duration::from_secs(60),
            &HashSet::new(),
        )
        .expect("claim")
}

both_backends!(
    a_permanent_failure_fails_the_mail_at_once_and_only_a_failed_one_is_retried,
    |db: &TestDb| {
        let store = db.store();
        let cast = cast(db);
        queue_mail(store, "bounce@example.org");
        queue_mail(store, "defer@example.org");
        let claimed = claim_mail(store);
        assert_eq!(claimed.len(), 2);
        let schedule = RetrySchedule::mail();
        let refused_for_good = AttemptRecord {
            permanent: true,
            status_code: Some(550),
            error: Some("550 no such mailbox".to_owned()),
            ..attempt(false, store::now())
        };
        assert_eq!(
            store
                .finish_mail_attempt(&claimed[0], &refused_for_good, &schedule)
                .expect("record"),
            AttemptOutcome::Failed,
            "with the whole schedule left"
        );
        let before = store::now();
        let outcome = store
            .finish_mail_attempt(&claimed[1], &attempt(false, store::now()), &schedule)
            .expect("record");
        // About 30 s, moved by up to 10 % either way.
        match outcome {
            AttemptOutcome::Retrying(due) => {
                let wait = (due - before).num_milliseconds();
                assert!((26_000..=34_000).contains(&wait), "{wait} ms");
            }
            other => panic!("{other:?}"),
        }
        let filter = |status: &str| {
            domain::OutboxFilter::parse(Some(status), Some("mail")).expect("a filter")
        };
        let failed = store
            .list_outbox(cast.admin, filter("failed"), PageRequest::default())
            .expect("list")
            .items;
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].recipient, "bounce@example.org");
        assert_eq!(failed[0].kind.as_deref(), Some("pinReset"));
        assert_eq!(failed[0].last_error.as_deref(), Some("550 no such mailbox"));
        assert_eq!(failed[0].next_attempt_at, None);
        let pending = store
            .list_outbox(cast.admin, filter("pending"), PageRequest::default())
            .expect("list")
            .items;
        assert_eq!(pending.len(), 1);
        assert!(pending[0].next_attempt_at.is_some());
        assert!(matches!(
            refused(store.retry_outbox(cast.admin, pending[0].id)),
            Refusal::Conflict(_)
        ));
        assert!(matches!(
            refused(store.retry_outbox(cast.admin, 987_654)),
            Refusal::NotFound
        ));
        for actor in [cast.agent, cast.customer] {
            assert!(matches!(
                refused(store.retry_outbox(actor, failed[0].id)),
                Refusal::Forbidden(_)
            ));
            assert!(matches!(
                refused(store.list_outbox(actor, filter("failed"), PageRequest::default())),
                Refusal::Forbidden(_)
            ));
        }
        let retried = store.retry_outbox(cast.admin, failed[0].id).expect("retry");
        assert_eq!(retried.status, domain::OutboxStatus::Pending);
        assert_eq!(retried.attempts, 0);
        let again = claim_mail(store);
        assert_eq!(again.len(), 1, "due at once");
        assert_eq!(again[0].recipient, "bounce@example.org");
        assert_eq!(
            again[0].message_id, claimed[0].message_id,
            "the same message id"
        );
    }
);

both_backends!(
    a_sent_mail_hands_its_address_next_mail_to_the_same_worker,
    |db: &TestDb| {
        let store = db.store();
        let first_id = queue_mail(store, "carol@example.org");
        let second_id = queue_mail(store, "carol@example.org");
        let dave_id = queue_mail(store, "dave@example.org");
        let schedule = RetrySchedule::mail();
        let lease = Duration::from_secs(60);
        let claim_one = || {
            store
                .claim_outbox(store::MAIL_CHANNEL, 1, lease, &HashSet::new())
                .expect("claim")
        };
        let first = claim_one();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].message_id, first_id, "due order");
        let (outcome, next) = store
            .finish_mail_attempt_and_claim_next(
                &first[0],
                &attempt(true, store::now()),
                &schedule,
                lease,
            )
            .expect("record and claim");
        assert_eq!(outcome, AttemptOutcome::Delivered);
        let next = next.expect("carol's next mail");
        assert_eq!(next.message_id, second_id);
        assert_eq!(
            next.recipient, "carol@example.org",
            "never another address's"
        );
        // Claimed: another worker gets dave's, not carol's again.
        let others = claim_mail(store);
        assert_eq!(others.len(), 1);
        assert_eq!(others[0].message_id, dave_id);
        // A failure hands nothing on.
        let (outcome, after_failure) = store
            .finish_mail_attempt_and_claim_next(
                &next,
                &attempt(false, store::now()),
                &schedule,
                lease,
            )
            .expect("record");
        assert!(
            matches!(outcome, AttemptOutcome::Retrying(_)),
            "{outcome:?}"
        );
        assert!(after_failure.is_none());
    }
);

both_backends!(
    one_address_s_mail_is_claimed_several_at_once_and_one_endpoint_s_one_at_a_time,
    |db: &TestDb| {
        let store = db.store();
        let cast = cast(db);
        for _ in 0..3 {
            queue_mail(store, "carol@example.org");
        }
        assert_eq!(
            claim_mail(store).len(),
            3,
            "a mail server takes several at once"
        );
        subscribe(store, cast.admin, &["ticket.created"]);
        for subject in ["one", "two", "three"] {
            open(store, cast.customer, subject);
        }
        assert_eq!(
            claim(store, 10, Duration::from_secs(60)).len(),
            1,
            "an endpoint's events in order"
        );
    }
);
