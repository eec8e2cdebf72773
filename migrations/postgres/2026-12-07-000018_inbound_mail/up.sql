-- Inbound mail: one row per message taken, by any door (the HTTP endpoint,
-- the mailgate, the IMAP poller), whatever its outcome, so nothing a person
-- sent is lost and the same message taken twice changes nothing: its key
-- (its Message-ID, or the SHA-256 of its bytes without one) is unique, and
-- the row is written first in the transaction that acts on the message.
CREATE TABLE inbound_messages (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_key TEXT NOT NULL UNIQUE,
    received_at TIMESTAMP NOT NULL,
    -- The From address as written (lower-cased), and its account, if any.
    sender_address TEXT NOT NULL,
    sender_id BIGINT REFERENCES users (id),
    subject TEXT NOT NULL,
    -- The text taken from the message (quoted text trimmed, cut to fit).
    body TEXT NOT NULL,
    -- 'created', 'appended', 'held' or 'ignored'.
    outcome TEXT NOT NULL CHECK (outcome IN ('created', 'appended', 'held', 'ignored')),
    -- Why it was held or ignored.
    reason TEXT,
    -- The ticket it belongs to (made, appended to, or held for), and the
    -- reply it became.
    ticket_id BIGINT REFERENCES tickets (id),
    reply_id BIGINT REFERENCES replies (id),
    -- A held message dismissed by staff.
    dismissed_at TIMESTAMP,
    dismissed_by BIGINT REFERENCES users (id)
);
-- The message as it came, byte for byte, in parts of 256 KiB in order:
-- each statement carries one part, so the database never holds a large
-- message's bytes more than a part at a time.
CREATE TABLE inbound_originals (
    message_id BIGINT NOT NULL REFERENCES inbound_messages (id),
    part INTEGER NOT NULL,
    bytes BYTEA NOT NULL,
    PRIMARY KEY (message_id, part)
);
-- The held messages still waiting, newest first, and a ticket's.
CREATE INDEX inbound_messages_held ON inbound_messages (id) WHERE outcome = 'held' AND dismissed_at IS NULL;
CREATE INDEX inbound_messages_ticket_id ON inbound_messages (ticket_id) WHERE ticket_id IS NOT NULL;
-- A reply's original.
CREATE INDEX inbound_messages_reply_id ON inbound_messages (reply_id) WHERE reply_id IS NOT NULL;
-- The per-sender limit: what an address sent in the last hour.
CREATE INDEX inbound_messages_sender ON inbound_messages (sender_address, received_at);

-- A ticket opened by a customer's mail to a resolved ticket names it.
ALTER TABLE tickets ADD COLUMN follow_up_of BIGINT REFERENCES tickets (id);
CREATE INDEX tickets_follow_up_of ON tickets (follow_up_of) WHERE follow_up_of IS NOT NULL;
