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
-- space-separated): subject, body and public replies; internal notes.
CREATE TABLE ticket_search_words (
    ticket_id INTEGER PRIMARY KEY REFERENCES tickets (id),
    public_words TEXT NOT NULL,
    note_words TEXT NOT NULL
);

-- Their FTS5 index. Every character but white space is a token character,
-- so FTS5 splits exactly where `domain` put the spaces and never re-cuts a
-- word; accents are kept. Only whole-word presence per column is asked,
-- so no positions (`detail=column`) and no column sizes are kept.
CREATE VIRTUAL TABLE ticket_search USING fts5 (
    public_words, note_words,
    content = 'ticket_search_words', content_rowid = 'ticket_id',
    tokenize = "unicode61 remove_diacritics 0 categories 'L* M* N* P* S* C*'",
    detail = column, columnsize = 0
);

-- Kept in the transaction of each write to the words.
CREATE TRIGGER ticket_search_words_insert AFTER INSERT ON ticket_search_words BEGIN
    INSERT INTO ticket_search (rowid, public_words, note_words)
    VALUES (new.ticket_id, new.public_words, new.note_words);
END;
CREATE TRIGGER ticket_search_words_delete AFTER DELETE ON ticket_search_words BEGIN
    INSERT INTO ticket_search (ticket_search, rowid, public_words, note_words)
    VALUES ('delete', old.ticket_id, old.public_words, old.note_words);
END;
CREATE TRIGGER ticket_search_words_update AFTER UPDATE ON ticket_search_words BEGIN
    INSERT INTO ticket_search (ticket_search, rowid, public_words, note_words)
    VALUES ('delete', old.ticket_id, old.public_words, old.note_words);
    INSERT INTO ticket_search (rowid, public_words, note_words)
    VALUES (new.ticket_id, new.public_words, new.note_words);
END;

-- Tickets whose words and breach time the store has still to compute (in
-- Rust, with `domain`): every ticket from before this migration. The store
-- works through it when it starts.
CREATE TABLE ticket_reindex (
    ticket_id INTEGER PRIMARY KEY REFERENCES tickets (id)
);
INSERT INTO ticket_reindex (ticket_id) SELECT id FROM tickets;
