use chrono::{DateTime, TimeDelta, Utc};
use domain::rules::report_window;
use domain::{Ticket, TicketStatus};
use store::{SeedReply, SeedTicket, both_backends};

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
                updated_at: resolved_at,
                resolved_at: resolved.then_some(resolved_at),
                replies: vec![SeedReply {
                    author: agent,
                    body: "on it".to_owned(),
                    created_at,
                }],
            }
        })
        .collect()
}

fn expected_rows(
    all: &[SeedTicket],
    ids: &[i64],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, i64)> {
    let mut rows: Vec<_> = all
        .iter()
        .zip(ids)
        .filter_map(|(t, id)| t.resolved_at.map(|at| (at, *id)))
        .filter(|(at, _)| *at >= from && *at <= to)
        .collect();
    rows.sort();
    rows
}

fn streamed(store: &Store, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Ticket> {
    let mut rows = Vec::new();
    let sent = store
        .for_each_resolved(from, to, |ticket| {
            rows.push(ticket);
            true
        })
        .expect("stream");
    assert_eq!(sent, rows.len() as u64);
    rows
}

both_backends!(
    the_report_streams_exactly_the_window_in_resolution_order,
    |db| {
        let store = db.store();
        let cast = cast(db);
        let now = store::now();
        let batch = spread_tickets(cast.customer.id, cast.agent.id, now, 100_000);
        let ids: Vec<i64> = batch
            .chunks(10_000)
            .flat_map(|chunk| store.insert_seed_batch(chunk).expect("seed"))
            .collect();
        assert_eq!(ids.len(), 100_000);
        let (from, to) = report_window(now);
        let rows = streamed(store, from, to);
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
        .insert_seed_batch(&spread_tickets(cast.customer.id, cast.agent.id, now, 2_000))
        .expect("seed");
    let (from, to) = report_window(now);
    let mut seen = 0;
    let sent = store
        .for_each_resolved(from, to, |_| {
            seen += 1;
            seen < 10
        })
        .expect("stream");
    assert_eq!(sent, 10);
    // The connection went back to the pool in a usable state.
    assert!(!streamed(store, from, to).is_empty());
});
