-- Full-text search and the SLA breach filter.

-- When the ticket falls in SLA breach as things stand (NULL: it met both
-- targets), written by every change of its due times, first response or
-- resolution; "in breach now" is `sla_breach_at < now`, a range query with
-- the clock in it.
ALTER TABLE tickets ADD COLUMN sla_breach_at TIMESTAMP;
CREATE INDEX tickets_sla_breach_at ON tickets (sla_breach_at, id);
-- The /metrics gauge counts open tickets in breach from this alone.
CREATE INDEX tickets_open_sla_breach_at ON tickets (sla_breach_at) WHERE resolved_at IS NULL;

-- The words a ticket is found by, as `domain::search` made them (distinct,
-- space-separated): subject, body and public replies; internal notes. The
-- `simple` configuration only lower-cases (a no-op on these words): no
-- stemming, no stop words. Public words weigh A, note words B, so a
-- customer's query asks for A.
CREATE TABLE ticket_search_words (
    ticket_id BIGINT PRIMARY KEY REFERENCES tickets (id),
    public_words TEXT NOT NULL,
    note_words TEXT NOT NULL,
    document tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', public_words), 'A')
        || setweight(to_tsvector('simple', note_words), 'B')
    ) STORED
);
CREATE INDEX ticket_search_words_document ON ticket_search_words USING gin (document);

-- Tickets whose words and breach time the store has still to compute (in
-- Rust, with `domain`): every ticket from before this migration. The store
-- works through it when it starts.
CREATE TABLE ticket_reindex (
    ticket_id BIGINT PRIMARY KEY REFERENCES tickets (id)
);
INSERT INTO ticket_reindex (ticket_id) SELECT id FROM tickets;
