//! Search over HTTP: `q` on `GET /tickets`, with what each role may find,
//! the words of the query taken whatever the punctuation around them, and
//! its one refusal.

use super::*;

/// The ticketIds of a list answer, checking `meta.total` against the page.
async fn found(app: &TestApp, session: &Session, query: &str) -> Vec<i64> {
    let path = format!("/api/v1/tickets?limit=100&count=true&{query}");
    let answer = app.get(&path, session).await.expect(StatusCode::OK).json();
    let items = answer["data"].as_array().expect("data");
    assert_eq!(answer["meta"]["total"], items.len(), "{answer}");
    assert_eq!(answer["meta"]["nextCursor"], Value::Null, "{answer}");
    items
        .iter()
        .map(|t| t["ticketId"].as_i64().expect("ticketId"))
        .collect()
}

/// `q` as a query string value.
fn q(words: &str) -> String {
    let mut encoded = String::from("q=");
    for byte in words.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => encoded.push(char::from(byte)),
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

http_tests! {
    async fn q_finds_whole_words_in_text_the_caller_may_see(app) {
        let customer = app.customer("kayode").await;
        let other = app.customer("tolu").await;
        let agent = app.agent().await;
        let printer = app.open_ticket(&customer, "Printer on FIRE in the Straße office").await;
        let cafe = app.open_ticket(&customer, "Café machine leaks").await;
        let others = app.open_ticket(&other, "printer jam").await;
        app.reply(&agent, printer, "Replaced the toner").await.expect(StatusCode::CREATED);
        app.post(
            &format!("/api/v1/tickets/{printer}/replies"),
            &agent,
            json!({"body": "vendor escalation", "internal": true}),
        )
        .await
        .expect(StatusCode::CREATED);

        assert_eq!(found(&app, &agent, &q("printer")).await, [printer, others]);
        assert_eq!(found(&app, &agent, &q("PRINTER toner")).await, [printer]);
        assert_eq!(found(&app, &agent, &q("straße")).await, [printer]);
        assert_eq!(found(&app, &agent, &q("strasse")).await, Vec::<i64>::new());
        assert_eq!(found(&app, &agent, &q("CAFÉ")).await, [cafe]);
        assert_eq!(found(&app, &agent, &q("cafe")).await, Vec::<i64>::new());
        assert_eq!(found(&app, &agent, &q("print")).await, Vec::<i64>::new());
        // Notes: staff only.
        assert_eq!(found(&app, &agent, &q("escalation")).await, [printer]);
        assert_eq!(found(&app, &customer, &q("escalation")).await, Vec::<i64>::new());
        // A customer searches only their own tickets.
        assert_eq!(found(&app, &customer, &q("printer")).await, [printer]);
        assert_eq!(found(&app, &other, &q("printer")).await, [others]);
        // Combined with a filter and a sort.
        let replied = format!("{}&status=REPLIED", q("printer"));
        assert_eq!(found(&app, &agent, &replied).await, [printer]);
        let newest = format!("{}&direction=desc", q("printer"));
        assert_eq!(found(&app, &agent, &newest).await, [others, printer]);
    }

    async fn punctuation_in_q_is_only_a_separator(app) {
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        let ticket = app.open_ticket(&customer, "printer jam").await;
        let everything = found(&app, &agent, "").await;
        for words in [
            "\"printer\"",
            "printer*",
            "printer:A",
            "(printer)",
            "printer & !jam",
            "NEAR(printer jam)",
            "'; DROP TABLE tickets; --",
            "%_\\",
            "\u{0}printer",
        ] {
            let ids = found(&app, &agent, &q(words)).await;
            let expected = domain::SearchQuery::parse(words)
                .expect("valid")
                .map_or(everything.clone(), |query| {
                    if query.words().iter().all(|w| ["printer", "jam"].contains(&w.as_str())) {
                        vec![ticket]
                    } else {
                        vec![]
                    }
                });
            assert_eq!(ids, expected, "q={words:?}");
        }
        // No words at all: no filter.
        assert_eq!(found(&app, &agent, &q(" !?*-")).await, everything);
        assert_eq!(found(&app, &agent, "q=").await, everything);
    }

    async fn a_query_of_too_many_words_is_refused_by_name(app) {
        let agent = app.agent().await;
        let words: Vec<String> = (0..33).map(|i| format!("w{i}")).collect();
        let answer = app
            .get(&format!("/api/v1/tickets?{}", q(&words.join(" "))), &agent)
            .await
            .expect(StatusCode::BAD_REQUEST)
            .json();
        assert!(answer["message"].as_str().is_some_and(|m| m.contains('q')), "{answer}");
        found(&app, &agent, &q(&words[1..].join(" "))).await;
    }
}
