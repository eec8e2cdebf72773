//! Full-text search: the words of each ticket, kept in the transaction of
//! every write that changes its text, and the one place that knows how each
//! engine searches them.
//!
//! Both engines index the words `domain::search` produced, never the raw
//! text. The user's words reach the engine only as one bound parameter, a
//! query this module writes with each word quoted; a word is letters and
//! digits only, so nothing the user typed is ever read as query syntax.

use std::collections::HashMap;

use diesel::dsl::{AsExprOf, sql};
use diesel::expression::{SqlLiteral, UncheckedBind};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};
use domain::audience::Audience;
use domain::search::SearchDocument;
use domain::{SearchQuery, Ticket, TicketDocuments};

use crate::connection::{DbConnection, Locked, lock_rows, on_backend, write_transaction};
use crate::error::StoreResult;
use crate::prepared::ReplaceWords;
use crate::rows::{TICKET_COLUMNS, TicketRow};
use crate::schema::{replies, ticket_reindex, ticket_search_words, tickets};
use crate::sla::breach_column;

/// Tickets reindexed per transaction after a migration queued them.
const REINDEX_BATCH: i64 = 500;

/// Rows per multi-row INSERT of words (3 columns).
const WORDS_PER_INSERT: usize = 8_000;

/// A condition on `tickets.id`: the ticket has every word of `query` in
/// what `audience` may search (its public text; staff also its notes).
pub(crate) type SearchCondition =
    SqlLiteral<Bool, UncheckedBind<SqlLiteral<Bool>, AsExprOf<String, Text>>>;

/// How a search condition is best answered, by how many tickets have the
/// words (see [`breadth`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Breadth {
    /// Few tickets match: look them up from the index and sort them.
    Few,
    /// Many match: walk the list's own index in its order and keep the
    /// tickets that match, until the page is full; a page of a common word
    /// is found after a few rows, not after sorting every match.
    Many,
}

/// Matches past which a word counts as common: walking the list's index
/// then reads about `page × tickets / matches` rows, fewer than looking up
/// and sorting the matches (at 100,000 tickets and a page of 26, the two
/// cost the same near 1,600 matches).
pub(crate) const COMMON_WORD_MATCHES: i64 = 1_000;

/// Whether more than [`COMMON_WORD_MATCHES`] tickets have every word of
/// `query`. SQLite counts them in the index and stops there (a millisecond
/// at most). PostgreSQL asks its planner's estimate (a tenth of a
/// millisecond, where counting took 4): its statistics know the common
/// words well, and take any word they do not know for a rare one (an
/// estimate of 0.5 % of the tickets), which is the safe plan for it.
pub(crate) fn breadth(
    conn: &mut DbConnection,
    query: &SearchQuery,
    audience: Audience,
) -> StoreResult<Breadth> {
    #[derive(QueryableByName)]
    struct Matches {
        #[diesel(sql_type = BigInt)]
        count: i64,
    }
    #[derive(QueryableByName)]
    struct PlanLine {
        #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
        text: String,
    }
    let engine_query = engine_query(conn, query, audience);
    let matches = match conn {
        DbConnection::Sqlite(sqlite) => {
            let counted: Matches = diesel::sql_query(
                "SELECT count(*) AS count FROM (SELECT 1 FROM ticket_search \
                 WHERE ticket_search MATCH ? LIMIT ?)",
            )
            .bind::<Text, _>(engine_query)
            .bind::<BigInt, _>(COMMON_WORD_MATCHES + 1)
            .get_result(sqlite)?;
            counted.count
        }
        DbConnection::Pg(pg) => {
            let plan: Vec<PlanLine> = diesel::sql_query(
                "EXPLAIN SELECT 1 FROM ticket_search_words \
                 WHERE document @@ to_tsquery('simple', $1)",
            )
            .bind::<Text, _>(engine_query)
            .load(pg)?;
            plan.first()
                .and_then(|line| estimated_rows(&line.text))
                .unwrap_or(0)
        }
    };
    Ok(match matches > COMMON_WORD_MATCHES {
        true => Breadth::Many,
        false => Breadth::Few,
    })
}

/// The rows a line of PostgreSQL's `EXPLAIN` estimates (`... rows=9807 ...`).
fn estimated_rows(plan_line: &str) -> Option<i64> {
    let (_, after) = plan_line.split_once(" rows=")?;
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

pub(crate) fn matching(
    conn: &DbConnection,
    query: &SearchQuery,
    audience: Audience,
    breadth: Breadth,
) -> SearchCondition {
    let engine_query = engine_query(conn, query, audience);
    match (conn, breadth) {
        (DbConnection::Sqlite(_), Breadth::Few) => {
            sql::<Bool>("tickets.id IN (SELECT rowid FROM ticket_search WHERE ticket_search MATCH ")
                .bind::<Text, _>(engine_query)
                .sql(")")
        }
        // The unary `+` keeps SQLite from driving the query from the
        // matches: it walks the index of the list's order instead and
        // tests each ticket against the matches, gathered once.
        (DbConnection::Sqlite(_), Breadth::Many) => sql::<Bool>(
            "+tickets.id IN (SELECT rowid FROM ticket_search WHERE ticket_search MATCH ",
        )
        .bind::<Text, _>(engine_query)
        .sql(")"),
        // The matching ids as an array computed first, from the GIN index:
        // as a plain `IN`, the planner (whose statistics only know the
        // commonest words) walks the tickets in order and tests each
        // document for a word it guesses is common, which for a rare word
        // is a scan of the table.
        (DbConnection::Pg(_), Breadth::Few) => sql::<Bool>(
            "tickets.id = ANY(ARRAY(SELECT ticket_id FROM ticket_search_words \
             WHERE document @@ to_tsquery('simple', ",
        )
        .bind::<Text, _>(engine_query)
        .sql(")))"),
        // For a common word that walk is the fast plan: each ticket's words
        // are one primary-key probe, and the page fills within a few rows.
        (DbConnection::Pg(_), Breadth::Many) => sql::<Bool>(
            "EXISTS (SELECT 1 FROM ticket_search_words \
             WHERE ticket_search_words.ticket_id = tickets.id \
             AND document @@ to_tsquery('simple', ",
        )
        .bind::<Text, _>(engine_query)
        .sql("))"),
    }
}

/// How many tickets have every word of `query` in what `audience` may
/// search, counted in the index alone: exact when no other filter applies
/// (every ticket has one row of words), and far cheaper than counting
/// tickets looked up one by one when the words are common.
pub(crate) fn count_matching(
    conn: &mut DbConnection,
    query: &SearchQuery,
    audience: Audience,
) -> StoreResult<u64> {
    #[derive(QueryableByName)]
    struct Matches {
        #[diesel(sql_type = BigInt)]
        count: i64,
    }
    let engine_query = engine_query(conn, query, audience);
    let matches: Matches = match conn {
        DbConnection::Sqlite(sqlite) => diesel::sql_query(
            "SELECT count(*) AS count FROM ticket_search WHERE ticket_search MATCH ?",
        )
        .bind::<Text, _>(engine_query)
        .get_result(sqlite)?,
        DbConnection::Pg(pg) => diesel::sql_query(
            "SELECT count(*) AS count FROM ticket_search_words \
             WHERE document @@ to_tsquery('simple', $1)",
        )
        .bind::<Text, _>(engine_query)
        .get_result(pg)?,
    };
    Ok(matches.count.unsigned_abs())
}

/// The engine's query for `query`: every word quoted, all required. On
/// SQLite an FTS5 expression, a customer's words only in the public column;
/// on PostgreSQL a `tsquery`, a customer's words only among the public
/// ones, which weigh A.
fn engine_query(conn: &DbConnection, query: &SearchQuery, audience: Audience) -> String {
    let with_notes = audience.sees_notes();
    let (quote, separator): (fn(&str) -> String, &str) = match (conn, with_notes) {
        (DbConnection::Sqlite(_), true) => (|word| format!("\"{word}\""), " AND "),
        (DbConnection::Sqlite(_), false) => (|word| format!("public_words : \"{word}\""), " AND "),
        (DbConnection::Pg(_), true) => (|word| format!("'{word}'"), " & "),
        (DbConnection::Pg(_), false) => (|word| format!("'{word}':A"), " & "),
    };
    let terms: Vec<String> = query.words().iter().map(|word| quote(word)).collect();
    terms.join(separator)
}

/// Stores the words of new tickets (or of tickets reindexed).
pub(crate) fn insert_documents(
    conn: &mut DbConnection,
    documents: &[(i64, TicketDocuments)],
) -> StoreResult<()> {
    let texts: Vec<(i64, String, String)> = documents
        .iter()
        .map(|(id, docs)| (*id, docs.public.as_text(), docs.notes.as_text()))
        .collect();
    let rows: Vec<_> = texts
        .iter()
        .map(|(id, public, notes)| {
            (
                ticket_search_words::ticket_id.eq(*id),
                ticket_search_words::public_words.eq(public.as_str()),
                ticket_search_words::note_words.eq(notes.as_str()),
            )
        })
        .collect();
    for part in rows.chunks(WORDS_PER_INSERT) {
        let insert = diesel::insert_into(ticket_search_words::table).values(part);
        on_backend!(&mut *conn, |c| insert.execute(c)?);
    }
    Ok(())
}

/// Stores the words of one new ticket: a single-row `INSERT`, which Diesel
/// prepares once per connection (a multi-row one it prepares every time).
pub(crate) fn insert_document(
    conn: &mut DbConnection,
    ticket_id: i64,
    documents: &TicketDocuments,
) -> StoreResult<()> {
    diesel::insert_into(ticket_search_words::table)
        .values((
            ticket_search_words::ticket_id.eq(ticket_id),
            ticket_search_words::public_words.eq(documents.public.as_text()),
            ticket_search_words::note_words.eq(documents.notes.as_text()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Adds a reply's words to its ticket's documents, in the caller's
/// transaction (which holds the ticket); `words` are the ticket's stored
/// words as read with it (see `replies::lock_ticket_with_words`), `None`
/// when it has none yet. Writes only when a word is new.
pub(crate) fn add_reply_words(
    conn: &mut DbConnection,
    ticket_id: i64,
    words: Option<(String, String)>,
    body: &str,
    internal: bool,
) -> StoreResult<()> {
    let (public, notes) = words.ok_or(domain::Refusal::NotFound)?;
    let mut documents = TicketDocuments {
        public: SearchDocument::from_text(&public),
        notes: SearchDocument::from_text(&notes),
    };
    if documents.add_reply(body, internal) {
        let (public, notes) = (documents.public.as_text(), documents.notes.as_text());
        let update = ReplaceWords {
            ticket: ticket_id,
            public: &public,
            notes: &notes,
        };
        on_backend!(conn, |c| update.execute(c)?);
    }
    Ok(())
}

/// Computes the search words and the breach time of every ticket the
/// migrations queued (those written before search existed), a batch per
/// transaction with the batch's tickets locked, so a reply written
/// meanwhile by a server already running is never overwritten; returns how
/// many were done.
pub(crate) fn reindex_pending(conn: &mut DbConnection) -> StoreResult<u64> {
    let mut done = 0;
    loop {
        let batch = write_transaction(conn, reindex_batch)?;
        if batch == 0 {
            return Ok(done);
        }
        done += batch;
    }
}

fn reindex_batch(conn: &mut DbConnection) -> StoreResult<u64> {
    let ids: Vec<i64> = ticket_reindex::table
        .select(ticket_reindex::ticket_id)
        .order_by(ticket_reindex::ticket_id)
        .limit(REINDEX_BATCH)
        .load(conn)?;
    if ids.is_empty() {
        return Ok(0);
    }
    lock_rows(conn, Locked::Tickets, &ids)?;
    let rows: Vec<TicketRow> = tickets::table
        .filter(tickets::id.eq_any(&ids))
        .select(TICKET_COLUMNS)
        .load(conn)?;
    let texts: Vec<(i64, String, bool)> = replies::table
        .filter(replies::ticket_id.eq_any(&ids))
        .order_by(replies::id)
        .select((replies::ticket_id, replies::body, replies::internal))
        .load(conn)?;
    let mut documents = HashMap::with_capacity(rows.len());
    for row in rows {
        let ticket: Ticket = row.try_into()?;
        documents.insert(
            ticket.id.0,
            TicketDocuments::of_ticket(ticket.subject.as_deref(), &ticket.body),
        );
        diesel::update(tickets::table.find(ticket.id.0))
            .set(tickets::sla_breach_at.eq(breach_column(&ticket)))
            .execute(conn)?;
    }
    for (ticket_id, body, internal) in texts {
        if let Some(docs) = documents.get_mut(&ticket_id) {
            docs.add_reply(&body, internal);
        }
    }
    diesel::delete(ticket_search_words::table.filter(ticket_search_words::ticket_id.eq_any(&ids)))
        .execute(conn)?;
    insert_documents(conn, &documents.into_iter().collect::<Vec<_>>())?;
    let count =
        diesel::delete(ticket_reindex::table.filter(ticket_reindex::ticket_id.eq_any(&ids)))
            .execute(conn)?;
    Ok(count as u64)
}

#[cfg(test)]
mod tests {
    use super::estimated_rows;

    #[test]
    fn the_planners_estimate_is_read_from_its_first_line() {
        assert_eq!(
            estimated_rows(
                "Bitmap Heap Scan on ticket_search_words  (cost=556.00..9885.74 rows=9807 width=4)"
            ),
            Some(9807)
        );
        assert_eq!(
            estimated_rows("Result  (cost=0.00..0.01 rows=1 width=4)"),
            Some(1)
        );
        assert_eq!(estimated_rows("no estimate here"), None);
    }
}
