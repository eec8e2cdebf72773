//! Every ticket list is answered by walking an index in the list's order,
//! or, on SQLite, by reading a filter's few matches from its own index and
//! sorting them; never by scanning the table: checked on both engines
//! against the plan each makes for the exact SQL the store sends, recorded
//! from the store's own connections while it serves the list
//! (`record_queries`), so this follows `list_tickets` as it changes.
//!
//! The tables are empty, so every filter matches few tickets: the walks are
//! checked on a store that takes no filter for few (`few_matches: 0`), and
//! the reads of few matches on one with the default.
//!
//! Each case is asked three ways: its first page, a page by number past
//! the first (the `OFFSET` walk, and the count of rows a walk passed), and
//! a page after a cursor (the keyset walk). On SQLite, `EXPLAIN QUERY PLAN`
//! must not `USE TEMP B-TREE` (a sort) nor `SCAN` a table without an index,
//! except `tickets` in id order, which is the walk of its rowid b-tree. On
//! PostgreSQL, with `enable_seqscan` and `enable_sort` off so that the plan
//! shows whether an index path exists at all, whatever the table's size,
//! the generic plan has no `Sort` node and no `Seq Scan`.
//!
//! A future filter that scans will fail this test: every filter of
//! `ListTickets` is taken apart by name in `single_filters`, so a new one
//! does not compile until it has a case there, and that case fails while
//! its list sorts or scans instead of walking an index. The same holds for
//! a change to `list_tickets` that makes any checked list sort or scan.

use chrono::Utc;
use domain::ticket_list::TicketQuery;
use domain::{
    CursorKey, Direction, ListTickets, Paging, Position, Priority, SortField, SortValue, Start,
    TicketStatus,
};
use testkit::{Backend, OtherClient, QueryLog, TestDb, both_backends, record_queries};

use super::*;

fn key() -> CursorKey {
    CursorKey::derive(b"the plan tests' secret, thirty-two bytes or more")
}

/// A list to check: who asks, and the raw values of the request.
#[derive(Debug, Clone, Copy)]
struct Case<'a> {
    actor: Actor,
    query: TicketQuery<'a>,
}

/// Where a cursor of a list sorted by `sort` may stand; the values only
/// need to be of the right kind, as the plans are made for any values.
fn positions(sort: SortField) -> Vec<Position> {
    let at = SortValue::At(Utc::now());
    let values = match sort {
        SortField::TicketId => vec![SortValue::Id],
        SortField::CreatedAt | SortField::UpdatedAt | SortField::ResolutionDueAt => vec![at],
        // Among the resolved tickets, or among the unresolved ones.
        SortField::ResolvedAt => vec![at, SortValue::Unset],
        SortField::Status => vec![SortValue::Status(TicketStatus::Replied)],
        SortField::Priority => vec![SortValue::Priority(Priority::High)],
    };
    values
        .into_iter()
        .map(|value| Position { value, id: 1 })
        .collect()
}

/// The SELECTs of `tickets` in a list order that `case` made the store
/// run, each with what it was part of: the first page, a page by number
/// and a page after each cursor position. The tables are empty, so a list
/// sorted by `resolvedAt` runs both of its walks.
fn walks(store: &Store, log: &QueryLog, case: Case<'_>) -> Vec<(String, String)> {
    let parse = |paging: Paging<'_>| {
        ListTickets::parse(
            TicketQuery {
                paging,
                ..case.query
            },
            case.actor,
            &key(),
        )
        .expect("a valid request")
    };
    let first = parse(Paging::default());
    let mut asked = vec![
        ("first page".to_owned(), first.clone()),
        (
            "page 3".to_owned(),
            parse(Paging {
                page: Some("3"),
                ..Paging::default()
            }),
        ),
    ];
    for position in positions(first.sort) {
        let cursor = key().seal(first.page.binding(), position);
        asked.push((
            format!("after {:?}", position.value),
            parse(Paging {
                cursor: Some(&cursor),
                ..Paging::default()
            }),
        ));
    }
    let mut found = Vec::new();
    for (what, request) in asked {
        log.take();
        store
            .list_tickets(case.actor, &request)
            .expect("list tickets");
        let statements: Vec<String> = log
            .take()
            .into_iter()
            .map(|sql| sql.replace('`', "\""))
            .filter(|sql| sql.starts_with("SELECT") && sql.contains(" FROM \"tickets\""))
            .filter(|sql| sql.contains(" ORDER BY "))
            .collect();
        let both_walks = request.sort == SortField::ResolvedAt
            && !matches!(
                request.page.start(),
                Start::After(Position {
                    value: SortValue::Unset,
                    ..
                })
            );
        let expected = if both_walks { 2 } else { 1 };
        assert!(
            statements.len() >= expected,
            "{what} of {case:?}: {} walks recorded, {expected} expected: {statements:#?}",
            statements.len()
        );
        found.extend(statements.into_iter().map(|sql| (what.clone(), sql)));
    }
    found
}

/// Whether `sql` is ordered by the ticket id alone.
fn in_id_order(sql: &str) -> bool {
    let Some((_, order)) = sql.split_once(" ORDER BY ") else {
        return false;
    };
    let order = order.split(" LIMIT ").next().unwrap_or(order);
    order == "\"tickets\".\"id\" ASC" || order == "\"tickets\".\"id\" DESC"
}

/// What in `plan` sorts or scans, if anything.
fn faults(backend: Backend, sql: &str, plan: &[String]) -> Vec<String> {
    plan.iter()
        .filter(|line| match backend {
            Backend::Sqlite => {
                let bare_scan = line.starts_with("SCAN ")
                    && !line.contains(" USING ")
                    && !line.contains("VIRTUAL TABLE")
                    && !line.contains("CONSTANT ROW");
                line.contains("TEMP B-TREE")
                    || (bare_scan && !(line.as_str() == "SCAN tickets" && in_id_order(sql)))
            }
            Backend::Postgres => {
                let node = line.trim_start().trim_start_matches("->").trim_start();
                let name = node.split("  (").next().unwrap_or(node);
                name == "Sort" || name == "Incremental Sort" || name.starts_with("Seq Scan")
            }
        })
        .cloned()
        .collect()
}

/// How a plan may answer a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Along an index in the list's order: no sort, no scan.
    Walk,
    /// On SQLite, a search of a filter's own index, its matches sorted;
    /// on PostgreSQL (which plans for itself), a walk.
    FewSorted,
}

/// The plans of every walk of `cases` that break `expect`, as text to read.
fn unexpected(
    db: &TestDb,
    store: &Store,
    cases: &[(String, Case<'_>)],
    expect: Expect,
) -> Vec<String> {
    let log = record_queries(store);
    let mut client: OtherClient = db.other_client();
    if db.backend() == Backend::Postgres {
        client.execute("SET enable_seqscan = off; SET enable_sort = off");
    }
    let mut failures = Vec::new();
    for (name, case) in cases {
        for (what, sql) in walks(store, &log, *case) {
            let plan = client.explain(&sql);
            let faults = faults(db.backend(), &sql, &plan);
            let broken = match expect {
                Expect::Walk => !faults.is_empty(),
                Expect::FewSorted => match db.backend() {
                    Backend::Sqlite => {
                        faults.iter().any(|fault| !fault.contains("TEMP B-TREE"))
                            || !plan.first().is_some_and(|line| line.starts_with("SEARCH "))
                    }
                    Backend::Postgres => !faults.is_empty(),
                },
            };
            if broken {
                failures.push(format!(
                    "{name}, {what}:\n  {sql}\n    {}",
                    plan.join("\n    ")
                ));
            }
        }
    }
    failures
}

/// Every list of `cases` walks an index in its order.
fn assert_indexed(db: &TestDb, cases: &[(String, Case<'_>)]) {
    assert_answered(db, &walking_store(db), cases, Expect::Walk);
}

fn assert_answered(db: &TestDb, store: &Store, cases: &[(String, Case<'_>)], expect: Expect) {
    let failures = unexpected(db, store, cases, expect);
    assert!(
        failures.is_empty(),
        "{} of these lists break {expect:?} on {:?}:\n{}",
        failures.len(),
        db.backend(),
        failures.join("\n\n")
    );
}

const DIRECTIONS: [Direction; 2] = [Direction::Ascending, Direction::Descending];

/// `base` sorted by each of `sorts`, in both directions.
fn sorted<'a>(
    name: &str,
    actor: Actor,
    base: TicketQuery<'a>,
    sorts: &[SortField],
) -> Vec<(String, Case<'a>)> {
    let mut cases = Vec::new();
    for &sort in sorts {
        for direction in DIRECTIONS {
            cases.push((
                format!("{name} by {} {}", sort.as_str(), direction.as_str()),
                Case {
                    actor,
                    query: TicketQuery {
                        sort: Some(sort.as_str()),
                        direction: Some(direction.as_str()),
                        ..base
                    },
                },
            ));
        }
    }
    cases
}

/// One request per filter a ticket list takes, each alone, as raw values.
/// The filters of `ListTickets` are taken apart by name, so one added there
/// does not compile here until it has its cases.
fn single_filters(assignee: &str) -> Vec<(&'static str, TicketQuery<'_>)> {
    let ListTickets {
        page: _,
        sort: _,
        direction: _,
        status: _,
        priority: _,
        assignee: _,
        tag: _,
        search: _,
        breached: _,
    } = ListTickets::default();
    let mut filters: Vec<(&'static str, TicketQuery<'_>)> = Vec::new();
    // status
    for status in TicketStatus::ALL {
        filters.push((
            "status",
            TicketQuery {
                status: Some(status.as_str()),
                ..TicketQuery::default()
            },
        ));
    }
    // priority
    filters.push((
        "priority",
        TicketQuery {
            priority: Some("URGENT"),
            ..TicketQuery::default()
        },
    ));
    // assignee: a user, the caller and nobody.
    for assignee in [assignee, "me", "none"] {
        filters.push((
            "assignee",
            TicketQuery {
                assignee: Some(assignee),
                ..TicketQuery::default()
            },
        ));
    }
    // tag
    filters.push((
        "tag",
        TicketQuery {
            tag: Some("vip"),
            ..TicketQuery::default()
        },
    ));
    // search
    filters.push((
        "q",
        TicketQuery {
            q: Some("printer"),
            ..TicketQuery::default()
        },
    ));
    // breached, both ways
    for breached in ["true", "false"] {
        filters.push((
            "breached",
            TicketQuery {
                breached: Some(breached),
                ..TicketQuery::default()
            },
        ));
    }
    filters
}

both_backends!(every_sort_walks_an_index, |db| {
    let cast = cast(db);
    let cases = sorted(
        "every ticket",
        cast.agent,
        TicketQuery::default(),
        &SortField::ALL,
    );
    assert_indexed(db, &cases);
});

both_backends!(a_customers_own_tickets_walk_an_index, |db| {
    let cast = cast(db);
    let cases = sorted(
        "a customer's own",
        cast.customer,
        TicketQuery::default(),
        &SortField::ALL,
    );
    assert_indexed(db, &cases);
});

both_backends!(
    a_priority_or_an_assignee_walks_an_index_in_every_sort,
    |db| {
        let cast = cast(db);
        let agent_id = cast.agent.id().0.to_string();
        let mut cases = Vec::new();
        for priority in Priority::ALL {
            cases.extend(sorted(
                priority.as_str(),
                cast.agent,
                TicketQuery {
                    priority: Some(priority.as_str()),
                    ..TicketQuery::default()
                },
                &SortField::ALL,
            ));
        }
        for assignee in ["me", "none", agent_id.as_str()] {
            cases.extend(sorted(
                &format!("assignee {assignee}"),
                cast.agent,
                TicketQuery {
                    assignee: Some(assignee),
                    ..TicketQuery::default()
                },
                &SortField::ALL,
            ));
        }
        assert_indexed(db, &cases);
    }
);

both_backends!(a_status_walks_an_index_in_every_sort, |db| {
    let cast = cast(db);
    let mut cases = Vec::new();
    for status in TicketStatus::ALL {
        cases.extend(sorted(
            status.as_str(),
            cast.agent,
            TicketQuery {
                status: Some(status.as_str()),
                ..TicketQuery::default()
            },
            &SortField::ALL,
        ));
    }
    assert_indexed(db, &cases);
});

both_backends!(each_filter_walks_an_index_in_id_order, |db| {
    let cast = cast(db);
    let agent_id = cast.agent.id().0.to_string();
    let mut cases = Vec::new();
    for (name, query) in single_filters(&agent_id) {
        cases.extend(sorted(name, cast.agent, query, &[SortField::TicketId]));
    }
    assert_indexed(db, &cases);
});

both_backends!(
    a_filter_matching_few_tickets_reads_them_from_its_own_index,
    |db| {
        // Empty tables: every filter matches fewer than `few_matches`, so a
        // filter without an index in the list's order is read from its own
        // index and its matches sorted (on SQLite; PostgreSQL plans for
        // itself and still walks). Never a scan of the table.
        let cast = cast(db);
        let agent_id = cast.agent.id().0.to_string();
        let mut cases = sorted(
            "a customer's own",
            cast.customer,
            TicketQuery::default(),
            &SortField::ALL,
        );
        // Not the search (its own breadth decides), the status (an index
        // in every order) nor `breached=false` (no index answers it).
        for (name, query) in single_filters(&agent_id) {
            if !matches!(name, "q" | "status") && query.breached != Some("false") {
                cases.extend(sorted(name, cast.agent, query, &SortField::ALL));
            }
        }
        assert_answered(db, db.store(), &cases, Expect::FewSorted);
    }
);

both_backends!(
    of_two_filters_in_the_lists_order_the_one_with_fewer_matches_drives,
    |db| {
        // A customer's resolved tickets by latest change: both the
        // customer's index and the status's are in that order; walking
        // every resolved ticket for one customer's few would pass most of
        // the table, so the customer's index must drive (SQLite; on
        // PostgreSQL the planner chooses).
        if db.backend() != Backend::Sqlite {
            return;
        }
        let cast = cast(db);
        for _ in 0..3 {
            open(db.store(), cast.other_customer, "someone else's ticket");
        }
        let store = walking_store(db);
        let log = record_queries(&store);
        let mut client = db.other_client();
        let case = Case {
            actor: cast.customer,
            query: TicketQuery {
                status: Some("UNATTENDED"),
                sort: Some("updatedAt"),
                direction: Some("desc"),
                ..TicketQuery::default()
            },
        };
        for (what, sql) in walks(&store, &log, case) {
            let plan = client.explain(&sql);
            assert!(
                plan.iter()
                    .any(|line| line.contains("USING INDEX tickets_author_updated_at")),
                "{what}: {sql}\n    {}",
                plan.join("\n    ")
            );
        }
    }
);

both_backends!(the_check_sees_a_sort_and_a_scan, |db| {
    // Nothing indexes `body`, so ordering by it sorts; a table without an
    // index can only be scanned.
    let mut client = db.other_client();
    client.execute("CREATE TEMPORARY TABLE unindexed (x INTEGER)");
    if db.backend() == Backend::Postgres {
        client.execute("SET enable_seqscan = off; SET enable_sort = off");
    }
    for sql in [
        "SELECT \"tickets\".\"id\" FROM \"tickets\" ORDER BY \"tickets\".\"body\" ASC LIMIT 5",
        "SELECT x FROM unindexed WHERE x = 1",
    ] {
        let plan = client.explain(sql);
        assert!(
            !faults(db.backend(), sql, &plan).is_empty(),
            "{sql}: {plan:#?}"
        );
    }
});

both_backends!(the_breach_gauge_counts_over_its_partial_index, |db| {
    // The list indexes must not lure the planner away from the index made
    // for this count: over `tickets_resolved_at` it looked up every open
    // ticket (197 ms at a million tickets on SQLite, against 11 ms).
    let store = db.store();
    let log = record_queries(store);
    let mut client = db.other_client();
    if db.backend() == Backend::Postgres {
        client.execute("SET enable_seqscan = off; SET enable_sort = off");
    }
    store.open_tickets_in_breach().expect("count");
    let counts: Vec<String> = log
        .take()
        .into_iter()
        .filter(|sql| sql.contains("COUNT("))
        .collect();
    assert_eq!(counts.len(), 1, "{counts:#?}");
    let plan = client.explain(&counts[0]);
    assert!(
        plan.iter()
            .any(|line| line.contains("tickets_open_sla_breach_at")),
        "{:?}: {}\n    {}",
        db.backend(),
        counts[0],
        plan.join("\n    ")
    );
});
