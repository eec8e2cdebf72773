-- The transactional outbox and the webhook endpoints it delivers to.
--
-- `outbox` holds things to deliver, whatever the channel (webhooks now,
-- mail next): a channel, a recipient within it, a payload, and a schedule
-- (when it is due, how often it was tried, who holds it now). A change
-- writes its rows in its own transaction; a worker claims due rows with a
-- lease, delivers, records each attempt in `outbox_attempts`, and backs
-- off. `message_id` is what the receiver sees as the message's id: the
-- same on every retry and redelivery.
CREATE TABLE webhook_endpoints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    url TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    -- The event types subscribed to, separated by spaces.
    events TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT 1,
    secret TEXT NOT NULL,
    -- After a rotation, the old secret also signs until this time.
    previous_secret TEXT,
    previous_secret_until TIMESTAMP,
    -- The first failed delivery since the last success (the disable rule).
    failing_since TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    message_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    due_at TIMESTAMP NOT NULL,
    leased_until TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);
-- The worker's claim reads the pending rows of its channel, the earliest due
-- first, through this index alone (a partial index `WHERE state = 'pending'`
-- would not do: a query that binds the state as a parameter cannot use it),
-- however many finished rows the outbox keeps.
CREATE INDEX outbox_due ON outbox (state, channel, due_at, id);
-- A recipient's messages (an endpoint's, when it is deleted).
CREATE INDEX outbox_recipient ON outbox (channel, recipient, id);

CREATE TABLE outbox_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    outbox_id BIGINT NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    duration_ms BIGINT NOT NULL,
    status_code INTEGER,
    error TEXT,
    -- The first KiB of the answer.
    response TEXT,
    succeeded BOOLEAN NOT NULL
);
-- An endpoint's delivery log, newest first.
CREATE INDEX outbox_attempts_recipient ON outbox_attempts (channel, recipient, id);
CREATE INDEX outbox_attempts_outbox ON outbox_attempts (outbox_id);
