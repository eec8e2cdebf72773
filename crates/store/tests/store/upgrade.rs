//! Upgrading a database from before the workflow (reverting the
//! migrations of tickets since, the list indexes and the SLA sweep's
//! included): its tickets get the
//! workflow fields, a history that replays to what their rows say, their
//! search words and their breach times.

use chrono::{DateTime, NaiveDateTime, Utc};
use domain::history::replay;
use domain::{
    EventKind, ListTickets, PageRequest, Priority, SearchQuery, SlaTargets, TicketId, TicketStatus,
};
use store::{DatabaseUrl, StoreOptions};
use testkit::fingerprint::fingerprint;
use testkit::{Backend, both_backends};

use super::*;

const SQLITE_DOWN: [&str; 5] = [
    include_str!("../../../../migrations/sqlite/2026-12-07-000016_notifications/down.sql"),
    include_str!("../../../../migrations/sqlite/2026-12-07-000011_chosen_indexes/down.sql"),
    include_str!("../../../../migrations/sqlite/2026-11-27-000008_list_indexes/down.sql"),
    include_str!("../../../../migrations/sqlite/2026-11-27-000007_search/down.sql"),
    include_str!("../../../../migrations/sqlite/2026-11-27-000006_workflow/down.sql"),
];
const POSTGRES_DOWN: [&str; 5] = [
    include_str!("../../../../migrations/postgres/2026-12-07-000016_notifications/down.sql"),
    include_str!("../../../../migrations/postgres/2026-12-07-000011_chosen_indexes/down.sql"),
    include_str!("../../../../migrations/postgres/2026-11-27-000008_list_indexes/down.sql"),
    include_str!("../../../../migrations/postgres/2026-11-27-000007_search/down.sql"),
    include_str!("../../../../migrations/postgres/2026-11-27-000006_workflow/down.sql"),
];

fn at(text: &str) -> DateTime<Utc> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .expect("timestamp")
        .and_utc()
}

both_backends!(
    tickets_from_before_the_workflow_get_a_history_that_replays_to_their_rows,
    |db| {
        let cast = cast(db);
        let (customer, agent) = (cast.customer.id().0, cast.agent.id().0);
        let mut client = db.other_client();
        for down in match db.backend() {
            Backend::Sqlite => SQLITE_DOWN,
            Backend::Postgres => POSTGRES_DOWN,
        } {
            client.execute(down);
        }
        client.execute(
            "DELETE FROM __diesel_schema_migrations WHERE version LIKE '%000006' OR version LIKE '%000007' OR version LIKE '%000008' OR version LIKE '%000011' OR version LIKE '%000016'",
        );
        // Rows as the previous version wrote them: an answered and resolved
        // ticket, an untouched one, and one its customer resolved unanswered.
        client.execute(&format!(
        "INSERT INTO tickets (subject, body, status, author_id, created_at, updated_at, resolved_at) VALUES
           (NULL, 'answered', 'RESOLVED', {customer}, '2026-01-01 10:00:00', '2026-01-01 13:00:00', '2026-01-01 13:00:00'),
           (NULL, 'untouched', 'UNATTENDED', {customer}, '2026-01-02 10:00:00', '2026-01-02 10:00:00', NULL),
           (NULL, 'withdrawn', 'RESOLVED', {customer}, '2026-01-03 10:00:00', '2026-01-03 11:00:00', '2026-01-03 11:00:00');
         INSERT INTO replies (ticket_id, author_id, body, created_at, updated_at) VALUES
           (1, {agent}, 'first answer', '2026-01-01 11:00:00', '2026-01-01 11:00:00'),
           (1, {customer}, 'thanks', '2026-01-01 12:00:00', '2026-01-01 12:00:00'),
           (1, {agent}, 'second answer', '2026-01-01 12:30:00', '2026-01-01 12:30:00');"
    ));
        drop(client);

        // Connecting applies the workflow and search migrations again, to
        // these rows, and computes their search words and breach times.
        let url = DatabaseUrl::parse(&db.url()).expect("url");
        let upgraded = Store::connect(&url, StoreOptions::default()).expect("upgrade");
        let history = |ticket_id: TicketId| -> Vec<EventKind> {
            let page = PageRequest::new(1, 100).expect("page");
            let events = upgraded
                .list_events(cast.agent, ticket_id, page)
                .expect("events");
            events.items.into_iter().map(|event| event.kind).collect()
        };
        let targets = SlaTargets::default();
        for (id, created, first_response, status) in [
            (
                TicketId(1),
                "2026-01-01 10:00:00",
                Some("2026-01-01 11:00:00"),
                TicketStatus::Resolved,
            ),
            (
                TicketId(2),
                "2026-01-02 10:00:00",
                None,
                TicketStatus::Unattended,
            ),
            (
                TicketId(3),
                "2026-01-03 10:00:00",
                None,
                TicketStatus::Resolved,
            ),
        ] {
            let ticket = upgraded.read_ticket(cast.agent, id).expect("ticket");
            let stored_breach = fingerprint(&upgraded).expect("fingerprint").breach_times;
            assert!(
                stored_breach.contains(&(id.0, ticket.sla_breach_time().map(|t| t.naive_utc()))),
                "ticket {id}: {stored_breach:?}"
            );
            assert_eq!(ticket.status, status);
            assert_eq!(ticket.priority, Priority::Normal);
            assert_eq!(ticket.assignee, None);
            assert_eq!(ticket.tags.as_ref().map(|t| t.len()), Some(0));
            assert_eq!(ticket.first_response_at, first_response.map(at));
            assert_eq!(ticket.due, targets.due_times(at(created), Priority::Normal));
            let events = history(id);
            assert_eq!(events.first(), Some(&EventKind::Created {}));
            assert_eq!(
                replay(&events).status,
                Some(status),
                "ticket {id}: {events:?}"
            );
        }
        let replies = upgraded
            .list_replies(cast.agent, TicketId(1), PageRequest::default())
            .expect("replies");
        let reply_ids: Vec<i64> = replies.items.iter().map(|r| r.id).collect();
        assert!(
            replies.items.iter().all(|r| !r.internal),
            "old replies were public"
        );
        assert_eq!(
            history(TicketId(1)),
            vec![
                EventKind::Created {},
                EventKind::Replied {
                    reply_id: reply_ids[0]
                },
                EventKind::StatusChanged {
                    from: TicketStatus::Unattended,
                    to: TicketStatus::Replied
                },
                EventKind::Replied {
                    reply_id: reply_ids[1]
                },
                EventKind::Replied {
                    reply_id: reply_ids[2]
                },
                EventKind::StatusChanged {
                    from: TicketStatus::Replied,
                    to: TicketStatus::Resolved
                },
            ]
        );
        let found = |q: &str| -> Vec<TicketId> {
            let request = ListTickets {
                search: SearchQuery::parse(q).expect("query"),
                ..ListTickets::default()
            };
            let page = upgraded.list_tickets(cast.agent, &request).expect("search");
            page.items.iter().map(|ticket| ticket.id).collect()
        };
        assert_eq!(found("ANSWER"), [TicketId(1)], "an old reply is searchable");
        assert_eq!(found("withdrawn"), [TicketId(3)]);
        assert_eq!(found("untouched thanks"), Vec::<TicketId>::new());
        let queued = fingerprint(&upgraded)
            .expect("fingerprint")
            .search_words
            .len();
        assert_eq!(queued, 3, "every ticket has its words");
        assert_eq!(
            history(TicketId(3)),
            vec![
                EventKind::Created {},
                EventKind::StatusChanged {
                    from: TicketStatus::Unattended,
                    to: TicketStatus::Resolved
                },
            ]
        );
    }
);
