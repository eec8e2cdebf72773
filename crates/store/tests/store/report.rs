//! The resolved report at the store's boundary: only staff open it, and it
//! streams exactly its window's rows in order, stopping when the reader does.

use chrono::{DateTime, TimeDelta, Utc};
use domain::Refusal;
use domain::{
    Actor, EventKind, NewEvent, Priority, SlaTargets, TagSet, Ticket, TicketId, TicketStatus,
};
use store::{ResolvedReport, SeedReply, SeedTicket, StoreError};
use testkit::both_backends;

use super::*;

/// `count` tickets resolved at instants spread over the last two months,
/// shuffled so insertion order is not resolution order; every seventh is
/// unresolved.
fn spread_tickets(
    author: domain::UserId,
    agent: domain::UserId,
    now: DateTime<Utc>,
    count: i64,
) -> Vec<SeedTicket> {
    let span = TimeDelta::days(62).num_seconds();
    (0..count)
        .map(|i| {
            let offset = (i * 7_919) % span;
            let resolved_at = now - TimeDelta::seconds(offset);
            let created_at = resolved_at - TimeDelta::hours(3);
            let resolved = i % 7 != 0;
            // The agent's reply at once opens the ticket and takes it; the
            // customer resolves it later (or not).
            let event = |kind, actor, at| NewEvent { kind, actor, at };
            let mut events = vec![
                event(EventKind::Created {}, author, created_at),
                event(EventKind::Replied { reply_id: 0 }, agent, created_at),
                event(
                    EventKind::StatusChanged {
                        from: TicketStatus::Unattended,
                        to: TicketStatus::Replied,
                    },
                    agent,
                    created_at,
                ),
                event(
                    EventKind::Assigned {
                        from: None,
                        to: Some(agent),
                    },
                    agent,
                    created_at,
                ),
            ];
            if resolved {
                events.push(event(
                    EventKind::StatusChanged {
                        from: TicketStatus::Replied,
                        to: TicketStatus::Resolved,
                    },
                    author,
                    resolved_at,
                ));
            }
            SeedTicket {
                author,
                subject: Some(format!("subject {i}")),
                body: format!("=body {i}, with a comma"),
                status: if resolved {
                    TicketStatus::Resolved
                } else {
                    TicketStatus::Replied
                },
                created_at,
                updated_at: if resolved { resolved_at } else { created_at },
                resolved_at: resolved.then_some(resolved_at),
                priority: Priority::Normal,
                assignee: Some(agent),
                tags: TagSet::default(),
                first_response_at: Some(created_at),
                due: SlaTargets::default().due_times(created_at, Priority::Normal),
                replies: vec![SeedReply {
                    author: agent,
                    body: "on it".to_owned(),
                    created_at,
                    internal: false,
                }],
                events,
            }
        })
        .collect()
}

fn expected_rows(
    all: &[SeedTicket],
    ids: &[TicketId],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, TicketId)> {
    let mut rows: Vec<_> = all
        .iter()
        .zip(ids)
        .filter_map(|(t, id)| t.resolved_at.map(|at| (at, *id)))
        .filter(|(at, _)| *at >= from && *at <= to)
        .collect();
    rows.sort();
    rows
}

fn open_report(store: &Store, reader: Actor) -> ResolvedReport {
    store
        .open_resolved_report(reader)
        .expect("staff may read it")
}

fn streamed(report: ResolvedReport) -> Vec<Ticket> {
    let mut rows = Vec::new();
    let sent = report
        .for_each_row(|ticket| {
            rows.push(ticket);
            true
        })
        .expect("stream");
    assert_eq!(sent, rows.len() as u64);
    rows
}

both_backends!(only_staff_open_the_report, |db| {
    let store = db.store();
    let cast = cast(db);
    for staff in [cast.agent, cast.admin] {
        assert!(streamed(open_report(store, staff)).is_empty());
    }
    assert!(matches!(
        store.open_resolved_report(cast.customer),
        Err(StoreError::Refused(Refusal::Forbidden(_)))
    ));
});

both_backends!(
    the_report_streams_exactly_the_window_in_resolution_order,
    |db| {
        let store = db.store();
        let cast = cast(db);
        let now = store::now();
        let batch = spread_tickets(cast.customer.id(), cast.agent.id(), now, 100_000);
        let ids: Vec<TicketId> = batch
            .chunks(10_000)
            .flat_map(|chunk| store.bulk_load_tickets(chunk).expect("seed"))
            .map(TicketId)
            .collect();
        assert_eq!(ids.len(), 100_000);
        let report = open_report(store, cast.agent);
        let (from, to) = report.window();
        assert!(to >= now && to - now < TimeDelta::minutes(5));
        let rows = streamed(report);
        let got: Vec<_> = rows
            .iter()
            .map(|t| (t.resolved_at.expect("resolved"), t.id))
            .collect();
        let expected = expected_rows(&batch, &ids, from, to);
        assert!(
            expected.len() > 40_000,
            "the window holds about half the tickets"
        );
        assert_eq!(got.len(), expected.len());
        assert!(
            got == expected,
            "rows differ from the window's tickets in resolvedAt order"
        );
        let first = &rows[0];
        assert_eq!(first.status, TicketStatus::Resolved);
        let seeded = &batch[ids.iter().position(|id| *id == first.id).expect("known id")];
        assert_eq!(first.body, seeded.body);
        assert_eq!(first.subject, seeded.subject);
    }
);

both_backends!(the_report_stops_when_the_reader_does, |db| {
    let store = db.store();
    let cast = cast(db);
    let now = store::now();
    store
        .bulk_load_tickets(&spread_tickets(
            cast.customer.id(),
            cast.agent.id(),
            now,
            2_000,
        ))
        .expect("seed");
    let mut seen = 0;
    let sent = open_report(store, cast.agent)
        .for_each_row(|_| {
            seen += 1;
            seen < 10
        })
        .expect("stream");
    assert_eq!(sent, 10);
    // The connection went back to the pool in a usable state.
    assert!(streamed(open_report(store, cast.agent)).len() > 10);
});

/// The SQL the benchmark hands to the `sqlite3` shell is the report's own
/// query: run as text, it finds the same rows in the same order.
#[test]
fn the_benchmark_sql_is_the_reports_query() {
    use diesel::{Connection, QueryableByName, RunQueryDsl};

    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }

    let db = TestDb::sqlite();
    let store = db.store();
    let cast = cast(&db);
    store
        .bulk_load_tickets(&spread_tickets(
            cast.customer.id(),
            cast.agent.id(),
            store::now(),
            500,
        ))
        .expect("seed");
    let report = open_report(store, cast.agent);
    let sql = report.sqlite_sql();
    assert!(!sql.contains('?'), "{sql}");
    let mut conn =
        diesel::SqliteConnection::establish(&db.url()["sqlite://".len()..]).expect("connect");
    let by_text: Vec<TicketId> = diesel::sql_query(&sql)
        .load::<Row>(&mut conn)
        .expect("the SQL runs")
        .into_iter()
        .map(|row| TicketId(row.id))
        .collect();
    let streamed: Vec<TicketId> = streamed(report).iter().map(|t| t.id).collect();
    assert!(by_text.len() > 100, "{} rows", by_text.len());
    assert_eq!(by_text, streamed);
}
