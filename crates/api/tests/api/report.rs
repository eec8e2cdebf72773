//! The resolved report: who may read it, what it holds, how it is written.

use chrono::{DateTime, TimeDelta, Utc};
use domain::{EventKind, NewEvent, Priority, SlaTargets, TagSet, TicketStatus, UserId};
use store::SeedTicket;

use super::*;

fn user_id(session: &Session) -> UserId {
    UserId(session.id.parse().expect("numeric id"))
}

/// A ticket its customer opened an hour before resolving it, untouched by
/// staff, with the history that says so.
pub fn resolved(
    author: UserId,
    subject: Option<&str>,
    body: &str,
    resolved_at: DateTime<Utc>,
) -> SeedTicket {
    let created_at = resolved_at - TimeDelta::hours(1);
    let event = |kind, at| NewEvent {
        kind,
        actor: author,
        at,
    };
    SeedTicket {
        author,
        subject: subject.map(str::to_owned),
        body: body.to_owned(),
        status: TicketStatus::Resolved,
        created_at,
        updated_at: resolved_at,
        resolved_at: Some(resolved_at),
        priority: Priority::Normal,
        assignee: None,
        tags: TagSet::default(),
        first_response_at: None,
        due: SlaTargets::default().due_times(created_at, Priority::Normal),
        replies: Vec::new(),
        events: vec![
            event(EventKind::Created {}, created_at),
            event(
                EventKind::StatusChanged {
                    from: TicketStatus::Unattended,
                    to: TicketStatus::Resolved,
                },
                resolved_at,
            ),
        ],
    }
}

async fn seed(app: &TestApp, tickets: Vec<SeedTicket>) -> Vec<i64> {
    let store = app.db.store().clone();
    tokio::task::spawn_blocking(move || store.bulk_load_tickets(&tickets))
        .await
        .expect("join")
        .expect("seed")
}

fn rows(answer: &Answer) -> Vec<csv::StringRecord> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(answer.body.as_slice())
        .records()
        .collect::<Result<_, _>>()
        .expect("valid CSV")
}

http_tests! {
    async fn customers_may_not_read_the_report_but_staff_may(app) {
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        let admin = app.admin().await;
        app.get("/api/v1/tickets/resolved-report", &customer)
            .await
            .expect(StatusCode::FORBIDDEN);
        for staff in [&agent, &admin] {
            let answer = app.get("/api/v1/tickets/resolved-report", staff).await;
            assert_eq!(answer.status, StatusCode::OK);
            assert_eq!(
                answer.headers[header::CONTENT_TYPE],
                "text/csv; charset=utf-8"
            );
            let disposition = answer.headers[header::CONTENT_DISPOSITION]
                .to_str()
                .expect("ascii");
            assert!(
                disposition.starts_with("attachment; filename=\"resolved-report-")
                    && disposition.ends_with(".csv\"")
            );
            assert_eq!(
                answer.text(),
                "ticketId,subject,body,status,resolvedAt,createdAt\r\n"
            );
        }
        app.request(Method::GET, "/api/v1/tickets/resolved-report", None, None)
            .await
            .expect(StatusCode::UNAUTHORIZED);
    }
}

http_tests! {
    async fn the_report_holds_the_last_month_in_resolution_order(app) {
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        let author = user_id(&customer);
        let now = Utc::now();
        let ids = seed(
            &app,
            vec![
                resolved(author, Some("recent"), "b1", now - TimeDelta::days(2)),
                resolved(author, Some("too old"), "b2", now - TimeDelta::days(40)),
                resolved(author, Some("older"), "b3", now - TimeDelta::days(20)),
            ],
        )
        .await;
        let open = app.open_ticket(&customer, "still open").await;
        let live = app.open_ticket(&customer, "resolved just now").await;
        app.resolve(&customer, live).await.expect(StatusCode::OK);
        let answer = app.get("/api/v1/tickets/resolved-report", &agent).await;
        let rows = rows(&answer);
        assert_eq!(
            rows[0].iter().collect::<Vec<_>>(),
            [
                "ticketId",
                "subject",
                "body",
                "status",
                "resolvedAt",
                "createdAt"
            ]
        );
        let listed: Vec<i64> = rows[1..]
            .iter()
            .map(|r| r[0].parse().expect("id"))
            .collect();
        assert_eq!(listed, vec![ids[2], ids[0], live]);
        assert!(!listed.contains(&open));
        for row in &rows[1..] {
            assert_eq!(&row[3], "RESOLVED");
            assert!(row[4].ends_with('Z') && row[5].ends_with('Z'));
            assert!(row[5] <= row[4], "createdAt after resolvedAt");
        }
    }
}

/// Formulas a spreadsheet still runs: after a space, a no-break space, a
/// byte-order mark or a vertical tab, in full-width, or as a `|` pipe.
/// Issue 25 (finding 5) adds a left-to-right mark, a right-to-left
/// override, a tag space, a Braille blank, a Hangul filler and a heavy
/// plus sign.
const HIDDEN_FORMULAS: [&str; 12] = [
    " =1+1",
    "\u{a0}=1+1",
    "\u{feff}=1+1",
    "\u{ff1d}1+1",
    "\u{b}=1+1",
    "|calc!A0",
    "\u{200e}=1+1",
    "\u{202e}@SUM(A1)",
    "\u{e0020}=1+1",
    "\u{2800}-1",
    "\u{3164}\u{fe0f}=1+1",
    "\u{2795}1+1",
];

http_tests! {
    async fn cells_are_quoted_and_formulas_neutralised(app) {
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        let at = Utc::now() - TimeDelta::hours(1);
        seed(
            &app,
            vec![
                resolved(
                    user_id(&customer),
                    Some("=HYPERLINK(\"http://x\")"),
                    "line one\nline \"two\", three",
                    at,
                ),
                resolved(
                    user_id(&customer),
                    None,
                    "@SUM(A1)",
                    at + TimeDelta::seconds(1),
                ),
            ]
            .into_iter()
            .chain(HIDDEN_FORMULAS.iter().zip(2..).map(|(body, second)| {
                resolved(user_id(&customer), None, body, at + TimeDelta::seconds(second))
            }))
            .collect(),
        )
        .await;
        let answer = app.get("/api/v1/tickets/resolved-report", &agent).await;
        let rows = rows(&answer);
        assert_eq!(&rows[1][1], "'=HYPERLINK(\"http://x\")");
        assert_eq!(&rows[1][2], "line one\nline \"two\", three");
        assert_eq!(&rows[2][1], "");
        assert_eq!(&rows[2][2], "'@SUM(A1)");
        for (row, body) in rows[3..].iter().zip(HIDDEN_FORMULAS) {
            assert_eq!(row[2], format!("'{body}"), "a formula behind {body:?}");
        }
        assert!(
            answer
                .text()
                .contains("\"line one\nline \"\"two\"\", three\""),
            "RFC 4180 quoting"
        );
    }
}

http_tests! {
    async fn the_report_has_every_row_not_one_page(app) {
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        let now = Utc::now();
        let big_body = "x".repeat(500);
        let tickets: Vec<_> = (0..3_000)
            .map(|i| {
                resolved(
                    user_id(&customer),
                    Some("bulk"),
                    &big_body,
                    now - TimeDelta::seconds(10 + i),
                )
            })
            .collect();
        let ids = seed(&app, tickets).await;
        let answer = app.get("/api/v1/tickets/resolved-report", &agent).await;
        assert!(
            answer.body.len() > 3_000 * 500,
            "several 64 KiB chunks were streamed"
        );
        let listed: Vec<i64> = rows(&answer)[1..]
            .iter()
            .map(|r| r[0].parse().expect("id"))
            .collect();
        let mut expected = ids;
        expected.reverse();
        assert_eq!(listed, expected);
    }
}

http_tests! {
    async fn a_report_that_fails_midway_is_cut_off_not_completed(app) {
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        let now = Utc::now();
        let good: Vec<_> = (0..500)
            .map(|i| {
                resolved(
                    user_id(&customer),
                    Some("fine"),
                    "body",
                    now - TimeDelta::seconds(100 + i),
                )
            })
            .collect();
        seed(&app, good).await;
        // A row the store cannot read, resolved after all the good ones:
        // SQLite takes any text as a time, PostgreSQL an `infinity` that no
        // calendar time can hold.
        let unreadable = match app.db.backend() {
            Backend::Sqlite => "'garbage'",
            Backend::Postgres => "'infinity'",
        };
        let resolved_at = (now - TimeDelta::seconds(5))
            .naive_utc()
            .format("%Y-%m-%d %H:%M:%S%.6f");
        app.db.other_client().execute(&format!(
            "INSERT INTO tickets (subject, body, status, author_id, created_at, updated_at, resolved_at) \
             VALUES ('bad', 'bad', 'RESOLVED', {}, {unreadable}, {unreadable}, '{resolved_at}')",
            customer.id
        ));
        let request = Request::get("/api/v1/tickets/resolved-report")
            .header(header::AUTHORIZATION, format!("Bearer {}", agent.token))
            .body(Body::empty())
            .expect("request");
        let response = app.send_raw(request).await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "the failure comes after the headers"
        );
        assert!(
            response.into_body().collect().await.is_err(),
            "the body must end in an error"
        );
    }
}
